package app_test

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/onboard-dev/onboard/internal/testutil/dbtest"
)

// Browser tests of the pages for the links of account management mails:
// /invitation, /reset-password and /confirm-email. Each opens the link the
// SMTP server received in headless Chromium, fills and submits the form,
// and then proves the effect (or its absence) through the API.

// mailedLink waits for a mail to addr after the first n messages with a link
// to path (e.g. "/invitation") and returns the link as the mail has it.
func (e *env) mailedLink(n int, addr, path string) string {
	e.t.Helper()
	prefix := e.base + path + "?token="
	link := e.mailSince(n, addr, prefix).Link(prefix)
	if link == "" {
		e.t.Fatalf("no %s link in the mail to %s", path, addr)
	}
	return link
}

// openPage navigates the tab to link and returns the HTTP status of the page.
func openPage(t *testing.T, tab context.Context, link string) int {
	t.Helper()
	res, err := chromedp.RunResponse(tab, chromedp.Navigate(link))
	if err != nil {
		t.Fatalf("open %s: %v", link, err)
	}
	return int(res.Status)
}

// submitPage clicks the form's submit button and returns the HTTP status of
// the page the browser gets.
func submitPage(t *testing.T, tab context.Context) int {
	t.Helper()
	res, err := chromedp.RunResponse(tab, chromedp.Click(chromedp.CSS(`main button[type="submit"]`)))
	if err != nil {
		t.Fatalf("submit: %v", err)
	}
	return int(res.Status)
}

// typeInto types text into the input sel.
func typeInto(t *testing.T, tab context.Context, sel, text string) {
	t.Helper()
	if err := chromedp.Do(tab, chromedp.SendKeys(chromedp.CSS(sel), text)); err != nil {
		t.Fatalf("type into %s: %v", sel, err)
	}
}

// tick clicks the checkbox sel.
func tick(t *testing.T, tab context.Context, sel string) {
	t.Helper()
	if err := chromedp.Do(tab, chromedp.Click(chromedp.CSS(sel))); err != nil {
		t.Fatalf("click %s: %v", sel, err)
	}
}

// pageText returns the visible text of the element sel.
func pageText(t *testing.T, tab context.Context, sel string) string {
	t.Helper()
	s, err := chromedp.Run(tab, chromedp.Text(chromedp.CSS(sel)))
	if err != nil {
		t.Fatalf("text of %s: %v", sel, err)
	}
	return strings.TrimSpace(s)
}

// pageValue returns the value of the input sel.
func pageValue(t *testing.T, tab context.Context, sel string) string {
	t.Helper()
	s, err := chromedp.Run(tab, chromedp.Value(chromedp.CSS(sel)))
	if err != nil {
		t.Fatalf("value of %s: %v", sel, err)
	}
	return s
}

// expectPage checks the status and the title (h1) of the page in the tab.
func expectPage(t *testing.T, tab context.Context, status, wantStatus int, wantTitle string) {
	t.Helper()
	if title := pageText(t, tab, "h1"); status != wantStatus || title != wantTitle {
		t.Fatalf("page %d %q, want %d %q; page text: %s", status, title, wantStatus, wantTitle, pageText(t, tab, "main"))
	}
}

// expectPasswordError checks that the page shows a policy error next to the
// password input, which is left empty.
func expectPasswordError(t *testing.T, tab context.Context, want string) {
	t.Helper()
	if got := pageText(t, tab, "#f-password-error"); !strings.Contains(got, want) {
		t.Errorf("password error = %q, want one containing %q", got, want)
	}
	if pw := pageValue(t, tab, "#f-password"); pw != "" {
		t.Errorf("password field after the error = %q, want empty", pw)
	}
}

// expectNoSignIn checks that email and password do not sign in.
func (e *env) expectNoSignIn(email, password string) {
	e.t.Helper()
	r := e.do("POST", "/api/v1/sessions", map[string]any{"email": email, "password": password})
	expect(e.t, r, http.StatusUnauthorized)
}

// TestBrowserInvitation accepts an invitation through the page: a weak
// password is refused next to its input and activates nothing; the
// corrected form joins the account, and the invited user signs in with the
// chosen password.
func TestBrowserInvitation(t *testing.T) {
	t.Parallel() // each has its own app, mail server, database and Chromium
	dbtest.ForEach(t, func(t *testing.T, dsn string) {
		tab := browser(t)
		e := start(t, dsn)
		logOnFailure(t, e)
		ada := e.registerMember("ada@example.com")
		const email = "charles@example.com"
		n := e.mails()
		expect(t, e.as(ada.token, "POST", "/api/v1/customers/"+ada.account+"/invitations",
			map[string]any{"email": email, "user_type": "customer_user"}), http.StatusCreated)
		link := e.mailedLink(n, email, "/invitation")
		token := strings.TrimPrefix(link, e.base+"/invitation?token=")
		agreements := len(e.invitationBody(token)["accepted_agreements"].([]string))

		expectPage(t, tab, openPage(t, tab, link), http.StatusOK, "Accept your invitation")
		checkPage(t, tab, "invitation")
		if lead := pageText(t, tab, ".lead"); !strings.Contains(lead, email) || !strings.Contains(lead, "Analytical Engines Ltd") {
			t.Errorf("lead = %q, want the invited address and the account", lead)
		}
		typeInto(t, tab, "#f-user-first_name", "Charles")
		typeInto(t, tab, "#f-user-last_name", "Babbage")
		typeInto(t, tab, "#f-password", "short")
		for i := range agreements {
			tick(t, tab, fmt.Sprintf("#f-agreement-%d", i))
		}
		expectPage(t, tab, submitPage(t, tab), http.StatusUnprocessableEntity, "Accept your invitation")
		expectPasswordError(t, tab, "Password must be at least")
		if got := pageValue(t, tab, "#f-user-first_name"); got != "Charles" {
			t.Errorf("first name after the error = %q, want it kept", got)
		}
		// Nothing happened: the invitation is still open, nobody signs in.
		expect(t, e.do("GET", "/api/v1/invitations/"+token, nil), http.StatusOK)
		e.expectNoSignIn(email, "short")

		typeInto(t, tab, "#f-password", goodPassword)
		// Accepting signs the colleague in: the account page shows them.
		expectPage(t, tab, submitPage(t, tab), http.StatusOK, "Your account")
		if lead := pageText(t, tab, ".lead"); !strings.Contains(lead, email) {
			t.Errorf("account lead = %q, want the signed-in address", lead)
		}

		// The invited user is a member of Ada's customer, with the password
		// chosen on the page; the link is used up.
		charles := e.login(email, goodPassword)
		r := e.as(charles, "GET", "/api/v1/me", nil)
		expect(t, r, http.StatusOK)
		me := r.json(t)
		if field(me, "customer", "id") != ada.account || field(me, "user", "first_name") != "Charles" {
			t.Fatalf("me = %s", r.body)
		}
		expect(t, e.do("GET", "/api/v1/invitations/"+token, nil), http.StatusGone)
	})
}

// TestBrowserPasswordReset asks for a reset link on the page and sets a new
// password through the mailed link: a common password is refused next to
// its input and changes nothing; then the new password works and the old
// one no longer does.
func TestBrowserPasswordReset(t *testing.T) {
	t.Parallel() // each has its own app, mail server, database and Chromium
	dbtest.ForEach(t, func(t *testing.T, dsn string) {
		tab := browser(t)
		e := start(t, dsn)
		logOnFailure(t, e)
		const email = "ada@example.com"
		ada := e.registerMember(email)

		n := e.mails()
		expectPage(t, tab, openPage(t, tab, e.base+"/reset-password"), http.StatusOK, "Forgot your password?")
		typeInto(t, tab, "#f-email", email)
		expectPage(t, tab, submitPage(t, tab), http.StatusOK, "Check your mailbox")
		link := e.mailedLink(n, email, "/reset-password")
		token := strings.TrimPrefix(link, e.base+"/reset-password?token=")

		expectPage(t, tab, openPage(t, tab, link), http.StatusOK, "Set a new password")
		checkPage(t, tab, "reset-password")
		if lead := pageText(t, tab, ".lead"); !strings.Contains(lead, "a***@example.com") {
			t.Errorf("lead = %q, want the masked address", lead)
		}
		typeInto(t, tab, "#f-password", "password123")
		expectPage(t, tab, submitPage(t, tab), http.StatusUnprocessableEntity, "Set a new password")
		expectPasswordError(t, tab, "common")
		// Nothing changed: the old password works, the link stays usable.
		e.login(email, goodPassword)
		e.expectNoSignIn(email, "password123")
		expect(t, e.do("GET", "/api/v1/password-resets/"+token, nil), http.StatusOK)

		typeInto(t, tab, "#f-password", newPassword)
		expectPage(t, tab, submitPage(t, tab), http.StatusOK, "Your password has been changed")

		e.login(email, newPassword)
		e.expectNoSignIn(email, goodPassword)
		expect(t, e.as(ada.token, "GET", "/api/v1/me", nil), http.StatusUnauthorized)
		expect(t, e.do("GET", "/api/v1/password-resets/"+token, nil), http.StatusGone)
		expectPage(t, tab, openPage(t, tab, link), http.StatusGone, "This link can no longer be used")
		checkPage(t, tab, "link-used")
		expectPage(t, tab, openPage(t, tab, e.base+"/o/no-such-organization/login"), http.StatusNotFound, "Page not found")
		checkPage(t, tab, "not-found")
	})
}

// TestBrowserEmailChange confirms a change of address through the page:
// opening the link changes nothing, the button does; a confirmation for an
// address someone else registered meanwhile is refused and changes nothing.
func TestBrowserEmailChange(t *testing.T) {
	t.Parallel() // each has its own app, mail server, database and Chromium
	dbtest.ForEach(t, func(t *testing.T, dsn string) {
		tab := browser(t)
		e := start(t, dsn)
		logOnFailure(t, e)
		const (
			email    = "ada@example.com"
			newEmail = "Ada.Lovelace@example.org"
			taken    = "taken@example.com"
		)
		ada := e.registerMember(email)
		change := func(to string) string {
			t.Helper()
			n := e.mails()
			expect(t, e.as(ada.token, "POST", "/api/v1/me/email", map[string]any{"email": to, "current_password": goodPassword}), http.StatusAccepted)
			return e.mailedLink(n, to, "/confirm-email")
		}
		meEmail := func() any {
			t.Helper()
			r := e.as(ada.token, "GET", "/api/v1/me", nil)
			expect(t, r, http.StatusOK)
			return field(r.json(t), "user", "email")
		}

		// Failure: the address is registered by someone else before the
		// button is pressed.
		link := change(taken)
		expectPage(t, tab, openPage(t, tab, link), http.StatusOK, "Confirm your new email address")
		checkPage(t, tab, "confirm-email")
		e.register(taken, "customer_personal")
		expectPage(t, tab, submitPage(t, tab), http.StatusConflict, "This did not work")
		if got := meEmail(); got != email {
			t.Fatalf("address after the refused confirmation: %v", got)
		}
		e.login(email, goodPassword)

		// Success.
		link = change(newEmail)
		token := strings.TrimPrefix(link, e.base+"/confirm-email?token=")
		expectPage(t, tab, openPage(t, tab, link), http.StatusOK, "Confirm your new email address")
		if lead := pageText(t, tab, ".lead"); !strings.Contains(lead, "a***@example.com") || !strings.Contains(lead, newEmail) {
			t.Errorf("lead = %q, want the masked old and the new address", lead)
		}
		// Opening the link changed nothing.
		if got := meEmail(); got != email {
			t.Fatalf("address after opening the link: %v", got)
		}
		expectPage(t, tab, submitPage(t, tab), http.StatusOK, "Your email address has been changed")
		if lead := pageText(t, tab, ".lead.success"); !strings.Contains(lead, newEmail) {
			t.Errorf("success lead = %q, want the new address", lead)
		}

		if got := meEmail(); got != newEmail {
			t.Fatalf("address after confirmation: %v, want %s", got, newEmail)
		}
		e.login(strings.ToLower(newEmail), goodPassword)
		e.expectNoSignIn(email, goodPassword)
		expect(t, e.do("GET", "/api/v1/email-changes/"+token, nil), http.StatusGone)
	})
}
