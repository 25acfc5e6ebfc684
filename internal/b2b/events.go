package b2b

import (
	"context"
	"time"

	"github.com/onboard-dev/onboard/internal/domain"
	"github.com/onboard-dev/onboard/internal/events"
	"github.com/onboard-dev/onboard/internal/store"
)

// emitEndUser writes end_user.<state> about u in tx, the transaction of
// the change (see internal/events).
func emitEndUser(ctx context.Context, tx *store.Tx, u domain.EndUser, state string, at time.Time) error {
	org, err := tx.OrganizationByID(ctx, u.OrgID)
	if err != nil {
		return err
	}
	_, err = events.Emit(ctx, tx, org, at, u.ID, events.EndUserEvent(state, u.ID, u.Labelpartner, u.Email))
	return err
}
