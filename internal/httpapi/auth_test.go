package httpapi

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/onboard-dev/onboard/internal/b2b"
	"github.com/onboard-dev/onboard/internal/domain"
)

// TestWithBearer: a missing or non-bearer credential is a 401 naming the kind
// of credential; the authenticator's error is answered as it is; otherwise
// the handler gets the authenticator's principal.
func TestWithBearer(t *testing.T) {
	s := newTestServer(pinger{})
	type principal struct{ name string }
	authenticate := func(_ context.Context, credential string) (principal, error) {
		if credential != "good" {
			return principal{}, domain.Errorf(domain.EUnauthorized, "unauthenticated", "The key is not valid.")
		}
		return principal{name: "ada"}, nil
	}
	h := withBearer(s, "test key", authenticate, func(w http.ResponseWriter, r *http.Request, p principal) error {
		encode(w, http.StatusOK, map[string]string{"name": p.name})
		return nil
	})
	for _, tc := range []struct {
		name, authorization string
		status              int
		want                string // detail of the problem, or the name
	}{
		{"none", "", 401, "A valid test key is required."},
		{"basic", "Basic Z29vZA==", 401, "A valid test key is required."},
		{"empty bearer", "Bearer  ", 401, "A valid test key is required."},
		{"bad", "Bearer bad", 401, "The key is not valid."},
		{"good", "bearer good", 200, "ada"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := httptest.NewRequest("GET", "/x", nil)
			if tc.authorization != "" {
				r.Header.Set("Authorization", tc.authorization)
			}
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, r)
			var body struct{ Detail, Name string }
			if err := json.Unmarshal(rec.Body.Bytes(), &body); err != nil {
				t.Fatalf("body %q: %v", rec.Body, err)
			}
			if rec.Code != tc.status || body.Detail+body.Name != tc.want {
				t.Errorf("answer %d %s, want %d with %q", rec.Code, rec.Body, tc.status, tc.want)
			}
			if tc.status == 401 && rec.Header().Get("WWW-Authenticate") == "" {
				t.Error("401 without WWW-Authenticate")
			}
		})
	}
}

// TestWriteOAuth: the token flows' OAuth errors are answered in OAuth's JSON
// form, with the status of their domain code; other errors are left to the
// problem+json path.
func TestWriteOAuth(t *testing.T) {
	s := newTestServer(pinger{})
	for _, tc := range []struct {
		err        error
		status     int
		basicRealm bool
	}{
		{b2b.OAuthErr(b2b.OAuthInvalidRequest, "d"), 400, false},
		{b2b.OAuthErr(b2b.OAuthInvalidClient, "d"), 401, true},
		{b2b.OAuthErr(b2b.OAuthInvalidGrant, "d"), 400, false},
		{wrapped(b2b.OAuthErr(b2b.OAuthUnsupportedGrantType, "d")), 400, false},
	} {
		rec := httptest.NewRecorder()
		if err := s.writeOAuth(rec, httptest.NewRequest("POST", "/v2/token", nil), tc.err); err != nil {
			t.Fatalf("%v: not answered: %v", tc.err, err)
		}
		var body map[string]string
		if err := json.Unmarshal(rec.Body.Bytes(), &body); err != nil {
			t.Fatal(err)
		}
		de := domain.AsError(tc.err)
		if rec.Code != tc.status || body["error"] != de.Slug || body["error_description"] != "d" || len(body) != 2 {
			t.Errorf("%v: answer %d %v, want %d", tc.err, rec.Code, body, tc.status)
		}
		if got := rec.Header().Get("WWW-Authenticate") != ""; got != tc.basicRealm {
			t.Errorf("%v: WWW-Authenticate %q", tc.err, rec.Header().Get("WWW-Authenticate"))
		}
	}
	for _, err := range []error{
		domain.Errorf(domain.ERateLimited, "rate-limited", "Too many attempts."),
		domain.Errorf(domain.EBadRequest, "bad-request", "Not an OAuth error."),
		errors.New("our fault"),
	} {
		rec := httptest.NewRecorder()
		if got := s.writeOAuth(rec, httptest.NewRequest("POST", "/v2/token", nil), err); got != err || rec.Body.Len() != 0 {
			t.Errorf("%v: answered as OAuth (%d %s) instead of being returned", err, rec.Code, rec.Body)
		}
	}
}

func wrapped(err error) error { return errors.Join(errors.New("context"), err) }
