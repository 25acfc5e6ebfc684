package mail

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/onboard-dev/onboard/internal/testutil/smtptest"
)

// memQueue is an in-memory Queue with the semantics the SQL outbox has.
type memQueue struct {
	mu       sync.Mutex
	items    []*memItem
	claims   int
	claimErr []error // returned by the first len(claimErr) Claim calls
	failures []failure
	limits   []int
	released int   // messages given back by Release
	marks    []int // messages marked sent by each MarkSent
}

type memItem struct {
	q          Queued
	state      string // queued, sent, abandoned
	next       time.Time
	leaseUntil time.Time
	sentAt     time.Time
	sentCount  int
	lastErr    string
}

type failure struct {
	id       string
	attempt  int
	at, next time.Time
	lastErr  string
	abandon  bool
}

func (m *memQueue) add(q Queued) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.items = append(m.items, &memItem{q: q, state: "queued"})
}

func (m *memQueue) Claim(_ context.Context, now time.Time, limit int, lease time.Duration) ([]Queued, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.claims++
	m.limits = append(m.limits, limit)
	if len(m.claimErr) > 0 {
		err := m.claimErr[0]
		m.claimErr = m.claimErr[1:]
		return nil, err
	}
	var out []Queued
	for _, it := range m.items {
		if len(out) == limit {
			break
		}
		if it.state != "queued" || it.next.After(now) || it.leaseUntil.After(now) {
			continue
		}
		it.leaseUntil = now.Add(lease)
		out = append(out, it.q)
	}
	return out, nil
}

func (m *memQueue) find(id string) (*memItem, error) {
	for _, it := range m.items {
		if it.q.ID == id {
			return it, nil
		}
	}
	return nil, fmt.Errorf("no message %q", id)
}

func (m *memQueue) MarkSent(_ context.Context, ids []string, at time.Time) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.marks = append(m.marks, len(ids))
	for _, id := range ids {
		it, err := m.find(id)
		if err != nil {
			return err
		}
		it.state, it.sentAt, it.leaseUntil = "sent", at, time.Time{}
		it.sentCount++
	}
	return nil
}

func (m *memQueue) MarkFailed(_ context.Context, id string, at, next time.Time, lastErr string, abandon bool) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	it, err := m.find(id)
	if err != nil {
		return err
	}
	it.q.Attempts++
	it.next, it.lastErr, it.leaseUntil = next, lastErr, time.Time{}
	if abandon {
		it.state = "abandoned"
	}
	m.failures = append(m.failures, failure{id: id, attempt: it.q.Attempts, at: at, next: next, lastErr: lastErr, abandon: abandon})
	return nil
}

func (m *memQueue) Release(_ context.Context, ids []string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, id := range ids {
		it, err := m.find(id)
		if err != nil {
			return err
		}
		if it.state == "queued" {
			it.leaseUntil = time.Time{}
			m.released++
		}
	}
	return nil
}

func (m *memQueue) state(id string) memItem {
	m.mu.Lock()
	defer m.mu.Unlock()
	it, err := m.find(id)
	if err != nil {
		panic(err)
	}
	return *it
}

func (m *memQueue) failuresFor(id string) []failure {
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []failure
	for _, f := range m.failures {
		if f.id == id {
			out = append(out, f)
		}
	}
	return out
}

func (m *memQueue) claimCount() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.claims
}

// eventually polls cond until it holds or the timeout expires.
func eventually(t *testing.T, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", timeout, what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// syncBuffer is a goroutine-safe log sink.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

type harness struct {
	q      *memQueue
	w      *Worker
	logs   *syncBuffer
	cancel context.CancelFunc
	done   chan error
}

// startWorker runs a Worker over a fresh memQueue until the test ends.
func startWorker(t *testing.T, s Sender, cfg WorkerConfig, items ...Queued) *harness {
	t.Helper()
	h := &harness{q: &memQueue{}, logs: &syncBuffer{}, done: make(chan error, 1)}
	for _, it := range items {
		h.q.add(it)
	}
	if cfg.From == "" {
		cfg.From = "onboard <no-reply@example.com>"
	}
	logger := slog.New(slog.NewTextHandler(h.logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	h.w = NewWorker(h.q, s, cfg, logger)
	ctx, cancel := context.WithCancel(context.Background())
	h.cancel = cancel
	go func() { h.done <- h.w.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		select {
		case <-h.done:
		case <-time.After(5 * time.Second):
			t.Error("worker did not stop within 5s of cancel")
		}
	})
	return h
}

func smtpSender(t *testing.T, srv *smtptest.Server) Sender {
	t.Helper()
	s, err := NewSMTPSender(srv.URL(), WithTimeout(2*time.Second))
	if err != nil {
		t.Fatalf("NewSMTPSender: %v", err)
	}
	return s
}

func queued(i int, createdAt time.Time) Queued {
	return Queued{
		ID:        fmt.Sprintf("m%d", i),
		MessageID: fmt.Sprintf("<m%d.01HXYZ@onboard.example.com>", i),
		To:        fmt.Sprintf("user%d@example.com", i),
		Subject:   fmt.Sprintf("Message %d", i),
		Text:      fmt.Sprintf("Hello %d\nhttp://x/register?token=tok%d\n", i, i),
		HTML:      fmt.Sprintf("<p>Hello %d</p>", i),
		CreatedAt: createdAt,
	}
}

func TestWorkerDelivers(t *testing.T) {
	srv := smtptest.Start(t)
	const n = 7
	var items []Queued
	for i := range n {
		items = append(items, queued(i, time.Now()))
	}
	h := startWorker(t, smtpSender(t, srv), WorkerConfig{PollInterval: 20 * time.Millisecond, Batch: 3, Concurrency: 2}, items...)

	for _, it := range items {
		got := srv.WaitFor(t, 5*time.Second, smtptest.WithMessageID(it.MessageID))
		if got.Subject != it.Subject || len(got.To) != 1 || got.To[0] != it.To {
			t.Errorf("%s arrived as subject=%q to=%q, want %q to %q", it.ID, got.Subject, got.To, it.Subject, it.To)
		}
		if got.Text != it.Text || got.HTML != it.HTML {
			t.Errorf("%s body = %q / %q, want %q / %q", it.ID, got.Text, got.HTML, it.Text, it.HTML)
		}
		if want := fmt.Sprintf("http://x/register?token=tok%s", strings.TrimPrefix(it.ID, "m")); got.Link("http://x/register?token=") != want {
			t.Errorf("%s link = %q, want %q", it.ID, got.Link("http://x/register?token="), want)
		}
		if from := got.Header.Get("From"); !strings.Contains(from, "no-reply@example.com") {
			t.Errorf("%s From header = %q, want the configured From", it.ID, from)
		}
	}
	for _, it := range items {
		id := it.ID
		eventually(t, 2*time.Second, id+" marked sent", func() bool { return h.q.state(id).state == "sent" })
	}
	// Let a few more polls happen, then make sure nothing was sent twice.
	c := h.q.claimCount()
	eventually(t, 2*time.Second, "further polls", func() bool { return h.q.claimCount() >= c+3 })
	if got := len(srv.Messages()); got != n {
		t.Fatalf("server received %d messages, want %d (no duplicates)", got, n)
	}
	for _, it := range items {
		if st := h.q.state(it.ID); st.sentCount != 1 || st.q.Attempts != 0 {
			t.Errorf("%s sentCount=%d attempts=%d, want 1 and 0", it.ID, st.sentCount, st.q.Attempts)
		}
	}
	h.q.mu.Lock()
	limits := append([]int(nil), h.q.limits...)
	marks := append([]int(nil), h.q.marks...)
	h.q.mu.Unlock()
	for _, l := range limits {
		if l != 3 {
			t.Fatalf("Claim limits = %v, want all 3 (Batch)", limits)
		}
	}
	// The sent messages of a claimed batch are marked together: 3, 3, 1.
	if !reflect.DeepEqual(marks, []int{3, 3, 1}) {
		t.Errorf("MarkSent calls marked %v messages, want [3 3 1] (one call per claimed batch)", marks)
	}
}

func TestWorkerDrainsBacklogWithoutWaiting(t *testing.T) {
	srv := smtptest.Start(t)
	var items []Queued
	for i := range 5 {
		items = append(items, queued(i, time.Now()))
	}
	// A full batch means more may be due: the worker must claim again at
	// once instead of sleeping for the (hour-long) poll interval.
	h := startWorker(t, smtpSender(t, srv), WorkerConfig{PollInterval: time.Hour, Batch: 2}, items...)
	for _, it := range items {
		srv.WaitFor(t, 3*time.Second, smtptest.WithMessageID(it.MessageID))
	}
	// 2 + 2 + 1: the third claim is short, so the worker then sleeps.
	eventually(t, time.Second, "three claims", func() bool { return h.q.claimCount() == 3 })
	time.Sleep(50 * time.Millisecond)
	if c := h.q.claimCount(); c != 3 {
		t.Fatalf("claims = %d, want 3 (no polling after a short batch)", c)
	}
}

func TestWorkerOutageThenRecovery(t *testing.T) {
	srv := smtptest.Start(t)
	srv.Stop()
	base := 20 * time.Millisecond
	it := queued(1, time.Now())
	h := startWorker(t, smtpSender(t, srv), WorkerConfig{PollInterval: 5 * time.Millisecond, BackoffBase: base, BackoffMax: time.Second}, it)

	eventually(t, 5*time.Second, "4 failed attempts", func() bool { return len(h.q.failuresFor(it.ID)) >= 4 })
	fails := h.q.failuresFor(it.ID)[:4]
	var prevNext time.Time
	for i, f := range fails {
		n := i + 1
		if f.attempt != n || f.abandon {
			t.Errorf("failure %d: attempt=%d abandon=%v, want attempt %d, not abandoned", i, f.attempt, f.abandon, n)
		}
		want := base << (n - 1)
		delay := f.next.Sub(f.at)
		if lo, hi := time.Duration(float64(want)*0.8), time.Duration(float64(want)*1.2); delay < lo || delay > hi {
			t.Errorf("failure %d: retry delay %v, want %v ±20%%", n, delay, want)
		}
		if !f.next.After(prevNext) {
			t.Errorf("failure %d: next %v not after previous %v", n, f.next, prevNext)
		}
		prevNext = f.next
		if !strings.Contains(f.lastErr, "send mail") {
			t.Errorf("failure %d: lastErr = %q, want the send error", n, f.lastErr)
		}
	}
	logs := h.logs.String()
	if !strings.Contains(logs, "level=WARN") || !strings.Contains(logs, "id=m1") || !strings.Contains(logs, "attempt=2") || !strings.Contains(logs, "next=") {
		t.Errorf("failure log lacks level/id/attempt/next:\n%s", logs)
	}
	if strings.Contains(logs, "Hello 1") {
		t.Errorf("log contains the message body:\n%s", logs)
	}
	if len(srv.Messages()) != 0 {
		t.Fatalf("server stopped but received messages")
	}

	srv.Restart(t)
	got := srv.WaitFor(t, 5*time.Second, smtptest.WithMessageID(it.MessageID))
	if got.Subject != it.Subject {
		t.Errorf("Subject = %q, want %q", got.Subject, it.Subject)
	}
	eventually(t, 2*time.Second, "marked sent", func() bool { return h.q.state(it.ID).state == "sent" })
}

// fakeClock is a settable clock.
type fakeClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

func TestWorkerAbandons(t *testing.T) {
	tests := []struct {
		name        string
		age         time.Duration // how old the message is at the attempt
		attempts    int
		reject      bool // recipient rejected with 550
		down        bool // server stopped
		wantAbandon bool
		wantLog     string
	}{
		{name: "young message, outage", age: time.Hour, attempts: 3, down: true, wantAbandon: false, wantLog: "will retry"},
		{name: "just under max age, outage", age: 72*time.Hour - time.Second, attempts: 40, down: true, wantAbandon: false, wantLog: "will retry"},
		{name: "at max age, outage", age: 72 * time.Hour, attempts: 40, down: true, wantAbandon: true, wantLog: "max age exceeded"},
		{name: "old message, outage", age: 100 * time.Hour, attempts: 40, down: true, wantAbandon: true, wantLog: "max age exceeded"},
		{name: "young message, recipient rejected", age: time.Minute, reject: true, wantAbandon: true, wantLog: "permanent error"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var opts []smtptest.Option
			if tt.reject {
				opts = append(opts, smtptest.WithRejectRecipients("user1@example.com"))
			}
			srv := smtptest.Start(t, opts...)
			if tt.down {
				srv.Stop()
			}
			clock := &fakeClock{now: time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)}
			it := queued(1, clock.Now().Add(-tt.age))
			it.Attempts = tt.attempts
			h := startWorker(t, smtpSender(t, srv), WorkerConfig{
				PollInterval: 5 * time.Millisecond, BackoffBase: 20 * time.Millisecond, Now: clock.Now,
			}, it)

			eventually(t, 5*time.Second, "a failed attempt", func() bool { return len(h.q.failuresFor(it.ID)) >= 1 })
			f := h.q.failuresFor(it.ID)[0]
			if f.abandon != tt.wantAbandon {
				t.Fatalf("abandon = %v, want %v (lastErr %q)", f.abandon, tt.wantAbandon, f.lastErr)
			}
			if f.attempt != tt.attempts+1 {
				t.Errorf("attempt = %d, want %d", f.attempt, tt.attempts+1)
			}
			if !f.at.Equal(clock.Now()) {
				t.Errorf("failure at %v, want the injected clock %v", f.at, clock.Now())
			}
			if !tt.wantAbandon && !f.next.After(f.at) {
				t.Errorf("next %v not after %v for a retry", f.next, f.at)
			}
			if tt.wantAbandon {
				// An abandoned message is never claimed or sent again.
				c := h.q.claimCount()
				eventually(t, 2*time.Second, "further polls", func() bool { return h.q.claimCount() >= c+3 })
				if n := len(h.q.failuresFor(it.ID)); n != 1 {
					t.Errorf("abandoned message attempted %d times, want 1", n)
				}
				if st := h.q.state(it.ID).state; st != "abandoned" {
					t.Errorf("state = %q, want abandoned", st)
				}
			}
			if logs := h.logs.String(); !strings.Contains(logs, tt.wantLog) {
				t.Errorf("logs lack %q:\n%s", tt.wantLog, logs)
			}
			if len(srv.Messages()) != 0 {
				t.Errorf("server received a message, want none")
			}
		})
	}
}

func TestWorkerNotifyWakesBeforePoll(t *testing.T) {
	srv := smtptest.Start(t)
	h := startWorker(t, smtpSender(t, srv), WorkerConfig{PollInterval: time.Hour})
	eventually(t, 2*time.Second, "initial poll", func() bool { return h.q.claimCount() >= 1 })

	// Without Notify nothing happens before the (hour-long) poll interval.
	first := queued(1, time.Now())
	h.q.add(first)
	time.Sleep(150 * time.Millisecond)
	if n := len(srv.Messages()); n != 0 || h.q.claimCount() != 1 {
		t.Fatalf("worker polled without Notify: %d messages, %d claims", n, h.q.claimCount())
	}

	start := time.Now()
	h.w.Notify()
	h.w.Notify() // coalesces, never blocks
	srv.WaitFor(t, 2*time.Second, smtptest.WithMessageID(first.MessageID))
	if d := time.Since(start); d > time.Second {
		t.Fatalf("delivery after Notify took %v", d)
	}

	second := queued(2, time.Now())
	h.q.add(second)
	h.w.Notify()
	srv.WaitFor(t, 2*time.Second, smtptest.WithMessageID(second.MessageID))
}

// blockingSender blocks each Send until released and records its context.
type blockingSender struct {
	started chan struct{}
	release chan struct{}
	mu      sync.Mutex
	ctxErrs []error
}

func (b *blockingSender) Send(ctx context.Context, _ Envelope) error {
	b.started <- struct{}{}
	<-b.release
	b.mu.Lock()
	defer b.mu.Unlock()
	b.ctxErrs = append(b.ctxErrs, ctx.Err())
	return nil
}

func TestWorkerStopsCleanly(t *testing.T) {
	t.Run("idle", func(t *testing.T) {
		srv := smtptest.Start(t)
		h := startWorker(t, smtpSender(t, srv), WorkerConfig{PollInterval: time.Hour})
		eventually(t, 2*time.Second, "initial poll", func() bool { return h.q.claimCount() >= 1 })
		h.cancel()
		select {
		case err := <-h.done:
			if err != nil {
				t.Fatalf("Run = %v, want nil", err)
			}
			h.done <- err // for the cleanup
		case <-time.After(time.Second):
			t.Fatal("Run did not return within 1s of cancel")
		}
	})

	t.Run("waits for in-flight send", func(t *testing.T) {
		bs := &blockingSender{started: make(chan struct{}, 4), release: make(chan struct{})}
		h := startWorker(t, bs, WorkerConfig{PollInterval: 10 * time.Millisecond, Concurrency: 1, Batch: 5},
			queued(1, time.Now()), queued(2, time.Now()), queued(3, time.Now()))
		select {
		case <-bs.started:
		case <-time.After(2 * time.Second):
			t.Fatal("send did not start")
		}
		h.cancel()
		select {
		case err := <-h.done:
			t.Fatalf("Run returned %v while a send was in flight", err)
		case <-time.After(100 * time.Millisecond):
		}
		close(bs.release)
		select {
		case err := <-h.done:
			if err != nil {
				t.Fatalf("Run = %v, want nil", err)
			}
			h.done <- err
		case <-time.After(2 * time.Second):
			t.Fatal("Run did not return after the in-flight send finished")
		}
		bs.mu.Lock()
		defer bs.mu.Unlock()
		if len(bs.ctxErrs) != 1 || bs.ctxErrs[0] != nil {
			t.Fatalf("sends = %d with ctx errors %v, want exactly 1 send whose context was not cancelled", len(bs.ctxErrs), bs.ctxErrs)
		}
		if st := h.q.state("m1").state; st != "sent" {
			t.Errorf("in-flight message state = %q, want sent (recorded despite shutdown)", st)
		}
		for _, id := range []string{"m2", "m3"} {
			if st := h.q.state(id); st.state != "queued" || st.q.Attempts != 0 || !st.leaseUntil.IsZero() {
				t.Errorf("%s = %q with %d attempts, lease until %v; want queued, untried and released at once", id, st.state, st.q.Attempts, st.leaseUntil)
			}
		}
	})
}

func TestWorkerRetriesClaimErrors(t *testing.T) {
	srv := smtptest.Start(t)
	h := &memQueue{claimErr: []error{errors.New("db down"), errors.New("db down")}}
	it := queued(1, time.Now())
	h.add(it)
	logs := &syncBuffer{}
	w := NewWorker(h, smtpSender(t, srv), WorkerConfig{From: "a@example.com", PollInterval: 10 * time.Millisecond},
		slog.New(slog.NewTextHandler(logs, nil)))
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- w.Run(ctx) }()
	defer func() {
		cancel()
		<-done
	}()
	srv.WaitFor(t, 3*time.Second, smtptest.WithMessageID(it.MessageID))
	if !strings.Contains(logs.String(), "db down") {
		t.Errorf("claim error not logged:\n%s", logs.String())
	}
}

// clockSender advances a fake clock on every send.
type clockSender struct {
	clock *fakeClock
	step  time.Duration
	mu    sync.Mutex
	sent  []string
}

func (c *clockSender) Send(_ context.Context, e Envelope) error {
	c.clock.Advance(c.step)
	c.mu.Lock()
	defer c.mu.Unlock()
	c.sent = append(c.sent, e.MessageID)
	return nil
}

func TestWorkerDoesNotStartSendsPastLease(t *testing.T) {
	clock := &fakeClock{now: time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)}
	// Lease 10m, SendTimeout 2m: sends may start up to 8m after the claim.
	// Each send takes 3m of fake time, so the 4th of a batch would start at
	// 9m and must be skipped.
	cs := &clockSender{clock: clock, step: 3 * time.Minute}
	var items []Queued
	for i := range 4 {
		items = append(items, queued(i, clock.Now()))
	}
	h := startWorker(t, cs, WorkerConfig{
		PollInterval: time.Hour, Batch: 4, Concurrency: 1, Lease: 10 * time.Minute, SendTimeout: 2 * time.Minute, Now: clock.Now,
	}, items...)
	// The 4th is not started under the first lease: it is released and sent
	// after a second claim, under a lease of its own.
	eventually(t, 2*time.Second, "all four sent", func() bool { return h.q.state("m3").state == "sent" })
	cs.mu.Lock()
	sent := append([]string(nil), cs.sent...)
	cs.mu.Unlock()
	if len(sent) != 4 {
		t.Fatalf("sent %q, want each of the 4 once", sent)
	}
	if n := h.q.claimCount(); n < 2 {
		t.Fatalf("claims = %d: the 4th message was sent under the first lease", n)
	}
	if h.q.state("m3").sentCount != 1 {
		t.Fatalf("m3 sent %d times", h.q.state("m3").sentCount)
	}
	if !strings.Contains(h.logs.String(), "lease nearly expired") {
		t.Errorf("skip not logged:\n%s", h.logs.String())
	}
}

func TestWorkerRunRejectsBadConfig(t *testing.T) {
	tests := []struct {
		name string
		q    Queue
		s    Sender
		from string
	}{
		{name: "empty from", q: &memQueue{}, s: NewLogSender(nil), from: ""},
		{name: "invalid from", q: &memQueue{}, s: NewLogSender(nil), from: "not an address"},
		{name: "nil queue", s: NewLogSender(nil), from: "a@example.com"},
		{name: "nil sender", q: &memQueue{}, from: "a@example.com"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := NewWorker(tt.q, tt.s, WorkerConfig{From: tt.from}, slog.New(slog.DiscardHandler))
			ctx, cancel := context.WithTimeout(context.Background(), time.Second)
			defer cancel()
			if err := w.Run(ctx); err == nil {
				t.Fatal("Run succeeded, want a configuration error")
			}
		})
	}
}

func TestBackoff(t *testing.T) {
	cfg := WorkerConfig{BackoffBase: 2 * time.Second, BackoffMax: 5 * time.Minute}
	tests := []struct {
		attempt int
		jitter  float64
		want    time.Duration
	}{
		{attempt: 1, jitter: 0.5, want: 2 * time.Second},
		{attempt: 2, jitter: 0.5, want: 4 * time.Second},
		{attempt: 3, jitter: 0.5, want: 8 * time.Second},
		{attempt: 8, jitter: 0.5, want: 256 * time.Second},
		{attempt: 9, jitter: 0.5, want: 5 * time.Minute},
		{attempt: 10_000, jitter: 0.5, want: 5 * time.Minute},
		{attempt: 1, jitter: 0, want: 1600 * time.Millisecond},
		{attempt: 1, jitter: 0.999999, want: 2400 * time.Millisecond},
		{attempt: 9, jitter: 0, want: 4 * time.Minute},
		{attempt: 9, jitter: 0.999999, want: 6 * time.Minute},
		{attempt: 0, jitter: 0.5, want: 2 * time.Second},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("attempt %d jitter %v", tt.attempt, tt.jitter), func(t *testing.T) {
			w := NewWorker(&memQueue{}, NewLogSender(nil), cfg, nil)
			w.jitter = func() float64 { return tt.jitter }
			got := w.backoff(tt.attempt)
			if diff := got - tt.want; diff < -time.Millisecond || diff > time.Millisecond {
				t.Fatalf("backoff(%d) = %v, want %v", tt.attempt, got, tt.want)
			}
		})
	}
}

func TestWorkerConfigDefaults(t *testing.T) {
	got := WorkerConfig{}.withDefaults()
	want := WorkerConfig{
		PollInterval: time.Second, Batch: 20, Lease: 2 * time.Minute, BackoffBase: 2 * time.Second,
		BackoffMax: 5 * time.Minute, MaxAge: 72 * time.Hour, Concurrency: 2, SendTimeout: 30 * time.Second,
	}
	if got.Now == nil {
		t.Fatal("Now default is nil")
	}
	got.Now = nil
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("defaults = %+v, want %+v", got, want)
	}
	custom := WorkerConfig{PollInterval: time.Minute, Batch: 1, BackoffBase: time.Hour, BackoffMax: time.Second}.withDefaults()
	if custom.PollInterval != time.Minute || custom.Batch != 1 || custom.BackoffMax != time.Hour {
		t.Fatalf("custom values not kept / max not raised to base: %+v", custom)
	}
}

func TestTruncate(t *testing.T) {
	tests := []struct {
		in   string
		n    int
		want string
	}{
		{"short", 10, "short"},
		{"abcdef", 3, "abc"},
		{"aé", 2, "a"}, // never split a UTF-8 sequence
		{"", 0, ""},
	}
	for _, tt := range tests {
		if got := truncate(tt.in, tt.n); got != tt.want {
			t.Errorf("truncate(%q, %d) = %q, want %q", tt.in, tt.n, got, tt.want)
		}
	}
}

// countingSender records the Message-IDs it sends.
type countingSender struct {
	mu   sync.Mutex
	sent []string
}

func (c *countingSender) Send(_ context.Context, e Envelope) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.sent = append(c.sent, e.MessageID)
	return nil
}

func (c *countingSender) count() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.sent)
}

// TestWorkerSendsHandedOverWithoutClaim hands the running worker messages
// written leased to it: they are sent once each and marked sent together,
// without a claim; a worker not running declines hand-overs, as does one
// with maxHanded messages waiting.
func TestWorkerSendsHandedOverWithoutClaim(t *testing.T) {
	idle := NewWorker(&memQueue{}, &countingSender{}, WorkerConfig{From: "onboard <no-reply@example.com>"}, nil)
	if _, ok := idle.HandOverLease(); ok {
		t.Fatal("HandOverLease of a worker not running: ok, want declined")
	}

	s := &countingSender{}
	h := startWorker(t, s, WorkerConfig{PollInterval: time.Hour, Lease: time.Minute})
	eventually(t, 2*time.Second, "the first claim", func() bool { return h.q.claimCount() == 1 })
	var lease time.Duration
	eventually(t, 2*time.Second, "hand-overs accepted", func() bool {
		var ok bool
		lease, ok = h.w.HandOverLease()
		return ok
	})
	if lease != time.Minute {
		t.Fatalf("HandOverLease = %v, want the worker's lease (1m)", lease)
	}
	now := time.Now()
	var items []Queued
	for i := range 5 {
		it := queued(i, now)
		items = append(items, it)
		h.q.add(it)
	}
	h.q.mu.Lock()
	for _, it := range h.q.items {
		it.leaseUntil = now.Add(lease) // written leased, as EnqueueLeasedMails does
	}
	h.q.mu.Unlock()
	h.w.HandOver(items, now.Add(lease))
	for _, it := range items {
		id := it.ID
		eventually(t, 2*time.Second, id+" marked sent", func() bool { return h.q.state(id).state == "sent" })
	}
	if got := s.count(); got != len(items) {
		t.Errorf("%d sends, want %d", got, len(items))
	}
	if got := h.q.claimCount(); got != 1 {
		t.Errorf("%d claims, want 1 (the one at start; hand-overs need none)", got)
	}
	h.q.mu.Lock()
	marks := append([]int(nil), h.q.marks...)
	h.q.mu.Unlock()
	if !reflect.DeepEqual(marks, []int{5}) {
		t.Errorf("MarkSent calls marked %v messages, want [5]", marks)
	}

	// A backlog of maxHanded declines further hand-overs.
	h.w.handedMu.Lock()
	h.w.handed = make([]leased, maxHanded)
	h.w.handedMu.Unlock()
	if _, ok := h.w.HandOverLease(); ok {
		t.Error("HandOverLease with maxHanded waiting: ok, want declined")
	}
	h.w.handedMu.Lock()
	h.w.handed = nil
	h.w.handedMu.Unlock()
	h.cancel()
	<-h.done
	h.done <- nil // for the cleanup
	if _, ok := h.w.HandOverLease(); ok {
		t.Error("HandOverLease after Run returned: ok, want declined")
	}
}

// A steady stream of handed-over messages does not hold back the claim of a
// message queued meanwhile (a password reset during a signup storm).
func TestWorkerClaimsDuringHandOvers(t *testing.T) {
	// Each send takes 2 ms, and a message is handed over every 200 µs:
	// there are always handed-over messages waiting when a batch is done.
	s := slowSender{&countingSender{}, 2 * time.Millisecond}
	h := startWorker(t, s, WorkerConfig{PollInterval: 50 * time.Millisecond, Lease: time.Minute})
	eventually(t, 2*time.Second, "the first claim", func() bool { return h.q.claimCount() == 1 })
	stop := make(chan struct{})
	var streaming sync.WaitGroup
	streaming.Go(func() {
		for i := 1000; ; i++ {
			select {
			case <-stop:
				return
			default:
			}
			now := time.Now()
			it := queued(i, now)
			h.q.add(it)
			h.q.mu.Lock()
			h.q.items[len(h.q.items)-1].leaseUntil = now.Add(time.Minute)
			h.q.mu.Unlock()
			h.w.HandOver([]Queued{it}, now.Add(time.Minute))
			time.Sleep(200 * time.Microsecond)
		}
	})
	defer func() { close(stop); streaming.Wait() }()
	time.Sleep(100 * time.Millisecond) // the stream is flowing
	h.q.add(queued(1, time.Now()))
	h.w.Notify()
	eventually(t, 3*time.Second, "the queued message sent during the stream", func() bool { return h.q.state("m1").state == "sent" })
}

// slowSender is a countingSender whose sends take d.
type slowSender struct {
	*countingSender
	d time.Duration
}

func (s slowSender) Send(ctx context.Context, e Envelope) error {
	time.Sleep(s.d)
	return s.countingSender.Send(ctx, e)
}
