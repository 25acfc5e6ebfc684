package flows

import (
	"context"
	"fmt"
	"regexp"
	"slices"
	"strings"

	"github.com/onboard-dev/onboard/internal/domain"
	"github.com/onboard-dev/onboard/internal/store"
)

// Scopes of a property definition: the account (customer, partner or data
// recipient) or the user.
const (
	PropertyScopeCustomer = "customer"
	PropertyScopeUser     = "user"
)

// Types of a property definition.
const (
	PropertyString  = "string"
	PropertyEmail   = "email"
	PropertyPhone   = "phone"
	PropertyCountry = "country"
	PropertyEnum    = "enum"
	PropertyBoolean = "boolean"
	PropertyDate    = "date"
)

// PropertyTypes lists the types a property definition may have.
var PropertyTypes = []string{PropertyString, PropertyEmail, PropertyPhone, PropertyCountry, PropertyEnum, PropertyBoolean, PropertyDate}

// BuiltinFields are the names of the fields every registration form has; a
// property may not take them.
var BuiltinFields = []string{"name", "first_name", "last_name", "phone", "email"}

// Limits of a property definition.
const (
	DefaultPropertyMaxLength = 200
	maxPropertyMaxLength     = 1000
	maxPropertyPosition      = 10000
	maxPropertyOptions       = 100
	maxPatternLength         = 1000
)

var propertyNamePattern = regexp.MustCompile(`^[a-z][a-z0-9_]{0,62}$`)

// PropertyInput is a property definition as the admin API takes it. Nil
// MaxLength and Position take their defaults (200 and 0).
type PropertyInput struct {
	Scope        string
	Name         string
	Label        string
	Type         string
	Required     bool
	AccountTypes []string
	Options      []string
	Pattern      string
	MaxLength    *int
	Position     *int
}

func propertyNotFound() error {
	return domain.Errorf(domain.ENotFound, "property-not-found", "There is no such property definition.")
}

func propertyExists(scope, name string) error {
	return &domain.Error{Code: domain.EConflict, Slug: "property-exists",
		Detail: fmt.Sprintf("A %s property named %q exists already.", scope, name),
		Fields: []domain.FieldError{{Field: "name", Message: "is taken in this scope"}}}
}

// validate checks the input and returns the definition it describes (without
// id, organization or times).
func (in PropertyInput) validate() (domain.PropertyDefinition, error) {
	var f fieldErrors
	p := domain.PropertyDefinition{Scope: in.Scope, Name: in.Name, Type: in.Type, Required: in.Required,
		AccountTypes: slices.Clone(in.AccountTypes), MaxLength: DefaultPropertyMaxLength}
	switch in.Scope {
	case "":
		f.add("scope", "is required")
	case PropertyScopeCustomer, PropertyScopeUser:
	default:
		f.add("scope", "must be customer or user")
	}
	f.pattern("name", in.Name, propertyNamePattern, "a lowercase name of letters, digits and underscores starting with a letter, at most 63 characters")
	if slices.Contains(BuiltinFields, in.Name) {
		f.add("name", "is a built-in field ("+strings.Join(BuiltinFields, ", ")+")")
	}
	p.Label = f.text("label", in.Label, true, maxLabelLength, false)
	switch {
	case in.Type == "":
		f.add("type", "is required")
	case !slices.Contains(PropertyTypes, in.Type):
		f.add("type", "must be one of "+strings.Join(PropertyTypes, ", "))
	}
	f.accountTypes("account_types", in.AccountTypes)

	if in.Type == PropertyEnum {
		if len(in.Options) == 0 {
			f.add("options", "must list the choices of an enum property")
		} else if len(in.Options) > maxPropertyOptions {
			f.add("options", fmt.Sprintf("must have at most %d choices", maxPropertyOptions))
		}
		seen := map[string]bool{}
		for i, o := range in.Options {
			at := fmt.Sprintf("options[%d]", i)
			o = f.text(at, o, true, maxLabelLength, false)
			if seen[o] && o != "" {
				f.add(at, "is listed twice")
			}
			seen[o] = true
			p.Options = append(p.Options, o)
		}
	} else if len(in.Options) > 0 {
		f.add("options", "apply only to enum properties")
	}

	if in.Pattern != "" {
		switch {
		case in.Type != "" && in.Type != PropertyString && in.Type != PropertyEmail && in.Type != PropertyPhone:
			f.add("pattern", "applies only to string, email and phone properties")
		case len(in.Pattern) > maxPatternLength:
			f.add("pattern", fmt.Sprintf("must be at most %d bytes", maxPatternLength))
		default:
			if _, err := compileWhole(in.Pattern); err != nil {
				f.add("pattern", "is not a valid RE2 regular expression: "+err.Error())
			}
		}
		p.Pattern = in.Pattern
	}
	if in.MaxLength != nil {
		if *in.MaxLength < 1 || *in.MaxLength > maxPropertyMaxLength {
			f.add("max_length", fmt.Sprintf("must be between 1 and %d", maxPropertyMaxLength))
		}
		p.MaxLength = *in.MaxLength
	}
	if in.Position != nil {
		if *in.Position < 0 || *in.Position > maxPropertyPosition {
			f.add("position", fmt.Sprintf("must be between 0 and %d", maxPropertyPosition))
		}
		p.Position = *in.Position
	}
	return p, f.err()
}

// PropertyDefinitions lists an organization's property definitions in form
// order (by scope, position and name).
func (s *Service) PropertyDefinitions(ctx context.Context, org domain.Organization) ([]domain.PropertyDefinition, error) {
	return s.store.PropertyDefinitions(ctx, org.ID)
}

// CreateProperty adds a property definition; its name must be new in its scope.
func (s *Service) CreateProperty(ctx context.Context, adm Admin, org domain.Organization, in PropertyInput) (domain.PropertyDefinition, error) {
	p, err := in.validate()
	if err != nil {
		return p, err
	}
	now := s.stamp()
	p.ID, p.OrgID, p.CreatedAt, p.UpdatedAt = store.NewID(), org.ID, now, now
	err = s.store.InTx(ctx, func(tx *store.Tx) error {
		have, err := tx.PropertyDefinitions(ctx, org.ID)
		if err != nil {
			return err
		}
		if slices.ContainsFunc(have, func(d domain.PropertyDefinition) bool { return d.Scope == p.Scope && d.Name == p.Name }) {
			return propertyExists(p.Scope, p.Name)
		}
		if err := tx.CreatePropertyDefinition(ctx, p); err != nil {
			return err
		}
		return Audit(ctx, tx, org.ID, adm, "property.created", p.ID, map[string]any{"after": propertyAudit(p)}, now)
	})
	s.orgs.lookups.forget(org.ID) // registrations read them through the cache
	switch {
	case store.IsDuplicate(err):
		return p, propertyExists(p.Scope, p.Name)
	case err != nil:
		return p, fmt.Errorf("create property: %w", err)
	}
	return p, nil
}

// UpdateProperty replaces the definition with that id. Its scope and name
// cannot change (values are stored under them); the input may repeat them.
func (s *Service) UpdateProperty(ctx context.Context, adm Admin, org domain.Organization, id string, in PropertyInput) (domain.PropertyDefinition, error) {
	if !ValidID(id) {
		return domain.PropertyDefinition{}, propertyNotFound()
	}
	now := s.stamp()
	var next domain.PropertyDefinition
	err := s.store.InTx(ctx, func(tx *store.Tx) error {
		prev, err := propertyByID(ctx, tx, org.ID, id)
		if err != nil {
			return err
		}
		var immutable fieldErrors
		if in.Scope != "" && in.Scope != prev.Scope {
			immutable.add("scope", "cannot be changed; delete the property and create another")
		}
		if in.Name != "" && in.Name != prev.Name {
			immutable.add("name", "cannot be changed; delete the property and create another")
		}
		in.Scope, in.Name = prev.Scope, prev.Name
		p, verr := in.validate()
		if verr != nil || len(immutable) > 0 {
			if de := domain.AsError(verr); de != nil {
				immutable = append(immutable, de.Fields...)
			}
			return immutable.err()
		}
		p.ID, p.OrgID, p.CreatedAt, p.UpdatedAt = prev.ID, org.ID, prev.CreatedAt, now
		if err := tx.UpdatePropertyDefinition(ctx, p); err != nil {
			return err
		}
		next = p
		return Audit(ctx, tx, org.ID, adm, "property.updated", p.ID,
			map[string]any{"before": propertyAudit(prev), "after": propertyAudit(p)}, now)
	})
	s.orgs.lookups.forget(org.ID) // registrations read them through the cache
	if err != nil {
		if domain.AsError(err) != nil {
			return next, err
		}
		return next, fmt.Errorf("update property: %w", err)
	}
	return next, nil
}

// DeleteProperty removes a property definition. Values already stored under
// its name stay with the accounts and users that have them.
func (s *Service) DeleteProperty(ctx context.Context, adm Admin, org domain.Organization, id string) error {
	if !ValidID(id) {
		return propertyNotFound()
	}
	now := s.stamp()
	err := s.store.InTx(ctx, func(tx *store.Tx) error {
		prev, err := propertyByID(ctx, tx, org.ID, id)
		if err != nil {
			return err
		}
		if err := tx.DeletePropertyDefinition(ctx, org.ID, id); err != nil {
			return err
		}
		return Audit(ctx, tx, org.ID, adm, "property.deleted", id, map[string]any{"before": propertyAudit(prev)}, now)
	})
	s.orgs.lookups.forget(org.ID) // registrations read them through the cache
	if err != nil {
		if domain.AsError(err) != nil {
			return err
		}
		return fmt.Errorf("delete property: %w", err)
	}
	return nil
}

func propertyByID(ctx context.Context, tx *store.Tx, orgID, id string) (domain.PropertyDefinition, error) {
	all, err := tx.PropertyDefinitions(ctx, orgID)
	if err != nil {
		return domain.PropertyDefinition{}, err
	}
	i := slices.IndexFunc(all, func(p domain.PropertyDefinition) bool { return p.ID == id })
	if i < 0 {
		return domain.PropertyDefinition{}, propertyNotFound()
	}
	return all[i], nil
}

// propertyAudit is what the audit log keeps of a definition.
func propertyAudit(p domain.PropertyDefinition) map[string]any {
	return map[string]any{
		"scope": p.Scope, "name": p.Name, "label": p.Label, "type": p.Type, "required": p.Required,
		"account_types": nonNil(p.AccountTypes), "options": nonNil(p.Options), "pattern": p.Pattern,
		"max_length": p.MaxLength, "position": p.Position,
	}
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}
