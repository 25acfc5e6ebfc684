package store_test

import (
	"context"
	"maps"
	"testing"

	"github.com/onboard-dev/onboard/internal/domain"
	"github.com/onboard-dev/onboard/internal/store"
	"github.com/onboard-dev/onboard/internal/testutil/dbtest"
)

// TestAcceptanceCounts: the acceptances of each version are counted apart,
// versions nobody accepted are absent, and another organization's
// acceptances are not counted.
func TestAcceptanceCounts(t *testing.T) {
	dbtest.ForEach(t, func(t *testing.T, dsn string) {
		ctx := context.Background()
		st := open(t, dsn)
		org, ut, acct := fixture(t, st)
		now := store.Now()
		version := func(orgID string, n int) domain.Agreement {
			a := domain.Agreement{ID: store.NewID(), OrgID: orgID, Name: "terms", Kind: "terms_of_service", Version: n, Title: "Terms",
				Body: "Text", AccountTypes: domain.AccountTypes, Required: true, CreatedAt: now}
			if err := st.CreateAgreement(ctx, a); err != nil {
				t.Fatal(err)
			}
			return a
		}
		accept := func(u domain.User, a domain.Agreement) {
			if err := st.CreateAcceptance(ctx, domain.Acceptance{ID: store.NewID(), OrgID: u.OrgID, UserID: u.ID, AgreementID: a.ID,
				Name: a.Name, Version: a.Version, AcceptedAt: now}); err != nil {
				t.Fatal(err)
			}
		}
		v1, v2, v3 := version(org.ID, 1), version(org.ID, 2), version(org.ID, 3)
		ann := accountUser(t, st, org, ut, acct, "ann@example.com")
		bob := accountUser(t, st, org, ut, acct, "bob@example.com")
		accept(ann, v1)
		accept(bob, v1)
		accept(ann, v2)

		other, out, oacct := fixtureNamed(t, st, "other")
		ov1 := version(other.ID, 1)
		accept(accountUser(t, st, other, out, oacct, "cy@example.com"), ov1)

		got, err := st.AcceptanceCounts(ctx, org.ID)
		if err != nil {
			t.Fatal(err)
		}
		if want := map[string]int{v1.ID: 2, v2.ID: 1}; !maps.Equal(got, want) {
			t.Fatalf("counts %v, want %v (v3 %s absent)", got, want, v3.ID)
		}
	})
}

// fixtureNamed is fixture for a second organization.
func fixtureNamed(t *testing.T, st *store.Store, name string) (domain.Organization, domain.UserType, domain.Account) {
	t.Helper()
	ctx := context.Background()
	now := store.Now()
	org := domain.Organization{ID: store.NewID(), Name: name, DisplayName: name, Onboarding: domain.DefaultOnboarding(), CreatedAt: now}
	ut := domain.UserType{ID: store.NewID(), OrgID: org.ID, Name: "admin", Label: "Admin", Permissions: []string{domain.PermAccountAdmin}}
	acct := domain.Account{ID: store.NewID(), OrgID: org.ID, Kind: domain.KindCustomer, Type: domain.CustomerBusiness, Name: name,
		Status: domain.StatusActive, Origin: domain.OriginSelf, CreatedAt: now, UpdatedAt: now}
	err := st.InTx(ctx, func(tx *store.Tx) error {
		if err := tx.CreateOrganization(ctx, org); err != nil {
			return err
		}
		if err := tx.CreateUserType(ctx, ut); err != nil {
			return err
		}
		return tx.CreateAccount(ctx, acct)
	})
	if err != nil {
		t.Fatal(err)
	}
	return org, ut, acct
}
