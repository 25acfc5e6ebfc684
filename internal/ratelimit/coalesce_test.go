package ratelimit

import (
	"context"
	"errors"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/onboard-dev/onboard/internal/testutil/dbtest"
)

// TestCoalescerBatchesConcurrentCalls drives the coalescer with a run that
// records its batches: a call alone runs at once in its own goroutine, the
// calls arriving while one runs are run together afterwards, every call gets
// the answer run gave it, and a call whose context ends while it waits
// returns that context's error.
func TestCoalescerBatchesConcurrentCalls(t *testing.T) {
	var mu sync.Mutex
	var sizes []int
	release := make(chan struct{})
	var first atomic.Bool
	c := &coalescer{run: func(ctx context.Context, calls []*limitCall) {
		if first.CompareAndSwap(false, true) {
			<-release // hold the first batch until the others queue
		}
		mu.Lock()
		sizes = append(sizes, len(calls))
		mu.Unlock()
		for _, call := range calls {
			call.d = Decision{Allowed: true, Remaining: len(call.checks[0].Key)}
			call.idx = -1
		}
	}}

	// Alone: run at once.
	first.Store(true)
	d, i, err := c.do(t.Context(), []Check{{Key: "a"}})
	if err != nil || !d.Allowed || d.Remaining != 1 || i != -1 {
		t.Fatalf("call alone = %+v, %d, %v", d, i, err)
	}
	if !slices.Equal(sizes, []int{1}) {
		t.Fatalf("batches %v, want [1]", sizes)
	}

	// Concurrent: the first runs alone, the ones queued behind it together.
	first.Store(false)
	sizes = nil
	firstDone := make(chan struct{})
	go func() {
		defer close(firstDone)
		if _, _, err := c.do(t.Context(), []Check{{Key: "x"}}); err != nil {
			t.Errorf("first call: %v", err)
		}
	}()
	for !first.Load() {
		time.Sleep(time.Millisecond)
	}
	const waiting = 10
	var wg sync.WaitGroup
	for n := range waiting {
		key := string(make([]byte, n+1))
		wg.Go(func() {
			d, _, err := c.do(t.Context(), []Check{{Key: key}})
			if err != nil || d.Remaining != len(key) {
				t.Errorf("call %d = %+v, %v; want its own answer", len(key), d, err)
			}
		})
	}
	cancelled, cancel := context.WithCancel(t.Context())
	cancelledDone := make(chan error)
	go func() {
		_, _, err := c.do(cancelled, []Check{{Key: "c"}})
		cancelledDone <- err
	}()
	for c.batcher.Waiting() != waiting+1 {
		time.Sleep(time.Millisecond)
	}
	cancel()
	if err := <-cancelledDone; !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled waiting call: err = %v, want context.Canceled", err)
	}
	close(release)
	<-firstDone
	wg.Wait()
	for c.batcher.Busy() {
		time.Sleep(time.Millisecond)
	}
	mu.Lock()
	defer mu.Unlock()
	if !slices.Equal(sizes, []int{1, waiting}) {
		t.Fatalf("batches %v, want [1 %d]: the first alone, the waiting ones together (the cancelled one dropped)", sizes, waiting)
	}
}

// TestBatchSharesOnOneNode runs Allow from many goroutines on one limiter:
// exactly Limit events are allowed, and their Remaining values are each of
// 0..Limit-1 once (the shares of a batch are handed out in order).
func TestBatchSharesOnOneNode(t *testing.T) {
	db := openPostgres(t)
	clk := newFakeClock()
	s := NewSQL(db, clk.Now)
	if s.batch == nil {
		t.Fatal("no batch on PostgreSQL")
	}
	r := Rule{Limit: 100, Window: time.Minute}
	var mu sync.Mutex
	var remaining []int
	var wg sync.WaitGroup
	for range 16 {
		wg.Go(func() {
			for range 25 {
				d, err := s.Allow(t.Context(), "k", r)
				if err != nil {
					t.Errorf("Allow: %v", err)
					return
				}
				if d.Allowed {
					mu.Lock()
					remaining = append(remaining, d.Remaining)
					mu.Unlock()
				} else if d.RetryAfter <= 0 {
					t.Errorf("refused without RetryAfter: %+v", d)
				}
			}
		})
	}
	wg.Wait()
	slices.Sort(remaining)
	if len(remaining) != r.Limit {
		t.Fatalf("%d allowed, want %d", len(remaining), r.Limit)
	}
	for i, n := range remaining {
		if n != i {
			t.Fatalf("Remaining values %v, want each of 0..%d once", remaining, r.Limit-1)
		}
	}
	if got := windowCounts(t, db, "k"); got[baseTime().Unix()] != int64(r.Limit) {
		t.Fatalf("windows %v, want %d in the current one", got, r.Limit)
	}
}

// TestBatchAnotherNodeTakesSlots decides a batch whose key another node
// counts in while the batch's statement runs: the batch read 2 of 5 and
// asks for 3, but once the other node commits its event the window has room
// for 2 only, so the share is not counted at once; its events are then
// counted one at a time in arrival order, and the window ends at its limit,
// not past it.
func TestBatchAnotherNodeTakesSlots(t *testing.T) {
	db := openPostgres(t)
	clk := newFakeClock()
	s := NewSQL(db, clk.Now)
	r := Rule{Limit: 5, Window: time.Minute}
	email := Rule{Limit: 3, Window: time.Hour}
	exhaust(t, s, "ip", Rule{Limit: 2, Window: time.Minute}) // 2 of 5 taken

	var calls []*limitCall
	for _, e := range []string{"a", "b", "c"} {
		calls = append(calls, &limitCall{checks: []Check{{Key: "ip", Rule: r}, {Key: "email:" + e, Rule: email}}})
	}
	keys := map[string]*batchKey{}
	now := clk.Now().UnixNano()
	for _, call := range calls {
		if !s.addKeys(keys, call, now) {
			t.Fatal("addKeys refused a call")
		}
		for _, c := range call.checks {
			keys[c.Key].want++
		}
	}
	// Another node counts an event in a transaction still open: the
	// batch's statement reads 2 (the committed count), finds room for 3,
	// and waits for the row; the other node then commits 3.
	tx, err := db.BeginTx(t.Context(), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback()
	if _, err := tx.ExecContext(t.Context(), `UPDATE rate_limits SET count = count + 1 WHERE key = 'ip'`); err != nil {
		t.Fatal(err)
	}
	type result struct {
		fits bool
		err  error
	}
	done := make(chan result)
	go func() {
		fits, err := s.readAndCount(t.Context(), keys)
		done <- result{fits, err}
	}()
	time.Sleep(300 * time.Millisecond) // the statement reaches the locked row
	if err := tx.Commit(); err != nil {
		t.Fatal(err)
	}
	res := <-done
	if res.err != nil || !res.fits {
		t.Fatalf("readAndCount = %v, %v; want the shares tried", res.fits, res.err)
	}
	if k := keys["ip"]; k.counted || k.w.cur != 2 {
		t.Fatalf("ip key %+v: want read at 2 and not counted (no room for 3 once the other node committed)", *k)
	}
	grants := make([][]grant, len(calls))
	for i, call := range calls {
		grants[i] = handOut(keys, call)
	}
	for i, call := range calls {
		s.settle(t.Context(), keys, call, grants[i])
	}
	want := []struct {
		allowed   bool
		idx       int
		remaining int
	}{{true, -1, 1}, {true, -1, 0}, {false, 0, 0}}
	for i, call := range calls {
		if call.err != nil || call.d.Allowed != want[i].allowed || call.idx != want[i].idx || call.d.Remaining != want[i].remaining {
			t.Fatalf("call %d = %+v (check %d, %v), want allowed %v check %d remaining %d",
				i, call.d, call.idx, call.err, want[i].allowed, want[i].idx, want[i].remaining)
		}
	}
	if call := calls[2]; call.d.RetryAfter <= 0 {
		t.Fatalf("refused call without RetryAfter: %+v", call.d)
	}
	if got := windowCounts(t, db, "ip"); got[baseTime().Unix()] != 5 {
		t.Fatalf("ip windows %v, want 5 (the limit) in the current one", got)
	}
}

// TestReadAndCountPlanUsesKeys explains pgReadAndCount as a generic plan
// (the plan a prepared statement keeps after five executions) made while
// rate_limits is empty: the windows must be read through the primary key,
// not by scanning the table, whose size then grows without the plan
// changing.
func TestReadAndCountPlanUsesKeys(t *testing.T) {
	db := openPostgres(t)
	conn, err := db.Conn(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if _, err := conn.ExecContext(t.Context(), `SET plan_cache_mode = force_generic_plan`); err != nil {
		t.Fatal(err)
	}
	if _, err := conn.ExecContext(t.Context(), `PREPARE rc(text[], bigint[], bigint[], integer[], bigint[], bigint[], bigint[]) AS `+pgReadAndCount); err != nil {
		t.Fatal(err)
	}
	text := strings.Join(dbtest.Explain(t, conn, `EXECUTE rc('{k}', '{60}', '{0}', '{1}', '{5}', '{1}', '{60000000000}')`), "\n")
	if strings.Contains(text, "Seq Scan on rate_limits") || !strings.Contains(text, "Index Scan using rate_limits_pkey") {
		t.Fatalf("generic plan of pgReadAndCount does not read the windows by key:\n%s", text)
	}
}

// TestReadAndCountRunsGeneric runs signup-like checks (two keys per call,
// one call at a time) on one connection and reads how PostgreSQL planned
// pgReadAndCount: every execution must use the prepared statement's
// generic plan (TestReadAndCountPlanUsesKeys checks that plan). Left to
// choose, PostgreSQL plans such small batches anew at every execution,
// since a custom plan knows the arrays hold two keys and looks cheaper
// than the generic plan, made for ten.
func TestReadAndCountRunsGeneric(t *testing.T) {
	db := openPostgres(t)
	db.SetMaxOpenConns(1)
	l := NewSQL(db, nil)
	ctx := t.Context()
	const calls = 40
	for i := range calls {
		checks := []Check{
			{Key: "ip:203.0.113.7", Rule: Rule{Limit: 1_000_000, Window: time.Minute}},
			{Key: "email:" + strings.Repeat("a", i%7+1), Rule: Rule{Limit: 5, Window: time.Hour}},
		}
		if _, _, err := l.AllowAll(ctx, checks); err != nil {
			t.Fatal(err)
		}
	}
	var generic, custom int64
	err := db.QueryRowContext(ctx, `SELECT generic_plans, custom_plans FROM pg_prepared_statements WHERE statement = $1`,
		pgReadAndCount).Scan(&generic, &custom)
	if err != nil {
		t.Fatalf("plans of pgReadAndCount: %v", err)
	}
	var mode string
	if err := db.QueryRowContext(ctx, `SELECT current_setting('plan_cache_mode')`).Scan(&mode); err != nil {
		t.Fatal(err)
	}
	if mode != "auto" {
		t.Errorf("plan_cache_mode of the connection afterwards %q, want auto (changed for the statement only)", mode)
	}
	t.Logf("pgReadAndCount: %d generic plans, %d custom plans", generic, custom)
	if custom != 0 || generic != calls {
		t.Errorf("pgReadAndCount ran %d times with the generic plan and %d with a custom one, want %d and 0", generic, custom, calls)
	}
}
