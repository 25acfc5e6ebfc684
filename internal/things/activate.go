package things

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/onboard-dev/onboard/internal/domain"
	"github.com/onboard-dev/onboard/internal/flows"
	"github.com/onboard-dev/onboard/internal/ratelimit"
	"github.com/onboard-dev/onboard/internal/store"
)

// customerWith returns the principal's own customer when the principal
// holds perm: another account, existing or not, is a 404, a missing
// permission a 403.
func (s *Service) customerWith(ctx context.Context, p flows.Principal, customerID, perm string) (domain.Account, error) {
	if customerID == "" || customerID != p.User.AccountID {
		return domain.Account{}, accountNotFound()
	}
	acct, err := s.store.AccountByID(ctx, p.User.OrgID, customerID)
	if store.IsNotFound(err) || (err == nil && acct.Kind != domain.KindCustomer) {
		return acct, accountNotFound()
	}
	if err != nil {
		return acct, err
	}
	if !p.Can(perm) {
		return acct, domain.Errorf(domain.EForbidden, "permission-denied", "Your user type does not have the permission %s.", perm)
	}
	return acct, nil
}

// Activation is a customer user's request to activate a product.
type Activation struct {
	SerialNumber    string
	ConnectionToken string
	Name            string // optional name of the thing
	// LocationID names one of the customer's locations; or, when it is
	// empty, NewLocation names a location created in the same step.
	LocationID  string
	NewLocation string
}

// Activate activates a product of the organization into a location of the
// principal's customer (permission things.activate; creating a new
// location in the same step also needs location.write). The product must
// exist and be unassigned, and when it has a connection token the same
// token must be given. An unknown serial number, another customer's
// product and a wrong or missing token answer alike (NotActivatable),
// after the same work, and count as wrong tries for the user and for the
// serial number; while either limit is spent, activation is refused.
// Of concurrent activations of one product exactly one succeeds.
func (s *Service) Activate(ctx context.Context, p flows.Principal, customerID string, in Activation) (domain.Product, error) {
	acct, err := s.customerWith(ctx, p, customerID, domain.PermThingsActivate)
	if err != nil {
		return domain.Product{}, err
	}
	var fields []domain.FieldError
	sn, fe := checkSerial("serial_number", in.SerialNumber)
	if fe != nil {
		fields = append(fields, *fe)
	}
	if fe := checkToken("connection_token", in.ConnectionToken); fe != nil {
		fields = append(fields, *fe)
	}
	name, fe := checkText("name", in.Name, false, maxName)
	if fe != nil {
		fields = append(fields, *fe)
	}
	var newLoc string
	switch {
	case in.LocationID != "" && strings.TrimSpace(in.NewLocation) != "":
		fields = append(fields, domain.FieldError{Field: "new_location", Message: "must not be given with location_id"})
	case in.LocationID == "":
		if newLoc, fe = checkText("new_location", in.NewLocation, true, maxName); fe != nil {
			if strings.TrimSpace(in.NewLocation) == "" {
				fe.Message = "is required when no location_id is given"
			}
			fields = append(fields, *fe)
		}
	}
	if len(fields) > 0 {
		return domain.Product{}, domain.Invalid(fields...)
	}
	if newLoc != "" && !p.Can(domain.PermLocationWrite) {
		return domain.Product{}, domain.Errorf(domain.EForbidden, "permission-denied",
			"Your user type does not have the permission %s.", domain.PermLocationWrite)
	}
	if in.LocationID != "" {
		locs, err := s.store.LocationsByAccount(ctx, acct.OrgID, acct.ID)
		if err != nil {
			return domain.Product{}, err
		}
		if !slices.ContainsFunc(locs, func(l domain.Location) bool { return l.ID == in.LocationID }) {
			return domain.Product{}, locationNotFound()
		}
	}

	userKey := "things:activate:user:" + p.User.ID
	serialKey := "things:activate:serial:" + acct.OrgID + ":" + sn
	if err := s.peek(ctx, userKey, serialKey); err != nil {
		return domain.Product{}, err
	}
	// The same work whatever the outcome: one lookup, one hash, one
	// constant-time comparison.
	prod, err := s.store.ProductBySerial(ctx, acct.OrgID, sn)
	var found *domain.Product
	switch {
	case err == nil:
		found = &prod
	case !store.IsNotFound(err):
		return domain.Product{}, err
	}
	match := tokenMatches(acct.OrgID, sn, in.ConnectionToken, found)
	if match && found.State == domain.ProductActive && found.AccountID == acct.ID {
		return domain.Product{}, domain.Errorf(domain.EConflict, "thing-already-activated",
			"This product is already one of the customer's things.")
	}
	if !match || found.State != domain.ProductUnassigned {
		return domain.Product{}, s.wrongTry(ctx, userKey, serialKey)
	}

	now := s.now()
	out := *found
	out.State, out.ThingID, out.AccountID, out.Name, out.ActivatedAt, out.UpdatedAt =
		domain.ProductActive, store.NewID(), acct.ID, name, &now, now
	err = s.store.InTx(ctx, func(tx *store.Tx) error {
		if _, err := tx.LockAccount(ctx, acct.OrgID, acct.ID); err != nil {
			if store.IsNotFound(err) {
				return accountNotFound()
			}
			return err
		}
		locs, err := tx.LocationsByAccount(ctx, acct.OrgID, acct.ID)
		if err != nil {
			return err
		}
		out.LocationID = in.LocationID
		if newLoc != "" {
			if slices.ContainsFunc(locs, func(l domain.Location) bool { return strings.EqualFold(l.Name, newLoc) }) {
				return domain.Errorf(domain.EConflict, "location-name-taken", "The customer already has a location named %q.", newLoc)
			}
			loc := domain.Location{ID: store.NewID(), OrgID: acct.OrgID, AccountID: acct.ID, Name: newLoc, CreatedAt: now}
			if err := tx.CreateLocation(ctx, loc); err != nil {
				return err
			}
			if err := tx.AddAudit(ctx, domain.AuditEntry{OrgID: acct.OrgID, Actor: "user:" + p.User.ID, Action: "location.created",
				SubjectID: loc.ID, Data: map[string]any{"account_id": acct.ID, "name": newLoc}, CreatedAt: now}); err != nil {
				return err
			}
			out.LocationID = loc.ID
		} else if !slices.ContainsFunc(locs, func(l domain.Location) bool { return l.ID == in.LocationID }) {
			return locationNotFound() // deleted meanwhile
		}
		ok, err := tx.ActivateProduct(ctx, acct.OrgID, out.ID, acct.ID, out.LocationID, out.ThingID, name, now)
		if err != nil {
			return err
		}
		if !ok {
			return errLostRace
		}
		return tx.AddAudit(ctx, domain.AuditEntry{OrgID: acct.OrgID, Actor: "user:" + p.User.ID, Action: "thing.activated",
			SubjectID: out.ID, Data: map[string]any{"account_id": acct.ID, "thing_id": out.ThingID, "serial_number": sn,
				"location_id": out.LocationID}, CreatedAt: now})
	})
	if errors.Is(err, errLostRace) {
		// Another customer activated it between the check and the change.
		return domain.Product{}, s.wrongTry(ctx, userKey, serialKey)
	}
	if err != nil {
		return domain.Product{}, fmt.Errorf("activate: %w", err)
	}
	return out, nil
}

// errLostRace tells Activate's transaction that another activation took
// the product between the check and the change.
var errLostRace = errors.New("product no longer unassigned")

// peek refuses an activation while the user's or the serial number's wrong
// tries are spent.
func (s *Service) peek(ctx context.Context, userKey, serialKey string) error {
	for _, c := range []struct {
		key  string
		rule ratelimit.Rule
	}{{userKey, s.cfg.Limits.FailuresPerUser}, {serialKey, s.cfg.Limits.FailuresPerSerial}} {
		if c.rule.Limit <= 0 {
			continue
		}
		d, err := s.limiter.Peek(ctx, c.key, c.rule)
		if err != nil {
			return fmt.Errorf("rate limit: %w", err)
		}
		if !d.Allowed {
			return &domain.Error{Code: domain.ERateLimited, Slug: "rate-limited",
				Detail: "Too many attempts. Try again later.", RetryAfter: d.RetryAfter}
		}
	}
	return nil
}

// wrongTry counts a failed activation for the user and the serial number
// and returns the one answer of failed activations.
func (s *Service) wrongTry(ctx context.Context, userKey, serialKey string) error {
	if r := s.cfg.Limits.FailuresPerUser; r.Limit > 0 {
		if _, err := s.limiter.Allow(ctx, userKey, r); err != nil {
			return fmt.Errorf("rate limit: %w", err)
		}
	}
	if r := s.cfg.Limits.FailuresPerSerial; r.Limit > 0 {
		if _, err := s.limiter.Allow(ctx, serialKey, r); err != nil {
			return fmt.Errorf("rate limit: %w", err)
		}
	}
	return NotActivatable()
}
