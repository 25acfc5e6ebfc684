package app_test

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/onboard-dev/onboard/internal/config"
	"github.com/onboard-dev/onboard/internal/testutil/dbtest"
)

// idp is an RFC 7662 introspection endpoint whose answer depends on the token.
func idp(t *testing.T, bad *atomic.Value) *httptest.Server {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := r.ParseForm(); err != nil || r.Method != "POST" || r.Header.Get("Content-Type") != "application/x-www-form-urlencoded" ||
			r.PostForm.Get("token_type_hint") != "access_token" || r.PostForm.Get("client_id") != "onboard-idp" || r.PostForm.Get("client_secret") != "idp-secret" {
			bad.Store("bad introspection request: " + r.Method + " " + r.Header.Get("Content-Type") + " " + r.PostForm.Encode())
			http.Error(w, "bad request", http.StatusBadRequest)
			return
		}
		var answer any
		switch tok := r.PostForm.Get("token"); {
		case strings.HasPrefix(tok, "flat:"):
			answer = map[string]any{"active": true, "sub": "u", "external_authentication_provider_id": strings.TrimPrefix(tok, "flat:")}
		case strings.HasPrefix(tok, "nested:"):
			answer = map[string]any{"active": true, "ext": map[string]any{"claims": []any{map[string]any{"x": 1}, map[string]any{"external_authentication_provider_id": strings.TrimPrefix(tok, "nested:")}}}}
		case strings.HasPrefix(tok, "inactive:"):
			answer = map[string]any{"active": false, "external_authentication_provider_id": strings.TrimPrefix(tok, "inactive:")}
		case tok == "missing":
			answer = map[string]any{"active": true, "sub": "u"}
		case tok == "slow":
			select {
			case <-time.After(3 * time.Second):
			case <-r.Context().Done():
			}
			answer = map[string]any{"active": true, "external_authentication_provider_id": "ext-1"}
		case tok == "notjson":
			w.Write([]byte("<html>"))
			return
		default:
			http.Error(w, "boom", http.StatusInternalServerError)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(answer)
	}))
	t.Cleanup(srv.Close)
	return srv
}

func TestB2BSingleSignOn(t *testing.T) {
	t.Parallel()
	dbtest.ForEach(t, func(t *testing.T, dsn string) {
		var bad atomic.Value
		provider := idp(t, &bad)
		e := startAdmin(t, dsn, func(c *config.Config) { c.B2BIntrospectionTimeout = 300 * time.Millisecond })
		w := newB2BWorld(t, e, provider.URL+"/introspect")
		sso := func(token, lp string) response {
			return e.do("POST", "/v2/registration/introspection/sso-user", map[string]any{"external_provider_access_token": token, "labelpartner": lp})
		}
		exchange := func(key, token string) response {
			return e.do("POST", "/v2/sso/exchange-token", map[string]any{"external_provider_access_token": token}, "Authorization", "Bearer "+key)
		}
		id1 := w.provision(t, endUser("sso1@example.com", "lp-sso", "external_authentication_provider_id", "ext-1"))
		id2 := w.provision(t, endUser("sso2@example.com", "lp-sso", "external_authentication_provider_id", "ext-2"))
		w.provision(t, endUser("pin@example.com", "lp-pin", "external_authentication_provider_id", "ext-pin"))
		key := w.lpKeys["lp-sso"]

		// Refusals: inactive token, no id, an unknown id, an end user of another labelpartner.
		for _, tok := range []string{"inactive:ext-1", "missing", "flat:ext-unknown", "flat:ext-pin"} {
			checkProblem(t, sso(tok, "lp-sso"), 401, "")
		}
		// The provider fails, answers garbage or is too slow: 503, nothing registered.
		for _, tok := range []string{"fail", "notjson", "slow"} {
			checkProblem(t, sso(tok, "lp-sso"), 503, "")
		}
		checkProblem(t, sso("flat:ext-1", "lp-pin"), 422, "labelpartner")
		checkProblem(t, sso("flat:ext-1", "no-such"), 422, "labelpartner")
		checkProblem(t, sso("", "lp-sso"), 422, "external_provider_access_token")
		if st, _ := w.state(t, id1); st != "provisioned" {
			t.Fatalf("state %s after refusals", st)
		}
		// A provisioned SSO user cannot exchange before registering.
		checkProblem(t, exchange(key, "flat:ext-1"), 401, "")

		// Registration: flat and nested ids.
		tokens(t, sso("flat:ext-1", "lp-sso"))
		tokens(t, sso("nested:ext-2", "lp-sso"))
		for _, id := range []string{id1, id2} {
			if st, hist := w.state(t, id); st != "registered" || strings.Join(hist, ",") != "provisioned,registered" {
				t.Fatalf("state %s %v", st, hist)
			}
		}
		// Registering again just signs in.
		_, rt := tokens(t, sso("flat:ext-1", "lp-sso"))
		tokens(t, w.refresh(rt))

		// Exchange with the labelpartner key.
		tokens(t, exchange(key, "nested:ext-1"))
		checkProblem(t, exchange(key, "inactive:ext-1"), 401, "")
		checkProblem(t, exchange(w.lpKeys["lp-pin"], "flat:ext-1"), 403, "")
		checkProblem(t, exchange(w.lpKeys["lp-other"][:20], "flat:ext-1"), 401, "")
		checkProblem(t, e.do("POST", "/v2/sso/exchange-token", map[string]any{"external_provider_access_token": "flat:ext-1"}), 401, "")
		checkProblem(t, exchange(key, "slow"), 503, "")
		if v := bad.Load(); v != nil {
			t.Fatal(v)
		}
	})
}
