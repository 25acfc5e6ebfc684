package app_test

import (
	"context"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/pquerna/otp/totp"

	"github.com/onboard-dev/onboard/internal/backoffice"
	"github.com/onboard-dev/onboard/internal/domain"
	"github.com/onboard-dev/onboard/internal/mail"
	"github.com/onboard-dev/onboard/internal/testutil/dbtest"
)

// Browser tests of the back-office console (/admin): the supervisor's first
// sign-in from the mailed link, TOTP enrolment and sign-in with a code, an
// organization and its org_admin created from the console, the org_admin's
// 404 for another organization, and the User Onboarding page turning
// self-registration off and on again (the sign-in page's "Create new
// account" follows), with errors next to their fields.

// createBackOfficeUser creates a back-office user as `onboard admin user
// create` does; the running app's mail worker sends the link.
func (e *env) createBackOfficeUser(org, email, role string) {
	e.t.Helper()
	templates, err := mail.LoadTemplates("")
	if err != nil {
		e.t.Fatal(err)
	}
	bo := backoffice.New(backoffice.Deps{Store: e.app.Store(), Mail: templates}, backoffice.Config{PublicURL: e.base, MailFrom: e.cfg.MailFrom})
	if _, err := bo.CreateUser(context.Background(), "cli", backoffice.NewUser{Organization: org, Email: email, Role: role}); err != nil {
		e.t.Fatal(err)
	}
}

// consoleSignIn signs in at /admin/login and returns the status of the page
// the browser lands on.
func consoleSignIn(t *testing.T, tab context.Context, base, email, password string) int {
	t.Helper()
	openPage(t, tab, base+"/admin/login")
	typeInto(t, tab, "#f-email", email)
	typeInto(t, tab, "#f-password", password)
	return submitPage(t, tab)
}

// consoleSignOut presses the console's sign-out button.
func consoleSignOut(t *testing.T, tab context.Context) {
	t.Helper()
	if st := clickTo(t, tab, "form.logout button"); st != http.StatusOK {
		t.Fatalf("sign out: %d", st)
	}
}

func TestBrowserConsole(t *testing.T) {
	t.Parallel() // each has its own app, mail server, database and Chromium
	dbtest.ForEach(t, func(t *testing.T, dsn string) {
		tab := browser(t)
		e := start(t, dsn)
		logOnFailure(t, e)
		const supEmail, supPassword = "sup@onboard.test", "supervising the console"

		// Signups the funnel on the home page must show exactly: two
		// started, one form opened and completed, no sign-in yet.
		e.register("ada@example.com", "customer_business")
		e.startSignup("bob@example.com", "customer_personal")

		// The supervisor's link, its page, and the first sign-in.
		n := e.mails()
		e.createBackOfficeUser("default", supEmail, domain.RoleSupervisor)
		link := e.mailedLink(n, supEmail, "/admin/set-password")
		expectPage(t, tab, openPage(t, tab, link), http.StatusOK, "Choose your password")
		checkPage(t, tab, "console-set-password")
		typeInto(t, tab, "#f-password", supPassword)
		expectPage(t, tab, submitPage(t, tab), http.StatusOK, "Sign in to the console")
		if st := openPage(t, tab, link); st != http.StatusGone {
			t.Fatalf("the used link answers %d, want 410", st)
		}
		openPage(t, tab, e.base+"/admin/login")
		checkPage(t, tab, "console-login")
		typeInto(t, tab, "#f-email", supEmail)
		typeInto(t, tab, "#f-password", "not the password")
		expectPage(t, tab, submitPage(t, tab), http.StatusUnauthorized, "Sign in to the console")
		checkPage(t, tab, "console-login-error")
		expectPage(t, tab, consoleSignIn(t, tab, e.base, supEmail, supPassword), http.StatusOK, "onboard")
		if loc := location(t, tab); loc != e.base+"/admin/o/default/" {
			t.Fatalf("after sign-in at %s", loc)
		}
		checkPage(t, tab, "console-home")
		figures, err := chromedp.Run(tab, chromedp.Evaluate[[]string](`[...document.querySelectorAll("table.funnel-table td:nth-child(2)")].map(td => td.textContent)`))
		if err != nil {
			t.Fatal(err)
		}
		if strings.Join(figures, " ") != "2 1 1 0" {
			t.Fatalf("funnel figures on the home page %q, want 2 1 1 0", figures)
		}
		if st := openPage(t, tab, e.base+"/admin/o/default/?days=7&account_type=customer_personal"); st != http.StatusOK {
			t.Fatalf("funnel range: %d", st)
		}
		if got := pageText(t, tab, "table.funnel-table tbody tr:first-child td"); got != "1" {
			t.Fatalf("personal signups started %q, want 1", got)
		}

		// TOTP enrolment: QR code, a code, recovery codes shown once.
		expectPage(t, tab, openPage(t, tab, e.base+"/admin/security"), http.StatusOK, "Your sign-in security")
		expectPage(t, tab, clickTo(t, tab, `main button[type="submit"]`), http.StatusOK, "Your sign-in security")
		checkPage(t, tab, "console-totp-enrol")
		secret := pageText(t, tab, "code.secret")
		code, err := totp.GenerateCode(secret, time.Now())
		if err != nil {
			t.Fatal(err)
		}
		typeInto(t, tab, "#f-code", code)
		expectPage(t, tab, submitPage(t, tab), http.StatusOK, "Your sign-in security")
		if got := len(strings.Fields(pageText(t, tab, "ul.codes"))); got != backoffice.RecoveryCodes {
			t.Fatalf("%d recovery codes shown", got)
		}
		checkPage(t, tab, "console-totp-recovery")
		consoleSignOut(t, tab)
		// Sign-in now asks for a code; the one used at enrolment is spent.
		expectPage(t, tab, consoleSignIn(t, tab, e.base, supEmail, supPassword), http.StatusOK, "Enter your code")
		checkPage(t, tab, "console-code")
		typeInto(t, tab, "#f-code", code)
		expectPage(t, tab, submitPage(t, tab), http.StatusUnprocessableEntity, "Enter your code")
		next, err := totp.GenerateCode(secret, time.Now().Add(30*time.Second))
		if err != nil {
			t.Fatal(err)
		}
		typeInto(t, tab, "#f-code", next)
		expectPage(t, tab, submitPage(t, tab), http.StatusOK, "onboard")

		// The supervisor creates an organization and its org_admin.
		expectPage(t, tab, openPage(t, tab, e.base+"/admin/system"), http.StatusOK, "System")
		checkPage(t, tab, "console-system")
		typeInto(t, tab, "#f-org-name", "Not A Slug")
		typeInto(t, tab, "#f-org-display_name", "Acme")
		if st := clickTo(t, tab, `form[action="/admin/system/organizations"] button`); st != http.StatusUnprocessableEntity {
			t.Fatalf("bad organization name: %d", st)
		}
		if !exists(t, tab, "#f-org-name-error") {
			t.Fatal("no error next to the organization's name")
		}
		if err := chromedp.Do(tab, chromedp.SetValue(chromedp.CSS("#f-org-name"), "acme")); err != nil {
			t.Fatal(err)
		}
		if st := clickTo(t, tab, `form[action="/admin/system/organizations"] button`); st != http.StatusOK {
			t.Fatalf("create organization: %d", st)
		}
		if err := chromedp.Do(tab, chromedp.SetValue(chromedp.CSS("#f-user-organization"), "acme")); err != nil {
			t.Fatal(err)
		}
		typeInto(t, tab, "#f-user-email", "ann@acme.test")
		n = e.mails()
		if st := clickTo(t, tab, `form[action="/admin/system/users"] button`); st != http.StatusOK {
			t.Fatalf("create org_admin: %d", st)
		}
		annLink := e.mailedLink(n, "ann@acme.test", "/admin/set-password")

		// Data recipients may register; one does and waits in the queue;
		// a rejection needs a reason; approved, it signs in.
		openPage(t, tab, e.base+"/admin/o/default/onboarding")
		tick(t, tab, "#f-self_registration-account_types-3")
		if st := clickTo(t, tab, "form.onboarding > button"); st != http.StatusOK {
			t.Fatalf("offer data recipients: %d", st)
		}
		token := e.startSignup("dr@data.example", "data_recipient")
		body := e.completion(token, "data_recipient")
		body["customer"] = map[string]any{"name": "Data Analytics GmbH"}
		expect(t, e.do("POST", "/api/v1/signups/"+token, body), http.StatusCreated)
		expectPage(t, tab, openPage(t, tab, e.base+"/admin/o/default/approvals"), http.StatusOK, "Data recipients awaiting approval")
		if got := pageText(t, tab, "nav .count"); got != "1" {
			t.Fatalf("menu count %q, want 1", got)
		}
		checkPage(t, tab, "console-approvals")
		if st := clickTo(t, tab, `form[action$="/reject"] button`); st != http.StatusUnprocessableEntity {
			t.Fatalf("reject without a reason: %d", st)
		}
		if !exists(t, tab, `[id$="-error"]`) {
			t.Fatal("no error next to the reason")
		}
		expect(t, e.do("POST", "/api/v1/sessions", map[string]any{"email": "dr@data.example", "password": goodPassword}), http.StatusForbidden)
		if st := clickTo(t, tab, `form[action$="/approve"] button`); st != http.StatusOK {
			t.Fatalf("approve: %d", st)
		}
		if got := pageText(t, tab, "nav .count"); got != "0" {
			t.Fatalf("menu count after approval %q, want 0", got)
		}
		e.login("dr@data.example", goodPassword)
		consoleSignOut(t, tab)

		// The org_admin sets a password and manages acme only.
		openPage(t, tab, annLink)
		typeInto(t, tab, "#f-password", "acme administration")
		submitPage(t, tab)
		expectPage(t, tab, consoleSignIn(t, tab, e.base, "ann@acme.test", "acme administration"), http.StatusOK, "Acme")
		for _, p := range []string{"/admin/o/default/", "/admin/o/default/onboarding", "/admin/system", "/admin/switch?org=default"} {
			if st := openPage(t, tab, e.base+p); st != http.StatusNotFound {
				t.Errorf("org_admin of acme gets %d for %s, want 404", st, p)
			}
		}
		checkPage(t, tab, "console-not-found")

		// Self-registration off: "Create new account" leaves acme's sign-in page.
		expectPage(t, tab, openPage(t, tab, e.base+"/admin/o/acme/onboarding"), http.StatusOK, "Access and Security / User Onboarding")
		checkPage(t, tab, "console-onboarding")
		openPage(t, tab, e.base+"/o/acme/login")
		if !exists(t, tab, "#create-account") {
			t.Fatal("no Create new account before the change")
		}
		openPage(t, tab, e.base+"/admin/o/acme/onboarding")
		tick(t, tab, "#f-self_registration-enabled")
		typeInto(t, tab, "#f-branding-accent_color", "blue")
		if st := clickTo(t, tab, "form.onboarding > button"); st != http.StatusUnprocessableEntity {
			t.Fatalf("bad colour saved: %d", st)
		}
		if got := pageText(t, tab, "#f-branding-accent_color-error"); !strings.Contains(got, "#rrggbb") {
			t.Fatalf("colour error %q", got)
		}
		checkPage(t, tab, "console-onboarding-errors")
		if err := chromedp.Do(tab, chromedp.Clear(chromedp.CSS("#f-branding-accent_color"))); err != nil {
			t.Fatal(err)
		}
		if st := clickTo(t, tab, "form.onboarding > button"); st != http.StatusOK {
			t.Fatalf("save: %d", st)
		}
		openPage(t, tab, e.base+"/o/acme/login")
		if exists(t, tab, "#create-account") {
			t.Fatal("Create new account still shown with self-registration off")
		}
		// On again, with an email requirement tried on the same page.
		openPage(t, tab, e.base+"/admin/o/acme/onboarding")
		tick(t, tab, "#f-self_registration-enabled")
		typeInto(t, tab, "#f-email_requirement", `.*@acme\.test`)
		if st := clickTo(t, tab, "form.onboarding > button"); st != http.StatusOK {
			t.Fatalf("save: %d", st)
		}
		typeInto(t, tab, "#f-try-email", "someone@elsewhere.test")
		if st := clickTo(t, tab, `form[action="/admin/o/acme/onboarding/try-email"] button`); st != http.StatusOK {
			t.Fatalf("try an address: %d", st)
		}
		if got := pageText(t, tab, "#try-email .result"); !strings.Contains(got, "refused") {
			t.Fatalf("try result %q", got)
		}
		openPage(t, tab, e.base+"/o/acme/login")
		if !exists(t, tab, "#create-account") {
			t.Fatal("no Create new account after turning self-registration on again")
		}
		// Every change is the back-office user's in the audit log.
		var changes int
		if err := e.app.Store().DB().QueryRowContext(context.Background(), `SELECT count(*) FROM audit_log
			WHERE action = 'onboarding.updated' AND actor LIKE 'backoffice:%'`).Scan(&changes); err != nil {
			t.Fatal(err)
		}
		if changes != 3 {
			t.Fatalf("%d onboarding changes by back-office users in the audit log, want 3", changes)
		}
	})
}

// TestConsoleSessionsApart: a customer's session never opens the console,
// and a console session never opens the account pages.
func TestConsoleSessionsApart(t *testing.T) {
	t.Parallel()
	e := start(t, dbtest.SQLite(t))
	logOnFailure(t, e)
	e.register("cus@example.com", "customer_personal")
	custToken := e.login("cus@example.com", goodPassword)
	n := e.mails()
	e.createBackOfficeUser("default", "sup@onboard.test", domain.RoleSupervisor)
	link := e.mailedLink(n, "sup@onboard.test", "/admin/set-password")
	noRedirect := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	send := func(method, path, cookie string, form url.Values) (*http.Response, string) {
		t.Helper()
		req, err := http.NewRequest(method, path, strings.NewReader(form.Encode()))
		if err != nil {
			t.Fatal(err)
		}
		if form != nil {
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		}
		if cookie != "" {
			req.Header.Set("Cookie", cookie)
		}
		res, err := noRedirect.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		body, _ := io.ReadAll(res.Body)
		return res, string(body)
	}
	csrfRE := regexp.MustCompile(`name="csrf" value="([^"]+)"`)
	_, page := send("GET", link, "", nil)
	csrf := csrfRE.FindStringSubmatch(page)
	if csrf == nil {
		t.Fatalf("no form token on the set-password page:\n%s", page)
	}
	token := strings.TrimPrefix(link, e.base+"/admin/set-password?token=")
	if res, _ := send("POST", e.base+"/admin/set-password", "", url.Values{"csrf": {csrf[1]}, "token": {token}, "password": {"supervising the console"}}); res.StatusCode != http.StatusSeeOther {
		t.Fatalf("set password: %d", res.StatusCode)
	}
	// Without the form token, nothing happens.
	if res, _ := send("POST", e.base+"/admin/login", "", url.Values{"email": {"sup@onboard.test"}, "password": {"supervising the console"}}); res.StatusCode != http.StatusForbidden {
		t.Fatalf("login without the form token: %d", res.StatusCode)
	}
	res, _ := send("POST", e.base+"/admin/login", "", url.Values{"csrf": {csrf[1]}, "email": {"sup@onboard.test"}, "password": {"supervising the console"}})
	var consoleToken string
	for _, c := range res.Cookies() {
		if c.Name == "onboard_console" {
			consoleToken = c.Value
		}
	}
	if res.StatusCode != http.StatusSeeOther || consoleToken == "" {
		t.Fatalf("console login: %d, cookie %q", res.StatusCode, consoleToken)
	}
	if res, _ := send("GET", e.base+"/admin/", "onboard_console="+consoleToken, nil); res.StatusCode != http.StatusSeeOther || res.Header.Get("Location") != "/admin/o/default/" {
		t.Fatalf("console session on /admin: %d %s", res.StatusCode, res.Header.Get("Location"))
	}
	for _, ck := range []string{"onboard_console=" + custToken, "onboard_session=" + custToken} {
		res, _ := send("GET", e.base+"/admin/", ck, nil)
		if res.StatusCode != http.StatusSeeOther || !strings.HasPrefix(res.Header.Get("Location"), "/admin/login") {
			t.Errorf("customer credentials (%s) on /admin: %d %s", ck[:strings.IndexByte(ck, '=')], res.StatusCode, res.Header.Get("Location"))
		}
	}
	// The console's session is not a session of the account pages.
	res, _ = send("GET", e.base+"/account", "onboard_session="+consoleToken, nil)
	if res.StatusCode != http.StatusSeeOther || !strings.HasPrefix(res.Header.Get("Location"), "/login") {
		t.Errorf("console session on /account: %d %s", res.StatusCode, res.Header.Get("Location"))
	}
	// Nor the customer's API token a bearer of the admin API.
	r := e.do("GET", "/api/v1/admin/organizations", nil, "Authorization", "Bearer "+consoleToken)
	expect(t, r, http.StatusUnauthorized)
}
