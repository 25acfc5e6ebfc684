package flows

import (
	"context"
	"fmt"

	"github.com/onboard-dev/onboard/internal/domain"
	"github.com/onboard-dev/onboard/internal/store"
)

// CreateOrganization creates an organization with the seeded user types and
// agreements and the default onboarding configuration. Only the full-rights
// key from the environment may; an organization's own key is refused.
func (s *Service) CreateOrganization(ctx context.Context, adm Admin, name, displayName string) (domain.Organization, error) {
	if adm.OrgID != "" {
		return domain.Organization{}, domain.Errorf(domain.EForbidden, "full-rights-key-required",
			"Only the full-rights admin key may create organizations.")
	}
	var f fieldErrors
	f.pattern("name", name, orgNamePattern, "a lowercase slug of 2 to 63 letters, digits and '-', starting with a letter or digit")
	displayName = f.text("display_name", displayName, true, maxLabelLength, false)
	if err := f.err(); err != nil {
		return domain.Organization{}, err
	}
	exists := &domain.Error{Code: domain.EConflict, Slug: "organization-exists",
		Detail: fmt.Sprintf("An organization named %q exists already.", name),
		Fields: []domain.FieldError{{Field: "name", Message: "is taken"}}}
	org := newOrganization(name, displayName)
	org.CreatedAt = s.stamp()
	// The organization, its seeded user types and agreements, and the audit
	// entry are written together: an organization exists only with its entry.
	err := s.store.InTx(ctx, func(tx *store.Tx) error {
		if _, err := tx.OrganizationByName(ctx, name); err == nil {
			return exists
		} else if !store.IsNotFound(err) {
			return err
		}
		if err := seedOrganization(ctx, tx, org); err != nil {
			return err
		}
		return Audit(ctx, tx, org.ID, adm, "organization.created", org.ID,
			map[string]any{"after": map[string]any{"name": org.Name, "display_name": org.DisplayName}}, org.CreatedAt)
	})
	switch {
	case store.IsDuplicate(err):
		return domain.Organization{}, exists
	case err != nil:
		return domain.Organization{}, fmt.Errorf("create organization: %w", err)
	}
	return org, nil
}

// Organizations lists the organizations the admin may see: every one for the
// full-rights key, its own for an organization's key.
func (s *Service) Organizations(ctx context.Context, adm Admin) ([]domain.Organization, error) {
	if adm.OrgID == "" {
		return s.store.Organizations(ctx)
	}
	org, err := s.store.OrganizationByID(ctx, adm.OrgID)
	if err != nil {
		return nil, fmt.Errorf("organizations: %w", err)
	}
	return []domain.Organization{org}, nil
}
