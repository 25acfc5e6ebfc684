package app_test

import (
	"bytes"
	"html"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/onboard-dev/onboard/internal/testutil/dbtest"
)

// A pincode that no policy accepts is refused the same way for every
// address, before the address is looked at; the most common PINs and
// passwords are refused.
func testB2BNoGatewayChecksThePolicyFirst(t *testing.T, e *env, w *b2bWorld) {
	w.provision(t, endUser("unverified@example.com", "lp-pin"))
	w.provision(t, endUser("verified@example.com", "lp-pin", "create_verified_user", true))
	w.provision(t, endUser("registered@example.com", "lp-pin", "create_verified_user", true))
	okStatus(t, w.noGateway("registered@example.com", "493817"))
	w.provision(t, endUser("pw@example.com", "lp-pw", "create_verified_user", true))

	for _, pin := range []string{"1", "12345", "123456", "000000", "abc"} {
		var first []byte
		for _, addr := range []string{"nobody@example.com", "unverified@example.com", "verified@example.com", "registered@example.com"} {
			r := w.noGateway(addr, pin)
			checkProblem(t, r, 422, "pincode")
			if got := problemType(t, r); got != "password-policy" {
				t.Fatalf("%s with %q: %s, want password-policy: %s", addr, pin, got, r.body)
			}
			if first == nil {
				first = r.body
			} else if !bytes.Equal(first, r.body) {
				t.Fatalf("answers differ for %q:\n%s\n%s", pin, first, r.body)
			}
		}
	}
	// The most common PINs and passwords under their labelpartner's policy.
	for _, pin := range []string{"654321", "123123", "111111", "121212", "890123"} {
		r := w.noGateway("verified@example.com", pin)
		checkProblem(t, r, 422, "pincode")
		if got := problemType(t, r); got != "password-policy" {
			t.Fatalf("%q: %s", pin, r.body)
		}
	}
	// "password" is accepted by no policy; "iloveyou1" only by the
	// password policy's rules, but it is too common there.
	for _, pw := range []string{"password", "iloveyou1"} {
		r := w.noGateway("pw@example.com", pw)
		checkProblem(t, r, 422, "pincode")
		if got := problemType(t, r); got != "password-policy" {
			t.Fatalf("%q: %s", pw, r.body)
		}
	}
	okStatus(t, w.noGateway("verified@example.com", "493817"))
	okStatus(t, w.noGateway("pw@example.com", "Kx7_mPq2"))
	expect(t, w.password("pw@example.com", "Kx7_mPq2"), http.StatusOK)
}

// csrfField is the anti-forgery field of the verification form (the page
// has other forms, such as the language switch).
var csrfField = regexp.MustCompile(`action="/v2/registration/verify"[^>]*>\s*<input type="hidden" name="csrf" value="([^"]+)"`)

// Opening the mailed verification link verifies nothing: the page's button
// does, through a form with the pages' anti-forgery checks. Apps POST JSON.
func testB2BVerifyLinkNeedsTheButton(t *testing.T, e *env, w *b2bWorld) {
	id := w.provision(t, endUser("ada@example.com", "lp-pin"))
	verified := func() bool {
		r := e.admin(w.clientA, "GET", "/api/v1/b2b/end-users/"+id, nil)
		expect(t, r, http.StatusOK)
		return r.json(t)["email_verified"] == true
	}
	token := w.verifyLink(t, "ada@example.com", "Ada", "Lovelace", "lp-pin")
	link := "/v2/registration/verify?token=" + url.QueryEscape(token)

	// Opening the link (twice, as scanners do) shows a page with a button.
	var page response
	for range 2 {
		page = e.do("GET", link, nil)
		expect(t, page, http.StatusOK)
	}
	if !strings.HasPrefix(page.header.Get("Content-Type"), "text/html") || !strings.Contains(string(page.body), `action="/v2/registration/verify"`) {
		t.Fatalf("verify page: %s", page.body)
	}
	if verified() {
		t.Fatal("opening the link verified the address")
	}
	expectProblem(t, w.noGateway("ada@example.com", "493817"), 422, "registration-refused")
	m := csrfField.FindStringSubmatch(string(page.body))
	if m == nil {
		t.Fatalf("no anti-forgery field: %s", page.body)
	}
	csrf := html.UnescapeString(m[1])

	// Forged posts: without the form token, with another link's token,
	// and from another site.
	for _, c := range []struct {
		form   url.Values
		header []string
	}{
		{url.Values{"token": {token}}, nil},
		{url.Values{"token": {token}, "csrf": {"forged"}}, nil},
		{url.Values{"token": {token}, "csrf": {csrf}}, []string{"Sec-Fetch-Site", "cross-site"}},
	} {
		r := e.form("/v2/registration/verify", c.form, c.header...)
		expect(t, r, http.StatusForbidden)
		if verified() {
			t.Fatal("a forged post verified the address")
		}
	}
	// A bad link shows a page and verifies nothing.
	r := e.do("GET", "/v2/registration/verify?token=bad", nil)
	if r.status != http.StatusNotFound || !strings.HasPrefix(r.header.Get("Content-Type"), "text/html") {
		t.Fatalf("bad link: %d %s", r.status, r.body)
	}

	// The button.
	r = e.form("/v2/registration/verify", url.Values{"token": {token}, "csrf": {csrf}})
	expect(t, r, http.StatusOK)
	if !strings.Contains(string(r.body), "verified") || !verified() {
		t.Fatalf("the button did not verify: %s", r.body)
	}
	okStatus(t, w.noGateway("ada@example.com", "493817"))

	// Apps post JSON to the same path.
	w.provision(t, endUser("app@example.com", "lp-pin"))
	okStatus(t, e.do("POST", "/v2/registration/verify", map[string]any{"token": w.verifyLink(t, "app@example.com", "Ada", "Lovelace", "lp-pin")}))
	okStatus(t, w.noGateway("app@example.com", "493817"))
}

// A client learns of an existing address only within its labelpartners;
// elsewhere the answer is the refusal any unacceptable provision gets.
func testB2BEndUserExistsOnlyWithinTheClientsLabelpartners(t *testing.T, e *env, w *b2bWorld) {
	w.provision(t, endUser("taken@example.com", "lp-pin", "external_authentication_provider_id", "ext-taken"))
	// Client A serves lp-pin: it learns that the address or id exists.
	expectProblem(t, e.admin(w.clientA, "POST", "/api/v1/b2b/end-users", endUser("Taken@example.com", "lp-pw")), 409, "end-user-exists")
	expectProblem(t, e.admin(w.clientA, "POST", "/api/v1/b2b/end-users", endUser("new@example.com", "lp-pw", "external_authentication_provider_id", "ext-taken")), 409, "end-user-exists")
	// Client B serves lp-other only: the same answer as for a refusal.
	for _, body := range []map[string]any{
		endUser("taken@example.com", "lp-other"),
		endUser("new@example.com", "lp-other", "external_authentication_provider_id", "ext-taken"),
	} {
		r := e.admin(w.clientB, "POST", "/api/v1/b2b/end-users", body)
		expectProblem(t, r, 422, "end-user-refused")
		if strings.Contains(string(r.body), "exist") {
			t.Fatalf("the refusal tells of an existing end user: %s", r.body)
		}
	}
	expect(t, e.admin(w.clientB, "POST", "/api/v1/b2b/end-users", endUser("free@example.com", "lp-other")), http.StatusCreated)
}

// A labelpartner with require_voucher refuses provisions without a voucher
// code and registrations of end users without one.
func testB2BLabelpartnerRequiresVoucher(t *testing.T, e *env, w *b2bWorld) {
	r := e.admin(envAdminKey, "POST", adminPath("default", "/labelpartners"), map[string]any{"name": "lp-voucher", "password_policy": "pincode", "require_voucher": true})
	expect(t, r, http.StatusCreated)
	if r.json(t)["require_voucher"] != true {
		t.Fatalf("labelpartner %s", r.body)
	}
	r = e.admin(envAdminKey, "GET", adminPath("default", "/labelpartners"), nil)
	expect(t, r, http.StatusOK)
	for _, lp := range r.json(t)["labelpartners"].([]any) {
		m := lp.(map[string]any)
		if want := m["name"] == "lp-voucher"; m["require_voucher"] != want {
			t.Fatalf("labelpartner list %s", r.body)
		}
	}
	id, secret := w.client(t, "crm-v", "b2b", "lp-voucher")
	client := w.token(t, id, secret)

	checkProblem(t, e.admin(client, "POST", "/api/v1/b2b/end-users", endUser("nov@example.com", "lp-voucher", "create_verified_user", true)), 422, "order.voucher_code")
	checkProblem(t, e.admin(client, "POST", "/api/v1/b2b/end-users", endUser("nov@example.com", "lp-voucher", "create_verified_user", true,
		"order", map[string]any{"voucher_code": "  "})), 422, "order.voucher_code")
	expect(t, e.admin(client, "POST", "/api/v1/b2b/end-users", endUser("v@example.com", "lp-voucher", "create_verified_user", true,
		"order", map[string]any{"voucher_code": "SPRING-26"})), http.StatusCreated)
	expectProblem(t, w.noGateway("v@example.com", "493817"), 422, "registration-refused")
	okStatus(t, w.noGateway("v@example.com", "493817", "SPRING-26"))

	// An end user provisioned before the labelpartner required vouchers
	// (here: without one, written directly) cannot register.
	expect(t, e.admin(client, "POST", "/api/v1/b2b/end-users", endUser("old@example.com", "lp-voucher", "create_verified_user", true,
		"order", map[string]any{"voucher_code": "X"})), http.StatusCreated)
	e.exec(`UPDATE b2b_end_users SET voucher_code = '' WHERE email_lower = $1`, "old@example.com")
	expectProblem(t, w.noGateway("old@example.com", "493817"), 422, "registration-refused")
	expectProblem(t, w.noGateway("old@example.com", "493817", "X"), 422, "registration-refused")
}

// TestB2BHardening runs the checks above on one B2B world per engine.
func TestB2BHardening(t *testing.T) {
	t.Parallel()
	dbtest.ForEach(t, func(t *testing.T, dsn string) {
		e := startAdmin(t, dsn)
		w := newB2BWorld(t, e, "")
		for _, c := range []struct {
			name string
			fn   func(*testing.T, *env, *b2bWorld)
		}{
			{"no-gateway checks the policy first", testB2BNoGatewayChecksThePolicyFirst},
			{"verify link needs the button", testB2BVerifyLinkNeedsTheButton},
			{"end-user-exists only within the client's labelpartners", testB2BEndUserExistsOnlyWithinTheClientsLabelpartners},
			{"labelpartner requires voucher", testB2BLabelpartnerRequiresVoucher},
		} {
			t.Run(c.name, func(t *testing.T) {
				e.t = t
				c.fn(t, e, w)
			})
		}
	})
}
