package flows

import (
	"context"
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
		st, err := store.Open(ctx, dsn)
		if err != nil {
			t.Fatal(err)
		}
		defer st.Close()
		if _, err := st.Migrate(ctx); err != nil {
			t.Fatal(err)
		}
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
