package app_test

import (
	"context"
	"net/http"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/onboard-dev/onboard/internal/testutil/dbtest"
)

// Browser tests of the signed-in area (/account): a person signs in on
// /login and uses the pages in Chromium; effects are proved through the API
// and the mail the SMTP server received. Every page is checked with axe-core
// and photographed at 375 and 1280 px.

// acctSignIn signs email in on the sign-in page and waits for the account.
func acctSignIn(t *testing.T, tab context.Context, e *env, email, password string) {
	t.Helper()
	expectPage(t, tab, openPage(t, tab, e.base+"/login"), http.StatusOK, pageText(t, tab, "h1"))
	typeInto(t, tab, "main #f-email", email)
	typeInto(t, tab, "main #f-password", password)
	if status := acctSubmit(t, tab, "main form"); status != http.StatusOK {
		t.Fatalf("sign-in answered %d: %s", status, pageText(t, tab, "main"))
	}
	if loc := acctLocation(t, tab); loc != e.base+"/account" {
		t.Fatalf("after sign-in the browser is at %s, want /account", loc)
	}
}

// acctSubmit clicks the submit button of the form sel (the first when the
// form has several) and returns the status of the page the browser ends on.
func acctSubmit(t *testing.T, tab context.Context, sel string) int {
	t.Helper()
	res, err := chromedp.RunResponse(tab, chromedp.Click(chromedp.CSS(sel+` button[type="submit"]`)))
	if err != nil {
		t.Fatalf("submit %s: %v", sel, err)
	}
	return int(res.Status)
}

// acctLocation is the address the tab shows.
func acctLocation(t *testing.T, tab context.Context) string {
	t.Helper()
	loc, err := chromedp.Run(tab, chromedp.Location())
	if err != nil {
		t.Fatal(err)
	}
	return loc
}

// acctNotice is the notice a page shows after a change.
func acctNotice(t *testing.T, tab context.Context) string {
	t.Helper()
	return pageText(t, tab, "main .notice")
}

// acctVisit opens a page of the area, expects its status and title, and
// checks and photographs it under name.
func acctVisit(t *testing.T, tab context.Context, e *env, path string, status int, title, name string) {
	t.Helper()
	expectPage(t, tab, openPage(t, tab, e.base+path), status, title)
	checkPage(t, tab, name)
}

// TestBrowserAccountAdministrator: a signed-in administrator invites a
// colleague, the colleague accepts from the real mail, the administrator
// changes the colleague's type and removes them; the last administrator
// cannot demote themselves.
func TestBrowserAccountAdministrator(t *testing.T) {
	t.Parallel()
	dbtest.ForEach(t, func(t *testing.T, dsn string) {
		tab := browser(t)
		e := start(t, dsn)
		logOnFailure(t, e)
		const colleague = "charles@example.com"
		ada := e.registerMember("ada@example.com")
		acctSignIn(t, tab, e, ada.email, goodPassword)
		checkPage(t, tab, "account")

		// Invite the colleague.
		acctVisit(t, tab, e, "/account/invitations", http.StatusOK, "Invitations", "account-invitations")
		typeInto(t, tab, "main #f-email", colleague)
		n := e.mails()
		if status := acctSubmit(t, tab, "main section form"); status != http.StatusOK {
			t.Fatalf("invite answered %d: %s", status, pageText(t, tab, "main"))
		}
		if got := acctNotice(t, tab); got != "The invitation has been sent." {
			t.Errorf("notice after inviting = %q", got)
		}
		if list := pageText(t, tab, "main .cards"); !strings.Contains(list, colleague) || !strings.Contains(list, "Pending") {
			t.Errorf("invitations after inviting: %q, want the colleague's pending invitation", list)
		}
		checkPage(t, tab, "account-invitations-sent")
		link := e.mailedLink(n, colleague, "/invitation")

		// The colleague accepts in a browser of their own.
		other := browser(t)
		if status := openPage(t, other, link); status != http.StatusOK {
			t.Fatalf("invitation link answered %d", status)
		}
		typeInto(t, other, "main #f-user-first_name", "Charles")
		typeInto(t, other, "main #f-user-last_name", "Babbage")
		typeInto(t, other, "main #f-password", goodPassword)
		for _, sel := range acctAgreementBoxes(t, other) {
			tick(t, other, sel)
		}
		acctSubmit(t, other, "main form")
		charles := e.login(colleague, goodPassword)

		// The administrator sees the colleague and makes them a viewer.
		acctVisit(t, tab, e, "/account/users", http.StatusOK, "Users", "account-users")
		charlesID := acctUserID(t, e, charles)
		if err := chromedp.Do(tab, chromedp.SetValue(chromedp.CSS("#f-type-"+charlesID), "customer_viewer")); err != nil {
			t.Fatal(err)
		}
		if status := acctSubmit(t, tab, "#user-"+charlesID+" form"); status != http.StatusOK {
			t.Fatalf("change type answered %d: %s", status, pageText(t, tab, "main"))
		}
		if got := acctNotice(t, tab); got != "The user type has been changed." {
			t.Errorf("notice after the change = %q", got)
		}
		if got := acctMeField(t, e, charles, "user", "user_type"); got != "customer_viewer" {
			t.Errorf("colleague's user type = %v, want customer_viewer", got)
		}

		// The last administrator cannot make themselves a plain user.
		if err := chromedp.Do(tab, chromedp.SetValue(chromedp.CSS("#f-type-"+ada.id), "customer_user")); err != nil {
			t.Fatal(err)
		}
		expectPage(t, tab, acctSubmit(t, tab, "#user-"+ada.id+" form"), http.StatusConflict, "Users")
		if msg := pageText(t, tab, "main .errors"); !strings.Contains(msg, "last administrator") {
			t.Errorf("error after demoting the last administrator = %q", msg)
		}
		checkPage(t, tab, "account-users-last-admin")
		if got := acctMeField(t, e, ada.token, "user", "user_type"); got != "customer_admin" {
			t.Errorf("administrator's user type after the refusal = %v", got)
		}

		// Remove the colleague, after a confirmation page.
		if err := chromedp.Do(tab, chromedp.Click(chromedp.CSS("#user-"+charlesID+" a.button-link"))); err != nil {
			t.Fatal(err)
		}
		if err := chromedp.Do(tab, chromedp.WaitVisible(chromedp.CSS("main form"))); err != nil {
			t.Fatal(err)
		}
		if title := pageText(t, tab, "h1"); title != "Remove a user" {
			t.Fatalf("confirmation page %q", title)
		}
		checkPage(t, tab, "account-user-remove")
		if status := acctSubmit(t, tab, "main form"); status != http.StatusOK {
			t.Fatalf("remove answered %d", status)
		}
		if got := acctNotice(t, tab); got != "The user has been removed." {
			t.Errorf("notice after removing = %q", got)
		}
		if strings.Contains(pageText(t, tab, "main .cards"), colleague) {
			t.Error("the removed colleague is still listed")
		}
		e.expectNoSignIn(colleague, goodPassword)
		expect(t, e.as(charles, "GET", "/api/v1/me", nil), http.StatusUnauthorized)
	})
}

// acctAgreementBoxes are the selectors of the agreement checkboxes of the
// form in the tab.
func acctAgreementBoxes(t *testing.T, tab context.Context) []string {
	t.Helper()
	ids, err := chromedp.Run(tab, chromedp.Evaluate[[]string](`[...document.querySelectorAll('main input[name="agreement"]')].map(e => '#' + e.id)`))
	if err != nil {
		t.Fatal(err)
	}
	return ids
}

// acctMeField reads a field of GET /api/v1/me for the session token.
func acctMeField(t *testing.T, e *env, token string, path ...string) any {
	t.Helper()
	r := e.as(token, "GET", "/api/v1/me", nil)
	expect(t, r, http.StatusOK)
	v := field(r.json(t), path...)
	if m, ok := v.(map[string]any); ok {
		return m["name"]
	}
	return v
}

// acctUserID is the id of the user of the session token.
func acctUserID(t *testing.T, e *env, token string) string {
	t.Helper()
	id, _ := acctMeField(t, e, token, "user", "id").(string)
	if id == "" {
		t.Fatal("no user id in /api/v1/me")
	}
	return id
}

// TestBrowserAccountSelf: profile (the language switch to Italian turns the
// pages Italian), password change, sessions (ending another one),
// agreements and the data page, all checked with axe-core.
func TestBrowserAccountSelf(t *testing.T) {
	t.Parallel()
	dbtest.ForEach(t, func(t *testing.T, dsn string) {
		tab := browser(t)
		e := start(t, dsn)
		logOnFailure(t, e)
		ada := e.registerMember("ada@example.com")
		acctSignIn(t, tab, e, ada.email, goodPassword)

		acctVisit(t, tab, e, "/account/agreements", http.StatusOK, "Your agreements", "account-agreements")
		if list := pageText(t, tab, "main .cards"); !strings.Contains(list, "Version") || !strings.Contains(list, "UTC") {
			t.Errorf("agreements page: %q, want versions and dates", list)
		}
		acctVisit(t, tab, e, "/account/data", http.StatusOK, "Your data", "account-data")
		acctVisit(t, tab, e, "/account/password", http.StatusOK, "Change your password", "account-password")
		acctVisit(t, tab, e, "/account/email", http.StatusOK, "Change your email address", "account-email")
		acctVisit(t, tab, e, "/account/details", http.StatusOK, "Account details", "account-details")
		acctVisit(t, tab, e, "/account/locations", http.StatusOK, "Locations", "account-locations")
		acctVisit(t, tab, e, "/account/delete", http.StatusOK, "Delete the account", "account-delete")

		// Sessions: the API session (ada.token) is another session; end it.
		acctVisit(t, tab, e, "/account/sessions", http.StatusOK, "Your sessions", "account-sessions")
		if n := acctCount(t, tab, "main .cards > li"); n != 2 {
			t.Fatalf("sessions listed: %d, want 2", n)
		}
		if status := acctSubmit(t, tab, "main .cards li:not(.current) form"); status != http.StatusOK {
			t.Fatalf("end session answered %d", status)
		}
		if got := acctNotice(t, tab); got != "The session has been ended." {
			t.Errorf("notice after ending a session = %q", got)
		}
		if n := acctCount(t, tab, "main .cards > li"); n != 1 {
			t.Errorf("sessions listed after ending one: %d, want 1", n)
		}
		expect(t, e.as(ada.token, "GET", "/api/v1/me", nil), http.StatusUnauthorized)

		// Profile: a wrong phone is refused next to its field, then the
		// language is set to Italian and the pages speak Italian.
		acctVisit(t, tab, e, "/account/profile", http.StatusOK, "Your profile", "account-profile")
		if _, err := chromedp.Run(tab, chromedp.Evaluate[string](`document.querySelector("main #f-phone").value = ""`)); err != nil {
			t.Fatal(err)
		}
		typeInto(t, tab, "main #f-phone", "not a phone")
		expectPage(t, tab, acctSubmit(t, tab, "main form"), http.StatusUnprocessableEntity, "Your profile")
		if got := pageText(t, tab, "#f-phone-error"); !strings.Contains(got, "Phone") {
			t.Errorf("phone error = %q", got)
		}
		checkPage(t, tab, "account-profile-error")
		if err := chromedp.Do(tab, chromedp.SetValue(chromedp.CSS("main #f-phone"), "+44 20 7946 0000")); err != nil {
			t.Fatal(err)
		}
		tick(t, tab, `main input[name="language"][value="it"]`)
		expectPage(t, tab, acctSubmit(t, tab, "main form"), http.StatusOK, "Il tuo profilo")
		if got := acctNotice(t, tab); got != "Il tuo profilo è stato salvato." {
			t.Errorf("notice after saving = %q", got)
		}
		if lang, err := chromedp.Run(tab, chromedp.Evaluate[string](`document.documentElement.lang`)); err != nil || lang != "it" {
			t.Errorf("html lang = %q, %v; want it", lang, err)
		}
		acctVisit(t, tab, e, "/account/users", http.StatusOK, "Utenti", "account-users-it")
		acctVisit(t, tab, e, "/account", http.StatusOK, "Il tuo account", "account-it")
		r := e.as(e.login(ada.email, goodPassword), "GET", "/api/v1/me", nil)
		expect(t, r, http.StatusOK)
		if got := field(r.json(t), "user", "phone"); got != "+44 20 7946 0000" {
			t.Errorf("phone after saving = %v", got)
		}

		// The saved language is the language of mail too: the email change
		// is asked for on the Italian page and confirmed from the Italian
		// mail, through the confirmation page.
		const newEmail = "ada@example.org"
		acctVisit(t, tab, e, "/account/email", http.StatusOK, "Cambia l'indirizzo email", "account-email-it")
		typeInto(t, tab, "main #f-email", newEmail)
		typeInto(t, tab, "main #f-current_password", goodPassword)
		n := e.mails()
		expectPage(t, tab, acctSubmit(t, tab, "main form"), http.StatusAccepted, "Controlla la tua casella di posta")
		msg := e.mailSince(n, newEmail, "/confirm-email?token=")
		if !strings.Contains(msg.Text, "Per confermare la modifica") {
			t.Errorf("the confirmation mail is not in Italian:\n%s", msg.Text)
		}
		if status := openPage(t, tab, msg.Link(e.base+"/confirm-email?token=")); status != http.StatusOK {
			t.Fatalf("confirmation link answered %d", status)
		}
		if status := acctSubmit(t, tab, "main form"); status != http.StatusOK {
			t.Fatalf("confirmation answered %d: %s", status, pageText(t, tab, "main"))
		}
		e.login(newEmail, goodPassword)
		e.expectNoSignIn(ada.email, goodPassword)
	})
}

// acctCount counts the elements matching sel.
func acctCount(t *testing.T, tab context.Context, sel string) int {
	t.Helper()
	n, err := chromedp.Run(tab, chromedp.Evaluate[int](`document.querySelectorAll(`+"`"+sel+"`"+`).length`))
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// TestBrowserAccountPlainUser: a plain user's navigation has no
// administrator pages and opening them gives the 403 page; an
// administrator guessing another account's ids gets the 404 page.
func TestBrowserAccountPlainUser(t *testing.T) {
	t.Parallel()
	dbtest.ForEach(t, func(t *testing.T, dsn string) {
		tab := browser(t)
		e := start(t, dsn)
		logOnFailure(t, e)
		ada := e.registerMember("ada@example.com")
		charles := e.join(ada, "charles@example.com", "customer_user")
		acctSignIn(t, tab, e, charles.email, goodPassword)
		nav := pageText(t, tab, "main nav")
		for _, admin := range []string{"Users", "Invitations", "Delete account", "Account details"} {
			if strings.Contains(nav, admin) {
				t.Errorf("the plain user's navigation offers %q: %q", admin, nav)
			}
		}
		checkPage(t, tab, "account-plain-user")
		for _, path := range []string{"/account/users", "/account/invitations", "/account/delete", "/account/details",
			"/account/users/" + ada.id + "/remove"} {
			acctVisit(t, tab, e, path, http.StatusForbidden, "You cannot open this page", "account-forbidden")
		}
		acctVisit(t, tab, e, "/account/locations", http.StatusOK, "Locations", "account-locations-read-only")
		if n := acctCount(t, tab, "main form.row-form"); n != 0 {
			t.Errorf("a plain user sees %d location forms", n)
		}

		// An administrator guessing another account's user id gets the same
		// page as for an id that does not exist.
		grace := e.registerMember("grace@example.com")
		if status := acctSubmit(t, tab, "header form.logout"); status != http.StatusOK {
			t.Fatalf("sign-out answered %d", status)
		}
		acctSignIn(t, tab, e, ada.email, goodPassword)
		acctVisit(t, tab, e, "/account/users/"+grace.id+"/remove", http.StatusNotFound, "Page not found", "account-not-found")
		guessed := pageText(t, tab, "main")
		acctVisit(t, tab, e, "/account/users/no-such-user/remove", http.StatusNotFound, "Page not found", "account-not-found")
		if unknown := pageText(t, tab, "main"); unknown != guessed {
			t.Errorf("another account's id shows %q, an unknown id %q", guessed, unknown)
		}
	})
}

// TestBrowserAccountDeletion: the administrator deletes the account,
// confirmed by the password; a wrong password is refused and deletes
// nothing; the confirmation mail arrives and nobody can sign in any more.
func TestBrowserAccountDeletion(t *testing.T) {
	t.Parallel()
	dbtest.ForEach(t, func(t *testing.T, dsn string) {
		tab := browser(t)
		e := start(t, dsn)
		logOnFailure(t, e)
		ada := e.registerMember("ada@example.com")
		charles := e.join(ada, "charles@example.com", "customer_user")
		acctSignIn(t, tab, e, ada.email, goodPassword)

		acctVisit(t, tab, e, "/account/delete", http.StatusOK, "Delete the account", "account-delete")
		typeInto(t, tab, "main #f-current_password", "not my password")
		expectPage(t, tab, acctSubmit(t, tab, "main form"), http.StatusUnprocessableEntity, "Delete the account")
		if got := pageText(t, tab, "#f-current_password-error"); got == "" {
			t.Error("no error next to the password")
		}
		checkPage(t, tab, "account-delete-error")
		e.login(ada.email, goodPassword)

		n := e.mails()
		typeInto(t, tab, "main #f-current_password", goodPassword)
		expectPage(t, tab, acctSubmit(t, tab, "main form"), http.StatusOK, "The account has been deleted")
		checkPage(t, tab, "account-deleted")
		if msg := e.mailSince(n, ada.email, ""); !strings.Contains(msg.Subject, "deleted") {
			t.Errorf("mail after the deletion: %q", msg.Subject)
		}
		e.expectNoSignIn(ada.email, goodPassword)
		e.expectNoSignIn(charles.email, goodPassword)
		// The browser is signed out.
		expectPage(t, tab, openPage(t, tab, e.base+"/account"), http.StatusOK, pageText(t, tab, "h1"))
		if loc := acctLocation(t, tab); !strings.HasPrefix(loc, e.base+"/login") {
			t.Errorf("after deletion /account leads to %s, want the sign-in page", loc)
		}
	})
}

// TestBrowserAccountPartner: a partner's administrator manages the
// partner's users and invitations on the same pages; customer pages
// (details, locations, deletion) do not exist for a partner.
func TestBrowserAccountPartner(t *testing.T) {
	t.Parallel()
	dbtest.ForEach(t, func(t *testing.T, dsn string) {
		tab := browser(t)
		e := start(t, dsn)
		logOnFailure(t, e)
		pat := e.partnerAdmin("pat@example.com", "Resellers Ltd")
		acctSignIn(t, tab, e, pat.email, goodPassword)
		checkPage(t, tab, "account-partner")
		nav := pageText(t, tab, "main nav")
		for _, want := range []string{"Users", "Invitations"} {
			if !strings.Contains(nav, want) {
				t.Errorf("the partner administrator's navigation lacks %q: %q", want, nav)
			}
		}
		for _, not := range []string{"Locations", "Delete account", "Account details"} {
			if strings.Contains(nav, not) {
				t.Errorf("the partner administrator's navigation offers %q: %q", not, nav)
			}
		}
		for _, path := range []string{"/account/locations", "/account/details", "/account/delete"} {
			acctVisit(t, tab, e, path, http.StatusNotFound, "Page not found", "account-not-found")
		}

		acctVisit(t, tab, e, "/account/invitations", http.StatusOK, "Invitations", "account-partner-invitations")
		typeInto(t, tab, "main #f-email", "sam@example.com")
		n := e.mails()
		if status := acctSubmit(t, tab, "main section form"); status != http.StatusOK {
			t.Fatalf("invite answered %d: %s", status, pageText(t, tab, "main"))
		}
		token := strings.TrimPrefix(e.mailedLink(n, "sam@example.com", "/invitation"), e.base+"/invitation?token=")
		expect(t, e.do("POST", "/api/v1/invitations/"+token, e.invitationBody(token)), http.StatusCreated)
		sam := e.login("sam@example.com", goodPassword)
		if got := acctMeField(t, e, sam, "user", "user_type"); got != "partner_user" {
			t.Errorf("the invited partner user's type = %v, want partner_user", got)
		}
		acctVisit(t, tab, e, "/account/users", http.StatusOK, "Users", "account-partner-users")
		samID := acctUserID(t, e, sam)
		if err := chromedp.Do(tab, chromedp.SetValue(chromedp.CSS("#f-type-"+samID), "partner_admin")); err != nil {
			t.Fatal(err)
		}
		if status := acctSubmit(t, tab, "#user-"+samID+" form"); status != http.StatusOK {
			t.Fatalf("change type answered %d", status)
		}
		if got := acctMeField(t, e, sam, "user", "user_type"); got != "partner_admin" {
			t.Errorf("the partner user's type after the change = %v, want partner_admin", got)
		}
	})
}
