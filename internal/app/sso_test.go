package app_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/onboard-dev/onboard/internal/config"
	"github.com/onboard-dev/onboard/internal/testutil/dbtest"
	"github.com/onboard-dev/onboard/internal/testutil/hydratest"
	"github.com/onboard-dev/onboard/internal/testutil/oidcfake"
)

const appRedirect = "http://127.0.0.1:9/app/callback"

// TestSSOWithHydra signs in through Ory Hydra: the first login with the
// switch on (registration) and off, a returning login, a replayed
// callback, a state from another browser, the link to a password account,
// a partner user who is never turned into a customer, and the app
// endpoint with a code and PKCE verifier (replayed code refused).
func TestSSOWithHydra(t *testing.T) {
	t.Parallel()
	hy := hydratest.Start(t)
	dbtest.ForEach(t, func(t *testing.T, dsn string) {
		e := startAdmin(t, dsn)
		client := hy.CreateClient(t, e.base+"/auth/oidc/hydra/callback", appRedirect)
		e.putSSO(t, true, ssoProvider("hydra", hy.Issuer, client.ID, client.Secret, appRedirect))

		// The sign-in page offers the provider; the API never shows the secret.
		b := newSSOBrowser(t)
		expectPageStatus(t, b.get(e.base+"/login"), 200, `href="/auth/oidc/hydra"`)
		if r := e.admin(envAdminKey, "GET", adminPath("default", "/onboarding"), nil); strings.Contains(string(r.body), client.Secret) {
			t.Fatalf("client secret shown: %s", r.body)
		}

		// First login: the registration form asks only for what is missing.
		hy.SetUser(hydratest.User{Subject: "sub-ada", Email: "ada@example.com", EmailVerified: true, GivenName: "Ada", FamilyName: "Lovelace", Locale: "it-IT"})
		var callback *url.URL
		b.stopAt = func(u *url.URL) bool {
			if strings.HasSuffix(u.Path, "/callback") && strings.HasPrefix(u.String(), e.base) {
				callback = u
			}
			return false
		}
		reg := b.get(e.base + "/auth/oidc/hydra")
		expectPageStatus(t, reg, 200, "ada@example.com")
		if strings.Contains(reg.body, `name="user.first_name"`) || strings.Contains(reg.body, `name="password"`) {
			t.Fatalf("the form asks again for what the provider said, or for a password:\n%s", reg.body)
		}
		done := b.submit(e.base, reg, nil)
		if done.status != 200 || !strings.HasSuffix(done.url.Path, "/account") {
			t.Fatalf("after registration: %d %s\n%s", done.status, done.url, done.body)
		}
		var count int
		if err := e.app.Store().DB().QueryRow(`SELECT COUNT(*) FROM external_identities WHERE subject = 'sub-ada'`).Scan(&count); err != nil || count != 1 {
			t.Fatalf("identities: %d %v", count, err)
		}
		// No password: the user cannot sign in with one.
		checkProblem(t, e.do("POST", "/api/v1/sessions", map[string]any{"email": "ada@example.com", "password": "x"}), 401, "")

		// The callback again: the state is single-use.
		expectPageStatus(t, b.get(callback.String()), 410, "")
		// A forged state, and a real one from another browser.
		expectPageStatus(t, b.get(e.base+"/auth/oidc/hydra/callback?state="+strings.Repeat("A", 43)+"&code=x"), 400, "")
		a := newSSOBrowser(t)
		a.stopAt = func(u *url.URL) bool { return strings.HasSuffix(u.Path, "/auth/oidc/hydra/callback") }
		halfway := a.get(e.base + "/auth/oidc/hydra")
		other := newSSOBrowser(t)
		expectPageStatus(t, other.get(halfway.url.String()), 400, "")
		a.stopAt = nil
		// The same callback in its own browser: a returning login.
		if p := a.get(halfway.url.String()); p.status != 200 || !strings.HasSuffix(p.url.Path, "/account") {
			t.Fatalf("returning login: %d %s\n%s", p.status, p.url, p.body)
		}

		// A password account with the same verified address: linked only
		// after its password.
		e.register("grace@example.com", "customer_personal")
		hy.SetUser(hydratest.User{Subject: "sub-grace", Email: "grace@example.com", EmailVerified: true, GivenName: "Grace"})
		g := newSSOBrowser(t)
		link := g.get(e.base + "/auth/oidc/hydra")
		expectPageStatus(t, link, 200, `name="password"`)
		expectPageStatus(t, g.submit(e.base, link, map[string]string{"password": "wrong password 123"}), 401, `name="password"`)
		if p := g.submit(e.base, link, map[string]string{"password": goodPassword}); p.status != 200 || !strings.HasSuffix(p.url.Path, "/account") {
			t.Fatalf("link: %d %s\n%s", p.status, p.url, p.body)
		}
		if p := newSSOBrowser(t).get(e.base + "/auth/oidc/hydra"); !strings.HasSuffix(p.url.Path, "/account") {
			t.Fatalf("linked identity does not sign in: %d %s", p.status, p.url)
		}

		// A partner user: only the link to the partner's own user, never a customer.
		tok := e.startSignup("pat@partner.example", "channel_partner")
		expect(t, e.do("POST", "/api/v1/signups/"+tok, map[string]any{"customer": map[string]any{"name": "Resellers Srl"},
			"user": map[string]any{"first_name": "Pat", "last_name": "Rossi"}, "password": goodPassword,
			"accepted_agreements": e.agreementIDs(tok)}), http.StatusCreated)
		hy.SetUser(hydratest.User{Subject: "sub-pat", Email: "pat@partner.example", EmailVerified: true, GivenName: "Pat"})
		before := countAccounts(t, e)
		pp := newSSOBrowser(t).get(e.base + "/auth/oidc/hydra")
		expectPageStatus(t, pp, 200, `name="password"`)
		if strings.Contains(pp.body, "Complete your registration") {
			t.Fatal("a partner user was offered a customer registration")
		}
		code, verifier, nonce := appCode(t, hy.Issuer+"/oauth2/auth", client.ID, appRedirect)
		r := e.do("POST", "/api/v1/sessions/oidc", map[string]any{"provider": "hydra", "code": code, "code_verifier": verifier,
			"redirect_uri": appRedirect, "nonce": nonce})
		expect(t, r, http.StatusOK)
		if m := r.json(t); m["status"] != "link_required" {
			t.Fatalf("partner via app: %s", r.body)
		}
		if n := countAccounts(t, e); n != before {
			t.Fatalf("accounts %d → %d", before, n)
		}

		// Apps: a new person registers through the API; a replayed code is refused.
		hy.SetUser(hydratest.User{Subject: "sub-app", Email: "app@example.com", EmailVerified: true, GivenName: "Alan", FamilyName: "Turing"})
		code, verifier, nonce = appCode(t, hy.Issuer+"/oauth2/auth", client.ID, appRedirect)
		body := map[string]any{"provider": "hydra", "code": code, "code_verifier": verifier, "redirect_uri": appRedirect, "nonce": nonce}
		r = e.do("POST", "/api/v1/sessions/oidc", body)
		expect(t, r, http.StatusOK)
		var pend struct {
			Status       string
			Registration struct{ Token string }
		}
		decodeAs(t, r, &pend)
		if pend.Status != "registration_required" || pend.Registration.Token == "" {
			t.Fatalf("app first login: %s", r.body)
		}
		checkProblem(t, e.do("POST", "/api/v1/sessions/oidc", body), 401, "")
		r = e.do("GET", "/api/v1/sessions/oidc/registrations/"+pend.Registration.Token, nil)
		expect(t, r, http.StatusOK)
		var form struct {
			Prefilled  map[string]string
			Agreements []struct{ ID string }
		}
		decodeAs(t, r, &form)
		if form.Prefilled["user.first_name"] != "Alan" {
			t.Fatalf("prefilled: %s", r.body)
		}
		var ids []string
		for _, a := range form.Agreements {
			ids = append(ids, a.ID)
		}
		r = e.do("POST", "/api/v1/sessions/oidc/registrations/"+pend.Registration.Token, map[string]any{"accepted_agreements": ids})
		expect(t, r, http.StatusCreated)
		var signed struct{ Token string }
		decodeAs(t, r, &signed)
		expect(t, e.do("GET", "/api/v1/me", nil, "Authorization", "Bearer "+signed.Token), http.StatusOK)
		checkProblem(t, e.do("POST", "/api/v1/sessions/oidc/registrations/"+pend.Registration.Token, map[string]any{"accepted_agreements": ids}), 410, "")
		// Returning through the app.
		code, verifier, nonce = appCode(t, hy.Issuer+"/oauth2/auth", client.ID, appRedirect)
		r = e.do("POST", "/api/v1/sessions/oidc", map[string]any{"provider": "hydra", "code": code, "code_verifier": verifier,
			"redirect_uri": appRedirect, "nonce": nonce})
		expect(t, r, http.StatusCreated)
		// A redirect URI that is not registered.
		checkProblem(t, e.do("POST", "/api/v1/sessions/oidc", map[string]any{"provider": "hydra", "code": "x", "code_verifier": verifier,
			"redirect_uri": "https://evil.example/cb"}), 422, "redirect_uri")

		// The switch off: an unknown identity is told that no account exists.
		e.putSSO(t, false, ssoProvider("hydra", hy.Issuer, client.ID, ""))
		hy.SetUser(hydratest.User{Subject: "sub-nobody", Email: "nobody@example.com", EmailVerified: true})
		expectPageStatus(t, newSSOBrowser(t).get(e.base+"/auth/oidc/hydra"), 403, "There is no account for you yet")
		// The secret was kept by the write without one.
		expectPageStatus(t, newSSOBrowser(t).get(e.base+"/auth/oidc/hydra"), 403, "Ask the administrators")
	})
}

func countAccounts(t *testing.T, e *env) int {
	t.Helper()
	var n int
	if err := e.app.Store().DB().QueryRow(`SELECT COUNT(*) FROM accounts`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// TestSSOTokenErrors covers what a real provider does not produce: forged
// ID tokens (alg none, tampered signature, wrong audience, unknown key id,
// expired), a provider that is too slow or down, and an unverified email;
// each as a page and as problem+json, never a 500.
func TestSSOTokenErrors(t *testing.T) {
	t.Parallel()
	dbtest.ForEach(t, func(t *testing.T, dsn string) {
		fake := oidcfake.Start(t, "onboard-fake")
		fake.Delay = 2 * time.Second
		e := startAdmin(t, dsn, func(c *config.Config) { c.SSOTimeout = 500 * time.Millisecond })
		e.putSSO(t, true, ssoProvider("fake", fake.URL, "onboard-fake", "fake-secret-0123456789"),
			ssoProvider("down", "http://127.0.0.1:1", "x", "fake-secret-0123456789"))
		person := oidcfake.Claims{Subject: "s-1", Email: "eve@example.com", EmailVerified: true, GivenName: "Eve"}
		for _, tc := range []struct{ mode, reason string }{
			{oidcfake.AlgNone, ""}, {oidcfake.Tampered, "bad signature"}, {oidcfake.WrongAud, "wrong audience"},
			{oidcfake.UnknownKid, "bad signature"}, {oidcfake.Expired, "expired"},
		} {
			t.Run(tc.mode, func(t *testing.T) {
				fake.Set(tc.mode, person)
				expectPageStatus(t, newSSOBrowser(t).get(e.base+"/auth/oidc/fake"), 401, "could not be verified")
				r := e.do("POST", "/api/v1/sessions/oidc", map[string]any{"provider": "fake", "id_token": fake.IDToken(tc.mode, "")})
				checkProblem(t, r, 401, "")
				if !strings.Contains(string(r.body), "sso-token-invalid") || !strings.Contains(string(r.body), tc.reason) {
					t.Fatalf("problem: %s", r.body)
				}
			})
		}
		// Key rotation: a token signed with the provider's new key is
		// accepted (the key set is fetched again for the new key id).
		fake.Set(oidcfake.Good, oidcfake.Claims{Subject: "s-rot", Email: "rot@example.com", EmailVerified: true})
		expect(t, e.do("POST", "/api/v1/sessions/oidc", map[string]any{"provider": "fake", "id_token": fake.IDToken(oidcfake.Good, "")}), http.StatusOK)
		fake.Rotate(t)
		expect(t, e.do("POST", "/api/v1/sessions/oidc", map[string]any{"provider": "fake", "id_token": fake.IDToken(oidcfake.Good, "")}), http.StatusOK)
		// A good token with a wrong nonce.
		fake.Set(oidcfake.Good, person)
		checkProblem(t, e.do("POST", "/api/v1/sessions/oidc", map[string]any{"provider": "fake", "id_token": fake.IDToken(oidcfake.Good, "n-1"),
			"nonce": "n-2"}), 401, "")
		// An unverified email never registers nor links.
		fake.Set(oidcfake.Good, oidcfake.Claims{Subject: "s-2", Email: "mallory@example.com"})
		expectPageStatus(t, newSSOBrowser(t).get(e.base+"/auth/oidc/fake"), 403, "not confirmed")
		checkProblem(t, e.do("POST", "/api/v1/sessions/oidc", map[string]any{"provider": "fake", "id_token": fake.IDToken(oidcfake.Good, "")}), 403, "")
		// Too slow, and down.
		fake.Set(oidcfake.SlowToken, person)
		expectPageStatus(t, newSSOBrowser(t).get(e.base+"/auth/oidc/fake"), 503, "does not answer")
		expectPageStatus(t, newSSOBrowser(t).get(e.base+"/auth/oidc/down"), 503, "does not answer")
		checkProblem(t, e.do("POST", "/api/v1/sessions/oidc", map[string]any{"provider": "down", "id_token": "a.b.c"}), 503, "")
		// Unknown provider, bad input.
		expectPageStatus(t, newSSOBrowser(t).get(e.base+"/auth/oidc/nope"), 404, "")
		checkProblem(t, e.do("POST", "/api/v1/sessions/oidc", map[string]any{"provider": "nope", "id_token": "a.b.c"}), 422, "provider")
		checkProblem(t, e.do("POST", "/api/v1/sessions/oidc", map[string]any{"provider": "fake"}), 422, "code")
		// A good token registers through the API with the ID token.
		fake.Set(oidcfake.Good, oidcfake.Claims{Subject: "s-3", Email: "ok@example.com", EmailVerified: true, GivenName: "Ok", FamilyName: "Person"})
		r := e.do("POST", "/api/v1/sessions/oidc", map[string]any{"provider": "fake", "id_token": fake.IDToken(oidcfake.Good, "")})
		expect(t, r, http.StatusOK)
		// The client secret is sealed at rest.
		var raw string
		if err := e.app.Store().DB().QueryRow(`SELECT onboarding FROM organizations WHERE name = 'default'`).Scan(&raw); err != nil ||
			strings.Contains(raw, "fake-secret-0123456789") || !strings.Contains(raw, "onboard-fake") {
			t.Fatalf("stored onboarding (%v): %s", err, raw)
		}

		// Another organization: its own paths and redirect URI.
		e.createOrg("acme")
		cfg := e.admin(envAdminKey, "GET", adminPath("acme", "/onboarding"), nil).json(t)
		cfg["sso"] = map[string]any{"first_login_creates_customer": true, "first_login_account_type": "customer_personal",
			"providers": []any{ssoProvider("fake", fake.URL, "onboard-fake", "fake-secret-0123456789")}}
		expect(t, e.admin(envAdminKey, "PUT", adminPath("acme", "/onboarding"), cfg), http.StatusOK)
		b := newSSOBrowser(t)
		expectPageStatus(t, b.get(e.base+"/o/acme/login"), 200, `href="/o/acme/auth/oidc/fake"`)
		fake.Set(oidcfake.Good, oidcfake.Claims{Subject: "s-acme", Email: "wile@acme.example", EmailVerified: true, GivenName: "Wile", FamilyName: "Coyote"})
		reg := b.get(e.base + "/o/acme/auth/oidc/fake")
		expectPageStatus(t, reg, 200, `action="/o/acme/auth/oidc/fake/register"`)
		if p := b.submit(e.base, reg, nil); p.status != 200 || p.url.Path != "/o/acme/account" {
			t.Fatalf("acme registration: %d %s\n%s", p.status, p.url, p.body)
		}

		// The configuration is validated.
		bad := e.admin(envAdminKey, "GET", adminPath("default", "/onboarding"), nil).json(t)
		bad["sso"] = map[string]any{"first_login_creates_customer": true, "first_login_account_type": "channel_partner",
			"providers": []any{map[string]any{"name": "Bad Name", "issuer": "ftp://x", "client_id": ""}}}
		checkProblem(t, e.admin(envAdminKey, "PUT", adminPath("default", "/onboarding"), bad), 422, "sso.first_login_account_type")
	})
}
