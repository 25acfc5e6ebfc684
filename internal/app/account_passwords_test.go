package app_test

import (
	"bytes"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/onboard-dev/onboard/internal/testutil/dbtest"
)

const newPassword = "difference engine number 2"

func TestAccountPasswordReset(t *testing.T) {
	t.Parallel()
	dbtest.ForEach(t, func(t *testing.T, dsn string) {
		e := start(t, dsn)
		logOnFailure(t, e)
		ada := e.registerMember("ada@example.com")
		second := e.login("ada@example.com", goodPassword)

		// Known and unknown addresses get the same answer; only the known one a mail.
		n := e.mails()
		unknown := e.do("POST", "/api/v1/password-resets", map[string]any{"email": "nobody@example.com"})
		known := e.do("POST", "/api/v1/password-resets", map[string]any{"email": "ADA@example.com", "organization": "default"})
		expect(t, unknown, http.StatusAccepted)
		expect(t, known, http.StatusAccepted)
		if !bytes.Equal(unknown.body, known.body) || strings.TrimSpace(string(known.body)) != `{"status":"email_sent"}` {
			t.Fatalf("answers differ: %s vs %s", unknown.body, known.body)
		}
		first := e.linkSince(n, "ada@example.com", "/reset-password")
		if got := e.countWhere("outbox", "to_addr = 'nobody@example.com'"); got != 0 {
			t.Fatalf("%d mails queued to an unknown address", got)
		}

		// A newer request replaces the link.
		n = e.mails()
		expect(t, e.do("POST", "/api/v1/password-resets", map[string]any{"email": "ada@example.com"}), http.StatusAccepted)
		tok := e.linkSince(n, "ada@example.com", "/reset-password")
		r := e.do("GET", "/api/v1/password-resets/"+first, nil)
		expect(t, r, http.StatusGone)
		if problemType(t, r) != "password-reset-replaced" {
			t.Fatalf("old link: %s", r.body)
		}
		expect(t, e.do("POST", "/api/v1/password-resets/"+first, map[string]any{"password": newPassword}), http.StatusGone)

		r = e.do("GET", "/api/v1/password-resets/"+tok, nil)
		expect(t, r, http.StatusOK)
		info := r.json(t)
		if info["email"] != "a***@example.com" || info["password_policy"] == nil || info["expires_at"] == nil {
			t.Fatalf("reset info = %s", r.body)
		}

		// Policy violations are listed, and leave the link usable.
		for _, pw := range []string{"short", "password123", "ada@example.com", strings.Repeat("x", 65)} {
			r := e.do("POST", "/api/v1/password-resets/"+tok, map[string]any{"password": pw})
			expect(t, r, http.StatusUnprocessableEntity)
			checkProblem(t, r, 422, "password")
		}
		// Every broken rule is listed.
		r = e.do("POST", "/api/v1/password-resets/"+tok, map[string]any{"password": "short"})
		if errs := r.json(t)["errors"].([]any); len(errs) != 2 {
			t.Fatalf("errors = %v, want too short and too common", errs)
		}
		expect(t, e.do("POST", "/api/v1/password-resets/"+tok, map[string]any{"pw": newPassword}), http.StatusBadRequest)

		n = e.mails()
		r = e.do("POST", "/api/v1/password-resets/"+tok, map[string]any{"password": newPassword})
		expect(t, r, http.StatusOK)
		if r.json(t)["status"] != "password_changed" {
			t.Fatalf("reset = %s", r.body)
		}
		// Every session ended; the notice went out; the new password works.
		for _, tok := range []string{ada.token, second} {
			expect(t, e.as(tok, "GET", "/api/v1/me", nil), http.StatusUnauthorized)
		}
		notice := e.mailSince(n, "ada@example.com", "was changed")
		if strings.Contains(notice.Text, "token=") {
			t.Fatalf("the notice carries a link token:\n%s", notice.Text)
		}
		expect(t, e.do("POST", "/api/v1/sessions", map[string]any{"email": "ada@example.com", "password": goodPassword}), http.StatusUnauthorized)
		e.login("ada@example.com", newPassword)

		// Used, unknown and expired links.
		for _, method := range []string{"GET", "POST"} {
			r := e.do(method, "/api/v1/password-resets/"+tok, map[string]any{"password": newPassword + "!"})
			expect(t, r, http.StatusGone)
			if problemType(t, r) != "password-reset-used" {
				t.Fatalf("used link: %s", r.body)
			}
			expect(t, e.do(method, "/api/v1/password-resets/"+strings.Repeat("A", 43), map[string]any{"password": newPassword}), http.StatusNotFound)
			expect(t, e.do(method, "/api/v1/password-resets/nonsense", map[string]any{"password": newPassword}), http.StatusNotFound)
		}
		n = e.mails()
		expect(t, e.do("POST", "/api/v1/password-resets", map[string]any{"email": "ada@example.com"}), http.StatusAccepted)
		late := e.linkSince(n, "ada@example.com", "/reset-password")
		e.expire("password_resets")
		for _, method := range []string{"GET", "POST"} {
			r := e.do(method, "/api/v1/password-resets/"+late, map[string]any{"password": newPassword + "!"})
			expect(t, r, http.StatusGone)
			if problemType(t, r) != "password-reset-expired" {
				t.Fatalf("expired link: %s", r.body)
			}
		}
		e.login("ada@example.com", newPassword)

		// Bad input.
		for _, c := range []struct {
			body   any
			status int
			field  string
		}{
			{map[string]any{"email": "not an address"}, 422, "email"},
			{map[string]any{}, 422, "email"},
			{map[string]any{"email": "ada@example.com", "organization": "nope"}, 422, "organization"},
			{map[string]any{"email": "ada@example.com", "user": "x"}, 400, "user"},
		} {
			r := e.do("POST", "/api/v1/password-resets", c.body)
			expect(t, r, c.status)
			checkProblem(t, r, c.status, c.field)
		}

		// Rate limits: 5 an hour per address (the default), then per client.
		for i := range 6 {
			r := e.do("POST", "/api/v1/password-resets", map[string]any{"email": "flood@example.com"})
			want := http.StatusAccepted
			if i == 5 {
				want = http.StatusTooManyRequests
			}
			expect(t, r, want)
		}
		limited := false
		for i := 0; i < 70 && !limited; i++ {
			r := e.do("POST", "/api/v1/password-resets", map[string]any{"email": fmt.Sprintf("many%d@example.com", i)})
			switch r.status {
			case http.StatusAccepted:
			case http.StatusTooManyRequests:
				limited = true
				if r.header.Get("Retry-After") == "" {
					t.Fatal("429 without Retry-After")
				}
			default:
				t.Fatalf("status %d", r.status)
			}
		}
		if !limited {
			t.Fatal("70 requests from one client were not limited")
		}
	})
}

func TestAccountChangePassword(t *testing.T) {
	t.Parallel()
	dbtest.ForEach(t, func(t *testing.T, dsn string) {
		e := start(t, dsn)
		logOnFailure(t, e)
		ada := e.registerMember("ada@example.com")
		other := e.login("ada@example.com", goodPassword)
		n := e.mails()
		expect(t, e.do("POST", "/api/v1/password-resets", map[string]any{"email": "ada@example.com"}), http.StatusAccepted)
		reset := e.linkSince(n, "ada@example.com", "/reset-password")

		for _, c := range []struct {
			name  string
			body  any
			field string
		}{
			{"wrong current", map[string]any{"current_password": "not my password", "new_password": newPassword}, "current_password"},
			{"no current", map[string]any{"new_password": newPassword}, "current_password"},
			{"weak new", map[string]any{"current_password": goodPassword, "new_password": "12345678"}, "new_password"},
			{"same", map[string]any{"current_password": goodPassword, "new_password": goodPassword}, "new_password"},
		} {
			r := e.as(ada.token, "PUT", "/api/v1/me/password", c.body)
			expect(t, r, http.StatusUnprocessableEntity)
			checkProblem(t, r, 422, c.field)
		}
		expect(t, e.as("", "PUT", "/api/v1/me/password", map[string]any{"current_password": goodPassword, "new_password": newPassword}), http.StatusUnauthorized)
		expect(t, e.as(ada.token, "GET", "/api/v1/me", nil), http.StatusOK)
		expect(t, e.as(other, "GET", "/api/v1/me", nil), http.StatusOK)

		n = e.mails()
		r := e.as(ada.token, "PUT", "/api/v1/me/password", map[string]any{"current_password": goodPassword, "new_password": newPassword})
		expect(t, r, http.StatusNoContent)
		expect(t, e.as(ada.token, "GET", "/api/v1/me", nil), http.StatusOK)
		expect(t, e.as(other, "GET", "/api/v1/me", nil), http.StatusUnauthorized)
		e.mailSince(n, "ada@example.com", "was changed")
		e.login("ada@example.com", newPassword)
		// The pending reset link died with the change.
		expect(t, e.do("GET", "/api/v1/password-resets/"+reset, nil), http.StatusGone)

		// Wrong current passwords count as failed sign-ins: the fifth (the
		// default limit, one spent above) is the last one answered.
		for i := range 5 {
			r := e.as(ada.token, "PUT", "/api/v1/me/password", map[string]any{"current_password": fmt.Sprintf("guess %d", i), "new_password": goodPassword})
			want := http.StatusUnprocessableEntity
			if i == 4 {
				want = http.StatusTooManyRequests
			}
			expect(t, r, want)
		}
		expect(t, e.do("POST", "/api/v1/sessions", map[string]any{"email": "ada@example.com", "password": newPassword}), http.StatusTooManyRequests)
	})
}
