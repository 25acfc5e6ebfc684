package app_test

import (
	"bytes"
	"net/http"
	"testing"

	"github.com/onboard-dev/onboard/internal/testutil/dbtest"
)

// A pincode that no policy accepts is refused the same way for every
// address, before the address is looked at; the most common PINs and
// passwords are refused.
func TestB2BNoGatewayChecksThePolicyFirst(t *testing.T) {
	dbtest.ForEach(t, func(t *testing.T, dsn string) {
		e := startAdmin(t, dsn)
		w := newB2BWorld(t, e, "")
		w.provision(t, endUser("unverified@example.com", "lp-pin"))
		w.provision(t, endUser("verified@example.com", "lp-pin", "create_verified_user", true))
		w.provision(t, endUser("registered@example.com", "lp-pin", "create_verified_user", true))
		okStatus(t, w.noGateway("registered@example.com", "493817"))
		w.provision(t, endUser("pw@example.com", "lp-pw", "create_verified_user", true))

		for _, pin := range []string{"1", "12345", "123456", "000000", "abc"} {
			var first []byte
			for _, addr := range []string{"nobody@example.com", "unverified@example.com", "verified@example.com", "registered@example.com"} {
				r := w.noGateway(addr, pin)
				checkProblem(t, r, 422, "pincode")
				if got := problemType(t, r); got != "password-policy" {
					t.Fatalf("%s with %q: %s, want password-policy: %s", addr, pin, got, r.body)
				}
				if first == nil {
					first = r.body
				} else if !bytes.Equal(first, r.body) {
					t.Fatalf("answers differ for %q:\n%s\n%s", pin, first, r.body)
				}
			}
		}
		// The most common PINs and passwords under their labelpartner's policy.
		for _, pin := range []string{"654321", "123123", "111111", "121212", "890123"} {
			r := w.noGateway("verified@example.com", pin)
			checkProblem(t, r, 422, "pincode")
			if got := problemType(t, r); got != "password-policy" {
				t.Fatalf("%q: %s", pin, r.body)
			}
		}
		// "password" is accepted by no policy; "iloveyou1" only by the
		// password policy's rules, but it is too common there.
		for _, pw := range []string{"password", "iloveyou1"} {
			r := w.noGateway("pw@example.com", pw)
			checkProblem(t, r, 422, "pincode")
			if got := problemType(t, r); got != "password-policy" {
				t.Fatalf("%q: %s", pw, r.body)
			}
		}
		okStatus(t, w.noGateway("verified@example.com", "493817"))
		okStatus(t, w.noGateway("pw@example.com", "Kx7_mPq2"))
		expect(t, w.password("pw@example.com", "Kx7_mPq2"), http.StatusOK)
	})
}
