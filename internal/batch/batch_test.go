package batch

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"
)

// call is a test call: run answers id*10 in result.
type call struct {
	id     int
	result int
}

// recorder is a Run that records its batches (the ids of their calls, in
// the order run got them) and holds its first run until released.
type recorder struct {
	mu      sync.Mutex
	batches [][]int
	started chan struct{} // closed when the first run starts
	release chan struct{} // the first run returns once it is closed
	once    sync.Once
}

func newRecorder() *recorder {
	return &recorder{started: make(chan struct{}), release: make(chan struct{})}
}

func (r *recorder) run(ctx context.Context, calls []*call) {
	first := false
	r.once.Do(func() { first = true; close(r.started) })
	if first {
		<-r.release
	}
	ids := make([]int, len(calls))
	for i, c := range calls {
		ids[i] = c.id
		c.result = c.id * 10
	}
	r.mu.Lock()
	r.batches = append(r.batches, ids)
	r.mu.Unlock()
}

func ids(from, to int) []int {
	var out []int
	for i := from; i <= to; i++ {
		out = append(out, i)
	}
	return out
}

// TestBatcher holds a first call in its run while others queue behind it,
// one at a time so that their arrival order is known, some of them
// cancelled while they wait; then lets it go. The first call runs alone;
// the others run in arrival order, in batches of at most the maximum, the
// cancelled ones dropped and answered with their context's error; every
// other call gets its own result.
func TestBatcher(t *testing.T) {
	for _, tc := range []struct {
		name      string
		max       int
		queued    int
		cancelled []int // ids of queued calls cancelled while they wait
		want      [][]int
	}{
		{name: "alone", want: [][]int{{0}}},
		{name: "queued calls run together", max: 8, queued: 5, want: [][]int{{0}, ids(1, 5)}},
		{name: "max batch size", max: 4, queued: 10, want: [][]int{{0}, ids(1, 4), ids(5, 8), ids(9, 10)}},
		{name: "default max", queued: 300, want: [][]int{{0}, ids(1, 128), ids(129, 256), ids(257, 300)}},
		{name: "cancelled while waiting", max: 8, queued: 6, cancelled: []int{2, 5},
			want: [][]int{{0}, {1, 3, 4, 6}}},
		{name: "every waiting call cancelled", max: 8, queued: 2, cancelled: []int{1, 2}, want: [][]int{{0}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rec := newRecorder()
			b := New(tc.max, rec.run)
			if tc.queued == 0 {
				close(rec.release)
				c := &call{id: 0}
				if err := b.Do(t.Context(), c); err != nil || c.result != 0 {
					t.Fatalf("Do = %v, result %d", err, c.result)
				}
				if b.Busy() {
					t.Fatal("busy after a call alone")
				}
			} else {
				firstDone := make(chan error)
				go func() { firstDone <- b.Do(t.Context(), &call{id: 0}) }()
				<-rec.started
				errs := make([]chan error, tc.queued+1)
				calls := make([]*call, tc.queued+1)
				cancels := map[int]context.CancelFunc{}
				for id := 1; id <= tc.queued; id++ {
					ctx := t.Context()
					if slices.Contains(tc.cancelled, id) {
						ctx, cancels[id] = context.WithCancel(ctx)
					}
					calls[id], errs[id] = &call{id: id, result: -1}, make(chan error, 1)
					go func() { errs[id] <- b.Do(ctx, calls[id]) }()
					waitFor(t, func() bool { return b.Waiting() == id })
				}
				for _, id := range tc.cancelled {
					cancels[id]()
					if err := <-errs[id]; !errors.Is(err, context.Canceled) {
						t.Fatalf("cancelled call %d: err = %v, want context.Canceled", id, err)
					}
				}
				close(rec.release)
				if err := <-firstDone; err != nil {
					t.Fatalf("first call: %v", err)
				}
				for id := 1; id <= tc.queued; id++ {
					if slices.Contains(tc.cancelled, id) {
						continue
					}
					if err := <-errs[id]; err != nil || calls[id].result != id*10 {
						t.Fatalf("call %d: err %v, result %d; want its own result %d", id, err, calls[id].result, id*10)
					}
				}
				waitFor(t, func() bool { return !b.Busy() })
			}
			rec.mu.Lock()
			defer rec.mu.Unlock()
			if fmt.Sprint(rec.batches) != fmt.Sprint(tc.want) {
				t.Fatalf("batches %v, want %v", rec.batches, tc.want)
			}
		})
	}
}

// TestBatcherContext checks the context of a run: a call alone runs with
// its caller's context; a batch's context holds the first call's values and
// is cancelled only once every call's context is done.
func TestBatcherContext(t *testing.T) {
	type key struct{}
	started, release := make(chan struct{}), make(chan struct{})
	cancelled := make(chan [2]bool, 1) // the batch's context: cancelled after the first cancel, after both
	var first sync.Once
	var gotValue any
	ctxA, cancelA := context.WithCancel(context.WithValue(t.Context(), key{}, "a"))
	ctxB, cancelB := context.WithCancel(context.WithValue(t.Context(), key{}, "b"))
	defer cancelA()
	defer cancelB()
	b := New(0, func(ctx context.Context, calls []*call) {
		isFirst := false
		first.Do(func() { isFirst = true })
		if isFirst {
			close(started)
			<-release
			return
		}
		gotValue = ctx.Value(key{})
		// Both waiting callers are gone; the batch runs on until both
		// contexts are done.
		cancelA()
		afterOne := ctx.Err() != nil
		cancelB()
		<-ctx.Done()
		cancelled <- [2]bool{afterOne, true}
	})
	go b.Do(t.Context(), &call{}) //nolint:errcheck // the first call holds the run
	<-started
	errs := make(chan error, 2)
	go func() { errs <- b.Do(ctxA, &call{id: 1}) }()
	waitFor(t, func() bool { return b.Waiting() == 1 })
	go func() { errs <- b.Do(ctxB, &call{id: 2}) }()
	waitFor(t, func() bool { return b.Waiting() == 2 })
	close(release)
	got := <-cancelled
	if got[0] {
		t.Fatal("the batch's context was cancelled when only one of its calls' contexts was")
	}
	if gotValue != "a" {
		t.Fatalf("batch context value %v, want the first call's", gotValue)
	}
	for range 2 {
		if err := <-errs; !errors.Is(err, context.Canceled) {
			t.Fatalf("cancelled caller: %v", err)
		}
	}
	waitFor(t, func() bool { return !b.Busy() })
}

// TestBatcherConcurrency runs many calls from many goroutines (run with
// -race): every call gets its own result, no batch is larger than the
// maximum, and every call runs exactly once.
func TestBatcherConcurrency(t *testing.T) {
	const goroutines, each, maxSize = 16, 200, 8
	var mu sync.Mutex
	seen := map[int]int{}
	largest := 0
	b := New(maxSize, func(ctx context.Context, calls []*call) {
		mu.Lock()
		largest = max(largest, len(calls))
		for _, c := range calls {
			seen[c.id]++
		}
		mu.Unlock()
		for _, c := range calls {
			c.result = c.id * 10
		}
		time.Sleep(50 * time.Microsecond) // let others queue
	})
	var wg sync.WaitGroup
	for g := range goroutines {
		wg.Go(func() {
			for i := range each {
				c := &call{id: g*each + i}
				if err := b.Do(t.Context(), c); err != nil || c.result != c.id*10 {
					t.Errorf("call %d: err %v, result %d", c.id, err, c.result)
					return
				}
			}
		})
	}
	wg.Wait()
	waitFor(t, func() bool { return !b.Busy() })
	mu.Lock()
	defer mu.Unlock()
	if len(seen) != goroutines*each {
		t.Fatalf("%d calls ran, want %d", len(seen), goroutines*each)
	}
	for id, n := range seen {
		if n != 1 {
			t.Fatalf("call %d ran %d times", id, n)
		}
	}
	if largest > maxSize {
		t.Fatalf("a batch of %d calls, more than %d", largest, maxSize)
	}
	if largest < 2 {
		t.Logf("no batch of more than one call: the run did not overlap (loaded machine?)")
	}
}

// TestBatcherDoneContext: a call whose context is already done does not run.
func TestBatcherDoneContext(t *testing.T) {
	ran := false
	b := New(0, func(context.Context, []*call) { ran = true })
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if err := b.Do(ctx, &call{}); !errors.Is(err, context.Canceled) || ran {
		t.Fatalf("Do = %v, ran %v; want context.Canceled without a run", err, ran)
	}
}

func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("timed out")
		}
		time.Sleep(time.Millisecond)
	}
}
