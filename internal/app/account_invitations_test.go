package app_test

import (
	"context"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/onboard-dev/onboard/internal/auth"
	"github.com/onboard-dev/onboard/internal/domain"
	"github.com/onboard-dev/onboard/internal/flows"
	"github.com/onboard-dev/onboard/internal/mail"
	"github.com/onboard-dev/onboard/internal/ratelimit"
	"github.com/onboard-dev/onboard/internal/store"
	"github.com/onboard-dev/onboard/internal/testutil/dbtest"
)

func TestAccountInvitations(t *testing.T) {
	t.Parallel()
	dbtest.ForEach(t, func(t *testing.T, dsn string) {
		e := start(t, dsn)
		logOnFailure(t, e)
		ada := e.registerMember("ada@example.com")
		invitations := "/api/v1/customers/" + ada.account + "/invitations"

		t.Run("invite, read, accept", func(t *testing.T) {
			e.t = t
			n := e.mails()
			r := e.as(ada.token, "POST", invitations, map[string]any{"email": "Charles@Example.com", "user_type": "customer_user"})
			expect(t, r, http.StatusCreated)
			inv := r.json(t)
			if inv["email"] != "Charles@Example.com" || inv["user_type"] != "customer_user" || inv["status"] != "pending" ||
				inv["invited_by"] != ada.id || inv["accepted_at"] != nil {
				t.Fatalf("invitation = %s", r.body)
			}
			expires, err := time.Parse(time.RFC3339Nano, inv["expires_at"].(string))
			if err != nil || time.Until(expires) < 7*24*time.Hour-time.Minute || time.Until(expires) > 7*24*time.Hour {
				t.Fatalf("expires_at = %v (%v), want in 7 days", inv["expires_at"], err)
			}
			msg := e.mailSince(n, "Charles@Example.com", e.base+"/invitation?token=")
			if !strings.Contains(msg.Text, "Analytical Engines Ltd") || !strings.Contains(msg.Text, "Ada Lovelace") ||
				!strings.Contains(msg.Text, "expires in 7 days") {
				t.Fatalf("invitation mail does not name the account and inviter:\n%s", msg.Text)
			}
			tok := e.linkSince(n, "Charles@Example.com", "/invitation")

			r = e.do("GET", "/api/v1/invitations/"+tok, nil)
			expect(t, r, http.StatusOK)
			form := r.json(t)
			acct := form["account"].(map[string]any)
			if acct["name"] != "Analytical Engines Ltd" || form["email"] != "Charles@Example.com" || form["invited_by"] != "Ada Lovelace" ||
				form["user_type"].(map[string]any)["name"] != "customer_user" || form["existing_user"] != false {
				t.Fatalf("form = %s", r.body)
			}
			var fields []string
			for _, f := range form["fields"].([]any) {
				fields = append(fields, f.(map[string]any)["name"].(string))
			}
			if !slices.Equal(fields, []string{"user.first_name", "user.last_name", "user.phone"}) {
				t.Fatalf("fields = %v", fields)
			}
			if len(form["agreements"].([]any)) != 2 || form["password_policy"].(map[string]any)["min_length"] != float64(8) {
				t.Fatalf("agreements or policy missing: %s", r.body)
			}

			// A rejected completion changes nothing and leaves the link usable.
			users := e.count("users")
			body := e.invitationBody(tok)
			for _, c := range []struct {
				name  string
				body  map[string]any
				field string
			}{
				{"no first name", with(body, "user", map[string]any{"last_name": "B"}), "user.first_name"},
				{"unknown field", with(body, "user", map[string]any{"first_name": "C", "last_name": "B", "role": "admin"}), "user.role"},
				{"weak password", with(body, "password", "password1"), "password"},
				{"password is email", with(body, "password", "charles@example.com"), "password"},
				{"agreements missing", with(body, "accepted_agreements", []string{}), "accepted_agreements"},
			} {
				r := e.do("POST", "/api/v1/invitations/"+tok, c.body)
				expect(t, r, http.StatusUnprocessableEntity)
				checkProblem(t, r, 422, c.field)
			}
			if e.count("users") != users {
				t.Fatal("a rejected acceptance created a user")
			}

			n = e.mails()
			r = e.do("POST", "/api/v1/invitations/"+tok, with(body, "user", map[string]any{"first_name": "Charles", "last_name": "Babbage", "phone": "+44 20 7946 0001"}))
			expect(t, r, http.StatusCreated)
			u := r.json(t)["user"].(map[string]any)
			if u["customer_id"] != ada.account || u["email"] != "Charles@Example.com" || u["phone"] != "+44 20 7946 0001" ||
				u["user_type"].(map[string]any)["name"] != "customer_user" || u["status"] != "active" {
				t.Fatalf("user = %v", u)
			}
			if got := e.countWhere("agreement_acceptances", "user_id = $1", u["id"]); got != 2 {
				t.Fatalf("acceptances = %d, want 2", got)
			}
			e.mailSince(n, "Charles@Example.com", "is ready")
			charles := e.login("charles@example.com", goodPassword)
			me := e.as(charles, "GET", "/api/v1/me", nil)
			expect(t, me, http.StatusOK)

			// Single use.
			for _, method := range []string{"GET", "POST"} {
				r := e.do(method, "/api/v1/invitations/"+tok, body)
				expect(t, r, http.StatusGone)
				if got := problemType(t, r); got != "invitation-used" {
					t.Fatalf("%s used link: %s", method, got)
				}
			}
			r = e.as(ada.token, "GET", invitations, nil)
			expect(t, r, http.StatusOK)
			list := r.json(t)["invitations"].([]any)
			if len(list) != 1 || list[0].(map[string]any)["status"] != "accepted" || list[0].(map[string]any)["accepted_user_id"] != u["id"] {
				t.Fatalf("list = %s", r.body)
			}
		})

		t.Run("existing address looks the same", func(t *testing.T) {
			e.t = t
			other := e.registerMember("grace@example.com")
			n := e.mails()
			fresh := e.as(ada.token, "POST", invitations, map[string]any{"email": "new-person@example.com", "user_type": "customer_viewer"})
			taken := e.as(ada.token, "POST", invitations, map[string]any{"email": "GRACE@example.com", "user_type": "customer_viewer"})
			expect(t, fresh, http.StatusCreated)
			expect(t, taken, http.StatusCreated)
			shape := func(r response) map[string]any {
				m := r.json(t)
				for _, k := range []string{"id", "email", "created_at", "expires_at"} {
					if m[k] == nil || m[k] == "" {
						t.Fatalf("%s missing in %s", k, r.body)
					}
					delete(m, k)
				}
				return m
			}
			if a, b := shape(fresh), shape(taken); !mapsEqual(a, b) {
				t.Fatalf("answers differ:\n%v\n%v", a, b)
			}
			for _, h := range []string{"Content-Type", "Cache-Control"} {
				if fresh.header.Get(h) != taken.header.Get(h) {
					t.Fatalf("header %s differs", h)
				}
			}
			notice := e.mailSince(n, "GRACE@example.com", "already belongs to a user")
			if strings.Contains(notice.Text, "/invitation") || strings.Contains(notice.HTML, "token=") {
				t.Fatalf("the notice carries a link:\n%s", notice.Text)
			}
			e.linkSince(n, "new-person@example.com", "/invitation")
			if got := e.countWhere("users", "email_lower = $1 AND account_id = $2", "grace@example.com", other.account); got != 1 {
				t.Fatal("the other customer's user changed")
			}
		})

		t.Run("replace, revoke, expire", func(t *testing.T) {
			e.t = t
			first, firstTok := e.invite(ada, "twice@example.com", "customer_user")
			second, secondTok := e.invite(ada, "twice@example.com", "customer_user")
			r := e.do("GET", "/api/v1/invitations/"+firstTok, nil)
			expect(t, r, http.StatusGone)
			if problemType(t, r) != "invitation-replaced" {
				t.Fatalf("replaced link: %s", r.body)
			}
			expect(t, e.as(ada.token, "DELETE", invitations+"/"+second, nil), http.StatusNoContent)
			r = e.do("POST", "/api/v1/invitations/"+secondTok, map[string]any{"password": "x"})
			expect(t, r, http.StatusGone)
			if problemType(t, r) != "invitation-revoked" {
				t.Fatalf("revoked link: %s", r.body)
			}
			// Revoking again, or a superseded one, is fine; an accepted one is not.
			expect(t, e.as(ada.token, "DELETE", invitations+"/"+second, nil), http.StatusNoContent)
			expect(t, e.as(ada.token, "DELETE", invitations+"/"+first, nil), http.StatusNoContent)
			var accepted string
			if err := e.app.Store().DB().QueryRow(`SELECT id FROM invitations WHERE state = 'accepted'`).Scan(&accepted); err != nil {
				t.Fatal(err)
			}
			expect(t, e.as(ada.token, "DELETE", invitations+"/"+accepted, nil), http.StatusConflict)
			expect(t, e.as(ada.token, "DELETE", invitations+"/"+store.NewID(), nil), http.StatusNotFound)

			_, lateTok := e.invite(ada, "late@example.com", "customer_user")
			body := e.invitationBody(lateTok)
			e.exec(`UPDATE invitations SET expires_at = $1 WHERE email_lower = 'late@example.com'`, store.Now().Add(-time.Second))
			for _, method := range []string{"GET", "POST"} {
				r := e.do(method, "/api/v1/invitations/"+lateTok, body)
				expect(t, r, http.StatusGone)
				if problemType(t, r) != "invitation-expired" {
					t.Fatalf("expired link: %s", r.body)
				}
			}
			r = e.as(ada.token, "GET", invitations, nil)
			expect(t, r, http.StatusOK)
			statuses := map[string]int{}
			for _, i := range r.json(t)["invitations"].([]any) {
				statuses[i.(map[string]any)["status"].(string)]++
			}
			if statuses["expired"] != 1 || statuses["revoked"] != 1 || statuses["superseded"] != 1 || statuses["accepted"] != 1 {
				t.Fatalf("statuses = %v", statuses)
			}
			if e.countWhere("users", "email_lower IN ('twice@example.com', 'late@example.com')") != 0 {
				t.Fatal("an unusable link created a user")
			}
			for _, tok := range []string{"nonsense", strings.Repeat("A", 43)} {
				for _, method := range []string{"GET", "POST"} {
					r := e.do(method, "/api/v1/invitations/"+tok, map[string]any{"password": "x"})
					expect(t, r, http.StatusNotFound)
					checkProblem(t, r, 404, "")
				}
			}
		})

		t.Run("bad input", func(t *testing.T) {
			e.t = t
			before := e.count("invitations")
			for _, c := range []struct {
				name   string
				body   any
				status int
				field  string
			}{
				{"bad email", map[string]any{"email": "nope", "user_type": "customer_user"}, 422, "email"},
				{"no user type", map[string]any{"email": "a@example.com"}, 422, "user_type"},
				{"unknown user type", map[string]any{"email": "a@example.com", "user_type": "root"}, 422, "user_type"},
				{"partner user type", map[string]any{"email": "a@example.com", "user_type": "partner_admin"}, 422, "user_type"},
				{"unknown field", map[string]any{"email": "a@example.com", "user_type": "customer_user", "admin": true}, 400, "admin"},
				{"wrong type", map[string]any{"email": 5, "user_type": "customer_user"}, 422, "email"},
				{"not JSON", `{"email":`, 400, ""},
			} {
				r := e.as(ada.token, "POST", invitations, c.body)
				expect(t, r, c.status)
				checkProblem(t, r, c.status, c.field)
			}
			if e.count("invitations") != before {
				t.Fatal("a rejected invitation was stored")
			}
		})

		t.Run("partners", func(t *testing.T) {
			e.t = t
			pat := e.partnerAdmin("pat@partner.example.com", "Channel Co")
			base := "/api/v1/partners/" + pat.account
			n := e.mails()
			r := e.as(pat.token, "POST", base+"/invitations", map[string]any{"email": "sam@partner.example.com", "user_type": "customer_user"})
			expect(t, r, http.StatusUnprocessableEntity)
			r = e.as(pat.token, "POST", base+"/invitations", map[string]any{"email": "sam@partner.example.com", "user_type": "partner_user"})
			expect(t, r, http.StatusCreated)
			tok := e.linkSince(n, "sam@partner.example.com", "/invitation")
			form := e.do("GET", "/api/v1/invitations/"+tok, nil)
			expect(t, form, http.StatusOK)
			if form.json(t)["account"].(map[string]any)["kind"] != "partner" {
				t.Fatalf("form = %s", form.body)
			}
			r = e.do("POST", "/api/v1/invitations/"+tok, e.invitationBody(tok))
			expect(t, r, http.StatusCreated)
			if u := r.json(t)["user"].(map[string]any); u["customer_id"] != pat.account || u["user_type"].(map[string]any)["name"] != "partner_user" {
				t.Fatalf("user = %s", r.body)
			}
			r = e.as(pat.token, "GET", base+"/users", nil)
			expect(t, r, http.StatusOK)
			if got := len(r.json(t)["users"].([]any)); got != 2 {
				t.Fatalf("partner users = %d, want 2", got)
			}
			r = e.as(pat.token, "GET", base+"/invitations", nil)
			expect(t, r, http.StatusOK)
			// A partner's id on the customer paths, and the other way round, is no account.
			expect(t, e.as(pat.token, "GET", "/api/v1/customers/"+pat.account+"/users", nil), http.StatusNotFound)
			expect(t, e.as(ada.token, "GET", "/api/v1/partners/"+ada.account+"/users", nil), http.StatusNotFound)
			// The last partner administrator stays.
			r = e.as(pat.token, "PATCH", base+"/users/"+pat.id, map[string]any{"user_type": "partner_user"})
			expect(t, r, http.StatusConflict)
			sam := e.login("sam@partner.example.com", goodPassword)
			expect(t, e.as(sam, "GET", base+"/users", nil), http.StatusForbidden)
		})

		t.Run("existing user of the back office", func(t *testing.T) {
			e.t = t
			svc := e.flowsService(t)
			ctx := context.Background()
			st := e.app.Store()
			org, err := st.OrganizationByName(ctx, "default")
			if err != nil {
				t.Fatal(err)
			}
			acct, err := st.AccountByID(ctx, org.ID, ada.account)
			if err != nil {
				t.Fatal(err)
			}
			ut, err := st.UserTypeByName(ctx, org.ID, "customer_viewer")
			if err != nil {
				t.Fatal(err)
			}
			now := store.Now()
			u := domain.User{ID: store.NewID(), OrgID: org.ID, AccountID: acct.ID, UserTypeID: ut.ID, Email: "bo@example.com",
				FirstName: "Back", LastName: "Office", Status: domain.StatusInvited, CreatedAt: now, UpdatedAt: now}
			n := e.mails()
			err = st.InTx(ctx, func(tx *store.Tx) error {
				if err := tx.CreateUser(ctx, u); err != nil {
					return err
				}
				return svc.InviteExistingUserTx(ctx, tx, org, acct, u, now)
			})
			if err != nil {
				t.Fatal(err)
			}
			// An active user, or one with a password, cannot be invited so.
			active := u
			active.Status = domain.StatusActive
			err = st.InTx(ctx, func(tx *store.Tx) error { return svc.InviteExistingUserTx(ctx, tx, org, acct, active, now) })
			if domain.ErrorCode(err) != domain.EConflict {
				t.Fatalf("inviting an active user: %v", err)
			}
			tok := e.linkSince(n, "bo@example.com", "/invitation")
			expect(t, e.do("POST", "/api/v1/sessions", map[string]any{"email": "bo@example.com", "password": goodPassword}), http.StatusUnauthorized)
			r := e.do("GET", "/api/v1/invitations/"+tok, nil)
			expect(t, r, http.StatusOK)
			if r.json(t)["existing_user"] != true || r.json(t)["invited_by"] != nil {
				t.Fatalf("form = %s", r.body)
			}
			body := e.invitationBody(tok)
			body["user"] = map[string]any{"last_name": "Officer"}
			users := e.count("users")
			r = e.do("POST", "/api/v1/invitations/"+tok, body)
			expect(t, r, http.StatusCreated)
			got := r.json(t)["user"].(map[string]any)
			if got["id"] != u.ID || got["status"] != "active" || got["first_name"] != "Back" || got["last_name"] != "Officer" {
				t.Fatalf("user = %s", r.body)
			}
			if e.count("users") != users {
				t.Fatal("accepting an existing user's invitation created a user")
			}
			e.login("bo@example.com", goodPassword)
			expect(t, e.do("POST", "/api/v1/invitations/"+tok, body), http.StatusGone)
		})
	})
}

// with returns a copy of m with k set to v.
func with(m map[string]any, k string, v any) map[string]any {
	out := map[string]any{}
	for kk, vv := range m {
		out[kk] = vv
	}
	out[k] = v
	return out
}

func mapsEqual(a, b map[string]any) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if w, ok := b[k]; !ok || !valuesEqual(v, w) {
			return false
		}
	}
	return true
}

func valuesEqual(a, b any) bool {
	am, aok := a.(map[string]any)
	bm, bok := b.(map[string]any)
	if aok && bok {
		return mapsEqual(am, bm)
	}
	return a == b
}

// flowsService is a flows.Service on the app's database, for what the tests
// call below the API (what the back office does).
func (e *env) flowsService(t *testing.T) *flows.Service {
	t.Helper()
	tpl, err := mail.LoadTemplates("")
	if err != nil {
		t.Fatal(err)
	}
	params := auth.DefaultParams()
	params.Memory, params.Time = uint32(e.cfg.Argon2Memory), uint32(e.cfg.Argon2Time)
	return flows.New(flows.Deps{Store: e.app.Store(), Hasher: auth.NewHasher(params, 1), Policy: auth.DefaultPolicy(), Mail: tpl,
		Limiter: ratelimit.NewMemory(nil)}, flows.Config{PublicURL: e.base, MailFrom: e.cfg.MailFrom})
}
