package store_test

import (
	"context"
	"testing"
	"time"

	"github.com/onboard-dev/onboard/internal/domain"
	"github.com/onboard-dev/onboard/internal/store"
	"github.com/onboard-dev/onboard/internal/testutil/dbtest"
)

// TestOldestUndeliveredMail: the age the metrics report is that of the
// oldest mail queued or being sent; delivered and abandoned mail does not
// count, and an empty outbox has none.
func TestOldestUndeliveredMail(t *testing.T) {
	dbtest.ForEach(t, func(t *testing.T, dsn string) {
		st := open(t, dsn)
		ctx := context.Background()
		if _, ok, err := st.OldestUndeliveredMail(ctx); err != nil || ok {
			t.Fatalf("empty outbox: ok=%v err=%v", ok, err)
		}
		now := store.Now()
		var ids []string
		for i := range 3 {
			id := store.NewID()
			ids = append(ids, id)
			m := domain.OutboxMail{ID: id, OrgID: "o", MessageID: "<" + id + "@x>", Template: "t", To: "a@example.com", Subject: "s", Text: "t"}
			if err := st.EnqueueMail(ctx, m, now.Add(time.Duration(i)*time.Minute)); err != nil {
				t.Fatal(err)
			}
		}
		for _, tc := range []struct {
			name string
			do   func() error
			want time.Time
			none bool
		}{
			{"all queued", func() error { return nil }, now, false},
			{"oldest sent", func() error { return st.MarkMailSent(ctx, ids[0], now) }, now.Add(time.Minute), false},
			{"next abandoned", func() error { return st.MarkMailFailed(ctx, ids[1], now, "no", true) }, now.Add(2 * time.Minute), false},
			{"last sent", func() error { return st.MarkMailSent(ctx, ids[2], now) }, time.Time{}, true},
		} {
			if err := tc.do(); err != nil {
				t.Fatal(err)
			}
			got, ok, err := st.OldestUndeliveredMail(ctx)
			if err != nil {
				t.Fatalf("%s: %v", tc.name, err)
			}
			if ok == tc.none || (ok && !got.Equal(tc.want)) {
				t.Fatalf("%s: oldest = %v (ok %v), want %v", tc.name, got, ok, tc.want)
			}
		}
	})
}
