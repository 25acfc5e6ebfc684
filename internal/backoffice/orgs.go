package backoffice

import (
	"context"
	"fmt"

	"github.com/onboard-dev/onboard/internal/domain"
	"github.com/onboard-dev/onboard/internal/store"
)

func orgNotFound() error {
	return domain.Errorf(domain.ENotFound, "organization-not-found", "There is no such organization.")
}

// Organization returns the named organization when the principal may
// manage it: a supervisor every one, an org_admin its own. Another
// organization is "not found", exactly like a missing one.
func (s *Service) Organization(ctx context.Context, p Principal, name string) (domain.Organization, error) {
	org, err := s.store.OrganizationByName(ctx, name)
	if store.IsNotFound(err) {
		return org, orgNotFound()
	}
	if err != nil {
		return org, fmt.Errorf("organization: %w", err)
	}
	if !p.Supervisor() && org.ID != p.User.OrgID {
		return domain.Organization{}, orgNotFound()
	}
	org.Onboarding = org.Onboarding.WithDefaults()
	return org, nil
}

// Home returns the organization the principal belongs to.
func (s *Service) Home(ctx context.Context, p Principal) (domain.Organization, error) {
	org, err := s.store.OrganizationByID(ctx, p.User.OrgID)
	if err != nil {
		return org, fmt.Errorf("organization: %w", err)
	}
	org.Onboarding = org.Onboarding.WithDefaults()
	return org, nil
}
