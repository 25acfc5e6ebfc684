package store_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/onboard-dev/onboard/internal/domain"
	"github.com/onboard-dev/onboard/internal/store"
	"github.com/onboard-dev/onboard/internal/testutil/dbtest"
)

func TestJobsQueueRetryAndDelete(t *testing.T) {
	dbtest.ForEach(t, func(t *testing.T, dsn string) {
		st := open(t, dsn)
		ctx := context.Background()
		now := store.Now()
		for i, kind := range []string{"first", "second"} {
			j := store.Job{ID: store.NewID(), Kind: kind, EmailLower: "a@example.com", Payload: `{}`}
			if err := st.EnqueueJob(ctx, j, now.Add(time.Duration(i)*time.Millisecond)); err != nil {
				t.Fatal(err)
			}
		}
		next := func(at time.Time) (store.Job, error) {
			var j store.Job
			err := st.InTx(ctx, func(tx *store.Tx) error {
				var err error
				j, err = tx.NextJob(ctx, at)
				return err
			})
			return j, err
		}
		if _, err := next(now.Add(-time.Second)); !errors.Is(err, domain.ErrNotFound) {
			t.Fatalf("a job before it is due: %v", err)
		}
		j, err := next(now.Add(time.Second))
		if err != nil || j.Kind != "first" {
			t.Fatalf("next = %+v, %v; want the first", j, err)
		}
		// A failed job waits for its retry; after the last attempt it is kept as failed.
		if err := st.FailJob(ctx, j.ID, now.Add(time.Hour), "boom", false); err != nil {
			t.Fatal(err)
		}
		if j2, err := next(now.Add(time.Second)); err != nil || j2.Kind != "second" {
			t.Fatalf("next = %+v, %v; want the second", j2, err)
		}
		if err := st.DeleteJob(ctx, j.ID); err != nil {
			t.Fatal(err)
		}
		j2, _ := next(now.Add(time.Second))
		if err := st.FailJob(ctx, j2.ID, now, "boom", true); err != nil {
			t.Fatal(err)
		}
		if _, err := next(now.Add(time.Hour)); !errors.Is(err, domain.ErrNotFound) {
			t.Fatalf("a failed job was offered again: %v", err)
		}
		if n, err := st.CountJobs(ctx, store.JobFailed); err != nil || n != 1 {
			t.Fatalf("failed jobs = %d, %v", n, err)
		}
		// The janitor deletes failed jobs after the retention time.
		if _, err := st.DeleteExpired(ctx, now.Add(8*24*time.Hour), 7*24*time.Hour); err != nil {
			t.Fatal(err)
		}
		if n, _ := st.CountJobs(ctx, store.JobFailed); n != 0 {
			t.Fatalf("%d failed jobs remain after the retention time", n)
		}
	})
}

// Mail queued before the normalized recipient column existed gets it when
// the store migrates, normalized in Go.
func TestMigrateNormalizesOldOutboxRecipients(t *testing.T) {
	dbtest.ForEach(t, func(t *testing.T, dsn string) {
		st := open(t, dsn)
		ctx := context.Background()
		id := store.NewID()
		m := domain.OutboxMail{ID: id, OrgID: "o", MessageID: "<" + id + "@x>", Template: "t", To: " ÜNAL.Test@Example.com", Subject: "s", Text: "t", HTML: "h"}
		if err := st.EnqueueMail(ctx, m, store.Now()); err != nil {
			t.Fatal(err)
		}
		var got string
		if err := st.DB().QueryRow(`SELECT to_lower FROM outbox WHERE id = $1`, id).Scan(&got); err != nil || got != "ünal.test@example.com" {
			t.Fatalf("to_lower = %q, %v", got, err)
		}
		if _, err := st.DB().Exec(`UPDATE outbox SET to_lower = '' WHERE id = $1`, id); err != nil {
			t.Fatal(err)
		}
		if _, err := st.Migrate(ctx); err != nil {
			t.Fatal(err)
		}
		if err := st.DB().QueryRow(`SELECT to_lower FROM outbox WHERE id = $1`, id).Scan(&got); err != nil || got != "ünal.test@example.com" {
			t.Fatalf("after migrating, to_lower = %q, %v", got, err)
		}
	})
}

// TestFailJobLongError: an error longer than the column keeps is cut at a
// character boundary, which PostgreSQL needs (it refuses invalid UTF-8).
func TestFailJobLongError(t *testing.T) {
	dbtest.ForEach(t, func(t *testing.T, dsn string) {
		st := open(t, dsn)
		ctx := context.Background()
		j := store.Job{ID: store.NewID(), Kind: "k", EmailLower: "a@example.com", Payload: `{}`}
		if err := st.EnqueueJob(ctx, j, store.Now()); err != nil {
			t.Fatal(err)
		}
		long := "x" + strings.Repeat("é", 600) // 1201 bytes: byte 1000 is inside an 'é'
		if err := st.FailJob(ctx, j.ID, store.Now(), long, false); err != nil {
			t.Fatal(err)
		}
		var got string
		if err := st.DB().QueryRowContext(ctx, `SELECT last_error FROM jobs WHERE id = $1`, j.ID).Scan(&got); err != nil {
			t.Fatal(err)
		}
		if !utf8.ValidString(got) || len(got) > 1000 || !strings.HasPrefix(long, got) || len(got) < 998 {
			t.Fatalf("last_error has %d bytes (valid UTF-8: %v)", len(got), utf8.ValidString(got))
		}
	})
}
