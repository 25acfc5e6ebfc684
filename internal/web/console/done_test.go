package console

import (
	"context"
	"net/http/httptest"
	"testing"

	"github.com/onboard-dev/onboard/internal/flows"
)

// TestDoneLead: every success lead a ?done= names is in each language's
// catalogue; a known value becomes the view's lead as a success, its
// arguments filled in, and a missing or unknown one leaves the view as it
// was.
func TestDoneLead(t *testing.T) {
	c := testConsole(t)
	for page, texts := range doneLeads {
		for done, id := range texts {
			for _, lang := range flows.Languages {
				if !c.tr.Has(lang, id) {
					t.Errorf("%s?done=%s: %s has no %q", page, done, lang, id)
				}
			}
		}
	}
	for _, tc := range []struct {
		page, query, lang, want string
		args                    []any
	}{
		{"system", "?done=org&name=acme", "en", "", []any{"Name", "acme"}},
		{"webhook", "?done=replayed&n=3", "it", "", []any{"N", 3}},
		{"approvals", "?done=approved", "en", "", nil},
		{"properties", "?done=nothing", "en", "lead", nil},
		{"properties", "", "en", "lead", nil},
		{"usertypes", "?done=deleted", "en", "lead", nil},
	} {
		r := httptest.NewRequest("GET", "/admin/x"+tc.query, nil)
		rq := &req{Lang: tc.lang, tr: c.tr}
		r = r.WithContext(context.WithValue(r.Context(), reqKey{}, rq))
		v := view{Lead: "lead"}
		did := v.doneLead(r, tc.page, tc.args...)
		want := tc.want
		if want == "" {
			want = rq.T(doneLeads[tc.page][r.URL.Query().Get("done")], tc.args...)
		}
		if did != (tc.want == "") || v.Success != did || v.Lead != want {
			t.Errorf("%s%s: did %v, lead %q (success %v), want %q", tc.page, tc.query, did, v.Lead, v.Success, want)
		}
	}
	// The arguments reach the text.
	r := httptest.NewRequest("GET", "/admin/system?done=org", nil)
	r = r.WithContext(context.WithValue(r.Context(), reqKey{}, &req{Lang: "en", tr: c.tr}))
	var v view
	if v.doneLead(r, "system", "Name", "acme"); v.Lead != "The organization acme was created." {
		t.Errorf("organization created: %q", v.Lead)
	}
}
