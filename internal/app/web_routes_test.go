package app_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/onboard-dev/onboard/internal/testutil/dbtest"
)

// TestPagesBesideAPI checks the top-level routing: page paths reach the
// pages, everything else the API with its problem+json errors.
func TestPagesBesideAPI(t *testing.T) {
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
