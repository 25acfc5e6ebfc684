package app_test

import (
	"net/http"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/onboard-dev/onboard/internal/testutil/dbtest"
)

// TestB2BDisabledOrganizationIsUnknown: once its organization is disabled,
// every /v2/registration endpoint (none of them takes a labelpartner key)
// answers for its labelpartners, end users and links as for unknown ones,
// and mails nothing; enabled again, its links work.
func TestB2BDisabledOrganizationIsUnknown(t *testing.T) {
	t.Parallel()
	dbtest.ForEach(t, func(t *testing.T, dsn string) {
		e := startAdmin(t, dsn)
		var bad atomic.Value
		srv := idp(t, &bad)
		w := newB2BWorld(t, e, srv.URL)
		// Links mailed before the organization is disabled.
		w.provision(t, endUser("ver@example.com", "lp-pin"))
		verify := w.verifyLink(t, "ver@example.com", "Ada", "Lovelace", "lp-pin")
		w.provision(t, endUser("reg@example.com", "lp-pin", "create_verified_user", true))
		okStatus(t, w.noGateway("reg@example.com", "493817"))
		n := e.mails()
		okStatus(t, e.do("PUT", "/v2/registration/resetpassword", map[string]any{"email_address": "reg@example.com"}))
		reset := e.linkSince(n, "reg@example.com", "/v2/registration/resetpassword")
		w.provision(t, endUser("nogw@example.com", "lp-pin", "create_verified_user", true))
		w.provision(t, endUser("prov@example.com", "lp-pin"))

		expect(t, e.admin(envAdminKey, "PATCH", adminPath("default", ""), map[string]any{"disabled": true}), http.StatusOK)
		unknownToken := strings.Repeat("A", len(verify))
		same := func(what string, got, unknown response) {
			t.Helper()
			if got.status != unknown.status || string(got.body) != string(unknown.body) {
				t.Errorf("%s: %d %s; an unknown one: %d %s", what, got.status, got.body, unknown.status, unknown.body)
			}
		}
		same("POST verify", e.do("POST", "/v2/registration/verify", map[string]any{"token": verify}),
			e.do("POST", "/v2/registration/verify", map[string]any{"token": unknownToken}))
		if got, unknown := e.do("GET", "/v2/registration/verify?token="+verify, nil), e.do("GET", "/v2/registration/verify?token="+unknownToken, nil); got.status != unknown.status {
			t.Errorf("verify page: %d, an unknown link's %d", got.status, unknown.status)
		}
		same("no-gateway", w.noGateway("nogw@example.com", "493817"), w.noGateway("nobody@example.com", "493817"))
		same("reset confirm", e.do("POST", "/v2/registration/resetpassword/confirm", map[string]any{"token": reset, "pincode": "246810"}),
			e.do("POST", "/v2/registration/resetpassword/confirm", map[string]any{"token": unknownToken, "pincode": "246810"}))
		same("sso-user", e.do("POST", "/v2/registration/introspection/sso-user", map[string]any{"external_provider_access_token": "flat:ext-1", "labelpartner": "lp-sso"}),
			e.do("POST", "/v2/registration/introspection/sso-user", map[string]any{"external_provider_access_token": "flat:ext-1", "labelpartner": "lp-nope"}))
		// Requests that are always ok mail nothing.
		n = e.mails()
		okStatus(t, e.do("POST", "/v2/registration/provision", map[string]any{"first_name": "Ada", "last_name": "Lovelace",
			"email_address": "prov@example.com", "labelpartner": "lp-pin", "imported": "true"}))
		okStatus(t, e.do("PUT", "/v2/registration/resetpassword", map[string]any{"email_address": "reg@example.com"}))
		e.waitIdle(t)
		if m := e.mails(); m != n {
			t.Errorf("%d mails sent for a disabled organization", m-n)
		}
		if v := bad.Load(); v != nil {
			t.Error(v)
		}

		// Enabled again, the links work.
		expect(t, e.admin(envAdminKey, "PATCH", adminPath("default", ""), map[string]any{"disabled": false}), http.StatusOK)
		okStatus(t, e.do("POST", "/v2/registration/resetpassword/confirm", map[string]any{"token": reset, "pincode": "246810"}))
		okStatus(t, e.do("POST", "/v2/registration/verify", map[string]any{"token": verify}))
	})
}
