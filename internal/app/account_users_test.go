package app_test

import (
	"bytes"
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/onboard-dev/onboard/internal/store"
	"github.com/onboard-dev/onboard/internal/testutil/dbtest"
)

// TestAccountAuthorization asks every account endpoint as the account's
// administrator, a plain user of the account, another customer's
// administrator and nobody.
func TestAccountAuthorization(t *testing.T) {
	t.Parallel()
	dbtest.ForEach(t, func(t *testing.T, dsn string) {
		e := start(t, dsn)
		logOnFailure(t, e)
		admin := e.registerMember("admin@example.com")
		plain := e.join(admin, "plain@example.com", "customer_user")
		viewer := e.join(admin, "viewer@example.com", "customer_viewer")
		other := e.registerMember("other@example.com")
		invID, _ := e.invite(admin, "pending@example.com", "customer_user")
		var locID string
		if err := e.app.Store().DB().QueryRow(`SELECT id FROM locations WHERE account_id = $1`, admin.account).Scan(&locID); err != nil {
			t.Fatal(err)
		}
		base := "/api/v1/customers/" + admin.account
		type who struct {
			name  string
			token string
		}
		// Asked in this order, so that the one that succeeds comes last.
		principals := []who{{"nobody", ""}, {"other customer", other.token}, {"viewer", viewer.token}, {"plain user", plain.token}, {"admin", admin.token}}
		cases := []struct {
			method, path string
			body         any
			want         map[string]int // by principal; nobody 401 and other customer 404 unless said
		}{
			{"GET", base + "/users", nil, map[string]int{"viewer": 403, "plain user": 403, "admin": 200}},
			{"GET", base + "/invitations", nil, map[string]int{"viewer": 403, "plain user": 403, "admin": 200}},
			{"POST", base + "/invitations", map[string]any{"email": "new@example.com", "user_type": "customer_viewer"},
				map[string]int{"viewer": 403, "plain user": 403, "admin": 201}},
			{"DELETE", base + "/invitations/" + invID, nil, map[string]int{"viewer": 403, "plain user": 403, "admin": 204}},
			{"PATCH", base + "/users/" + viewer.id, map[string]any{"user_type": "customer_user"},
				map[string]int{"viewer": 403, "plain user": 403, "admin": 200}},
			{"DELETE", base + "/users/" + admin.id, nil, map[string]int{"viewer": 403, "plain user": 403, "admin": 409}},
			{"GET", base + "/locations", nil, map[string]int{"viewer": 200, "plain user": 200, "admin": 200}},
			{"POST", base + "/locations", map[string]any{"name": "Garage"}, map[string]int{"viewer": 403, "plain user": 403, "admin": 201}},
			{"PATCH", base + "/locations/" + locID, map[string]any{"name": "Main"}, map[string]int{"viewer": 403, "plain user": 403, "admin": 200}},
			{"DELETE", base, map[string]any{"confirm": "Analytical Engines Ltd"}, map[string]int{"viewer": 403, "plain user": 403}},
			{"DELETE", base + "/locations/" + locID, nil, map[string]int{"viewer": 403, "plain user": 403, "admin": 204}},
			// The partner paths do not take a customer's id.
			{"GET", "/api/v1/partners/" + admin.account + "/users", nil, map[string]int{"viewer": 404, "plain user": 404, "admin": 404}},
		}
		pattern := strings.NewReplacer(admin.account, "{id}", invID, "{invitationId}", viewer.id, "{userId}", admin.id, "{userId}", locID, "{locationId}")
		for _, c := range cases {
			t.Run(c.method+" "+pattern.Replace(c.path), func(t *testing.T) {
				e.t = t
				for _, p := range principals {
					want, ok := c.want[p.name]
					switch {
					case ok:
					case p.name == "nobody":
						want = 401
					case p.name == "other customer":
						want = 404
					default:
						continue
					}
					r := e.as(p.token, c.method, c.path, c.body)
					if r.status != want {
						t.Errorf("%s: status %d, want %d; body %s", p.name, r.status, want, r.body)
					}
					if r.status >= 400 {
						checkProblem(t, r, r.status, "")
					}
				}
			})
		}
		e.t = t
		// Another customer's ids answer exactly like ids that do not exist.
		for _, path := range []string{"/users", "/invitations", "/locations"} {
			theirs := e.as(admin.token, "GET", "/api/v1/customers/"+other.account+path, nil)
			none := e.as(admin.token, "GET", "/api/v1/customers/"+store.NewID()+path, nil)
			expect(t, theirs, http.StatusNotFound)
			if !bytes.Equal(theirs.body, none.body) {
				t.Fatalf("%s: another customer's id answers %s, an unknown one %s", path, theirs.body, none.body)
			}
		}
		// Another customer's user, invitation and location through one's own customer.
		otherUsers := e.as(other.token, "GET", "/api/v1/customers/"+other.account+"/users", nil)
		expect(t, otherUsers, http.StatusOK)
		var otherLoc string
		if err := e.app.Store().DB().QueryRow(`SELECT id FROM locations WHERE account_id = $1`, other.account).Scan(&otherLoc); err != nil {
			t.Fatal(err)
		}
		expect(t, e.as(admin.token, "PATCH", base+"/users/"+other.id, map[string]any{"user_type": "customer_user"}), http.StatusNotFound)
		expect(t, e.as(admin.token, "DELETE", base+"/users/"+other.id, nil), http.StatusNotFound)
		expect(t, e.as(admin.token, "PATCH", base+"/locations/"+otherLoc, map[string]any{"name": "Mine"}), http.StatusNotFound)
		expect(t, e.as(admin.token, "DELETE", base+"/locations/"+otherLoc, nil), http.StatusNotFound)
		if e.countWhere("users", "id = $1", other.id) != 1 || e.countWhere("locations", "id = $1", otherLoc) != 1 {
			t.Fatal("another customer's rows changed")
		}
	})
}

func TestAccountUsers(t *testing.T) {
	t.Parallel()
	dbtest.ForEach(t, func(t *testing.T, dsn string) {
		e := start(t, dsn)
		logOnFailure(t, e)
		ada := e.registerMember("ada@example.com")
		base := "/api/v1/customers/" + ada.account + "/users/"

		r := e.as(ada.token, "GET", "/api/v1/customers/"+ada.account+"/users", nil)
		expect(t, r, http.StatusOK)
		if users := r.json(t)["users"].([]any); len(users) != 1 || users[0].(map[string]any)["id"] != ada.id {
			t.Fatalf("users = %s", r.body)
		}
		// Alone, the administrator can neither leave nor step down.
		for _, r := range []response{
			e.as(ada.token, "DELETE", base+ada.id, nil),
			e.as(ada.token, "PATCH", base+ada.id, map[string]any{"user_type": "customer_user"}),
		} {
			expect(t, r, http.StatusConflict)
			if problemType(t, r) != "last-account-admin" {
				t.Fatalf("problem = %s", r.body)
			}
		}
		charles := e.join(ada, "charles@example.com", "customer_user")
		for _, c := range []struct {
			body  any
			field string
		}{
			{map[string]any{"user_type": "partner_admin"}, "user_type"},
			{map[string]any{"user_type": ""}, "user_type"},
			{map[string]any{}, "user_type"},
		} {
			r := e.as(ada.token, "PATCH", base+charles.id, c.body)
			expect(t, r, http.StatusUnprocessableEntity)
			checkProblem(t, r, 422, c.field)
		}
		expect(t, e.as(ada.token, "PATCH", base+store.NewID(), map[string]any{"user_type": "customer_user"}), http.StatusNotFound)

		// Promote Charles; then Ada may step down, and Charles is the last one.
		r = e.as(ada.token, "PATCH", base+charles.id, map[string]any{"user_type": "customer_admin"})
		expect(t, r, http.StatusOK)
		if r.json(t)["user_type"].(map[string]any)["name"] != "customer_admin" {
			t.Fatalf("promoted = %s", r.body)
		}
		expect(t, e.as(ada.token, "PATCH", base+ada.id, map[string]any{"user_type": "customer_user"}), http.StatusOK)
		expect(t, e.as(ada.token, "GET", "/api/v1/customers/"+ada.account+"/users", nil), http.StatusForbidden)
		expect(t, e.as(charles.token, "DELETE", base+charles.id, nil), http.StatusConflict)
		// A plain user may delete themselves, but nobody else.
		expect(t, e.as(ada.token, "DELETE", base+charles.id, nil), http.StatusForbidden)
		expect(t, e.as(ada.token, "DELETE", base+ada.id, nil), http.StatusNoContent)
		expect(t, e.as(ada.token, "GET", "/api/v1/me", nil), http.StatusUnauthorized)
		if e.countWhere("users", "id = $1", ada.id)+e.countWhere("sessions", "user_id = $1", ada.id)+
			e.countWhere("agreement_acceptances", "user_id = $1", ada.id) != 0 {
			t.Fatal("the deleted user's rows remain")
		}
		if e.countWhere("audit_log", "action = 'user.deleted' AND subject_id = $1", ada.id) != 1 {
			t.Fatal("no audit entry for the deletion")
		}
		// Charles, an administrator again alone, deletes a user he invited.
		dora := e.join(charles, "dora@example.com", "customer_viewer")
		expect(t, e.as(charles.token, "DELETE", base+dora.id, nil), http.StatusNoContent)
		expect(t, e.as(charles.token, "DELETE", base+dora.id, nil), http.StatusNotFound)
		expect(t, e.as(dora.token, "GET", "/api/v1/me", nil), http.StatusUnauthorized)

		// Two administrators demoting each other at once: one must stay.
		eve := e.join(charles, "eve@example.com", "customer_admin")
		for round := range 3 {
			statuses := make([]int, 2)
			var wg sync.WaitGroup
			for i, pair := range [][2]member{{charles, eve}, {eve, charles}} {
				wg.Go(func() {
					statuses[i] = e.as(pair[0].token, "PATCH", base+pair[1].id, map[string]any{"user_type": "customer_user"}).status
				})
			}
			wg.Wait()
			// The loser finds itself no administrator any more (403) or
			// would remove the last one (409).
			lost := func(s int) bool { return s == 403 || s == 409 }
			if !(statuses[0] == 200 && lost(statuses[1]) || lost(statuses[0]) && statuses[1] == 200) {
				t.Fatalf("round %d: statuses %v, want one 200 and one 403 or 409", round, statuses)
			}
			// Restore both as administrators for the next round.
			admin := eve
			if statuses[0] == 200 {
				admin = charles
			}
			expect(t, e.as(admin.token, "PATCH", base+charles.id, map[string]any{"user_type": "customer_admin"}), http.StatusOK)
			expect(t, e.as(admin.token, "PATCH", base+eve.id, map[string]any{"user_type": "customer_admin"}), http.StatusOK)
		}
	})
}

// logOnFailure prints the service's log when the test fails.
func logOnFailure(t *testing.T, e *env) {
	t.Cleanup(func() {
		if t.Failed() {
			t.Log(e.logs.String())
		}
	})
}
