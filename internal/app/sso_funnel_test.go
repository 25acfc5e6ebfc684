package app_test

import (
	"net/http"
	"testing"
	"time"

	"github.com/onboard-dev/onboard/internal/httpapi"
	"github.com/onboard-dev/onboard/internal/testutil/dbtest"
	"github.com/onboard-dev/onboard/internal/testutil/oidcfake"
)

// TestSSOFirstLoginFunnel registers a customer by a first login through a
// provider (no signup link): the funnel counts registration_completed and
// then first_sign_in, with a median duration, and no signup step.
func TestSSOFirstLoginFunnel(t *testing.T) {
	t.Parallel()
	dbtest.ForEach(t, func(t *testing.T, dsn string) {
		fake := oidcfake.Start(t, "onboard-fake")
		e := startAdmin(t, dsn)
		logOnFailure(t, e)
		e.putSSOType(t, true, "customer_personal", ssoProvider("fake", fake.URL, "onboard-fake", "fake-secret-0123456789"))
		fake.Set(oidcfake.Good, oidcfake.Claims{Subject: "s-funnel", Email: "funnel@example.com", EmailVerified: true,
			GivenName: "Fun", FamilyName: "Nel"})
		r := e.do("POST", "/api/v1/sessions/oidc", map[string]any{"provider": "fake", "id_token": fake.IDToken(oidcfake.Good, "")})
		expect(t, r, http.StatusOK)
		var pend struct {
			Status       string
			Registration struct{ Token string }
		}
		decodeAs(t, r, &pend)
		if pend.Status != "registration_required" || pend.Registration.Token == "" {
			t.Fatalf("first login: %s", r.body)
		}
		r = e.do("GET", "/api/v1/sessions/oidc/registrations/"+pend.Registration.Token, nil)
		expect(t, r, http.StatusOK)
		var form struct{ Agreements []struct{ ID string } }
		decodeAs(t, r, &form)
		ids := []string{}
		for _, a := range form.Agreements {
			ids = append(ids, a.ID)
		}
		expect(t, e.do("POST", "/api/v1/sessions/oidc/registrations/"+pend.Registration.Token, map[string]any{"accepted_agreements": ids}),
			http.StatusCreated)

		today := time.Now().UTC().Format("2006-01-02")
		r = e.admin(envAdminKey, "GET", adminPath("default", "/funnel?from="+today+"&to="+today+"&account_type=customer_personal"), nil)
		expect(t, r, http.StatusOK)
		var f httpapi.Funnel
		decodeAs(t, r, &f)
		var got []int64
		for _, s := range f.Steps {
			got = append(got, s.Count)
		}
		if want := []int64{0, 0, 1, 1}; !equalCounts(got, want) {
			t.Fatalf("funnel %v, want %v (signup_started, link_opened, registration_completed, first_sign_in)", got, want)
		}
		if m := f.Steps[2].MedianSeconds; m == nil || *m > 60 {
			t.Fatalf("median to registration %v", m)
		}
		// Signing in again through the provider is no new registration.
		expect(t, e.do("POST", "/api/v1/sessions/oidc", map[string]any{"provider": "fake", "id_token": fake.IDToken(oidcfake.Good, "")}),
			http.StatusCreated)
		r = e.admin(envAdminKey, "GET", adminPath("default", "/funnel?from="+today+"&to="+today), nil)
		expect(t, r, http.StatusOK)
		decodeAs(t, r, &f)
		if f.Steps[2].Count != 1 || f.Steps[3].Count != 1 {
			t.Fatalf("after a second login: %+v", f.Steps)
		}
	})
}
