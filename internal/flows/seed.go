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
		return org, ensureSeedUserTypes(ctx, st, org.ID)
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
		{Name: "partner_admin", Label: "Partner account administrator", Permissions: []string{
			domain.PermPartnerAccountAdmin, domain.PermThingsRead}},
		{Name: "partner_user", Label: "Partner user", Permissions: []string{domain.PermThingsRead}},
		{Name: "data_recipient_admin", Label: "Data recipient administrator", Permissions: []string{domain.PermDataAccess}},
	}
}

// ensureSeedUserTypes adds seed user types an organization created by an
// older release lacks; existing ones are left as the organization set them.
func ensureSeedUserTypes(ctx context.Context, st *store.Store, orgID string) error {
	have, err := st.UserTypes(ctx, orgID)
	if err != nil {
		return err
	}
	names := map[string]bool{}
	for _, ut := range have {
		names[ut.Name] = true
	}
	for _, ut := range seedUserTypes() {
		if names[ut.Name] {
			continue
		}
		ut.ID, ut.OrgID = store.NewID(), orgID
		if err := st.CreateUserType(ctx, ut); err != nil && !store.IsDuplicate(err) {
			return fmt.Errorf("seed user type %s: %w", ut.Name, err)
		}
	}
	return nil
}

func seedAgreements() []domain.Agreement {
	customers := domain.AccountTypes
	return []domain.Agreement{
		{Name: "terms-of-service", Kind: "terms_of_service", Version: 1, Title: "Terms of Service",
			Body: "These terms govern your use of the service. Replace this text with your organization's terms.", AccountTypes: customers, Required: true},
		{Name: "privacy-policy", Kind: "privacy_policy", Version: 1, Title: "Privacy Policy",
			Body: "This policy explains which personal data we keep and why. Replace this text with your organization's policy.", AccountTypes: customers, Required: true},
	}
}
