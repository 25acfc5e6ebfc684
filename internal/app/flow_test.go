package app_test

import (
	"bytes"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/onboard-dev/onboard/internal/config"
	"github.com/onboard-dev/onboard/internal/domain"
	"github.com/onboard-dev/onboard/internal/store"
	"github.com/onboard-dev/onboard/internal/testutil/dbtest"
	"github.com/onboard-dev/onboard/internal/testutil/smtptest"
)

func TestSelfRegistration(t *testing.T) {
	t.Parallel()
	dbtest.ForEach(t, func(t *testing.T, dsn string) {
		e := start(t, dsn)
		cases := []struct {
			accountType, email, custType, custName, location string
			fields                                           []string
		}{
			{"customer_business", "Grace@Example.com", "business", "Analytical Engines Ltd", "Location",
				[]string{"customer.name", "user.first_name", "user.last_name", "user.phone"}},
			{"customer_personal", "ada@example.org", "personal", "Ada Lovelace", "Home",
				[]string{"user.first_name", "user.last_name", "user.phone"}},
		}
		for _, c := range cases {
			t.Run(c.accountType, func(t *testing.T) {
				e.t = t
				r := e.do("POST", "/api/v1/signups", map[string]any{"email": c.email, "account_type": c.accountType})
				expect(t, r, http.StatusAccepted)
				if got := strings.TrimSpace(string(r.body)); got != `{"status":"email_sent"}` {
					t.Fatalf("start body = %s", got)
				}
				msg := e.smtp.WaitFor(t, 10*time.Second, smtptest.SentTo(c.email))
				if msg.MessageID == "" || !strings.Contains(msg.Text, e.base+"/register?token=") || !strings.Contains(msg.HTML, "/register?token=") {
					t.Fatalf("signup mail lacks link or Message-ID: %+v", msg)
				}
				token := strings.TrimPrefix(msg.Link(e.base+"/register?token="), e.base+"/register?token=")

				r = e.do("GET", "/api/v1/signups/"+token, nil)
				expect(t, r, http.StatusOK)
				form := r.json(t)
				if form["email"] != c.email || form["account_type"] != c.accountType {
					t.Fatalf("form = %s", r.body)
				}
				var names []string
				for _, f := range form["fields"].([]any) {
					names = append(names, f.(map[string]any)["name"].(string))
				}
				if strings.Join(names, ",") != strings.Join(c.fields, ",") {
					t.Fatalf("fields = %v, want %v", names, c.fields)
				}
				agreements := form["agreements"].([]any)
				if len(agreements) != 2 {
					t.Fatalf("agreements = %v, want terms and privacy", agreements)
				}
				for _, a := range agreements {
					am := a.(map[string]any)
					for _, k := range []string{"id", "name", "kind", "title", "version", "required"} {
						if _, ok := am[k]; !ok {
							t.Fatalf("agreement lacks %q: %v", k, am)
						}
					}
				}
				if pp, ok := form["password_policy"].(map[string]any); !ok || pp["min_length"] != float64(8) {
					t.Fatalf("password_policy = %v", form["password_policy"])
				}

				r = e.do("POST", "/api/v1/signups/"+token, e.completion(token, c.accountType))
				expect(t, r, http.StatusCreated)
				reg := r.json(t)
				cust := reg["customer"].(map[string]any)
				user := reg["user"].(map[string]any)
				loc := reg["location"].(map[string]any)
				if cust["type"] != c.custType || cust["name"] != c.custName {
					t.Fatalf("customer = %v", cust)
				}
				if user["email"] != c.email || user["first_name"] != "Ada" || user["customer_id"] != cust["id"] {
					t.Fatalf("user = %v", user)
				}
				perms := fmt.Sprint(user["user_type"].(map[string]any)["permissions"])
				if !strings.Contains(perms, domain.PermAccountAdmin) {
					t.Fatalf("first user is not account admin: %v", perms)
				}
				if loc["name"] != c.location {
					t.Fatalf("location = %v, want %s", loc, c.location)
				}
				e.smtp.WaitFor(t, 10*time.Second, func(m smtptest.Message) bool {
					return len(m.To) == 1 && m.To[0] == c.email && strings.Contains(strings.ToLower(m.Subject), "welcome")
				})

				// The link is spent.
				expect(t, e.do("GET", "/api/v1/signups/"+token, nil), http.StatusGone)

				// Sign in with any case of the address, read /me, sign out.
				tok := e.login(strings.ToUpper(c.email), goodPassword)
				me := e.do("GET", "/api/v1/me", nil, "Authorization", "Bearer "+tok)
				expect(t, me, http.StatusOK)
				mj := me.json(t)
				if mj["customer"].(map[string]any)["id"] != cust["id"] || len(mj["locations"].([]any)) != 1 {
					t.Fatalf("/me = %s", me.body)
				}
				expect(t, e.do("DELETE", "/api/v1/sessions/current", nil, "Authorization", "Bearer "+tok), http.StatusNoContent)
				expect(t, e.do("GET", "/api/v1/me", nil, "Authorization", "Bearer "+tok), http.StatusUnauthorized)
			})
		}
		// The acceptances were recorded with the versions.
		var n int
		if err := e.app.Store().DB().QueryRow(`SELECT COUNT(*) FROM agreement_acceptances WHERE version = 1`).Scan(&n); err != nil || n != 4 {
			t.Fatalf("acceptances = %d, %v; want 4", n, err)
		}
	})
}

func TestAlreadyRegisteredLooksTheSame(t *testing.T) {
	t.Parallel()
	dbtest.ForEach(t, func(t *testing.T, dsn string) {
		e := start(t, dsn)
		e.register("taken@example.com", "customer_personal")
		fresh := e.do("POST", "/api/v1/signups", map[string]any{"email": "new@example.com", "account_type": "customer_personal"})
		taken := e.do("POST", "/api/v1/signups", map[string]any{"email": "TAKEN@example.com", "account_type": "customer_personal"})
		expect(t, fresh, http.StatusAccepted)
		expect(t, taken, http.StatusAccepted)
		if !bytes.Equal(fresh.body, taken.body) {
			t.Fatalf("bodies differ: %q vs %q", fresh.body, taken.body)
		}
		for _, h := range []string{"Content-Type", "Cache-Control", "Content-Length"} {
			if fresh.header.Get(h) != taken.header.Get(h) {
				t.Fatalf("header %s differs: %q vs %q", h, fresh.header.Get(h), taken.header.Get(h))
			}
		}
		msg := e.smtp.WaitFor(t, 10*time.Second, func(m smtptest.Message) bool {
			return m.To[0] == "TAKEN@example.com"
		})
		if strings.Contains(msg.Text, "/register") || strings.Contains(msg.HTML, "/register") {
			t.Fatalf("already-registered mail carries a registration link:\n%s", msg.Text)
		}
		if !strings.Contains(msg.Text, e.base+"/login") {
			t.Fatalf("already-registered mail lacks a sign-in hint:\n%s", msg.Text)
		}
		if got := e.count("signups"); got != 2 {
			t.Fatalf("signups = %d, want 2 (taken's first and new's)", got)
		}
	})
}

func TestNewSignupReplacesOldLink(t *testing.T) {
	t.Parallel()
	dbtest.ForEach(t, func(t *testing.T, dsn string) {
		e := start(t, dsn)
		first := e.startSignup("twice@example.com", "customer_personal")
		second := e.startSignup("twice@example.com", "customer_personal")
		if first == second {
			t.Fatal("the same token was sent twice")
		}
		r := e.do("GET", "/api/v1/signups/"+first, nil)
		expect(t, r, http.StatusGone)
		r = e.do("POST", "/api/v1/signups/"+first, e.completion(second, "customer_personal"))
		expect(t, r, http.StatusGone)
		expect(t, e.do("POST", "/api/v1/signups/"+second, e.completion(second, "customer_personal")), http.StatusCreated)
	})
}

func TestCompletionRace(t *testing.T) {
	t.Parallel()
	dbtest.ForEach(t, func(t *testing.T, dsn string) {
		e := start(t, dsn)
		token := e.startSignup("race@example.com", "customer_business")
		body := e.completion(token, "customer_business")
		const n = 8
		statuses := make([]int, n)
		var wg sync.WaitGroup
		for i := range n {
			wg.Go(func() { statuses[i] = e.do("POST", "/api/v1/signups/"+token, body).status })
		}
		wg.Wait()
		created := 0
		for _, s := range statuses {
			switch s {
			case http.StatusCreated:
				created++
			case http.StatusConflict, http.StatusGone:
			default:
				t.Fatalf("unexpected status %d in %v", s, statuses)
			}
		}
		if created != 1 {
			t.Fatalf("statuses = %v: want exactly one 201", statuses)
		}
		if e.count("users") != 1 || e.count("accounts") != 1 || e.count("locations") != 1 {
			t.Fatalf("users/accounts/locations = %d/%d/%d, want 1/1/1", e.count("users"), e.count("accounts"), e.count("locations"))
		}
	})
}

func TestRejectedCompletionChangesNothing(t *testing.T) {
	t.Parallel()
	dbtest.ForEach(t, func(t *testing.T, dsn string) {
		e := start(t, dsn)
		token := e.startSignup("careful@example.com", "customer_business")
		valid := e.completion(token, "customer_business")
		with := func(k string, v any) map[string]any { return changed(valid, k, v) }
		e.runScenarios(t, func(body any) response { return e.do("POST", "/api/v1/signups/"+token, body) }, []scenario{
			{"missing company", with("customer", map[string]any{}), 422, "customer.name"},
			{"missing first name", with("user", map[string]any{"last_name": "X"}), 422, "user.first_name"},
			{"unknown form field", with("user", map[string]any{"first_name": "A", "last_name": "B", "shoe_size": "42"}), 422, "user.shoe_size"},
			{"field not a string", with("user", map[string]any{"first_name": 7, "last_name": "B"}), 422, "user.first_name"},
			{"bad phone", with("user", map[string]any{"first_name": "A", "last_name": "B", "phone": "call me"}), 422, "user.phone"},
			{"too long", with("customer", map[string]any{"name": strings.Repeat("x", 201)}), 422, "customer.name"},
			{"short password", with("password", "short"), 422, "password"},
			{"common password", with("password", "password123"), 422, "password"},
			{"password is email", with("password", "careful@example.com"), 422, "password"},
			{"agreements missing", with("accepted_agreements", []string{}), 422, "accepted_agreements"},
			{"unknown agreement", with("accepted_agreements", append(e.agreementIDs(token), "nope")), 422, "accepted_agreements"},
			{"unknown top-level field", with("role", "admin"), 400, "role"},
			{"password not a string", with("password", 12345678), 422, "password"},
			{"malformed json", `{"user": `, 400, ""},
			{"two values", `{} {}`, 400, ""},
			{"array body", `[]`, 400, ""},
		})
		e.t = t
		if e.count("users")+e.count("accounts")+e.count("locations")+e.count("agreement_acceptances") != 0 {
			t.Fatal("a rejected completion left rows behind")
		}
		// The link still works.
		expect(t, e.do("POST", "/api/v1/signups/"+token, valid), http.StatusCreated)
	})
}

// checkProblem asserts an RFC 9457 body, naming field when given.
func checkProblem(t *testing.T, r response, status int, field string) {
	t.Helper()
	if ct := r.header.Get("Content-Type"); ct != "application/problem+json" {
		t.Fatalf("Content-Type = %q, want application/problem+json", ct)
	}
	p := r.json(t)
	if p["status"] != float64(status) || p["title"] == "" || !strings.HasPrefix(fmt.Sprint(p["type"]), "https://") || p["detail"] == nil {
		t.Fatalf("problem = %s", r.body)
	}
	if field == "" {
		return
	}
	errs, _ := p["errors"].([]any)
	for _, fe := range errs {
		m := fe.(map[string]any)
		if m["field"] == field && m["message"] != "" {
			return
		}
	}
	t.Fatalf("no error for field %q in %s", field, r.body)
}

func TestStartSignupErrors(t *testing.T) {
	t.Parallel()
	dbtest.ForEach(t, func(t *testing.T, dsn string) {
		e := start(t, dsn)
		big := `{"email":"a@example.com","account_type":"customer_personal","organization":"` + strings.Repeat("x", 70<<10) + `"}`
		cases := []struct {
			name        string
			body        string
			contentType string
			status      int
			field       string
		}{
			{"bad email", `{"email":"not-an-email","account_type":"customer_personal"}`, "application/json", 422, "email"},
			{"display-name email", `{"email":"Ann <ann@example.com>","account_type":"customer_personal"}`, "application/json", 422, "email"},
			{"no email", `{"account_type":"customer_personal"}`, "application/json", 422, "email"},
			{"unknown account type", `{"email":"a@example.com","account_type":"alien"}`, "application/json", 422, "account_type"},
			{"type not offered", `{"email":"a@example.com","account_type":"channel_partner"}`, "application/json", 422, "account_type"},
			{"unknown organization", `{"email":"a@example.com","account_type":"customer_personal","organization":"nope"}`, "application/json", 422, "organization"},
			{"unknown field", `{"email":"a@example.com","account_type":"customer_personal","admin":true}`, "application/json", 400, "admin"},
			{"malformed", `{"email":`, "application/json", 400, ""},
			{"wrong type", `{"email":["a@example.com"],"account_type":"customer_personal"}`, "application/json", 422, "email"},
			{"form content type", `email=a@example.com`, "application/x-www-form-urlencoded", 415, ""},
			{"no content type", `{"email":"a@example.com","account_type":"customer_personal"}`, "", 415, ""},
			{"too large", big, "application/json", 413, ""},
		}
		for _, c := range cases {
			t.Run(c.name, func(t *testing.T) {
				e.t = t
				req, _ := http.NewRequest("POST", e.base+"/api/v1/signups", strings.NewReader(c.body))
				if c.contentType != "" {
					req.Header.Set("Content-Type", c.contentType)
				}
				res, err := http.DefaultClient.Do(req)
				if err != nil {
					t.Fatal(err)
				}
				r := readResponse(t, res)
				expect(t, r, c.status)
				checkProblem(t, r, c.status, c.field)
			})
		}
		e.t = t
		if n := e.count("signups"); n != 0 {
			t.Fatalf("rejected starts created %d signups", n)
		}
	})
}

func TestTokens(t *testing.T) {
	t.Parallel()
	dbtest.ForEach(t, func(t *testing.T, dsn string) {
		e := start(t, dsn, func(c *config.Config) { c.SignupTTL = time.Hour })
		expect(t, e.do("GET", "/api/v1/signups/nonsense", nil), http.StatusNotFound)
		expect(t, e.do("GET", "/api/v1/signups/"+strings.Repeat("A", 43), nil), http.StatusNotFound)
		r := e.do("POST", "/api/v1/signups/"+strings.Repeat("A", 43), map[string]any{})
		expect(t, r, http.StatusNotFound)
		checkProblem(t, r, 404, "")

		token := e.startSignup("late@example.com", "customer_personal")
		body := e.completion(token, "customer_personal")
		e.advance(time.Hour - time.Minute)
		expect(t, e.do("GET", "/api/v1/signups/"+token, nil), http.StatusOK)
		e.advance(2 * time.Minute)
		r = e.do("GET", "/api/v1/signups/"+token, nil)
		expect(t, r, http.StatusGone)
		checkProblem(t, r, 410, "")
		expect(t, e.do("POST", "/api/v1/signups/"+token, body), http.StatusGone)
		if e.count("users") != 0 {
			t.Fatal("an expired link created a user")
		}
	})
}

func TestEmailRegisteredMeanwhile(t *testing.T) {
	t.Parallel()
	dbtest.ForEach(t, func(t *testing.T, dsn string) {
		e := start(t, dsn)
		token := e.startSignup("meanwhile@example.com", "customer_personal")
		body := e.completion(token, "customer_personal")
		// The back office creates the same user in the meantime.
		ctx := t.Context()
		st := e.app.Store()
		org, err := st.OrganizationByName(ctx, "default")
		if err != nil {
			t.Fatal(err)
		}
		ut, err := st.UserTypeByName(ctx, org.ID, "customer_user")
		if err != nil {
			t.Fatal(err)
		}
		now := store.Now()
		acct := domain.Account{ID: store.NewID(), OrgID: org.ID, Kind: "customer", Type: "personal", Name: "X", Status: "active", Origin: domain.OriginBackOffice, CreatedAt: now, UpdatedAt: now}
		if err := st.CreateAccount(ctx, acct); err != nil {
			t.Fatal(err)
		}
		if err := st.CreateUser(ctx, domain.User{ID: store.NewID(), OrgID: org.ID, AccountID: acct.ID, UserTypeID: ut.ID,
			Email: "MEANWHILE@example.com", FirstName: "M", LastName: "W", Status: "active", CreatedAt: now, UpdatedAt: now}); err != nil {
			t.Fatal(err)
		}
		r := e.do("POST", "/api/v1/signups/"+token, body)
		expect(t, r, http.StatusConflict)
		checkProblem(t, r, 409, "")
		if e.count("accounts") != 1 {
			t.Fatal("the refused completion created an account")
		}
	})
}

func TestLogin(t *testing.T) {
	t.Parallel()
	dbtest.ForEach(t, func(t *testing.T, dsn string) {
		e := start(t, dsn)
		e.register("user@example.com", "customer_personal")
		wrong := e.do("POST", "/api/v1/sessions", map[string]any{"email": "user@example.com", "password": "not the password"})
		unknown := e.do("POST", "/api/v1/sessions", map[string]any{"email": "nobody@example.com", "password": "not the password"})
		expect(t, wrong, http.StatusUnauthorized)
		expect(t, unknown, http.StatusUnauthorized)
		if !bytes.Equal(wrong.body, unknown.body) {
			t.Fatalf("wrong password and unknown email differ:\n%s\n%s", wrong.body, unknown.body)
		}
		checkProblem(t, wrong, 401, "")
		r := e.do("POST", "/api/v1/sessions", map[string]any{"email": "user@example.com"})
		expect(t, r, 422)
		checkProblem(t, r, 422, "password")

		for _, h := range []string{"", "Bearer", "Bearer nonsense", "Basic dXNlcjpwYXNz", "Bearer " + strings.Repeat("A", 43)} {
			r := e.do("GET", "/api/v1/me", nil, "Authorization", h)
			expect(t, r, http.StatusUnauthorized)
			checkProblem(t, r, 401, "")
		}
		tok := e.login("user@example.com", goodPassword)
		r = e.do("GET", "/api/v1/me", nil, "Authorization", "Bearer "+tok)
		expect(t, r, http.StatusOK)
		var hash []byte
		if err := e.app.Store().DB().QueryRow(`SELECT token_hash FROM sessions`).Scan(&hash); err != nil {
			t.Fatal(err)
		}
		if len(hash) != 32 || strings.Contains(string(hash), tok) {
			t.Fatalf("session token not stored as a SHA-256 hash: %x", hash)
		}
	})
}

func TestRateLimits(t *testing.T) {
	t.Parallel()
	dbtest.ForEach(t, func(t *testing.T, dsn string) {
		e := start(t, dsn, func(c *config.Config) {
			c.RateSignupIP.Limit = 3
			c.RateSignupEmail.Limit = 2
			c.RateLoginEmail.Limit = 2
		})
		// Per email: the third start for one address is refused.
		for i := range 3 {
			r := e.do("POST", "/api/v1/signups", map[string]any{"email": "rl@example.com", "account_type": "customer_personal"})
			if i < 2 {
				expect(t, r, http.StatusAccepted)
				continue
			}
			expect(t, r, http.StatusTooManyRequests)
			checkProblem(t, r, 429, "")
			if ra := r.header.Get("Retry-After"); ra == "" || ra == "0" {
				t.Fatalf("Retry-After = %q", ra)
			}
		}
		// Per address: the fourth start from this client is refused, whatever the email.
		r := e.do("POST", "/api/v1/signups", map[string]any{"email": "other@example.com", "account_type": "customer_personal"})
		expect(t, r, http.StatusTooManyRequests)

		// Failed sign-ins per email.
		for i := range 3 {
			r := e.do("POST", "/api/v1/sessions", map[string]any{"email": "victim@example.com", "password": "guess " + fmt.Sprint(i)})
			want := http.StatusUnauthorized
			if i == 2 {
				want = http.StatusTooManyRequests
			}
			expect(t, r, want)
		}
		// The lockout and the per-address limit end when their windows move on.
		e.advance(2*e.cfg.RateLoginEmail.Window + time.Second) // sliding windows weigh the previous one
		expect(t, e.do("POST", "/api/v1/sessions", map[string]any{"email": "victim@example.com", "password": "guess again"}), http.StatusUnauthorized)
		expect(t, e.do("POST", "/api/v1/signups", map[string]any{"email": "rl@example.com", "account_type": "customer_personal"}), http.StatusAccepted)
	})
}

func TestHealthAndHeaders(t *testing.T) {
	t.Parallel()
	e := start(t, dbtest.SQLite(t))
	r := e.do("GET", "/healthz", nil)
	expect(t, r, 200)
	expect(t, e.do("GET", "/readyz", nil), 200)
	for h, want := range map[string]string{
		"X-Content-Type-Options": "nosniff", "X-Frame-Options": "DENY", "Referrer-Policy": "no-referrer",
	} {
		if got := r.header.Get(h); got != want {
			t.Errorf("%s = %q, want %q", h, got, want)
		}
	}
	r = e.do("GET", "/api/v1/nothing-here", nil)
	expect(t, r, 404)
	checkProblem(t, r, 404, "")
	r = e.do("PUT", "/api/v1/signups", map[string]any{})
	expect(t, r, 405)
	checkProblem(t, r, 405, "")
	if strings.Contains(e.logs.String(), "token=") {
		t.Fatal("a token reached the request log")
	}
}
