package flows

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/onboard-dev/onboard/internal/store"
	"github.com/onboard-dev/onboard/internal/testutil/dbtest"
)

// A job that fails is retried later with backoff, and kept as failed after
// the last attempt; a job about nothing known is done without effect.
func TestJobsRetryAndGiveUp(t *testing.T) {
	dbtest.ForEach(t, func(t *testing.T, dsn string) {
		ctx := context.Background()
		st := openStore(t, dsn)
		now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
		s := New(Deps{Store: st, Now: func() time.Time { return now }}, Config{})
		if err := st.EnqueueJob(ctx, store.Job{ID: store.NewID(), Kind: "no-such-kind", Payload: `{}`}, now); err != nil {
			t.Fatal(err)
		}
		// A kind another package handles (HandleJob) that does nothing:
		// done, nothing queued.
		handled := 0
		s.HandleJob("other", func(_ context.Context, _ *store.Tx, _ string, payload []byte, _ time.Time) (bool, error) {
			if string(payload) != `{"email":"nobody@example.com"}` {
				t.Errorf("payload = %s", payload)
			}
			handled++
			return false, nil
		})
		if err := st.EnqueueJob(ctx, store.Job{ID: store.NewID(), Kind: "other", Payload: `{"email":"nobody@example.com"}`}, now); err != nil {
			t.Fatal(err)
		}
		for attempt := 1; attempt <= jobMaxAttempts; attempt++ {
			if _, err := s.RunDueJobs(ctx, 10); err != nil {
				t.Fatal(err)
			}
			queued, _ := st.CountJobs(ctx, store.JobQueued)
			failed, _ := st.CountJobs(ctx, store.JobFailed)
			if attempt < jobMaxAttempts && (queued != 1 || failed != 0) {
				t.Fatalf("after attempt %d: %d queued, %d failed; want the failing job queued again", attempt, queued, failed)
			}
			if attempt == jobMaxAttempts && (queued != 0 || failed != 1) {
				t.Fatalf("after the last attempt: %d queued, %d failed", queued, failed)
			}
			// Not due again before its backoff.
			if n, err := s.RunDueJobs(ctx, 10); err != nil || n != 0 {
				t.Fatalf("ran %d jobs before their retry (%v)", n, err)
			}
			now = now.Add(jobRetryMax * 2)
		}
		if handled != 1 {
			t.Fatalf("the handled job ran %d times, want once", handled)
		}
		if c, err := st.OutboxCounts(ctx); err != nil || len(c) != 0 {
			t.Fatalf("mail queued: %v %v", c, err)
		}
	})
}

// Jobs run in batches, one transaction each; a job that fails in a batch
// does not hold back the others: they are done once, it alone is retried.
func TestJobsBatchWithAFailingJob(t *testing.T) {
	dbtest.ForEach(t, func(t *testing.T, dsn string) {
		ctx := context.Background()
		st := openStore(t, dsn)
		now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
		s := New(Deps{Store: st, Now: func() time.Time { return now }}, Config{})
		// Each "ok" job writes a marker (a job due in a day) in its
		// transaction: one per job once its batch commits, none for a batch
		// rolled back.
		s.HandleJob("ok", func(ctx context.Context, tx *store.Tx, _ string, payload []byte, now time.Time) (bool, error) {
			return false, tx.EnqueueJob(ctx, store.Job{ID: store.NewID(), Kind: "marker", Payload: string(payload)}, now.Add(24*time.Hour))
		})
		kinds := []string{"ok", "ok", "no-such-kind", "ok"}
		for range 2 * jobBatchPostgres {
			kinds = append(kinds, "ok")
		}
		for i, kind := range kinds {
			j := store.Job{ID: store.NewID(), Kind: kind, Payload: fmt.Sprintf(`"job %d"`, i)}
			if err := st.EnqueueJob(ctx, j, now.Add(time.Duration(i)*time.Microsecond)); err != nil {
				t.Fatal(err)
			}
		}
		now = now.Add(time.Second)
		n, err := s.RunDueJobs(ctx, 1000)
		if err != nil || n != len(kinds) {
			t.Fatalf("RunDueJobs = %d, %v; want %d", n, err, len(kinds))
		}
		var failing, markers int
		if err := st.DB().QueryRowContext(ctx, `SELECT COUNT(*) FROM jobs WHERE kind = 'no-such-kind' AND attempts = 1`).Scan(&failing); err != nil {
			t.Fatal(err)
		}
		if err := st.DB().QueryRowContext(ctx, `SELECT COUNT(*) FROM jobs WHERE kind = 'marker'`).Scan(&markers); err != nil {
			t.Fatal(err)
		}
		if queued, _ := st.CountJobs(ctx, store.JobQueued); failing != 1 || queued != len(kinds) {
			t.Fatalf("%d jobs queued, %d failing once; want the failing one and a marker per other job", queued, failing)
		}
		if markers != len(kinds)-1 {
			t.Fatalf("%d jobs did their work, want %d, each once", markers, len(kinds)-1)
		}
	})
}
