package app_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/onboard-dev/onboard/internal/domain"
	"github.com/onboard-dev/onboard/internal/testutil/dbtest"
)

// TestBrowserConsoleSSOAndDevices: on the User Onboarding page a supervisor
// adds an identity provider and a device template; the validation's errors
// stand next to the rows' fields, the saved configuration holds both, the
// client secret is never rendered back and is kept by a save without it,
// and a provider is removed with its checkbox.
func TestBrowserConsoleSSOAndDevices(t *testing.T) {
	t.Parallel()
	dbtest.ForEach(t, func(t *testing.T, dsn string) {
		tab := browser(t)
		e := start(t, dsn)
		logOnFailure(t, e)
		const email, password, secret = "sup@onboard.test", "supervising the console", "s3cret-of-the-corp-provider"
		n := e.mails()
		e.createBackOfficeUser("default", email, domain.RoleSupervisor)
		openPage(t, tab, e.mailedLink(n, email, "/admin/set-password"))
		typeInto(t, tab, "#f-password", password)
		expectPage(t, tab, submitPage(t, tab), http.StatusOK, "Sign in to the console")
		expectPage(t, tab, consoleSignIn(t, tab, e.base, email, password), http.StatusOK, "onboard")

		set := func(sel, value string) {
			t.Helper()
			if err := chromedp.Do(tab, chromedp.SetValue(chromedp.CSS(sel), value)); err != nil {
				t.Fatalf("set %s: %v", sel, err)
			}
		}
		save := func(want int) {
			t.Helper()
			if st := clickTo(t, tab, "form.onboarding > button"); st != want {
				t.Fatalf("save: %d, want %d", st, want)
			}
		}
		noSecret := func() {
			t.Helper()
			html, err := chromedp.Run(tab, chromedp.Evaluate[string](`document.documentElement.outerHTML`))
			if err != nil {
				t.Fatal(err)
			}
			if strings.Contains(html, secret) {
				t.Fatal("the client secret is rendered in the page")
			}
		}

		expectPage(t, tab, openPage(t, tab, e.base+"/admin/o/default/onboarding"), http.StatusOK, "Access and Security / User Onboarding")
		if exists(t, tab, "#f-sso-providers-1-name") || !exists(t, tab, "#f-sso-providers-0-name") {
			t.Fatal("want exactly one blank provider row before any provider")
		}
		// Errors from the validation next to the fields of the rows.
		tick(t, tab, "#f-sso-first_login_creates_customer")
		typeInto(t, tab, "#f-sso-providers-0-name", "Corp ID")
		typeInto(t, tab, "#f-sso-providers-0-issuer", "https://id.corp.example/realms/acme")
		typeInto(t, tab, "#f-sso-providers-0-client_id", "onboard")
		typeInto(t, tab, "#f-sso-providers-0-client_secret", secret)
		typeInto(t, tab, "#f-sso-providers-0-button_label", "Sign in with Corp")
		tick(t, tab, "#f-device_setup-enabled")
		typeInto(t, tab, "#f-device_setup-device_templates-0-platform", "android")
		typeInto(t, tab, "#f-device_setup-device_templates-0-instructions-en", "Open {{.Nope}}")
		save(http.StatusUnprocessableEntity)
		for _, sel := range []string{"#f-sso-first_login_account_type-error", "#f-sso-providers-0-name-error",
			"#f-device_setup-device_templates-0-instructions-en-error", "#f-device_setup-device_templates-0-sms_installation_code-error"} {
			if !exists(t, tab, sel) {
				t.Errorf("no error %s", sel)
			}
		}
		if got := pageValue(t, tab, "#f-sso-providers-0-issuer"); got != "https://id.corp.example/realms/acme" {
			t.Fatalf("the issuer is not shown again: %q", got)
		}
		noSecret()
		checkPage(t, tab, "console-onboarding-sso-devices-errors")

		// Corrected, saved.
		set("#f-sso-first_login_account_type", domain.AccountCustomerPersonal)
		set("#f-sso-providers-0-name", "corp")
		typeInto(t, tab, "#f-sso-providers-0-client_secret", secret)
		set("#f-device_setup-device_templates-0-instructions-en", "Open {{.ProvisioningURL}} on {{.DeviceName}}")
		typeInto(t, tab, "#f-device_setup-device_templates-0-instructions-it", "Aprite {{.ProvisioningURL}}")
		typeInto(t, tab, "#f-device_setup-device_templates-0-settings", "mdm=on")
		tick(t, tab, "#f-device_setup-device_templates-0-sms_installation_code")
		save(http.StatusOK)
		noSecret()
		if got := pageValue(t, tab, "#f-sso-providers-0-name"); got != "corp" {
			t.Fatalf("provider row 0 shows %q", got)
		}
		if !exists(t, tab, "#f-sso-providers-1-name") || !exists(t, tab, "#f-device_setup-device_templates-1-platform") {
			t.Fatal("no blank rows to add another provider and template")
		}
		checkPage(t, tab, "console-onboarding-sso-devices")
		o := e.defaultOrg().Onboarding
		if o.SSO == nil || len(o.SSO.Providers) != 1 || !o.SSO.FirstLoginCreatesCustomer || o.SSO.FirstLoginAccountType != domain.AccountCustomerPersonal {
			t.Fatalf("saved SSO %+v", o.SSO)
		}
		if p := o.SSO.Providers[0]; p.Name != "corp" || p.Issuer != "https://id.corp.example/realms/acme" || p.ClientID != "onboard" ||
			p.ClientSecret != secret || p.ButtonLabel != "Sign in with Corp" {
			t.Fatalf("saved provider %+v", p)
		}
		tmpl, ok := o.DeviceSetup.DeviceTemplates[domain.PlatformAndroid]
		if !o.DeviceSetup.Enabled || !ok || !tmpl.SMSInstallationCode || tmpl.Instructions["en"] != "Open {{.ProvisioningURL}} on {{.DeviceName}}" ||
			tmpl.Instructions["it"] != "Aprite {{.ProvisioningURL}}" || tmpl.Settings["mdm"] != "on" || len(o.DeviceSetup.DeviceTemplates) != 1 {
			t.Fatalf("saved device setup %+v", o.DeviceSetup)
		}

		// Saved again without a secret: the stored one is kept.
		save(http.StatusOK)
		if p := e.defaultOrg().Onboarding.SSO.Providers[0]; p.ClientSecret != secret {
			t.Fatalf("the secret was not kept: %q", p.ClientSecret)
		}
		// Removed with its checkbox; the device template stays.
		tick(t, tab, "#f-sso-providers-0-remove")
		save(http.StatusOK)
		o = e.defaultOrg().Onboarding
		if o.SSO != nil && len(o.SSO.Providers) != 0 {
			t.Fatalf("provider not removed: %+v", o.SSO.Providers)
		}
		if _, ok := o.DeviceSetup.DeviceTemplates[domain.PlatformAndroid]; !ok {
			t.Fatal("the device template was lost")
		}
	})
}
