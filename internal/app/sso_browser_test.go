package app_test

import (
	"net/http"
	"path"
	"strings"
	"testing"

	"github.com/onboard-dev/onboard/internal/testutil/dbtest"
	"github.com/onboard-dev/onboard/internal/testutil/hydratest"
)

// TestBrowserSSOFirstLogin is the whole first-login registration in
// Chromium, through Ory Hydra: the sign-in page's provider button, the
// provider, the registration form that asks only for what the claims did
// not give (the company name, the agreements), its errors, and the account
// page it signs in to. Checked with axe-core; screenshots with
// ONBOARD_SCREENSHOTS=1.
func TestBrowserSSOFirstLogin(t *testing.T) {
	t.Parallel()
	hy := hydratest.Start(t)
	dbtest.ForEach(t, func(t *testing.T, dsn string) {
		tab := browser(t)
		e := startAdmin(t, dsn)
		logOnFailure(t, e)
		client := hy.CreateClient(t, e.base+"/auth/oidc/corporate/callback")
		e.putSSOType(t, true, "customer_business", ssoProvider("corporate", hy.Issuer, client.ID, client.Secret))
		hy.SetUser(hydratest.User{Subject: "sub-browser-" + path.Base(t.Name()), Email: "ada@engines.example", EmailVerified: true,
			GivenName: "Ada", FamilyName: "Lovelace"})

		expectPage(t, tab, openPage(t, tab, e.base+"/login"), http.StatusOK, "Sign in")
		checkPage(t, tab, "login-sso")
		expectPage(t, tab, clickTo(t, tab, `a[href="/auth/oidc/corporate"]`), http.StatusOK, "Complete your registration")
		checkPage(t, tab, "sso-register")
		if exists(t, tab, "#f-user-first_name") || exists(t, tab, "#f-password") || !exists(t, tab, "#f-customer-name") {
			t.Fatalf("the form asks for the wrong fields: %s", pageText(t, tab, "main"))
		}
		if txt := pageText(t, tab, "main"); !strings.Contains(txt, "ada@engines.example") || !strings.Contains(txt, "Lovelace") {
			t.Fatalf("the claims are not shown: %s", txt)
		}
		// Without the company name: the error is on the form.
		expectPage(t, tab, submitPage(t, tab), http.StatusUnprocessableEntity, "Complete your registration")
		checkPage(t, tab, "sso-register-errors")
		typeInto(t, tab, "#f-customer-name", "Analytical Engines Ltd")
		for i := 0; exists(t, tab, "#f-agreement-"+string(rune('0'+i))); i++ {
			if !exists(t, tab, "#f-agreement-"+string(rune('0'+i))+":checked") {
				tick(t, tab, "#f-agreement-"+string(rune('0'+i)))
			}
		}
		expectPage(t, tab, submitPage(t, tab), http.StatusOK, "Your account")
		checkPage(t, tab, "sso-registered")
		if txt := pageText(t, tab, "main"); !strings.Contains(txt, "ada@engines.example") {
			t.Fatalf("account page: %s", txt)
		}
		// Signing in again goes straight to the account.
		expectPage(t, tab, openPage(t, tab, e.base+"/login"), http.StatusOK, "Your account")
	})
}
