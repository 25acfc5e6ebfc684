package store

import (
	"cmp"
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/onboard-dev/onboard/internal/domain"
)

// StoredEvent is an event row: Body is the event's JSON as every consumer
// receives it.
type StoredEvent struct {
	ID         string
	OrgID      string
	Type       string
	Subject    string
	Body       string
	OccurredAt time.Time
	Seq        int64 // 0 until the dispatcher gives the event its position
}

// InsertEvent writes an event; call it in the transaction of the change.
func (q Queries) InsertEvent(ctx context.Context, e StoredEvent) error {
	_, err := q.q.ExecContext(ctx, `INSERT INTO events (id, org_id, type, subject, body, occurred_at) VALUES ($1, $2, $3, $4, $5, $6)`,
		e.ID, e.OrgID, e.Type, e.Subject, e.Body, Timestamp(e.OccurredAt))
	if err != nil {
		return fmt.Errorf("insert event: %w", mapErr(err))
	}
	return nil
}

// QueueEvent adds an event to the transaction; the events queued are
// written when the transaction commits, all in one statement (so the four
// events of a registration cost one INSERT, not four). A transaction that
// rolls back writes none.
func (t *Tx) QueueEvent(e StoredEvent) {
	t.events = append(t.events, e)
}

// DiscardEventsForMeasurement makes transactions drop the events queued
// with QueueEvent instead of writing them. It exists only to measure what
// events add to a change (bench BenchmarkRegistrationEvents); never turn it
// on in a service.
func (s *Store) DiscardEventsForMeasurement(on bool) { s.discardEvents.Store(on) }

// EventsWritten is how many events this process has written so far, in
// transactions committed or about to be (a transaction that fails after
// writing its events counts too): a dispatcher that sees it grow knows
// that there is likely something to number without asking the database.
func (s *Store) EventsWritten() int64 { return s.eventsWritten.Load() }

// eventsPerInsert is the most events one INSERT writes.
const eventsPerInsert = 100

// flushEvents writes the queued events before the commit.
func (t *Tx) flushEvents(ctx context.Context) error {
	evs := t.events
	t.events = nil
	if t.discardEvents || len(evs) == 0 {
		return nil
	}
	if t.eventsWritten != nil {
		defer t.eventsWritten.Add(int64(len(evs)))
	}
	if t.engine == Postgres && len(evs) > 1 {
		// One statement of a constant text, whatever the number of events.
		cols := [5][]string{}
		ats := make([]time.Time, len(evs))
		for i, e := range evs {
			cols[0], cols[1], cols[2] = append(cols[0], e.ID), append(cols[1], e.OrgID), append(cols[2], e.Type)
			cols[3], cols[4] = append(cols[3], e.Subject), append(cols[4], e.Body)
			ats[i] = Timestamp(e.OccurredAt)
		}
		if _, err := t.q.ExecContext(ctx, `INSERT INTO events (id, org_id, type, subject, body, occurred_at)
			SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::timestamptz[])`,
			cols[0], cols[1], cols[2], cols[3], cols[4], ats); err != nil {
			return fmt.Errorf("insert events: %w", mapErr(err))
		}
		return nil
	}
	for len(evs) > 0 {
		part := evs[:min(len(evs), eventsPerInsert)]
		evs = evs[len(part):]
		if len(part) == 1 {
			if err := t.InsertEvent(ctx, part[0]); err != nil {
				return err
			}
			continue
		}
		var sb strings.Builder
		sb.WriteString(`INSERT INTO events (id, org_id, type, subject, body, occurred_at) VALUES `)
		args := make([]any, 0, 6*len(part))
		for i, e := range part {
			if i > 0 {
				sb.WriteString(", ")
			}
			n := len(args)
			fmt.Fprintf(&sb, "($%d, $%d, $%d, $%d, $%d, $%d)", n+1, n+2, n+3, n+4, n+5, n+6)
			args = append(args, e.ID, e.OrgID, e.Type, e.Subject, e.Body, Timestamp(e.OccurredAt))
		}
		if _, err := t.q.ExecContext(ctx, sb.String(), args...); err != nil {
			return fmt.Errorf("insert events: %w", mapErr(err))
		}
	}
	return nil
}

// LockEventSequence locks the sequence row until the transaction ends (so
// that one dispatcher at a time numbers events) and returns the last
// position given.
func (q Queries) LockEventSequence(ctx context.Context) (int64, error) {
	var last int64
	err := q.q.QueryRowContext(ctx, `UPDATE event_sequence SET last = last WHERE id = 1 RETURNING last`).Scan(&last)
	if err != nil {
		return 0, fmt.Errorf("lock event sequence: %w", err)
	}
	return last, nil
}

// BeginDispatch starts a dispatch in the transaction: it locks the
// sequence row as LockEventSequence does and returns the last position
// given; on PostgreSQL it also makes the transaction prefer generic plans
// (see PreferGenericPlans), in the same statement.
func (q Queries) BeginDispatch(ctx context.Context) (int64, error) {
	if q.engine != Postgres {
		return q.LockEventSequence(ctx)
	}
	var last int64
	var mode string
	err := q.q.QueryRowContext(ctx, `WITH l AS (UPDATE event_sequence SET last = last WHERE id = 1 RETURNING last)
		SELECT last, set_config('plan_cache_mode', 'force_generic_plan', true) FROM l`).Scan(&last, &mode)
	if err != nil {
		return 0, fmt.Errorf("lock event sequence: %w", err)
	}
	return last, nil
}

// pgDispatchReads reads, on PostgreSQL, what a dispatch numbers (BODY
// stands for body, or for an empty string literal when the bodies are not
// needed): the events (kind 0, in id order), then the endpoints (kind 1):
// an endpoint's url, description and event types in the columns of an
// event's type, subject and body, its created_at in occurred_at
// (TestDispatchPlansUseKeys).
const pgDispatchReads = `WITH e AS (SELECT id, org_id, type, subject, BODY AS body, occurred_at FROM events
		WHERE seq IS NULL ORDER BY id LIMIT $1)
	SELECT 0 AS kind, id, org_id, type, subject, body, occurred_at,
		'', '', NULL::timestamptz, NULL::timestamptz, occurred_at FROM e
	UNION ALL
	SELECT 1, w.id, w.org_id, w.url, w.description, w.event_types, w.created_at,
		w.secret, w.previous_secret, w.previous_expires_at, w.failing_since, w.updated_at
	FROM webhook_endpoints w WHERE w.disabled_at IS NULL AND w.org_id IN (SELECT org_id FROM e)
	ORDER BY kind, id`

// DispatchReads returns what a dispatch numbers and fans out: up to limit
// committed events without a position, oldest id first, with their bodies
// when bodies is set, and the enabled webhook endpoints of their
// organizations. On PostgreSQL it is one statement, on SQLite two.
func (q Queries) DispatchReads(ctx context.Context, limit int, bodies bool) ([]StoredEvent, []WebhookEndpoint, error) {
	if q.engine != Postgres {
		evs, err := q.UnsequencedEvents(ctx, limit, bodies)
		if err != nil || len(evs) == 0 {
			return evs, nil, err
		}
		var orgIDs []string
		for _, e := range evs {
			if !slices.Contains(orgIDs, e.OrgID) {
				orgIDs = append(orgIDs, e.OrgID)
			}
		}
		eps, err := q.EnabledWebhookEndpoints(ctx, orgIDs)
		return evs, eps, err
	}
	body := `''`
	if bodies {
		body = `body`
	}
	rows, err := q.q.QueryContext(ctx, strings.Replace(pgDispatchReads, "BODY", body, 1), limit)
	if err != nil {
		return nil, nil, fmt.Errorf("unsequenced events: %w", err)
	}
	defer rows.Close()
	var evs []StoredEvent
	var eps []WebhookEndpoint
	for rows.Next() {
		var kind int
		var e StoredEvent
		var secret, previous string
		var prevExp, failing sql.NullTime
		var updated time.Time
		if err := rows.Scan(&kind, &e.ID, &e.OrgID, &e.Type, &e.Subject, &e.Body, &e.OccurredAt,
			&secret, &previous, &prevExp, &failing, &updated); err != nil {
			return nil, nil, fmt.Errorf("unsequenced events: %w", err)
		}
		if kind == 0 {
			e.OccurredAt = e.OccurredAt.UTC()
			evs = append(evs, e)
			continue
		}
		ep := WebhookEndpoint{ID: e.ID, OrgID: e.OrgID, URL: e.Type, Description: e.Subject, Secret: secret, PreviousSecret: previous,
			PreviousExpiresAt: nullTimePtr(prevExp), FailingSince: nullTimePtr(failing), CreatedAt: e.OccurredAt.UTC(), UpdatedAt: updated.UTC()}
		if err := q.openEndpoint(&ep, e.Body); err != nil {
			return nil, nil, err
		}
		eps = append(eps, ep)
	}
	if err := rows.Err(); err != nil {
		return nil, nil, fmt.Errorf("unsequenced events: %w", err)
	}
	return evs, eps, nil
}

// UnsequencedEvents returns up to limit committed events without a position,
// oldest id first, with their bodies when bodies is set (else Body is "").
func (q Queries) UnsequencedEvents(ctx context.Context, limit int, bodies bool) ([]StoredEvent, error) {
	body := `''`
	if bodies {
		body = `body`
	}
	rows, err := q.q.QueryContext(ctx, `SELECT id, org_id, type, subject, `+body+`, occurred_at FROM events WHERE seq IS NULL ORDER BY id LIMIT $1`, limit)
	if err != nil {
		return nil, fmt.Errorf("unsequenced events: %w", err)
	}
	defer rows.Close()
	var out []StoredEvent
	for rows.Next() {
		var e StoredEvent
		if err := rows.Scan(&e.ID, &e.OrgID, &e.Type, &e.Subject, &e.Body, &e.OccurredAt); err != nil {
			return nil, fmt.Errorf("unsequenced events: %w", err)
		}
		e.OccurredAt = e.OccurredAt.UTC()
		out = append(out, e)
	}
	return out, rows.Err()
}

// SequenceEvents gives the events ids, in order, the positions first,
// first+1, …, and marks them for NATS when natsPending is set: one
// statement for the whole batch.
func (q Queries) SequenceEvents(ctx context.Context, ids []string, first int64, natsPending bool) error {
	if len(ids) == 0 {
		return nil
	}
	pending := 0
	if natsPending {
		pending = 1
	}
	query := `UPDATE events SET seq = $1 + v.key, nats_pending = $2
		FROM (SELECT key, value AS id FROM json_each($3)) AS v WHERE events.id = v.id`
	var list any
	if q.engine == Postgres {
		// An array parameter: the planner expects few rows and joins by
		// the primary key (a json parameter made it scan the table).
		query = `UPDATE events SET seq = $1 + v.ord - 1, nats_pending = $2
		FROM unnest($3::text[]) WITH ORDINALITY AS v(id, ord) WHERE events.id = v.id`
		list = ids
	} else {
		raw, err := json.Marshal(ids)
		if err != nil {
			return fmt.Errorf("sequence events: %w", err)
		}
		list = string(raw)
	}
	res, err := q.q.ExecContext(ctx, query, first, pending, list)
	if err != nil {
		return fmt.Errorf("sequence events: %w", err)
	}
	if n, err := res.RowsAffected(); err != nil || n != int64(len(ids)) {
		return fmt.Errorf("sequence events: %d of %d rows numbered (%v)", n, len(ids), err)
	}
	return nil
}

// SequenceEvent gives an event its position and marks it for NATS when
// natsPending is set.
func (q Queries) SequenceEvent(ctx context.Context, id string, seq int64, natsPending bool) error {
	pending := 0
	if natsPending {
		pending = 1
	}
	if _, err := q.q.ExecContext(ctx, `UPDATE events SET seq = $1, nats_pending = $2 WHERE id = $3`, seq, pending, id); err != nil {
		return fmt.Errorf("sequence event: %w", err)
	}
	return nil
}

// SetEventSequence records the last position given.
func (q Queries) SetEventSequence(ctx context.Context, last int64) error {
	if _, err := q.q.ExecContext(ctx, `UPDATE event_sequence SET last = $1 WHERE id = 1`, last); err != nil {
		return fmt.Errorf("set event sequence: %w", err)
	}
	return nil
}

// EventFeed lists an organization's sequenced events after position after,
// in order, at most limit; types, when not empty, filters by type.
func (q Queries) EventFeed(ctx context.Context, orgID string, after int64, types []string, limit int) ([]StoredEvent, error) {
	args := []any{orgID, after, limit}
	filter := ""
	if len(types) > 0 {
		ph := make([]string, len(types))
		for i, t := range types {
			args = append(args, t)
			ph[i] = fmt.Sprintf("$%d", len(args))
		}
		filter = " AND type IN (" + strings.Join(ph, ", ") + ")"
	}
	rows, err := q.q.QueryContext(ctx, `SELECT id, org_id, type, subject, body, occurred_at, seq FROM events
		WHERE org_id = $1 AND seq > $2 AND seq IS NOT NULL`+filter+` ORDER BY seq LIMIT $3`, args...)
	if err != nil {
		return nil, fmt.Errorf("event feed: %w", err)
	}
	return scanEvents(rows)
}

// EventsBetween lists an organization's sequenced events that occurred in
// [from, to), in order.
func (q Queries) EventsBetween(ctx context.Context, orgID string, from, to time.Time, limit int) ([]StoredEvent, error) {
	rows, err := q.q.QueryContext(ctx, `SELECT id, org_id, type, subject, body, occurred_at, seq FROM events
		WHERE org_id = $1 AND occurred_at >= $2 AND occurred_at < $3 AND seq IS NOT NULL ORDER BY seq LIMIT $4`,
		orgID, Timestamp(from), Timestamp(to), limit)
	if err != nil {
		return nil, fmt.Errorf("events between: %w", err)
	}
	return scanEvents(rows)
}

// Event returns one sequenced event of an organization.
func (q Queries) Event(ctx context.Context, orgID, id string) (StoredEvent, error) {
	rows, err := q.q.QueryContext(ctx, `SELECT id, org_id, type, subject, body, occurred_at, seq FROM events
		WHERE org_id = $1 AND id = $2 AND seq IS NOT NULL`, orgID, id)
	if err != nil {
		return StoredEvent{}, fmt.Errorf("event: %w", err)
	}
	evs, err := scanEvents(rows)
	if err != nil {
		return StoredEvent{}, err
	}
	if len(evs) == 0 {
		return StoredEvent{}, fmt.Errorf("event: %w", domain.ErrNotFound)
	}
	return evs[0], nil
}

func scanEvents(rows *sql.Rows) ([]StoredEvent, error) {
	defer rows.Close()
	var out []StoredEvent
	for rows.Next() {
		var e StoredEvent
		if err := rows.Scan(&e.ID, &e.OrgID, &e.Type, &e.Subject, &e.Body, &e.OccurredAt, &e.Seq); err != nil {
			return nil, fmt.Errorf("scan event: %w", err)
		}
		e.OccurredAt = e.OccurredAt.UTC()
		out = append(out, e)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("scan event: %w", err)
	}
	return out, nil
}

// EventsOfOrg lists every event of an organization, sequenced or not, in id
// order (for tests and tools).
func (q Queries) EventsOfOrg(ctx context.Context, orgID string) ([]StoredEvent, error) {
	rows, err := q.q.QueryContext(ctx, `SELECT id, org_id, type, subject, body, occurred_at, COALESCE(seq, 0) FROM events
		WHERE org_id = $1 ORDER BY id`, orgID)
	if err != nil {
		return nil, fmt.Errorf("events of org: %w", err)
	}
	return scanEvents(rows)
}

// ClaimNATSEvents leases up to limit events waiting for NATS, in order.
func (s *Store) ClaimNATSEvents(ctx context.Context, now time.Time, limit int, lease time.Duration) ([]StoredEvent, error) {
	now = Timestamp(now)
	var out []StoredEvent
	err := s.InTx(ctx, func(tx *Tx) error {
		rows, err := tx.q.QueryContext(ctx, `UPDATE events SET nats_locked_until = $1
			WHERE id IN (SELECT id FROM events WHERE nats_pending = 1 AND (nats_locked_until IS NULL OR nats_locked_until <= $2)
				ORDER BY seq LIMIT $3`+s.engine.lock(forUpdateSkipLocked)+`)
			RETURNING id, org_id, type, subject, body, occurred_at, seq`, now.Add(lease), now, limit)
		if err != nil {
			return fmt.Errorf("claim nats events: %w", err)
		}
		out, err = scanEvents(rows)
		return err
	})
	// RETURNING gives no order: publish in commit order.
	slices.SortFunc(out, func(a, b StoredEvent) int { return cmp.Compare(a.Seq, b.Seq) })
	return out, err
}

// MarkNATSPublished records events published to NATS.
func (q Queries) MarkNATSPublished(ctx context.Context, ids []string) error {
	for _, id := range ids {
		if _, err := q.q.ExecContext(ctx, `UPDATE events SET nats_pending = 0, nats_locked_until = NULL WHERE id = $1`, id); err != nil {
			return fmt.Errorf("mark nats published: %w", err)
		}
	}
	return nil
}

// deleteOldEvents is the retention's delete of the events that occurred
// before $1 and are done with (TestEventRetentionUsesTheTimeIndex).
const deleteOldEvents = `DELETE FROM events WHERE occurred_at < $1 AND seq IS NOT NULL AND nats_pending = 0
	AND id NOT IN (SELECT event_id FROM webhook_deliveries WHERE state IN ('pending', 'processing'))`

// DeleteOldEvents deletes events that occurred before cutoff, with their
// finished deliveries and attempts; deliveries still due stay (and keep
// their event's body until they finish).
func (s *Store) DeleteOldEvents(ctx context.Context, cutoff time.Time) (int64, error) {
	cutoff = Timestamp(cutoff)
	var n int64
	err := s.InTx(ctx, func(tx *Tx) error {
		if _, err := tx.q.ExecContext(ctx, `DELETE FROM webhook_deliveries WHERE created_at < $1 AND state IN ('delivered', 'failed')`, cutoff); err != nil {
			return err
		}
		res, err := tx.q.ExecContext(ctx, deleteOldEvents, cutoff)
		if err != nil {
			return err
		}
		n, err = res.RowsAffected()
		return err
	})
	if err != nil {
		return 0, fmt.Errorf("delete old events: %w", err)
	}
	return n, nil
}

// HasUnsequencedEvents reports whether a committed event waits for its
// position (a read that takes no lock).
func (q Queries) HasUnsequencedEvents(ctx context.Context) (bool, error) {
	var n int
	err := q.q.QueryRowContext(ctx, `SELECT COUNT(*) FROM (SELECT 1 FROM events WHERE seq IS NULL LIMIT 1) x`).Scan(&n)
	if err != nil {
		return false, fmt.Errorf("unsequenced events: %w", err)
	}
	return n > 0, nil
}

// pgNumberEvents is NumberEvents on PostgreSQL: it numbers the events
// $12 from $10 (marking them for NATS with $11), records the last position
// $13, and writes the deliveries ($1–$8, one array per column). A delivery
// is written claimed, leased until $9, when $9 is set and its endpoint has
// nothing pending or in flight for its subject (looked up once per
// delivery); else pending. It returns the events numbered and the ids of
// the deliveries written claimed (TestDispatchPlansUseKeys).
const pgNumberEvents = `WITH s AS (
		UPDATE events SET seq = $10 + v.ord - 1, nats_pending = $11
		FROM unnest($12::text[]) WITH ORDINALITY AS v(id, ord) WHERE events.id = v.id RETURNING 1),
	l AS (UPDATE event_sequence SET last = $13 WHERE id = 1),
	d AS (
		INSERT INTO webhook_deliveries (id, endpoint_id, org_id, event_id, seq, subject, state, attempts, next_attempt_at, locked_until, created_at)
		SELECT v.id, v.endpoint_id, v.org_id, v.event_id, v.seq, v.subject,
			CASE WHEN b.blocked THEN 'pending' ELSE 'processing' END, 0, v.next_attempt_at,
			CASE WHEN b.blocked THEN NULL ELSE $9::timestamptz END, v.created_at
		FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::bigint[], $6::text[], $7::timestamptz[], $8::timestamptz[])
			AS v(id, endpoint_id, org_id, event_id, seq, subject, next_attempt_at, created_at)
			CROSS JOIN LATERAL (SELECT ($9::timestamptz IS NULL OR EXISTS (SELECT 1 FROM webhook_deliveries p
				WHERE p.endpoint_id = v.endpoint_id AND p.subject = v.subject AND p.state IN ('pending', 'processing'))) AS blocked OFFSET 0) b
		RETURNING id, state)
	SELECT (SELECT COUNT(*) FROM s), (SELECT string_agg(id, ',') FROM d WHERE state = 'processing')`

// NumberEvents is what a dispatch writes: it gives the events ids, in
// order, the positions first, first+1, … (marking them for NATS when
// natsPending is set), writes their webhook deliveries ds, leased as
// InsertLeasedWebhookDeliveries does when until is not zero (else
// pending), and records the last position given. On PostgreSQL it is one
// statement, on SQLite three. It reports, in the order of ds, which
// deliveries were written claimed.
func (q Queries) NumberEvents(ctx context.Context, ids []string, first int64, natsPending bool, ds []WebhookDelivery, until time.Time) ([]bool, error) {
	if len(ids) == 0 {
		return make([]bool, len(ds)), nil
	}
	last := first + int64(len(ids)) - 1
	if q.engine != Postgres {
		if err := q.SequenceEvents(ctx, ids, first, natsPending); err != nil {
			return nil, err
		}
		leased, err := q.insertDeliveries(ctx, ds, until)
		if err != nil {
			return nil, err
		}
		return leased, q.SetEventSequence(ctx, last)
	}
	pending := 0
	if natsPending {
		pending = 1
	}
	cols := [5][]string{}
	seqs := make([]int64, len(ds))
	nexts, created := make([]time.Time, len(ds)), make([]time.Time, len(ds))
	for i, d := range ds {
		cols[0], cols[1], cols[2] = append(cols[0], d.ID), append(cols[1], d.EndpointID), append(cols[2], d.OrgID)
		cols[3], cols[4] = append(cols[3], d.EventID), append(cols[4], d.Subject)
		seqs[i], nexts[i], created[i] = d.Seq, Timestamp(d.NextAttemptAt), Timestamp(d.CreatedAt)
	}
	var lease any // NULL: every delivery is written pending
	if !until.IsZero() {
		lease = Timestamp(until)
	}
	var n int64
	var claimed sql.NullString
	err := q.q.QueryRowContext(ctx, pgNumberEvents,
		cols[0], cols[1], cols[2], cols[3], seqs, cols[4], nexts, created, lease, first, pending, ids, last).Scan(&n, &claimed)
	if err != nil {
		return nil, fmt.Errorf("number events: %w", mapErr(err))
	}
	if n != int64(len(ids)) {
		return nil, fmt.Errorf("number events: %d of %d rows numbered", n, len(ids))
	}
	leased := make([]bool, len(ds))
	if claimed.Valid && claimed.String != "" {
		index := make(map[string]int, len(ds))
		for i, d := range ds {
			index[d.ID] = i
		}
		for _, id := range strings.Split(claimed.String, ",") {
			if i, ok := index[id]; ok {
				leased[i] = true
			}
		}
	}
	return leased, nil
}

// PreferGenericPlans makes PostgreSQL reuse one plan for each prepared
// statement of the transaction instead of planning every execution anew
// (the dispatcher's statements take arrays of varying length, for which
// PostgreSQL keeps replanning, and planning them costs more than running
// them). Nothing on SQLite.
func (q Queries) PreferGenericPlans(ctx context.Context) error {
	if q.engine != Postgres {
		return nil
	}
	if _, err := q.q.ExecContext(ctx, `SET LOCAL plan_cache_mode = force_generic_plan`); err != nil {
		return fmt.Errorf("prefer generic plans: %w", err)
	}
	return nil
}
