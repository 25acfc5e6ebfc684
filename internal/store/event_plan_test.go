package store

import (
	"context"
	"database/sql"
	"strings"
	"testing"

	"github.com/onboard-dev/onboard/internal/testutil/dbtest"
)

// planConn returns a connection to a migrated PostgreSQL schema of the
// test's own, for the tests that explain plans (settings and prepared
// statements stay on one connection), after running setup on it; it is
// closed when the test ends.
func planConn(t *testing.T, setup ...string) *sql.Conn {
	t.Helper()
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
	t.Cleanup(func() { conn.Close() })
	for _, stmt := range setup {
		if _, err := conn.ExecContext(ctx, stmt); err != nil {
			t.Fatalf("%s: %v", stmt, err)
		}
	}
	return conn
}

// explainPrepared prepares query as name (with its parameters' types) on
// conn and returns the plan of its execution with args.
func explainPrepared(t *testing.T, conn *sql.Conn, name, types, query, args string) []string {
	t.Helper()
	name = strings.ToLower(name)
	if _, err := conn.ExecContext(context.Background(), `PREPARE `+name+`(`+types+`) AS `+query); err != nil {
		t.Fatalf("prepare %s: %v", name, err)
	}
	return dbtest.Explain(t, conn, `EXECUTE `+name+`(`+args+`)`)
}

// TestEventRetentionUsesTheTimeIndex explains, on PostgreSQL, the
// retention's delete over 20,000 numbered events written over 60 days in
// the order they occurred, with a cutoff that keeps the newest nine
// tenths: the events to delete must be found through events_occurred (a
// BRIN index since 0029), not by reading the whole table.
func TestEventRetentionUsesTheTimeIndex(t *testing.T) {
	conn := planConn(t,
		`INSERT INTO events (id, org_id, type, subject, body, occurred_at, seq)
			SELECT 'e' || lpad(i::text, 6, '0'), 'org', 'user.created', 'u' || i, repeat('x', 400),
				timestamptz '2026-01-01' + i * interval '259 seconds', i
			FROM generate_series(1, 20000) i`,
		`ANALYZE events, webhook_deliveries`,
	)
	plan := dbtest.Explain(t, conn, strings.Replace(deleteOldEvents, "$1", "timestamptz '2026-01-07'", 1))
	if text := strings.Join(plan, "\n"); !strings.Contains(text, "events_occurred") || strings.Contains(text, "Seq Scan on events") {
		t.Errorf("the retention's delete does not find its events through events_occurred:\n%s", text)
	}
}

// TestDispatchPlansUseKeys explains, on PostgreSQL, the generic plans (a
// dispatch's transaction forces them) of the statements every dispatch
// and every recording of deliveries runs, made while the statistics of
// their tables are stale: analyzed empty, then grown to 20,000 numbered
// events and as many delivered deliveries. None may read a whole table: a
// plan that does costs every dispatch more as events pile up.
func TestDispatchPlansUseKeys(t *testing.T) {
	conn := planConn(t,
		`ANALYZE events, webhook_deliveries, webhook_endpoints, event_sequence`,
		`SET session_replication_role = replica`,
		`INSERT INTO events (id, org_id, type, subject, body, occurred_at, seq)
			SELECT 'e' || lpad(i::text, 6, '0'), 'org', 'user.created', 'u' || i, repeat('x', 400),
				now(), CASE WHEN i <= 20000 THEN i END
			FROM generate_series(1, 20100) i`,
		`INSERT INTO webhook_endpoints (id, org_id, url, secret, created_at, updated_at)
			VALUES ('ep', 'org', 'https://hooks.example.com/', 'x', now(), now())`,
		`INSERT INTO webhook_deliveries (id, endpoint_id, org_id, event_id, seq, subject, state, next_attempt_at, created_at, delivered_at)
			SELECT 'd' || i, 'ep', 'org', 'e' || lpad(i::text, 6, '0'), i, 'u' || i, 'delivered', now(), now(), now()
			FROM generate_series(1, 20000) i`,
		`RESET session_replication_role`,
		`SET plan_cache_mode = force_generic_plan`,
	)
	for _, tc := range []struct {
		name, types, query, args string
	}{
		{"DispatchReads", "int", strings.Replace(pgDispatchReads, "BODY", "body", 1), `500`},
		{"NumberEvents", "text[], text[], text[], text[], bigint[], text[], timestamptz[], timestamptz[], timestamptz, bigint, int, text[], bigint",
			pgNumberEvents, `'{n1}', '{ep}', '{org}', '{e020001}', '{20001}', '{u20001}', ARRAY[now()], ARRAY[now()], now(), 20001, 0, '{e020001}', 20001`},
		{"MarkDelivered", "text[], int[], int[], text[], timestamptz[]", pgMarkDelivered, `'{d1}', '{204}', '{3}', '{""}', ARRAY[now()]`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			text := strings.Join(explainPrepared(t, conn, tc.name, tc.types, tc.query, tc.args), "\n")
			t.Logf("%s", text)
			for _, table := range []string{"events", "webhook_deliveries"} {
				if strings.Contains(text, "Seq Scan on "+table) {
					t.Errorf("the generic plan reads all of %s:\n%s", table, text)
				}
			}
		})
	}
}
