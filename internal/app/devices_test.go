package app_test

import (
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/onboard-dev/onboard/internal/config"
	"github.com/onboard-dev/onboard/internal/testutil/dbtest"
	"github.com/onboard-dev/onboard/internal/testutil/smtptest"
)

// deviceSetupDoc is a device_setup member with linux, windows and android
// templates (English and Italian instructions for linux).
func deviceSetupDoc() map[string]any {
	return map[string]any{
		"enabled":           true,
		"email_requirement": "",
		"account_template":  map[string]any{"account_type": "customer_personal", "user_type": "customer_admin"},
		"device_templates": map[string]any{
			"linux": map[string]any{
				"instructions": map[string]any{
					"en": "Run the installer on {{.DeviceName}} and open {{.ProvisioningURL}}",
					"it": "Esegui l'installatore su {{.DeviceName}} e apri {{.ProvisioningURL}}",
				},
				"settings": map[string]any{"channel": "stable"},
			},
			"windows": map[string]any{"instructions": map[string]any{"en": "Enter code {{.InstallationCode}} in the agent."}},
			"android": map[string]any{"instructions": map[string]any{"en": "Open the SMS on {{.DeviceName}}."}, "sms_installation_code": true},
		},
	}
}

// putDeviceSetup replaces the organization's device_setup member (read,
// change, write) and returns the response.
func (e *env) putDeviceSetup(org string, ds map[string]any) response {
	e.t.Helper()
	r := e.admin(envAdminKey, "GET", adminPath(org, "/onboarding"), nil)
	expect(e.t, r, http.StatusOK)
	doc := r.json(e.t)
	doc["device_setup"] = ds
	return e.admin(envAdminKey, "PUT", adminPath(org, "/onboarding"), doc)
}

// startDevices runs onboard with the device setup on system-wide, the
// default organization as the setup's default, configured by deviceSetupDoc.
func startDevices(t *testing.T, dsn string, mutate ...func(*config.Config)) *env {
	t.Helper()
	e := startAdmin(t, dsn, append([]func(*config.Config){func(c *config.Config) {
		c.DeviceSetup, c.DeviceSetupDefaultOrg = true, "default"
	}}, mutate...)...)
	expect(t, e.putDeviceSetup("default", deviceSetupDoc()), http.StatusOK)
	return e
}

// setupOwner registers a device owner through the setup and signs in.
func (e *env) setupOwner(email string) string {
	e.t.Helper()
	before := len(e.smtp.Messages())
	expect(e.t, e.do("POST", "/api/v1/setup/signups", map[string]any{"email": email}), http.StatusAccepted)
	msg := e.smtp.WaitFor(e.t, 10*time.Second, func(m smtptest.Message) bool {
		return len(m.To) == 1 && strings.EqualFold(m.To[0], email) && strings.Contains(m.Text, "/register?token=") &&
			!containsMessage(e.smtp.Messages()[:before], m.MessageID)
	})
	u, err := url.Parse(msg.Link(e.base + "/register?token="))
	if err != nil {
		e.t.Fatal(err)
	}
	token := u.Query().Get("token")
	r := e.do("POST", "/api/v1/signups/"+token, e.completion(token, "customer_personal"))
	expect(e.t, r, http.StatusCreated)
	if got := field(r.json(e.t), "customer", "type"); got != "personal" {
		e.t.Fatalf("device owner's account type = %v, want personal: %s", got, r.body)
	}
	return e.login(email, goodPassword)
}

func bearerOf(token string) []string { return []string{"Authorization", "Bearer " + token} }

// newDevice asks for a device and returns the answer.
func (e *env) newDevice(token string, body map[string]any, header ...string) map[string]any {
	e.t.Helper()
	r := e.do("POST", "/api/v1/setup/devices", body, append(bearerOf(token), header...)...)
	expect(e.t, r, http.StatusCreated)
	return r.json(e.t)
}

func (e *env) provision(code string, device map[string]any) response {
	e.t.Helper()
	return e.do("POST", "/api/v1/provision", map[string]any{"installation_code": code, "device": device})
}

// provisionOwner provisions with a back-office code without an account,
// for the owner with that address.
func (e *env) provisionOwner(code, owner string, device map[string]any) response {
	e.t.Helper()
	return e.do("POST", "/api/v1/provision", map[string]any{"installation_code": code, "owner_email": owner, "device": device})
}

func problemSlug(t *testing.T, r response) string {
	t.Helper()
	typ, _ := r.json(t)["type"].(string)
	return typ[strings.LastIndex(typ, "/")+1:]
}

func problemFields(t *testing.T, r response) []string {
	t.Helper()
	var out []string
	errs, _ := r.json(t)["errors"].([]any)
	for _, x := range errs {
		out = append(out, fmt.Sprint(x.(map[string]any)["field"]))
	}
	return out
}

// TestDeviceSetupSwitches: the system-wide switch (server configuration,
// then the supervisor's stored setting), the organization's, and the
// default organization.
func TestDeviceSetupSwitches(t *testing.T) {
	t.Parallel()
	dbtest.ForEach(t, func(t *testing.T, dsn string) {
		e := startAdmin(t, dsn)
		signup := func(body map[string]any) response {
			return e.do("POST", "/api/v1/setup/signups", body)
		}
		// Off system-wide: every setup call is a 403.
		r := signup(map[string]any{"email": "a@example.com", "organization": "default"})
		expect(t, r, http.StatusForbidden)
		if s := problemSlug(t, r); s != "device-setup-unavailable" {
			t.Fatalf("slug = %s", s)
		}
		expect(t, e.provision("AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", nil), http.StatusForbidden)
		r = e.admin(envAdminKey, "GET", "/api/v1/admin/device-setup", nil)
		expect(t, r, http.StatusOK)
		if r.json(t)["enabled"] != false {
			t.Fatalf("system setting = %s", r.body)
		}

		// An organization's key is not the supervisor's.
		e.createOrg("acme")
		orgKey, _ := e.orgKey("acme", "ops")
		expect(t, e.admin(orgKey, "PUT", "/api/v1/admin/device-setup", map[string]any{"enabled": true, "default_organization": ""}), http.StatusForbidden)
		expect(t, e.admin(orgKey, "GET", "/api/v1/admin/device-setup", nil), http.StatusForbidden)
		r = e.admin(envAdminKey, "PUT", "/api/v1/admin/device-setup", map[string]any{"enabled": true, "default_organization": "nope"})
		expect(t, r, http.StatusUnprocessableEntity)
		if f := problemFields(t, r); len(f) != 1 || f[0] != "default_organization" {
			t.Fatalf("fields = %v", f)
		}

		// On system-wide, no default organization: /setup needs a name.
		expect(t, e.admin(envAdminKey, "PUT", "/api/v1/admin/device-setup", map[string]any{"enabled": true, "default_organization": ""}), http.StatusOK)
		r = signup(map[string]any{"email": "a@example.com"})
		expect(t, r, http.StatusUnprocessableEntity)
		if f := problemFields(t, r); len(f) != 1 || f[0] != "organization" {
			t.Fatalf("fields = %v", f)
		}
		// The organization has not turned it on; an unknown one answers alike.
		expect(t, signup(map[string]any{"email": "a@example.com", "organization": "acme"}), http.StatusForbidden)
		expect(t, signup(map[string]any{"email": "a@example.com", "organization": "nosuch"}), http.StatusForbidden)
		expect(t, e.putDeviceSetup("acme", deviceSetupDoc()), http.StatusOK)
		expect(t, signup(map[string]any{"email": "a@example.com", "organization": "acme"}), http.StatusAccepted)
		// Turned off for the organization again.
		ds := deviceSetupDoc()
		ds["enabled"] = false
		expect(t, e.putDeviceSetup("acme", ds), http.StatusOK)
		expect(t, signup(map[string]any{"email": "b@example.com", "organization": "acme"}), http.StatusForbidden)

		// The default organization from the stored setting.
		expect(t, e.putDeviceSetup("default", deviceSetupDoc()), http.StatusOK)
		expect(t, e.admin(envAdminKey, "PUT", "/api/v1/admin/device-setup", map[string]any{"enabled": true, "default_organization": "default"}), http.StatusOK)
		expect(t, signup(map[string]any{"email": "c@example.com"}), http.StatusAccepted)
		owner := e.setupOwner("owner@example.com")
		expect(t, e.do("GET", "/api/v1/setup/device-types", nil, bearerOf(owner)...), http.StatusOK)

		// Off system-wide again: the owner's calls are 403 too.
		expect(t, e.admin(envAdminKey, "PUT", "/api/v1/admin/device-setup", map[string]any{"enabled": false, "default_organization": "default"}), http.StatusOK)
		expect(t, e.do("GET", "/api/v1/setup/device-types", nil, bearerOf(owner)...), http.StatusForbidden)
		expect(t, e.do("GET", "/api/v1/devices", nil, bearerOf(owner)...), http.StatusForbidden)
	})
}

// TestDeviceSetupServerConfiguration: ONBOARD_DEVICE_SETUP and its default
// organization turn the setup on without the admin API.
func TestDeviceSetupServerConfiguration(t *testing.T) {
	t.Parallel()
	dbtest.ForEach(t, func(t *testing.T, dsn string) {
		e := startDevices(t, dsn)
		r := e.admin(envAdminKey, "GET", "/api/v1/admin/device-setup", nil)
		expect(t, r, http.StatusOK)
		if m := r.json(t); m["enabled"] != true || m["default_organization"] != "default" {
			t.Fatalf("system setting = %s", r.body)
		}
		expect(t, e.do("POST", "/api/v1/setup/signups", map[string]any{"email": "a@example.com"}), http.StatusAccepted)
	})
}

// TestDeviceSetupConfigValidation: the device_setup member is checked
// when the onboarding configuration is saved.
func TestDeviceSetupConfigValidation(t *testing.T) {
	t.Parallel()
	dbtest.ForEach(t, func(t *testing.T, dsn string) {
		e := startAdmin(t, dsn)
		for _, tc := range []struct {
			name   string
			change func(ds map[string]any)
			field  string
		}{
			{"bad pattern", func(ds map[string]any) { ds["email_requirement"] = "(" }, "device_setup.email_requirement"},
			{"bad template", func(ds map[string]any) {
				ds["device_templates"].(map[string]any)["linux"].(map[string]any)["instructions"] = map[string]any{"en": "Open {{.ProvisioningURL"}
			}, "device_setup.device_templates.linux.instructions.en"},
			{"unknown template field", func(ds map[string]any) {
				ds["device_templates"].(map[string]any)["linux"].(map[string]any)["instructions"] = map[string]any{"it": "{{.Password}}"}
			}, "device_setup.device_templates.linux.instructions.it"},
			{"android without sms", func(ds map[string]any) {
				ds["device_templates"].(map[string]any)["android"].(map[string]any)["sms_installation_code"] = false
			}, "device_setup.device_templates.android.sms_installation_code"},
			{"unknown user type", func(ds map[string]any) {
				ds["account_template"] = map[string]any{"account_type": "customer_personal", "user_type": "ghost"}
			}, "device_setup.account_template.user_type"},
			{"bad account type", func(ds map[string]any) {
				ds["account_template"] = map[string]any{"account_type": "channel_partner"}
			}, "device_setup.account_template.account_type"},
			{"bad platform", func(ds map[string]any) {
				ds["device_templates"].(map[string]any)["Bad Name"] = map[string]any{"instructions": map[string]any{"en": "x"}}
			}, "device_setup.device_templates.Bad Name"},
		} {
			t.Run(tc.name, func(t *testing.T) {
				ds := deviceSetupDoc()
				tc.change(ds)
				r := e.putDeviceSetup("default", ds)
				expect(t, r, http.StatusUnprocessableEntity)
				if f := problemFields(t, r); len(f) != 1 || f[0] != tc.field {
					t.Fatalf("fields = %v, want [%s]: %s", f, tc.field, r.body)
				}
			})
		}
		// A custom platform is fine and is stored as sent.
		ds := deviceSetupDoc()
		ds["device_templates"].(map[string]any)["thermostat-x"] = map[string]any{"instructions": map[string]any{"en": "Hold the button."}}
		r := e.putDeviceSetup("default", ds)
		expect(t, r, http.StatusOK)
		if field(r.json(t), "device_setup", "device_templates", "thermostat-x", "instructions", "en") != "Hold the button." {
			t.Fatalf("stored: %s", r.body)
		}
	})
}

// TestDeviceSetupEmailRequirement: the setup's own pattern decides which
// addresses may register through it.
func TestDeviceSetupEmailRequirement(t *testing.T) {
	t.Parallel()
	dbtest.ForEach(t, func(t *testing.T, dsn string) {
		e := startDevices(t, dsn)
		ds := deviceSetupDoc()
		ds["email_requirement"] = `[^@]+@example\.com`
		expect(t, e.putDeviceSetup("default", ds), http.StatusOK)
		r := e.do("POST", "/api/v1/setup/signups", map[string]any{"email": "eve@elsewhere.org"})
		expect(t, r, http.StatusUnprocessableEntity)
		if f := problemFields(t, r); len(f) != 1 || f[0] != "email" {
			t.Fatalf("fields = %v", f)
		}
		expect(t, e.do("POST", "/api/v1/setup/signups", map[string]any{"email": "EVE@example.com"}), http.StatusAccepted)
		expect(t, e.do("POST", "/api/v1/setup/signups", map[string]any{"email": "not an address"}), http.StatusUnprocessableEntity)
	})
}

// TestDeviceSetupOwnerFlow: an owner registers through the setup, chooses
// device types, gets instructions per platform and language, the device
// provisions itself once, and only its owner sees it.
func TestDeviceSetupOwnerFlow(t *testing.T) {
	t.Parallel()
	dbtest.ForEach(t, func(t *testing.T, dsn string) {
		e := startDevices(t, dsn)
		owner := e.setupOwner("owner@example.com")
		other := e.setupOwner("neighbour@example.com")

		r := e.do("GET", "/api/v1/setup/device-types", nil, bearerOf(owner)...)
		expect(t, r, http.StatusOK)
		if got := fmt.Sprint(r.json(t)["device_types"]); got != "[map[platform:android sms_installation_code:true] map[platform:linux sms_installation_code:false] map[platform:windows sms_installation_code:false]]" {
			t.Fatalf("device types = %s", got)
		}

		// Bad requests change nothing.
		before := e.count("devices")
		for _, body := range []map[string]any{
			{"platform": "ios", "name": "Phone"},
			{"platform": "linux", "name": ""},
			{"platform": "android", "name": "Tablet"},
			{"platform": "android", "name": "Tablet", "phone": "12345"},
			{"platform": "linux", "name": "Box", "phone": "+393471234567"},
		} {
			r := e.do("POST", "/api/v1/setup/devices", body, bearerOf(owner)...)
			expect(t, r, http.StatusUnprocessableEntity)
		}
		if n := e.count("devices"); n != before {
			t.Fatalf("devices %d → %d after refused requests", before, n)
		}

		// Linux, in Italian: the instructions carry the link and the name.
		setup := e.newDevice(owner, map[string]any{"platform": "linux", "name": "Server di casa"}, "Accept-Language", "it-IT,it;q=0.9")
		code, _ := setup["installation_code"].(string)
		link, _ := setup["provisioning_url"].(string)
		if code == "" || link != e.base+"/provision/"+code {
			t.Fatalf("code %q, link %q", code, link)
		}
		if want := "Esegui l'installatore su Server di casa e apri " + link; setup["instructions"] != want {
			t.Fatalf("instructions = %q, want %q", setup["instructions"], want)
		}
		dev := setup["device"].(map[string]any)
		if dev["state"] != "pending" || field(dev, "settings", "channel") != "stable" {
			t.Fatalf("device = %v", dev)
		}
		// Windows in English names the code.
		win := e.newDevice(other, map[string]any{"platform": "windows", "name": "Laptop"})
		if !strings.Contains(win["instructions"].(string), "Enter code "+win["installation_code"].(string)) {
			t.Fatalf("windows instructions = %q", win["instructions"])
		}

		// The code is stored hashed only.
		var n int
		if err := e.app.Store().DB().QueryRow(`SELECT COUNT(*) FROM installation_codes WHERE code_hash = $1`, []byte(code)).Scan(&n); err != nil || n != 0 {
			t.Fatalf("code stored in clear: %d %v", n, err)
		}

		// Provisioning: once.
		r = e.provision(code, map[string]any{"serial": "SN-1", "model": "NUC", "os": "Debian 13"})
		expect(t, r, http.StatusCreated)
		prov := r.json(t)
		secret, _ := prov["device_secret"].(string)
		if len(secret) < 40 || field(prov, "device", "state") != "active" || field(prov, "device", "name") != "Server di casa" {
			t.Fatalf("provisioned = %s", r.body)
		}
		var hash []byte
		if err := e.app.Store().DB().QueryRow(`SELECT secret_hash FROM devices WHERE id = $1`, dev["id"]).Scan(&hash); err != nil || len(hash) != 32 || string(hash) == secret {
			t.Fatalf("secret hash %x, %v", hash, err)
		}
		for _, c := range []string{code, "unknown-code-unknown-code-unknown-code-0000", "x"} {
			r := e.provision(c, map[string]any{"serial": "SN-2"})
			expect(t, r, http.StatusGone)
			if s := problemSlug(t, r); s != "installation-code-invalid" {
				t.Fatalf("slug = %s", s)
			}
		}

		// The owner sees it; the neighbour does not.
		r = e.do("GET", "/api/v1/devices", nil, bearerOf(owner)...)
		expect(t, r, http.StatusOK)
		list := r.json(t)["devices"].([]any)
		if len(list) != 1 || list[0].(map[string]any)["serial"] != "SN-1" || list[0].(map[string]any)["state"] != "active" {
			t.Fatalf("owner's devices = %s", r.body)
		}
		id := dev["id"].(string)
		r = e.do("GET", "/api/v1/devices", nil, bearerOf(other)...)
		if list := r.json(t)["devices"].([]any); len(list) != 1 || list[0].(map[string]any)["id"] == id {
			t.Fatalf("neighbour's devices = %s", r.body)
		}
		expect(t, e.do("GET", "/api/v1/devices/"+id, nil, bearerOf(other)...), http.StatusNotFound)
		expect(t, e.do("PATCH", "/api/v1/devices/"+id, map[string]any{"name": "Mine now"}, bearerOf(other)...), http.StatusNotFound)
		expect(t, e.do("DELETE", "/api/v1/devices/"+id, nil, bearerOf(other)...), http.StatusNotFound)

		// Rename and remove.
		r = e.do("PATCH", "/api/v1/devices/"+id, map[string]any{"name": "Home server"}, bearerOf(owner)...)
		expect(t, r, http.StatusOK)
		if r.json(t)["name"] != "Home server" {
			t.Fatalf("renamed = %s", r.body)
		}
		expect(t, e.do("PATCH", "/api/v1/devices/"+id, map[string]any{"name": "  "}, bearerOf(owner)...), http.StatusUnprocessableEntity)
		expect(t, e.do("DELETE", "/api/v1/devices/"+id, nil, bearerOf(owner)...), http.StatusNoContent)
		expect(t, e.do("GET", "/api/v1/devices/"+id, nil, bearerOf(owner)...), http.StatusNotFound)
		// A second device, later.
		second := e.newDevice(owner, map[string]any{"platform": "windows", "name": "Desktop"})
		expect(t, e.provision(second["installation_code"].(string), map[string]any{"serial": "SN-3"}), http.StatusCreated)
		r = e.do("GET", "/api/v1/devices", nil, bearerOf(owner)...)
		if list := r.json(t)["devices"].([]any); len(list) != 1 || list[0].(map[string]any)["name"] != "Desktop" {
			t.Fatalf("owner's devices = %s", r.body)
		}
	})
}

// createCode creates a back-office installation code and returns the answer.
func (e *env) createCode(org string, body map[string]any) map[string]any {
	e.t.Helper()
	r := e.admin(envAdminKey, "POST", adminPath(org, "/installation-codes"), body)
	expect(e.t, r, http.StatusCreated)
	return r.json(e.t)
}

// TestInstallationCodeUsageLimitUnderConcurrency: 50 devices race for a
// code with a limit of 10; exactly 10 win.
func TestInstallationCodeUsageLimitUnderConcurrency(t *testing.T) {
	t.Parallel()
	dbtest.ForEach(t, func(t *testing.T, dsn string) {
		e := startDevices(t, dsn)
		c := e.createCode("default", map[string]any{"platform": "linux", "expires_at": time.Now().Add(time.Hour).Format(time.RFC3339), "usage_limit": 10})
		code := c["code"].(string)
		var wg sync.WaitGroup
		statuses := make([]int, 50)
		for i := range statuses {
			wg.Go(func() {
				statuses[i] = e.provisionOwner(code, fmt.Sprintf("owner%02d@example.com", i), map[string]any{"serial": fmt.Sprintf("SN-%02d", i)}).status
			})
		}
		wg.Wait()
		counts := map[int]int{}
		for _, s := range statuses {
			counts[s]++
		}
		if counts[http.StatusCreated] != 10 || counts[http.StatusGone] != 40 {
			t.Fatalf("statuses = %v, want 10×201 and 40×410", counts)
		}
		r := e.admin(envAdminKey, "GET", adminPath("default", "/installation-codes/"+c["id"].(string)), nil)
		expect(t, r, http.StatusOK)
		if m := r.json(t); m["times_used"] != float64(10) || m["last_used_at"] == nil || m["code"] != nil {
			t.Fatalf("code = %s", r.body)
		}
		// Each use without an account made an account from the template.
		var accounts int
		if err := e.app.Store().DB().QueryRow(`SELECT COUNT(DISTINCT account_id) FROM devices`).Scan(&accounts); err != nil || accounts != 10 {
			t.Fatalf("accounts of provisioned devices = %d, %v", accounts, err)
		}
	})
}

// TestInstallationCodeRules: expiry, the delay between uses, revoking, a
// code for an existing account, and the admin API's validation.
func TestInstallationCodeRules(t *testing.T) {
	t.Parallel()
	dbtest.ForEach(t, func(t *testing.T, dsn string) {
		e := startDevices(t, dsn)
		owner := e.setupOwner("owner@example.com")
		hour := time.Now().Add(time.Hour).Format(time.RFC3339)

		// Validation.
		r := e.admin(envAdminKey, "POST", adminPath("default", "/installation-codes"), map[string]any{
			"platform": "ios", "expires_at": time.Now().Add(-time.Hour).Format(time.RFC3339), "usage_limit": 0, "usage_delay": "-1s", "account_id": "nope"})
		expect(t, r, http.StatusUnprocessableEntity)
		if f := problemFields(t, r); strings.Join(f, ",") != "platform,expires_at,usage_limit,usage_delay,account_id" {
			t.Fatalf("fields = %v", f)
		}

		// Delay between uses.
		c := e.createCode("default", map[string]any{"platform": "linux", "expires_at": hour, "usage_limit": 5, "usage_delay": "1h"})
		expect(t, e.provisionOwner(c["code"].(string), "a@example.com", map[string]any{"serial": "A"}), http.StatusCreated)
		expect(t, e.provisionOwner(c["code"].(string), "b@example.com", map[string]any{"serial": "B"}), http.StatusGone)
		// Revoked.
		c = e.createCode("default", map[string]any{"platform": "linux", "expires_at": hour, "usage_limit": 5})
		r = e.admin(envAdminKey, "DELETE", adminPath("default", "/installation-codes/"+c["id"].(string)), nil)
		expect(t, r, http.StatusOK)
		if r.json(t)["revoked_at"] == nil {
			t.Fatalf("revoked = %s", r.body)
		}
		expect(t, e.provision(c["code"].(string), map[string]any{"serial": "C"}), http.StatusGone)
		// Expired.
		c = e.createCode("default", map[string]any{"platform": "linux", "expires_at": time.Now().Add(1500 * time.Millisecond).Format(time.RFC3339Nano), "usage_limit": 5})
		time.Sleep(1600 * time.Millisecond)
		expect(t, e.provision(c["code"].(string), map[string]any{"serial": "D"}), http.StatusGone)

		// For an existing account: the device is the owner's.
		me := e.do("GET", "/api/v1/me", nil, bearerOf(owner)...)
		acct, _ := field(me.json(t), "customer", "id").(string)
		if acct == "" {
			t.Fatalf("me = %s", me.body)
		}
		c = e.createCode("default", map[string]any{"platform": "windows", "expires_at": hour, "usage_limit": 2, "account_id": acct})
		expect(t, e.provision(c["code"].(string), map[string]any{"serial": "E", "name": "Office PC"}), http.StatusCreated)
		r = e.do("GET", "/api/v1/devices", nil, bearerOf(owner)...)
		if list := r.json(t)["devices"].([]any); len(list) != 1 || list[0].(map[string]any)["name"] != "Office PC" {
			t.Fatalf("owner's devices = %s", r.body)
		}
		// The list shows the codes without the codes themselves.
		r = e.admin(envAdminKey, "GET", adminPath("default", "/installation-codes"), nil)
		expect(t, r, http.StatusOK)
		list := r.json(t)["installation_codes"].([]any)
		if len(list) != 4 || strings.Contains(string(r.body), c["code"].(string)) {
			t.Fatalf("codes = %s", r.body)
		}
		// Another organization's key sees none of them.
		e.createOrg("acme")
		key, _ := e.orgKey("acme", "ops")
		expect(t, e.admin(key, "GET", adminPath("default", "/installation-codes"), nil), http.StatusNotFound)
		expect(t, e.admin(key, "GET", adminPath("acme", "/installation-codes/"+c["id"].(string)), nil), http.StatusNotFound)
	})
}
