package app_test

import (
	"net/http"
	"testing"

	"github.com/onboard-dev/onboard/internal/testutil/dbtest"
)

// Deleting a customer deletes the mail to its users and invitees also when
// their addresses have non-ASCII letters in another case than entered: the
// addresses are compared normalized in Go (SQLite's lower() folds ASCII
// only), the same on both engines.
func TestDeleteCustomerPurgesMailOfNonASCIIAddresses(t *testing.T) {
	t.Parallel()
	dbtest.ForEach(t, func(t *testing.T, dsn string) {
		e := start(t, dsn)
		owner := e.registerMember("ÜNAL.Test@example.com")
		e.invite(owner, "Öztürk.İnvitee@example.com", "customer_user")
		e.waitIdle(t)
		for _, addr := range []string{"ÜNAL.Test@example.com", "Öztürk.İnvitee@example.com"} {
			if e.countWhere("outbox", "to_addr = $1", addr) == 0 {
				t.Fatalf("no mail to %s before the deletion", addr)
			}
		}
		expect(t, e.as(owner.token, "DELETE", "/api/v1/customers/"+owner.account, map[string]any{"confirm": "Analytical Engines Ltd"}), http.StatusNoContent)
		if n := e.countWhere("outbox", "to_addr = $1 AND template <> 'account_deleted'", "ÜNAL.Test@example.com"); n != 0 {
			t.Errorf("%d mails to the deleted user remain", n)
		}
		if n := e.countWhere("outbox", "to_addr = $1", "Öztürk.İnvitee@example.com"); n != 0 {
			t.Errorf("%d mails to the invitee of the deleted customer remain", n)
		}
	})
}
