package app_test

import (
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/onboard-dev/onboard/internal/config"
	"github.com/onboard-dev/onboard/internal/testutil/dbtest"
)

// strictOutbound turns the outbound rules on, as in production.
func strictOutbound(c *config.Config) { c.OutboundAllowPrivate = false }

// tlsServer is a real HTTPS server on 127.0.0.1 that counts the
// connections it accepts.
type tlsServer struct {
	*httptest.Server
	conns atomic.Int32
}

func startTLS(t *testing.T, h http.HandlerFunc) *tlsServer {
	t.Helper()
	s := &tlsServer{}
	s.Server = httptest.NewUnstartedServer(h)
	s.Config.ConnState = func(_ net.Conn, st http.ConnState) {
		if st == http.StateNew {
			s.conns.Add(1)
		}
	}
	s.StartTLS()
	t.Cleanup(s.Close)
	return s
}

func (s *tlsServer) port() string { return fmt.Sprint(s.Listener.Addr().(*net.TCPAddr).Port) }

// refusedURLs are configured URLs that name an internal address, or plain
// http, literally.
var refusedURLs = []string{
	"http://127.0.0.1:8080/p", "https://127.0.0.1/p", "https://127.1/p", "https://2130706433/p", "https://[::1]/p",
	"https://[::ffff:127.0.0.1]/p", "https://10.0.0.5/p", "https://192.168.1.10/p", "https://172.16.0.1/p",
	"https://100.64.0.1/p", "https://[fd00::1]/p", "https://[fe80::1]/p", "https://0.0.0.0/p",
	"https://169.254.169.254/latest/meta-data/", "https://[::ffff:169.254.169.254]/", "https://[fd00:ec2::254]/",
	"http://crm.example.com/p",
}

// TestOutboundURLsRefusedWhenConfigured: a Partner Provider or
// introspection URL that is plain http or names an internal address is a
// 422 on its field, and nothing is saved.
func TestOutboundURLsRefusedWhenConfigured(t *testing.T) {
	t.Parallel()
	dbtest.ForEach(t, func(t *testing.T, dsn string) {
		e := start(t, dsn, withAdminKey, strictOutbound)
		path := "/api/v1/admin/organizations/default/onboarding"
		r := e.do("GET", path, nil, "Authorization", "Bearer "+testAdminKey)
		expect(t, r, http.StatusOK)
		cfg := r.json(t)
		for _, u := range refusedURLs {
			cfg["partner_provider"] = map[string]any{"url": u, "secret": providerSecret, "name_field": "name"}
			checkProblem(t, e.do("PUT", path, cfg, "Authorization", "Bearer "+testAdminKey), http.StatusUnprocessableEntity, "partner_provider.url")
			lp := map[string]any{"name": "lp-sso", "password_policy": "pincode",
				"introspection": map[string]any{"url": u, "client_id": "onboard", "client_secret": "s"}}
			checkProblem(t, e.admin(testAdminKey, "POST", adminPath("default", "/labelpartners"), lp), http.StatusUnprocessableEntity, "introspection.url")
		}
		if e.count("b2b_labelpartners") != 0 || e.countWhere("audit_log", "action = $1", "onboarding.updated") != 0 {
			t.Fatal("a refused URL was saved")
		}
		// Public https URLs are taken.
		cfg["partner_provider"] = map[string]any{"url": "https://crm.example.com/p", "secret": providerSecret, "name_field": "name"}
		expect(t, e.do("PUT", path, cfg, "Authorization", "Bearer "+testAdminKey), http.StatusOK)
		expect(t, e.admin(testAdminKey, "POST", adminPath("default", "/labelpartners"), map[string]any{"name": "lp-sso", "password_policy": "pincode",
			"introspection": map[string]any{"url": "https://idp.example.com/introspect", "client_id": "onboard", "client_secret": "s"}}), http.StatusCreated)
	})
}

// TestOutboundAllowPrivate: the option lets plain http and private
// addresses through, for development, but never the metadata service.
func TestOutboundAllowPrivate(t *testing.T) {
	t.Parallel()
	dbtest.ForEach(t, func(t *testing.T, dsn string) {
		e := start(t, dsn, withAdminKey) // the harness allows private destinations
		path := "/api/v1/admin/organizations/default/onboarding"
		r := e.do("GET", path, nil, "Authorization", "Bearer "+testAdminKey)
		expect(t, r, http.StatusOK)
		cfg := r.json(t)
		for _, u := range []string{"http://127.0.0.1:8080/p", "https://10.0.0.5/p", "http://crm.example.com/p"} {
			cfg["partner_provider"] = map[string]any{"url": u, "secret": providerSecret, "name_field": "name"}
			expect(t, e.do("PUT", path, cfg, "Authorization", "Bearer "+testAdminKey), http.StatusOK)
		}
		for _, u := range []string{"http://169.254.169.254/latest/meta-data/", "https://[fd00:ec2::254]/"} {
			cfg["partner_provider"] = map[string]any{"url": u, "secret": providerSecret, "name_field": "name"}
			checkProblem(t, e.do("PUT", path, cfg, "Authorization", "Bearer "+testAdminKey), http.StatusUnprocessableEntity, "partner_provider.url")
		}
	})
}

// TestOutboundRefusedAtDial: a URL whose host name resolves to the
// loopback interface ("localhost") passes the configuration check, since
// names are resolved only when called, but onboard never connects: the
// plugin and the identity provider, real servers on 127.0.0.1, see no
// connection, and the requests that would have called them fail with 503.
func TestOutboundRefusedAtDial(t *testing.T) {
	t.Parallel()
	dbtest.ForEach(t, func(t *testing.T, dsn string) {
		var calls atomic.Int32
		internal := startTLS(t, func(w http.ResponseWriter, r *http.Request) {
			calls.Add(1)
			w.Header().Set("Content-Type", "application/json")
			io.WriteString(w, `{"name":"Internal Secret Partner","active":true,"external_authentication_provider_id":"ext-1"}`)
		})
		e := startAdmin(t, dsn, strictOutbound)
		r := e.admin(envAdminKey, "GET", adminPath("default", "/onboarding"), nil)
		expect(t, r, http.StatusOK)
		o := r.json(t)
		offerAll(o)
		o["partner_provider"] = map[string]any{"url": "https://localhost:" + internal.port() + "/p", "secret": providerSecret, "name_field": "name"}
		expect(t, e.admin(envAdminKey, "PUT", adminPath("default", "/onboarding"), o), http.StatusOK)
		token := e.startSignup("p@plugin.example", "channel_partner")
		body := e.completion(token, "channel_partner")
		body["customer"], body["partner_code"] = map[string]any{}, "GOOD-7777-AAAA"
		checkProblem(t, e.do("POST", "/api/v1/signups/"+token, body), http.StatusServiceUnavailable, "")

		w := newB2BWorld(t, e, "https://localhost:"+internal.port()+"/introspect")
		w.provision(t, endUser("sso1@example.com", "lp-sso", "external_authentication_provider_id", "ext-1"))
		r = e.do("POST", "/v2/registration/introspection/sso-user", map[string]any{"external_provider_access_token": "t", "labelpartner": "lp-sso"})
		checkProblem(t, r, http.StatusServiceUnavailable, "")

		if n := internal.conns.Load(); n != 0 || calls.Load() != 0 {
			t.Fatalf("onboard connected %d times to a loopback server", n)
		}
		if e.count("accounts") != 0 || strings.Contains(e.logs.String(), "Internal Secret Partner") {
			t.Fatal("the refused call created something")
		}
		if !strings.Contains(e.logs.String(), "destination refused") {
			t.Fatal("the refusal is not logged")
		}
	})
}

// TestPluginAnswersValidated: a Partner Provider's answer is checked like
// what a person types: a name or property with control or invisible
// characters, or too long, is refused (503, nothing created), not stored.
func TestPluginAnswersValidated(t *testing.T) {
	t.Parallel()
	dbtest.ForEach(t, func(t *testing.T, dsn string) {
		answers := map[string]map[string]any{
			"RTLO": {"name": "\u202eevil Partner"},
			"ZWSP": {"name": "Good\u200bPartner"},
			"CTRL": {"name": "Good\x07Partner"},
			"LONG": {"name": strings.Repeat("P", 201)},
			"PROP": {"name": "Good Partner", "vat": "NL\u2066123"},
			"BIGP": {"name": "Good Partner", "vat": strings.Repeat("1", 1001)},
			"GOOD": {"name": "Good Partner", "vat": "NL123"},
		}
		plugin := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			var req struct{ Code string }
			if err := json.NewDecoder(r.Body).Decode(&req); err != nil || len(req.Code) < 4 {
				http.Error(w, "bad", 400)
				return
			}
			a, ok := answers[req.Code[:4]]
			if !ok {
				http.NotFound(w, r)
				return
			}
			w.Header().Set("Content-Type", "application/json")
			json.NewEncoder(w).Encode(a)
		}))
		t.Cleanup(plugin.Close)
		e := start(t, dsn, withAdminKey)
		e.configure(func(o map[string]any) {
			offerAll(o)
			o["partner_provider"] = map[string]any{"url": plugin.URL, "secret": providerSecret, "name_field": "name",
				"property_mapping": map[string]any{"vat": "vat"}}
		})
		token := e.startSignup("p@plugin.example", "channel_partner")
		body := e.completion(token, "channel_partner")
		body["customer"] = map[string]any{}
		for _, code := range []string{"RTLO", "ZWSP", "CTRL", "LONG", "PROP", "BIGP"} {
			body["partner_code"] = code + "-7777-AAAA"
			r := e.do("POST", "/api/v1/signups/"+token, body)
			checkProblem(t, r, http.StatusServiceUnavailable, "")
		}
		if e.count("accounts")+e.count("users") != 0 {
			t.Fatal("a refused plugin answer created something")
		}
		body["partner_code"] = "GOOD-7777-AAAA"
		r := e.do("POST", "/api/v1/signups/"+token, body)
		expect(t, r, http.StatusCreated)
		if p := r.json(t)["partner"].(map[string]any); p["name"] != "Good Partner" {
			t.Fatalf("partner = %v", p)
		}
	})
}

// TestIntrospectionAnswersValidated: an external id with invisible
// characters, or longer than any provisioned id can be, is a failure of the
// identity provider (503), not a lookup.
func TestIntrospectionAnswersValidated(t *testing.T) {
	t.Parallel()
	dbtest.ForEach(t, func(t *testing.T, dsn string) {
		idp := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			_ = r.ParseForm()
			id := map[string]string{"zwsp": "ext\u200b-1", "rtlo": "\u202e1-txe", "long": strings.Repeat("e", 256), "good": "ext-1"}[r.PostForm.Get("token")]
			w.Header().Set("Content-Type", "application/json")
			json.NewEncoder(w).Encode(map[string]any{"active": true, "external_authentication_provider_id": id})
		}))
		t.Cleanup(idp.Close)
		e := startAdmin(t, dsn)
		w := newB2BWorld(t, e, idp.URL+"/introspect")
		w.provision(t, endUser("sso1@example.com", "lp-sso", "external_authentication_provider_id", "ext-1"))
		sso := func(tok string) response {
			return e.do("POST", "/v2/registration/introspection/sso-user", map[string]any{"external_provider_access_token": tok, "labelpartner": "lp-sso"})
		}
		for _, tok := range []string{"zwsp", "rtlo", "long"} {
			checkProblem(t, sso(tok), http.StatusServiceUnavailable, "")
		}
		tokens(t, sso("good"))
		// A client cannot provision such an id either.
		r := e.admin(w.clientA, "POST", "/api/v1/b2b/end-users", endUser("sso2@example.com", "lp-sso", "external_authentication_provider_id", "ext\u200b-2"))
		checkProblem(t, r, http.StatusUnprocessableEntity, "external_authentication_provider_id")
	})
}
