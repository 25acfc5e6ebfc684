package flows

import (
	"context"
	"fmt"
	"regexp"

	"github.com/onboard-dev/onboard/internal/domain"
)

// Limits of an audit log query.
const (
	DefaultAuditLimit = 100
	MaxAuditLimit     = 500
)

var actionPrefixPattern = regexp.MustCompile(`^[a-z0-9_.]{0,100}$`)

// AuditLog lists an organization's newest audit entries, newest first, at
// most limit (1 to 500) of them, optionally only those whose action starts
// with actionPrefix (such as "property." or "user_type.updated").
func (s *Service) AuditLog(ctx context.Context, org domain.Organization, actionPrefix string, limit int) ([]domain.AuditEntry, error) {
	var f fieldErrors
	if !actionPrefixPattern.MatchString(actionPrefix) {
		f.add("action", "must be at most 100 lowercase letters, digits, '_' and '.', such as property.")
	}
	if limit < 1 || limit > MaxAuditLimit {
		f.add("limit", fmt.Sprintf("must be between 1 and %d", MaxAuditLimit))
	}
	if err := f.err(); err != nil {
		return nil, err
	}
	return s.store.AuditByActionPrefix(ctx, org.ID, actionPrefix, limit)
}
