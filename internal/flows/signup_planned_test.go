package flows

import (
	"context"
	"encoding/json"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/onboard-dev/onboard/internal/store"
	"github.com/onboard-dev/onboard/internal/testutil/dbtest"
)

// signupOutcomes returns, by address, the number of signups and the
// templates of the mails queued.
func signupOutcomes(t *testing.T, st *store.Store) (signups map[string]int, mails map[string][]string) {
	t.Helper()
	signups = map[string]int{}
	for e, states := range grouped(t, st, `SELECT email_lower, state FROM signups`) {
		signups[e] = len(states)
	}
	return signups, grouped(t, st, `SELECT to_lower, template FROM outbox ORDER BY created_at, id`)
}

// A signup job whose address is registered after the job was read, and
// before the batch is written, gets the "already registered" notice and no
// link: on SQLite the batch is worked out before the transaction and the
// registered addresses checked again in it.
func TestSignupJobAddressRegisteredMeanwhile(t *testing.T) {
	dbtest.ForEach(t, func(t *testing.T, dsn string) {
		ctx := context.Background()
		st, org, templates := openOrgStore(t, dsn)
		now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
		s := signupJobService(st, templates, func() time.Time { return now })
		for _, e := range []string{"late@example.com", "new@example.com"} {
			if err := s.EnqueueJob(ctx, org.ID, jobSignup, e, signupJob{Email: e, AccountType: "customer_personal"}); err != nil {
				t.Fatal(err)
			}
		}
		hooked := 0
		s.testAfterJobsRead = func() {
			if hooked++; hooked == 1 {
				registerUser(t, st, org, "Late@Example.com", now)
			}
		}
		if n, err := s.RunDueJobs(ctx, 100); err != nil || n != 2 {
			t.Fatalf("RunDueJobs = %d, %v; want 2", n, err)
		}
		if hooked == 0 {
			t.Fatal("no batch read the jobs before writing them")
		}
		signups, mails := signupOutcomes(t, st)
		if signups["late@example.com"] != 0 || signups["new@example.com"] != 1 {
			t.Errorf("signups %v, want one of new@example.com only", signups)
		}
		if got := mails["late@example.com"]; len(got) != 1 || got[0] != "already_registered" {
			t.Errorf("mails to late@example.com: %v, want the already-registered notice", got)
		}
		if got := mails["new@example.com"]; len(got) != 1 || got[0] != "signup" {
			t.Errorf("mails to new@example.com: %v, want a registration link", got)
		}
		if n, _ := st.CountJobs(ctx, store.JobQueued); n != 0 {
			t.Errorf("%d jobs left", n)
		}
	})
}

// Signup jobs are run exactly once, with two job workers at once and with
// one worker taking the jobs another has read and not yet written.
func TestSignupJobsRunOnce(t *testing.T) {
	dbtest.ForEach(t, func(t *testing.T, dsn string) {
		ctx := context.Background()
		st, org, templates := openOrgStore(t, dsn)
		s := New(Deps{Store: st, Mail: templates},
			Config{PublicURL: "http://127.0.0.1:8080", MailFrom: "Example <no-reply@example.com>", SignupTTL: time.Hour})
		enqueue := func(prefix string, n int) {
			t.Helper()
			for i := range n {
				e := fmt.Sprintf("%s-%d@example.com", prefix, i)
				if err := s.EnqueueJob(ctx, org.ID, jobSignup, e, signupJob{Email: e, AccountType: "customer_personal"}); err != nil {
					t.Fatal(err)
				}
			}
		}
		check := func(want int) {
			t.Helper()
			signups, mails := signupOutcomes(t, st)
			if len(signups) != want || len(mails) != want {
				t.Fatalf("signups of %d addresses and mails to %d, want %d", len(signups), len(mails), want)
			}
			for e, n := range signups {
				if n != 1 || len(mails[e]) != 1 {
					t.Fatalf("%s: %d signups and %d mails, want 1", e, n, len(mails[e]))
				}
			}
			if n, _ := st.CountJobs(ctx, store.JobQueued); n != 0 {
				t.Fatalf("%d jobs left", n)
			}
		}

		// Another worker runs the batch's jobs between its read and its
		// write.
		enqueue("taken", 5)
		var inner int
		s.testAfterJobsRead = func() {
			s.testAfterJobsRead = nil
			var err error
			if inner, err = s.RunDueJobs(ctx, 100); err != nil {
				t.Error(err)
			}
		}
		n, err := s.RunDueJobs(ctx, 100)
		if err != nil || n+inner != 5 {
			t.Fatalf("RunDueJobs = %d (and %d by the other), %v; want 5 in all", n, inner, err)
		}
		check(5)

		// Two workers at once.
		const jobs = 300
		enqueue("both", jobs)
		var wg sync.WaitGroup
		var mu sync.Mutex
		done := 0
		for range 2 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for {
					n, err := s.RunDueJobs(ctx, 20)
					if err != nil {
						t.Error(err)
						return
					}
					mu.Lock()
					done += n
					mu.Unlock()
					if n == 0 {
						return
					}
				}
			}()
		}
		wg.Wait()
		if done != jobs {
			t.Errorf("the workers ran %d jobs, want %d", done, jobs)
		}
		check(5 + jobs)
	})
}

// A signup job that fails in a batch worked out before its transaction does
// not hold back the others: they are done once, it alone is retried.
func TestSignupJobsPlannedBatchWithAFailingJob(t *testing.T) {
	dbtest.ForEach(t, func(t *testing.T, dsn string) {
		ctx := context.Background()
		st, org, templates := openOrgStore(t, dsn)
		now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
		s := signupJobService(st, templates, func() time.Time { return now })
		for i := range 4 {
			payload := `"not a signup"`
			if i != 1 {
				p, _ := json.Marshal(signupJob{Email: fmt.Sprintf("ok-%d@example.com", i), AccountType: "customer_personal"})
				payload = string(p)
			}
			j := store.Job{ID: store.NewID(), OrgID: org.ID, Kind: jobSignup, Payload: payload}
			if err := st.EnqueueJob(ctx, j, now.Add(time.Duration(i)*time.Microsecond)); err != nil {
				t.Fatal(err)
			}
		}
		now = now.Add(time.Second)
		if n, err := s.RunDueJobs(ctx, 100); err != nil || n != 4 {
			t.Fatalf("RunDueJobs = %d, %v; want 4", n, err)
		}
		signups, mails := signupOutcomes(t, st)
		if len(signups) != 3 || len(mails) != 3 {
			t.Errorf("signups %v, mails %v; want one each for the 3 good jobs", signups, mails)
		}
		var failing int
		if err := st.DB().QueryRowContext(ctx, `SELECT COUNT(*) FROM jobs WHERE state = 'queued' AND attempts = 1`).Scan(&failing); err != nil {
			t.Fatal(err)
		}
		if queued, _ := st.CountJobs(ctx, store.JobQueued); queued != 1 || failing != 1 {
			t.Errorf("%d jobs queued, %d failed once; want the failing one alone", queued, failing)
		}
	})
}
