package store

import (
	"strings"
	"testing"
)

// TestAddressLookupsUseTheIndex explains, on PostgreSQL, the generic plans
// (those a prepared statement keeps after five executions) of the
// statements that look a batch's addresses up, made while the statistics
// of their tables are stale: analyzed empty, then grown to thousands of
// rows of one organization. Each address must be an index condition: a plan
// that reads the organization's rows by index and filters them against the
// addresses compares every row of the organization with every address of
// every batch.
func TestAddressLookupsUseTheIndex(t *testing.T) {
	conn := planConn(t,
		`ANALYZE signups, users`,
		// The rows only: no organization, account or user type to refer to.
		`SET session_replication_role = replica`,
		`INSERT INTO signups (`+signupColumns+`)
			SELECT 's' || i, 'org', 'u' || i || '@example.com', 'u' || i || '@example.com', 'customer_personal',
				decode(md5(i::text), 'hex'), 'pending', now(), now() + interval '1 day', 'en', ''
			FROM generate_series(1, 5000) i`,
		`INSERT INTO users (id, org_id, account_id, user_type_id, email, email_lower, first_name, last_name, status, created_at, updated_at)
			SELECT 'u' || i, 'org', 'a' || i, 't', 'u' || i || '@example.com', 'u' || i || '@example.com', 'F', 'L', 'active', now(), now()
			FROM generate_series(1, 5000) i`,
		`RESET session_replication_role`,
		`SET plan_cache_mode = force_generic_plan`,
	)
	for _, tc := range []struct {
		name, types, query, args string
	}{
		{"EmailsRegistered", "text, text[]", pgEmailsRegistered, `'org', '{u1@example.com,new@example.com}'`},
		{"SupersedePendingSignupsOf", "text, text, text[], text", pgSupersedePendingSignupsOf,
			`'superseded', 'org', '{u1@example.com,new@example.com}', 'pending'`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			plan := explainPrepared(t, conn, tc.name, tc.types, tc.query, tc.args)
			keyed, filtered := false, false
			for _, line := range plan {
				line = strings.TrimSpace(line)
				keyed = keyed || strings.HasPrefix(line, "Index Cond:") && strings.Contains(line, "email_lower")
				filtered = filtered || strings.HasPrefix(line, "Filter:") && strings.Contains(line, "email_lower")
			}
			if !keyed || filtered {
				t.Fatalf("generic plan does not look the addresses up by index:\n%s", strings.Join(plan, "\n"))
			}
		})
	}
}
