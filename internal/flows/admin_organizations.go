package flows

import (
	"context"
	"fmt"
	"time"

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

// OrganizationPatch changes an organization: nil members are kept.
type OrganizationPatch struct {
	DisplayName *string
	Disabled    *bool
}

// UpdateOrganization renames (display name) and disables or enables an
// organization. Only the full-rights key and supervisors may. A disabled
// organization answers as an unknown one to its public pages and API, its
// sign-ins, sign-ups, device setup and B2B calls; its data and its queued
// mail are kept, and enabling it again restores everything. Every node
// sees the change within a second (see orgCacheTTL).
func (s *Service) UpdateOrganization(ctx context.Context, adm Admin, name string, in OrganizationPatch) (domain.Organization, error) {
	if adm.OrgID != "" {
		// An organization's key learns nothing of the others: another
		// organization is not found, as a missing one is.
		if _, err := s.AdminOrganization(ctx, adm, name); err != nil {
			return domain.Organization{}, err
		}
		return domain.Organization{}, domain.Errorf(domain.EForbidden, "full-rights-key-required",
			"Only the full-rights admin key may change organizations.")
	}
	var f fieldErrors
	if in.DisplayName != nil {
		v := f.text("display_name", *in.DisplayName, true, maxLabelLength, false)
		in.DisplayName = &v
	}
	if err := f.err(); err != nil {
		return domain.Organization{}, err
	}
	now := s.stamp()
	var org domain.Organization
	err := s.store.InTx(ctx, func(tx *store.Tx) error {
		cur, err := tx.OrganizationByName(ctx, name)
		if store.IsNotFound(err) {
			return domain.Errorf(domain.ENotFound, "organization-not-found", "There is no such organization.")
		}
		if err != nil {
			return err
		}
		if cur, err = tx.LockOrganization(ctx, cur.ID); err != nil {
			return err
		}
		org = cur
		before, after := map[string]any{}, map[string]any{}
		if in.DisplayName != nil && *in.DisplayName != cur.DisplayName {
			if err := tx.SetOrganizationDisplayName(ctx, cur.ID, *in.DisplayName); err != nil {
				return err
			}
			before["display_name"], after["display_name"] = cur.DisplayName, *in.DisplayName
			org.DisplayName = *in.DisplayName
		}
		if in.Disabled != nil && *in.Disabled != (cur.DisabledAt != nil) {
			var at *time.Time
			if *in.Disabled {
				at = &now
			}
			if err := tx.SetOrganizationDisabled(ctx, cur.ID, at); err != nil {
				return err
			}
			before["disabled"], after["disabled"] = cur.DisabledAt != nil, *in.Disabled
			org.DisabledAt = at
		}
		if len(after) == 0 {
			return nil
		}
		action := "organization.updated"
		switch {
		case len(after) == 1 && after["disabled"] == true:
			action = "organization.disabled"
		case len(after) == 1 && after["disabled"] == false:
			action = "organization.enabled"
		}
		return Audit(ctx, tx, cur.ID, adm, action, cur.ID, map[string]any{"before": before, "after": after}, now)
	})
	if err != nil {
		if domain.AsError(err) != nil {
			return domain.Organization{}, err
		}
		return domain.Organization{}, fmt.Errorf("update organization: %w", err)
	}
	s.orgs.forget()
	org.Onboarding = org.Onboarding.WithDefaults()
	return org, nil
}
