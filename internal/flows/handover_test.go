package flows

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	obmail "github.com/onboard-dev/onboard/internal/mail"
	"github.com/onboard-dev/onboard/internal/store"
	"github.com/onboard-dev/onboard/internal/testutil/dbtest"
)

// fakeHandOver is a MailHandOver recording what it is handed.
type fakeHandOver struct {
	mu     sync.Mutex
	lease  time.Duration
	ok     bool
	items  []obmail.Queued
	untils []time.Time
}

func (f *fakeHandOver) HandOverLease() (time.Duration, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.lease, f.ok
}

func (f *fakeHandOver) HandOver(items []obmail.Queued, until time.Time) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.items = append(f.items, items...)
	f.untils = append(f.untils, until)
}

// The mails of signup jobs are written leased to this node's mail worker
// and handed to it once committed, without a wake-up to claim them; should
// the node die before sending them, any worker claims them once the lease
// ran out. When the worker declines, they are queued and the worker woken.
func TestSignupJobMailsHandedOver(t *testing.T) {
	dbtest.ForEach(t, func(t *testing.T, dsn string) {
		ctx := context.Background()
		st, org, templates := openOrgStore(t, dsn)
		now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
		hand := &fakeHandOver{lease: 2 * time.Minute, ok: true}
		var notified int
		s := New(Deps{Store: st, Mail: templates, Now: func() time.Time { return now }, HandOver: hand, Notify: func() { notified++ }},
			Config{PublicURL: "http://127.0.0.1:8080", MailFrom: "Example <no-reply@example.com>", SignupTTL: time.Hour})
		start := func(email string) {
			t.Helper()
			if err := s.EnqueueJob(ctx, org.ID, jobSignup, email, signupJob{Email: email, AccountType: "customer_personal"}); err != nil {
				t.Fatal(err)
			}
		}
		const n = 3
		for i := range n {
			start(fmt.Sprintf("hand-%d@example.com", i))
		}
		if done, err := s.RunDueJobs(ctx, 100); err != nil || done != n {
			t.Fatalf("RunDueJobs = %d, %v; want %d", done, err, n)
		}
		until := now.Add(hand.lease)
		if len(hand.items) != n || len(hand.untils) != 1 || !hand.untils[0].Equal(until) {
			t.Fatalf("handed %d mails in %d hand-overs until %v, want %d in 1 until %v", len(hand.items), len(hand.untils), hand.untils, n, until)
		}
		if notified != 0 {
			t.Errorf("mail worker woken %d times for handed-over mails, want 0", notified)
		}
		for _, it := range hand.items {
			if !strings.Contains(it.Text, "/register?token=") || !strings.HasPrefix(it.To, "hand-") || !it.CreatedAt.Equal(now) || it.Attempts != 0 {
				t.Errorf("handed %+v, want a registration mail created now", it)
			}
			var state string
			var locked time.Time
			if err := st.DB().QueryRowContext(ctx, `SELECT state, locked_until FROM outbox WHERE id = $1`, it.ID).Scan(&state, &locked); err != nil {
				t.Fatal(err)
			}
			if state != store.OutboxProcessing || !locked.Equal(until) {
				t.Errorf("outbox row of %s: %s until %v, want processing until %v", it.To, state, locked, until)
			}
		}
		// Leased: no claim takes them before the lease runs out, any claim
		// after it (the node died before sending them).
		if got, err := st.ClaimMail(ctx, now, 100, time.Minute); err != nil || len(got) != 0 {
			t.Fatalf("claim during the lease: %d mails, %v; want none", len(got), err)
		}
		got, err := st.ClaimMail(ctx, until, 100, time.Minute)
		if err != nil || len(got) != n {
			t.Fatalf("claim once the lease ran out: %d mails, %v; want %d", len(got), err, n)
		}
		handed := map[string]obmail.Queued{}
		for _, it := range hand.items {
			handed[it.ID] = it
		}
		for _, m := range got {
			if h := handed[m.ID]; h.Text != m.Text || h.HTML != m.HTML || h.MessageID != m.MessageID || h.Subject != m.Subject {
				t.Errorf("claimed %s differs from what was handed over", m.ID)
			}
		}

		// Declined: queued, and the worker woken to claim it.
		hand.ok = false
		start("queued@example.com")
		if done, err := s.RunDueJobs(ctx, 100); err != nil || done != 1 {
			t.Fatalf("RunDueJobs = %d, %v; want 1", done, err)
		}
		if len(hand.items) != n || notified != 1 {
			t.Errorf("declined hand-over: %d mails handed, %d wake-ups; want %d and 1", len(hand.items), notified, n)
		}
		var state string
		if err := st.DB().QueryRowContext(ctx, `SELECT state FROM outbox WHERE to_lower = 'queued@example.com'`).Scan(&state); err != nil {
			t.Fatal(err)
		}
		if state != store.OutboxQueued {
			t.Errorf("declined hand-over wrote the mail %s, want queued", state)
		}
	})
}
