package store

import (
	"context"
	"fmt"
)

// AcceptanceCounts returns how many users accepted each version of the
// organization's agreements, by agreement (version) id; versions nobody
// accepted are absent.
func (q Queries) AcceptanceCounts(ctx context.Context, orgID string) (map[string]int, error) {
	rows, err := q.q.QueryContext(ctx, `SELECT c.agreement_id, COUNT(*) FROM agreements a
		JOIN agreement_acceptances c ON c.agreement_id = a.id
		WHERE a.org_id = $1 GROUP BY c.agreement_id`, orgID)
	if err != nil {
		return nil, fmt.Errorf("acceptance counts: %w", err)
	}
	defer rows.Close()
	out := map[string]int{}
	for rows.Next() {
		var id string
		var n int
		if err := rows.Scan(&id, &n); err != nil {
			return nil, fmt.Errorf("acceptance counts: %w", err)
		}
		out[id] = n
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("acceptance counts: %w", err)
	}
	return out, nil
}
