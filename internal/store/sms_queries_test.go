package store_test

import (
	"context"
	"testing"
	"time"

	"github.com/onboard-dev/onboard/internal/store"
	"github.com/onboard-dev/onboard/internal/testutil/dbtest"
)

// TestSMSOutbox: a queued SMS is sealed at rest, claimed once while leased,
// retried after a failure, erased when sent, and deleted after retention.
func TestSMSOutbox(t *testing.T) {
	dbtest.ForEach(t, func(t *testing.T, dsn string) {
		ctx := context.Background()
		st := open(t, dsn)
		o, _, _ := fixture(t, st)
		org := o.ID
		now := store.Now()
		m := store.SMS{ID: store.NewID(), OrgID: org, To: "+393471234567", Body: "register: https://x/provision/secret-code"}
		if err := st.InTx(ctx, func(tx *store.Tx) error { return tx.EnqueueSMS(ctx, m, now) }); err != nil {
			t.Fatal(err)
		}
		var raw string
		if err := st.DB().QueryRow(`SELECT body FROM sms_outbox WHERE id = $1`, m.ID).Scan(&raw); err != nil || raw == m.Body || raw == "" {
			t.Fatalf("body at rest %q, %v", raw, err)
		}
		got, err := st.ClaimSMS(ctx, now, 10, time.Minute)
		if err != nil || len(got) != 1 || got[0].Body != m.Body || got[0].To != m.To {
			t.Fatalf("claim = %+v, %v", got, err)
		}
		if again, err := st.ClaimSMS(ctx, now, 10, time.Minute); err != nil || len(again) != 0 {
			t.Fatalf("claimed twice while leased: %+v, %v", again, err)
		}
		if err := st.InTx(ctx, func(tx *store.Tx) error { return tx.MarkSMSFailed(ctx, m.ID, now.Add(time.Second), "503 busy", false) }); err != nil {
			t.Fatal(err)
		}
		if early, _ := st.ClaimSMS(ctx, now, 10, time.Minute); len(early) != 0 {
			t.Fatal("claimed before its next attempt")
		}
		got, err = st.ClaimSMS(ctx, now.Add(2*time.Second), 10, time.Minute)
		if err != nil || len(got) != 1 || got[0].Attempts != 1 {
			t.Fatalf("retry claim = %+v, %v", got, err)
		}
		if err := st.InTx(ctx, func(tx *store.Tx) error { return tx.MarkSMSSent(ctx, m.ID, now.Add(3*time.Second)) }); err != nil {
			t.Fatal(err)
		}
		state, attempts, _, err := st.SMSState(ctx, m.ID)
		if err != nil || state != store.OutboxSent || attempts != 2 {
			t.Fatalf("state %s attempts %d, %v", state, attempts, err)
		}
		if n, err := st.DeleteFinishedSMS(ctx, now.Add(time.Hour), 30*time.Minute); err != nil || n != 1 {
			t.Fatalf("deleted %d, %v", n, err)
		}
	})
}
