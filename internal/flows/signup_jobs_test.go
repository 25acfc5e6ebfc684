package flows

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/onboard-dev/onboard/internal/auth"
	"github.com/onboard-dev/onboard/internal/domain"
	"github.com/onboard-dev/onboard/internal/store"
	"github.com/onboard-dev/onboard/internal/testutil/dbtest"
)

// Signup jobs run together in a batch do what they do one at a time: a
// later start for an address supersedes the earlier links (of earlier
// batches and of its own), a registered address gets the notice and no
// link, a job of an organization that is gone does nothing, and a job of
// another kind between them runs in order.
func TestSignupJobsInOneBatch(t *testing.T) {
	dbtest.ForEach(t, func(t *testing.T, dsn string) {
		ctx := context.Background()
		st, org, templates := openOrgStore(t, dsn)
		now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
		s := signupJobService(st, templates, func() time.Time { return now })

		registerUser(t, st, org, "Known@Example.com", now) // a registered address
		// An earlier link of an address started again below.
		_, oldHash, _ := auth.NewToken()
		if err := st.CreateSignup(ctx, domain.Signup{ID: store.NewID(), OrgID: org.ID, Email: "again@example.com", AccountType: "customer_personal",
			TokenHash: oldHash, State: domain.SignupPending, CreatedAt: now, ExpiresAt: now.Add(time.Hour)}); err != nil {
			t.Fatal(err)
		}

		// The job of another kind supersedes the links of new@example.com:
		// it sees the signup job queued before it done.
		others := 0
		s.HandleJob("other", func(ctx context.Context, tx *store.Tx, orgID string, _ []byte, _ time.Time) (bool, error) {
			others++
			return false, tx.SupersedePendingSignups(ctx, orgID, "new@example.com")
		})
		enqueue := func(i int, orgID, kind, email string) {
			t.Helper()
			p, _ := json.Marshal(signupJob{Email: email, AccountType: "customer_personal"})
			j := store.Job{ID: store.NewID(), OrgID: orgID, Kind: kind, EmailLower: domain.NormalizeEmail(email), Payload: string(p)}
			if err := st.EnqueueJob(ctx, j, now.Add(time.Duration(i)*time.Microsecond)); err != nil {
				t.Fatal(err)
			}
		}
		enqueue(0, org.ID, jobSignup, "again@example.com")
		enqueue(1, org.ID, jobSignup, "new@example.com")
		enqueue(2, org.ID, "other", "")
		enqueue(3, org.ID, jobSignup, "known@example.com")
		enqueue(4, "no-such-org", jobSignup, "lost@example.com")
		enqueue(5, org.ID, jobSignup, "AGAIN@example.com")
		now = now.Add(time.Second)
		if n, err := s.RunDueJobs(ctx, 100); err != nil || n != 6 {
			t.Fatalf("RunDueJobs = %d, %v; want 6", n, err)
		}
		if others != 1 {
			t.Errorf("the other job ran %d times", others)
		}

		states := grouped(t, st, `SELECT email_lower, state FROM signups ORDER BY created_at, id`)
		if got := states["again@example.com"]; len(got) != 3 || got[0] != domain.SignupSuperseded || got[1] != domain.SignupSuperseded ||
			got[2] != domain.SignupPending {
			t.Errorf("again@example.com's signups: %v; want two superseded, then the newest pending", got)
		}
		if got := states["new@example.com"]; len(got) != 1 || got[0] != domain.SignupSuperseded {
			t.Errorf("new@example.com's signups: %v; want one, superseded by the job after it", got)
		}
		if got := states["known@example.com"]; len(got) != 0 {
			t.Errorf("a registered address got a signup: %v", got)
		}
		if len(states) != 2 {
			t.Errorf("signups of %d addresses, want 2: %v", len(states), states)
		}

		mails := map[string]int{}
		for tmpl, tos := range grouped(t, st, `SELECT template, to_lower FROM outbox`) {
			for _, to := range tos {
				mails[tmpl+" "+to]++
			}
		}
		want := map[string]int{"signup again@example.com": 2, "signup new@example.com": 1, "already_registered known@example.com": 1}
		if len(mails) != len(want) {
			t.Errorf("mails %v, want %v", mails, want)
		}
		for k, n := range want {
			if mails[k] != n {
				t.Errorf("mails %v, want %v", mails, want)
				break
			}
		}
		var started, subjects int
		if err := st.DB().QueryRowContext(ctx, `SELECT count FROM funnel_daily WHERE org_id = $1 AND step = 'signup_started'`, org.ID).Scan(&started); err != nil {
			t.Fatal(err)
		}
		if err := st.DB().QueryRowContext(ctx, `SELECT COUNT(*) FROM funnel_subjects`).Scan(&subjects); err != nil {
			t.Fatal(err)
		}
		if started != 3 || subjects != 3 {
			t.Errorf("funnel: %d started, %d subjects; want 3 links", started, subjects)
		}
		if n, _ := st.CountJobs(ctx, store.JobQueued); n != 0 {
			t.Errorf("%d jobs left", n)
		}
	})
}
