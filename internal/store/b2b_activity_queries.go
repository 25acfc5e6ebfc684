package store

import (
	"context"
	"fmt"
	"strings"

	"github.com/onboard-dev/onboard/internal/domain"
)

// Queries of end-user activity reported on the message bus, which names
// end users without an organization.

// EndUserByIDAnyOrg returns the end user with that id, in whichever
// organization it is.
func (q Queries) EndUserByIDAnyOrg(ctx context.Context, id string) (domain.EndUser, error) {
	u, err := scanEndUser(q.q.QueryRowContext(ctx, `SELECT `+endUserColumns+endUserFrom+`WHERE e.id = $1`, id))
	if err != nil {
		return u, fmt.Errorf("end user %s: %w", id, err)
	}
	return u, nil
}

// EndUserByLabelpartnerEmail returns the end user with that address
// provisioned under the labelpartner of that name (labelpartner names are
// unique across organizations, addresses within one).
func (q Queries) EndUserByLabelpartnerEmail(ctx context.Context, labelpartner, email string) (domain.EndUser, error) {
	u, err := scanEndUser(q.q.QueryRowContext(ctx, `SELECT `+endUserColumns+endUserFrom+`WHERE l.name = $1 AND e.email_lower = $2`,
		labelpartner, strings.ToLower(strings.TrimSpace(email))))
	if err != nil {
		return u, fmt.Errorf("end user by labelpartner and email: %w", err)
	}
	return u, nil
}
