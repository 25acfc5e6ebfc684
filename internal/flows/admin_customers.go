package flows

import (
	"context"
	"fmt"
	"strings"

	"github.com/onboard-dev/onboard/internal/domain"
	"github.com/onboard-dev/onboard/internal/store"
)

// CustomerInput is a customer the back office registers with its first user.
type CustomerInput struct {
	Type       string // business | personal
	Name       string // required for business; personal defaults to the user's name
	Properties map[string]any
	User       CustomerUserInput
	UserType   string // "" = the organization's default for the account type
}

// CustomerUserInput is the first user of a back-office customer.
type CustomerUserInput struct {
	Email     string
	FirstName string
	LastName  string
	Phone     string
}

// BackOfficeCustomer is what CreateCustomer created.
type BackOfficeCustomer struct {
	Account  domain.Account
	User     domain.User
	UserType domain.UserType
	Location *domain.Location
}

// CreateCustomer registers, in one transaction, a customer, its default
// location (when the organization's onboarding configuration asks for one),
// its first user in status invited without a password, and an invitation
// mailed to that user to choose a password. The first user is the account
// administrator, so their user type must grant customer.account_admin.
func (s *Service) CreateCustomer(ctx context.Context, adm Admin, org domain.Organization, in CustomerInput) (BackOfficeCustomer, error) {
	var f fieldErrors
	var accountType string
	switch in.Type {
	case "":
		f.add("type", "is required")
	case domain.CustomerBusiness, domain.CustomerPersonal:
		accountType = domain.KindCustomer + "_" + in.Type
	default:
		f.add("type", "must be business or personal")
	}
	name := f.text("name", in.Name, in.Type == domain.CustomerBusiness, maxLabelLength, false)
	email, ferr := ValidEmail("user.email", in.User.Email)
	if ferr != nil {
		f = append(f, *ferr)
	}
	first := f.text("user.first_name", in.User.FirstName, true, maxFieldLength, false)
	last := f.text("user.last_name", in.User.LastName, true, maxFieldLength, false)
	phone := f.text("user.phone", in.User.Phone, false, 32, false)
	if phone != "" && !phonePattern.MatchString(phone) {
		f.add("user.phone", "must be a phone number such as +31 20 123 4567")
	}
	var props map[string]string
	if accountType != "" {
		var err error
		if props, err = s.accountProperties(ctx, org, accountType, in.Properties, &f); err != nil {
			return BackOfficeCustomer{}, err
		}
	} else if len(in.Properties) > 0 {
		f.add("properties", "depend on the type, which is missing or wrong")
	}
	var ut domain.UserType
	if accountType != "" {
		utName := in.UserType
		if utName == "" {
			utName = org.Onboarding.DefaultUserTypes[accountType]
		}
		var err error
		if slugPattern.MatchString(utName) {
			ut, err = s.store.UserTypeByName(ctx, org.ID, utName)
		} else {
			err = domain.ErrNotFound
		}
		switch {
		case store.IsNotFound(err):
			f.add("user_type", fmt.Sprintf("user type %q does not exist", truncate(utName, 64)))
		case err != nil:
			return BackOfficeCustomer{}, fmt.Errorf("user type %q: %w", utName, err)
		case !ut.Has(domain.PermAccountAdmin):
			f.add("user_type", fmt.Sprintf("user type %q lacks %s: the first user of a customer is its account administrator", utName, domain.PermAccountAdmin))
		}
	}
	if err := f.err(); err != nil {
		return BackOfficeCustomer{}, err
	}
	if name == "" {
		name = strings.TrimSpace(first + " " + last)
	}
	registered := &domain.Error{Code: domain.EConflict, Slug: "email-registered",
		Detail: "A user with this email address exists in the organization already.",
		Fields: []domain.FieldError{{Field: "user.email", Message: "is taken"}}}
	if taken, err := s.store.EmailRegistered(ctx, org.ID, email); err != nil {
		return BackOfficeCustomer{}, err
	} else if taken {
		return BackOfficeCustomer{}, registered
	}

	now := s.stamp()
	c := BackOfficeCustomer{UserType: ut}
	c.Account = domain.Account{
		ID: store.NewID(), OrgID: org.ID, Kind: domain.KindCustomer, Type: in.Type, Name: name, Properties: props,
		Status: domain.StatusActive, Origin: domain.OriginBackOffice, CreatedAt: now, UpdatedAt: now,
	}
	c.User = domain.User{
		ID: store.NewID(), OrgID: org.ID, AccountID: c.Account.ID, UserTypeID: ut.ID, Email: email,
		FirstName: first, LastName: last, Phone: phone, Properties: map[string]string{},
		Status: domain.StatusInvited, CreatedAt: now, UpdatedAt: now,
	}
	if org.Onboarding.DefaultLocation {
		locName := "Home"
		if in.Type == domain.CustomerBusiness {
			locName = "Location"
		}
		c.Location = &domain.Location{ID: store.NewID(), OrgID: org.ID, AccountID: c.Account.ID, Name: locName, CreatedAt: now}
	}
	err := s.store.InTx(ctx, func(tx *store.Tx) error {
		if err := tx.CreateAccount(ctx, c.Account); err != nil {
			return err
		}
		if err := tx.CreateUser(ctx, c.User); err != nil {
			return err
		}
		if c.Location != nil {
			if err := tx.CreateLocation(ctx, *c.Location); err != nil {
				return err
			}
		}
		if err := s.InviteExistingUserTx(ctx, tx, org, c.Account, c.User, now); err != nil {
			return err
		}
		return Audit(ctx, tx, org.ID, adm, "customer.created", c.Account.ID, map[string]any{"after": map[string]any{
			"type": c.Account.Type, "name": c.Account.Name, "properties": props, "user_id": c.User.ID,
			"user_email": email, "user_type": ut.Name, "default_location": c.Location != nil,
		}}, now)
	})
	switch {
	case store.IsDuplicate(err):
		return BackOfficeCustomer{}, registered
	case err != nil:
		return BackOfficeCustomer{}, fmt.Errorf("create customer: %w", err)
	}
	s.notify()
	return c, nil
}
