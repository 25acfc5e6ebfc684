package app_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/onboard-dev/onboard/internal/testutil/dbtest"
)

// TestBrowserB2BVerifyPage: an end user opens the mailed verification link
// in a browser; the page verifies nothing until its button is pressed, and
// is checked with axe-core in English; the Italian page is served by
// Accept-Language.
func TestBrowserB2BVerifyPage(t *testing.T) {
	t.Parallel()
	dbtest.ForEach(t, func(t *testing.T, dsn string) {
		tab := browser(t)
		e := startAdmin(t, dsn)
		logOnFailure(t, e)
		w := newB2BWorld(t, e, "")
		id := w.provision(t, endUser("ada@example.com", "lp-pin"))
		verified := func() bool {
			r := e.admin(w.clientA, "GET", "/api/v1/b2b/end-users/"+id, nil)
			expect(t, r, http.StatusOK)
			return r.json(t)["email_verified"] == true
		}
		token := w.verifyLink(t, "ada@example.com", "Ada", "Lovelace", "lp-pin")
		link := "/v2/registration/verify?token=" + url.QueryEscape(token)

		it := e.do("GET", link, nil, "Accept-Language", "it-IT,it;q=0.9")
		expect(t, it, http.StatusOK)
		if !strings.Contains(string(it.body), "Verifica il tuo indirizzo email") {
			t.Errorf("Italian verification page: %s", it.body)
		}

		expectPage(t, tab, openPage(t, tab, e.base+link), http.StatusOK, "Verify your email address")
		checkPage(t, tab, "verify-email")
		if verified() {
			t.Fatal("opening the link verified the address")
		}
		expectPage(t, tab, submitPage(t, tab), http.StatusOK, "Email address verified")
		checkPage(t, tab, "verify-email-done")
		if !verified() {
			t.Fatal("the button did not verify the address")
		}
		expectPage(t, tab, openPage(t, tab, e.base+"/v2/registration/verify?token=not-a-link"), http.StatusNotFound, "This link does not work")
		checkPage(t, tab, "verify-email-bad-link")
	})
}
