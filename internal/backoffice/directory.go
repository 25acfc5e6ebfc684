package backoffice

import (
	"context"
	"errors"
	"fmt"
	"slices"

	"github.com/onboard-dev/onboard/internal/domain"
	"github.com/onboard-dev/onboard/internal/store"
)

// The console's directory of an organization's customers, partners and
// their users, and its audit log: keyset-paged lists (see store.Page) and
// detail pages. The organization passed in is one the principal may manage
// (see Organization); these only read.

// DirectoryPageSize is how many rows a page of the directory or the audit
// log shows.
const DirectoryPageSize = 25

// aboutLimit is how many audit entries a detail page shows.
const aboutLimit = 20

// DirectoryKinds are the kinds of accounts the directory lists.
var DirectoryKinds = []string{domain.KindCustomer, domain.KindPartner, domain.KindDataRecipient}

func badCursor() error {
	return domain.Invalid(domain.FieldError{Field: "cursor", Message: "is not a position in this list"})
}

func cursor(s string) (store.Cursor, error) {
	c, err := store.DecodeCursor(s)
	if err != nil {
		return c, badCursor()
	}
	return c, nil
}

func pageErr[T any](p store.Page[T], err error) (store.Page[T], error) {
	if errors.Is(err, store.ErrBadCursor) {
		return p, badCursor()
	}
	return p, err
}

// Accounts is a page of the organization's accounts of a kind by name;
// search keeps those whose name or a user's email address contains it.
func (s *Service) Accounts(ctx context.Context, org domain.Organization, kind, search, cur string) (store.Page[store.DirectoryAccount], error) {
	if !slices.Contains(DirectoryKinds, kind) {
		return store.Page[store.DirectoryAccount]{}, domain.Errorf(domain.ENotFound, "not-found", "There is no such list.")
	}
	c, err := cursor(cur)
	if err != nil {
		return store.Page[store.DirectoryAccount]{}, err
	}
	return pageErr(s.store.DirectoryAccounts(ctx, org.ID, kind, search, c, DirectoryPageSize))
}

// Users is a page of the organization's users by email address; search
// keeps those whose email address or name contains it.
func (s *Service) Users(ctx context.Context, org domain.Organization, search, cur string) (store.Page[store.DirectoryUser], error) {
	c, err := cursor(cur)
	if err != nil {
		return store.Page[store.DirectoryUser]{}, err
	}
	return pageErr(s.store.DirectoryUsers(ctx, org.ID, search, c, DirectoryPageSize))
}

// AccountDetail is what the console shows of one account.
type AccountDetail struct {
	Account   domain.Account
	Locations []domain.Location
	Users     []store.DirectoryUser
	Counts    store.AccountThingCounts
	// Audit are the newest entries about the account or its users.
	Audit []domain.AuditEntry
}

func notFound() error { return domain.Errorf(domain.ENotFound, "not-found", "There is no such page.") }

// Account returns an account of the organization with its locations,
// users, things and devices counts and latest audit entries.
func (s *Service) Account(ctx context.Context, org domain.Organization, id string) (AccountDetail, error) {
	var d AccountDetail
	var err error
	if d.Account, err = s.store.AccountByID(ctx, org.ID, id); store.IsNotFound(err) {
		return d, notFound()
	} else if err != nil {
		return d, err
	}
	if d.Locations, err = s.store.LocationsByAccount(ctx, org.ID, id); err != nil {
		return d, fmt.Errorf("account detail: %w", err)
	}
	if d.Users, err = s.store.DirectoryUsersOfAccount(ctx, org.ID, id); err != nil {
		return d, fmt.Errorf("account detail: %w", err)
	}
	if d.Counts, err = s.store.ThingCounts(ctx, org.ID, id); err != nil {
		return d, fmt.Errorf("account detail: %w", err)
	}
	if d.Audit, err = s.store.AuditAboutAccount(ctx, org.ID, id, aboutLimit); err != nil {
		return d, fmt.Errorf("account detail: %w", err)
	}
	return d, nil
}

// UserDetail is what the console shows of one user.
type UserDetail struct {
	User store.DirectoryUser
	// Audit are the newest entries about the user or by them.
	Audit []domain.AuditEntry
}

// User returns a user of the organization with its account, user type and
// latest audit entries.
func (s *Service) User(ctx context.Context, org domain.Organization, id string) (UserDetail, error) {
	var d UserDetail
	var err error
	if d.User, err = s.store.DirectoryUser(ctx, org.ID, id); store.IsNotFound(err) {
		return d, notFound()
	} else if err != nil {
		return d, err
	}
	all, err := s.store.AuditAboutUser(ctx, org.ID, id)
	if err != nil {
		return d, fmt.Errorf("user detail: %w", err)
	}
	slices.Reverse(all) // newest first
	d.Audit = all[:min(len(all), aboutLimit)]
	return d, nil
}

// AuditLog is a page of the organization's audit log, newest first.
func (s *Service) AuditLog(ctx context.Context, org domain.Organization, f store.AuditFilter, cur string) (store.Page[domain.AuditEntry], error) {
	c, err := cursor(cur)
	if err != nil {
		return store.Page[domain.AuditEntry]{}, err
	}
	return pageErr(s.store.AuditPage(ctx, org.ID, f, c, DirectoryPageSize))
}
