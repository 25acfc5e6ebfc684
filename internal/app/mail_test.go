package app_test

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/onboard-dev/onboard/internal/store"
	"github.com/onboard-dev/onboard/internal/testutil/dbtest"
	"github.com/onboard-dev/onboard/internal/testutil/smtptest"
)

// TestSMTPOutage: while the SMTP server is down, mail waits in the outbox and
// is retried; once it is back, everything arrives, each message once.
func TestSMTPOutage(t *testing.T) {
	t.Parallel()
	dbtest.ForEach(t, func(t *testing.T, dsn string) {
		e := start(t, dsn)
		e.smtp.Stop()
		emails := []string{"o1@example.com", "o2@example.com", "o3@example.com"}
		for _, em := range emails {
			expect(t, e.do("POST", "/api/v1/signups", map[string]any{"email": em, "account_type": "customer_personal"}), http.StatusAccepted)
		}
		// Wait until every message has failed at least twice.
		deadline := time.Now().Add(15 * time.Second)
		for {
			var failing int
			err := e.app.Store().DB().QueryRow(`SELECT COUNT(*) FROM outbox WHERE attempts >= 2 AND last_error <> '' AND state = $1`, store.OutboxQueued).Scan(&failing)
			if err != nil {
				t.Fatal(err)
			}
			if failing == len(emails) {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("only %d of %d messages were retried while SMTP was down", failing, len(emails))
			}
			time.Sleep(50 * time.Millisecond)
		}
		if n := len(e.smtp.Messages()); n != 0 {
			t.Fatalf("%d messages arrived while the server was down", n)
		}
		e.smtp.Restart(t)
		for _, em := range emails {
			m := e.smtp.WaitFor(t, 15*time.Second, smtptest.SentTo(em))
			if !strings.Contains(m.Text, "/register?token=") {
				t.Fatalf("mail to %s has no link", em)
			}
		}
		deadline = time.Now().Add(5 * time.Second)
		for {
			counts, err := e.app.Store().OutboxCounts(t.Context())
			if err != nil {
				t.Fatal(err)
			}
			if counts[store.OutboxSent] == len(emails) {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("outbox = %v, want %d sent", counts, len(emails))
			}
			time.Sleep(20 * time.Millisecond)
		}
		seen := map[string]int{}
		for _, m := range e.smtp.Messages() {
			seen[m.MessageID]++
		}
		for id, n := range seen {
			if n != 1 {
				t.Fatalf("message %s delivered %d times", id, n)
			}
		}
	})
}

// TestMailSurvivesRestart: mail queued while SMTP is down is still delivered
// by the next process on the same database.
func TestMailSurvivesRestart(t *testing.T) {
	t.Parallel()
	dbtest.ForEach(t, func(t *testing.T, dsn string) {
		e := start(t, dsn)
		e.smtp.Stop()
		expect(t, e.do("POST", "/api/v1/signups", map[string]any{"email": "later@example.com", "account_type": "customer_business"}), http.StatusAccepted)
		e.stop()
		e.smtp.Restart(t)
		e.boot()
		e.smtp.WaitFor(t, 15*time.Second, smtptest.SentTo("later@example.com"))
	})
}
