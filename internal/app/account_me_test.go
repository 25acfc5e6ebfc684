package app_test

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/onboard-dev/onboard/internal/testutil/dbtest"
)

func TestAccountEmailChange(t *testing.T) {
	t.Parallel()
	dbtest.ForEach(t, func(t *testing.T, dsn string) {
		e := start(t, dsn)
		logOnFailure(t, e)
		ada := e.registerMember("ada@example.com")
		change := func(email, password string) response {
			return e.as(ada.token, "POST", "/api/v1/me/email", map[string]any{"email": email, "current_password": password})
		}
		for _, c := range []struct {
			name, email, password, field string
		}{
			{"wrong password", "ada@example.org", "not my password", "current_password"},
			{"no password", "ada@example.org", "", "current_password"},
			{"same address", "ADA@example.com", goodPassword, "email"},
			{"not an address", "ada at example.org", goodPassword, "email"},
		} {
			r := change(c.email, c.password)
			expect(t, r, http.StatusUnprocessableEntity)
			checkProblem(t, r, 422, c.field)
		}
		expect(t, e.as("", "POST", "/api/v1/me/email", map[string]any{"email": "x@example.org", "current_password": goodPassword}), http.StatusUnauthorized)
		if e.count("email_changes") != 0 {
			t.Fatal("a rejected request was stored")
		}

		// Request: a link to the new address, a notice to the old one.
		n := e.mails()
		r := change("Ada.Lovelace@example.org", goodPassword)
		expect(t, r, http.StatusAccepted)
		if strings.TrimSpace(string(r.body)) != `{"status":"email_sent"}` {
			t.Fatalf("body = %s", r.body)
		}
		first := e.linkSince(n, "Ada.Lovelace@example.org", "/confirm-email")
		notice := e.mailSince(n, "ada@example.com", "Ada.Lovelace@example.org")
		if strings.Contains(notice.Text, "token=") {
			t.Fatalf("the old address got the link:\n%s", notice.Text)
		}
		// Nothing changed yet; a second request replaces the first link.
		e.login("ada@example.com", goodPassword)
		n = e.mails()
		expect(t, change("Ada.Lovelace@example.org", goodPassword), http.StatusAccepted)
		tok := e.linkSince(n, "Ada.Lovelace@example.org", "/confirm-email")
		r = e.do("POST", "/api/v1/email-changes/"+first, nil)
		expect(t, r, http.StatusGone)
		if problemType(t, r) != "email-change-replaced" {
			t.Fatalf("old link: %s", r.body)
		}

		r = e.do("GET", "/api/v1/email-changes/"+tok, nil)
		expect(t, r, http.StatusOK)
		if info := r.json(t); info["email"] != "Ada.Lovelace@example.org" || info["current_email"] != "a***@example.com" {
			t.Fatalf("info = %s", r.body)
		}
		n = e.mails()
		r = e.do("POST", "/api/v1/email-changes/"+tok, nil)
		expect(t, r, http.StatusOK)
		if got := r.json(t); got["status"] != "email_changed" || got["email"] != "Ada.Lovelace@example.org" {
			t.Fatalf("confirm = %s", r.body)
		}
		e.mailSince(n, "ada@example.com", "was changed from this one to Ada.Lovelace@example.org")
		expect(t, e.do("POST", "/api/v1/sessions", map[string]any{"email": "ada@example.com", "password": goodPassword}), http.StatusUnauthorized)
		e.login("ada.lovelace@example.org", goodPassword)
		me := e.as(ada.token, "GET", "/api/v1/me", nil)
		expect(t, me, http.StatusOK)
		if me.json(t)["user"].(map[string]any)["email"] != "Ada.Lovelace@example.org" {
			t.Fatalf("me = %s", me.body)
		}
		for _, method := range []string{"GET", "POST"} {
			r := e.do(method, "/api/v1/email-changes/"+tok, nil)
			expect(t, r, http.StatusGone)
			if problemType(t, r) != "email-change-used" {
				t.Fatalf("used link: %s", r.body)
			}
			expect(t, e.do(method, "/api/v1/email-changes/"+strings.Repeat("A", 43), nil), http.StatusNotFound)
		}

		// An address someone registers meanwhile: 409 at confirmation, nothing changes.
		n = e.mails()
		expect(t, change("taken@example.com", goodPassword), http.StatusAccepted)
		taken := e.linkSince(n, "taken@example.com", "/confirm-email")
		e.register("taken@example.com", "customer_personal")
		r = e.do("POST", "/api/v1/email-changes/"+taken, nil)
		expect(t, r, http.StatusConflict)
		checkProblem(t, r, 409, "")
		if e.countWhere("users", "email_lower = 'ada.lovelace@example.org'") != 1 || e.countWhere("users", "email_lower = 'taken@example.com'") != 1 {
			t.Fatal("the refused confirmation changed an address")
		}

		// Expired links.
		n = e.mails()
		expect(t, change("late@example.com", goodPassword), http.StatusAccepted)
		late := e.linkSince(n, "late@example.com", "/confirm-email")
		e.expire("email_changes")
		for _, method := range []string{"GET", "POST"} {
			r := e.do(method, "/api/v1/email-changes/"+late, nil)
			expect(t, r, http.StatusGone)
			if problemType(t, r) != "email-change-expired" {
				t.Fatalf("expired link: %s", r.body)
			}
		}
	})
}

func TestAccountLocationsAndSessions(t *testing.T) {
	t.Parallel()
	dbtest.ForEach(t, func(t *testing.T, dsn string) {
		e := start(t, dsn)
		logOnFailure(t, e)
		ada := e.registerMember("ada@example.com")
		other := e.registerMember("other@example.com")
		locs := "/api/v1/customers/" + ada.account + "/locations"

		t.Run("locations", func(t *testing.T) {
			e.t = t
			r := e.as(ada.token, "POST", locs, map[string]any{"name": "  Head office  "})
			expect(t, r, http.StatusCreated)
			office := r.json(t)
			if office["name"] != "Head office" {
				t.Fatalf("created = %s", r.body)
			}
			id := office["id"].(string)
			for _, c := range []struct {
				name   string
				body   any
				status int
				field  string
			}{
				{"same name, other case", map[string]any{"name": "HEAD OFFICE"}, 409, ""},
				{"default location's name", map[string]any{"name": "location"}, 409, ""},
				{"empty", map[string]any{"name": "   "}, 422, "name"},
				{"missing", map[string]any{}, 422, "name"},
				{"too long", map[string]any{"name": strings.Repeat("é", 101)}, 422, "name"},
				{"control character", map[string]any{"name": "a\tb"}, 422, "name"},
				{"not a string", map[string]any{"name": 7}, 422, "name"},
				{"unknown field", map[string]any{"name": "x", "kind": "y"}, 400, "kind"},
			} {
				r := e.as(ada.token, "POST", locs, c.body)
				expect(t, r, c.status)
				checkProblem(t, r, c.status, c.field)
			}
			expect(t, e.as(ada.token, "POST", locs, map[string]any{"name": strings.Repeat("é", 100)}), http.StatusCreated)
			// Another customer may use the same name.
			expect(t, e.as(other.token, "POST", "/api/v1/customers/"+other.account+"/locations", map[string]any{"name": "Head office"}), http.StatusCreated)

			expect(t, e.as(ada.token, "PATCH", locs+"/"+id, map[string]any{"name": "Location"}), http.StatusConflict)
			r = e.as(ada.token, "PATCH", locs+"/"+id, map[string]any{"name": "HEAD office"})
			expect(t, r, http.StatusOK)
			if r.json(t)["name"] != "HEAD office" {
				t.Fatalf("renamed = %s", r.body)
			}
			r = e.as(ada.token, "GET", locs, nil)
			expect(t, r, http.StatusOK)
			var names []string
			for _, l := range r.json(t)["locations"].([]any) {
				names = append(names, l.(map[string]any)["name"].(string))
			}
			if len(names) != 3 || names[0] != "Location" || names[1] != "HEAD office" {
				t.Fatalf("locations = %v", names)
			}
			expect(t, e.as(ada.token, "DELETE", locs+"/"+id, nil), http.StatusNoContent)
			expect(t, e.as(ada.token, "DELETE", locs+"/"+id, nil), http.StatusNotFound)
			expect(t, e.as(ada.token, "PATCH", locs+"/"+id, map[string]any{"name": "Back"}), http.StatusNotFound)
			if e.countWhere("audit_log", "action IN ('location.created', 'location.renamed', 'location.deleted') AND actor = $1", "user:"+ada.id) != 4 {
				t.Fatal("location changes were not audited")
			}
		})

		t.Run("sessions", func(t *testing.T) {
			e.t = t
			second := e.login("ada@example.com", goodPassword)
			third := e.login("ada@example.com", goodPassword)
			r := e.as(ada.token, "GET", "/api/v1/me/sessions", nil)
			expect(t, r, http.StatusOK)
			list := r.json(t)["sessions"].([]any)
			if len(list) != 3 {
				t.Fatalf("sessions = %s", r.body)
			}
			current := 0
			var secondID string
			for _, s := range list {
				m := s.(map[string]any)
				for _, k := range []string{"id", "created_at", "expires_at", "client_ip", "user_agent", "current"} {
					if _, ok := m[k]; !ok {
						t.Fatalf("session lacks %s: %v", k, m)
					}
				}
				if m["current"] == true {
					current++
				}
				if m["client_ip"] != "127.0.0.1" {
					t.Fatalf("client_ip = %v", m["client_ip"])
				}
			}
			if current != 1 || strings.Contains(string(r.body), "token") {
				t.Fatalf("sessions = %s", r.body)
			}
			// The second session, seen from itself.
			for _, s := range e.as(second, "GET", "/api/v1/me/sessions", nil).json(t)["sessions"].([]any) {
				if m := s.(map[string]any); m["current"] == true {
					secondID = m["id"].(string)
				}
			}
			var otherID string
			if err := e.app.Store().DB().QueryRow(`SELECT id FROM sessions WHERE user_id = $1`, other.id).Scan(&otherID); err != nil {
				t.Fatal(err)
			}
			expect(t, e.as(ada.token, "DELETE", "/api/v1/me/sessions/"+otherID, nil), http.StatusNotFound)
			expect(t, e.as(other.token, "GET", "/api/v1/me", nil), http.StatusOK)
			expect(t, e.as(ada.token, "DELETE", "/api/v1/me/sessions/"+secondID, nil), http.StatusNoContent)
			expect(t, e.as(second, "GET", "/api/v1/me", nil), http.StatusUnauthorized)
			expect(t, e.as(ada.token, "DELETE", "/api/v1/me/sessions/"+secondID, nil), http.StatusNotFound)

			r = e.as(ada.token, "DELETE", "/api/v1/me/sessions", nil)
			expect(t, r, http.StatusOK)
			if r.json(t)["ended"] != float64(1) {
				t.Fatalf("ended = %s", r.body)
			}
			expect(t, e.as(third, "GET", "/api/v1/me", nil), http.StatusUnauthorized)
			expect(t, e.as(ada.token, "GET", "/api/v1/me", nil), http.StatusOK)
			expect(t, e.as(other.token, "GET", "/api/v1/me", nil), http.StatusOK)
			r = e.as(ada.token, "GET", "/api/v1/me/sessions", nil)
			if list := r.json(t)["sessions"].([]any); len(list) != 1 || list[0].(map[string]any)["current"] != true {
				t.Fatalf("sessions after = %s", r.body)
			}
			// Ending the current session signs out.
			var currentID string
			if err := e.app.Store().DB().QueryRow(`SELECT id FROM sessions WHERE user_id = $1`, ada.id).Scan(&currentID); err != nil {
				t.Fatal(err)
			}
			expect(t, e.as(ada.token, "DELETE", "/api/v1/me/sessions/"+currentID, nil), http.StatusNoContent)
			expect(t, e.as(ada.token, "GET", "/api/v1/me/sessions", nil), http.StatusUnauthorized)
		})
	})
}

func TestAccountExportAndDeletion(t *testing.T) {
	t.Parallel()
	dbtest.ForEach(t, func(t *testing.T, dsn string) {
		e := start(t, dsn)
		logOnFailure(t, e)
		ada := e.registerMember("ada@example.com")
		charles := e.join(ada, "charles@example.com", "customer_user")
		e.invite(ada, "pending@example.com", "customer_viewer")
		other := e.registerMember("other@example.com")
		expect(t, e.as(ada.token, "POST", "/api/v1/customers/"+ada.account+"/locations", map[string]any{"name": "Garage"}), http.StatusCreated)
		n := e.mails()
		expect(t, e.do("POST", "/api/v1/password-resets", map[string]any{"email": "ada@example.com"}), http.StatusAccepted)
		e.linkSince(n, "ada@example.com", "/reset-password")

		t.Run("export", func(t *testing.T) {
			e.t = t
			expect(t, e.as("", "GET", "/api/v1/me/export", nil), http.StatusUnauthorized)
			r := e.as(ada.token, "GET", "/api/v1/me/export", nil)
			expect(t, r, http.StatusOK)
			if !strings.HasPrefix(r.header.Get("Content-Disposition"), "attachment") {
				t.Fatalf("Content-Disposition = %q", r.header.Get("Content-Disposition"))
			}
			var x struct {
				User struct {
					ID, Email   string
					HasPassword bool `json:"has_password"`
				}
				Account         struct{ ID, Name string }
				Acceptances     []map[string]any
				Sessions        []map[string]any
				InvitationsSent []map[string]any `json:"invitations_sent"`
				PasswordResets  []map[string]any `json:"password_resets"`
				Audit           []struct{ Action, Actor, SubjectID string }
			}
			if err := json.Unmarshal(r.body, &x); err != nil {
				t.Fatal(err)
			}
			if x.User.ID != ada.id || x.User.Email != "ada@example.com" || !x.User.HasPassword || x.Account.ID != ada.account ||
				len(x.Acceptances) != 2 || len(x.Sessions) != 1 || len(x.InvitationsSent) != 2 || len(x.PasswordResets) != 1 {
				t.Fatalf("export = %s", r.body)
			}
			actions := map[string]bool{}
			for _, a := range x.Audit {
				actions[a.Action] = true
			}
			for _, a := range []string{"customer.self_registered", "session.created", "invitation.created", "password_reset.requested"} {
				if !actions[a] {
					t.Errorf("export lacks audit entry %s: %v", a, actions)
				}
			}
			body := string(r.body)
			for _, secret := range []string{"hash", "argon2", "token"} {
				if strings.Contains(body, secret) {
					t.Fatalf("export contains %q: %s", secret, body)
				}
			}
			if strings.Contains(body, other.email) || strings.Contains(body, other.id) {
				t.Fatal("export holds another customer's data")
			}
		})

		t.Run("deletion", func(t *testing.T) {
			e.t = t
			path := "/api/v1/customers/" + ada.account
			for _, c := range []struct {
				token  string
				body   any
				status int
			}{
				{ada.token, map[string]any{"confirm": "analytical engines ltd"}, 422},
				{ada.token, map[string]any{}, 422},
				{ada.token, `{"confirm": "Analytical Engines Ltd"`, 400},
				{charles.token, map[string]any{"confirm": "Analytical Engines Ltd"}, 403},
				{other.token, map[string]any{"confirm": "Analytical Engines Ltd"}, 404},
				{"", map[string]any{"confirm": "Analytical Engines Ltd"}, 401},
			} {
				r := e.as(c.token, "DELETE", path, c.body)
				expect(t, r, c.status)
				checkProblem(t, r, c.status, "")
			}
			if e.countWhere("accounts", "id = $1", ada.account) != 1 {
				t.Fatal("a refused deletion deleted")
			}
			n := e.mails()
			expect(t, e.as(ada.token, "DELETE", path, map[string]any{"confirm": "Analytical Engines Ltd"}), http.StatusNoContent)
			confirmation := e.mailSince(n, "ada@example.com", "was deleted")
			if strings.Contains(confirmation.Text, "Analytical") || strings.Contains(confirmation.Text, "Ada") {
				t.Fatalf("the confirmation repeats personal data:\n%s", confirmation.Text)
			}
			for _, tok := range []string{ada.token, charles.token} {
				expect(t, e.as(tok, "GET", "/api/v1/me", nil), http.StatusUnauthorized)
			}
			for _, c := range []struct{ table, where string }{
				{"accounts", "id = $1"},
				{"users", "account_id = $1"},
				{"locations", "account_id = $1"},
				{"invitations", "account_id = $1"},
			} {
				if got := e.countWhere(c.table, c.where, ada.account); got != 0 {
					t.Errorf("%s: %d rows of the deleted customer remain", c.table, got)
				}
			}
			for _, table := range []string{"sessions", "agreement_acceptances", "password_resets", "email_changes", "signups"} {
				if got := e.countWhere(table, "user_id IN ($1, $2)", ada.id, charles.id); got != 0 {
					t.Errorf("%s: %d rows of the deleted users remain", table, got)
				}
			}
			if got := e.countWhere("signups", "email_lower IN ('ada@example.com', 'charles@example.com')"); got != 0 {
				t.Errorf("%d registrations of the deleted users remain", got)
			}
			// Mail to the deleted people is gone, but for the confirmation.
			if got := e.countWhere("outbox", "lower(to_addr) IN ('charles@example.com', 'pending@example.com')"); got != 0 {
				t.Errorf("%d mails to deleted addresses remain", got)
			}
			if got := e.countWhere("outbox", "lower(to_addr) = 'ada@example.com'"); got != 1 {
				t.Errorf("%d mails to the deleting administrator remain, want only the confirmation", got)
			}
			// The audit keeps what happened, without personal data.
			var data string
			if err := e.app.Store().DB().QueryRow(`SELECT data FROM audit_log WHERE action = 'customer.deleted' AND subject_id = $1`, ada.account).Scan(&data); err != nil {
				t.Fatal(err)
			}
			if strings.Contains(data, "@") || strings.Contains(data, "Analytical") || !strings.Contains(data, `"users":2`) {
				t.Fatalf("deletion audit data = %s", data)
			}
			rows, err := e.app.Store().DB().Query(`SELECT data FROM audit_log WHERE subject_id IN ($1, $2) OR actor IN ($3, $4)`,
				ada.id, charles.id, "user:"+ada.id, "user:"+charles.id)
			if err != nil {
				t.Fatal(err)
			}
			defer rows.Close()
			entries := 0
			for rows.Next() {
				var d string
				if err := rows.Scan(&d); err != nil {
					t.Fatal(err)
				}
				entries++
				if strings.Contains(d, "@") || strings.Contains(d, "127.0.0.1") {
					t.Errorf("audit entry of a deleted user keeps personal data: %s", d)
				}
			}
			if entries < 5 {
				t.Fatalf("only %d audit entries of the deleted users remain; the audit trail was dropped", entries)
			}
			// The other customer is untouched.
			expect(t, e.as(other.token, "GET", "/api/v1/me", nil), http.StatusOK)
			if e.countWhere("locations", "account_id = $1", other.account) != 1 {
				t.Fatal("the other customer's locations changed")
			}
		})
	})
}
