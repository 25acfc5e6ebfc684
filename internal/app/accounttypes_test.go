package app_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/onboard-dev/onboard/internal/auth"
	"github.com/onboard-dev/onboard/internal/config"
	"github.com/onboard-dev/onboard/internal/domain"
	"github.com/onboard-dev/onboard/internal/flows"
	"github.com/onboard-dev/onboard/internal/store"
	"github.com/onboard-dev/onboard/internal/testutil/dbtest"
	"github.com/onboard-dev/onboard/internal/testutil/smtptest"
)

const testAdminKey = "test-admin-key-with-full-rights"

func withAdminKey(c *config.Config) { c.AdminKey = testAdminKey }

// configure changes the default organization's onboarding configuration
// through the admin API.
func (e *env) configure(change func(o map[string]any)) {
	e.t.Helper()
	r := e.do("GET", "/api/v1/admin/organizations/default/onboarding", nil, "Authorization", "Bearer "+testAdminKey)
	expect(e.t, r, http.StatusOK)
	o := r.json(e.t)
	change(o)
	r = e.do("PUT", "/api/v1/admin/organizations/default/onboarding", o, "Authorization", "Bearer "+testAdminKey)
	expect(e.t, r, http.StatusOK)
}

func offerAll(o map[string]any) {
	o["self_registration"] = map[string]any{"enabled": true, "account_types": domain.AccountTypes}
}

func (e *env) defaultOrg() domain.Organization {
	e.t.Helper()
	org, err := e.app.Store().OrganizationByName(context.Background(), "default")
	if err != nil {
		e.t.Fatal(err)
	}
	return org
}

// createPartner pre-registers a partner without users and returns its code.
func (e *env) createPartner(name string) (domain.Account, string) {
	e.t.Helper()
	ctx := context.Background()
	org := e.defaultOrg()
	now := store.Now()
	p := domain.Account{ID: store.NewID(), OrgID: org.ID, Kind: domain.KindPartner, Type: domain.PartnerChannel, Name: name,
		Status: domain.StatusActive, Origin: domain.OriginBackOffice, CreatedAt: now, UpdatedAt: now}
	code, err := flows.NewPartnerCode()
	if err != nil {
		e.t.Fatal(err)
	}
	err = e.app.Store().InTx(ctx, func(tx *store.Tx) error {
		if err := tx.CreateAccount(ctx, p); err != nil {
			return err
		}
		return tx.SetPartnerCode(ctx, org.ID, p.ID, code, now)
	})
	if err != nil {
		e.t.Fatal(err)
	}
	return p, code
}

func fieldNames(t *testing.T, e *env, token string) []string {
	t.Helper()
	r := e.do("GET", "/api/v1/signups/"+token, nil)
	expect(t, r, http.StatusOK)
	var names []string
	for _, f := range r.json(t)["fields"].([]any) {
		names = append(names, f.(map[string]any)["name"].(string))
	}
	return names
}

func TestSelfRegistrationSwitches(t *testing.T) {
	t.Parallel()
	dbtest.ForEach(t, func(t *testing.T, dsn string) {
		e := start(t, dsn, withAdminKey)
		start := func(email, typ string) response {
			return e.do("POST", "/api/v1/signups", map[string]any{"email": email, "account_type": typ})
		}
		// Default: customers only.
		for _, typ := range []string{"channel_partner", "data_recipient"} {
			r := start("x@example.com", typ)
			expect(t, r, 422)
			checkProblem(t, r, 422, "account_type")
		}
		e.configure(offerAll)
		for _, typ := range domain.AccountTypes {
			expect(t, start(typ+"@example.com", typ), http.StatusAccepted)
		}
		// Email requirement: the whole address must match.
		e.configure(func(o map[string]any) { o["email_requirement"] = `[^@]+@acme\.example` })
		r := start("eve@evil.example", "customer_business")
		expect(t, r, 422)
		checkProblem(t, r, 422, "email")
		expect(t, start("bob@acme.example.org", "customer_business"), 422)
		expect(t, start("bob@acme.example", "customer_business"), http.StatusAccepted)
		// Self-registration off: 403 for every type.
		e.configure(func(o map[string]any) {
			o["self_registration"] = map[string]any{"enabled": false, "account_types": domain.AccountTypes}
		})
		r = start("bob2@acme.example", "customer_personal")
		expect(t, r, http.StatusForbidden)
		checkProblem(t, r, 403, "")
		// An unknown organization.
		r = e.do("POST", "/api/v1/signups", map[string]any{"email": "a@example.com", "account_type": "customer_personal", "organization": "nope"})
		expect(t, r, 422)
	})
}

func TestChannelPartnerWithCode(t *testing.T) {
	t.Parallel()
	dbtest.ForEach(t, func(t *testing.T, dsn string) {
		e := start(t, dsn, withAdminKey, func(c *config.Config) { c.RatePartnerCode.Limit = 3 })
		e.configure(offerAll)
		partner, code := e.createPartner("Resellers Inc")

		token := e.startSignup("rep@resellers.example", "channel_partner")
		if names := fieldNames(t, e, token); !slices.Contains(names, "partner_code") || slices.Contains(names, "customer.name") {
			t.Fatalf("fields = %v, want partner_code and no customer.name", names)
		}
		body := e.completion(token, "channel_partner")
		body["customer"] = map[string]any{}
		// Wrong codes: 422 on partner_code, then rate limited.
		for i := range 4 {
			body["partner_code"] = fmt.Sprintf("WRNG-CODE-%04d", i)
			r := e.do("POST", "/api/v1/signups/"+token, body)
			if i < 3 {
				expect(t, r, 422)
				checkProblem(t, r, 422, "partner_code")
			} else {
				expect(t, r, http.StatusTooManyRequests)
			}
		}
		if e.count("users") != 0 {
			t.Fatal("a wrong code created a user")
		}
		// While limited, even the right code is refused: guessing gains nothing.
		body["partner_code"] = code
		expect(t, e.do("POST", "/api/v1/signups/"+token, body), http.StatusTooManyRequests)
		// Let the window pass (clear the counts: shared table and process memory).
		if _, err := e.app.Store().DB().Exec(`DELETE FROM rate_limits`); err != nil {
			t.Fatal(err)
		}
		e.restartFresh()
		// The right code, typed loosely.
		body["partner_code"] = strings.ToLower(strings.ReplaceAll(code, "-", " "))
		r := e.do("POST", "/api/v1/signups/"+token, body)
		expect(t, r, http.StatusCreated)
		reg := r.json(t)
		p, ok := reg["partner"].(map[string]any)
		if !ok || p["id"] != partner.ID || reg["status"] != "active" || reg["location"] != nil {
			t.Fatalf("registration = %s", r.body)
		}
		if perms := fmt.Sprint(reg["user"].(map[string]any)["user_type"]); !strings.Contains(perms, "partner_admin") {
			t.Fatalf("user type = %s, want partner_admin", perms)
		}
		if e.count("accounts") != 1 {
			t.Fatal("joining a partner created an account")
		}
		e.login("rep@resellers.example", goodPassword)
	})
}

// restartFresh restarts the app with the same database and configuration changes.
func (e *env) restartFresh(mutate ...func(*config.Config)) {
	e.stop()
	for _, m := range mutate {
		m(&e.cfg)
	}
	e.boot()
}

func TestChannelPartnerWithoutCode(t *testing.T) {
	t.Parallel()
	dbtest.ForEach(t, func(t *testing.T, dsn string) {
		e := start(t, dsn, withAdminKey)
		e.configure(func(o map[string]any) {
			offerAll(o)
			o["partner_self_registration_without_code"] = true
		})
		token := e.startSignup("founder@newpartner.example", "channel_partner")
		if names := fieldNames(t, e, token); slices.Contains(names, "partner_code") || !slices.Contains(names, "customer.name") {
			t.Fatalf("fields = %v, want customer.name and no partner_code", names)
		}
		body := e.completion(token, "channel_partner")
		body["customer"] = map[string]any{"name": "New Partner BV"}
		r := e.do("POST", "/api/v1/signups/"+token, body)
		expect(t, r, http.StatusCreated)
		p := r.json(t)["partner"].(map[string]any)
		if p["name"] != "New Partner BV" || p["kind"] != "partner" {
			t.Fatalf("partner = %v", p)
		}
		codes, err := e.app.Store().PartnerCodes(context.Background(), e.defaultOrg().ID)
		if err != nil || codes[p["id"].(string)] == "" {
			t.Fatalf("the new partner got no code: %v %v", codes, err)
		}
	})
}

// provider is a Partner Provider plugin served by the test.
type provider struct {
	*httptest.Server
	calls   atomic.Int32
	badSigs atomic.Int32
}

const providerSecret = "plugin-secret-0123456789"

func startProvider(t *testing.T) *provider {
	p := &provider{}
	p.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p.calls.Add(1)
		body, _ := io.ReadAll(r.Body)
		if r.Header.Get(flows.SignatureHeader) != flows.Sign(providerSecret, body) {
			p.badSigs.Add(1)
			http.Error(w, "bad signature", http.StatusUnauthorized)
			return
		}
		var req struct{ Code, Organization string }
		if err := json.Unmarshal(body, &req); err != nil {
			http.Error(w, "bad body", 400)
			return
		}
		switch {
		case strings.HasPrefix(req.Code, "GOOD"):
			w.Header().Set("Content-Type", "application/json")
			fmt.Fprintf(w, `{"company":{"name":"Provided Partner %s","vat":"NL123"},"tier":3}`, req.Code[5:9])
		case strings.HasPrefix(req.Code, "SLOW"):
			select {
			case <-time.After(3 * time.Second):
			case <-r.Context().Done():
			}
		case strings.HasPrefix(req.Code, "FAIL"):
			http.Error(w, "boom", http.StatusInternalServerError)
		case strings.HasPrefix(req.Code, "JUNK"):
			fmt.Fprint(w, `not json`)
		default:
			http.NotFound(w, r)
		}
	}))
	t.Cleanup(p.Close)
	return p
}

func TestPartnerProviderPlugin(t *testing.T) {
	t.Parallel()
	dbtest.ForEach(t, func(t *testing.T, dsn string) {
		plugin := startProvider(t)
		e := start(t, dsn, withAdminKey)
		e.configure(func(o map[string]any) {
			offerAll(o)
			o["partner_provider"] = map[string]any{"url": plugin.URL, "secret": providerSecret, "name_field": "company.name",
				"property_mapping": map[string]any{"vat": "company.vat", "tier": "tier"}, "timeout": "300ms"}
		})
		// The secret is never shown back.
		r := e.do("GET", "/api/v1/admin/organizations/default/onboarding", nil, "Authorization", "Bearer "+testAdminKey)
		if strings.Contains(string(r.body), providerSecret) {
			t.Fatal("the admin API shows the plugin secret")
		}
		token := e.startSignup("p@plugin.example", "channel_partner")
		body := e.completion(token, "channel_partner")
		body["customer"] = map[string]any{}
		cases := []struct {
			code   string
			status int
			field  string
		}{
			{"NOPE-0000-0000", 422, "partner_code"},
			{"SLOW-0000-0000", 503, ""},
			{"FAIL-0000-0000", 503, ""},
			{"JUNK-0000-0000", 503, ""},
		}
		for _, c := range cases {
			body["partner_code"] = c.code
			r := e.do("POST", "/api/v1/signups/"+token, body)
			expect(t, r, c.status)
			checkProblem(t, r, c.status, c.field)
		}
		if e.count("accounts")+e.count("users") != 0 {
			t.Fatal("a refused or failed plugin call created something")
		}
		body["partner_code"] = "GOOD-7777-AAAA"
		r = e.do("POST", "/api/v1/signups/"+token, body)
		expect(t, r, http.StatusCreated)
		p := r.json(t)["partner"].(map[string]any)
		props := p["properties"].(map[string]any)
		if p["name"] != "Provided Partner 7777" || props["vat"] != "NL123" || props["tier"] != "3" {
			t.Fatalf("partner = %v", p)
		}
		if plugin.badSigs.Load() != 0 {
			t.Fatalf("%d plugin calls had a wrong signature", plugin.badSigs.Load())
		}
		// The next registration with that code finds the partner locally.
		calls := plugin.calls.Load()
		token2 := e.startSignup("p2@plugin.example", "channel_partner")
		body2 := e.completion(token2, "channel_partner")
		body2["customer"], body2["partner_code"] = map[string]any{}, "GOOD-7777-AAAA"
		r = e.do("POST", "/api/v1/signups/"+token2, body2)
		expect(t, r, http.StatusCreated)
		if r.json(t)["partner"].(map[string]any)["id"] != p["id"] || plugin.calls.Load() != calls {
			t.Fatal("the second registration did not join the partner found the first time")
		}
	})
}

func TestDataRecipientNeedsApproval(t *testing.T) {
	t.Parallel()
	dbtest.ForEach(t, func(t *testing.T, dsn string) {
		e := start(t, dsn, withAdminKey)
		e.configure(offerAll)
		token := e.startSignup("dr@data.example", "data_recipient")
		body := e.completion(token, "data_recipient")
		body["customer"] = map[string]any{"name": "Data Analytics GmbH"}
		r := e.do("POST", "/api/v1/signups/"+token, body)
		expect(t, r, http.StatusCreated)
		reg := r.json(t)
		dr, ok := reg["data_recipient"].(map[string]any)
		if !ok || reg["status"] != "pending_approval" || dr["status"] != "pending_approval" || reg["user"].(map[string]any)["status"] != "pending_approval" {
			t.Fatalf("registration = %s", r.body)
		}
		e.smtp.WaitFor(t, 10*time.Second, func(m smtptest.Message) bool {
			return m.To[0] == "dr@data.example" && strings.Contains(strings.ToLower(m.Text), "approv")
		})
		r = e.do("POST", "/api/v1/sessions", map[string]any{"email": "dr@data.example", "password": goodPassword})
		expect(t, r, http.StatusForbidden)
		checkProblem(t, r, 403, "")
		if !strings.HasSuffix(r.json(t)["type"].(string), "/approval-pending") {
			t.Fatalf("problem type = %v", r.json(t)["type"])
		}
		// A wrong password still gets the plain 401: status is shown only to the owner.
		expect(t, e.do("POST", "/api/v1/sessions", map[string]any{"email": "dr@data.example", "password": "wrong password!"}), 401)

		ctx := context.Background()
		org := e.defaultOrg()
		id := dr["id"].(string)
		if ok, err := e.app.Store().DecideAccount(ctx, org.ID, id, domain.StatusPendingApproval, domain.StatusActive, "", store.Now()); err != nil || !ok {
			t.Fatalf("approve: %v %v", ok, err)
		}
		if err := e.app.Store().SetUsersStatus(ctx, org.ID, id, domain.StatusActive, store.Now()); err != nil {
			t.Fatal(err)
		}
		e.login("dr@data.example", goodPassword)
	})
}

func TestPropertiesOfAccountTypes(t *testing.T) {
	t.Parallel()
	dbtest.ForEach(t, func(t *testing.T, dsn string) {
		e := start(t, dsn, withAdminKey)
		ctx := context.Background()
		org := e.defaultOrg()
		now := store.Now()
		defs := []domain.PropertyDefinition{
			{Scope: "customer", Name: "vat", Label: "VAT number", Type: "string", Required: true, AccountTypes: []string{"customer_business"}, Pattern: `[A-Z]{2}[0-9]{3,12}`, MaxLength: 14},
			{Scope: "customer", Name: "country", Label: "Country", Type: "country", Required: true, AccountTypes: []string{"customer_business", "customer_personal"}},
			{Scope: "user", Name: "language", Label: "Language", Type: "enum", Options: []string{"en", "nl", "de"}, AccountTypes: []string{"customer_personal"}},
			{Scope: "user", Name: "birthday", Label: "Birthday", Type: "date", AccountTypes: []string{"customer_personal"}},
			{Scope: "user", Name: "newsletter", Label: "Newsletter", Type: "boolean", AccountTypes: []string{"customer_personal"}},
		}
		for i, d := range defs {
			d.ID, d.OrgID, d.Position, d.CreatedAt, d.UpdatedAt = store.NewID(), org.ID, i, now, now
			if err := e.app.Store().CreatePropertyDefinition(ctx, d); err != nil {
				t.Fatal(err)
			}
		}
		bizToken := e.startSignup("biz@props.example", "customer_business")
		if got := strings.Join(fieldNames(t, e, bizToken), ","); got != "customer.name,customer.vat,customer.country,user.first_name,user.last_name,user.phone" {
			t.Fatalf("business fields = %s", got)
		}
		perToken := e.startSignup("per@props.example", "customer_personal")
		if got := strings.Join(fieldNames(t, e, perToken), ","); got != "customer.country,user.first_name,user.last_name,user.phone,user.language,user.birthday,user.newsletter" {
			t.Fatalf("personal fields = %s", got)
		}
		body := e.completion(perToken, "customer_personal")
		bad := []struct {
			customer, user map[string]any
			field          string
		}{
			{map[string]any{"country": "XX"}, nil, "customer.country"},
			{map[string]any{"country": "nl", "vat": "NL123"}, nil, "customer.vat"}, // business only
			{map[string]any{"country": "NL"}, map[string]any{"first_name": "A", "last_name": "B", "language": "fr"}, "user.language"},
			{map[string]any{"country": "NL"}, map[string]any{"first_name": "A", "last_name": "B", "birthday": "31-12-1990"}, "user.birthday"},
			{map[string]any{"country": "NL"}, map[string]any{"first_name": "A", "last_name": "B", "newsletter": "yes"}, "user.newsletter"},
			{map[string]any{}, nil, "customer.country"},
		}
		for _, b := range bad {
			body["customer"] = b.customer
			if b.user != nil {
				body["user"] = b.user
			}
			r := e.do("POST", "/api/v1/signups/"+perToken, body)
			expect(t, r, 422)
			checkProblem(t, r, 422, b.field)
		}
		body["customer"] = map[string]any{"country": "NL"}
		body["user"] = map[string]any{"first_name": "Per", "last_name": "Son", "language": "nl", "birthday": "1990-12-31", "newsletter": true}
		r := e.do("POST", "/api/v1/signups/"+perToken, body)
		expect(t, r, http.StatusCreated)
		if c := r.json(t)["customer"].(map[string]any); c["properties"].(map[string]any)["country"] != "NL" {
			t.Fatalf("customer = %v", c)
		}
		biz := e.completion(bizToken, "customer_business")
		biz["customer"] = map[string]any{"name": "Props BV", "country": "DE", "vat": "de12345"}
		r = e.do("POST", "/api/v1/signups/"+bizToken, biz)
		expect(t, r, 422)
		checkProblem(t, r, 422, "customer.vat")
		biz["customer"] = map[string]any{"name": "Props BV", "country": "DE", "vat": "DE12345"}
		expect(t, e.do("POST", "/api/v1/signups/"+bizToken, biz), http.StatusCreated)
	})
}

func TestAgreementReacceptance(t *testing.T) {
	t.Parallel()
	dbtest.ForEach(t, func(t *testing.T, dsn string) {
		e := start(t, dsn, withAdminKey)
		e.register("agree@example.com", "customer_personal")
		r := e.do("POST", "/api/v1/sessions", map[string]any{"email": "agree@example.com", "password": goodPassword})
		expect(t, r, 201)
		if acts := r.json(t)["required_actions"].([]any); len(acts) != 0 {
			t.Fatalf("required_actions = %v, want none", acts)
		}
		// A new version of the terms.
		ctx := context.Background()
		org := e.defaultOrg()
		versions, err := e.app.Store().AgreementVersions(ctx, org.ID, "terms-of-service")
		if err != nil {
			t.Fatal(err)
		}
		v2 := versions[0]
		v2.ID, v2.Version, v2.Title, v2.CreatedAt = store.NewID(), 2, "Terms of Service (2)", store.Now()
		if err := e.app.Store().CreateAgreement(ctx, v2); err != nil {
			t.Fatal(err)
		}
		r = e.do("POST", "/api/v1/sessions", map[string]any{"email": "agree@example.com", "password": goodPassword})
		expect(t, r, 201)
		login := r.json(t)
		if fmt.Sprint(login["required_actions"]) != "[accept_agreements]" {
			t.Fatalf("required_actions = %v", login["required_actions"])
		}
		tok := login["token"].(string)
		bearer := "Bearer " + tok
		me := e.do("GET", "/api/v1/me", nil, "Authorization", bearer)
		expect(t, me, 200)
		if fmt.Sprint(me.json(t)["required_actions"]) != "[accept_agreements]" {
			t.Fatalf("/me required_actions = %v", me.json(t)["required_actions"])
		}
		// Until the action is done, the session can do nothing else.
		custID := me.json(t)["customer"].(map[string]any)["id"].(string)
		r = e.do("GET", "/api/v1/customers/"+custID+"/locations", nil, "Authorization", bearer)
		expect(t, r, http.StatusForbidden)
		checkProblem(t, r, 403, "")
		if !strings.HasSuffix(r.json(t)["type"].(string), "/required-actions-pending") {
			t.Fatalf("problem type = %v", r.json(t)["type"])
		}
		r = e.do("GET", "/api/v1/me/agreements", nil, "Authorization", bearer)
		expect(t, r, 200)
		var pending []string
		for _, a := range r.json(t)["agreements"].([]any) {
			am := a.(map[string]any)
			if !am["accepted"].(bool) {
				pending = append(pending, am["id"].(string))
			}
		}
		if len(pending) != 1 || pending[0] != v2.ID {
			t.Fatalf("pending = %v, want [%s]", pending, v2.ID)
		}
		r = e.do("POST", "/api/v1/me/agreements", map[string]any{"accepted": []string{versions[0].ID}}, "Authorization", bearer)
		expect(t, r, 422) // the old version is not current
		checkProblem(t, r, 422, "accepted")
		r = e.do("POST", "/api/v1/me/agreements", map[string]any{"accepted": []string{v2.ID}}, "Authorization", bearer)
		expect(t, r, 200)
		if acts := r.json(t)["required_actions"].([]any); len(acts) != 0 {
			t.Fatalf("after accepting, required_actions = %v", acts)
		}
		expect(t, e.do("GET", "/api/v1/customers/"+custID+"/locations", nil, "Authorization", bearer), http.StatusOK)
		var n int
		if err := e.app.Store().DB().QueryRow(`SELECT COUNT(*) FROM agreement_acceptances WHERE agreement_id = $1`, v2.ID).Scan(&n); err != nil || n != 1 {
			t.Fatalf("acceptances of v2 = %d, %v", n, err)
		}
	})
}

func TestCustomerVerification(t *testing.T) {
	t.Parallel()
	dbtest.ForEach(t, func(t *testing.T, dsn string) {
		e := start(t, dsn, withAdminKey)
		e.configure(func(o map[string]any) { o["customer_verification"] = true })
		ctx := context.Background()
		org := e.defaultOrg()
		st := e.app.Store()
		ut, err := st.UserTypeByName(ctx, org.ID, "customer_admin")
		if err != nil {
			t.Fatal(err)
		}
		hash, err := auth.NewHasher(auth.Params{Memory: 64, Time: 1, Threads: 1, SaltLen: 16, KeyLen: 32}, 1).Hash(ctx, goodPassword)
		if err != nil {
			t.Fatal(err)
		}
		now := store.Now()
		acct := domain.Account{ID: store.NewID(), OrgID: org.ID, Kind: "customer", Type: "business", Name: "Back Office BV",
			Status: "active", Origin: domain.OriginBackOffice, CreatedAt: now, UpdatedAt: now}
		if err := st.CreateAccount(ctx, acct); err != nil {
			t.Fatal(err)
		}
		if err := st.CreateUser(ctx, domain.User{ID: store.NewID(), OrgID: org.ID, AccountID: acct.ID, UserTypeID: ut.ID,
			Email: "bo@example.com", FirstName: "B", LastName: "O", PasswordHash: hash, Status: "active", CreatedAt: now, UpdatedAt: now}); err != nil {
			t.Fatal(err)
		}
		// Self-registered users are not asked.
		e.register("self@example.com", "customer_business")
		r := e.do("POST", "/api/v1/sessions", map[string]any{"email": "self@example.com", "password": goodPassword})
		if acts := r.json(t)["required_actions"].([]any); len(acts) != 0 {
			t.Fatalf("self-registered user has required actions %v", acts)
		}
		r = e.do("POST", "/api/v1/sessions", map[string]any{"email": "bo@example.com", "password": goodPassword})
		expect(t, r, 201)
		acts := fmt.Sprint(r.json(t)["required_actions"])
		if !strings.Contains(acts, "verify_customer") || !strings.Contains(acts, "accept_agreements") {
			t.Fatalf("required_actions = %s", acts)
		}
		bearer := "Bearer " + r.json(t)["token"].(string)
		r = e.do("PUT", "/api/v1/me/customer", map[string]any{"phone": "not a phone", "address": ""}, "Authorization", bearer)
		expect(t, r, 422)
		checkProblem(t, r, 422, "phone")
		checkProblem(t, r, 422, "address")
		r = e.do("PUT", "/api/v1/me/customer", map[string]any{"phone": "+31 20 555 0100", "address": "Dam 1, Amsterdam"}, "Authorization", bearer)
		expect(t, r, 200)
		if got := fmt.Sprint(r.json(t)["required_actions"]); got != "[accept_agreements]" {
			t.Fatalf("after verification, required_actions = %s", got)
		}
		got, err := st.AccountByID(ctx, org.ID, acct.ID)
		if err != nil || got.VerifiedAt == nil || got.Properties["address"] != "Dam 1, Amsterdam" {
			t.Fatalf("account = %+v, %v", got, err)
		}
	})
}

func TestAdminOnboardingConfig(t *testing.T) {
	t.Parallel()
	dbtest.ForEach(t, func(t *testing.T, dsn string) {
		e := start(t, dsn, withAdminKey)
		ctx := context.Background()
		if _, err := flows.EnsureOrganization(ctx, e.app.Store(), "other", "Other"); err != nil {
			t.Fatal(err)
		}
		otherKey, _, err := flows.CreateAdminKey(ctx, e.app.Store(), "other", "other-ops")
		if err != nil {
			t.Fatal(err)
		}
		defaultKey, _, err := flows.CreateAdminKey(ctx, e.app.Store(), "default", "ops")
		if err != nil {
			t.Fatal(err)
		}
		path := "/api/v1/admin/organizations/default/onboarding"
		for _, h := range []string{"", "Bearer nope", "Bearer " + flows.AdminKeyPrefix + strings.Repeat("A", 43)} {
			expect(t, e.do("GET", path, nil, "Authorization", h), 401)
		}
		// Another organization's key sees nothing: 404, like a missing organization.
		r := e.do("GET", path, nil, "Authorization", "Bearer "+otherKey)
		expect(t, r, 404)
		missing := e.do("GET", "/api/v1/admin/organizations/missing/onboarding", nil, "Authorization", "Bearer "+defaultKey)
		expect(t, missing, 404)
		if string(r.body) != string(missing.body) {
			t.Fatalf("another tenant's organization answers differently from a missing one:\n%s\n%s", r.body, missing.body)
		}
		expect(t, e.do("PUT", path, map[string]any{}, "Authorization", "Bearer "+otherKey), 404)

		r = e.do("GET", path, nil, "Authorization", "Bearer "+defaultKey)
		expect(t, r, 200)
		cfg := r.json(t)
		bad := []struct {
			change func(map[string]any)
			field  string
		}{
			{func(o map[string]any) { o["email_requirement"] = "([a-z" }, "email_requirement"},
			{func(o map[string]any) {
				o["self_registration"] = map[string]any{"enabled": true, "account_types": []string{"customer_business", "martian"}}
			}, "self_registration.account_types[1]"},
			{func(o map[string]any) {
				o["default_user_types"] = map[string]any{"customer_business": "customer_viewer"}
			}, "default_user_types.customer_business"},
			{func(o map[string]any) { o["default_user_types"] = map[string]any{"customer_personal": "ghost"} }, "default_user_types.customer_personal"},
			{func(o map[string]any) { o["signup_link_ttl"] = "1s" }, "signup_link_ttl"},
			{func(o map[string]any) {
				o["partner_provider"] = map[string]any{"url": "ftp://x", "secret": "short", "name_field": ""}
			}, "partner_provider.url"},
		}
		for _, b := range bad {
			o := map[string]any{}
			for k, v := range cfg {
				o[k] = v
			}
			b.change(o)
			r := e.do("PUT", path, o, "Authorization", "Bearer "+defaultKey)
			expect(t, r, 422)
			checkProblem(t, r, 422, b.field)
		}
		r = e.do("PUT", path, map[string]any{"self_registration": map[string]any{"enabled": true}, "bogus": 1}, "Authorization", "Bearer "+defaultKey)
		expect(t, r, 400)
		if n := e.count("audit_log WHERE action = 'onboarding.updated'"); n != 0 {
			t.Fatalf("refused changes were audited: %d", n)
		}
		cfg["default_location"] = false
		cfg["signup_link_ttl"] = "2h"
		r = e.do("PUT", path, cfg, "Authorization", "Bearer "+defaultKey)
		expect(t, r, 200)
		if r.json(t)["default_location"] != false || r.json(t)["signup_link_ttl"] != "2h0m0s" {
			t.Fatalf("saved = %s", r.body)
		}
		entries, err := e.app.Store().AuditByActionPrefix(ctx, e.defaultOrg().ID, "onboarding.", 10)
		if err != nil || len(entries) != 1 {
			t.Fatalf("audit = %v, %v", entries, err)
		}
		ent := entries[0]
		before, _ := ent.Data["before"].(map[string]any)
		after, _ := ent.Data["after"].(map[string]any)
		if !strings.Contains(ent.Actor, "ops") || before["default_location"] != true || after["default_location"] != false || ent.CreatedAt.IsZero() {
			t.Fatalf("audit entry = %+v", ent)
		}
		// The change takes effect: a personal registration gets no location.
		token := e.startSignup("noloc@example.com", "customer_personal")
		r = e.do("POST", "/api/v1/signups/"+token, e.completion(token, "customer_personal"))
		expect(t, r, 201)
		if r.json(t)["location"] != nil {
			t.Fatalf("location created although default_location is off: %s", r.body)
		}
	})
}
