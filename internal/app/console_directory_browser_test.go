package app_test

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/onboard-dev/onboard/internal/backoffice"
	"github.com/onboard-dev/onboard/internal/domain"
	"github.com/onboard-dev/onboard/internal/store"
	"github.com/onboard-dev/onboard/internal/testutil/dbtest"
)

// TestBrowserConsoleDirectory drives the console's directory and audit log
// in one browser session: an org_admin searches a customer and pages
// through the customers, opens the customer's page and her user's (whose
// audit entries name her as their actor), creates a customer
// whose first user gets the invitation mail, and finds the creation in the
// audit log filtered by that action; an org_admin of another organization
// gets 404 for all of it.
func TestBrowserConsoleDirectory(t *testing.T) {
	t.Parallel()
	dbtest.ForEach(t, func(t *testing.T, dsn string) {
		tab := browser(t)
		e := startAdmin(t, dsn)
		logOnFailure(t, e)
		ctx := context.Background()

		// More customers than a page holds, and one registered for real.
		e.register("ada@example.com", "customer_business")
		org := e.defaultOrg()
		extra := backoffice.DirectoryPageSize + 5
		err := e.app.Store().InTx(ctx, func(tx *store.Tx) error {
			now := store.Now()
			for i := range extra {
				if err := tx.CreateAccount(ctx, domain.Account{ID: store.NewID(), OrgID: org.ID, Kind: domain.KindCustomer,
					Type: domain.CustomerBusiness, Name: fmt.Sprintf("Bulk %02d", i), Status: domain.StatusActive,
					Origin: domain.OriginBackOffice, CreatedAt: now, UpdatedAt: now}); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		e.createOrg("acme")
		const password = "running the directory"
		signUp := func(orgName, email string) {
			t.Helper()
			n := e.mails()
			e.createBackOfficeUser(orgName, email, domain.RoleOrgAdmin)
			openPage(t, tab, e.mailedLink(n, email, "/admin/set-password"))
			typeInto(t, tab, "#f-password", password)
			expectPage(t, tab, submitPage(t, tab), http.StatusOK, "Sign in to the console")
		}
		signUp("default", "ops@onboard.test")
		signUp("acme", "ann@acme.test")
		expectPage(t, tab, consoleSignIn(t, tab, e.base, "ops@onboard.test", password), http.StatusOK, "onboard")
		admin := e.base + "/admin/o/default"

		// The list, page by page: every customer once.
		expectPage(t, tab, openPage(t, tab, admin+"/customers"), http.StatusOK, "Customers")
		checkPage(t, tab, "console-customers")
		names := func() []string {
			t.Helper()
			got, err := chromedp.Run(tab, chromedp.Evaluate[[]string](`[...document.querySelectorAll("table.directory tbody th")].map(th => th.textContent)`))
			if err != nil {
				t.Fatal(err)
			}
			return got
		}
		seen := names()
		if len(seen) != backoffice.DirectoryPageSize || exists(t, tab, `a[rel="prev"]`) {
			t.Fatalf("first page: %d rows %v", len(seen), seen)
		}
		if st := clickTo(t, tab, `a[rel="next"]`); st != http.StatusOK {
			t.Fatalf("next page: %d", st)
		}
		seen = append(seen, names()...)
		if len(seen) != extra+1 || exists(t, tab, `a[rel="next"]`) {
			t.Fatalf("both pages: %d rows %v", len(seen), seen)
		}
		if st := clickTo(t, tab, `a[rel="prev"]`); st != http.StatusOK || len(names()) != backoffice.DirectoryPageSize {
			t.Fatalf("previous page: %d, %d rows", st, len(names()))
		}
		if st := openPage(t, tab, admin+"/customers?cursor=garbage"); st != http.StatusBadRequest {
			t.Fatalf("a damaged cursor: %d", st)
		}

		// Search by a user's email address, then the customer's page.
		openPage(t, tab, admin+"/customers")
		typeInto(t, tab, "#f-q", "ADA@example")
		if st := clickTo(t, tab, `form.filters button`); st != http.StatusOK {
			t.Fatalf("search: %d", st)
		}
		if got := names(); len(got) != 1 {
			t.Fatalf("search by email found %v", got)
		}
		if st := clickTo(t, tab, `table.directory tbody th a`); st != http.StatusOK {
			t.Fatalf("customer page: %d", st)
		}
		if got := pageText(t, tab, "table.directory tbody"); !strings.Contains(got, "ada@example.com") {
			t.Fatalf("the customer's users: %q", got)
		}
		checkPage(t, tab, "console-customer")
		if st := clickTo(t, tab, `table.directory tbody th a`); st != http.StatusOK {
			t.Fatalf("user page: %d", st)
		}
		expectPage(t, tab, http.StatusOK, http.StatusOK, "ada@example.com")
		// Her registration in the user's audit entries, by her name.
		if got := pageText(t, tab, "table.audit tbody"); !strings.Contains(got, "User Ada Lovelace (ada@example.com)") {
			t.Fatalf("the user's audit entries: %q, want her registration by her name", got)
		}
		checkPage(t, tab, "console-user")

		// A customer created from the console; errors next to the fields first.
		openPage(t, tab, admin+"/customers")
		if st := clickTo(t, tab, `a.button`); st != http.StatusOK {
			t.Fatalf("new customer form: %d", st)
		}
		typeInto(t, tab, "#f-user-email", "not an address")
		if st := submitPage(t, tab); st != http.StatusUnprocessableEntity {
			t.Fatalf("bad customer: %d", st)
		}
		for _, id := range []string{"#f-name-error", "#f-user-email-error", "#f-user-first_name-error"} {
			if !exists(t, tab, id) {
				t.Errorf("no error %s", id)
			}
		}
		checkPage(t, tab, "console-customer-new-errors")
		for sel, v := range map[string]string{"#f-name": "Zephyr Labs", "#f-user-email": "zoe@zephyr.test",
			"#f-user-first_name": "Zoe", "#f-user-last_name": "Zeta"} {
			if err := chromedp.Do(tab, chromedp.SetValue(chromedp.CSS(sel), v)); err != nil {
				t.Fatal(err)
			}
		}
		n := e.mails()
		expectPage(t, tab, submitPage(t, tab), http.StatusOK, "Zephyr Labs")
		if got := pageText(t, tab, "p.lead"); !strings.Contains(got, "zoe@zephyr.test") {
			t.Fatalf("after creation: %q", got)
		}
		e.mailedLink(n, "zoe@zephyr.test", "/invitation")
		accountID := strings.TrimPrefix(strings.SplitN(location(t, tab), "?", 2)[0], admin+"/accounts/")

		// The audit log, filtered by that action: the back-office user did it.
		openPage(t, tab, admin+"/audit")
		typeInto(t, tab, "#f-action", "customer.created")
		if st := clickTo(t, tab, `form.filters button`); st != http.StatusOK {
			t.Fatalf("filter: %d", st)
		}
		rows, err := chromedp.Run(tab, chromedp.Evaluate[[]string](`[...document.querySelectorAll("table.audit tbody tr")].map(tr => tr.textContent)`))
		if err != nil {
			t.Fatal(err)
		}
		if len(rows) != 1 || !strings.Contains(rows[0], accountID) || !strings.Contains(rows[0], "backoffice:") {
			t.Fatalf("audit rows %q, want the creation of %s by a back-office user", rows, accountID)
		}
		checkPage(t, tab, "console-audit")
		if st := openPage(t, tab, admin+"/audit?"+url.Values{"from": {"2026-13-01"}}.Encode()); st != http.StatusUnprocessableEntity || !exists(t, tab, "#f-from-error") {
			t.Fatalf("a bad date: %d", st)
		}
		consoleSignOut(t, tab)

		// Another organization's org_admin finds none of it.
		expectPage(t, tab, consoleSignIn(t, tab, e.base, "ann@acme.test", password), http.StatusOK, "ACME")
		for _, p := range []string{"/customers", "/partners", "/users", "/audit", "/customers/new", "/accounts/" + accountID} {
			if st := openPage(t, tab, admin+p); st != http.StatusNotFound {
				t.Errorf("org_admin of acme gets %d for %s, want 404", st, p)
			}
		}
		if st := openPage(t, tab, e.base+"/admin/o/acme/accounts/"+accountID); st != http.StatusNotFound {
			t.Errorf("default's customer under acme: %d, want 404", st)
		}
	})
}
