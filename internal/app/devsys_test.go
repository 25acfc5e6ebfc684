package app_test

import (
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/onboard-dev/onboard/internal/testutil/dbtest"
)

// Tests of the supervisor's system-wide device setup (its precedence over
// the server configuration), of renaming, disabling and enabling
// organizations, and of the account a back-office installation code without
// an account makes for the owner named at provisioning.

// auditActions lists the actions of the organization's audit entries whose
// action starts with prefix, and their actors.
func (e *env) auditActions(org, prefix string) (actions, actors []string) {
	e.t.Helper()
	r := e.admin(envAdminKey, "GET", adminPath(org, "/audit?action="+prefix), nil)
	expect(e.t, r, http.StatusOK)
	for _, x := range r.json(e.t)["entries"].([]any) {
		m := x.(map[string]any)
		actions = append(actions, m["action"].(string))
		actors = append(actors, m["actor"].(string))
	}
	return actions, actors
}

// TestSystemDeviceSetupPrecedence: without server configuration the
// supervisor's stored setting applies (off until saved); with it, the
// configuration is in force and locked (409 on a change).
func TestSystemDeviceSetupPrecedence(t *testing.T) {
	t.Parallel()
	dbtest.ForEach(t, func(t *testing.T, dsn string) {
		t.Run("stored", func(t *testing.T) {
			e := startAdmin(t, dsn)
			expect(t, e.putDeviceSetup("default", deviceSetupDoc()), http.StatusOK)
			r := e.admin(envAdminKey, "GET", "/api/v1/admin/device-setup", nil)
			expect(t, r, http.StatusOK)
			if m := r.json(t); m["enabled"] != false || m["default_organization"] != "" || m["locked"] != false {
				t.Fatalf("unset setting = %s", r.body)
			}
			expect(t, e.do("POST", "/api/v1/setup/signups", map[string]any{"email": "a@example.com"}), http.StatusForbidden)
			r = e.admin(envAdminKey, "PUT", "/api/v1/admin/device-setup", map[string]any{"enabled": true, "default_organization": "default"})
			expect(t, r, http.StatusOK)
			if m := r.json(t); m["enabled"] != true || m["default_organization"] != "default" || m["locked"] != false {
				t.Fatalf("stored setting = %s", r.body)
			}
			// In force at once: /setup without an organization uses the default.
			expect(t, e.do("POST", "/api/v1/setup/signups", map[string]any{"email": "a@example.com"}), http.StatusAccepted)
			if st := e.do("GET", "/setup", nil).status; st != http.StatusOK {
				t.Fatalf("/setup = %d", st)
			}
			actions, actors := e.auditActions("default", "system_setting")
			if !slices.Equal(actions, []string{"system_setting.updated"}) || actors[0] != "admin:environment" {
				t.Fatalf("audit = %v by %v", actions, actors)
			}
		})
		t.Run("configuration", func(t *testing.T) {
			e := startDevices(t, dsn)
			r := e.admin(envAdminKey, "GET", "/api/v1/admin/device-setup", nil)
			expect(t, r, http.StatusOK)
			if m := r.json(t); m["enabled"] != true || m["default_organization"] != "default" || m["locked"] != true {
				t.Fatalf("configured setting = %s", r.body)
			}
			r = e.admin(envAdminKey, "PUT", "/api/v1/admin/device-setup", map[string]any{"enabled": false, "default_organization": ""})
			expect(t, r, http.StatusConflict)
			if s := problemSlug(t, r); s != "device-setup-locked" {
				t.Fatalf("slug = %s", s)
			}
			expect(t, e.do("POST", "/api/v1/setup/signups", map[string]any{"email": "a@example.com"}), http.StatusAccepted)
		})
	})
}

// TestOrganizationRenameDisable: the full-rights key renames an
// organization and disables it: its pages are "not found", sign-in and
// sign-up are refused, its sessions open nothing, its setup is unavailable;
// the admin API still lists it; enabling it restores everything.
func TestOrganizationRenameDisable(t *testing.T) {
	t.Parallel()
	dbtest.ForEach(t, func(t *testing.T, dsn string) {
		e := startDevices(t, dsn)
		ada := e.registerMember("ada@example.com")
		e.createOrg("acme")
		key, _ := e.orgKey("acme", "ops")
		expect(t, e.admin(key, "PATCH", adminPath("acme", ""), map[string]any{"disabled": true}), http.StatusForbidden)
		expect(t, e.admin(envAdminKey, "PATCH", adminPath("nope", ""), map[string]any{"disabled": true}), http.StatusNotFound)
		r := e.admin(envAdminKey, "PATCH", adminPath("acme", ""), map[string]any{"display_name": "  "})
		expect(t, r, http.StatusUnprocessableEntity)
		if f := problemFields(t, r); !slices.Equal(f, []string{"display_name"}) {
			t.Fatalf("fields = %v", f)
		}
		r = e.admin(envAdminKey, "PATCH", adminPath("acme", ""), map[string]any{"display_name": "Acme Europe"})
		expect(t, r, http.StatusOK)
		if m := r.json(t); m["display_name"] != "Acme Europe" || m["disabled"] != false {
			t.Fatalf("renamed = %s", r.body)
		}

		pages := []string{"/login", "/signup", "/setup"}
		for _, p := range pages {
			if st := e.do("GET", p, nil).status; st != http.StatusOK {
				t.Fatalf("GET %s = %d before", p, st)
			}
		}
		r = e.admin(envAdminKey, "PATCH", adminPath("default", ""), map[string]any{"disabled": true})
		expect(t, r, http.StatusOK)
		if r.json(t)["disabled"] != true {
			t.Fatalf("disabled = %s", r.body)
		}
		unknown := e.do("GET", "/o/nope/login", nil)
		for _, p := range pages {
			if got := e.do("GET", p, nil); got.status != unknown.status {
				t.Fatalf("GET %s = %d, an unknown organization's page %d", p, got.status, unknown.status)
			}
		}
		expect(t, e.do("POST", "/api/v1/sessions", map[string]any{"email": ada.email, "password": goodPassword}), http.StatusUnprocessableEntity)
		expect(t, e.as(ada.token, "GET", "/api/v1/me", nil), http.StatusUnauthorized)
		expect(t, e.do("POST", "/api/v1/signups", map[string]any{"email": "new@example.com", "account_type": "customer_personal"}), http.StatusUnprocessableEntity)
		expect(t, e.do("POST", "/api/v1/setup/signups", map[string]any{"email": "new@example.com"}), http.StatusForbidden)
		// The admin API still shows it.
		r = e.admin(envAdminKey, "GET", adminPath("", ""), nil)
		if !strings.Contains(string(r.body), `"name":"default"`) || !strings.Contains(string(r.body), `"disabled":true`) {
			t.Fatalf("organizations = %s", r.body)
		}

		expect(t, e.admin(envAdminKey, "PATCH", adminPath("default", ""), map[string]any{"disabled": false}), http.StatusOK)
		for _, p := range pages {
			if st := e.do("GET", p, nil).status; st != http.StatusOK {
				t.Fatalf("GET %s = %d after enabling", p, st)
			}
		}
		expect(t, e.as(ada.token, "GET", "/api/v1/me", nil), http.StatusOK)
		e.login(ada.email, goodPassword)
		actions, _ := e.auditActions("default", "organization.")
		if !slices.Contains(actions, "organization.disabled") || !slices.Contains(actions, "organization.enabled") {
			t.Fatalf("audit = %v", actions)
		}
		if actions, _ := e.auditActions("acme", "organization."); !slices.Contains(actions, "organization.updated") {
			t.Fatalf("acme audit = %v", actions)
		}
	})
}

// TestProvisionClaimableAccount: a back-office code without an account
// needs the owner's email; the owner is invited, chooses a password and sees
// the device; a second device of the same owner joins the same account.
func TestProvisionClaimableAccount(t *testing.T) {
	t.Parallel()
	dbtest.ForEach(t, func(t *testing.T, dsn string) {
		e := startDevices(t, dsn)
		hour := time.Now().Add(time.Hour).Format(time.RFC3339)
		c := e.createCode("default", map[string]any{"platform": "linux", "expires_at": hour, "usage_limit": 5})
		code := c["code"].(string)

		r := e.provision(code, map[string]any{"serial": "SN-1"})
		expect(t, r, http.StatusUnprocessableEntity)
		if f := problemFields(t, r); !slices.Equal(f, []string{"owner_email"}) {
			t.Fatalf("fields = %v", f)
		}
		expect(t, e.provisionOwner(code, "not an address", map[string]any{"serial": "SN-1"}), http.StatusUnprocessableEntity)
		r = e.admin(envAdminKey, "GET", adminPath("default", "/installation-codes/"+c["id"].(string)), nil)
		if r.json(t)["times_used"] != float64(0) {
			t.Fatalf("a refused provisioning used the code: %s", r.body)
		}

		const owner = "grace@example.com"
		n := e.mails()
		expect(t, e.provisionOwner(code, owner, map[string]any{"serial": "SN-1", "name": "Kitchen hub"}), http.StatusCreated)
		tok := e.linkSince(n, owner, "/invitation")
		expect(t, e.do("POST", "/api/v1/invitations/"+tok, e.invitationBody(tok)), http.StatusCreated)
		session := e.login(owner, goodPassword)
		n = e.mails()
		expect(t, e.provisionOwner(code, strings.ToUpper(owner), map[string]any{"serial": "SN-2", "name": "Garage hub"}), http.StatusCreated)
		// The code named an existing owner's address: the owner is told,
		// with the link to their devices, and invited no more.
		if m := e.mailSince(n, owner, "Garage hub"); !strings.Contains(m.Text, "/setup/devices") {
			t.Fatalf("notice of the added device:\n%s", m.Text)
		}
		r = e.do("GET", "/api/v1/devices", nil, bearerOf(session)...)
		expect(t, r, http.StatusOK)
		var names []string
		for _, d := range r.json(t)["devices"].([]any) {
			names = append(names, d.(map[string]any)["name"].(string))
		}
		slices.Sort(names)
		if !slices.Equal(names, []string{"Garage hub", "Kitchen hub"}) {
			t.Fatalf("owner's devices = %s", r.body)
		}
		// Another customer sees none of them.
		other := e.registerMember("other@example.com")
		r = e.do("GET", "/api/v1/devices", nil, bearerOf(other.token)...)
		if strings.Contains(string(r.body), "hub") {
			t.Fatalf("another customer's devices = %s", r.body)
		}
		// A code of an existing account refuses an owner.
		me := e.do("GET", "/api/v1/me", nil, bearerOf(session)...)
		acct, _ := field(me.json(t), "customer", "id").(string)
		c = e.createCode("default", map[string]any{"platform": "linux", "expires_at": hour, "usage_limit": 1, "account_id": acct})
		expect(t, e.provisionOwner(c["code"].(string), owner, map[string]any{"serial": "SN-3"}), http.StatusUnprocessableEntity)
	})
}
