package store_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/onboard-dev/onboard/internal/domain"
	"github.com/onboard-dev/onboard/internal/store"
	"github.com/onboard-dev/onboard/internal/testutil/dbtest"
)

// Mails sealed before their transaction are stored as EnqueueMails stores
// them: sealed at rest, and opened by the worker's claim.
func TestEnqueueSealedMails(t *testing.T) {
	dbtest.ForEach(t, func(t *testing.T, dsn string) {
		st := open(t, dsn)
		ctx := context.Background()
		now := store.Now()
		ms := []domain.OutboxMail{
			{ID: store.NewID(), MessageID: "<a@example.com>", Template: "signup", To: "A@example.com", Subject: "a", Text: "text a", HTML: "<p>a</p>"},
			{ID: store.NewID(), MessageID: "<b@example.com>", Template: "signup", To: "b@example.com", Subject: "b", Text: "text b", HTML: "<p>b</p>"},
		}
		sealed, err := st.SealMails(ms)
		if err != nil {
			t.Fatal(err)
		}
		if err := st.InTx(ctx, func(tx *store.Tx) error { return tx.EnqueueSealedMails(ctx, sealed, now, time.Time{}) }); err != nil {
			t.Fatal(err)
		}
		var text string
		if err := st.DB().QueryRowContext(ctx, `SELECT text_body FROM outbox WHERE id = $1`, ms[0].ID).Scan(&text); err != nil {
			t.Fatal(err)
		}
		if strings.Contains(text, "text a") {
			t.Errorf("body stored in the clear: %q", text)
		}
		got, err := st.ClaimMail(ctx, now, 10, time.Minute)
		if err != nil || len(got) != 2 {
			t.Fatalf("ClaimMail = %d mails, %v; want 2", len(got), err)
		}
		for _, g := range got {
			want := ms[0]
			if g.ID == ms[1].ID {
				want = ms[1]
			}
			if g.Text != want.Text || g.HTML != want.HTML || g.To != want.To || g.Subject != want.Subject {
				t.Errorf("claimed %+v, want %+v", g.OutboxMail, want)
			}
		}
	})
}

// DeleteQueuedJobs removes the queued jobs among ids and tells how many:
// not the failed ones, nor those already gone.
func TestDeleteQueuedJobs(t *testing.T) {
	dbtest.ForEach(t, func(t *testing.T, dsn string) {
		st := open(t, dsn)
		ctx := context.Background()
		now := store.Now()
		var ids []string
		for range 3 {
			j := store.Job{ID: store.NewID(), Kind: "k", Payload: `{}`}
			if err := st.EnqueueJob(ctx, j, now); err != nil {
				t.Fatal(err)
			}
			ids = append(ids, j.ID)
		}
		if err := st.InTx(ctx, func(tx *store.Tx) error { return tx.FailJob(ctx, ids[1], now, "failed", true) }); err != nil {
			t.Fatal(err)
		}
		var n int
		err := st.InTx(ctx, func(tx *store.Tx) error {
			var err error
			n, err = tx.DeleteQueuedJobs(ctx, append(ids, store.NewID()))
			return err
		})
		if err != nil || n != 2 {
			t.Fatalf("DeleteQueuedJobs = %d, %v; want 2", n, err)
		}
		if q, _ := st.CountJobs(ctx, store.JobQueued); q != 0 {
			t.Errorf("%d queued jobs left", q)
		}
		if f, _ := st.CountJobs(ctx, store.JobFailed); f != 1 {
			t.Errorf("%d failed jobs left, want 1", f)
		}
	})
}
