package app_test

import (
	"net/http"
	"regexp"
	"strings"
	"testing"

	"github.com/onboard-dev/onboard/internal/testutil/dbtest"
)

// adminRoutes lists the routes of the admin API, from the server itself, so
// that a route added later is covered too.
func (e *env) adminRoutes() [][2]string {
	e.t.Helper()
	lister, ok := e.app.Handler().(interface{ Routes() [][2]string })
	if !ok {
		e.t.Fatal("the handler does not list its routes")
	}
	var out [][2]string
	for _, r := range lister.Routes() {
		if strings.HasPrefix(r[1], "/api/v1/admin/") {
			out = append(out, r)
		}
	}
	if len(out) < 20 {
		e.t.Fatalf("only %d admin routes", len(out))
	}
	return out
}

var pathParam = regexp.MustCompile(`\{([^{}]+)\}`)

// fill puts values into a route pattern: {org} is org, other parameters
// are taken from params.
func fill(pattern, org string, params map[string]string) string {
	return pathParam.ReplaceAllStringFunc(pattern, func(m string) string {
		name := m[1 : len(m)-1]
		if name == "org" {
			return org
		}
		return params[name]
	})
}

// TestAdminIsolation checks every admin route: without a key or with a bad
// one it answers 401; an organization's key gets 404 for another
// organization, whatever it asks, and changes nothing there.
func TestAdminIsolation(t *testing.T) {
	t.Parallel()
	dbtest.ForEach(t, func(t *testing.T, dsn string) {
		e := startAdmin(t, dsn)
		e.createOrg("beta")
		betaKey, _ := e.orgKey("beta", "beta")
		defaultKey, _ := e.orgKey("default", "default")

		// Things of beta, to name in paths.
		r := e.admin(betaKey, "POST", adminPath("beta", "/properties"), map[string]any{"scope": "user", "name": "nick", "label": "Nick",
			"type": "string", "account_types": []string{"customer_personal"}})
		expect(t, r, http.StatusCreated)
		propID := r.json(t)["id"].(string)
		r = e.admin(betaKey, "POST", adminPath("beta", "/partners"), map[string]any{"name": "Beta partner"})
		expect(t, r, http.StatusCreated)
		partnerID := r.json(t)["id"].(string)
		expect(t, e.admin(betaKey, "POST", adminPath("beta", "/products"), map[string]any{"serial_number": "SN-BETA-1", "model": "X"}), http.StatusCreated)
		params := map[string]string{"id": partnerID, "name": "customer_admin", "serial": "SN-BETA-1"}

		audit, props := e.count("audit_log"), e.count("property_definitions")
		badKeys := []struct{ name, header string }{
			{"no key", ""},
			{"unknown obk key", "Bearer obk_mXo2rUeB6cQ3nX7Vd0JYtq5sH9aPz1kLwE4fG8bN2cA"},
			{"garbage key", "Bearer not-a-key"},
			{"basic auth", "Basic YTpi"},
			{"session-like token", "Bearer mXo2rUeB6cQ3nX7Vd0JYtq5sH9aPz1kLwE4fG8bN2cA"},
		}
		for _, rt := range e.adminRoutes() {
			method, pattern := rt[0], rt[1]
			t.Run(method+" "+pattern, func(t *testing.T) {
				e.t = t
				var body any
				if method == "POST" || method == "PUT" || method == "PATCH" {
					body = map[string]any{}
				}
				for _, b := range badKeys {
					var hdr []string
					if b.header != "" {
						hdr = []string{"Authorization", b.header}
					}
					r := e.do(method, fill(pattern, "beta", params), body, hdr...)
					if r.status != http.StatusUnauthorized || r.header.Get("WWW-Authenticate") == "" {
						t.Fatalf("%s: status %d, want 401 with WWW-Authenticate; %s", b.name, r.status, r.body)
					}
					checkProblem(t, r, http.StatusUnauthorized, "")
				}
				if !strings.Contains(pattern, "{org}") {
					return
				}
				// default's key and beta: not found, like a missing organization.
				for _, id := range []string{partnerID, propID} {
					p := map[string]string{"id": id, "name": params["name"], "serial": params["serial"]}
					r := e.admin(defaultKey, method, fill(pattern, "beta", p), body)
					expect(t, r, http.StatusNotFound)
					missing := e.admin(defaultKey, method, fill(pattern, "gamma", p), body)
					expect(t, missing, http.StatusNotFound)
					if string(r.body) != string(missing.body) {
						t.Fatalf("another tenant's organization answers %s, a missing one %s", r.body, missing.body)
					}
				}
			})
		}
		e.t = t
		if e.count("audit_log") != audit || e.count("property_definitions") != props {
			t.Fatal("refused requests changed something")
		}

		// Beta's things cannot be reached through default's path either,
		// even with the full-rights key.
		checkProblem(t, e.admin(envAdminKey, "DELETE", adminPath("default", "/properties/"+propID), nil), http.StatusNotFound, "")
		checkProblem(t, e.admin(envAdminKey, "POST", adminPath("default", "/partners/"+partnerID+"/code"), nil), http.StatusNotFound, "")
		checkProblem(t, e.admin(envAdminKey, "GET", adminPath("default", "/products/SN-BETA-1"), nil), http.StatusNotFound, "")
		checkProblem(t, e.admin(envAdminKey, "POST", adminPath("default", "/approvals/"+partnerID+"/approve"), nil), http.StatusNotFound, "")
		r = e.admin(envAdminKey, "GET", adminPath("default", "/partners"), nil)
		expect(t, r, http.StatusOK)
		if n := len(r.json(t)["partners"].([]any)); n != 0 {
			t.Fatalf("default lists beta's partners: %s", r.body)
		}
		r = e.admin(defaultKey, "GET", adminPath("default", "/audit"), nil)
		expect(t, r, http.StatusOK)
		if strings.Contains(string(r.body), propID) || strings.Contains(string(r.body), partnerID) {
			t.Fatalf("default's audit log shows beta's changes: %s", r.body)
		}
		// Each key still works for its own organization.
		expect(t, e.admin(betaKey, "GET", adminPath("beta", "/properties"), nil), http.StatusOK)
		expect(t, e.admin(defaultKey, "GET", adminPath("default", "/onboarding"), nil), http.StatusOK)
	})
}
