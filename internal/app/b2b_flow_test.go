package app_test

import (
	"encoding/base64"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/onboard-dev/onboard/internal/config"
	"github.com/onboard-dev/onboard/internal/testutil/dbtest"
)

func TestB2BClientsAndIsolation(t *testing.T) {
	t.Parallel()
	dbtest.ForEach(t, func(t *testing.T, dsn string) {
		e := startAdmin(t, dsn)
		w := newB2BWorld(t, e, "")

		// Labelpartners: validation, uniqueness, listing without secrets.
		lp := map[string]any{"name": "y", "password_policy": "pincode"}
		e.runScenarios(t, func(body any) response {
			return e.admin(envAdminKey, "POST", adminPath("default", "/labelpartners"), body)
		}, []scenario{
			{"unknown policy", changed(lp, "password_policy", "strong"), 422, "password_policy"},
			{"labelpartner name taken", changed(lp, "name", "lp-pin"), 409, ""},
			{"introspection not https", changed(lp, "introspection", map[string]any{"url": "ftp://x", "client_id": "c"}), 422, "introspection.url"},
		})
		r := e.admin(envAdminKey, "GET", adminPath("default", "/labelpartners"), nil)
		expect(t, r, http.StatusOK)
		if names := names(field(r.json(t), "labelpartners").([]any)); !hasAll(names, "lp-pin", "lp-pw", "lp-def", "lp-sso", "lp-other") || strings.Contains(string(r.body), "lpk_") {
			t.Fatalf("list %s", r.body)
		}
		expect(t, e.do("GET", adminPath("default", "/labelpartners"), nil), http.StatusUnauthorized)

		// Clients: validation.
		client := map[string]any{"name": "z", "kind": "b2b"}
		e.runScenarios(t, func(body any) response {
			return e.admin(envAdminKey, "POST", adminPath("default", "/clients"), body)
		}, []scenario{
			{"unknown kind", changed(client, "kind", "robot"), 422, "kind"},
			{"unknown labelpartner", changed(client, "labelpartners", []string{"nope"}), 422, "labelpartners[0]"},
			{"client name taken", changed(client, "name", "crm-a"), 409, ""},
		})

		// Client credentials: Basic, form, wrong secret, wrong kind, wrong grant, not a form.
		basic := "Basic " + base64.StdEncoding.EncodeToString([]byte(url.QueryEscape(w.b2bID)+":"+url.QueryEscape(w.b2bSecret)))
		r = e.form("/api/v1/b2b/token", url.Values{"grant_type": {"client_credentials"}}, "Authorization", basic)
		expect(t, r, http.StatusOK)
		if r.header.Get("Cache-Control") != "no-store" {
			t.Error("token answer is cacheable")
		}
		r = e.form("/api/v1/b2b/token", url.Values{"grant_type": {"client_credentials"}, "client_id": {w.b2bID}, "client_secret": {"wrong"}})
		oauthError(t, r, 401, "invalid_client")
		if r.header.Get("WWW-Authenticate") == "" {
			t.Error("401 without WWW-Authenticate")
		}
		oauthError(t, e.form("/api/v1/b2b/token", url.Values{"grant_type": {"client_credentials"}, "client_id": {w.appID}, "client_secret": {w.appSecret}}), 401, "invalid_client")
		oauthError(t, e.form("/api/v1/b2b/token", url.Values{"grant_type": {"password"}}, "Authorization", basic), 400, "unsupported_grant_type")
		oauthError(t, e.form("/api/v1/b2b/token", url.Values{"grant_type": {"client_credentials"}, "client_id": {w.b2bID}}, "Authorization", basic), 400, "invalid_request")
		oauthError(t, e.do("POST", "/api/v1/b2b/token", map[string]any{"grant_type": "client_credentials"}), 400, "invalid_request")
		oauthError(t, e.form("/v2/token", url.Values{"grant_type": {"password"}, "username": {"a@example.com"}, "password": {"x"}}, "Authorization", basic), 401, "invalid_client")

		// Authentication of the B2B API.
		checkProblem(t, e.do("GET", "/api/v1/b2b/end-users/x", nil), 401, "")
		checkProblem(t, e.admin("mXo2rUeB6cQ3nX7Vd0JYtq5sH9aPz1kLwE4fG8bN2cA", "GET", "/api/v1/b2b/end-users/x", nil), 401, "")
		checkProblem(t, e.admin(envAdminKey, "GET", "/api/v1/b2b/end-users/x", nil), 401, "")

		// Tenant isolation: B sees none of A's end users, and provisions only under its own labelpartner.
		id := w.provision(t, endUser("iso@example.com", "lp-pin"))
		checkProblem(t, e.admin(w.clientB, "GET", "/api/v1/b2b/end-users/"+id, nil), 404, "")
		checkProblem(t, e.admin(w.clientB, "POST", "/api/v1/b2b/end-users/"+id+"/activity", map[string]any{"measurement_received_at": time.Now()}), 404, "")
		checkProblem(t, e.admin(w.clientB, "POST", "/api/v1/b2b/end-users", endUser("b@example.com", "lp-pin")), 422, "labelpartner")
		r = e.admin(w.clientB, "POST", "/api/v1/b2b/end-users", endUser("b@example.com", "lp-other"))
		expect(t, r, http.StatusCreated)
		checkProblem(t, e.admin(w.clientA, "GET", "/api/v1/b2b/end-users/"+r.json(t)["id"].(string), nil), 404, "")
		// Another organization's client sees nothing either.
		e.createOrg("acme")
		r = e.admin(envAdminKey, "POST", adminPath("acme", "/labelpartners"), map[string]any{"name": "acme-lp", "password_policy": "pincode"})
		expect(t, r, http.StatusCreated)
		r = e.admin(envAdminKey, "POST", adminPath("acme", "/clients"), map[string]any{"name": "c", "kind": "b2b", "labelpartners": []string{"lp-pin"}})
		checkProblem(t, r, 422, "labelpartners[0]")
		r = e.admin(envAdminKey, "POST", adminPath("acme", "/clients"), map[string]any{"name": "c", "kind": "b2b", "labelpartners": []string{"acme-lp"}})
		expect(t, r, http.StatusCreated)
		acme := w.token(t, r.json(t)["client_id"].(string), r.json(t)["client_secret"].(string))
		checkProblem(t, e.admin(acme, "GET", "/api/v1/b2b/end-users/"+id, nil), 404, "")
		// The same address may exist in another organization.
		expect(t, e.admin(acme, "POST", "/api/v1/b2b/end-users", endUser("iso@example.com", "acme-lp")), http.StatusCreated)
	})
}

func TestB2BEndUserLifecycle(t *testing.T) {
	t.Parallel()
	dbtest.ForEach(t, func(t *testing.T, dsn string) {
		e := startAdmin(t, dsn)
		w := newB2BWorld(t, e, "")

		// Provisioning: validation, uniqueness of email and external id.
		checkProblem(t, e.admin(w.clientA, "POST", "/api/v1/b2b/end-users", map[string]any{"email": "nope", "labelpartner": "lp-pin"}), 422, "email")
		for _, field := range []string{"customer", "installation"} {
			body := endUser("details@example.com", "lp-pin")
			body[field] = "not an object"
			checkProblem(t, e.admin(w.clientA, "POST", "/api/v1/b2b/end-users", body), 422, field)
		}
		checkProblem(t, e.admin(w.clientA, "POST", "/api/v1/b2b/end-users", endUser("ada@example.com", "lp-pin", "surprise", 1)), 400, "surprise")
		id := w.provision(t, endUser("Ada@Example.com", "lp-pin", "external_authentication_provider_id", "ext-ada",
			"customer", map[string]any{"customer_number": "C-1"}, "installation", map[string]any{"meter": map[string]any{"id": "E1"}}))
		checkProblem(t, e.admin(w.clientA, "POST", "/api/v1/b2b/end-users", endUser("ada@example.com", "lp-pw")), 409, "")
		checkProblem(t, e.admin(w.clientA, "POST", "/api/v1/b2b/end-users", endUser("other@example.com", "lp-pw", "external_authentication_provider_id", "ext-ada")), 409, "")
		r := e.admin(w.clientA, "GET", "/api/v1/b2b/end-users/"+id, nil)
		expect(t, r, http.StatusOK)
		if m := r.json(t); m["state"] != "provisioned" || field(m, "installation", "meter", "id") != "E1" || m["email_verified"] != false {
			t.Fatalf("end user %s", r.body)
		}
		checkProblem(t, e.admin(w.clientA, "GET", "/api/v1/b2b/end-users/nope", nil), 404, "")

		// Activity before registration is a conflict.
		checkProblem(t, e.admin(w.clientA, "POST", "/api/v1/b2b/end-users/"+id+"/activity", map[string]any{"measurement_received_at": time.Now()}), 409, "")

		// Not verified yet: the generic refusal.
		refused := w.noGateway("ada@example.com", "493817")
		checkProblem(t, refused, 422, "")

		// The verification mail: nothing is sent for wrong names or labelpartner, the answer is the same.
		n := e.mails()
		for _, body := range []map[string]any{
			{"first_name": "Bob", "last_name": "Lovelace", "email_address": "ada@example.com", "labelpartner": "lp-pin", "imported": "true"},
			{"first_name": "Ada", "last_name": "Lovelace", "email_address": "ada@example.com", "labelpartner": "lp-pw", "imported": true},
			{"first_name": "Ada", "last_name": "Lovelace", "email_address": "nobody@example.com", "labelpartner": "lp-pin", "imported": "true"},
			{"first_name": "Ada", "last_name": "Lovelace", "email_address": "ada@example.com", "labelpartner": "no-such", "imported": "true"},
		} {
			okStatus(t, e.do("POST", "/v2/registration/provision", body))
		}
		provision := map[string]any{"first_name": "Ada", "last_name": "Lovelace", "email_address": "ada@example.com", "labelpartner": "lp-pin"}
		e.runScenarios(t, func(body any) response { return e.do("POST", "/v2/registration/provision", body) }, []scenario{
			{"imported false", changed(provision, "imported", "false"), 422, "imported"},
			{"imported a number", changed(provision, "imported", 7), 422, "imported"},
		})
		// Names match trimmed and case-insensitively.
		token := w.verifyLink(t, "ada@example.com", "  ADA ", "lovelace", "lp-pin")
		if got := e.mails(); got != n+1 {
			t.Fatalf("%d mails sent, want exactly 1", got-n)
		}
		// The link: an HTML page for browsers, whose button verifies.
		r = e.do("GET", "/v2/registration/verify?token="+token, nil)
		expect(t, r, http.StatusOK)
		if !strings.HasPrefix(r.header.Get("Content-Type"), "text/html") || !strings.Contains(string(r.body), "Verify my email address") {
			t.Fatalf("verify page %s %s", r.header.Get("Content-Type"), r.body)
		}
		okStatus(t, e.do("POST", "/v2/registration/verify", map[string]any{"token": token}))
		checkProblem(t, e.do("POST", "/v2/registration/verify", map[string]any{"token": "mXo2rUeB6cQ3nX7Vd0JYtq5sH9aPz1kLwE4fG8bN2cA"}), 404, "")
		r = e.do("GET", "/v2/registration/verify?token=bad", nil)
		if r.status != 404 || !strings.HasPrefix(r.header.Get("Content-Type"), "text/html") {
			t.Fatalf("bad link: %d %s", r.status, r.body)
		}

		// Policy violation names the rule; then success.
		r = w.noGateway("ada@example.com", "12345")
		checkProblem(t, r, 422, "pincode")
		if !strings.Contains(string(r.body), "password-policy") || !strings.Contains(string(r.body), "6 digits") {
			t.Fatalf("policy answer %s", r.body)
		}
		okStatus(t, w.noGateway("ada@example.com", "493817"))
		if st, hist := w.state(t, id); st != "registered" || strings.Join(hist, ",") != "provisioned,registered" {
			t.Fatalf("state %s %v", st, hist)
		}
		// Registered: a second attempt is the generic refusal, the same as an unknown address.
		again := w.noGateway("ada@example.com", "493818")
		unknown := w.noGateway("unknown@example.com", "493818")
		checkProblem(t, again, 422, "")
		if string(again.body) != string(unknown.body) || string(again.body) != string(refused.body) {
			t.Fatalf("refusals differ:\n%s\n%s\n%s", again.body, unknown.body, refused.body)
		}
		// After registration no verification mail is sent.
		queued := e.count("outbox")
		okStatus(t, e.do("POST", "/v2/registration/provision", map[string]any{"first_name": "Ada", "last_name": "Lovelace", "email_address": "ada@example.com", "labelpartner": "lp-pin", "imported": "true"}))
		if e.count("outbox") != queued {
			t.Fatal("a verification mail was queued for a registered end user")
		}

		// Tokens: password grant, wrong password, refresh rotation, reuse revokes the family.
		oauthError(t, w.password("ada@example.com", "000000"), 400, "invalid_grant")
		oauthError(t, w.password("nobody@example.com", "000000"), 400, "invalid_grant")
		_, rt1 := tokens(t, w.password("ADA@example.com", "493817"))
		_, rt2 := tokens(t, w.refresh(rt1))
		oauthError(t, w.refresh(rt1), 400, "invalid_grant") // reuse of a rotated token
		oauthError(t, w.refresh(rt2), 400, "invalid_grant") // ... revoked the family
		_, rt3 := tokens(t, w.password("ada@example.com", "493817"))
		oauthError(t, e.form("/v2/token", url.Values{"grant_type": {"refresh_token"}, "refresh_token": {rt3}, "client_id": {w.b2bID}, "client_secret": {w.b2bSecret}}), 401, "invalid_client")
		oauthError(t, e.form("/v2/token", url.Values{"grant_type": {"authorization_code"}, "client_id": {w.appID}, "client_secret": {w.appSecret}}), 400, "unsupported_grant_type")
		tokens(t, w.refresh(rt3))

		// Activity: registered -> active, timestamped; again is harmless.
		at := time.Now().Add(-time.Hour).UTC().Truncate(time.Second)
		r = e.admin(w.clientA, "POST", "/api/v1/b2b/end-users/"+id+"/activity", map[string]any{"measurement_received_at": at})
		expect(t, r, http.StatusOK)
		if r.json(t)["first_measurement_at"] != at.Format(time.RFC3339) {
			t.Fatalf("activity %s", r.body)
		}
		expect(t, e.admin(w.clientA, "POST", "/api/v1/b2b/end-users/"+id+"/activity", map[string]any{"measurement_received_at": at}), http.StatusOK)
		checkProblem(t, e.admin(w.clientA, "POST", "/api/v1/b2b/end-users/"+id+"/activity", map[string]any{}), 422, "measurement_received_at")
		if st, hist := w.state(t, id); st != "active" || strings.Join(hist, ",") != "provisioned,registered,active" {
			t.Fatalf("state %s %v", st, hist)
		}
		tokens(t, w.password("ada@example.com", "493817"))

		// Password reset: always ok; the link sets a new pincode (policy checked) and ends the tokens.
		okStatus(t, e.do("PUT", "/v2/registration/resetpassword", map[string]any{"email_address": "nobody@example.com"}))
		n = e.mails()
		okStatus(t, e.do("PUT", "/v2/registration/resetpassword", map[string]any{"email_address": "ada@example.com"}))
		reset := e.linkSince(n, "ada@example.com", "/v2/registration/resetpassword")
		checkProblem(t, e.do("POST", "/v2/registration/resetpassword/confirm", map[string]any{"token": reset, "pincode": "abcdef"}), 422, "pincode")
		okStatus(t, e.do("POST", "/v2/registration/resetpassword/confirm", map[string]any{"token": reset, "pincode": "246810"}))
		checkProblem(t, e.do("POST", "/v2/registration/resetpassword/confirm", map[string]any{"token": reset, "pincode": "135790"}), 410, "")
		oauthError(t, w.refresh(rt3), 400, "invalid_grant")
		oauthError(t, w.password("ada@example.com", "493817"), 400, "invalid_grant")
		tokens(t, w.password("ada@example.com", "246810"))
	})
}

func TestB2BNoGatewayConditions(t *testing.T) {
	t.Parallel()
	dbtest.ForEach(t, func(t *testing.T, dsn string) {
		e := startAdmin(t, dsn, func(c *config.Config) {
			c.RateLoginEmail = config.Rate{}
			c.RateLoginEmail.Limit, c.RateLoginEmail.Window = 4, 10*time.Minute
		})
		w := newB2BWorld(t, e, "")
		generic := func(r response) {
			t.Helper()
			checkProblem(t, r, 422, "")
			if !strings.Contains(string(r.body), "registration-refused") {
				t.Fatalf("want the generic refusal, got %s", r.body)
			}
		}
		// Voucher codes.
		w.provision(t, endUser("v@example.com", "lp-pin", "create_verified_user", true, "order", map[string]any{"voucher_code": "SPRING-26"}))
		generic(w.noGateway("v@example.com", "493817"))
		generic(w.noGateway("v@example.com", "493817", "WRONG"))
		okStatus(t, w.noGateway("v@example.com", "493817", "SPRING-26"))
		// A voucher given where none was provisioned is ignored.
		w.provision(t, endUser("nv@example.com", "lp-pin", "create_verified_user", true))
		okStatus(t, w.noGateway("nv@example.com", "493817", "ANY"))

		// The refusals are rate limited per address: after 4 the answer is 429.
		w.provision(t, endUser("rl@example.com", "lp-pin"))
		for range 4 {
			generic(w.noGateway("rl@example.com", "493817"))
		}
		r := w.noGateway("rl@example.com", "493817")
		checkProblem(t, r, 429, "")
		if r.header.Get("Retry-After") == "" {
			t.Error("429 without Retry-After")
		}
		// Twenty minutes later the (sliding, ten-minute) window has moved on.
		e.advance(20*time.Minute + time.Second)
		generic(w.noGateway("rl@example.com", "493817"))

		// Policies through the endpoint: password and default.
		w.provision(t, endUser("pw@example.com", "lp-pw", "create_verified_user", true))
		for _, bad := range []string{"Äpfel123", "short", "seventeen-chars-x", "with space1", "groß123"} {
			r := w.noGateway("pw@example.com", bad)
			checkProblem(t, r, 422, "pincode")
			if !strings.Contains(string(r.body), "password policy") {
				t.Fatalf("%q: %s", bad, r.body)
			}
		}
		okStatus(t, w.noGateway("pw@example.com", `Ab1_!"()=[]{}?+`))
		tokens(t, w.password("pw@example.com", `Ab1_!"()=[]{}?+`))
		w.provision(t, endUser("def@example.com", "lp-def", "create_verified_user", true))
		checkProblem(t, w.noGateway("def@example.com", "493817"), 422, "pincode")
		okStatus(t, w.noGateway("def@example.com", "correct horse battery staple"))

		// One address provisioned in two organizations cannot register by address alone.
		e.createOrg("acme")
		expect(t, e.admin(envAdminKey, "POST", adminPath("acme", "/labelpartners"), map[string]any{"name": "acme-lp", "password_policy": "pincode"}), http.StatusCreated)
		r = e.admin(envAdminKey, "POST", adminPath("acme", "/clients"), map[string]any{"name": "c", "kind": "b2b", "labelpartners": []string{"acme-lp"}})
		acme := w.token(t, r.json(t)["client_id"].(string), r.json(t)["client_secret"].(string))
		w.provision(t, endUser("two@example.com", "lp-pin", "create_verified_user", true))
		expect(t, e.admin(acme, "POST", "/api/v1/b2b/end-users", endUser("two@example.com", "acme-lp", "create_verified_user", true)), http.StatusCreated)
		generic(w.noGateway("two@example.com", "493817"))
	})
}
