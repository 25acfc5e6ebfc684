package flows

import (
	"context"
	"testing"

	"github.com/onboard-dev/onboard/internal/store"
	"github.com/onboard-dev/onboard/internal/testutil/dbtest"
)

// TestWriteJobsOwnErrors writes a batch of jobs one of which cannot be
// written (its id is taken): the shared statement fails, and each call then
// gets its own answer, the others' jobs written.
func TestWriteJobsOwnErrors(t *testing.T) {
	dsn := dbtest.Postgres(t)
	ctx := context.Background()
	st := openStore(t, dsn)
	now := store.Now()
	taken := store.Job{ID: store.NewID(), Kind: "k", Payload: `{}`}
	if err := st.EnqueueJob(ctx, taken, now); err != nil {
		t.Fatal(err)
	}
	calls := []*jobCall{
		{ctx: ctx, st: st, job: store.Job{ID: store.NewID(), Kind: "k", Payload: `{}`}, at: now},
		{ctx: ctx, st: st, job: taken, at: now},
		{ctx: ctx, st: st, job: store.Job{ID: store.NewID(), Kind: "k", Payload: `{}`}, at: now},
	}
	writeJobs(ctx, calls)
	for i, want := range []bool{true, false, true} {
		if got := calls[i].err == nil; got != want {
			t.Errorf("call %d: err = %v, want success %v", i, calls[i].err, want)
		}
	}
	if n, err := st.CountJobs(ctx, store.JobQueued); err != nil || n != 3 {
		t.Fatalf("CountJobs = %d, %v; want 3 (the taken one and the two others)", n, err)
	}
}
