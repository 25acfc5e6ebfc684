package flows

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/onboard-dev/onboard/internal/domain"
	obmail "github.com/onboard-dev/onboard/internal/mail"
	"github.com/onboard-dev/onboard/internal/store"
)

// Self-service account management: what the signed-in users of a customer (or
// a partner) do with their own account. The rules of authorization are the
// same everywhere:
//
//   - an account a principal names that is not its own answers 404, whether
//     it exists or not, so nobody can probe other accounts' ids;
//   - the account administrator of an account is a user whose user type has
//     the administrator permission of the account's kind
//     (customer.account_admin for customers, partner.account_admin for
//     partners); other users of the account get 403 where the administrator
//     permission is needed;
//   - changes of an account's users and locations run in one transaction
//     that locks the account's row (on PostgreSQL; SQLite serializes
//     transactions anyway), so that two concurrent changes cannot, say, both
//     remove the last administrator.

// AccountConfig are the settings of self-service account management.
type AccountConfig struct {
	InvitationTTL    time.Duration // lifetime of an invitation link; 7 days when zero
	PasswordResetTTL time.Duration // lifetime of a password-reset link; 1 hour when zero
	EmailChangeTTL   time.Duration // lifetime of an email-change link; 24 hours when zero
}

// accountConfig returns the account settings with defaults filled in.
func (s *Service) accountConfig() AccountConfig {
	c := s.cfg.Accounts
	if c.InvitationTTL <= 0 {
		c.InvitationTTL = 7 * 24 * time.Hour
	}
	if c.PasswordResetTTL <= 0 {
		c.PasswordResetTTL = time.Hour
	}
	if c.EmailChangeTTL <= 0 {
		c.EmailChangeTTL = 24 * time.Hour
	}
	return c
}

// AccountRef names an account as a request path does: its kind (customer or
// partner, from the path) and its id.
type AccountRef struct {
	Kind string
	ID   string
}

// AccountUser is a user of an account with its user type.
type AccountUser struct {
	User     domain.User
	UserType domain.UserType
}

const maxLocationName = 100

func accountNotFound() error {
	return domain.Errorf(domain.ENotFound, "account-not-found", "There is no such account.")
}

func userNotFound() error {
	return domain.Errorf(domain.ENotFound, "user-not-found", "The account has no such user.")
}

func notAccountAdmin() error {
	return domain.Errorf(domain.EForbidden, "not-account-admin", "Only an account administrator of this account may do this.")
}

func lastAdmin() error {
	return domain.Errorf(domain.EConflict, "last-account-admin",
		"This is the account's last administrator. Make another user an administrator first, or delete the account.")
}

// adminPermission is the permission that makes a user the account
// administrator of an account of kind ("" for kinds without one).
func adminPermission(kind string) string {
	switch kind {
	case domain.KindCustomer:
		return domain.PermAccountAdmin
	case domain.KindPartner:
		return domain.PermPartnerAccountAdmin
	}
	return ""
}

// isAccountAdmin reports whether a user type makes its users account
// administrators of an account of kind.
func isAccountAdmin(kind string, ut domain.UserType) bool {
	perm := adminPermission(kind)
	return perm != "" && ut.Has(perm)
}

// assignable reports whether users of an account of kind may have the user
// type: the organization's user types named after the kind (customer_*,
// partner_*).
func assignable(kind string, ut domain.UserType) bool {
	return kind != "" && strings.HasPrefix(ut.Name, kind+"_")
}

// ownAccount returns the account ref names when it is the principal's own
// account and of the kind of the path; 404 otherwise.
func (s *Service) ownAccount(ctx context.Context, p Principal, ref AccountRef) (domain.Account, error) {
	if ref.ID == "" || ref.ID != p.User.AccountID {
		return domain.Account{}, accountNotFound()
	}
	acct, err := s.store.AccountByID(ctx, p.User.OrgID, ref.ID)
	if store.IsNotFound(err) {
		return acct, accountNotFound()
	}
	if err != nil {
		return acct, err
	}
	if acct.Kind != ref.Kind {
		return acct, accountNotFound()
	}
	return acct, nil
}

// adminAccount is ownAccount for a principal who must be its account
// administrator (403 otherwise).
func (s *Service) adminAccount(ctx context.Context, p Principal, ref AccountRef) (domain.Account, error) {
	acct, err := s.ownAccount(ctx, p, ref)
	if err != nil {
		return acct, err
	}
	if !isAccountAdmin(acct.Kind, p.UserType) {
		return acct, notAccountAdmin()
	}
	return acct, nil
}

// lockAccount locks the account in tx and checks it still exists.
func lockAccount(ctx context.Context, tx *store.Tx, acct domain.Account) error {
	_, err := tx.LockAccount(ctx, acct.OrgID, acct.ID)
	if store.IsNotFound(err) {
		return accountNotFound()
	}
	return err
}

// userTypesByID returns the organization's user types by id.
func userTypesByID(ctx context.Context, q interface {
	UserTypes(ctx context.Context, orgID string) ([]domain.UserType, error)
}, orgID string) (map[string]domain.UserType, error) {
	all, err := q.UserTypes(ctx, orgID)
	if err != nil {
		return nil, err
	}
	out := make(map[string]domain.UserType, len(all))
	for _, ut := range all {
		out[ut.ID] = ut
	}
	return out, nil
}

// assignableType finds the user type named name among those users of an
// account of kind may have; a 422 on field names the choices otherwise.
func (s *Service) assignableType(ctx context.Context, orgID, kind, field, name string) (domain.UserType, error) {
	all, err := s.store.UserTypes(ctx, orgID)
	if err != nil {
		return domain.UserType{}, err
	}
	var names []string
	for _, ut := range all {
		if !assignable(kind, ut) {
			continue
		}
		if ut.Name == name {
			return ut, nil
		}
		names = append(names, ut.Name)
	}
	slices.Sort(names)
	msg := "must be one of " + strings.Join(names, ", ")
	if strings.TrimSpace(name) == "" {
		msg = "is required"
	}
	return domain.UserType{}, domain.Invalid(domain.FieldError{Field: field, Message: msg})
}

// activeAdmins counts the active users of the account, other than except,
// whose user type makes them account administrators.
func activeAdmins(kind string, users []domain.User, types map[string]domain.UserType, except string) int {
	n := 0
	for _, u := range users {
		if u.ID != except && u.Status == domain.StatusActive && isAccountAdmin(kind, types[u.UserTypeID]) {
			n++
		}
	}
	return n
}

// ---- users ----

// AccountUsers lists the users of the principal's account, oldest first.
// Only its account administrators may.
func (s *Service) AccountUsers(ctx context.Context, p Principal, ref AccountRef) ([]AccountUser, error) {
	acct, err := s.adminAccount(ctx, p, ref)
	if err != nil {
		return nil, err
	}
	users, err := s.store.UsersByAccount(ctx, acct.OrgID, acct.ID)
	if err != nil {
		return nil, err
	}
	types, err := userTypesByID(ctx, s.store, acct.OrgID)
	if err != nil {
		return nil, err
	}
	out := make([]AccountUser, 0, len(users))
	for _, u := range users {
		out = append(out, AccountUser{User: u, UserType: types[u.UserTypeID]})
	}
	return out, nil
}

// ChangeUserType gives a user of the principal's account another user type
// (one named after the account's kind). Only account administrators may, and
// the last active administrator cannot be demoted.
func (s *Service) ChangeUserType(ctx context.Context, p Principal, ref AccountRef, userID, typeName string) (AccountUser, error) {
	acct, err := s.adminAccount(ctx, p, ref)
	if err != nil {
		return AccountUser{}, err
	}
	ut, err := s.assignableType(ctx, acct.OrgID, acct.Kind, "user_type", typeName)
	if err != nil {
		return AccountUser{}, err
	}
	now := s.now()
	var out AccountUser
	err = s.store.InTx(ctx, func(tx *store.Tx) error {
		users, u, types, err := lockedAccountUser(ctx, tx, acct, userID)
		if err != nil {
			return err
		}
		out = AccountUser{User: u, UserType: ut}
		if u.UserTypeID == ut.ID {
			return nil
		}
		from := types[u.UserTypeID]
		if u.Status == domain.StatusActive && isAccountAdmin(acct.Kind, from) && !isAccountAdmin(acct.Kind, ut) &&
			activeAdmins(acct.Kind, users, types, u.ID) == 0 {
			return lastAdmin()
		}
		if err := tx.SetUserTypeOfUser(ctx, acct.OrgID, u.ID, ut.ID, now); err != nil {
			return err
		}
		out.User.UserTypeID, out.User.UpdatedAt = ut.ID, store.Timestamp(now)
		return tx.AddAudit(ctx, domain.AuditEntry{OrgID: acct.OrgID, Actor: "user:" + p.User.ID, Action: "user.type_changed",
			SubjectID: u.ID, Data: map[string]any{"account_id": acct.ID, "from": from.Name, "to": ut.Name}, CreatedAt: now})
	})
	if err != nil {
		return AccountUser{}, fmt.Errorf("change user type: %w", err)
	}
	return out, nil
}

// lockedAccountUser locks the account (so that the last-administrator rule
// holds under concurrent changes) and returns its users, the one named, and
// the organization's user types by id.
func lockedAccountUser(ctx context.Context, tx *store.Tx, acct domain.Account, userID string) ([]domain.User, domain.User, map[string]domain.UserType, error) {
	if err := lockAccount(ctx, tx, acct); err != nil {
		return nil, domain.User{}, nil, err
	}
	users, err := tx.UsersByAccount(ctx, acct.OrgID, acct.ID)
	if err != nil {
		return nil, domain.User{}, nil, err
	}
	i := slices.IndexFunc(users, func(u domain.User) bool { return u.ID == userID })
	if i < 0 {
		return nil, domain.User{}, nil, userNotFound()
	}
	types, err := userTypesByID(ctx, tx, acct.OrgID)
	if err != nil {
		return nil, domain.User{}, nil, err
	}
	return users, users[i], types, nil
}

// DeleteAccountUser deletes a user of the principal's account and the
// personal data held about them. Account administrators may delete any user,
// other users only themselves; nobody may delete the last active
// administrator.
func (s *Service) DeleteAccountUser(ctx context.Context, p Principal, ref AccountRef, userID string) error {
	acct, err := s.ownAccount(ctx, p, ref)
	if err != nil {
		return err
	}
	self := userID == p.User.ID
	if !self && !isAccountAdmin(acct.Kind, p.UserType) {
		return notAccountAdmin()
	}
	now := s.now()
	err = s.store.InTx(ctx, func(tx *store.Tx) error {
		users, u, types, err := lockedAccountUser(ctx, tx, acct, userID)
		if err != nil {
			return err
		}
		if u.Status == domain.StatusActive && isAccountAdmin(acct.Kind, types[u.UserTypeID]) &&
			activeAdmins(acct.Kind, users, types, u.ID) == 0 {
			return lastAdmin()
		}
		if err := tx.PurgeUser(ctx, u); err != nil {
			return err
		}
		return tx.AddAudit(ctx, domain.AuditEntry{OrgID: acct.OrgID, Actor: "user:" + p.User.ID, Action: "user.deleted",
			SubjectID: u.ID, Data: map[string]any{"account_id": acct.ID, "self": self}, CreatedAt: now})
	})
	if err != nil {
		return fmt.Errorf("delete user: %w", err)
	}
	return nil
}

// ---- locations ----

func locationNotFound() error {
	return domain.Errorf(domain.ENotFound, "location-not-found", "The customer has no such location.")
}

// customerWith returns the principal's own customer when the principal holds
// perm (403 otherwise).
func (s *Service) customerWith(ctx context.Context, p Principal, id, perm string) (domain.Account, error) {
	acct, err := s.ownAccount(ctx, p, AccountRef{Kind: domain.KindCustomer, ID: id})
	if err != nil {
		return acct, err
	}
	if !p.Can(perm) {
		return acct, domain.Errorf(domain.EForbidden, "permission-denied", "Your user type does not have the permission %s.", perm)
	}
	return acct, nil
}

// locationName checks a location name: 1 to 100 characters once trimmed.
func (s *Service) locationName(raw string) (string, error) {
	name := strings.TrimSpace(raw)
	if msg := s.checkValue(Field{Name: "name", Type: "string", Required: true, MaxLength: maxLocationName}, name); msg != "" {
		return "", domain.Invalid(domain.FieldError{Field: "name", Message: msg})
	}
	return name, nil
}

// nameTaken reports whether another location than except has the name,
// ignoring case.
func nameTaken(locs []domain.Location, name, except string) bool {
	return slices.ContainsFunc(locs, func(l domain.Location) bool { return l.ID != except && strings.EqualFold(l.Name, name) })
}

func locationNameTaken(name string) error {
	return domain.Errorf(domain.EConflict, "location-name-taken", "The customer already has a location named %q.", truncate(name, 100))
}

// Locations lists the locations of the principal's customer (permission
// location.read).
func (s *Service) Locations(ctx context.Context, p Principal, customerID string) ([]domain.Location, error) {
	acct, err := s.customerWith(ctx, p, customerID, domain.PermLocationRead)
	if err != nil {
		return nil, err
	}
	return s.store.LocationsByAccount(ctx, acct.OrgID, acct.ID)
}

// CreateLocation adds a location to the principal's customer (permission
// location.write). Names are unique per customer, ignoring case.
func (s *Service) CreateLocation(ctx context.Context, p Principal, customerID, rawName string) (domain.Location, error) {
	acct, err := s.customerWith(ctx, p, customerID, domain.PermLocationWrite)
	if err != nil {
		return domain.Location{}, err
	}
	name, err := s.locationName(rawName)
	if err != nil {
		return domain.Location{}, err
	}
	now := s.now()
	loc := domain.Location{ID: store.NewID(), OrgID: acct.OrgID, AccountID: acct.ID, Name: name, CreatedAt: store.Timestamp(now)}
	err = s.store.InTx(ctx, func(tx *store.Tx) error {
		if err := lockAccount(ctx, tx, acct); err != nil {
			return err
		}
		locs, err := tx.LocationsByAccount(ctx, acct.OrgID, acct.ID)
		if err != nil {
			return err
		}
		if nameTaken(locs, name, "") {
			return locationNameTaken(name)
		}
		if err := tx.CreateLocation(ctx, loc); err != nil {
			return err
		}
		return tx.AddAudit(ctx, domain.AuditEntry{OrgID: acct.OrgID, Actor: "user:" + p.User.ID, Action: "location.created",
			SubjectID: loc.ID, Data: map[string]any{"account_id": acct.ID, "name": name}, CreatedAt: now})
	})
	if err != nil {
		return domain.Location{}, fmt.Errorf("create location: %w", err)
	}
	return loc, nil
}

// RenameLocation renames a location of the principal's customer (permission
// location.write).
func (s *Service) RenameLocation(ctx context.Context, p Principal, customerID, locationID, rawName string) (domain.Location, error) {
	acct, err := s.customerWith(ctx, p, customerID, domain.PermLocationWrite)
	if err != nil {
		return domain.Location{}, err
	}
	name, err := s.locationName(rawName)
	if err != nil {
		return domain.Location{}, err
	}
	now := s.now()
	var loc domain.Location
	err = s.store.InTx(ctx, func(tx *store.Tx) error {
		if err := lockAccount(ctx, tx, acct); err != nil {
			return err
		}
		locs, err := tx.LocationsByAccount(ctx, acct.OrgID, acct.ID)
		if err != nil {
			return err
		}
		i := slices.IndexFunc(locs, func(l domain.Location) bool { return l.ID == locationID })
		if i < 0 {
			return locationNotFound()
		}
		loc = locs[i]
		if loc.Name == name {
			return nil
		}
		if nameTaken(locs, name, loc.ID) {
			return locationNameTaken(name)
		}
		if err := tx.RenameLocation(ctx, acct.OrgID, acct.ID, loc.ID, name); err != nil {
			return err
		}
		from := loc.Name
		loc.Name = name
		return tx.AddAudit(ctx, domain.AuditEntry{OrgID: acct.OrgID, Actor: "user:" + p.User.ID, Action: "location.renamed",
			SubjectID: loc.ID, Data: map[string]any{"account_id": acct.ID, "from": from, "to": name}, CreatedAt: now})
	})
	if err != nil {
		return domain.Location{}, fmt.Errorf("rename location: %w", err)
	}
	return loc, nil
}

// DeleteLocation deletes a location of the principal's customer (permission
// location.write).
func (s *Service) DeleteLocation(ctx context.Context, p Principal, customerID, locationID string) error {
	acct, err := s.customerWith(ctx, p, customerID, domain.PermLocationWrite)
	if err != nil {
		return err
	}
	now := s.now()
	err = s.store.InTx(ctx, func(tx *store.Tx) error {
		if err := lockAccount(ctx, tx, acct); err != nil {
			return err
		}
		err := tx.DeleteLocation(ctx, acct.OrgID, acct.ID, locationID)
		if store.IsNotFound(err) {
			return locationNotFound()
		}
		if err != nil {
			return err
		}
		return tx.AddAudit(ctx, domain.AuditEntry{OrgID: acct.OrgID, Actor: "user:" + p.User.ID, Action: "location.deleted",
			SubjectID: locationID, Data: map[string]any{"account_id": acct.ID}, CreatedAt: now})
	})
	if err != nil {
		return fmt.Errorf("delete location: %w", err)
	}
	return nil
}

// ---- deletion of a customer ----

// DeleteCustomer deletes the principal's whole customer account in one
// transaction: its users (with their sessions, acceptances, links and the
// personal data held about them), invitations, locations and the details of
// the audit entries about them. confirm must be the account's name. It
// writes an audit entry without personal data and queues, in the same
// transaction, a confirmation to the deleting administrator. Only account
// administrators may.
func (s *Service) DeleteCustomer(ctx context.Context, p Principal, customerID, confirm string) error {
	acct, err := s.adminAccount(ctx, p, AccountRef{Kind: domain.KindCustomer, ID: customerID})
	if err != nil {
		return err
	}
	if confirm == "" {
		return domain.Invalid(domain.FieldError{Field: "confirm", Message: "is required: the name of the account"})
	}
	if strings.TrimSpace(confirm) != acct.Name {
		return domain.Invalid(domain.FieldError{Field: "confirm", Message: "must be the name of the account, exactly"})
	}
	return s.deleteCustomer(ctx, p, acct)
}

// DeleteCustomerWithPassword is DeleteCustomer confirmed by the principal's
// current password instead of the account's name (checked as by
// ChangePassword: a wrong one is a 422 on current_password and counts as a
// failed sign-in).
func (s *Service) DeleteCustomerWithPassword(ctx context.Context, p Principal, customerID, password string) error {
	acct, err := s.adminAccount(ctx, p, AccountRef{Kind: domain.KindCustomer, ID: customerID})
	if err != nil {
		return err
	}
	if password == "" {
		return domain.Invalid(domain.FieldError{Field: "current_password", Message: "is required"})
	}
	if len(password) > 1024 {
		return domain.Invalid(domain.FieldError{Field: "current_password", Message: "is too long"})
	}
	if err := s.verifyCurrentPassword(ctx, p, password); err != nil {
		return err
	}
	return s.deleteCustomer(ctx, p, acct)
}

// deleteCustomer deletes acct, whose administrator p is, with an audit entry
// and the confirmation mail, in one transaction.
func (s *Service) deleteCustomer(ctx context.Context, p Principal, acct domain.Account) error {
	org, err := s.store.OrganizationByID(ctx, acct.OrgID)
	if err != nil {
		return err
	}
	m, err := s.QueueMail(org, p.User.Language, obmail.TemplateAccountDeleted, p.User.Email, obmail.AccountDeletedData{Organization: displayName(org)})
	if err != nil {
		return err
	}
	now := s.now()
	err = s.store.InTx(ctx, func(tx *store.Tx) error {
		if err := lockAccount(ctx, tx, acct); err != nil {
			return err
		}
		n, err := tx.PurgeAccount(ctx, acct.OrgID, acct.ID)
		if err != nil {
			return err
		}
		if err := tx.AddAudit(ctx, domain.AuditEntry{OrgID: acct.OrgID, Actor: "user:" + p.User.ID, Action: acct.Kind + ".deleted",
			SubjectID: acct.ID, Data: map[string]any{"kind": acct.Kind, "type": acct.Type, "origin": acct.Origin,
				"users": n.Users, "locations": n.Locations, "invitations": n.Invitations}, CreatedAt: now}); err != nil {
			return err
		}
		return tx.EnqueueMail(ctx, m, now)
	})
	if err != nil {
		return fmt.Errorf("delete customer: %w", err)
	}
	s.notify()
	return nil
}

// humanTTL writes a link lifetime for mail: "7 days" for whole days from two
// days on, as humanDuration otherwise.
func humanTTL(d time.Duration) string {
	const day = 24 * time.Hour
	if d >= 2*day && d%day == 0 {
		return plural(int(d/day), "day")
	}
	return HumanDuration(d)
}

// errLinkUsed tells a transaction that a link was consumed meanwhile.
var errLinkUsed = errors.New("link no longer pending")
