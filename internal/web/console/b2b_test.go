package console

import (
	"net/http/httptest"
	"testing"
)

// TestBodyLimit: only the upload of an import may be larger than a form.
func TestBodyLimit(t *testing.T) {
	for _, c := range []struct {
		method, path string
		want         int64
	}{
		{"POST", "/admin/o/acme/b2b/imports", maxImportUpload},
		{"GET", "/admin/o/acme/b2b/imports", maxBody},
		{"POST", "/admin/o/acme/b2b/imports/1/progress", maxBody},
		{"POST", "/admin/o/acme/onboarding", maxBody},
		{"POST", "/admin/login", maxBody},
	} {
		if got := bodyLimit(httptest.NewRequest(c.method, c.path, nil)); got != c.want {
			t.Errorf("%s %s: limit %d, want %d", c.method, c.path, got, c.want)
		}
	}
}

// TestGuessFormat: .csv or text/csv is CSV, anything else NDJSON.
func TestGuessFormat(t *testing.T) {
	for _, c := range []struct{ name, ct, want string }{
		{"users.csv", "application/octet-stream", "csv"},
		{"USERS.CSV", "", "csv"},
		{"users.txt", "text/csv; charset=utf-8", "csv"},
		{"users.ndjson", "application/x-ndjson", "ndjson"},
		{"users", "", "ndjson"},
	} {
		if got := guessFormat(c.name, c.ct); got != c.want {
			t.Errorf("%s %q: %s, want %s", c.name, c.ct, got, c.want)
		}
	}
}
