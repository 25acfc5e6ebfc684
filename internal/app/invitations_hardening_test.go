package app_test

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/onboard-dev/onboard/internal/config"
	"github.com/onboard-dev/onboard/internal/store"
	"github.com/onboard-dev/onboard/internal/testutil/dbtest"
)

// TestInvitationsLimitedPerAccount: an account sends only so many
// invitations a day, fewer while it is young; past the limit the answer is
// 429 problem+json and nothing is written.
func TestInvitationsLimitedPerAccount(t *testing.T) {
	t.Parallel()
	dbtest.ForEach(t, func(t *testing.T, dsn string) {
		e := start(t, dsn, func(c *config.Config) {
			c.RateInviteNewAccount.Limit, c.RateInviteNewAccount.Window = 3, 24*time.Hour
			c.RateInviteAccount.Limit, c.RateInviteAccount.Window = 5, 24*time.Hour
		})
		logOnFailure(t, e)
		ada := e.registerMember("ada@example.com")
		invite := func(i int) response {
			return e.as(ada.token, "POST", "/api/v1/customers/"+ada.account+"/invitations",
				map[string]any{"email": fmt.Sprintf("guest%d@example.com", i), "user_type": "customer_user"})
		}
		refused := func(r response) {
			t.Helper()
			expect(t, r, http.StatusTooManyRequests)
			checkProblem(t, r, http.StatusTooManyRequests, "")
			if ra := r.header.Get("Retry-After"); ra == "" || ra == "0" {
				t.Fatalf("Retry-After = %q", ra)
			}
		}
		i := 0
		for ; i < 3; i++ {
			expect(t, invite(i), http.StatusCreated)
		}
		invitations, mails, audit := e.count("invitations"), e.count("outbox"), e.count("audit_log")
		refused(invite(i))
		if e.count("invitations") != invitations || e.count("outbox") != mails || e.count("audit_log") != audit {
			t.Fatal("a refused invitation wrote something")
		}
		// Another account has its own count.
		bob := e.registerMember("bob@example.com")
		expect(t, e.as(bob.token, "POST", "/api/v1/customers/"+bob.account+"/invitations",
			map[string]any{"email": "friend@example.com", "user_type": "customer_user"}), http.StatusCreated)

		// A week later the account is no longer young: the higher limit applies.
		e.exec(`UPDATE accounts SET created_at = $1 WHERE id = $2`, store.Now().Add(-8*24*time.Hour), ada.account)
		for i = 10; i < 15; i++ {
			expect(t, invite(i), http.StatusCreated)
		}
		refused(invite(i))
		if n := e.countWhere("invitations", "account_id = $1", ada.account); n != 8 {
			t.Fatalf("%d invitations of the account, want 8", n)
		}
	})
}

// TestInvitationsDefaultLimit: with the default settings a new account's
// 21st invitation of the day is refused.
func TestInvitationsDefaultLimit(t *testing.T) {
	t.Parallel()
	dbtest.ForEach(t, func(t *testing.T, dsn string) {
		e := start(t, dsn)
		ada := e.registerMember("ada@example.com")
		for i := 0; i <= 20; i++ {
			r := e.as(ada.token, "POST", "/api/v1/customers/"+ada.account+"/invitations",
				map[string]any{"email": fmt.Sprintf("guest%d@example.com", i), "user_type": "customer_user"})
			want := http.StatusCreated
			if i == 20 {
				want = http.StatusTooManyRequests
			}
			if r.status != want {
				t.Fatalf("invitation %d: status %d, want %d", i+1, r.status, want)
			}
		}
	})
}

// TestInvitationMailShowsRegistrantTextAsData: a self-registered company
// named like a phishing message gets neither its name nor its URL into the
// Subject of its invitations, and the body quotes it with the URL broken.
func TestInvitationMailShowsRegistrantTextAsData(t *testing.T) {
	t.Parallel()
	const name = "Your mailbox is full - restore access at http://evil.example/login"
	dbtest.ForEach(t, func(t *testing.T, dsn string) {
		e := start(t, dsn, func(c *config.Config) { c.OrgName = "IoT Cloud" })
		logOnFailure(t, e)
		token := e.startSignup("helpdesk@example.com", "customer_business")
		body := e.completion(token, "customer_business")
		body["customer"] = map[string]any{"name": name}
		body["user"] = map[string]any{"first_name": "IT", "last_name": "Helpdesk http://evil.example"}
		r := e.do("POST", "/api/v1/signups/"+token, body)
		expect(t, r, http.StatusCreated)
		reg := r.json(t)
		acct := reg["customer"].(map[string]any)["id"].(string)
		tok := e.login("helpdesk@example.com", goodPassword)
		n := e.mails()
		expect(t, e.as(tok, "POST", "/api/v1/customers/"+acct+"/invitations",
			map[string]any{"email": "victim@example.com", "user_type": "customer_user"}), http.StatusCreated)
		msg := e.mailSince(n, "victim@example.com", "/invitation?token=")
		if msg.Subject != "You are invited to an account on IoT Cloud" {
			t.Errorf("subject %q", msg.Subject)
		}
		for part, text := range map[string]string{"text": msg.Text, "html": msg.HTML} {
			if strings.Contains(text, "http://evil") || strings.Contains(text, "evil.example") {
				t.Errorf("%s part carries the registrant's URL:\n%s", part, text)
			}
			if !strings.Contains(text, "“Your mailbox is full - restore access at http[://]evil[.]example/login”") {
				t.Errorf("%s part does not quote the company name:\n%s", part, text)
			}
		}
	})
}
