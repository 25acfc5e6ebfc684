package flows

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/onboard-dev/onboard/internal/domain"
	"github.com/onboard-dev/onboard/internal/store"
)

// Permissions is the catalogue of permissions a user type may grant.
var Permissions = []string{
	domain.PermAccountAdmin, domain.PermPartnerAccountAdmin,
	domain.PermLocationRead, domain.PermLocationWrite,
	domain.PermThingsRead, domain.PermThingsWrite,
	domain.PermDataAccess,
}

// UserTypeInput is a new user type. Permissions must be given (nil is
// refused; an empty list grants nothing).
type UserTypeInput struct {
	Name        string
	Label       string
	Permissions []string
}

// UserTypePatch changes a user type; nil fields stay as they are.
type UserTypePatch struct {
	Label       *string
	Permissions *[]string
}

func userTypeNotFound() error {
	return domain.Errorf(domain.ENotFound, "user-type-not-found", "There is no such user type.")
}

// permissions checks a list of distinct permissions from the catalogue.
func (f *fieldErrors) permissions(field string, perms []string) []string {
	seen := map[string]bool{}
	for i, p := range perms {
		at := fmt.Sprintf("%s[%d]", field, i)
		switch {
		case !slices.Contains(Permissions, p):
			f.add(at, "must be one of "+strings.Join(Permissions, ", "))
		case seen[p]:
			f.add(at, "is listed twice")
		}
		seen[p] = true
	}
	return nonNil(slices.Clone(perms))
}

// UserTypes lists an organization's user types by name.
func (s *Service) UserTypes(ctx context.Context, org domain.Organization) ([]domain.UserType, error) {
	return s.store.UserTypes(ctx, org.ID)
}

// CreateUserType adds a user type; its name must be new.
func (s *Service) CreateUserType(ctx context.Context, adm Admin, org domain.Organization, in UserTypeInput) (domain.UserType, error) {
	var f fieldErrors
	f.pattern("name", in.Name, slugPattern, "a lowercase name of letters, digits, '-' and '_', at most 63 characters")
	ut := domain.UserType{ID: store.NewID(), OrgID: org.ID, Name: in.Name}
	ut.Label = f.text("label", in.Label, true, maxLabelLength, false)
	if in.Permissions == nil {
		f.add("permissions", "is required (an empty list grants nothing)")
	}
	ut.Permissions = f.permissions("permissions", in.Permissions)
	if err := f.err(); err != nil {
		return ut, err
	}
	exists := &domain.Error{Code: domain.EConflict, Slug: "user-type-exists", Detail: fmt.Sprintf("A user type named %q exists already.", in.Name),
		Fields: []domain.FieldError{{Field: "name", Message: "is taken"}}}
	now := s.stamp()
	err := s.store.InTx(ctx, func(tx *store.Tx) error {
		if _, err := tx.UserTypeByName(ctx, org.ID, ut.Name); err == nil {
			return exists
		} else if !store.IsNotFound(err) {
			return err
		}
		if err := tx.CreateUserType(ctx, ut); err != nil {
			return err
		}
		return Audit(ctx, tx, org.ID, adm, "user_type.created", ut.ID, map[string]any{"after": userTypeAudit(ut)}, now)
	})
	s.orgs.lookups.forget(org.ID) // registrations read them through the cache
	switch {
	case store.IsDuplicate(err):
		return ut, exists
	case err != nil:
		return ut, fmt.Errorf("create user type: %w", err)
	}
	return ut, nil
}

// UpdateUserType changes a user type's label and permissions. The default user
// type of customers must keep customer.account_admin: the first user of a
// customer is its account administrator.
func (s *Service) UpdateUserType(ctx context.Context, adm Admin, org domain.Organization, name string, in UserTypePatch) (domain.UserType, error) {
	if !slugPattern.MatchString(name) {
		return domain.UserType{}, userTypeNotFound()
	}
	if in.Label == nil && in.Permissions == nil {
		return domain.UserType{}, domain.Invalid(domain.FieldError{Field: "label", Message: "give label, permissions or both"})
	}
	var f fieldErrors
	var label string
	var perms []string
	if in.Label != nil {
		label = f.text("label", *in.Label, true, maxLabelLength, false)
	}
	if in.Permissions != nil {
		perms = f.permissions("permissions", *in.Permissions)
	}
	if err := f.err(); err != nil {
		return domain.UserType{}, err
	}
	now := s.stamp()
	var next domain.UserType
	err := s.store.InTx(ctx, func(tx *store.Tx) error {
		prev, err := tx.UserTypeByName(ctx, org.ID, name)
		if store.IsNotFound(err) {
			return userTypeNotFound()
		}
		if err != nil {
			return err
		}
		next = prev
		next.Permissions = nonNil(slices.Clone(prev.Permissions))
		if in.Label != nil {
			next.Label = label
		}
		if in.Permissions != nil {
			next.Permissions = perms
		}
		if prev.Has(domain.PermAccountAdmin) && !next.Has(domain.PermAccountAdmin) {
			// Lock the organization (as PutOnboarding does) so that the
			// check and a concurrent change of the defaults take turns.
			cur, err := tx.LockOrganization(ctx, org.ID)
			if err != nil {
				return err
			}
			defaults := cur.Onboarding.WithDefaults().DefaultUserTypes
			for _, at := range []string{domain.AccountCustomerBusiness, domain.AccountCustomerPersonal} {
				if defaults[at] == name {
					return &domain.Error{Code: domain.EConflict, Slug: "customer-admin-permission-required",
						Detail: fmt.Sprintf("User type %q is the default user type of %s in the onboarding configuration; the first user of a customer is its account administrator, so it must keep %s. Choose another default user type first.",
							name, at, domain.PermAccountAdmin),
						Fields: []domain.FieldError{{Field: "permissions", Message: "must include " + domain.PermAccountAdmin + " while this is the default user type of " + at}}}
				}
			}
		}
		if err := tx.UpdateUserType(ctx, next); err != nil {
			return err
		}
		return Audit(ctx, tx, org.ID, adm, "user_type.updated", next.ID,
			map[string]any{"before": userTypeAudit(prev), "after": userTypeAudit(next)}, now)
	})
	s.orgs.lookups.forget(org.ID) // registrations read them through the cache
	if err != nil {
		return next, fmt.Errorf("update user type: %w", err)
	}
	return next, nil
}

func userTypeAudit(u domain.UserType) map[string]any {
	return map[string]any{"name": u.Name, "label": u.Label, "permissions": nonNil(u.Permissions)}
}
