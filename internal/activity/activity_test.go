package activity

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os/exec"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/onboard-dev/onboard/internal/domain"
	"github.com/onboard-dev/onboard/internal/testutil/natstest"
)

// fakeRecorder answers by end user id and counts the calls.
type fakeRecorder struct {
	mu    sync.Mutex
	calls map[string]int
	// flaky ids fail transiently this many times first.
	flaky map[string]int
}

func newFakeRecorder() *fakeRecorder {
	return &fakeRecorder{calls: map[string]int{}, flaky: map[string]int{}}
}

func (f *fakeRecorder) record(_ context.Context, _ string, m Message) (string, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	id := m.EndUserID
	if id == "" {
		id = m.Labelpartner + "/" + m.Email
	}
	f.calls[id]++
	if f.flaky[id] > 0 {
		f.flaky[id]--
		return "", errors.New("database is down")
	}
	switch id {
	case "unknown":
		return "", domain.Errorf(domain.ENotFound, "end-user-not-found", "There is no such end user.")
	case "provisioned":
		return "provisioned", domain.Errorf(domain.EConflict, "end-user-not-registered", "Not registered.")
	case "future":
		return "registered", domain.Invalid(domain.FieldError{Field: "measurement_received_at", Message: "must not be in the future"})
	}
	return "active", nil
}

func (f *fakeRecorder) count(id string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.calls[id]
}

// run starts s and stops it when the test ends; the returned function stops
// it earlier and waits for Run to return.
func run(t *testing.T, s *Subscriber) (stop func()) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx) }()
	var once sync.Once
	stop = func() {
		once.Do(func() {
			cancel()
			select {
			case err := <-done:
				if err != nil {
					t.Errorf("Run: %v", err)
				}
			case <-time.After(30 * time.Second):
				t.Error("Run did not return within 30s of cancellation")
			}
		})
	}
	t.Cleanup(stop)
	return stop
}

func testLogger(t *testing.T) *slog.Logger {
	return slog.New(slog.NewTextHandler(t.Output(), &slog.HandlerOptions{Level: slog.LevelDebug}))
}

// waitSubscribed sends probe requests until the subscriber answers one.
func waitSubscribed(t *testing.T, nc *nats.Conn, subject string) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for time.Now().Before(deadline) {
		if _, err := nc.Request(subject, []byte("probe"), 250*time.Millisecond); err == nil {
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("no subscriber on %s after 15s", subject)
}

func request(t *testing.T, nc *nats.Conn, subject, payload string) Reply {
	t.Helper()
	msg, err := nc.Request(subject, []byte(payload), 10*time.Second)
	if err != nil {
		t.Fatalf("request %s: %v", payload, err)
	}
	var r Reply
	if err := json.Unmarshal(msg.Data, &r); err != nil {
		t.Fatalf("reply %s: %v", msg.Data, err)
	}
	return r
}

func payload(id string) string {
	return fmt.Sprintf(`{"end_user_id":%q,"measurement_received_at":"2026-05-04T10:00:00Z"}`, id)
}

func TestCoreReplies(t *testing.T) {
	ns := natstest.Start(t)
	nc := ns.Connect(t)
	subject := natstest.Subject(t, "onboard.test.activity")
	rec := newFakeRecorder()
	rec.flaky["down"] = 1
	s, err := New(Config{URL: ns.URL(), Subject: subject, Queue: natstest.Name(t, "q"), Workers: 2}, rec.record, testLogger(t))
	if err != nil {
		t.Fatal(err)
	}
	run(t, s)
	waitSubscribed(t, nc, subject)

	cases := []struct {
		name, payload string
		want          Reply
	}{
		{"applied", payload("u1"), Reply{Status: "ok", State: "active"}},
		{"by labelpartner and email", `{"labelpartner":"lp","email":"a@example.com","measurement_received_at":"2026-05-04T10:00:00Z"}`,
			Reply{Status: "ok", State: "active"}},
		{"unknown", payload("unknown"), Reply{Status: "error", Error: "end-user-not-found"}},
		{"provisioned", payload("provisioned"), Reply{Status: "error", State: "provisioned", Error: "end-user-not-registered"}},
		{"future", payload("future"), Reply{Status: "error", State: "registered", Error: "validation-error"}},
		{"transient", payload("down"), Reply{Status: "error", Error: "unavailable"}},
		{"malformed", `{"end_user_id":`, Reply{Status: "error", Error: "malformed"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got := request(t, nc, subject, tc.payload)
			if got.Status != tc.want.Status || got.State != tc.want.State || got.Error != tc.want.Error {
				t.Fatalf("reply %+v, want %+v", got, tc.want)
			}
			if got.Status == "error" && got.Detail == "" {
				t.Fatalf("error reply without detail: %+v", got)
			}
		})
	}
	// A transient failure is not retried in core mode (at most once).
	if n := rec.count("down"); n != 1 {
		t.Fatalf("transient message recorded %d times, want 1", n)
	}
	// After all that, plain publishes are still processed.
	if err := nc.Publish(subject, []byte(payload("later"))); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the later message", func() bool { return rec.count("later") == 1 })
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestCoreConcurrencyAndShutdown: no more than Workers messages run at once,
// and messages in hand at cancellation finish and get their reply.
func TestCoreConcurrencyAndShutdown(t *testing.T) {
	ns := natstest.Start(t)
	nc := ns.Connect(t)
	subject := natstest.Subject(t, "onboard.test.activity")
	var running, peak, total atomic.Int32
	release := make(chan struct{})
	record := func(ctx context.Context, _ string, m Message) (string, error) {
		n := running.Add(1)
		defer running.Add(-1)
		for {
			p := peak.Load()
			if n <= p || peak.CompareAndSwap(p, n) {
				break
			}
		}
		select {
		case <-release:
		case <-ctx.Done():
			return "", ctx.Err()
		}
		total.Add(1)
		return "active", nil
	}
	s, err := New(Config{URL: ns.URL(), Subject: subject, Queue: natstest.Name(t, "q"), Workers: 3}, record, testLogger(t))
	if err != nil {
		t.Fatal(err)
	}
	stop := run(t, s)
	waitSubscribed(t, nc, subject)

	// Requests so that the replies show the messages in hand were finished.
	const n = 8
	replies := make(chan *nats.Msg, n)
	inbox := nats.NewInbox()
	sub, err := nc.ChanSubscribe(inbox, replies)
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Unsubscribe()
	for i := range n {
		if err := nc.PublishRequest(subject, inbox, []byte(payload(fmt.Sprint("c", i)))); err != nil {
			t.Fatal(err)
		}
	}
	waitFor(t, "three messages in hand", func() bool { return running.Load() == 3 })
	// Shut down while three are in hand and five wait in the client's buffer.
	stopped := make(chan struct{})
	go func() { stop(); close(stopped) }()
	time.Sleep(200 * time.Millisecond) // let the drain begin before releasing
	close(release)
	select {
	case <-stopped:
	case <-time.After(30 * time.Second):
		t.Fatal("Run did not return")
	}
	if p := peak.Load(); p != 3 {
		t.Fatalf("peak concurrency %d, want 3 (the worker count)", p)
	}
	// Every message the subscriber had taken was finished and answered.
	got := 0
	for got < int(total.Load()) {
		select {
		case m := <-replies:
			if len(m.Data) == 0 && m.Header.Get("Status") != "" {
				// A status from the server (503: no responders), not a
				// reply: the request reached no subscriber, so it is not
				// among the processed ones counted here.
				t.Logf("status %s %s from the server", m.Header.Get("Status"), m.Header.Get("Description"))
				continue
			}
			var r Reply
			if err := json.Unmarshal(m.Data, &r); err != nil || r.Status != "ok" {
				t.Fatalf("reply %s", m.Data)
			}
			got++
		case <-time.After(5 * time.Second):
			t.Fatalf("%d replies for %d processed messages", got, total.Load())
		}
	}
	if total.Load() < 3 {
		t.Fatalf("%d messages processed, want at least the 3 in hand", total.Load())
	}
}

// TestJetStreamAcks: the subscriber creates the stream and durable consumer;
// a transient failure is redelivered and then acknowledged, an unknown end
// user and a malformed message are terminated, and nothing stays pending.
func TestJetStreamAcks(t *testing.T) {
	ns := natstest.Start(t)
	nc := ns.Connect(t)
	js := natstest.JetStream(t, nc)
	subject := natstest.Subject(t, "onboard.test.activity")
	stream, durable := natstest.Name(t, "ONBOARD_TEST"), natstest.Name(t, "onboard")
	natstest.DeleteStreamAtEnd(t, js, stream)
	rec := newFakeRecorder()
	rec.flaky["flaky"] = 1
	s, err := New(Config{URL: ns.URL(), Subject: subject, Queue: durable, Stream: stream, Workers: 2, MaxRetryDelay: time.Second},
		rec.record, testLogger(t))
	if err != nil {
		t.Fatal(err)
	}
	run(t, s)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	var cons jetstream.Consumer
	waitFor(t, "the durable consumer", func() bool {
		cons, err = js.Consumer(ctx, stream, durable)
		return err == nil
	})
	info, err := js.Stream(ctx, stream)
	if err != nil {
		t.Fatal(err)
	}
	if cfg := info.CachedInfo().Config; len(cfg.Subjects) != 1 || cfg.Subjects[0] != subject || cfg.Retention != jetstream.WorkQueuePolicy {
		t.Fatalf("stream config %+v", cfg)
	}
	for _, p := range []string{payload("flaky"), payload("unknown"), `not json`, payload("ok")} {
		if _, err := js.Publish(ctx, subject, []byte(p)); err != nil {
			t.Fatalf("publish: %v", err)
		}
	}
	waitFor(t, "every message settled", func() bool {
		ci, err := cons.Info(ctx)
		return err == nil && ci.NumPending == 0 && ci.NumAckPending == 0 && ci.AckFloor.Stream == 4
	})
	for id, want := range map[string]int{"flaky": 2, "unknown": 1, "ok": 1} {
		if got := rec.count(id); got != want {
			t.Errorf("%s recorded %d times, want %d", id, got, want)
		}
	}
	// Work-queue retention: settled messages are gone from the stream.
	si, err := js.Stream(ctx, stream)
	if err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the stream to be empty", func() bool {
		i, err := si.Info(ctx)
		return err == nil && i.State.Msgs == 0
	})
}

// TestServerLater: a server that is not there at start is retried until it
// appears; the subscriber then serves, and stops cleanly.
func TestServerLater(t *testing.T) {
	bin, err := exec.LookPath("nats-server")
	if err != nil {
		if bin, err = exec.LookPath("/usr/sbin/nats-server"); err != nil {
			t.Skip("nats-server binary not found")
		}
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	ln.Close()
	url := fmt.Sprintf("nats://127.0.0.1:%d", port)
	subject := natstest.Subject(t, "onboard.test.activity")
	rec := newFakeRecorder()
	s, err := New(Config{URL: url, Subject: subject, Queue: "onboard"}, rec.record, testLogger(t))
	if err != nil {
		t.Fatal(err)
	}
	run(t, s)

	cmd := exec.Command(bin, "-a", "127.0.0.1", "-p", fmt.Sprint(port))
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
	})
	var nc *nats.Conn
	waitFor(t, "the late server", func() bool {
		nc, err = nats.Connect(url)
		return err == nil
	})
	defer nc.Close()
	waitSubscribed(t, nc, subject)
	if r := request(t, nc, subject, payload("late")); r.Status != "ok" || rec.count("late") != 1 {
		t.Fatalf("reply %+v, %d calls", r, rec.count("late"))
	}
}
