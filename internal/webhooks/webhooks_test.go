package webhooks_test

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/onboard-dev/onboard/internal/domain"
	"github.com/onboard-dev/onboard/internal/events"
	"github.com/onboard-dev/onboard/internal/flows"
	obmail "github.com/onboard-dev/onboard/internal/mail"
	"github.com/onboard-dev/onboard/internal/outbound"
	"github.com/onboard-dev/onboard/internal/store"
	"github.com/onboard-dev/onboard/internal/testutil/dbtest"
	"github.com/onboard-dev/onboard/internal/webhooks"
)

func open(t *testing.T, dsn string) (*store.Store, domain.Organization) {
	t.Helper()
	ctx := context.Background()
	st, err := store.Open(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	if _, err := st.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	org, err := flows.EnsureDefaultOrganization(ctx, st, "Acme")
	if err != nil {
		t.Fatal(err)
	}
	return st, org
}

// receiver is a real HTTP server that checks every request's signature
// with the Standard Webhooks algorithm and keeps the events it accepted.
type receiver struct {
	t      *testing.T
	srv    *httptest.Server
	mu     sync.Mutex
	secret string
	// status, when set, answers instead of 204; it may sleep.
	status func(e events.Event) int
	got    []events.Event
	badSig atomic.Int32
	calls  atomic.Int32
}

func newReceiver(t *testing.T) *receiver {
	r := &receiver{t: t}
	r.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		r.calls.Add(1)
		body, _ := io.ReadAll(req.Body)
		r.mu.Lock()
		secret, status := r.secret, r.status
		r.mu.Unlock()
		if err := webhooks.Verify(secret, req.Header.Get("webhook-id"), req.Header.Get("webhook-timestamp"), req.Header.Get("webhook-signature"),
			body, time.Now(), 5*time.Minute); err != nil {
			r.badSig.Add(1)
			http.Error(w, err.Error(), http.StatusUnauthorized)
			return
		}
		e, err := events.Parse(body)
		if err != nil || e.ID != req.Header.Get("webhook-id") {
			r.badSig.Add(1)
			http.Error(w, "bad body", http.StatusBadRequest)
			return
		}
		if status != nil {
			if code := status(e); code != 0 && code/100 != 2 {
				http.Error(w, "not now", code)
				return
			}
		}
		r.mu.Lock()
		r.got = append(r.got, e)
		r.mu.Unlock()
		w.WriteHeader(http.StatusNoContent)
	}))
	t.Cleanup(r.srv.Close)
	return r
}

func (r *receiver) events() []events.Event {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]events.Event(nil), r.got...)
}

// has reports whether an event about subject was accepted.
func (r *receiver) has(subject string) bool {
	for _, e := range r.events() {
		if e.Subject == subject {
			return true
		}
	}
	return false
}

type harness struct {
	st     *store.Store
	org    domain.Organization
	svc    *webhooks.Service
	disp   *events.Dispatcher
	worker *webhooks.Worker
}

// endpointTo creates an endpoint of the harness's organization for every
// event, at rcv's /hook, and gives rcv its secret.
func (h *harness) endpointTo(t *testing.T, rcv *receiver) store.WebhookEndpoint {
	t.Helper()
	ep, err := h.svc.Create(context.Background(), h.org, webhooks.EndpointInput{URL: rcv.srv.URL + "/hook"})
	if err != nil {
		t.Fatal(err)
	}
	rcv.secret = ep.Secret
	return ep
}

func newHarness(t *testing.T, dsn string, allowPrivate bool) *harness {
	st, org := open(t, dsn)
	hc := outbound.New(outbound.Options{AllowPrivate: allowPrivate, Timeout: 5 * time.Second})
	return &harness{st: st, org: org, svc: webhooks.New(st, allowPrivate, nil), disp: events.NewDispatcher(st, false, nil),
		worker: webhooks.NewWorker(st, hc, webhooks.WorkerConfig{RetryBase: 20 * time.Millisecond, RetryMax: 100 * time.Millisecond, Timeout: 2 * time.Second}, nil)}
}

// emit writes n events about subject in one transaction each.
func (h *harness) emit(t *testing.T, subject string, n int) []string {
	t.Helper()
	var ids []string
	for range n {
		err := h.st.InTx(context.Background(), func(tx *store.Tx) error {
			e, err := events.Emit(context.Background(), tx, h.org, time.Now(), subject, events.UserRemoved{UserID: subject, AccountID: "a"})
			ids = append(ids, e.ID)
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	return ids
}

// drain dispatches and delivers until nothing is due or the deadline passes.
func (h *harness) drain(t *testing.T, until func() bool) {
	t.Helper()
	ctx := context.Background()
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		if _, err := h.disp.DispatchOnce(ctx); err != nil {
			t.Fatal(err)
		}
		if _, err := h.worker.RunOnce(ctx); err != nil {
			t.Fatal(err)
		}
		if until() {
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatal("deliveries did not finish in time")
}

// A receiver down for a while, then up: every event arrives, signed, and
// the events of each subject arrive in order.
func TestDeliveryInOrderAfterOutage(t *testing.T) {
	dbtest.ForEach(t, func(t *testing.T, dsn string) {
		h := newHarness(t, dsn, true)
		rcv := newReceiver(t)
		ep, err := h.svc.Create(context.Background(), h.org, webhooks.EndpointInput{URL: rcv.srv.URL + "/hook"})
		if err != nil {
			t.Fatal(err)
		}
		if !strings.HasPrefix(ep.Secret, "whsec_") {
			t.Fatalf("secret %q", ep.Secret)
		}
		rcv.secret = ep.Secret
		var down atomic.Bool
		down.Store(true)
		rcv.status = func(events.Event) int {
			if down.Load() {
				return http.StatusServiceUnavailable
			}
			return 0
		}
		want := map[string][]string{}
		for _, subj := range []string{"s1", "s2", "s3"} {
			want[subj] = h.emit(t, subj, 4)
		}
		deadline := time.Now().Add(300 * time.Millisecond)
		h.drain(t, func() bool { return time.Now().After(deadline) })
		if n := len(rcv.events()); n != 0 {
			t.Fatalf("%d events accepted while down", n)
		}
		down.Store(false)
		h.drain(t, func() bool { return len(rcv.events()) >= 12 })
		got := map[string][]string{}
		for _, e := range rcv.events() {
			got[e.Subject] = append(got[e.Subject], e.ID)
		}
		for subj, ids := range want {
			if strings.Join(got[subj], ",") != strings.Join(ids, ",") {
				t.Errorf("subject %s: got %v, want %v in order", subj, got[subj], ids)
			}
		}
		if rcv.badSig.Load() != 0 {
			t.Errorf("%d requests with a bad signature", rcv.badSig.Load())
		}
		dels, attempts, err := h.svc.Deliveries(context.Background(), h.org, ep.ID, 100)
		if err != nil || len(dels) != 12 {
			t.Fatalf("deliveries: %d, %v", len(dels), err)
		}
		for _, d := range dels {
			if d.State != store.DeliveryDelivered {
				t.Errorf("delivery %s %s", d.ID, d.State)
			}
			as := attempts[d.ID]
			if len(as) < 1 || as[len(as)-1].Status != 204 {
				t.Errorf("delivery %s attempts %+v", d.ID, as)
			}
		}
	})
}

// A slow receiver (past the timeout) and one answering 500 are retried; a
// 410 disables the endpoint.
func TestSlowFailingAndGoneReceivers(t *testing.T) {
	dbtest.ForEach(t, func(t *testing.T, dsn string) {
		h := newHarness(t, dsn, true)
		h.worker = webhooks.NewWorker(h.st, outbound.New(outbound.Options{AllowPrivate: true}),
			webhooks.WorkerConfig{RetryBase: 20 * time.Millisecond, RetryMax: 50 * time.Millisecond, Timeout: 200 * time.Millisecond}, nil)
		ctx := context.Background()
		slow, failing, gone := newReceiver(t), newReceiver(t), newReceiver(t)
		var slowCalls, failCalls atomic.Int32
		slow.status = func(events.Event) int {
			if slowCalls.Add(1) == 1 {
				// Past the timeout: the sender has given up, so this answer
				// does not count as accepting the event (else the test
				// could end before the retry on a loaded machine).
				time.Sleep(400 * time.Millisecond)
				return http.StatusServiceUnavailable
			}
			return 0
		}
		failing.status = func(events.Event) int {
			if failCalls.Add(1) <= 3 {
				return 500
			}
			return 0
		}
		gone.status = func(events.Event) int { return http.StatusGone }
		var goneID string
		for _, r := range []*receiver{slow, failing, gone} {
			ep, err := h.svc.Create(ctx, h.org, webhooks.EndpointInput{URL: r.srv.URL})
			if err != nil {
				t.Fatal(err)
			}
			r.secret = ep.Secret
			goneID = ep.ID
		}
		h.emit(t, "u1", 1)
		h.drain(t, func() bool { return slow.has("u1") && failing.has("u1") })
		if failCalls.Load() != 4 || slowCalls.Load() < 2 {
			t.Errorf("failing receiver called %d times, slow %d", failCalls.Load(), slowCalls.Load())
		}
		ep, err := h.svc.Get(ctx, h.org, goneID)
		if err != nil || ep.DisabledAt == nil {
			t.Fatalf("410 endpoint not disabled: %+v %v", ep, err)
		}
		dels, atts, _ := h.svc.Deliveries(ctx, h.org, goneID, 10)
		if len(dels) != 1 || dels[0].State != store.DeliveryFailed || len(atts[dels[0].ID]) != 1 || atts[dels[0].ID][0].Status != 410 ||
			!strings.Contains(atts[dels[0].ID][0].Response, "not now") {
			t.Fatalf("gone deliveries %+v %+v", dels, atts)
		}
		// Events after the disabling are not delivered to it.
		h.emit(t, "u2", 1)
		h.drain(t, func() bool { return slow.has("u2") })
		if gone.calls.Load() != 1 {
			t.Errorf("disabled endpoint called %d times", gone.calls.Load())
		}
	})
}

// URLs refused when an endpoint is created or changed, and a name that
// resolves to a loopback address refused at delivery time.
func TestSSRFRefusals(t *testing.T) {
	dbtest.ForEach(t, func(t *testing.T, dsn string) {
		h := newHarness(t, dsn, false)
		ctx := context.Background()
		for _, u := range []string{"http://example.com/hook", "https://127.0.0.1/hook", "https://10.1.2.3/hook",
			"https://169.254.169.254/latest/meta-data", "https://[::1]/hook", "ftp://example.com/"} {
			_, err := h.svc.Create(ctx, h.org, webhooks.EndpointInput{URL: u})
			e := domain.AsError(err)
			if e == nil || e.Code != domain.EInvalid || len(e.Fields) != 1 || e.Fields[0].Field != "url" {
				t.Errorf("create %s: %v", u, err)
			}
		}
		ok, err := h.svc.Create(ctx, h.org, webhooks.EndpointInput{URL: "https://example.com/hook"})
		if err != nil {
			t.Fatal(err)
		}
		bad := "https://10.0.0.1/x"
		if _, err := h.svc.Update(ctx, h.org, ok.ID, webhooks.EndpointPatch{URL: &bad}); domain.ErrorCode(err) != domain.EInvalid {
			t.Errorf("patch to 10.0.0.1: %v", err)
		}
		// A name resolving to 127.0.0.1: accepted at creation, refused at
		// delivery after DNS; nothing reaches the local server.
		rcv := newReceiver(t)
		port := rcv.srv.URL[strings.LastIndexByte(rcv.srv.URL, ':'):]
		if err := h.svc.Delete(ctx, h.org, ok.ID); err != nil {
			t.Fatal(err)
		}
		ep, err := h.svc.Create(ctx, h.org, webhooks.EndpointInput{URL: "https://localhost" + port + "/hook"})
		if err != nil {
			t.Fatal(err)
		}
		h.emit(t, "u1", 1)
		h.drain(t, func() bool {
			dels, atts, _ := h.svc.Deliveries(ctx, h.org, ep.ID, 10)
			return len(dels) == 1 && len(atts[dels[0].ID]) > 0
		})
		dels, atts, _ := h.svc.Deliveries(ctx, h.org, ep.ID, 10)
		if a := atts[dels[0].ID][0]; a.Status != 0 || !strings.Contains(a.Error, "refused") {
			t.Errorf("attempt to localhost: %+v", a)
		}
		if rcv.calls.Load() != 0 {
			t.Error("the local server was called")
		}
	})
}

// A rotated secret: old and new both sign for the overlap.
func TestSecretRotationSignsWithBoth(t *testing.T) {
	dbtest.ForEach(t, func(t *testing.T, dsn string) {
		h := newHarness(t, dsn, true)
		ctx := context.Background()
		rcv := newReceiver(t)
		ep, err := h.svc.Create(ctx, h.org, webhooks.EndpointInput{URL: rcv.srv.URL, EventTypes: []string{events.TypeUserRemoved}})
		if err != nil {
			t.Fatal(err)
		}
		rot, err := h.svc.RotateSecret(ctx, h.org, ep.ID)
		if err != nil || rot.Secret == ep.Secret || !strings.HasPrefix(rot.Secret, "whsec_") {
			t.Fatalf("rotate: %v", err)
		}
		rcv.secret = ep.Secret // a receiver that has not switched yet
		h.emit(t, "u1", 1)
		h.drain(t, func() bool { return len(rcv.events()) == 1 })
		rcv.mu.Lock()
		rcv.secret = rot.Secret
		rcv.mu.Unlock()
		h.emit(t, "u2", 1)
		h.drain(t, func() bool { return len(rcv.events()) == 2 })
		if rcv.badSig.Load() != 0 {
			t.Errorf("%d bad signatures", rcv.badSig.Load())
		}
		// Replay one event and a range.
		first := rcv.events()[0]
		if n, err := h.svc.Replay(ctx, h.org, ep.ID, webhooks.Replay{EventID: first.ID}); err != nil || n != 1 {
			t.Fatalf("replay: %d %v", n, err)
		}
		from, to := time.Now().Add(-time.Hour), time.Now().Add(time.Hour)
		if n, err := h.svc.Replay(ctx, h.org, ep.ID, webhooks.Replay{From: &from, To: &to}); err != nil || n != 2 {
			t.Fatalf("replay range: %d %v", n, err)
		}
		h.drain(t, func() bool { return len(rcv.events()) == 5 })
		if _, err := h.svc.Replay(ctx, h.org, ep.ID, webhooks.Replay{EventID: "nope"}); domain.ErrorCode(err) != domain.EInvalid {
			t.Errorf("replay of an unknown event: %v", err)
		}
	})
}

// The Standard Webhooks example: a known secret, id, timestamp and body
// give the specification's signature.
func TestSignMatchesSpecification(t *testing.T) {
	secret := "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
	ts := time.Unix(1614265330, 0)
	got, err := webhooks.Sign(secret, "msg_p5jXN8AQM9LWM0D4loKWxJek", ts, []byte(`{"test": 2432232314}`))
	if err != nil {
		t.Fatal(err)
	}
	if want := "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="; got != want {
		t.Fatalf("got %s, want %s", got, want)
	}
	if err := webhooks.Verify(secret, "msg_p5jXN8AQM9LWM0D4loKWxJek", "1614265330", "v1,bogus "+got, []byte(`{"test": 2432232314}`), ts, time.Minute); err != nil {
		t.Fatal(err)
	}
	if err := webhooks.Verify(secret, "msg_other", "1614265330", got, []byte(`{"test": 2432232314}`), ts, time.Minute); err == nil {
		t.Fatal("a signature of another id verified")
	}
}

// An endpoint whose every attempt fails for DisableAfter is disabled, and
// OnDisabled runs in that transaction; its failure record clears when it is
// enabled again.
func TestFailingEndpointIsDisabled(t *testing.T) {
	dbtest.ForEach(t, func(t *testing.T, dsn string) {
		h := newHarness(t, dsn, true)
		ctx := context.Background()
		h.worker = webhooks.NewWorker(h.st, outbound.New(outbound.Options{AllowPrivate: true}),
			webhooks.WorkerConfig{RetryBase: 10 * time.Millisecond, RetryMax: 20 * time.Millisecond, Timeout: time.Second, DisableAfter: 200 * time.Millisecond}, nil)
		var told atomic.Int32
		tpl, err := obmail.LoadTemplates("")
		if err != nil {
			t.Fatal(err)
		}
		if err := h.st.CreateBackOfficeUser(ctx, domain.BackOfficeUser{ID: store.NewID(), OrgID: h.org.ID, Email: "admin@example.com",
			Role: domain.RoleOrgAdmin, Language: "en", CreatedAt: time.Now()}); err != nil {
			t.Fatal(err)
		}
		mailer := webhooks.AdminMailer{Templates: tpl, From: "onboard@example.com"}
		h.worker.OnDisabled = func(ctx context.Context, tx *store.Tx, ep store.WebhookEndpoint, reason string) error {
			if !strings.Contains(reason, "failed since") {
				t.Errorf("reason %q", reason)
			}
			told.Add(1)
			n, err := mailer.Disabled(ctx, tx, ep, reason)
			if n != 1 {
				t.Errorf("%d admins mailed, want 1", n)
			}
			return err
		}
		rcv := newReceiver(t)
		rcv.status = func(events.Event) int { return 500 }
		ep, err := h.svc.Create(ctx, h.org, webhooks.EndpointInput{URL: rcv.srv.URL})
		if err != nil {
			t.Fatal(err)
		}
		rcv.secret = ep.Secret
		h.emit(t, "u1", 1)
		h.drain(t, func() bool {
			got, err := h.svc.Get(ctx, h.org, ep.ID)
			return err == nil && got.DisabledAt != nil
		})
		if told.Load() != 1 {
			t.Fatalf("OnDisabled ran %d times", told.Load())
		}
		var queued int
		if err := h.st.DB().QueryRowContext(ctx, `SELECT count(*) FROM outbox WHERE template = $1 AND to_lower = $2`,
			obmail.TemplateWebhookDisabled, "admin@example.com").Scan(&queued); err != nil || queued != 1 {
			t.Fatalf("%d mails queued for the admin (%v), want 1", queued, err)
		}
		on := true
		got, err := h.svc.Update(ctx, h.org, ep.ID, webhooks.EndpointPatch{Enabled: &on})
		if err != nil || got.DisabledAt != nil || got.FailingSince != nil {
			t.Fatalf("enable: %+v %v", got, err)
		}
	})
}

// A subject's due deliveries are claimed as one chain and sent in order in
// one batch; the first failure ends the chain, and what follows it is
// released without counting an attempt, to go out, in order, after the
// retry.
func TestChainSentInOneBatch(t *testing.T) {
	dbtest.ForEach(t, func(t *testing.T, dsn string) {
		h := newHarness(t, dsn, true)
		h.worker = webhooks.NewWorker(h.st, outbound.New(outbound.Options{AllowPrivate: true}),
			webhooks.WorkerConfig{RetryBase: time.Second, RetryMax: 2 * time.Second, Timeout: 2 * time.Second}, nil)
		ctx := context.Background()
		rcv := newReceiver(t)
		ep := h.endpointTo(t, rcv)
		s1, s2 := h.emit(t, "s1", 4), h.emit(t, "s2", 2)
		var failed atomic.Bool
		rcv.status = func(e events.Event) int {
			if e.ID == s1[1] && failed.CompareAndSwap(false, true) {
				return http.StatusInternalServerError
			}
			return 0
		}
		if _, err := h.disp.DispatchOnce(ctx); err != nil {
			t.Fatal(err)
		}
		// One batch: s1's first two (the second fails) and both of s2.
		if n, err := h.worker.RunOnce(ctx); err != nil || n != 4 {
			t.Fatalf("first batch attempted %d, %v; want 4", n, err)
		}
		dels, attempts, err := h.svc.Deliveries(ctx, h.org, ep.ID, 100)
		if err != nil {
			t.Fatal(err)
		}
		byEvent := map[string]store.WebhookDelivery{}
		for _, d := range dels {
			byEvent[d.EventID] = d
		}
		for _, c := range []struct {
			id       string
			state    string
			attempts int
		}{
			{s1[0], store.DeliveryDelivered, 1}, {s1[1], store.DeliveryPending, 1}, {s1[2], store.DeliveryPending, 0},
			{s1[3], store.DeliveryPending, 0}, {s2[0], store.DeliveryDelivered, 1}, {s2[1], store.DeliveryDelivered, 1},
		} {
			d := byEvent[c.id]
			if d.State != c.state || d.Attempts != c.attempts || len(attempts[d.ID]) != c.attempts {
				t.Errorf("event %s: %s after %d attempts (%d recorded), want %s after %d", c.id, d.State, d.Attempts, len(attempts[d.ID]), c.state, c.attempts)
			}
		}
		// The rest waits for the failed one's retry.
		if n, err := h.worker.RunOnce(ctx); err != nil || n != 0 {
			t.Fatalf("before the retry: attempted %d, %v; want 0", n, err)
		}
		h.drain(t, func() bool { return len(rcv.events()) >= 6 })
		var got []string
		for _, e := range rcv.events() {
			if e.Subject == "s1" {
				got = append(got, e.ID)
			}
		}
		if strings.Join(got, ",") != strings.Join(s1, ",") {
			t.Errorf("s1 got %v, want %v in order", got, s1)
		}
		if c := rcv.calls.Load(); c != 7 {
			t.Errorf("%d requests, want 7 (6 events, one retried)", c)
		}
	})
}

// recordingSender is an events.Sender that keeps what it is handed.
type recordingSender struct {
	mu     sync.Mutex
	handed []store.ClaimedDelivery
	claims int
}

func (s *recordingSender) Lease() (time.Duration, bool) { return time.Minute, true }

func (s *recordingSender) Send(ds []store.ClaimedDelivery, claim bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.handed = append(s.handed, ds...)
	if claim {
		s.claims++
	}
}

// The dispatcher hands over, written claimed, the deliveries whose
// subject has nothing pending or in flight at their endpoint, with the
// event's body and the endpoint; a later event of a subject still in
// flight is written pending (for the claim, after the one before it), and
// a claim cannot take the handed-over ones.
func TestDispatcherHandsOverDeliveries(t *testing.T) {
	dbtest.ForEach(t, func(t *testing.T, dsn string) {
		h := newHarness(t, dsn, true)
		ctx := context.Background()
		ep, err := h.svc.Create(ctx, h.org, webhooks.EndpointInput{URL: "https://hooks.example.com/x"})
		if err != nil {
			t.Fatal(err)
		}
		snd := &recordingSender{}
		h.disp.Sender = snd
		first := append(h.emit(t, "s1", 2), h.emit(t, "s2", 1)...)
		if _, err := h.disp.DispatchOnce(ctx); err != nil {
			t.Fatal(err)
		}
		if len(snd.handed) != 3 || snd.claims != 0 {
			t.Fatalf("handed %d (claim asked %d times), want 3 and none", len(snd.handed), snd.claims)
		}
		for i, d := range snd.handed {
			if d.EventID != first[i] || d.Endpoint.ID != ep.ID || d.Endpoint.Secret != ep.Secret || !strings.Contains(d.Body, first[i]) ||
				d.State != store.DeliveryProcessing {
				t.Errorf("handed %d: %+v, want event %s of endpoint %s with body", i, d, first[i], ep.ID)
			}
		}
		later := h.emit(t, "s1", 1)
		h.emit(t, "s3", 1)
		if _, err := h.disp.DispatchOnce(ctx); err != nil {
			t.Fatal(err)
		}
		if len(snd.handed) != 4 || snd.handed[3].Subject != "s3" || snd.claims != 1 {
			t.Fatalf("handed %d (last %+v), claim asked %d times; want s3 handed over and one claim", len(snd.handed), snd.handed[len(snd.handed)-1], snd.claims)
		}
		dels, _, err := h.svc.Deliveries(ctx, h.org, ep.ID, 100)
		if err != nil {
			t.Fatal(err)
		}
		for _, d := range dels {
			want := store.DeliveryProcessing
			if d.EventID == later[0] {
				want = store.DeliveryPending
			}
			if d.State != want {
				t.Errorf("delivery of %s (%s): %s, want %s", d.EventID, d.Subject, d.State, want)
			}
		}
		if claimed, err := h.st.ClaimWebhookDeliveries(ctx, time.Now(), 100, time.Minute); err != nil || len(claimed) != 0 {
			t.Errorf("claimed %d (%v), want none while s1's are in flight", len(claimed), err)
		}
	})
}

// With the worker running, handed-over deliveries are sent without a claim
// (the worker polls once an hour here), in order per subject.
func TestRunSendsHandedOverDeliveries(t *testing.T) {
	dbtest.ForEach(t, func(t *testing.T, dsn string) {
		h := newHarness(t, dsn, true)
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		h.worker = webhooks.NewWorker(h.st, outbound.New(outbound.Options{AllowPrivate: true}),
			webhooks.WorkerConfig{Timeout: 2 * time.Second, Poll: time.Hour}, nil)
		rcv := newReceiver(t)
		h.endpointTo(t, rcv)
		h.disp.Sender = h.worker
		var wg sync.WaitGroup
		wg.Go(func() { h.worker.Run(ctx) })
		time.Sleep(50 * time.Millisecond) // past the first claim of Run
		want := map[string][]string{}
		for range 3 {
			for _, subj := range []string{"s1", "s2"} {
				want[subj] = append(want[subj], h.emit(t, subj, 1)...)
				if _, err := h.disp.DispatchOnce(ctx); err != nil {
					t.Fatal(err)
				}
			}
		}
		deadline := time.Now().Add(10 * time.Second)
		for len(rcv.events()) < 6 && time.Now().Before(deadline) {
			time.Sleep(10 * time.Millisecond)
		}
		cancel()
		wg.Wait()
		got := map[string][]string{}
		for _, e := range rcv.events() {
			got[e.Subject] = append(got[e.Subject], e.ID)
		}
		for subj, ids := range want {
			if strings.Join(got[subj], ",") != strings.Join(ids, ",") {
				t.Errorf("subject %s: got %v, want %v in order", subj, got[subj], ids)
			}
		}
	})
}

// Every attempt is listed with its status, latency and the first bytes of
// the answer: failed ones from rows of their own, the delivering one from
// its delivery's row (no attempt row is written for it), after a failure
// (recorded with the endpoint's health) and at the first attempt (the
// common recording).
func TestAttemptsListed(t *testing.T) {
	dbtest.ForEach(t, func(t *testing.T, dsn string) {
		h := newHarness(t, dsn, true)
		ctx := context.Background()
		var calls atomic.Int32
		answer := func(flaky bool) string {
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if flaky && calls.Add(1) == 1 {
					http.Error(w, "try later", http.StatusInternalServerError)
					return
				}
				time.Sleep(20 * time.Millisecond)
				w.WriteHeader(http.StatusAccepted)
				_, _ = io.WriteString(w, "accepted "+strings.Repeat("x", 600))
			}))
			t.Cleanup(srv.Close)
			ep, err := h.svc.Create(ctx, h.org, webhooks.EndpointInput{URL: srv.URL})
			if err != nil {
				t.Fatal(err)
			}
			return ep.ID
		}
		flaky, steady := answer(true), answer(false)
		h.emit(t, "u1", 1)
		done := func(id string) bool {
			dels, _, err := h.svc.Deliveries(ctx, h.org, id, 10)
			return err == nil && len(dels) == 1 && dels[0].State == store.DeliveryDelivered
		}
		h.drain(t, func() bool { return done(flaky) && done(steady) })
		for _, c := range []struct {
			id       string
			statuses []int
		}{{flaky, []int{500, 202}}, {steady, []int{202}}} {
			dels, atts, err := h.svc.Deliveries(ctx, h.org, c.id, 10)
			if err != nil || len(dels) != 1 {
				t.Fatalf("deliveries %+v %v", dels, err)
			}
			d, as := dels[0], atts[dels[0].ID]
			if len(as) != len(c.statuses) || d.Attempts != len(c.statuses) {
				t.Fatalf("delivery %+v: attempts %+v, want statuses %v", d, as, c.statuses)
			}
			for i, a := range as {
				if a.Status != c.statuses[i] {
					t.Errorf("attempt %d status %d, want %d", i, a.Status, c.statuses[i])
				}
			}
			if i := len(as) - 1; i > 0 && (as[0].Response != "try later\n" || as[0].Error == "" || as[0].AttemptedAt.After(as[i].AttemptedAt)) {
				t.Errorf("failed attempt %+v before %+v", as[0], as[i])
			}
			last := as[len(as)-1]
			if !strings.HasPrefix(last.Response, "accepted xxx") || len(last.Response) != 512 || last.Error != "" ||
				last.Latency < 20*time.Millisecond || d.DeliveredAt == nil || !last.AttemptedAt.Equal(*d.DeliveredAt) {
				t.Errorf("delivering attempt %+v (%d bytes) of %+v", last, len(last.Response), d)
			}
		}
		var rows int
		if err := h.st.DB().QueryRowContext(ctx, `SELECT COUNT(*) FROM webhook_attempts`).Scan(&rows); err != nil || rows != 1 {
			t.Errorf("%d attempt rows (%v), want 1: the failed attempt's", rows, err)
		}
	})
}
