package app_test

import (
	"crypto/rand"
	"html"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"golang.org/x/oauth2"
)

// ssoProvider is one provider of the sso member of the onboarding document.
func ssoProvider(name, issuer, clientID, secret string, appRedirects ...string) map[string]any {
	p := map[string]any{"name": name, "issuer": issuer, "client_id": clientID, "client_secret": secret,
		"button_label": strings.ToUpper(name[:1]) + name[1:]}
	if len(appRedirects) > 0 {
		p["app_redirect_uris"] = appRedirects
	}
	return p
}

// putSSO sets the sso member of the default organization's onboarding,
// keeping the rest; it also lets channel partners register without a code.
func (e *env) putSSO(t *testing.T, createsCustomer bool, providers ...map[string]any) {
	t.Helper()
	e.putSSOType(t, createsCustomer, "customer_personal", providers...)
}

// putSSOType is putSSO with the first-login account type.
func (e *env) putSSOType(t *testing.T, createsCustomer bool, accountType string, providers ...map[string]any) {
	t.Helper()
	r := e.admin(envAdminKey, "GET", adminPath("default", "/onboarding"), nil)
	expect(t, r, http.StatusOK)
	cfg := r.json(t)
	cfg["sso"] = map[string]any{"first_login_creates_customer": createsCustomer, "first_login_account_type": accountType,
		"providers": providers}
	cfg["self_registration"] = map[string]any{"enabled": true, "account_types": []string{"customer_personal", "customer_business", "channel_partner"}}
	cfg["partner_self_registration_without_code"] = true
	r = e.admin(envAdminKey, "PUT", adminPath("default", "/onboarding"), cfg)
	expect(t, r, http.StatusOK)
}

// page is an answer of the pages.
type page struct {
	status int
	url    *url.URL
	body   string
}

// ssoBrowser is a cookie-keeping HTTP client that follows redirects
// (through the provider and back), like a browser without JavaScript.
type ssoBrowser struct {
	t  *testing.T
	hc *http.Client
	// stopAt, when set, stops following redirects at the first URL it
	// matches (which is then the page's url, unvisited).
	stopAt func(*url.URL) bool
}

func newSSOBrowser(t *testing.T) *ssoBrowser {
	jar, err := cookiejar.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	b := &ssoBrowser{t: t}
	b.hc = &http.Client{Jar: jar, CheckRedirect: func(req *http.Request, via []*http.Request) error {
		if b.stopAt != nil && b.stopAt(req.URL) {
			return http.ErrUseLastResponse
		}
		if len(via) > 20 {
			return http.ErrUseLastResponse
		}
		return nil
	}}
	return b
}

func (b *ssoBrowser) do(req *http.Request) page {
	b.t.Helper()
	res, err := b.hc.Do(req)
	if err != nil {
		b.t.Fatalf("%s %s: %v", req.Method, req.URL, err)
	}
	defer res.Body.Close()
	raw, _ := io.ReadAll(res.Body)
	u := res.Request.URL
	if loc := res.Header.Get("Location"); loc != "" && res.StatusCode >= 300 && res.StatusCode < 400 {
		u, _ = res.Request.URL.Parse(loc)
	}
	return page{status: res.StatusCode, url: u, body: string(raw)}
}

func (b *ssoBrowser) get(rawURL string) page {
	b.t.Helper()
	req, err := http.NewRequest("GET", rawURL, nil)
	if err != nil {
		b.t.Fatal(err)
	}
	return b.do(req)
}

var (
	formAction = regexp.MustCompile(`<form method="post" action="([^"]+)"`)
	hiddenIn   = regexp.MustCompile(`<input type="hidden" name="([^"]+)" value="([^"]*)">`)
	agreeIn    = regexp.MustCompile(`name="agreement" value="([^"]+)"`)
)

// submit posts the page's (last) form with its hidden fields, every
// agreement ticked, and values.
func (b *ssoBrowser) submit(base string, p page, values map[string]string) page {
	b.t.Helper()
	acts := formAction.FindAllStringSubmatch(p.body, -1)
	if len(acts) == 0 {
		b.t.Fatalf("no form on %s:\n%s", p.url, p.body)
	}
	action := html.UnescapeString(acts[len(acts)-1][1])
	form := url.Values{}
	body := p.body[strings.LastIndex(p.body, `<form method="post"`):]
	for _, m := range hiddenIn.FindAllStringSubmatch(body, -1) {
		form.Set(m[1], html.UnescapeString(m[2]))
	}
	for _, m := range agreeIn.FindAllStringSubmatch(body, -1) {
		form.Add("agreement", m[1])
	}
	for k, v := range values {
		form.Set(k, v)
	}
	req, err := http.NewRequest("POST", base+action, strings.NewReader(form.Encode()))
	if err != nil {
		b.t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Origin", base)
	return b.do(req)
}

func expectPageStatus(t *testing.T, p page, status int, contains string) {
	t.Helper()
	if p.status != status || !strings.Contains(p.body, contains) {
		t.Fatalf("page %s: status %d, want %d with %q:\n%s", p.url, p.status, status, contains, p.body)
	}
}

// appCode runs the authorization step at the provider as an app would
// (PKCE S256, its own redirect URI) and returns the code, the verifier and
// the nonce.
func appCode(t *testing.T, authEndpoint, clientID, redirect string) (code, verifier, nonce string) {
	t.Helper()
	verifier, nonce = oauth2.GenerateVerifier(), rand.Text()
	cfg := oauth2.Config{ClientID: clientID, RedirectURL: redirect, Scopes: []string{"openid", "email", "profile"},
		Endpoint: oauth2.Endpoint{AuthURL: authEndpoint}}
	b := newSSOBrowser(t)
	b.stopAt = func(u *url.URL) bool { return strings.HasPrefix(u.String(), redirect) }
	p := b.get(cfg.AuthCodeURL("app-state-0123", oauth2.S256ChallengeOption(verifier), oauth2.SetAuthURLParam("nonce", nonce)))
	code = p.url.Query().Get("code")
	if code == "" || p.url.Query().Get("state") != "app-state-0123" {
		t.Fatalf("no code at the app redirect: %s (%d)\n%s", p.url, p.status, p.body)
	}
	return code, verifier, nonce
}
