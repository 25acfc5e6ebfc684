package backoffice

import (
	"context"

	"github.com/onboard-dev/onboard/internal/domain"
	"github.com/onboard-dev/onboard/internal/store"
)

// ActorNames names the actors of audit entries shown together (a page of
// the audit log, the latest entries about an account or user) in one
// query: back-office users by email, admin keys by label, B2B clients by
// name, users by name and email, B2B end users by email (else external
// id), installation codes by platform and bound account. Other actors are
// missing from the map.
func (s *Service) ActorNames(ctx context.Context, org domain.Organization, entries []domain.AuditEntry) (map[string]store.ActorName, error) {
	actors := make([]string, 0, len(entries))
	for _, e := range entries {
		actors = append(actors, e.Actor)
	}
	return s.store.ActorNames(ctx, org.ID, actors)
}
