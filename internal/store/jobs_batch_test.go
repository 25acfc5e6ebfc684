package store_test

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/onboard-dev/onboard/internal/store"
	"github.com/onboard-dev/onboard/internal/testutil/dbtest"
)

// TestEnqueueJobs writes jobs in one call: each is stored whole and due at
// its own time, and a batch with a failing job writes none.
func TestEnqueueJobs(t *testing.T) {
	dbtest.ForEach(t, func(t *testing.T, dsn string) {
		st := open(t, dsn)
		ctx := context.Background()
		now := store.Now()
		jobs := []store.Job{
			{ID: store.NewID(), OrgID: "org-1", Kind: "second", EmailLower: "b@example.com", Payload: `{"n":2}`},
			{ID: store.NewID(), OrgID: "org-2", Kind: "first", EmailLower: "a@example.com", Payload: `{"n":1}`},
		}
		at := []time.Time{now.Add(2 * time.Millisecond), now.Add(time.Millisecond)}
		if err := st.EnqueueJobs(ctx, jobs, at); err != nil {
			t.Fatal(err)
		}
		var got []store.Job
		err := st.InTx(ctx, func(tx *store.Tx) error {
			var err error
			got, err = tx.NextJobs(ctx, now.Add(time.Second), 10)
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != 2 {
			t.Fatalf("NextJobs = %d jobs, want 2", len(got))
		}
		for i, want := range []store.Job{jobs[1], jobs[0]} {
			g := got[i]
			if g.ID != want.ID || g.OrgID != want.OrgID || g.Kind != want.Kind || g.EmailLower != want.EmailLower || g.Payload != want.Payload {
				t.Fatalf("job %d = %+v, want %+v (due first first)", i, g, want)
			}
		}
		if !got[0].CreatedAt.Equal(store.Timestamp(at[1])) {
			t.Fatalf("created_at %v, want %v", got[0].CreatedAt, store.Timestamp(at[1]))
		}

		dup := []store.Job{{ID: store.NewID(), Kind: "x", Payload: `{}`}, jobs[0]}
		if err := st.EnqueueJobs(ctx, dup, []time.Time{now, now}); err == nil {
			t.Fatal("a batch repeating a stored job's id succeeded")
		}
		n, err := st.CountJobs(ctx, store.JobQueued)
		if err != nil || n != 2 {
			t.Fatalf("CountJobs = %d, %v; want 2 (the failed batch wrote none)", n, err)
		}
		if err := st.EnqueueJobs(ctx, jobs, at[:1]); err == nil {
			t.Fatal("EnqueueJobs with fewer times than jobs succeeded")
		}

		// More jobs than one SQLite statement carries.
		many := make([]store.Job, 150)
		manyAt := make([]time.Time, len(many))
		for i := range many {
			many[i] = store.Job{ID: store.NewID(), Kind: "many", Payload: `{}`}
			manyAt[i] = now
		}
		if err := st.EnqueueJobs(ctx, many, manyAt); err != nil {
			t.Fatal(err)
		}
		if n, err := st.CountJobs(ctx, store.JobQueued); err != nil || n != 2+len(many) {
			t.Fatalf("CountJobs = %d, %v; want %d", n, err, 2+len(many))
		}
	})
}

// TestClaimJobs claims due jobs by deleting them in a transaction: the first
// due first, not those due later; a rolled back claim leaves them queued;
// on PostgreSQL a claim in another transaction meanwhile skips them.
func TestClaimJobs(t *testing.T) {
	dbtest.ForEach(t, func(t *testing.T, dsn string) {
		st := open(t, dsn)
		ctx := context.Background()
		now := store.Now()
		var jobs []store.Job
		var at []time.Time
		for _, d := range []time.Duration{3, 1, 2, 60_000} {
			jobs = append(jobs, store.Job{ID: store.NewID(), OrgID: "org", Kind: "k", EmailLower: "a@example.com", Payload: `{}`})
			at = append(at, now.Add(d*time.Millisecond))
		}
		if err := st.EnqueueJobs(ctx, jobs, at); err != nil {
			t.Fatal(err)
		}
		ids := func(js []store.Job) []string {
			var out []string
			for _, j := range js {
				out = append(out, j.ID)
			}
			return out
		}
		due := now.Add(time.Second)
		errRollback := errors.New("rollback")
		err := st.InTx(ctx, func(tx *store.Tx) error {
			got, err := tx.ClaimJobs(ctx, due, 10)
			if err != nil {
				return err
			}
			if want := []string{jobs[1].ID, jobs[2].ID, jobs[0].ID}; !slices.Equal(ids(got), want) {
				t.Errorf("ClaimJobs = %v, want %v (the due ones, first due first)", ids(got), want)
			}
			if n, err := tx.CountJobs(ctx, store.JobQueued); err != nil || n != 1 {
				t.Errorf("CountJobs in the claim = %d, %v; want 1", n, err)
			}
			if st.Engine() == store.Postgres {
				// Another worker meanwhile finds nothing to claim.
				err := st.InTx(ctx, func(other *store.Tx) error {
					got, err := other.ClaimJobs(ctx, due, 10)
					if err == nil && len(got) != 0 {
						t.Errorf("another claim took %v meanwhile", ids(got))
					}
					return err
				})
				if err != nil {
					return err
				}
			}
			return errRollback
		})
		if !errors.Is(err, errRollback) {
			t.Fatal(err)
		}
		if n, err := st.CountJobs(ctx, store.JobQueued); err != nil || n != 4 {
			t.Fatalf("CountJobs after a rolled back claim = %d, %v; want 4", n, err)
		}
		err = st.InTx(ctx, func(tx *store.Tx) error {
			got, err := tx.ClaimJobs(ctx, due, 2)
			if err == nil && !slices.Equal(ids(got), []string{jobs[1].ID, jobs[2].ID}) {
				t.Errorf("ClaimJobs limit 2 = %v, want the first two due", ids(got))
			}
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
		if n, err := st.CountJobs(ctx, store.JobQueued); err != nil || n != 2 {
			t.Fatalf("CountJobs after a claim of 2 = %d, %v; want 2", n, err)
		}
	})
}
