package web_test

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/onboard-dev/onboard/internal/b2b"
	"github.com/onboard-dev/onboard/internal/domain"
	"github.com/onboard-dev/onboard/internal/flows"
	"github.com/onboard-dev/onboard/internal/store"
	"github.com/onboard-dev/onboard/internal/web"
)

// site is the pages over real flows on a SQLite database.
type site struct {
	t     *testing.T
	st    *store.Store
	flows *flows.Service
	srv   *httptest.Server
	logs  *bytes.Buffer
	// now is the flows' clock; tests move it with advance.
	mu  sync.Mutex
	now time.Time
}

// advance moves the site's clock forward.
func (s *site) advance(d time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.now = s.now.Add(d)
}

func (s *site) clock() time.Time {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.now
}

func newSite(t *testing.T) *site {
	t.Helper()
	s := &site{t: t, logs: &bytes.Buffer{}, now: time.Now()}
	s.st, s.flows = newFlows(t, s.clock)
	s.srv = httptest.NewServer(web.New(s.flows, b2b.New(s.flows, b2b.Config{}), slog.New(slog.NewTextHandler(s.logs, nil)), web.Config{}))
	t.Cleanup(s.srv.Close)
	return s
}

var linkToken = regexp.MustCompile(`/register\?token=([A-Za-z0-9_-]+)`)

// signup starts a registration and returns the token of the mailed link.
func (s *site) signup(email, accountType string) string {
	s.t.Helper()
	ctx := context.Background()
	if err := s.flows.StartSignup(ctx, flows.StartSignup{Email: email, AccountType: accountType, ClientIP: "192.0.2.1"}); err != nil {
		s.t.Fatal(err)
	}
	if _, err := s.flows.RunDueJobs(ctx, 10); err != nil {
		s.t.Fatal(err)
	}
	ms, err := s.st.ClaimMail(ctx, time.Now().Add(time.Minute), 10, time.Hour)
	if err != nil {
		s.t.Fatal(err)
	}
	for _, m := range ms {
		if sub := linkToken.FindStringSubmatch(m.Text); sub != nil && m.To == email {
			return sub[1]
		}
	}
	s.t.Fatalf("no registration mail to %s", email)
	return ""
}

type page struct {
	status int
	header http.Header
	body   string
}

func (s *site) do(method, path string, form url.Values, header ...string) page {
	s.t.Helper()
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, err := http.NewRequest(method, s.srv.URL+path, body)
	if err != nil {
		s.t.Fatal(err)
	}
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	client := *s.srv.Client()
	client.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	res, err := client.Do(req)
	if err != nil {
		s.t.Fatal(err)
	}
	defer res.Body.Close()
	raw, err := io.ReadAll(res.Body)
	if err != nil {
		s.t.Fatal(err)
	}
	return page{status: res.StatusCode, header: res.Header, body: string(raw)}
}

func (p page) expect(t *testing.T, status int, contains ...string) {
	t.Helper()
	if p.status != status {
		t.Fatalf("status = %d, want %d; body:\n%s", p.status, status, p.body)
	}
	for _, c := range contains {
		if !strings.Contains(p.body, c) {
			t.Errorf("page lacks %q; body:\n%s", c, p.body)
		}
	}
}

var (
	csrfRe      = regexp.MustCompile(`name="csrf" value="([^"]+)"`)
	agreementRe = regexp.MustCompile(`name="agreement" value="([^"]+)"`)
)

func hidden(t *testing.T, body string) (csrf string, agreements []string) {
	t.Helper()
	if i := strings.Index(body, "<main"); i >= 0 {
		body = body[i:] // the page's form, not the header's language switch
	}
	m := csrfRe.FindStringSubmatch(body)
	if m == nil {
		t.Fatalf("no csrf field in:\n%s", body)
	}
	for _, a := range agreementRe.FindAllStringSubmatch(body, -1) {
		agreements = append(agreements, a[1])
	}
	return m[1], agreements
}

const password = "correct horse battery staple 42"

func TestRegisterFlow(t *testing.T) {
	s := newSite(t)
	token := s.signup("ada@example.com", domain.AccountCustomerBusiness)
	form := s.do("GET", "/register?token="+url.QueryEscape(token), nil)
	form.expect(t, http.StatusOK, `name="customer.name"`, `name="user.first_name"`, `name="password"`, "ada@example.com")
	csrf, agreements := hidden(t, form.body)
	if len(agreements) == 0 {
		t.Fatal("no agreements on the form")
	}
	values := url.Values{"csrf": {csrf}, "token": {token}, "customer.name": {"Analytical Engines"},
		"user.first_name": {"Ada"}, "user.last_name": {"Lovelace"}, "password": {"short"}, "agreement": agreements}

	bad := s.do("POST", "/register", values)
	bad.expect(t, http.StatusUnprocessableEntity, `<li>Password must be at least`, `value="Analytical Engines"`, `value="Lovelace"`)
	if strings.Contains(bad.body, `value="short"`) {
		t.Error("the entered password is shown again")
	}

	values.Set("password", password)
	done := s.do("POST", "/register", values)
	done.expect(t, http.StatusSeeOther)
	if loc := done.header.Get("Location"); loc != "/account" {
		t.Errorf("after registration Location = %q, want /account", loc)
	}
	if c := done.header.Get("Set-Cookie"); !strings.HasPrefix(c, "onboard_session=") || !strings.Contains(c, "HttpOnly") || !strings.Contains(c, "SameSite=Lax") {
		t.Errorf("after registration Set-Cookie = %q, want a session cookie", c)
	}

	again := s.do("GET", "/register?token="+url.QueryEscape(token), nil)
	again.expect(t, http.StatusGone, "This link can no longer be used", "start again")

	if strings.Contains(s.logs.String(), token) {
		t.Error("the log holds the link token")
	}
	if !strings.Contains(s.logs.String(), `route="POST /register"`) {
		t.Errorf("the log lacks the route pattern:\n%s", s.logs)
	}

	login := s.do("GET", "/login", nil)
	csrf, _ = hidden(t, login.body)
	wrong := s.do("POST", "/login", url.Values{"csrf": {csrf}, "email": {"ada@example.com"}, "password": {"wrong password!"}})
	wrong.expect(t, http.StatusUnauthorized, "The email address or password is not correct.", `value="ada@example.com"`)
	ok := s.do("POST", "/login", url.Values{"csrf": {csrf}, "email": {"ada@example.com"}, "password": {password}})
	ok.expect(t, http.StatusSeeOther)
	cookie := ok.header.Get("Set-Cookie")
	if loc := ok.header.Get("Location"); loc != "/account" || !strings.HasPrefix(cookie, "onboard_session=") {
		t.Fatalf("after sign-in Location = %q, Set-Cookie = %q", loc, cookie)
	}
	session, _, _ := strings.Cut(cookie, ";")
	account := s.do("GET", "/account", nil, "Cookie", session)
	account.expect(t, http.StatusOK, "Ada Lovelace", "ada@example.com")
	s.do("GET", "/account", nil).expect(t, http.StatusSeeOther)
}

func TestForgeryIsRejected(t *testing.T) {
	s := newSite(t)
	token := s.signup("grace@example.com", domain.AccountCustomerPersonal)
	csrf, _ := hidden(t, s.do("GET", "/register?token="+url.QueryEscape(token), nil).body)
	loginCSRF, _ := hidden(t, s.do("GET", "/login", nil).body)
	for _, tc := range []struct {
		name   string
		path   string
		form   url.Values
		header []string
	}{
		{"register without token", "/register", url.Values{"token": {token}}, nil},
		{"register with a wrong token", "/register", url.Values{"token": {token}, "csrf": {csrf + "x"}}, nil},
		{"register token of another link", "/register", url.Values{"token": {token + "x"}, "csrf": {csrf}}, nil},
		{"token of another page", "/invitation", url.Values{"token": {token}, "csrf": {csrf}}, nil},
		{"login without token", "/login", url.Values{"email": {"grace@example.com"}, "password": {password}}, nil},
		{"cross-site register", "/register", url.Values{"token": {token}, "csrf": {csrf}}, []string{"Sec-Fetch-Site", "cross-site"}},
		{"cross-site login", "/login", url.Values{"csrf": {loginCSRF}, "email": {"grace@example.com"}, "password": {password}},
			[]string{"Sec-Fetch-Site", "cross-site"}},
		{"cross-origin Origin", "/login", url.Values{"csrf": {loginCSRF}, "email": {"grace@example.com"}, "password": {password}},
			[]string{"Origin", "https://evil.example"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s.do("POST", tc.path, tc.form, tc.header...).expect(t, http.StatusForbidden, "The form could not be accepted")
		})
	}
	// The link is still usable: nothing above reached the flows.
	s.do("GET", "/register?token="+url.QueryEscape(token), nil).expect(t, http.StatusOK)
	// Same-origin browser POSTs pass the cross-origin check.
	s.do("POST", "/login", url.Values{"csrf": {loginCSRF}, "email": {"nobody@example.com"}, "password": {password}},
		"Sec-Fetch-Site", "same-origin").expect(t, http.StatusUnauthorized)
}

func TestPagesAnswers(t *testing.T) {
	s := newSite(t)
	for _, tc := range []struct {
		name, method, path string
		status             int
		contains           string
	}{
		{"unknown registration link", "GET", "/register?token=nope", http.StatusNotFound, "This link is not valid"},
		{"registration without token", "GET", "/register", http.StatusNotFound, "This link is not valid"},
		{"unknown invitation", "GET", "/invitation?token=nope", http.StatusNotFound, "This link is not valid"},
		{"unknown reset link", "GET", "/reset-password?token=nope", http.StatusNotFound, "Ask for a new password-reset link"},
		{"reset request form", "GET", "/reset-password", http.StatusOK, "Forgot your password?"},
		{"unknown email change", "GET", "/confirm-email?token=nope", http.StatusNotFound, "This link is not valid"},
		{"login form", "GET", "/login", http.StatusOK, `autocomplete="current-password"`},
		{"stylesheet", "GET", "/static/style.css", http.StatusOK, "font:"},
		{"no such static file", "GET", "/static/nope.css", http.StatusNotFound, "Page not found"},
		{"no static listing", "GET", "/static/", http.StatusNotFound, "Page not found"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := s.do(tc.method, tc.path, nil)
			p.expect(t, tc.status, tc.contains)
			for h, want := range map[string]string{
				"Content-Security-Policy": "default-src 'none'; style-src 'self'; img-src 'self' https:; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
				"X-Content-Type-Options":  "nosniff",
				"Referrer-Policy":         "no-referrer",
				"Cache-Control":           "no-store",
			} {
				if got := p.header.Get(h); got != want {
					t.Errorf("%s = %q, want %q", h, got, want)
				}
			}
			wantType := "text/html; charset=utf-8"
			if strings.HasSuffix(tc.path, "style.css") {
				wantType = "text/css; charset=utf-8"
			}
			if got := p.header.Get("Content-Type"); got != wantType {
				t.Errorf("Content-Type = %q, want %q", got, wantType)
			}
		})
	}
}

func TestBodyLimit(t *testing.T) {
	s := newSite(t)
	csrf, _ := hidden(t, s.do("GET", "/login", nil).body)
	big := url.Values{"csrf": {csrf}, "email": {strings.Repeat("a", 70<<10)}}
	s.do("POST", "/login", big).expect(t, http.StatusRequestEntityTooLarge, "Too much data")
}

// signIn registers email through the flows and signs in on the page; it
// returns the session cookie ("name=value").
func (s *site) signIn(email string) string {
	s.t.Helper()
	token := s.signup(email, domain.AccountCustomerPersonal)
	form, err := s.flows.Signup(context.Background(), token)
	if err != nil {
		s.t.Fatal(err)
	}
	var ids []string
	for _, a := range form.Agreements {
		ids = append(ids, a.ID)
	}
	if _, err := s.flows.CompleteSignup(context.Background(), token, flows.Completion{
		User: map[string]any{"first_name": "Grace", "last_name": "Hopper"}, Password: password, AcceptedAgreements: ids, ClientIP: "192.0.2.1",
	}); err != nil {
		s.t.Fatal(err)
	}
	return s.login(email, "")
}

// login signs in on the page, sending cookie (may be empty) along.
func (s *site) login(email, cookie string) string {
	s.t.Helper()
	csrf, _ := hidden(s.t, s.do("GET", "/login", nil).body)
	res := s.do("POST", "/login", url.Values{"csrf": {csrf}, "email": {email}, "password": {password}}, "Cookie", cookie)
	res.expect(s.t, http.StatusSeeOther)
	c, _, _ := strings.Cut(res.header.Get("Set-Cookie"), ";")
	if !strings.HasPrefix(c, "onboard_session=") {
		s.t.Fatalf("no session cookie: %q", res.header.Get("Set-Cookie"))
	}
	return c
}

func TestBrowserSessionExpiry(t *testing.T) {
	s := newSite(t)
	cookie := s.signIn("grace@example.com")
	s.do("GET", "/account", nil, "Cookie", cookie).expect(t, http.StatusOK, "Grace Hopper")

	// Used every 20 minutes, the session lives on past the idle time…
	for range 3 {
		s.advance(20 * time.Minute)
		s.do("GET", "/account", nil, "Cookie", cookie).expect(t, http.StatusOK, "Grace Hopper")
	}
	// …until 31 minutes pass without use.
	s.advance(31 * time.Minute)
	gone := s.do("GET", "/account", nil, "Cookie", cookie)
	gone.expect(t, http.StatusSeeOther)
	if loc := gone.header.Get("Location"); loc != "/login?next=%2Faccount" {
		t.Errorf("Location = %q, want the sign-in page coming back to /account", loc)
	}

	// However much it is used, it ends 12 hours after sign-in.
	cookie = s.login("grace@example.com", "")
	for range 12 * 3 {
		s.advance(20 * time.Minute)
		s.do("GET", "/", nil, "Cookie", cookie)
	}
	s.do("GET", "/account", nil, "Cookie", cookie).expect(t, http.StatusSeeOther)
}

func TestSignInReplacesAndSignOutEndsTheSession(t *testing.T) {
	s := newSite(t)
	first := s.signIn("grace@example.com")
	second := s.login("grace@example.com", first)
	if first == second {
		t.Fatal("sign-in kept the session id")
	}
	s.do("GET", "/account", nil, "Cookie", first).expect(t, http.StatusSeeOther)
	page := s.do("GET", "/account", nil, "Cookie", second)
	page.expect(t, http.StatusOK)

	// Sign-out needs the form's token of this session.
	m := regexp.MustCompile(`action="/logout">\s*<input type="hidden" name="csrf" value="([^"]+)"`).FindStringSubmatch(page.body)
	if m == nil {
		t.Fatalf("no sign-out form:\n%s", page.body)
	}
	s.do("POST", "/logout", url.Values{"csrf": {"forged"}}, "Cookie", second).expect(t, http.StatusForbidden)
	out := s.do("POST", "/logout", url.Values{"csrf": {m[1]}}, "Cookie", second)
	out.expect(t, http.StatusSeeOther)
	if c := out.header.Get("Set-Cookie"); !strings.Contains(c, "Max-Age=0") {
		t.Errorf("sign-out Set-Cookie = %q, want the cookie removed", c)
	}
	// The session is over on the server, not only in this browser.
	s.do("GET", "/account", nil, "Cookie", second).expect(t, http.StatusSeeOther)
}

func TestSecureCookies(t *testing.T) {
	s := newSite(t)
	srv := httptest.NewServer(web.New(s.flows, b2b.New(s.flows, b2b.Config{}), slog.New(slog.DiscardHandler), web.Config{SecureCookies: true}))
	t.Cleanup(srv.Close)
	s.srv = srv
	_ = s.signup("ada@example.com", domain.AccountCustomerPersonal)
	csrf, _ := hidden(t, s.do("GET", "/login", nil).body)
	res := s.do("POST", "/language", url.Values{"csrf": {csrf}, "lang": {"it"}, "next": {"/login"}})
	// The language form's token is the one of /language, not of /login.
	res.expect(t, http.StatusForbidden)
	page := s.do("GET", "/login", nil)
	m := regexp.MustCompile(`action="/language">\s*<input type="hidden" name="csrf" value="([^"]+)"`).FindStringSubmatch(page.body)
	if m == nil {
		t.Fatal("no language switch")
	}
	res = s.do("POST", "/language", url.Values{"csrf": {m[1]}, "lang": {"it"}, "next": {"//evil.example"}})
	res.expect(t, http.StatusSeeOther)
	if loc := res.header.Get("Location"); loc != "/" {
		t.Errorf("Location = %q, want / (an unsafe next is ignored)", loc)
	}
	c := res.header.Get("Set-Cookie")
	for _, want := range []string{"__Host-onboard_lang=it", "Path=/", "Secure", "HttpOnly", "SameSite=Lax"} {
		if !strings.Contains(c, want) {
			t.Errorf("Set-Cookie = %q, lacks %q", c, want)
		}
	}
	it := s.do("GET", "/login", nil, "Cookie", "__Host-onboard_lang=it")
	it.expect(t, http.StatusOK, `<html lang="it">`, "Accedi", "Password dimenticata?")
	s.do("GET", "/login", nil, "Accept-Language", "it-IT,it;q=0.9").expect(t, http.StatusOK, "Accedi")
	s.do("GET", "/login", nil, "Accept-Language", "it", "Cookie", "__Host-onboard_lang=en").expect(t, http.StatusOK, `<html lang="en">`)
}

// TestLoginLockout: the sign-in page has the API's lockout; after five
// failures for an address, even the right password waits (429 with
// Retry-After), and the page says so.
func TestLoginLockout(t *testing.T) {
	s := newSite(t)
	s.signIn("grace@example.com")
	csrf, _ := hidden(t, s.do("GET", "/login", nil).body)
	for range 5 {
		s.do("POST", "/login", url.Values{"csrf": {csrf}, "email": {"grace@example.com"}, "password": {"wrong password!"}}).
			expect(t, http.StatusUnauthorized, "The email address or password is not correct.")
	}
	locked := s.do("POST", "/login", url.Values{"csrf": {csrf}, "email": {"grace@example.com"}, "password": {password}})
	locked.expect(t, http.StatusTooManyRequests, "Too many attempts. Try again later.")
	if locked.header.Get("Retry-After") == "" {
		t.Error("no Retry-After")
	}
	if strings.Contains(locked.header.Get("Set-Cookie"), "onboard_session=") {
		t.Error("a locked-out sign-in got a session")
	}
}

// TestLoginNext: after sign-in the browser goes to next when it is a path
// of this site, and to the account otherwise.
func TestLoginNext(t *testing.T) {
	s := newSite(t)
	s.signIn("grace@example.com")
	csrf, _ := hidden(t, s.do("GET", "/login?next=%2Faccount%3Ftab%3D1", nil).body)
	for _, tc := range []struct{ next, want string }{
		{"/account?tab=1", "/account?tab=1"},
		{"//evil.example/", "/account"},
		{"https://evil.example/", "/account"},
		{"/%2F%2Fevil.example", "/account"},
		{"", "/account"},
	} {
		res := s.do("POST", "/login", url.Values{"csrf": {csrf}, "email": {"grace@example.com"}, "password": {password}, "next": {tc.next}})
		res.expect(t, http.StatusSeeOther)
		if got := res.header.Get("Location"); got != tc.want {
			t.Errorf("next %q: Location = %q, want %q", tc.next, got, tc.want)
		}
	}
}
