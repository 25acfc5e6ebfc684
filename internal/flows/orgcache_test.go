package flows

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/onboard-dev/onboard/internal/auth"
	"github.com/onboard-dev/onboard/internal/domain"
	"github.com/onboard-dev/onboard/internal/ratelimit"
	"github.com/onboard-dev/onboard/internal/store"
	"github.com/onboard-dev/onboard/internal/testutil/dbtest"
)

func TestOrgCache(t *testing.T) {
	var c orgCache
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	org := domain.Organization{ID: "o1", Name: "acme"}
	_, gen, ok := c.get(false, "acme", now)
	if ok {
		t.Fatal("hit on an empty cache")
	}
	c.put(org, gen, now)
	cases := []struct {
		name  string
		byID  bool
		key   string
		at    time.Time
		found bool
	}{
		{"by name", false, "acme", now, true},
		{"by id", true, "o1", now.Add(orgCacheTTL), true},
		{"expired", false, "acme", now.Add(orgCacheTTL + time.Nanosecond), false},
		{"clock went back", false, "acme", now.Add(-time.Second), false},
		{"other name", false, "other", now, false},
		{"name as id", true, "acme", now, false},
	}
	for _, tc := range cases {
		got, _, ok := c.get(tc.byID, tc.key, tc.at)
		if ok != tc.found || (ok && got.ID != "o1") {
			t.Errorf("%s: got %v, %v", tc.name, got, ok)
		}
	}
	c.forget()
	if _, _, ok := c.get(false, "acme", now); ok {
		t.Fatal("hit after forget")
	}
}

// TestOrgCacheReadAcrossForget: a read that began before a change must not
// put the older organization back after the change dropped the cache.
func TestOrgCacheReadAcrossForget(t *testing.T) {
	var c orgCache
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	_, gen, _ := c.get(true, "o1", now) // the read begins
	c.forget()                          // a change commits meanwhile
	c.put(domain.Organization{ID: "o1", Name: "acme"}, gen, now)
	if _, _, ok := c.get(true, "o1", now); ok {
		t.Fatal("an organization read before forget was cached after it")
	}
	_, gen, _ = c.get(true, "o1", now)
	c.put(domain.Organization{ID: "o1", Name: "acme"}, gen, now)
	if _, _, ok := c.get(true, "o1", now); !ok {
		t.Fatal("an organization read after forget was not cached")
	}
}

func TestLookupCache(t *testing.T) {
	var c lookupCache
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	v := regLookups{
		agreements: []domain.Agreement{{ID: "a1", Name: "terms", Version: 1}},
		userTypes:  []domain.UserType{{ID: "u1", Name: "customer_admin"}, {ID: "u2", Name: "customer_user"}},
	}
	_, gen, ok := c.get("o1", now)
	if ok {
		t.Fatal("hit on an empty cache")
	}
	c.put("o1", v, gen, now)
	cases := []struct {
		name  string
		org   string
		at    time.Time
		found bool
	}{
		{"fresh", "o1", now, true},
		{"at the TTL", "o1", now.Add(lookupCacheTTL), true},
		{"expired", "o1", now.Add(lookupCacheTTL + time.Nanosecond), false},
		{"clock went back", "o1", now.Add(-time.Millisecond), false},
		{"other organization", "o2", now, false},
	}
	for _, tc := range cases {
		got, _, ok := c.get(tc.org, tc.at)
		if ok != tc.found || (ok && (len(got.agreements) != 1 || got.agreements[0].ID != "a1")) {
			t.Errorf("%s: got %+v, %v", tc.name, got, ok)
		}
	}
	if ut, ok := v.userType("customer_user"); !ok || ut.ID != "u2" {
		t.Errorf("userType(customer_user) = %+v, %v", ut, ok)
	}
	if _, ok := v.userType("nope"); ok {
		t.Error("userType found a type that is not there")
	}

	// A change drops the organization's entry at once, and only its entry.
	_, gen, _ = c.get("o2", now)
	c.put("o2", v, gen, now)
	c.forget("o1")
	if _, _, ok := c.get("o1", now); ok {
		t.Fatal("hit after forget")
	}
	if _, _, ok := c.get("o2", now); !ok {
		t.Fatal("forget of o1 dropped o2")
	}

	// A read that began before the change does not put its answer back.
	_, gen, _ = c.get("o1", now)
	c.forget("o1")
	c.put("o1", v, gen, now)
	if _, _, ok := c.get("o1", now); ok {
		t.Fatal("lookups read before forget were cached after it")
	}
}

// TestRegistrationLookupsFollowChanges: a completion right after an admin
// change through the same Service sees the change, although the lookups it
// needs were cached a moment before.
func TestRegistrationLookupsFollowChanges(t *testing.T) {
	dbtest.ForEach(t, func(t *testing.T, dsn string) {
		ctx := context.Background()
		st, org, templates := openOrgStore(t, dsn)
		svc := New(Deps{Store: st, Hasher: auth.NewHasher(auth.Params{Memory: 8, Time: 1, Threads: 1, SaltLen: 16, KeyLen: 32}, 1),
			Policy: auth.DefaultPolicy(), Mail: templates, Limiter: ratelimit.NewMemory(nil)},
			Config{PublicURL: "http://127.0.0.1:8080", MailFrom: "Example <no-reply@example.com>"})
		adm := Admin{Name: "test"}

		n := 0
		complete := func(accepted []string, user map[string]any) (Registration, error) {
			t.Helper()
			n++
			token, hash, err := auth.NewToken()
			if err != nil {
				t.Fatal(err)
			}
			now := store.Now()
			su := domain.Signup{ID: store.NewID(), OrgID: org.ID, Email: "user" + string(rune('a'+n)) + "@example.com",
				AccountType: domain.AccountCustomerPersonal, TokenHash: hash, State: domain.SignupPending, CreatedAt: now, ExpiresAt: now.Add(time.Hour)}
			if err := st.CreateSignup(ctx, su); err != nil {
				t.Fatal(err)
			}
			u := map[string]any{"first_name": "Ada", "last_name": "Lovelace"}
			for k, v := range user {
				u[k] = v
			}
			return svc.CompleteSignup(ctx, token, Completion{User: u, Password: "a long enough password", AcceptedAgreements: accepted})
		}
		ids := func() []string {
			t.Helper()
			cur, err := svc.CurrentAgreements(ctx, org)
			if err != nil {
				t.Fatal(err)
			}
			var out []string
			for _, a := range cur {
				out = append(out, a.ID)
			}
			return out
		}
		invalid := func(err error, field string) bool {
			de := domain.AsError(err)
			return de != nil && de.Code == domain.EInvalid &&
				slices.ContainsFunc(de.Fields, func(f domain.FieldError) bool { return f.Field == field })
		}

		v1 := ids()
		if _, err := complete(v1, nil); err != nil { // caches the lookups
			t.Fatalf("first completion: %v", err)
		}

		// A new version of an agreement replaces the old one at once.
		if _, err := svc.PublishAgreementVersion(ctx, adm, org, "terms-of-service", AgreementVersionInput{Title: "Terms 2", Text: "New terms."}); err != nil {
			t.Fatal(err)
		}
		if _, err := complete(v1, nil); !invalid(err, "accepted_agreements") {
			t.Fatalf("completion accepting the replaced version: err = %v, want a field error on accepted_agreements", err)
		}
		v2 := ids()
		if _, err := complete(v2, nil); err != nil {
			t.Fatalf("completion accepting the new version: %v", err)
		}

		// So does a new agreement.
		req := true
		if _, err := svc.CreateAgreement(ctx, adm, org, AgreementInput{Name: "cookies", Kind: AgreementOther, Title: "Cookies", Text: "We use cookies.",
			AccountTypes: []string{domain.AccountCustomerPersonal}, Required: &req}); err != nil {
			t.Fatal(err)
		}
		if _, err := complete(v2, nil); !invalid(err, "accepted_agreements") {
			t.Fatalf("completion without the new required agreement: err = %v, want a field error on accepted_agreements", err)
		}
		v3 := ids()

		// A new required property is asked for at once.
		p, err := svc.CreateProperty(ctx, adm, org, PropertyInput{Scope: "user", Name: "employee_no", Label: "Employee number", Type: "string",
			Required: true, AccountTypes: []string{domain.AccountCustomerPersonal}})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := complete(v3, nil); !invalid(err, "user.employee_no") {
			t.Fatalf("completion without the new required property: err = %v, want a field error on user.employee_no", err)
		}
		if _, err := complete(v3, map[string]any{"employee_no": "42"}); err != nil {
			t.Fatalf("completion with the new property: %v", err)
		}
		if err := svc.DeleteProperty(ctx, adm, org, p.ID); err != nil {
			t.Fatal(err)
		}
		if _, err := complete(v3, map[string]any{"employee_no": "42"}); !invalid(err, "user.employee_no") {
			t.Fatalf("completion with a deleted property: err = %v, want a field error on user.employee_no", err)
		}

		// A changed user type is the one the new user gets.
		label := "Owner"
		if _, err := svc.UpdateUserType(ctx, adm, org, "customer_admin", UserTypePatch{Label: &label}); err != nil {
			t.Fatal(err)
		}
		reg, err := complete(v3, nil)
		if err != nil {
			t.Fatalf("completion after the user type changed: %v", err)
		}
		if reg.UserType.Name != "customer_admin" || reg.UserType.Label != label {
			t.Fatalf("user type %+v, want customer_admin labelled %q", reg.UserType, label)
		}
	})
}
