package app_test

import (
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/onboard-dev/onboard/internal/domain"
	"github.com/onboard-dev/onboard/internal/testutil/dbtest"
)

// TestBrowserConsoleSystem: on the System page a supervisor turns the
// device setup on with a default organization (/setup then works), renames
// an organization, disables it (its /login is "not found") and enables it
// again; every change is audited with the supervisor as actor.
func TestBrowserConsoleSystem(t *testing.T) {
	t.Parallel() // its own app, mail server, database and Chromium
	dbtest.ForEach(t, func(t *testing.T, dsn string) {
		tab := browser(t)
		e := startAdmin(t, dsn)
		logOnFailure(t, e)
		expect(t, e.putDeviceSetup("default", deviceSetupDoc()), http.StatusOK)
		e.createOrg("acme")
		const supEmail, supPassword = "sup@onboard.test", "supervising the system"
		n := e.mails()
		e.createBackOfficeUser("default", supEmail, domain.RoleSupervisor)
		openPage(t, tab, e.mailedLink(n, supEmail, "/admin/set-password"))
		typeInto(t, tab, "#f-password", supPassword)
		expectPage(t, tab, submitPage(t, tab), http.StatusOK, "Sign in to the console")
		expectPage(t, tab, consoleSignIn(t, tab, e.base, supEmail, supPassword), http.StatusOK, "onboard")

		// Off system-wide until the supervisor turns it on.
		if st := openPage(t, tab, e.base+"/setup"); st != http.StatusForbidden {
			t.Fatalf("/setup before = %d, want 403", st)
		}
		expectPage(t, tab, openPage(t, tab, e.base+"/admin/system"), http.StatusOK, "System")
		checkPage(t, tab, "console-system-settings")
		tick(t, tab, "#f-device_setup")
		if err := chromedp.Do(tab, chromedp.SetValue(chromedp.CSS("#f-default_organization"), "default")); err != nil {
			t.Fatal(err)
		}
		if st := clickTo(t, tab, `form[action="/admin/system"] button`); st != http.StatusOK {
			t.Fatalf("save settings: %d", st)
		}
		if !exists(t, tab, "#f-device_setup:checked") || pageValue(t, tab, "#f-default_organization") != "default" {
			t.Fatal("the saved device setup is not shown")
		}
		if st := openPage(t, tab, e.base+"/setup"); st != http.StatusOK {
			t.Fatalf("/setup after = %d, want 200", st)
		}

		// Rename, disable, enable.
		openPage(t, tab, e.base+"/admin/system")
		if err := chromedp.Do(tab, chromedp.SetValue(chromedp.CSS("#f-org-acme-display_name"), "Acme Europe")); err != nil {
			t.Fatal(err)
		}
		if st := clickTo(t, tab, "#org-acme td form:first-of-type button"); st != http.StatusOK {
			t.Fatalf("rename: %d", st)
		}
		if got := pageText(t, tab, "#org-acme td:first-child"); got != "Acme Europe" {
			t.Fatalf("renamed organization shows %q", got)
		}
		if st := clickTo(t, tab, "#org-acme td form:last-of-type button"); st != http.StatusOK {
			t.Fatalf("disable: %d", st)
		}
		if !exists(t, tab, "#org-acme .state-disabled") {
			t.Fatal("the organization is not shown as disabled")
		}
		checkPage(t, tab, "console-system-orgs")
		if st := openPage(t, tab, e.base+"/o/acme/login"); st != http.StatusNotFound {
			t.Fatalf("disabled organization's /login = %d, want 404", st)
		}
		openPage(t, tab, e.base+"/admin/system")
		if st := clickTo(t, tab, "#org-acme td form:last-of-type button"); st != http.StatusOK {
			t.Fatalf("enable: %d", st)
		}
		if st := openPage(t, tab, e.base+"/o/acme/login"); st != http.StatusOK {
			t.Fatalf("enabled organization's /login = %d, want 200", st)
		}

		actions, actors := e.auditActions("default", "system_setting")
		if !slices.Contains(actions, "system_setting.updated") || !strings.HasPrefix(actors[0], "backoffice:") {
			t.Fatalf("system audit = %v by %v", actions, actors)
		}
		actions, actors = e.auditActions("acme", "organization.")
		for _, want := range []string{"organization.updated", "organization.disabled", "organization.enabled"} {
			if !slices.Contains(actions, want) {
				t.Fatalf("acme audit = %v", actions)
			}
		}
		if !strings.HasPrefix(actors[0], "backoffice:") {
			t.Fatalf("acme audit actors = %v", actors)
		}
	})
}
