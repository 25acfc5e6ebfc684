package web_test

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/onboard-dev/onboard/internal/b2b"
	"github.com/onboard-dev/onboard/internal/domain"
	"github.com/onboard-dev/onboard/internal/flows"
	"github.com/onboard-dev/onboard/internal/store"
	"github.com/onboard-dev/onboard/internal/web"
)

// Authorization edges of the signed-in area, at the handler level: no
// session, another account's ids, and POSTs without their form token.

// formKey is the form-token key of accountSite, so that a test can make the
// token a page would have rendered for any action path.
var formKey = []byte("0123456789abcdef0123456789abcdef")

// accountSite is the pages over real flows on SQLite, with a known form key.
type accountSite struct {
	t     *testing.T
	st    *store.Store
	flows *flows.Service
	srv   *httptest.Server
	logs  *bytes.Buffer
}

func newAccountSite(t *testing.T) *accountSite {
	t.Helper()
	st, f := newFlows(t, nil)
	s := &accountSite{t: t, st: st, flows: f, logs: &bytes.Buffer{}}
	s.srv = httptest.NewServer(web.New(f, b2b.New(f, b2b.Config{}), slog.New(slog.NewTextHandler(s.logs, nil)), web.Config{FormKey: formKey}))
	t.Cleanup(s.srv.Close)
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("log:\n%s", s.logs)
		}
	})
	return s
}

const accountPassword = "correct horse battery staple 42"

// person is a signed-in user: the browser session's cookie and id.
type person struct {
	flows.Principal
	cookie string
}

// signIn opens a browser session for email.
func (s *accountSite) signIn(email string) person {
	s.t.Helper()
	tok, p, err := s.flows.Login(context.Background(), flows.Login{Email: email, Password: accountPassword, ClientIP: "192.0.2.1", Browser: true})
	if err != nil {
		s.t.Fatalf("sign in %s: %v", email, err)
	}
	return person{Principal: p, cookie: tok}
}

// register creates a business customer whose administrator is email, and
// signs them in.
func (s *accountSite) register(email, company string) person {
	s.t.Helper()
	ctx := context.Background()
	if err := s.flows.StartSignup(ctx, flows.StartSignup{Email: email, AccountType: "customer_business", ClientIP: "192.0.2.1"}); err != nil {
		s.t.Fatal(err)
	}
	token := s.mailedToken(email, "/register?token=")
	form, err := s.flows.Signup(ctx, token)
	if err != nil {
		s.t.Fatal(err)
	}
	var ids []string
	for _, a := range form.Agreements {
		ids = append(ids, a.ID)
	}
	_, err = s.flows.CompleteSignup(ctx, token, flows.Completion{Customer: map[string]any{"name": company},
		User: map[string]any{"first_name": "Ada", "last_name": "Lovelace"}, Password: accountPassword, AcceptedAgreements: ids, ClientIP: "192.0.2.1"})
	if err != nil {
		s.t.Fatal(err)
	}
	return s.signIn(email)
}

// join invites email into by's account with the user type and accepts.
func (s *accountSite) join(by person, email, userType string) person {
	s.t.Helper()
	ctx := context.Background()
	ref := flows.AccountRef{Kind: by.Account.Kind, ID: by.Account.ID}
	if _, err := s.flows.Invite(ctx, by.Principal, ref, flows.Invite{Email: email, UserType: userType, ClientIP: "192.0.2.1"}); err != nil {
		s.t.Fatal(err)
	}
	token := s.mailedToken(email, "/invitation?token=")
	form, err := s.flows.Invitation(ctx, token)
	if err != nil {
		s.t.Fatal(err)
	}
	var ids []string
	for _, a := range form.Agreements {
		ids = append(ids, a.ID)
	}
	if _, err := s.flows.AcceptInvitation(ctx, token, flows.InvitationCompletion{
		User: map[string]any{"first_name": "Charles", "last_name": "Babbage"}, Password: accountPassword, AcceptedAgreements: ids,
	}); err != nil {
		s.t.Fatal(err)
	}
	return s.signIn(email)
}

// mailedToken claims the queued mail and returns the token of the link
// after prefix in the newest message to addr.
func (s *accountSite) mailedToken(addr, prefix string) string {
	s.t.Helper()
	// Requests that name an address (signups, resets) are jobs: run them.
	if _, err := s.flows.RunDueJobs(context.Background(), 100); err != nil {
		s.t.Fatal(err)
	}
	ms, err := s.st.ClaimMail(context.Background(), time.Now().Add(time.Minute), 100, time.Hour)
	if err != nil {
		s.t.Fatal(err)
	}
	for i := len(ms) - 1; i >= 0; i-- {
		if _, rest, ok := strings.Cut(ms[i].Text, prefix); ok && ms[i].To == addr {
			end := strings.IndexFunc(rest, func(r rune) bool {
				return !(r == '-' || r == '_' || r >= '0' && r <= '9' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z')
			})
			if end < 0 {
				end = len(rest)
			}
			return rest[:end]
		}
	}
	s.t.Fatalf("no mail to %s with %s", addr, prefix)
	return ""
}

// token is the form token the pages render for a form of the signed-in
// area at path.
func (p person) token(path string) string {
	m := hmac.New(sha256.New, formKey)
	m.Write([]byte(path))
	m.Write([]byte{0})
	m.Write([]byte("session:" + p.Session.ID))
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

type answer struct {
	status   int
	location string
	body     string
}

// do sends a request as who (nil: without a session), without following
// redirects.
func (s *accountSite) do(who *person, method, path string, form url.Values) answer {
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
	if who != nil {
		req.AddCookie(&http.Cookie{Name: "onboard_session", Value: who.cookie})
	}
	client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	res, err := client.Do(req)
	if err != nil {
		s.t.Fatal(err)
	}
	defer res.Body.Close()
	raw, err := io.ReadAll(res.Body)
	if err != nil {
		s.t.Fatal(err)
	}
	return answer{status: res.StatusCode, location: res.Header.Get("Location"), body: string(raw)}
}

// post sends a form of the signed-in area with its valid token.
func (s *accountSite) post(who person, path string, form url.Values) answer {
	s.t.Helper()
	if form == nil {
		form = url.Values{}
	}
	form.Set("csrf", who.token(path))
	return s.do(&who, "POST", path, form)
}

// accountPages are the pages of the area that answer GET.
var accountPages = []string{"/account", "/account/profile", "/account/password", "/account/email", "/account/sessions",
	"/account/agreements", "/account/data", "/account/details", "/account/users", "/account/invitations",
	"/account/locations", "/account/delete"}

func TestAccountPagesNeedSession(t *testing.T) {
	s := newAccountSite(t)
	ada := s.register("ada@example.com", "Analytical Engines Ltd")
	if _, err := flows.EnsureOrganization(context.Background(), s.st, "acme", "Acme"); err != nil {
		t.Fatal(err)
	}
	paths := append(accountPages, "/account/users/"+ada.User.ID+"/remove", "/o/acme/account/profile")
	for _, path := range paths {
		t.Run(path, func(t *testing.T) {
			a := s.do(nil, "GET", path, nil)
			login := "/login"
			if strings.HasPrefix(path, "/o/acme/") {
				login = "/o/acme/login"
			}
			want := login + "?next=" + url.QueryEscape(path)
			if a.status != http.StatusSeeOther || a.location != want {
				t.Errorf("GET %s without session: %d %q, want 303 to %q", path, a.status, a.location, want)
			}
			// A session cookie that is not (or no longer) valid is no session.
			a = s.do(&person{cookie: "not-a-session"}, "GET", path, nil)
			if a.status != http.StatusSeeOther || a.location != want {
				t.Errorf("GET %s with a bad cookie: %d %q, want 303 to %q", path, a.status, a.location, want)
			}
		})
	}
	// The administrator's own session opens every page (of its own
	// organization only).
	if a := s.do(&ada, "GET", "/o/acme/account/profile", nil); a.status != http.StatusSeeOther {
		t.Errorf("GET /o/acme/account/profile with a session of another organization: %d, want 303 to sign in", a.status)
	}
	for _, path := range paths[:len(paths)-1] {
		if a := s.do(&ada, "GET", path, nil); a.status != http.StatusOK {
			t.Errorf("GET %s as the administrator: %d, want 200", path, a.status)
		}
	}
	// A POST without a session changes nothing and does not redirect.
	if a := s.do(nil, "POST", "/account/locations", url.Values{"name": {"Site 2"}}); a.status != http.StatusUnauthorized {
		t.Errorf("POST without session: %d, want 401", a.status)
	}
}

func TestAccountOtherAccountsIDsAreNotFound(t *testing.T) {
	s := newAccountSite(t)
	ctx := context.Background()
	ada := s.register("ada@example.com", "Analytical Engines Ltd")
	s.join(ada, "charles@example.com", "customer_user")
	// Grace's account, with a user, an invitation, a location and a session
	// of its own.
	grace := s.register("grace@example.com", "Compilers Inc")
	other := s.join(grace, "kathleen@example.com", "customer_user")
	inv, err := s.flows.Invite(ctx, grace.Principal, flows.AccountRef{Kind: "customer", ID: grace.Account.ID},
		flows.Invite{Email: "jean@example.com", UserType: "customer_user", ClientIP: "192.0.2.1"})
	if err != nil {
		t.Fatal(err)
	}
	loc, err := s.flows.CreateLocation(ctx, grace.Principal, grace.Account.ID, "Harvard")
	if err != nil {
		t.Fatal(err)
	}

	notFound := s.do(&ada, "GET", "/account/no-such-page", nil)
	if notFound.status != http.StatusNotFound {
		t.Fatalf("unknown page: %d", notFound.status)
	}
	for _, tc := range []struct {
		method, path string
		form         url.Values
	}{
		{"GET", "/account/users/" + other.User.ID + "/remove", nil},
		{"POST", "/account/users/" + other.User.ID + "/remove", nil},
		{"POST", "/account/users/" + other.User.ID + "/type", url.Values{"user_type": {"customer_admin"}}},
		{"POST", "/account/invitations/" + inv.Invitation.ID + "/resend", nil},
		{"POST", "/account/invitations/" + inv.Invitation.ID + "/revoke", nil},
		{"POST", "/account/locations/" + loc.ID + "/rename", url.Values{"name": {"Mine now"}}},
		{"POST", "/account/locations/" + loc.ID + "/remove", nil},
		{"POST", "/account/sessions/" + grace.Session.ID + "/end", nil},
	} {
		for _, id := range []string{"other", "unknown"} {
			path := tc.path
			if id == "unknown" {
				path = strings.NewReplacer(other.User.ID, "x1", inv.Invitation.ID, "x1", loc.ID, "x1", grace.Session.ID, "x1").Replace(path)
			}
			var a answer
			if tc.method == "GET" {
				a = s.do(&ada, "GET", path, nil)
			} else {
				a = s.post(ada, path, tc.form)
			}
			if a.status != http.StatusNotFound || mainOf(a.body) != mainOf(notFound.body) {
				t.Errorf("%s %s (%s id): %d, want the same 404 page as an unknown page; body:\n%s", tc.method, path, id, a.status, a.body)
			}
		}
	}
	// Nothing of Grace's account changed.
	users, err := s.flows.AccountUsers(ctx, grace.Principal, flows.AccountRef{Kind: "customer", ID: grace.Account.ID})
	if err != nil || len(users) != 2 || users[1].UserType.Name != "customer_user" {
		t.Errorf("Grace's users after the attempts: %+v, %v", users, err)
	}
	locs, err := s.flows.Locations(ctx, grace.Principal, grace.Account.ID)
	if err != nil || len(locs) != 2 || locs[1].Name != "Harvard" && locs[0].Name != "Harvard" {
		t.Errorf("Grace's locations after the attempts: %+v, %v", locs, err)
	}
	invs, err := s.flows.Invitations(ctx, grace.Principal, flows.AccountRef{Kind: "customer", ID: grace.Account.ID})
	if err != nil || len(invs) != 2 || invs[0].Status != "pending" {
		t.Errorf("Grace's invitations after the attempts: %+v, %v", invs, err)
	}
	if sessions, err := s.flows.Sessions(ctx, grace.Principal); err != nil || len(sessions) != 1 {
		t.Errorf("Grace's sessions after the attempts: %d, %v", len(sessions), err)
	}
	// No page of Ada's shows Grace's account.
	for _, path := range accountPages {
		a := s.do(&ada, "GET", path, nil)
		for _, secret := range []string{"Compilers Inc", "grace@example.com", "kathleen@example.com", "jean@example.com", "Harvard"} {
			if strings.Contains(a.body, secret) {
				t.Errorf("GET %s shows %q of another account", path, secret)
			}
		}
	}
}

func TestAccountFormsNeedToken(t *testing.T) {
	s := newAccountSite(t)
	ctx := context.Background()
	ada := s.register("ada@example.com", "Analytical Engines Ltd")
	charles := s.join(ada, "charles@example.com", "customer_user")
	for _, tc := range []struct {
		path string
		form url.Values
	}{
		{"/account/profile", url.Values{"first_name": {"Eve"}, "last_name": {"Forger"}}},
		{"/account/locations", url.Values{"name": {"Forged"}}},
		{"/account/users/" + charles.User.ID + "/type", url.Values{"user_type": {"customer_admin"}}},
		{"/account/users/" + charles.User.ID + "/remove", nil},
		{"/account/invitations", url.Values{"email": {"eve@example.com"}, "user_type": {"customer_admin"}}},
		{"/account/sessions/end-others", nil},
		{"/account/delete", url.Values{"current_password": {accountPassword}}},
		{"/account/data", nil},
	} {
		for _, csrf := range []string{"", "forged", charles.token(tc.path), ada.token(tc.path + "/other")} {
			form := url.Values{}
			for k, v := range tc.form {
				form[k] = v
			}
			if csrf != "" {
				form.Set("csrf", csrf)
			}
			a := s.do(&ada, "POST", tc.path, form)
			if a.status != http.StatusForbidden {
				t.Errorf("POST %s with token %q: %d, want 403", tc.path, csrf, a.status)
			}
		}
	}
	// Nothing changed.
	users, err := s.flows.AccountUsers(ctx, ada.Principal, flows.AccountRef{Kind: "customer", ID: ada.Account.ID})
	if err != nil || len(users) != 2 || users[0].User.FirstName != "Ada" || users[1].UserType.Name != "customer_user" {
		t.Errorf("users after forged posts: %+v, %v", users, err)
	}
	if locs, err := s.flows.Locations(ctx, ada.Principal, ada.Account.ID); err != nil || len(locs) != 1 || locs[0].Name != "Location" {
		t.Errorf("locations after forged posts: %+v, %v", locs, err)
	}
	if invs, err := s.flows.Invitations(ctx, ada.Principal, flows.AccountRef{Kind: "customer", ID: ada.Account.ID}); err != nil || len(invs) != 1 {
		t.Errorf("invitations after forged posts: %d, %v", len(invs), err)
	}
	if sessions, err := s.flows.Sessions(ctx, ada.Principal); err != nil || len(sessions) != 1 {
		t.Errorf("sessions after forged posts: %d, %v", len(sessions), err)
	}
	// With its token the same form works.
	if a := s.post(ada, "/account/locations", url.Values{"name": {"Site 2"}}); a.status != http.StatusSeeOther {
		t.Errorf("POST /account/locations with its token: %d, want 303", a.status)
	}
}

func TestAccountPlainUserSeesOnlyWhatTheTypeAllows(t *testing.T) {
	s := newAccountSite(t)
	ada := s.register("ada@example.com", "Analytical Engines Ltd")
	charles := s.join(ada, "charles@example.com", "customer_user")
	home := s.do(&charles, "GET", "/account", nil)
	if home.status != http.StatusOK {
		t.Fatalf("home: %d", home.status)
	}
	for _, path := range []string{"/account/details", "/account/users", "/account/invitations", "/account/delete",
		"/account/users/" + ada.User.ID + "/remove"} {
		if strings.Contains(home.body, `href="`+path+`"`) {
			t.Errorf("the navigation of a plain user links to %s", path)
		}
		if a := s.do(&charles, "GET", path, nil); a.status != http.StatusForbidden {
			t.Errorf("GET %s as a plain user: %d, want 403", path, a.status)
		}
	}
	for _, path := range []string{"/account/users/" + ada.User.ID + "/type", "/account/users/" + ada.User.ID + "/remove",
		"/account/invitations", "/account/delete", "/account/locations"} {
		if a := s.post(charles, path, url.Values{"user_type": {"customer_user"}, "email": {"x@example.com"},
			"current_password": {accountPassword}, "name": {"Mine"}}); a.status != http.StatusForbidden {
			t.Errorf("POST %s as a plain user: %d, want 403", path, a.status)
		}
	}
	// Locations: readable (location.read), without forms (no location.write).
	locs := s.do(&charles, "GET", "/account/locations", nil)
	if locs.status != http.StatusOK || strings.Contains(locs.body, "<form class=\"row-form\"") || strings.Contains(locs.body, `name="name"`) {
		t.Errorf("locations of a plain user: %d, with forms: %s", locs.status, locs.body)
	}
	users, err := s.flows.AccountUsers(context.Background(), ada.Principal, flows.AccountRef{Kind: "customer", ID: ada.Account.ID})
	if err != nil || len(users) != 2 || users[0].UserType.Name != "customer_admin" {
		t.Errorf("users after the plain user's attempts: %+v, %v", users, err)
	}
}

// mainOf is the main element of a page: what a page says, without the
// header (whose forms differ from page to page).
func mainOf(body string) string {
	_, rest, _ := strings.Cut(body, "<main")
	m, _, _ := strings.Cut(rest, "</main>")
	return m
}

func TestAccountProfileAndLanguage(t *testing.T) {
	s := newAccountSite(t)
	ada := s.register("ada@example.com", "Analytical Engines Ltd")
	for _, tc := range []struct {
		name  string
		form  url.Values
		field string
	}{
		{"no first name", url.Values{"first_name": {" "}, "last_name": {"Lovelace"}}, "f-first_name-error"},
		{"bad phone", url.Values{"first_name": {"Ada"}, "last_name": {"Lovelace"}, "phone": {"call me"}}, "f-phone-error"},
		{"unknown language", url.Values{"first_name": {"Ada"}, "last_name": {"Lovelace"}, "language": {"xx"}}, "f-language-error"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a := s.post(ada, "/account/profile", tc.form)
			if a.status != http.StatusUnprocessableEntity || !strings.Contains(a.body, `id="`+tc.field+`"`) ||
				!strings.Contains(a.body, `href="#`+strings.TrimSuffix(tc.field, "-error")+`"`) {
				t.Errorf("%d, want 422 with %s and a summary link to its field; body:\n%s", a.status, tc.field, mainOf(a.body))
			}
		})
	}
	a := s.post(ada, "/account/profile", url.Values{"first_name": {"Augusta Ada"}, "last_name": {"King"},
		"phone": {"+44 20 7946 0000"}, "language": {"it"}})
	if a.status != http.StatusSeeOther || a.location != "/account/profile?done=profile" {
		t.Fatalf("save: %d %q", a.status, a.location)
	}
	page := s.do(&ada, "GET", a.location, nil)
	if !strings.Contains(page.body, `<html lang="it">`) || !strings.Contains(page.body, "Il tuo profilo è stato salvato.") ||
		!strings.Contains(page.body, `value="Augusta Ada"`) {
		t.Errorf("the profile after saving Italian:\n%s", page.body)
	}
	u, err := s.st.UserByID(context.Background(), ada.User.OrgID, ada.User.ID)
	if err != nil || u.Language != "it" || u.Phone != "+44 20 7946 0000" || u.LastName != "King" {
		t.Errorf("stored user %+v, %v", u, err)
	}
}

func TestAccountLastAdministratorAndDownload(t *testing.T) {
	s := newAccountSite(t)
	ada := s.register("ada@example.com", "Analytical Engines Ltd")
	for _, path := range []string{"/account/users/" + ada.User.ID + "/remove", "/account/users/" + ada.User.ID + "/type"} {
		a := s.post(ada, path, url.Values{"user_type": {"customer_user"}})
		if a.status != http.StatusConflict || !strings.Contains(a.body, "last administrator") {
			t.Errorf("POST %s for the last administrator: %d, want 409 saying so; body:\n%s", path, a.status, mainOf(a.body))
		}
	}
	if u, err := s.st.UserByID(context.Background(), ada.User.OrgID, ada.User.ID); err != nil || u.UserTypeID != ada.User.UserTypeID {
		t.Errorf("administrator after the refusals: %+v, %v", u, err)
	}

	req, err := http.NewRequest("POST", s.srv.URL+"/account/data", strings.NewReader(url.Values{"csrf": {ada.token("/account/data")}}.Encode()))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.AddCookie(&http.Cookie{Name: "onboard_session", Value: ada.cookie})
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	var doc struct {
		User struct {
			Email string `json:"email"`
		} `json:"user"`
		Acceptances []any `json:"acceptances"`
	}
	if err := json.NewDecoder(res.Body).Decode(&doc); err != nil {
		t.Fatal(err)
	}
	if res.StatusCode != http.StatusOK || res.Header.Get("Content-Disposition") != `attachment; filename="onboard-export.json"` ||
		doc.User.Email != "ada@example.com" || len(doc.Acceptances) == 0 {
		t.Errorf("download: %d %q %+v", res.StatusCode, res.Header.Get("Content-Disposition"), doc)
	}
}

func TestAccountInvitationsAndLocations(t *testing.T) {
	s := newAccountSite(t)
	ctx := context.Background()
	ada := s.register("ada@example.com", "Analytical Engines Ltd")
	ref := flows.AccountRef{Kind: "customer", ID: ada.Account.ID}

	// Invite, with an error first: the values stay, the error is next to
	// the field.
	a := s.post(ada, "/account/invitations", url.Values{"email": {"not an address"}, "user_type": {"customer_viewer"}})
	if a.status != http.StatusUnprocessableEntity || !strings.Contains(a.body, `id="f-email-error"`) ||
		!strings.Contains(a.body, `value="not an address"`) {
		t.Fatalf("invalid invitation: %d\n%s", a.status, mainOf(a.body))
	}
	a = s.post(ada, "/account/invitations", url.Values{"email": {"charles@example.com"}, "user_type": {"customer_viewer"}})
	if a.status != http.StatusSeeOther || a.location != "/account/invitations?done=invited" {
		t.Fatalf("invite: %d %q", a.status, a.location)
	}
	first := s.mailedToken("charles@example.com", "/invitation?token=")
	invs, err := s.flows.Invitations(ctx, ada.Principal, ref)
	if err != nil || len(invs) != 1 || invs[0].UserType.Name != "customer_viewer" {
		t.Fatalf("invitations: %+v, %v", invs, err)
	}
	page := s.do(&ada, "GET", a.location, nil)
	if !strings.Contains(page.body, "charles@example.com") || !strings.Contains(page.body, "The invitation has been sent.") {
		t.Errorf("invitations page after inviting:\n%s", mainOf(page.body))
	}

	// Resend: a new link, the old one no longer works.
	a = s.post(ada, "/account/invitations/"+invs[0].Invitation.ID+"/resend", nil)
	if a.status != http.StatusSeeOther {
		t.Fatalf("resend: %d\n%s", a.status, mainOf(a.body))
	}
	second := s.mailedToken("charles@example.com", "/invitation?token=")
	if second == first {
		t.Fatal("the resent invitation has the same link")
	}
	if _, err := s.flows.Invitation(ctx, first); err == nil {
		t.Error("the first link still works after resending")
	}
	if form, err := s.flows.Invitation(ctx, second); err != nil || form.UserType.Name != "customer_viewer" {
		t.Errorf("the resent link: %+v, %v", form.UserType, err)
	}

	// Revoke the current one; revoking or resending it again is refused
	// with a message, not a 500.
	invs, _ = s.flows.Invitations(ctx, ada.Principal, ref)
	current := invs[0].Invitation.ID
	if a = s.post(ada, "/account/invitations/"+current+"/revoke", nil); a.status != http.StatusSeeOther {
		t.Fatalf("revoke: %d", a.status)
	}
	if _, err := s.flows.Invitation(ctx, second); err == nil {
		t.Error("the link works after revoking")
	}
	if a = s.post(ada, "/account/invitations/"+current+"/resend", nil); a.status != http.StatusConflict ||
		!strings.Contains(a.body, "revoked or replaced") {
		t.Errorf("resend of a revoked invitation: %d\n%s", a.status, mainOf(a.body))
	}

	// Locations: add, a duplicate name is refused, rename, remove.
	if a = s.post(ada, "/account/locations", url.Values{"name": {"Site 2"}}); a.status != http.StatusSeeOther {
		t.Fatalf("add location: %d\n%s", a.status, mainOf(a.body))
	}
	a = s.post(ada, "/account/locations", url.Values{"name": {"site 2"}})
	if a.status != http.StatusConflict || !strings.Contains(a.body, "already has a location with this name") {
		t.Errorf("duplicate location: %d\n%s", a.status, mainOf(a.body))
	}
	locs, err := s.flows.Locations(ctx, ada.Principal, ada.Account.ID)
	if err != nil {
		t.Fatal(err)
	}
	var site2 string
	for _, l := range locs {
		if l.Name == "Site 2" {
			site2 = l.ID
		}
	}
	if a = s.post(ada, "/account/locations/"+site2+"/rename", url.Values{"name": {"Workshop"}}); a.status != http.StatusSeeOther {
		t.Fatalf("rename: %d\n%s", a.status, mainOf(a.body))
	}
	if page := s.do(&ada, "GET", a.location, nil); !strings.Contains(page.body, "Workshop") || strings.Contains(page.body, "Site 2") {
		t.Errorf("locations after renaming:\n%s", mainOf(page.body))
	}
	if a = s.post(ada, "/account/locations/"+site2+"/remove", nil); a.status != http.StatusSeeOther {
		t.Fatalf("remove: %d", a.status)
	}
	if locs, _ := s.flows.Locations(ctx, ada.Principal, ada.Account.ID); slicesHasName(locs, "Workshop") {
		t.Errorf("locations after removing: %+v", locs)
	}
}

func slicesHasName(locs []domain.Location, name string) bool {
	for _, l := range locs {
		if l.Name == name {
			return true
		}
	}
	return false
}
