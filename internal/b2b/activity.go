package b2b

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/onboard-dev/onboard/internal/domain"
	"github.com/onboard-dev/onboard/internal/store"
)

// BusActivity is a first measurement reported on the message bus. The end
// user is named by EndUserID or, when that is empty, by Labelpartner and
// Email (labelpartner names are unique across organizations).
type BusActivity struct {
	// Subject is the subject the message arrived on; the audit log names
	// the actor "nats:<subject>".
	Subject               string
	EndUserID             string
	Labelpartner          string
	Email                 string
	MeasurementReceivedAt time.Time
}

// RecordActivityFromBus records a first measurement reported on the message
// bus. The bus is trusted and internal, so no client's labelpartners are
// checked; otherwise the rules are those of RecordActivity: a registered end
// user becomes active, an active one stays as it is (idempotent, no second
// audit entry), a provisioned one is a conflict (end-user-not-registered),
// an unknown one is not found, and a measurement time more than 5 minutes in
// the future is invalid.
func (s *Service) RecordActivityFromBus(ctx context.Context, a BusActivity) (domain.EndUser, error) {
	u, err := s.busEndUser(ctx, a)
	if err != nil {
		return u, err
	}
	actor := "nats:" + a.Subject
	got, err := s.activate(ctx, u, a.MeasurementReceivedAt, actor)
	if e := domain.AsError(err); e != nil && e.Slug == "end-user-state-changed" {
		// Another node activated it meanwhile: look again, once.
		if u, err = s.store.EndUserByID(ctx, u.OrgID, u.ID); err != nil {
			return u, fmt.Errorf("bus activity: %w", err)
		}
		got, err = s.activate(ctx, u, a.MeasurementReceivedAt, actor)
	}
	return got, err
}

// busEndUser finds the end user a bus message names.
func (s *Service) busEndUser(ctx context.Context, a BusActivity) (domain.EndUser, error) {
	id := strings.TrimSpace(a.EndUserID)
	lp, email := strings.TrimSpace(a.Labelpartner), strings.TrimSpace(a.Email)
	var u domain.EndUser
	var err error
	switch {
	case id != "":
		if len(id) > 64 {
			return domain.EndUser{}, endUserNotFound()
		}
		u, err = s.store.EndUserByIDAnyOrg(ctx, id)
	case lp != "" && email != "":
		if len(lp) > 255 || len(email) > 320 {
			return domain.EndUser{}, endUserNotFound()
		}
		u, err = s.store.EndUserByLabelpartnerEmail(ctx, lp, email)
	default:
		return domain.EndUser{}, domain.Invalid(domain.FieldError{Field: "end_user_id",
			Message: "is required, or labelpartner and email"})
	}
	if store.IsNotFound(err) {
		return domain.EndUser{}, endUserNotFound()
	}
	if err != nil {
		return domain.EndUser{}, fmt.Errorf("bus activity: %w", err)
	}
	return u, nil
}
