package app_test

import (
	"net/http"
	"testing"
	"time"

	"github.com/onboard-dev/onboard/internal/httpapi"
	"github.com/onboard-dev/onboard/internal/testutil/dbtest"
)

// TestFunnel drives signups through the API and reads the funnel: its
// figures are exactly the steps the test took, each counted once.
func TestFunnel(t *testing.T) {
	t.Parallel()
	dbtest.ForEach(t, func(t *testing.T, dsn string) {
		e := startAdmin(t, dsn)
		logOnFailure(t, e)
		// Ada registers and signs in twice; Bob opens his form twice and
		// stops; Cy never opens the link.
		e.register("ada@example.com", "customer_business")
		e.login("ada@example.com", goodPassword)
		e.login("ada@example.com", goodPassword)
		bob := e.startSignup("bob@example.com", "customer_personal")
		e.agreementIDs(bob)
		e.agreementIDs(bob)
		e.startSignup("cy@example.com", "customer_business")

		today := time.Now().UTC().Format("2006-01-02")
		read := func(query string) httpapi.Funnel {
			t.Helper()
			r := e.admin(envAdminKey, "GET", adminPath("default", "/funnel"+query), nil)
			expect(t, r, http.StatusOK)
			var f httpapi.Funnel
			decodeAs(t, r, &f)
			return f
		}
		counts := func(steps []httpapi.FunnelStep) []int64 {
			var out []int64
			for _, s := range steps {
				out = append(out, s.Count)
			}
			return out
		}
		want := []int64{3, 2, 1, 1}
		f := read("?from=" + today + "&to=" + today)
		if got := counts(f.Steps); !equalCounts(got, want) || len(f.Days) != 1 || !equalCounts(counts(f.Days[0].Steps), want) {
			t.Fatalf("funnel %+v, want %v", f, want)
		}
		names := []string{"signup_started", "link_opened", "registration_completed", "first_sign_in"}
		for i, s := range f.Steps {
			if s.Step != names[i] {
				t.Fatalf("step %d is %q, want %q", i, s.Step, names[i])
			}
		}
		if c := f.Steps[1].Conversion; c == nil || *c != 0.667 {
			t.Fatalf("conversion to link_opened %v", c)
		}
		if m := f.Steps[3].MedianSeconds; m == nil || *m > 60 {
			t.Fatalf("median to first sign-in %v", m)
		}
		if got := counts(read("?account_type=customer_personal").Steps); !equalCounts(got, []int64{1, 1, 0, 0}) {
			t.Fatalf("personal funnel %v", got)
		}
		if d := read("").Days; len(d) != 30 || d[29].Date != today {
			t.Fatalf("default range: %d days ending %v", len(d), d[len(d)-1].Date)
		}
		for _, q := range []string{"?from=yesterday", "?from=2026-03-02&to=2026-03-01", "?from=2020-01-01&to=2026-01-01", "?account_type=robot"} {
			expect(t, e.admin(envAdminKey, "GET", adminPath("default", "/funnel"+q), nil), http.StatusUnprocessableEntity)
		}
	})
}

func equalCounts(a, b []int64) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}
