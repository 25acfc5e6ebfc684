package flows

import (
	"context"
	"fmt"

	"github.com/onboard-dev/onboard/internal/domain"
	"github.com/onboard-dev/onboard/internal/store"
)

// DefaultOrganization is the name of the organization created at first start.
const DefaultOrganization = "default"

// EnsureOrganization creates the named organization with its seeded user types
// and agreements when it does not exist yet. Several nodes may race here: the
// loser sees the winner's organization.
func EnsureOrganization(ctx context.Context, st *store.Store, name, displayName string) (domain.Organization, error) {
	org, err := st.OrganizationByName(ctx, name)
	if err == nil {
		return org, nil
	}
	if !store.IsNotFound(err) {
		return org, err
	}
	now := store.Now()
	org = domain.Organization{ID: store.NewID(), Name: name, DisplayName: displayName, Onboarding: domain.DefaultOnboarding(), CreatedAt: now}
	err = st.InTx(ctx, func(tx *store.Tx) error {
		if err := tx.CreateOrganization(ctx, org); err != nil {
			return err
		}
		for _, ut := range seedUserTypes() {
			ut.ID, ut.OrgID = store.NewID(), org.ID
			if err := tx.CreateUserType(ctx, ut); err != nil {
				return err
			}
		}
		for _, a := range seedAgreements() {
			a.ID, a.OrgID, a.CreatedAt = store.NewID(), org.ID, now
			if err := tx.CreateAgreement(ctx, a); err != nil {
				return err
			}
		}
		return nil
	})
	if store.IsDuplicate(err) {
		return st.OrganizationByName(ctx, name)
	}
	if err != nil {
		return org, fmt.Errorf("seed organization %q: %w", name, err)
	}
	return org, nil
}

func seedUserTypes() []domain.UserType {
	return []domain.UserType{
		{Name: "customer_admin", Label: "Customer account administrator", Permissions: []string{
			domain.PermAccountAdmin, domain.PermLocationRead, domain.PermLocationWrite, domain.PermThingsRead, domain.PermThingsWrite}},
		{Name: "customer_user", Label: "Customer user", Permissions: []string{
			domain.PermLocationRead, domain.PermThingsRead, domain.PermThingsWrite}},
		{Name: "customer_viewer", Label: "Customer viewer", Permissions: []string{
			domain.PermLocationRead, domain.PermThingsRead}},
	}
}

func seedAgreements() []domain.Agreement {
	customers := []string{domain.AccountCustomerBusiness, domain.AccountCustomerPersonal}
	return []domain.Agreement{
		{Name: "terms-of-service", Kind: "terms_of_service", Version: 1, Title: "Terms of Service",
			Body: "These terms govern your use of the service. Replace this text with your organization's terms.", AccountTypes: customers, Required: true},
		{Name: "privacy-policy", Kind: "privacy_policy", Version: 1, Title: "Privacy Policy",
			Body: "This policy explains which personal data we keep and why. Replace this text with your organization's policy.", AccountTypes: customers, Required: true},
	}
}
