package app_test

import (
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/onboard-dev/onboard/internal/testutil/smtptest"
)

// Helpers of the B2B tests.

// b2bWorld is an organization set up for B2B: labelpartners, clients and
// their credentials.
type b2bWorld struct {
	e         *env
	lpKeys    map[string]string // labelpartner name -> API key
	clientA   string            // b2b token serving pin, pw, def, sso
	clientB   string            // b2b token serving other only
	appID     string
	appSecret string
	b2bID     string
	b2bSecret string
}

// newB2BWorld creates labelpartners lp-pin (pincode), lp-pw (password),
// lp-def (default), lp-sso (pincode, SSO at idpURL when given) and lp-other,
// a b2b client A for the first four, a b2b client B for lp-other and an app
// client, all in the default organization.
func newB2BWorld(t *testing.T, e *env, idpURL string) *b2bWorld {
	t.Helper()
	w := &b2bWorld{e: e, lpKeys: map[string]string{}}
	for _, lp := range []struct{ name, policy string }{{"lp-pin", "pincode"}, {"lp-pw", "password"}, {"lp-def", "default"}, {"lp-sso", "pincode"}, {"lp-other", "pincode"}} {
		body := map[string]any{"name": lp.name, "password_policy": lp.policy}
		if lp.name == "lp-sso" && idpURL != "" {
			body["introspection"] = map[string]any{"url": idpURL, "client_id": "onboard-idp", "client_secret": "idp-secret"}
		}
		r := e.admin(envAdminKey, "POST", adminPath("default", "/labelpartners"), body)
		expect(t, r, http.StatusCreated)
		key, _ := r.json(t)["api_key"].(string)
		if !strings.HasPrefix(key, "lpk_") {
			t.Fatalf("no api key: %s", r.body)
		}
		w.lpKeys[lp.name] = key
	}
	w.b2bID, w.b2bSecret = w.client(t, "crm-a", "b2b", "lp-pin", "lp-pw", "lp-def", "lp-sso")
	w.clientA = w.token(t, w.b2bID, w.b2bSecret)
	id, secret := w.client(t, "crm-b", "b2b", "lp-other")
	w.clientB = w.token(t, id, secret)
	w.appID, w.appSecret = w.client(t, "app", "app")
	return w
}

func (w *b2bWorld) client(t *testing.T, name, kind string, lps ...string) (id, secret string) {
	t.Helper()
	if lps == nil {
		lps = []string{}
	}
	r := w.e.admin(envAdminKey, "POST", adminPath("default", "/clients"), map[string]any{"name": name, "kind": kind, "labelpartners": lps})
	expect(t, r, http.StatusCreated)
	var c struct {
		ClientID     string `json:"client_id"`
		ClientSecret string `json:"client_secret"`
	}
	decodeAs(t, r, &c)
	if c.ClientID == "" || c.ClientSecret == "" || len(r.json(t)) != 2 {
		t.Fatalf("client answer %s", r.body)
	}
	return c.ClientID, c.ClientSecret
}

// form posts a form-encoded body.
func (e *env) form(path string, v url.Values, header ...string) response {
	e.t.Helper()
	return e.do("POST", path, v.Encode(), append([]string{"Content-Type", "application/x-www-form-urlencoded"}, header...)...)
}

func (w *b2bWorld) token(t *testing.T, id, secret string) string {
	t.Helper()
	r := w.e.form("/api/v1/b2b/token", url.Values{"grant_type": {"client_credentials"}, "client_id": {id}, "client_secret": {secret}})
	expect(t, r, http.StatusOK)
	m := r.json(t)
	if m["token_type"] != "Bearer" || m["expires_in"] != float64(3600) {
		t.Fatalf("token answer %s", r.body)
	}
	return m["access_token"].(string)
}

// provision creates an end user with client A and returns its id.
func (w *b2bWorld) provision(t *testing.T, body map[string]any) string {
	t.Helper()
	r := w.e.admin(w.clientA, "POST", "/api/v1/b2b/end-users", body)
	expect(t, r, http.StatusCreated)
	return r.json(t)["id"].(string)
}

func endUser(email, lp string, extra ...any) map[string]any {
	m := map[string]any{"email": email, "first_name": "Ada", "last_name": "Lovelace", "labelpartner": lp}
	for i := 0; i+1 < len(extra); i += 2 {
		m[extra[i].(string)] = extra[i+1]
	}
	return m
}

// state returns the end user's state and the states of its history.
func (w *b2bWorld) state(t *testing.T, id string) (string, []string) {
	t.Helper()
	r := w.e.admin(w.clientA, "GET", "/api/v1/b2b/end-users/"+id, nil)
	expect(t, r, http.StatusOK)
	var u struct {
		State   string `json:"state"`
		History []struct {
			State string    `json:"state"`
			At    time.Time `json:"at"`
		} `json:"history"`
	}
	decodeAs(t, r, &u)
	var states []string
	for _, h := range u.History {
		if h.At.IsZero() {
			t.Fatalf("history entry without time: %s", r.body)
		}
		states = append(states, h.State)
	}
	return u.State, states
}

// noGateway calls /v2/registration/no-gateway.
func (w *b2bWorld) noGateway(email, pin string, voucher ...string) response {
	body := map[string]any{"email_address": email, "pincode": pin}
	if len(voucher) > 0 {
		body["voucher_code"] = voucher[0]
	}
	return w.e.do("POST", "/v2/registration/no-gateway", body)
}

// verifyLink asks for the verification mail and returns its token.
func (w *b2bWorld) verifyLink(t *testing.T, email, first, last, lp string) string {
	t.Helper()
	n := w.e.mails()
	r := w.e.do("POST", "/v2/registration/provision", map[string]any{"first_name": first, "last_name": last, "email_address": email, "labelpartner": lp, "imported": "true"})
	expect(t, r, http.StatusOK)
	msg := w.e.smtp.WaitFor(t, 10*time.Second, func(m smtptest.Message) bool {
		return len(m.To) == 1 && strings.EqualFold(m.To[0], email) && strings.Contains(m.Text, "/v2/registration/verify?token=") && !containsMessage(w.e.smtp.Messages()[:n], m.MessageID)
	})
	u, err := url.Parse(msg.Link(w.e.base + "/v2/registration/verify?token="))
	if err != nil {
		t.Fatal(err)
	}
	return u.Query().Get("token")
}

// password signs in at /v2/token with the app client.
func (w *b2bWorld) password(email, pw string) response {
	return w.e.form("/v2/token", url.Values{"grant_type": {"password"}, "username": {email}, "password": {pw},
		"client_id": {w.appID}, "client_secret": {w.appSecret}})
}

func (w *b2bWorld) refresh(tok string) response {
	return w.e.form("/v2/token", url.Values{"grant_type": {"refresh_token"}, "refresh_token": {tok},
		"client_id": {w.appID}, "client_secret": {w.appSecret}})
}

// tokens checks a token answer and returns it.
func tokens(t *testing.T, r response) (access, refresh string) {
	t.Helper()
	expect(t, r, http.StatusOK)
	var p struct {
		AccessToken  string `json:"access_token"`
		RefreshToken string `json:"refresh_token"`
		ExpiresIn    int    `json:"expires_in"`
		TokenType    string `json:"token_type"`
	}
	if err := json.Unmarshal(r.body, &p); err != nil || p.AccessToken == "" || p.RefreshToken == "" || p.ExpiresIn != 3600 || p.TokenType != "Bearer" {
		t.Fatalf("token answer %s", r.body)
	}
	return p.AccessToken, p.RefreshToken
}

// oauthError checks an RFC 6749 error answer.
func oauthError(t *testing.T, r response, status int, code string) {
	t.Helper()
	if r.status != status {
		t.Fatalf("status %d, want %d: %s", r.status, status, r.body)
	}
	if !strings.HasPrefix(r.header.Get("Content-Type"), "application/json") || r.json(t)["error"] != code {
		t.Fatalf("want OAuth error %q, got %s (%s)", code, r.body, r.header.Get("Content-Type"))
	}
}

func okStatus(t *testing.T, r response) {
	t.Helper()
	expect(t, r, http.StatusOK)
	if got := strings.TrimSpace(string(r.body)); got != `{"message":"ok","status":"ok"}` {
		t.Fatalf("body %s, want status ok", got)
	}
}
