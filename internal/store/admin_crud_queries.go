package store

import (
	"context"
	"fmt"
	"strings"

	"github.com/onboard-dev/onboard/internal/domain"
)

// Queries of the admin API's configuration endpoints that admin_queries.go
// does not have: the list of organizations and the audit log by an exact
// action prefix.

// Organizations lists every organization by name.
func (q Queries) Organizations(ctx context.Context) ([]domain.Organization, error) {
	rows, err := q.q.QueryContext(ctx, `SELECT `+orgColumns+` FROM organizations ORDER BY name`)
	if err != nil {
		return nil, fmt.Errorf("organizations: %w", err)
	}
	defer rows.Close()
	var out []domain.Organization
	for rows.Next() {
		o, err := q.scanOrg(rows)
		if err != nil {
			return nil, fmt.Errorf("organizations: %w", err)
		}
		out = append(out, o)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("organizations: %w", err)
	}
	return out, nil
}

// likeEscaper escapes the LIKE wildcards (and the escape character itself),
// so that a prefix matches literally.
var likeEscaper = strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`)

// AuditByActionPrefix lists the organization's newest audit entries whose
// action starts with prefix, taken literally ("user_type." does not match
// "userXtype."), at most limit of them, newest first.
func (q Queries) AuditByActionPrefix(ctx context.Context, orgID, prefix string, limit int) ([]domain.AuditEntry, error) {
	out, err := q.auditEntries(ctx, `SELECT id, org_id, actor, action, subject_id, data, created_at FROM audit_log
		WHERE org_id = $1 AND action LIKE $2 ESCAPE '\' ORDER BY created_at DESC, id DESC LIMIT $3`,
		orgID, likeEscaper.Replace(prefix)+"%", limit)
	if err != nil {
		return nil, fmt.Errorf("audit entries: %w", err)
	}
	return out, nil
}
