package app_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/onboard-dev/onboard/internal/activity"
	"github.com/onboard-dev/onboard/internal/config"
	"github.com/onboard-dev/onboard/internal/testutil/dbtest"
	"github.com/onboard-dev/onboard/internal/testutil/natstest"
)

// Tests of end-user activity from NATS, against the real server that
// natstest names (skipped, saying so, when there is none).

// registered provisions a verified end user under lp-pin and registers it.
func (w *b2bWorld) registered(t *testing.T, email string) string {
	t.Helper()
	id := w.provision(t, endUser(email, "lp-pin", "create_verified_user", true))
	okStatus(t, w.noGateway(email, "493817"))
	return id
}

// endUserView is the end user as GET /api/v1/b2b/end-users/{id} shows it.
type endUserView struct {
	State              string     `json:"state"`
	FirstMeasurementAt *time.Time `json:"first_measurement_at"`
	History            []struct {
		State string    `json:"state"`
		At    time.Time `json:"at"`
	} `json:"history"`
}

func (w *b2bWorld) view(t *testing.T, id string) endUserView {
	t.Helper()
	r := w.e.admin(w.clientA, "GET", "/api/v1/b2b/end-users/"+id, nil)
	expect(t, r, http.StatusOK)
	var v endUserView
	decodeAs(t, r, &v)
	return v
}

// waitState polls the API until the end user is in state.
func (w *b2bWorld) waitState(t *testing.T, id, state string) endUserView {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		v := w.view(t, id)
		if v.State == state {
			return v
		}
		if time.Now().After(deadline) {
			t.Fatalf("end user %s is %s after 20s, want %s", id, v.State, state)
		}
		time.Sleep(25 * time.Millisecond)
	}
}

// activations counts the end user's activation entries in the audit log by actor.
func (e *env) activations(id, actor string) int {
	e.t.Helper()
	var n int
	err := e.app.Store().DB().QueryRow(`SELECT COUNT(*) FROM audit_log WHERE subject_id = $1 AND action = 'end_user.activated' AND actor = $2`,
		id, actor).Scan(&n)
	if err != nil {
		e.t.Fatal(err)
	}
	return n
}

// checkActive checks that the end user became active with the measurement time.
func checkActive(t *testing.T, v endUserView, at time.Time) {
	t.Helper()
	if v.State != "active" || v.FirstMeasurementAt == nil || !v.FirstMeasurementAt.Equal(at) {
		t.Fatalf("end user %+v, want active with first measurement at %s", v, at)
	}
	var states []string
	for _, h := range v.History {
		states = append(states, h.State)
	}
	if strings.Join(states, ",") != "provisioned,registered,active" {
		t.Fatalf("history %v", states)
	}
}

func activityJSON(id string, at time.Time) []byte {
	return fmt.Appendf(nil, `{"end_user_id":%q,"measurement_received_at":%q}`, id, at.Format(time.RFC3339))
}

// natsRequest sends a request and decodes the reply.
func natsRequest(t *testing.T, nc *nats.Conn, subject string, data []byte) activity.Reply {
	t.Helper()
	msg, err := nc.Request(subject, data, 15*time.Second)
	if err != nil {
		t.Fatalf("request %s: %v", data, err)
	}
	var r activity.Reply
	if err := json.Unmarshal(msg.Data, &r); err != nil {
		t.Fatalf("reply %s: %v", msg.Data, err)
	}
	return r
}

// waitNATSSubscriber sends probe requests until onboard answers one.
func waitNATSSubscriber(t *testing.T, nc *nats.Conn, subject string) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		if _, err := nc.Request(subject, []byte("probe"), 250*time.Millisecond); err == nil {
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("onboard does not answer on %s after 20s", subject)
}

func TestB2BActivityFromNATS(t *testing.T) {
	t.Parallel()
	ns := natstest.Start(t)
	url := ns.URL()
	dbtest.ForEach(t, func(t *testing.T, dsn string) {
		nc := ns.Connect(t)
		subject := natstest.Subject(t, "onboard.activity")
		e := startAdmin(t, dsn, func(c *config.Config) {
			c.NATSURL, c.NATSActivitySubject, c.NATSQueue = url, subject, natstest.Name(t, "onboard")
		})
		w := newB2BWorld(t, e, "")
		waitNATSSubscriber(t, nc, subject)
		at := time.Now().Add(-time.Hour).UTC().Truncate(time.Second)
		actor := "nats:" + subject

		// A plain publish makes a registered end user active, with the time.
		ada := w.registered(t, "ada@example.com")
		if err := nc.Publish(subject, activityJSON(ada, at)); err != nil {
			t.Fatal(err)
		}
		checkActive(t, w.waitState(t, ada, "active"), at)
		if n := e.activations(ada, actor); n != 1 {
			t.Fatalf("%d activation audit entries by %s, want 1", n, actor)
		}

		// Requests get an answer; the state in the database is as answered.
		bob := w.registered(t, "bob@example.com")
		cyd := w.provision(t, endUser("cyd@example.com", "lp-pin"))
		dee := w.registered(t, "dee@example.com")
		cases := []struct {
			name      string
			payload   []byte
			status    string
			errCode   string
			id, state string // the end user and its state afterwards
		}{
			{"active stays active", activityJSON(ada, at.Add(time.Minute)), "ok", "", ada, "active"},
			{"provisioned is refused", activityJSON(cyd, at), "error", "end-user-not-registered", cyd, "provisioned"},
			{"future time is refused", activityJSON(bob, time.Now().Add(time.Hour)), "error", "validation-error", bob, "registered"},
			{"unknown id", activityJSON("0190a0a0-0000-7000-8000-000000000000", at), "error", "end-user-not-found", bob, "registered"},
			{"malformed", []byte(`{"end_user_id":`), "error", "malformed", bob, "registered"},
			{"no time", fmt.Appendf(nil, `{"end_user_id":%q}`, bob), "error", "malformed", bob, "registered"},
			{"wrong labelpartner", fmt.Appendf(nil, `{"labelpartner":"lp-pw","email":"dee@example.com","measurement_received_at":%q}`, at.Format(time.RFC3339)),
				"error", "end-user-not-found", dee, "registered"},
			{"by labelpartner and email", fmt.Appendf(nil, `{"labelpartner":"lp-pin","email":"DEE@example.com","measurement_received_at":%q}`, at.Format(time.RFC3339)),
				"ok", "", dee, "active"},
		}
		for _, tc := range cases {
			t.Run(tc.name, func(t *testing.T) {
				r := natsRequest(t, nc, subject, tc.payload)
				if r.Status != tc.status || r.Error != tc.errCode {
					t.Fatalf("reply %+v, want status %s error %q", r, tc.status, tc.errCode)
				}
				if r.Status == "ok" && r.State != tc.state {
					t.Fatalf("reply state %q, want %q", r.State, tc.state)
				}
				if v := w.view(t, tc.id); v.State != tc.state {
					t.Fatalf("end user is %s, want %s", v.State, tc.state)
				}
			})
		}
		// Idempotent: the second message changed nothing, not even the time.
		checkActive(t, w.view(t, ada), at)
		if n := e.activations(ada, actor); n != 1 {
			t.Fatalf("%d activation audit entries after a repeat, want 1", n)
		}
		checkActive(t, w.view(t, dee), at)

		// Malformed publishes do not break the subscriber: a later valid one works.
		for _, bad := range []string{"", "not json", `["x"]`, `{"end_user_id":7}`} {
			if err := nc.Publish(subject, []byte(bad)); err != nil {
				t.Fatal(err)
			}
		}
		if err := nc.Publish(subject, activityJSON(bob, at)); err != nil {
			t.Fatal(err)
		}
		checkActive(t, w.waitState(t, bob, "active"), at)
		if v := w.view(t, cyd); v.State != "provisioned" {
			t.Fatalf("provisioned end user is %s", v.State)
		}
	})
}

// TestB2BActivityFromJetStream: onboard creates the stream and its durable
// consumer; messages are applied, malformed and unprocessable ones are
// settled without blocking the others, and a message published while onboard
// is stopped is applied when it starts again.
func TestB2BActivityFromJetStream(t *testing.T) {
	t.Parallel()
	ns := natstest.Start(t)
	url := ns.URL()
	dbtest.ForEach(t, func(t *testing.T, dsn string) {
		nc := ns.Connect(t)
		js := natstest.JetStream(t, nc)
		subject := natstest.Subject(t, "onboard.activity")
		stream, durable := natstest.Name(t, "ONBOARD_ACTIVITY"), natstest.Name(t, "onboard")
		natstest.DeleteStreamAtEnd(t, js, stream)
		e := startAdmin(t, dsn, func(c *config.Config) {
			c.NATSURL, c.NATSActivitySubject, c.NATSQueue, c.NATSStream = url, subject, durable, stream
		})
		w := newB2BWorld(t, e, "")
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		defer cancel()
		var cons jetstream.Consumer
		deadline := time.Now().Add(20 * time.Second)
		for {
			var err error
			if cons, err = js.Consumer(ctx, stream, durable); err == nil {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("no durable consumer %s on stream %s after 20s: %v", durable, stream, err)
			}
			time.Sleep(25 * time.Millisecond)
		}
		publish := func(data []byte) {
			t.Helper()
			if _, err := js.Publish(ctx, subject, data); err != nil {
				t.Fatalf("publish: %v", err)
			}
		}
		settled := func() {
			t.Helper()
			deadline := time.Now().Add(20 * time.Second)
			for {
				ci, err := cons.Info(ctx)
				if err == nil && ci.NumPending == 0 && ci.NumAckPending == 0 {
					return
				}
				if time.Now().After(deadline) {
					t.Fatalf("messages not settled after 20s: %+v, %v", ci, err)
				}
				time.Sleep(25 * time.Millisecond)
			}
		}
		at := time.Now().Add(-2 * time.Hour).UTC().Truncate(time.Second)

		ada := w.registered(t, "ada@example.com")
		cyd := w.provision(t, endUser("cyd@example.com", "lp-pin"))
		publish([]byte("not json"))
		publish(activityJSON(cyd, at))
		publish(activityJSON("0190a0a0-0000-7000-8000-000000000000", at))
		publish(activityJSON(ada, at))
		checkActive(t, w.waitState(t, ada, "active"), at)
		settled()
		if v := w.view(t, cyd); v.State != "provisioned" {
			t.Fatalf("provisioned end user is %s", v.State)
		}
		if n := e.activations(ada, "nats:"+subject); n != 1 {
			t.Fatalf("%d activation audit entries, want 1", n)
		}

		// Durable: published while onboard is down, applied once it is back.
		bob := w.registered(t, "bob@example.com")
		e.stop()
		publish(activityJSON(bob, at))
		si, err := js.Stream(ctx, stream)
		if err != nil {
			t.Fatal(err)
		}
		if info, err := si.Info(ctx); err != nil || info.State.Msgs != 1 {
			t.Fatalf("stream holds %+v (%v), want the one message", info.State, err)
		}
		e.boot()
		checkActive(t, w.waitState(t, bob, "active"), at)
		settled()
	})
}
