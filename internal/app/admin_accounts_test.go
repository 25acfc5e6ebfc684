package app_test

import (
	"context"
	"fmt"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/onboard-dev/onboard/internal/domain"
	"github.com/onboard-dev/onboard/internal/store"
	"github.com/onboard-dev/onboard/internal/testutil/dbtest"
	"github.com/onboard-dev/onboard/internal/testutil/smtptest"
)

var partnerCodeFormat = regexp.MustCompile(`^[A-Z0-9]{4}-[A-Z0-9]{4}-[A-Z0-9]{4}-[A-Z0-9]{3}$`)

// orgID returns the id of the named organization.
func (e *env) orgID(name string) string {
	e.t.Helper()
	org, err := e.app.Store().OrganizationByName(context.Background(), name)
	if err != nil {
		e.t.Fatal(err)
	}
	return org.ID
}

func TestAdminPartners(t *testing.T) {
	t.Parallel()
	dbtest.ForEach(t, func(t *testing.T, dsn string) {
		e := startAdmin(t, dsn)
		ctx := context.Background()
		st := e.app.Store()
		org := e.orgID("default")
		props := adminPath("default", "/properties")
		for _, p := range []map[string]any{
			{"scope": "customer", "name": "vat_number", "label": "VAT", "type": "string", "pattern": "[A-Z]{2}[0-9]{9}B[0-9]{2}", "account_types": []string{"channel_partner"}},
			{"scope": "customer", "name": "certified", "label": "Certified", "type": "boolean", "account_types": []string{"channel_partner"}},
			{"scope": "customer", "name": "sector", "label": "Sector", "type": "string", "account_types": []string{"customer_business"}},
		} {
			expect(t, e.admin(envAdminKey, "POST", props, p), http.StatusCreated)
		}
		path := adminPath("default", "/partners")
		r := e.admin(envAdminKey, "POST", path, map[string]any{"name": " Volt Installers ", "properties": map[string]any{"vat_number": "NL123456789B01", "certified": true}})
		expect(t, r, http.StatusCreated)
		p := r.json(t)
		id, code := p["id"].(string), p["code"].(string)
		if !partnerCodeFormat.MatchString(code) || p["name"] != "Volt Installers" || p["status"] != "active" || p["origin"] != "back_office" ||
			field(p, "properties", "certified") != "true" || field(p, "properties", "vat_number") != "NL123456789B01" {
			t.Fatalf("created %s", r.body)
		}
		acct, err := st.PartnerByCode(ctx, org, code)
		if err != nil || acct.ID != id || acct.Kind != domain.KindPartner || acct.Type != domain.PartnerChannel {
			t.Fatalf("PartnerByCode(%s) = %+v, %v", code, acct, err)
		}
		if users, _ := st.UsersByAccount(ctx, org, id); len(users) != 0 {
			t.Fatalf("a back-office partner has users: %v", users)
		}
		e.lastAudit("default", "partner.created", "admin:environment", id)

		// A second partner; the list shows both with their codes.
		r = e.admin(envAdminKey, "POST", path, map[string]any{"name": "Other"})
		expect(t, r, http.StatusCreated)
		other := r.json(t)
		r = e.admin(envAdminKey, "GET", path, nil)
		expect(t, r, http.StatusOK)
		list := r.json(t)["partners"].([]any)
		if len(list) != 2 || field(list[0].(map[string]any), "code") != code || field(list[1].(map[string]any), "code") != other["code"] {
			t.Fatalf("list %s", r.body)
		}

		// Regenerating replaces the code: the old one no longer resolves.
		key, keyID := e.orgKey("default", "crm")
		r = e.admin(key, "POST", path+"/"+id+"/code", nil)
		expect(t, r, http.StatusOK)
		fresh := r.json(t)["code"].(string)
		if fresh == code || !partnerCodeFormat.MatchString(fresh) {
			t.Fatalf("new code %q (old %q)", fresh, code)
		}
		if _, err := st.PartnerByCode(ctx, org, code); !store.IsNotFound(err) {
			t.Fatalf("old code still resolves: %v", err)
		}
		if acct, err := st.PartnerByCode(ctx, org, fresh); err != nil || acct.ID != id {
			t.Fatalf("new code resolves to %+v, %v", acct, err)
		}
		if acct, err := st.PartnerByCode(ctx, org, other["code"].(string)); err != nil || acct.ID != other["id"] {
			t.Fatalf("the other partner's code changed: %+v, %v", acct, err)
		}
		a := e.lastAudit("default", "partner.code_regenerated", "admin:"+keyID+":crm", id)
		if raw := fmt.Sprint(a.Data); strings.Contains(raw, code) || strings.Contains(raw, fresh) {
			t.Fatalf("the audit log holds a whole partner code: %v", a.Data)
		}
		if fmt.Sprint(field(a.Data, "before", "code")) != "…"+code[len(code)-3:] {
			t.Fatalf("audit before %v", a.Data)
		}

		// Not a partner, or not one at all.
		cust := e.register("cust@example.com", "customer_personal")["customer"].(map[string]any)["id"].(string)
		checkProblem(t, e.admin(envAdminKey, "POST", path+"/"+cust+"/code", nil), http.StatusNotFound, "")
		checkProblem(t, e.admin(envAdminKey, "POST", path+"/0196f1c4-0000-7000-8000-000000000000/code", nil), http.StatusNotFound, "")

		before := e.count("accounts")
		for _, c := range []struct {
			name  string
			body  map[string]any
			field string
		}{
			{"no name", map[string]any{"name": " "}, "name"},
			{"name too long", map[string]any{"name": strings.Repeat("n", 201)}, "name"},
			{"unknown property", map[string]any{"name": "P", "properties": map[string]any{"colour": "red"}}, "properties.colour"},
			{"property of another account type", map[string]any{"name": "P", "properties": map[string]any{"sector": "energy"}}, "properties.sector"},
			{"value not matching the pattern", map[string]any{"name": "P", "properties": map[string]any{"vat_number": "123"}}, "properties.vat_number"},
			{"not a boolean", map[string]any{"name": "P", "properties": map[string]any{"certified": "perhaps"}}, "properties.certified"},
			{"a number", map[string]any{"name": "P", "properties": map[string]any{"vat_number": 5}}, "properties.vat_number"},
		} {
			t.Run(c.name, func(t *testing.T) {
				e.t = t
				r := e.admin(envAdminKey, "POST", path, c.body)
				expect(t, r, http.StatusUnprocessableEntity)
				checkProblem(t, r, http.StatusUnprocessableEntity, c.field)
			})
		}
		e.t = t
		if n := e.count("accounts"); n != before {
			t.Fatalf("refused partners created accounts: %d → %d", before, n)
		}
	})
}

func TestAdminBackOfficeCustomers(t *testing.T) {
	t.Parallel()
	dbtest.ForEach(t, func(t *testing.T, dsn string) {
		e := startAdmin(t, dsn)
		ctx := context.Background()
		path := adminPath("default", "/customers")
		key, keyID := e.orgKey("default", "backoffice")
		r := e.admin(key, "POST", path, map[string]any{"type": "business", "name": "Analytical Engines Ltd",
			"user": map[string]any{"email": "Ada@Example.com", "first_name": "Ada", "last_name": "Lovelace", "phone": "+44 20 7946 0000"}})
		expect(t, r, http.StatusCreated)
		c := r.json(t)
		cust, user := c["customer"].(map[string]any), c["user"].(map[string]any)
		if cust["type"] != "business" || cust["origin"] != "back_office" || cust["status"] != "active" || cust["name"] != "Analytical Engines Ltd" {
			t.Fatalf("customer %v", cust)
		}
		if user["status"] != domain.StatusInvited || user["email"] != "Ada@Example.com" || user["user_type"] != "customer_admin" {
			t.Fatalf("user %v", user)
		}
		if field(c, "location", "name") != "Location" {
			t.Fatalf("location %v", c["location"])
		}
		stored, err := e.app.Store().UserByEmail(ctx, e.orgID("default"), "ada@example.com")
		if err != nil || stored.PasswordHash != "" || stored.Status != domain.StatusInvited || stored.AccountID != cust["id"] {
			t.Fatalf("stored user %+v, %v", stored, err)
		}
		msg := e.smtp.WaitFor(t, 10*time.Second, smtptest.SentTo("Ada@Example.com"))
		if link := msg.Link(e.base + "/invitation?token="); link == "" || !strings.Contains(msg.Text, "Analytical Engines Ltd") {
			t.Fatalf("invitation mail without link or account name:\n%s", msg.Text)
		}
		if n := e.count("invitations"); n != 1 {
			t.Fatalf("%d invitations, want 1", n)
		}
		if r := e.do("POST", "/api/v1/sessions", map[string]any{"email": "ada@example.com", "password": goodPassword}); r.status == http.StatusCreated {
			t.Fatal("an invited user without a password signed in")
		}
		a := e.lastAudit("default", "customer.created", "admin:"+keyID+":backoffice", cust["id"].(string))
		if field(a.Data, "after", "user_email") != "Ada@Example.com" || field(a.Data, "after", "user_type") != "customer_admin" {
			t.Fatalf("audit %v", a.Data)
		}

		// A personal customer is named after the user; the user type may be chosen.
		expect(t, e.admin(envAdminKey, "POST", adminPath("default", "/user-types"), map[string]any{"name": "owner", "label": "Owner",
			"permissions": []string{"customer.account_admin"}}), http.StatusCreated)
		r = e.admin(envAdminKey, "POST", path, map[string]any{"type": "personal", "user_type": "owner",
			"user": map[string]any{"email": "charles@example.org", "first_name": "Charles", "last_name": "Babbage"}})
		expect(t, r, http.StatusCreated)
		c = r.json(t)
		if field(c, "customer", "name") != "Charles Babbage" || field(c, "user", "user_type") != "owner" || field(c, "location", "name") != "Home" {
			t.Fatalf("personal customer %s", r.body)
		}
		e.smtp.WaitFor(t, 10*time.Second, smtptest.SentTo("charles@example.org"))

		// Without a default location in the configuration, none is made.
		r = e.admin(envAdminKey, "GET", adminPath("default", "/onboarding"), nil)
		cfg := r.json(t)
		cfg["default_location"] = false
		expect(t, e.admin(envAdminKey, "PUT", adminPath("default", "/onboarding"), cfg), http.StatusOK)
		r = e.admin(envAdminKey, "POST", path, map[string]any{"type": "personal",
			"user": map[string]any{"email": "nolocation@example.org", "first_name": "No", "last_name": "Location"}})
		expect(t, r, http.StatusCreated)
		if c := r.json(t); c["location"] != nil {
			t.Fatalf("location without default_location: %s", r.body)
		}

		accounts, users, invitations, mails := e.count("accounts"), e.count("users"), e.count("invitations"), e.count("outbox")
		r = e.admin(envAdminKey, "POST", path, map[string]any{"type": "personal",
			"user": map[string]any{"email": "ADA@example.COM", "first_name": "Ada", "last_name": "Again"}})
		expect(t, r, http.StatusConflict)
		checkProblem(t, r, http.StatusConflict, "user.email")

		user0 := map[string]any{"email": "new@example.com", "first_name": "New", "last_name": "User"}
		business := map[string]any{"type": "business", "name": "N Ltd", "user": user0}
		personal := map[string]any{"type": "personal", "user": user0}
		with := func(k string, v any) map[string]any { return changed(business, k, v) }
		withUser := func(k string, v any) map[string]any { return changed(personal, "user."+k, v) }
		e.runScenarios(t, func(body any) response { return e.admin(envAdminKey, "POST", path, body) }, []scenario{
			{"no type", map[string]any{"user": user0}, 422, "type"},
			{"unknown type", with("type", "partner"), 422, "type"},
			{"business without name", with("name", ""), 422, "name"},
			{"bad email", withUser("email", "new@"), 422, "user.email"},
			{"no email", withUser("email", ""), 422, "user.email"},
			{"no first name", withUser("first_name", ""), 422, "user.first_name"},
			{"no last name", withUser("last_name", " "), 422, "user.last_name"},
			{"bad phone", withUser("phone", "call me"), 422, "user.phone"},
			{"unknown user type", with("user_type", "boss"), 422, "user_type"},
			{"user type without account admin", with("user_type", "customer_viewer"), 422, "user_type"},
			{"unknown property", with("properties", map[string]any{"colour": "red"}), 422, "properties.colour"},
			{"unknown user field", withUser("password", "x"), 400, "user.password"},
			{"user not an object", with("user", "new@example.com"), 422, "user"},
		})
		if accounts != e.count("accounts") || users != e.count("users") || invitations != e.count("invitations") || mails != e.count("outbox") {
			t.Fatal("a refused customer left rows behind")
		}
	})
}

// pendingDataRecipient stores a data recipient awaiting approval with users
// (as self-registration would) and returns its id.
func (e *env) pendingDataRecipient(name string, emails ...string) string {
	e.t.Helper()
	ctx := context.Background()
	st := e.app.Store()
	org := e.orgID("default")
	ut, err := st.UserTypeByName(ctx, org, "data_recipient_admin")
	if err != nil {
		e.t.Fatal(err)
	}
	now := store.Now()
	acct := domain.Account{ID: store.NewID(), OrgID: org, Kind: domain.KindDataRecipient, Type: domain.TypeDataRecipient, Name: name,
		Status: domain.StatusPendingApproval, Origin: domain.OriginSelf, CreatedAt: now, UpdatedAt: now}
	err = st.InTx(ctx, func(tx *store.Tx) error {
		if err := tx.CreateAccount(ctx, acct); err != nil {
			return err
		}
		for i, em := range emails {
			u := domain.User{ID: store.NewID(), OrgID: org, AccountID: acct.ID, UserTypeID: ut.ID, Email: em,
				FirstName: fmt.Sprintf("User%d", i), LastName: "X", Status: domain.StatusPendingApproval, CreatedAt: now, UpdatedAt: now}
			if err := tx.CreateUser(ctx, u); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		e.t.Fatal(err)
	}
	return acct.ID
}

func TestAdminApprovals(t *testing.T) {
	t.Parallel()
	dbtest.ForEach(t, func(t *testing.T, dsn string) {
		e := startAdmin(t, dsn)
		key, keyID := e.orgKey("default", "approver")

		// A data recipient registers itself.
		r := e.admin(key, "GET", adminPath("default", "/onboarding"), nil)
		cfg := r.json(t)
		cfg["self_registration"] = map[string]any{"enabled": true, "account_types": []string{"customer_personal", "data_recipient"}}
		expect(t, e.admin(key, "PUT", adminPath("default", "/onboarding"), cfg), http.StatusOK)
		token := e.startSignup("grace@grid.example", "data_recipient")
		r = e.do("POST", "/api/v1/signups/"+token, map[string]any{"customer": map[string]any{"name": "Grid Analytics"},
			"user": map[string]any{"first_name": "Grace", "last_name": "Hopper"}, "password": goodPassword, "accepted_agreements": e.agreementIDs(token)})
		expect(t, r, http.StatusCreated)
		r = e.do("POST", "/api/v1/sessions", map[string]any{"email": "grace@grid.example", "password": goodPassword})
		expect(t, r, http.StatusForbidden)

		r = e.admin(key, "GET", adminPath("default", "/approvals"), nil)
		expect(t, r, http.StatusOK)
		list := r.json(t)["approvals"].([]any)
		if len(list) != 1 {
			t.Fatalf("approvals %s", r.body)
		}
		pending := list[0].(map[string]any)
		id := field(pending, "account", "id").(string)
		users := pending["users"].([]any)
		if field(pending, "account", "name") != "Grid Analytics" || field(pending, "account", "status") != "pending_approval" || len(users) != 1 ||
			field(users[0].(map[string]any), "email") != "grace@grid.example" || field(users[0].(map[string]any), "user_type") != "data_recipient_admin" {
			t.Fatalf("pending %s", r.body)
		}

		r = e.admin(key, "POST", adminPath("default", "/approvals/"+id+"/approve"), nil)
		expect(t, r, http.StatusOK)
		d := r.json(t)
		if field(d, "account", "status") != "active" || field(d, "account", "decided_at") == nil || field(d["users"].([]any)[0].(map[string]any), "status") != "active" {
			t.Fatalf("approved %s", r.body)
		}
		msg := e.smtp.WaitFor(t, 10*time.Second, func(m smtptest.Message) bool {
			return m.To[0] == "grace@grid.example" && strings.Contains(m.Subject, "approved") && !strings.Contains(m.Subject, "not")
		})
		if !strings.Contains(msg.Text, "Hi Grace,") || !strings.Contains(msg.Text, e.base+"/login") {
			t.Fatalf("approval mail:\n%s", msg.Text)
		}
		e.login("grace@grid.example", goodPassword)
		a := e.lastAudit("default", "account.approved", "admin:"+keyID+":approver", id)
		if field(a.Data, "before", "status") != "pending_approval" || field(a.Data, "after", "status") != "active" {
			t.Fatalf("approve audit %v", a.Data)
		}
		checkProblem(t, e.admin(key, "POST", adminPath("default", "/approvals/"+id+"/approve"), nil), http.StatusConflict, "")
		checkProblem(t, e.admin(key, "POST", adminPath("default", "/approvals/"+id+"/reject"), map[string]any{"reason": "late"}), http.StatusConflict, "")

		// Rejection: every user is mailed the reason.
		rid := e.pendingDataRecipient("Shady Data", "one@shady.example", "two@shady.example")
		rej := adminPath("default", "/approvals/"+rid+"/reject")
		checkProblem(t, e.admin(key, "POST", rej, map[string]any{}), http.StatusUnprocessableEntity, "reason")
		checkProblem(t, e.admin(key, "POST", rej, map[string]any{"reason": "  "}), http.StatusUnprocessableEntity, "reason")
		checkProblem(t, e.admin(key, "POST", rej, map[string]any{"reason": strings.Repeat("r", 1001)}), http.StatusUnprocessableEntity, "reason")
		checkProblem(t, e.admin(key, "POST", rej, map[string]any{"reason": "a\u0000b"}), http.StatusUnprocessableEntity, "reason")
		reason := "We could not verify the company.\nPlease contact sales."
		r = e.admin(key, "POST", rej, map[string]any{"reason": reason})
		expect(t, r, http.StatusOK)
		d = r.json(t)
		if field(d, "account", "status") != "rejected" || field(d, "account", "decision_reason") != reason || len(d["users"].([]any)) != 2 {
			t.Fatalf("rejected %s", r.body)
		}
		for _, to := range []string{"one@shady.example", "two@shady.example"} {
			m := e.smtp.WaitFor(t, 10*time.Second, smtptest.SentTo(to))
			if !strings.Contains(m.Subject, "not approved") || !strings.Contains(m.Text, reason) {
				t.Fatalf("rejection mail to %s:\n%s\n%s", to, m.Subject, m.Text)
			}
		}
		a = e.lastAudit("default", "account.rejected", "admin:"+keyID+":approver", rid)
		if field(a.Data, "after", "reason") != reason || field(a.Data, "after", "status") != "rejected" {
			t.Fatalf("reject audit %v", a.Data)
		}
		users2, err := e.app.Store().UsersByAccount(context.Background(), e.orgID("default"), rid)
		if err != nil || len(users2) != 2 || users2[0].Status != domain.StatusRejected || users2[1].Status != domain.StatusRejected {
			t.Fatalf("rejected users %+v, %v", users2, err)
		}
		checkProblem(t, e.admin(key, "POST", adminPath("default", "/approvals/"+rid+"/approve"), nil), http.StatusConflict, "")

		r = e.admin(key, "GET", adminPath("default", "/approvals"), nil)
		expect(t, r, http.StatusOK)
		if n := len(r.json(t)["approvals"].([]any)); n != 0 {
			t.Fatalf("%d approvals left", n)
		}
		// Only data recipients are decided here.
		cust := e.register("c@example.com", "customer_personal")["customer"].(map[string]any)["id"].(string)
		checkProblem(t, e.admin(key, "POST", adminPath("default", "/approvals/"+cust+"/approve"), nil), http.StatusNotFound, "")
		checkProblem(t, e.admin(key, "POST", adminPath("default", "/approvals/nope/approve"), nil), http.StatusNotFound, "")
	})
}
