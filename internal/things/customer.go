package things

import (
	"context"
	"fmt"
	"slices"

	"github.com/onboard-dev/onboard/internal/domain"
	"github.com/onboard-dev/onboard/internal/flows"
	"github.com/onboard-dev/onboard/internal/store"
)

// Things lists the things of the principal's customer, only those in
// locationID when it is not empty (permission things.read).
func (s *Service) Things(ctx context.Context, p flows.Principal, customerID, locationID string) ([]domain.Product, error) {
	acct, err := s.customerWith(ctx, p, customerID, domain.PermThingsRead)
	if err != nil {
		return nil, err
	}
	if locationID != "" {
		if err := s.ownLocation(ctx, acct, locationID); err != nil {
			return nil, err
		}
	}
	return s.store.ThingsByAccount(ctx, acct.OrgID, acct.ID, locationID)
}

// Thing returns one thing of the principal's customer (permission
// things.read).
func (s *Service) Thing(ctx context.Context, p flows.Principal, customerID, thingID string) (domain.Product, error) {
	acct, err := s.customerWith(ctx, p, customerID, domain.PermThingsRead)
	if err != nil {
		return domain.Product{}, err
	}
	t, err := s.store.ThingByID(ctx, acct.OrgID, acct.ID, thingID)
	if store.IsNotFound(err) {
		return t, thingNotFound()
	}
	return t, err
}

func (s *Service) ownLocation(ctx context.Context, acct domain.Account, locationID string) error {
	locs, err := s.store.LocationsByAccount(ctx, acct.OrgID, acct.ID)
	if err != nil {
		return err
	}
	if !slices.ContainsFunc(locs, func(l domain.Location) bool { return l.ID == locationID }) {
		return locationNotFound()
	}
	return nil
}

// ThingPatch changes a thing; nil fields stay as they are.
type ThingPatch struct {
	Name       *string // "" removes the name
	LocationID *string // one of the customer's locations
}

// UpdateThing renames a thing of the principal's customer or moves it to
// another of the customer's locations (permission things.write).
func (s *Service) UpdateThing(ctx context.Context, p flows.Principal, customerID, thingID string, patch ThingPatch) (domain.Product, error) {
	acct, err := s.customerWith(ctx, p, customerID, domain.PermThingsWrite)
	if err != nil {
		return domain.Product{}, err
	}
	var fields []domain.FieldError
	var name string
	if patch.Name != nil {
		var fe *domain.FieldError
		if name, fe = checkText("name", *patch.Name, false, maxName); fe != nil {
			fields = append(fields, *fe)
		}
	}
	if patch.LocationID != nil && *patch.LocationID == "" {
		fields = append(fields, domain.FieldError{Field: "location_id", Message: "must name a location"})
	}
	if len(fields) > 0 {
		return domain.Product{}, domain.Invalid(fields...)
	}
	now := s.now()
	var out domain.Product
	err = s.store.InTx(ctx, func(tx *store.Tx) error {
		if _, err := tx.LockAccount(ctx, acct.OrgID, acct.ID); err != nil {
			if store.IsNotFound(err) {
				return accountNotFound()
			}
			return err
		}
		t, err := tx.ThingByID(ctx, acct.OrgID, acct.ID, thingID)
		if store.IsNotFound(err) {
			return thingNotFound()
		}
		if err != nil {
			return err
		}
		before := t
		if patch.Name != nil {
			t.Name = name
		}
		if patch.LocationID != nil {
			locs, err := tx.LocationsByAccount(ctx, acct.OrgID, acct.ID)
			if err != nil {
				return err
			}
			if !slices.ContainsFunc(locs, func(l domain.Location) bool { return l.ID == *patch.LocationID }) {
				return domain.Invalid(domain.FieldError{Field: "location_id", Message: "is not a location of the customer"})
			}
			t.LocationID = *patch.LocationID
		}
		out = t
		if t.Name == before.Name && t.LocationID == before.LocationID {
			return nil
		}
		if err := tx.UpdateThing(ctx, acct.OrgID, acct.ID, thingID, t.Name, t.LocationID, now); err != nil {
			return err
		}
		out.UpdatedAt = now
		data := map[string]any{"account_id": acct.ID, "thing_id": thingID}
		if t.Name != before.Name {
			data["name"] = map[string]any{"from": before.Name, "to": t.Name}
		}
		if t.LocationID != before.LocationID {
			data["location_id"] = map[string]any{"from": before.LocationID, "to": t.LocationID}
		}
		return tx.AddAudit(ctx, domain.AuditEntry{OrgID: acct.OrgID, Actor: "user:" + p.User.ID, Action: "thing.updated",
			SubjectID: t.ID, Data: data, CreatedAt: now})
	})
	if err != nil {
		return domain.Product{}, fmt.Errorf("update thing: %w", err)
	}
	return out, nil
}

// ReleaseThing gives a thing of the principal's customer up: its product is
// UNASSIGNED again, ready to be activated by anyone who has it (permission
// things.write).
func (s *Service) ReleaseThing(ctx context.Context, p flows.Principal, customerID, thingID string) error {
	acct, err := s.customerWith(ctx, p, customerID, domain.PermThingsWrite)
	if err != nil {
		return err
	}
	now := s.now()
	err = s.store.InTx(ctx, func(tx *store.Tx) error {
		t, err := tx.ThingByID(ctx, acct.OrgID, acct.ID, thingID)
		if store.IsNotFound(err) {
			return thingNotFound()
		}
		if err != nil {
			return err
		}
		if _, err := tx.ReleaseProduct(ctx, acct.OrgID, t.ID, now); err != nil {
			return err
		}
		return tx.AddAudit(ctx, domain.AuditEntry{OrgID: acct.OrgID, Actor: "user:" + p.User.ID, Action: "thing.released",
			SubjectID: t.ID, Data: map[string]any{"account_id": acct.ID, "thing_id": thingID, "serial_number": t.SerialNumber}, CreatedAt: now})
	})
	if err != nil {
		return fmt.Errorf("release thing: %w", err)
	}
	return nil
}

// Locations lists the locations of the principal's customer, for choosing
// where a thing goes (permission things.read or things.activate).
func (s *Service) Locations(ctx context.Context, p flows.Principal, customerID string) ([]domain.Location, error) {
	perm := domain.PermThingsRead
	if !p.Can(perm) {
		perm = domain.PermThingsActivate
	}
	acct, err := s.customerWith(ctx, p, customerID, perm)
	if err != nil {
		return nil, err
	}
	return s.store.LocationsByAccount(ctx, acct.OrgID, acct.ID)
}
