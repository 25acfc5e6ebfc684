package app_test

import (
	"context"
	"net/http"
	"strconv"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/onboard-dev/onboard/internal/domain"
	"github.com/onboard-dev/onboard/internal/testutil/dbtest"
)

// TestBrowserConsoleAgreements: an org_admin previews and publishes a new
// version of the terms (an empty text is refused next to its field); a
// customer who signs in afterwards must accept it before reaching
// /account, and the version's accepted count on the console goes from 0 to
// 1. The properties, user types and partners pages are visited, one
// invalid property is refused next to its field, and every change is in
// the audit log with the back-office user as actor.
func TestBrowserConsoleAgreements(t *testing.T) {
	t.Parallel() // each has its own app, mail server, database and Chromium
	dbtest.ForEach(t, func(t *testing.T, dsn string) {
		tab := browser(t)
		e := start(t, dsn)
		logOnFailure(t, e)
		const email, password, customer = "ann@onboard.test", "administering default", "ada@example.com"
		e.register(customer, domain.AccountCustomerBusiness) // accepts version 1 of both agreements

		n := e.mails()
		e.createBackOfficeUser("default", email, domain.RoleOrgAdmin)
		openPage(t, tab, e.mailedLink(n, email, "/admin/set-password"))
		typeInto(t, tab, "#f-password", password)
		expectPage(t, tab, submitPage(t, tab), http.StatusOK, "Sign in to the console")
		expectPage(t, tab, consoleSignIn(t, tab, e.base, email, password), http.StatusOK, "onboard")

		set := func(sel, value string) {
			t.Helper()
			// Through the DevTools protocol (SetValue cannot set a textarea).
			if _, err := chromedp.Run(tab, chromedp.Evaluate[bool](`(e => (e.value = `+strconv.Quote(value)+`, true))(document.querySelector(`+jsString(sel)+`))`)); err != nil {
				t.Fatalf("set %s: %v", sel, err)
			}
		}
		// accepted is the accepted count of the newest version of the terms.
		accepted := func() string {
			t.Helper()
			expectPage(t, tab, openPage(t, tab, e.base+"/admin/o/default/agreements"), http.StatusOK, "Agreements")
			return pageText(t, tab, `section[aria-labelledby="agr-terms-of-service"] tbody tr:first-child td.accepted`)
		}
		if got := accepted(); got != "1" {
			t.Fatalf("version 1 accepted by %q, want 1 (the registration)", got)
		}

		// Write, preview (an empty text is refused next to it), publish.
		expectPage(t, tab, clickTo(t, tab, `a[href="/admin/o/default/agreements/terms-of-service"]`), http.StatusOK, "Terms of Service")
		set("#f-text", "")
		if st := clickTo(t, tab, `button[value="preview"]`); st != http.StatusUnprocessableEntity {
			t.Fatalf("preview of an empty text: %d", st)
		}
		if !exists(t, tab, "#f-text-error") || exists(t, tab, "#preview") {
			t.Fatal("no error next to the empty text, or a preview of it")
		}
		const text = "New terms.\n\nSection 2: fair use."
		set("#f-text", text)
		expectPage(t, tab, clickTo(t, tab, `button[value="preview"]`), http.StatusOK, "Terms of Service")
		if got := pageText(t, tab, "#preview label"); !strings.Contains(got, "version 2") {
			t.Fatalf("preview label %q", got)
		}
		if got := pageText(t, tab, "#preview .agreement-text"); !strings.Contains(got, "Section 2: fair use.") {
			t.Fatalf("preview text %q", got)
		}
		checkPage(t, tab, "console-agreement-preview")
		if vs, err := e.app.Store().AgreementVersions(context.Background(), e.defaultOrg().ID, "terms-of-service"); err != nil || len(vs) != 1 {
			t.Fatalf("a preview published something: %d versions, %v", len(vs), err)
		}
		expectPage(t, tab, clickTo(t, tab, `button[value="publish"]`), http.StatusOK, "Terms of Service")
		if got := pageText(t, tab, ".lead.success"); !strings.Contains(got, "re-accept") {
			t.Fatalf("published lead %q", got)
		}
		if got := pageText(t, tab, "table.versions tbody tr:first-child td.accepted"); got != "0" {
			t.Fatalf("version 2 accepted by %q before any sign-in", got)
		}

		// The customer signs in: the new version comes first.
		openPage(t, tab, e.base+"/login?next=%2Faccount")
		typeInto(t, tab, "#f-email", customer)
		typeInto(t, tab, "#f-password", goodPassword)
		expectPage(t, tab, submitPage(t, tab), http.StatusOK, "Before you continue")
		if got := pageText(t, tab, "#agreements-title ~ form label"); !strings.Contains(got, "version 2") {
			t.Fatalf("agreement label %q, want version 2", got)
		}
		expectPage(t, tab, openPage(t, tab, e.base+"/account"), http.StatusOK, "Before you continue")
		tick(t, tab, "#f-agreement-0")
		expectPage(t, tab, submitPage(t, tab), http.StatusOK, "Your account")
		if got := accepted(); got != "1" {
			t.Fatalf("version 2 accepted by %q, want 1", got)
		}
		checkPage(t, tab, "console-agreements")

		// Properties: an invalid one is refused next to its fields.
		expectPage(t, tab, openPage(t, tab, e.base+"/admin/o/default/properties"), http.StatusOK, "Properties")
		checkPage(t, tab, "console-properties")
		typeInto(t, tab, "#f-name", "Not A Name")
		typeInto(t, tab, "#f-max_length", "many")
		if st := clickTo(t, tab, `form[action="/admin/o/default/properties"][method="post"] button`); st != http.StatusUnprocessableEntity {
			t.Fatalf("invalid property: %d", st)
		}
		if !exists(t, tab, "#f-max_length-error") {
			t.Fatal("no error next to the maximum length")
		}
		set("#f-max_length", "")
		if st := clickTo(t, tab, `form[action="/admin/o/default/properties"][method="post"] button`); st != http.StatusUnprocessableEntity {
			t.Fatalf("invalid property: %d", st)
		}
		for _, sel := range []string{"#f-name-error", "#f-label-error", "#f-account_types-error"} {
			if !exists(t, tab, sel) {
				t.Errorf("no error %s", sel)
			}
		}
		checkPage(t, tab, "console-properties-errors")
		set("#f-name", "vat_number")
		typeInto(t, tab, "#f-label", "VAT number")
		tick(t, tab, "#f-account_types-0")
		if st := clickTo(t, tab, `form[action="/admin/o/default/properties"][method="post"] button`); st != http.StatusOK {
			t.Fatalf("create property: %d", st)
		}
		expectPage(t, tab, clickTo(t, tab, `table.properties a`), http.StatusOK, "Property vat_number")
		checkPage(t, tab, "console-property")
		if st := clickTo(t, tab, `form[action$="/delete"] button`); st != http.StatusOK || exists(t, tab, "table.properties") {
			t.Fatalf("delete property: %d", st)
		}

		// User types and their permissions.
		expectPage(t, tab, openPage(t, tab, e.base+"/admin/o/default/user-types"), http.StatusOK, "User types")
		typeInto(t, tab, "#f-name", "installer")
		typeInto(t, tab, "#f-label", "Installer")
		tick(t, tab, "#f-permissions-4") // things.read
		if st := clickTo(t, tab, `form[action="/admin/o/default/user-types"] button`); st != http.StatusOK {
			t.Fatalf("create user type: %d", st)
		}
		if got := pageText(t, tab, "table.user-types"); !strings.Contains(got, "installer") || !strings.Contains(got, domain.PermThingsRead) {
			t.Fatalf("user types %q", got)
		}
		checkPage(t, tab, "console-user-types")

		// Partners and their codes.
		expectPage(t, tab, openPage(t, tab, e.base+"/admin/o/default/partner-codes"), http.StatusOK, "Partner codes")
		typeInto(t, tab, "#f-name", "Installers United")
		if st := clickTo(t, tab, `form[action="/admin/o/default/partner-codes"] button`); st != http.StatusOK {
			t.Fatalf("create partner: %d", st)
		}
		code := pageText(t, tab, "table.partners tr.changed code")
		if code == "" {
			t.Fatal("no code shown for the new partner")
		}
		checkPage(t, tab, "console-partners")
		if st := clickTo(t, tab, `form[action$="/code"] button`); st != http.StatusOK {
			t.Fatalf("new code: %d", st)
		}
		if again := pageText(t, tab, "table.partners tr.changed code"); again == "" || again == code {
			t.Fatalf("code after regeneration %q (was %q)", again, code)
		}

		// Every change is the back-office user's in the audit log.
		var changes int
		if err := e.app.Store().DB().QueryRowContext(context.Background(), `SELECT count(*) FROM audit_log
			WHERE actor LIKE 'backoffice:%' AND action IN ('agreement.version_published', 'property.created', 'property.deleted',
			'user_type.created', 'partner.created', 'partner.code_regenerated')`).Scan(&changes); err != nil {
			t.Fatal(err)
		}
		if changes != 6 {
			t.Fatalf("%d changes by the back-office user in the audit log, want 6", changes)
		}
	})
}
