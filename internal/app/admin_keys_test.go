package app_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/onboard-dev/onboard/internal/testutil/dbtest"
)

// The full-rights key lists and revokes organizations' admin keys; a
// revoked key stops working at once. Keys and hashes are never shown.
func TestAdminKeysListAndRevoke(t *testing.T) {
	t.Parallel()
	dbtest.ForEach(t, func(t *testing.T, dsn string) {
		e := startAdmin(t, dsn)
		ciKey, ciID := e.orgKey("default", "ci")
		laptopKey, laptopID := e.orgKey("default", "laptop")
		e.createOrg("beta")
		betaKey, betaID := e.orgKey("beta", "beta")
		expect(t, e.admin(laptopKey, "GET", adminPath("default", "/onboarding"), nil), http.StatusOK)

		// Organizations' own keys may not manage keys, not even their own.
		for _, k := range []string{ciKey, laptopKey} {
			expectProblem(t, e.admin(k, "GET", adminPath("default", "/admin-keys"), nil), 403, "full-rights-key-required")
			expectProblem(t, e.admin(k, "DELETE", adminPath("default", "/admin-keys/"+laptopID), nil), 403, "full-rights-key-required")
		}
		expectProblem(t, e.admin(betaKey, "GET", adminPath("default", "/admin-keys"), nil), 404, "organization-not-found")

		r := e.admin(envAdminKey, "GET", adminPath("default", "/admin-keys"), nil)
		expect(t, r, http.StatusOK)
		for _, secret := range []string{ciKey, laptopKey, strings.TrimPrefix(ciKey, "obk_"), "hash"} {
			if strings.Contains(string(r.body), secret) {
				t.Fatalf("the list shows a key or hash: %s", r.body)
			}
		}
		var list struct {
			AdminKeys []map[string]any `json:"admin_keys"`
		}
		decodeAs(t, r, &list)
		if len(list.AdminKeys) != 2 || list.AdminKeys[0]["id"] != laptopID || list.AdminKeys[1]["id"] != ciID ||
			list.AdminKeys[0]["name"] != "laptop" || list.AdminKeys[0]["revoked_at"] != nil || list.AdminKeys[0]["last_used_at"] == nil {
			t.Fatalf("list %s", r.body)
		}
		for _, k := range list.AdminKeys {
			if len(k) != 5 {
				t.Fatalf("key fields %v", k)
			}
		}

		// Revoking: at once, once in the audit log; again changes nothing.
		expect(t, e.admin(envAdminKey, "DELETE", adminPath("default", "/admin-keys/"+laptopID), nil), http.StatusNoContent)
		expectProblem(t, e.admin(laptopKey, "GET", adminPath("default", "/onboarding"), nil), 401, "unauthenticated")
		expect(t, e.admin(ciKey, "GET", adminPath("default", "/onboarding"), nil), http.StatusOK)
		expect(t, e.admin(envAdminKey, "DELETE", adminPath("default", "/admin-keys/"+laptopID), nil), http.StatusNoContent)
		if got := e.audit("default", "admin_key.revoked"); len(got) != 1 {
			t.Fatalf("%d admin_key.revoked entries, want 1", len(got))
		}
		// Unknown ids and keys of other organizations are not found.
		expectProblem(t, e.admin(envAdminKey, "DELETE", adminPath("default", "/admin-keys/"+betaID), nil), 404, "admin-key-not-found")
		expectProblem(t, e.admin(envAdminKey, "DELETE", adminPath("default", "/admin-keys/nope"), nil), 404, "admin-key-not-found")
		expect(t, e.admin(betaKey, "GET", adminPath("beta", "/onboarding"), nil), http.StatusOK)

		r = e.admin(envAdminKey, "GET", adminPath("default", "/admin-keys"), nil)
		decodeAs(t, r, &list)
		if list.AdminKeys[0]["id"] != laptopID || list.AdminKeys[0]["revoked_at"] == nil || list.AdminKeys[1]["revoked_at"] != nil {
			t.Fatalf("list after revoking %s", r.body)
		}
	})
}
