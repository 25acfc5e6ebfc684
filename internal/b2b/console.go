package b2b

import (
	"context"
	"fmt"

	"github.com/onboard-dev/onboard/internal/domain"
	"github.com/onboard-dev/onboard/internal/flows"
	"github.com/onboard-dev/onboard/internal/store"
)

// Reads of the back-office console: one labelpartner, and the end users of
// an organization with their history.

// Labelpartner returns a labelpartner of the organization; one of another
// organization is not found, exactly like a missing one.
func (s *Service) Labelpartner(ctx context.Context, org domain.Organization, id string) (domain.Labelpartner, error) {
	if !flows.ValidID(id) {
		return domain.Labelpartner{}, labelpartnerNotFound()
	}
	lp, err := s.store.LabelpartnerByID(ctx, id)
	if store.IsNotFound(err) || (err == nil && lp.OrgID != org.ID) {
		return domain.Labelpartner{}, labelpartnerNotFound()
	}
	return lp, err
}

// EndUserStates are the states of an end user, in their order.
var EndUserStates = []string{domain.EndUserProvisioned, domain.EndUserRegistered, domain.EndUserActive}

// SearchEndUsers lists the organization's end users matching the search
// (the start of the address or a part of the name, and the state), in id
// order, a page at a time (keyset: After is the last id of the page
// before). It returns at most Limit end users (1 to 200, default 50).
func (s *Service) SearchEndUsers(ctx context.Context, org domain.Organization, q store.EndUserSearch) ([]domain.EndUser, error) {
	if q.Limit <= 0 || q.Limit > 200 {
		q.Limit = 50
	}
	if q.State != "" && !containsString(EndUserStates, q.State) {
		return nil, domain.Invalid(domain.FieldError{Field: "state", Message: "must be provisioned, registered or active"})
	}
	if q.After != "" && !flows.ValidID(q.After) {
		q.After = ""
	}
	if len(q.Query) > 200 {
		return nil, domain.Invalid(domain.FieldError{Field: "q", Message: "must be at most 200 characters"})
	}
	us, err := s.store.SearchEndUsers(ctx, org.ID, q)
	if err != nil {
		return nil, fmt.Errorf("search end users: %w", err)
	}
	return us, nil
}

// EndUserHistory returns an end user of the organization and the audit
// entries about it, oldest first.
func (s *Service) EndUserHistory(ctx context.Context, org domain.Organization, id string) (domain.EndUser, []domain.AuditEntry, error) {
	if !flows.ValidID(id) {
		return domain.EndUser{}, nil, endUserNotFound()
	}
	u, err := s.store.EndUserByID(ctx, org.ID, id)
	if store.IsNotFound(err) {
		return u, nil, endUserNotFound()
	}
	if err != nil {
		return u, nil, err
	}
	entries, err := s.store.AuditAboutUser(ctx, org.ID, id)
	if err != nil {
		return u, nil, err
	}
	return u, entries, nil
}
