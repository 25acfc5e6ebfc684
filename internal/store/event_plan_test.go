package store

import (
	"context"
	"strings"
	"testing"

	"github.com/onboard-dev/onboard/internal/testutil/dbtest"
)

// TestEventRetentionUsesTheTimeIndex explains, on PostgreSQL, the
// retention's delete over 20,000 numbered events written over 60 days in
// the order they occurred, with a cutoff that keeps the newest nine
// tenths: the events to delete must be found through events_occurred (a
// BRIN index since 0029), not by reading the whole table.
func TestEventRetentionUsesTheTimeIndex(t *testing.T) {
	ctx := context.Background()
	st, err := Open(ctx, dbtest.Postgres(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	if _, err := st.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	conn, err := st.db.Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	for _, stmt := range []string{
		`INSERT INTO events (id, org_id, type, subject, body, occurred_at, seq)
			SELECT 'e' || lpad(i::text, 6, '0'), 'org', 'user.created', 'u' || i, repeat('x', 400),
				timestamptz '2026-01-01' + i * interval '259 seconds', i
			FROM generate_series(1, 20000) i`,
		`ANALYZE events, webhook_deliveries`,
	} {
		if _, err := conn.ExecContext(ctx, stmt); err != nil {
			t.Fatalf("%s: %v", stmt, err)
		}
	}
	rows, err := conn.QueryContext(ctx, `EXPLAIN (COSTS OFF) `+strings.Replace(deleteOldEvents, "$1", "timestamptz '2026-01-07'", 1))
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var plan []string
	for rows.Next() {
		var line string
		if err := rows.Scan(&line); err != nil {
			t.Fatal(err)
		}
		plan = append(plan, line)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	if text := strings.Join(plan, "\n"); !strings.Contains(text, "events_occurred") || strings.Contains(text, "Seq Scan on events") {
		t.Errorf("the retention's delete does not find its events through events_occurred:\n%s", text)
	}
}
