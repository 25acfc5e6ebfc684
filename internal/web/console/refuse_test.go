package console

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/onboard-dev/onboard/internal/domain"
)

// TestRefuse: a refusal of the input shows the form again with its field
// errors next to the fields and the problem's status; other errors, or a
// page that cannot be built, are the error page with their own status.
func TestRefuse(t *testing.T) {
	c := testConsole(t)
	limited := domain.Errorf(domain.ERateLimited, "", "slow down")
	limited.RetryAfter = 1500 * time.Millisecond
	for _, tc := range []struct {
		name       string
		err        error
		pageErr    error
		wantStatus int
		wantShown  bool
		wantField  []string // errors next to the "url" field
		wantTop    []string
		retryAfter string
	}{
		{"field error", domain.Invalid(domain.FieldError{Field: "url", Message: "must be https"}), nil, http.StatusUnprocessableEntity, true,
			[]string{"URL must be https."}, nil, ""},
		{"field of no control", domain.Invalid(domain.FieldError{Field: "other", Message: "is wrong"}), nil, http.StatusUnprocessableEntity, true,
			nil, []string{"other is wrong."}, ""},
		{"conflict", domain.Errorf(domain.EConflict, "", "Too many."), nil, http.StatusConflict, true, nil, []string{"Too many."}, ""},
		{"not found", domain.Errorf(domain.ENotFound, "", "No such thing."), nil, http.StatusNotFound, false, nil, nil, ""},
		{"rate limited", limited, nil, http.StatusTooManyRequests, false, nil, nil, "2"},
		{"internal", errors.New("disk on fire"), nil, http.StatusInternalServerError, false, nil, nil, ""},
		{"page fails", domain.Invalid(domain.FieldError{Field: "url", Message: "x"}), errors.New("no deliveries"), http.StatusInternalServerError, false, nil, nil, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w := httptest.NewRecorder()
			r := httptest.NewRequest("POST", "/admin/o/acme/webhooks/1", nil)
			fields := []*field{{Name: "url", Label: "URL"}}
			shown, built := false, false
			var top []string
			c.refuse(w, r, tc.err, func() ([]*field, func(int, []string), error) {
				built = true
				return fields, func(status int, errs []string) {
					shown, top = true, errs
					w.WriteHeader(status)
				}, tc.pageErr
			})
			if w.Code != tc.wantStatus || shown != tc.wantShown {
				t.Fatalf("status %d shown %v, want %d %v", w.Code, shown, tc.wantStatus, tc.wantShown)
			}
			if !tc.wantShown && tc.pageErr == nil && built {
				t.Fatal("the page was built for an error that is not the input's")
			}
			if !slices.Equal(fields[0].Errors, tc.wantField) || !slices.Equal(top, tc.wantTop) {
				t.Fatalf("field errors %q, top %q; want %q, %q", fields[0].Errors, top, tc.wantField, tc.wantTop)
			}
			if got := w.Header().Get("Retry-After"); got != tc.retryAfter {
				t.Fatalf("Retry-After %q, want %q", got, tc.retryAfter)
			}
		})
	}
}

// TestRefill: a refused form built empty shows what was posted, except a
// password.
func TestRefill(t *testing.T) {
	r := httptest.NewRequest("POST", "/", strings.NewReader(url.Values{"name": {"Acme"}, "secret": {"pw"}, "on": {"true"},
		"kinds": {"b", "c"}}.Encode()))
	r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if err := r.ParseForm(); err != nil {
		t.Fatal(err)
	}
	fs := refill(r, []*field{{Name: "name", Kind: "text"}, {Name: "secret", Kind: "password"}, {Name: "on", Kind: "checkbox"},
		{Name: "kinds", Kind: "checkboxes", Options: []option{{Value: "a"}, {Value: "b"}, {Value: "c"}}}})
	if fs[0].Value != "Acme" || fs[1].Value != "" || !fs[2].Checked {
		t.Fatalf("refilled %+v %+v %+v", *fs[0], *fs[1], *fs[2])
	}
	var sel []string
	for _, o := range fs[3].Options {
		if o.Selected {
			sel = append(sel, o.Value)
		}
	}
	if !slices.Equal(sel, []string{"b", "c"}) {
		t.Fatalf("selected %q, want [b c]", sel)
	}
}
