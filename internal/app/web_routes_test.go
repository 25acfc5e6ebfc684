package app_test

import (
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/onboard-dev/onboard/internal/testutil/dbtest"
)

// TestPagesBesideAPI checks the top-level routing: page paths reach the
// pages, everything else the API with its problem+json errors.
func TestPagesBesideAPI(t *testing.T) {
	t.Parallel()
	e := start(t, dbtest.SQLite(t))
	for _, tc := range []struct {
		method, path string
		status       int
		contentType  string
	}{
		{"GET", "/login", http.StatusOK, "text/html; charset=utf-8"},
		{"GET", "/register?token=nope", http.StatusNotFound, "text/html; charset=utf-8"},
		{"GET", "/reset-password", http.StatusOK, "text/html; charset=utf-8"},
		{"GET", "/static/style.css", http.StatusOK, "text/css; charset=utf-8"},
		{"GET", "/", http.StatusOK, "text/html; charset=utf-8"}, // to /login
		{"GET", "/signup", http.StatusOK, "text/html; charset=utf-8"},
		{"GET", "/account", http.StatusOK, "text/html; charset=utf-8"}, // to /login?next=/account
		{"GET", "/account/no-such-page", http.StatusNotFound, "text/html; charset=utf-8"},
		{"GET", "/o/default/login", http.StatusOK, "text/html; charset=utf-8"},
		{"GET", "/o/default", http.StatusOK, "text/html; charset=utf-8"}, // to /, to /login
		{"GET", "/o/no-such-org/login", http.StatusNotFound, "text/html; charset=utf-8"},
		{"GET", "/branding/style.css", http.StatusOK, "text/css; charset=utf-8"},
		{"GET", "/api/v1/no-such-thing", http.StatusNotFound, "application/problem+json"},
		{"GET", "/no-such-page", http.StatusNotFound, "application/problem+json"},
		{"GET", "/register/extra", http.StatusNotFound, "application/problem+json"},
		{"DELETE", "/api/v1/signups", http.StatusMethodNotAllowed, "application/problem+json"},
		{"GET", "/api/openapi.json", http.StatusOK, "application/json"},
	} {
		t.Run(tc.method+" "+tc.path, func(t *testing.T) {
			r := e.do(tc.method, tc.path, nil)
			expect(t, r, tc.status)
			if got := r.header.Get("Content-Type"); !strings.HasPrefix(got, tc.contentType) {
				t.Errorf("Content-Type = %q, want %q", got, tc.contentType)
			}
		})
	}
}

// TestBrowserAndAPISessionsApart checks that a browser session's cookie is
// no bearer token for the API and an API token no session cookie, though
// both live in the sessions table.
func TestBrowserAndAPISessionsApart(t *testing.T) {
	t.Parallel()
	dbtest.ForEach(t, func(t *testing.T, dsn string) {
		e := start(t, dsn)
		e.register("ada@example.com", "customer_personal")
		apiToken := e.login("ada@example.com", goodPassword)

		login := e.do("GET", "/login", nil)
		csrf := regexp.MustCompile(`<main[\s\S]*?name="csrf" value="([^"]+)"`).FindSubmatch(login.body)
		if csrf == nil {
			t.Fatalf("no form token on /login")
		}
		client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
		res, err := client.PostForm(e.base+"/login", url.Values{"csrf": {string(csrf[1])}, "email": {"ada@example.com"}, "password": {goodPassword}})
		if err != nil {
			t.Fatal(err)
		}
		r := readResponse(t, res)
		expect(t, r, http.StatusSeeOther)
		var cookie string
		for _, c := range res.Cookies() {
			if c.Name == "onboard_session" {
				cookie = c.Value
			}
		}
		if cookie == "" {
			t.Fatal("no session cookie")
		}
		expect(t, e.do("GET", "/api/v1/me", nil, "Authorization", "Bearer "+cookie), http.StatusUnauthorized)
		expect(t, e.do("GET", "/api/v1/me", nil, "Authorization", "Bearer "+apiToken), http.StatusOK)

		account := func(token string) int {
			req, _ := http.NewRequest("GET", e.base+"/account", nil)
			req.AddCookie(&http.Cookie{Name: "onboard_session", Value: token})
			res, err := client.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			res.Body.Close()
			return res.StatusCode
		}
		if got := account(cookie); got != http.StatusOK {
			t.Errorf("/account with the browser session: %d, want 200", got)
		}
		if got := account(apiToken); got != http.StatusSeeOther {
			t.Errorf("/account with an API token as cookie: %d, want 303 to sign-in", got)
		}
		var kinds []string
		rows, err := e.app.Store().DB().Query(`SELECT kind FROM sessions ORDER BY kind`)
		if err != nil {
			t.Fatal(err)
		}
		defer rows.Close()
		for rows.Next() {
			var k string
			if err := rows.Scan(&k); err != nil {
				t.Fatal(err)
			}
			kinds = append(kinds, k)
		}
		if strings.Join(kinds, ",") != "api,browser" {
			t.Errorf("session kinds = %v, want one api and one browser session in the same table", kinds)
		}
	})
}
