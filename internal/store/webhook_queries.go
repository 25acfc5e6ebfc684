package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/onboard-dev/onboard/internal/domain"
)

// Webhook delivery states.
const (
	DeliveryPending    = "pending"
	DeliveryProcessing = "processing"
	DeliveryDelivered  = "delivered"
	DeliveryFailed     = "failed"
)

// WebhookEndpoint is an organization's webhook endpoint; its secrets are
// held in plaintext here and sealed in the database.
type WebhookEndpoint struct {
	ID                string
	OrgID             string
	URL               string
	Description       string
	EventTypes        []string // empty: every type
	Secret            string
	PreviousSecret    string     // "" when none
	PreviousExpiresAt *time.Time // when PreviousSecret stops signing
	DisabledAt        *time.Time
	DisabledReason    string
	FailingSince      *time.Time
	CreatedAt         time.Time
	UpdatedAt         time.Time
}

func webhookAD(column, id string) string { return "webhook_endpoints." + column + ":" + id }

const endpointColumns = `id, org_id, url, description, event_types, secret, previous_secret, previous_expires_at,
	disabled_at, disabled_reason, failing_since, created_at, updated_at`

// InsertWebhookEndpoint writes a new endpoint, sealing its secret.
func (q Queries) InsertWebhookEndpoint(ctx context.Context, e WebhookEndpoint) error {
	secret, err := q.seal(e.Secret, webhookAD("secret", e.ID))
	if err != nil {
		return fmt.Errorf("insert webhook endpoint: %w", err)
	}
	types, _ := json.Marshal(nonNil(e.EventTypes))
	_, err = q.q.ExecContext(ctx, `INSERT INTO webhook_endpoints (id, org_id, url, description, event_types, secret, created_at, updated_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $7)`, e.ID, e.OrgID, e.URL, e.Description, string(types), secret, Timestamp(e.CreatedAt))
	if err != nil {
		return fmt.Errorf("insert webhook endpoint: %w", mapErr(err))
	}
	return nil
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

// UpdateWebhookEndpoint writes an endpoint's URL, description, types and
// disabled state (not its secrets).
func (q Queries) UpdateWebhookEndpoint(ctx context.Context, e WebhookEndpoint) error {
	types, _ := json.Marshal(nonNil(e.EventTypes))
	_, err := q.q.ExecContext(ctx, `UPDATE webhook_endpoints SET url = $1, description = $2, event_types = $3, disabled_at = $4,
		disabled_reason = $5, failing_since = $6, updated_at = $7 WHERE id = $8 AND org_id = $9`,
		e.URL, e.Description, string(types), tsPtr(e.DisabledAt), e.DisabledReason, tsPtr(e.FailingSince), Timestamp(e.UpdatedAt), e.ID, e.OrgID)
	if err != nil {
		return fmt.Errorf("update webhook endpoint: %w", err)
	}
	return nil
}

// RotateWebhookSecret makes secret the endpoint's secret; the current one
// keeps signing until previousUntil.
func (q Queries) RotateWebhookSecret(ctx context.Context, e WebhookEndpoint, secret string, previousUntil, now time.Time) error {
	newSealed, err := q.seal(secret, webhookAD("secret", e.ID))
	if err != nil {
		return fmt.Errorf("rotate webhook secret: %w", err)
	}
	prevSealed, err := q.seal(e.Secret, webhookAD("previous_secret", e.ID))
	if err != nil {
		return fmt.Errorf("rotate webhook secret: %w", err)
	}
	_, err = q.q.ExecContext(ctx, `UPDATE webhook_endpoints SET secret = $1, previous_secret = $2, previous_expires_at = $3, updated_at = $4
		WHERE id = $5 AND org_id = $6`, newSealed, prevSealed, Timestamp(previousUntil), Timestamp(now), e.ID, e.OrgID)
	if err != nil {
		return fmt.Errorf("rotate webhook secret: %w", err)
	}
	return nil
}

// DeleteWebhookEndpoint deletes an endpoint with its deliveries.
func (q Queries) DeleteWebhookEndpoint(ctx context.Context, orgID, id string) error {
	res, err := q.q.ExecContext(ctx, `DELETE FROM webhook_endpoints WHERE id = $1 AND org_id = $2`, id, orgID)
	if err != nil {
		return fmt.Errorf("delete webhook endpoint: %w", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return fmt.Errorf("delete webhook endpoint: %w", domain.ErrNotFound)
	}
	return nil
}

// WebhookEndpoint returns one endpoint of an organization.
func (q Queries) WebhookEndpoint(ctx context.Context, orgID, id string) (WebhookEndpoint, error) {
	eps, err := q.webhookEndpoints(ctx, `WHERE id = $1 AND org_id = $2`, id, orgID)
	if err != nil {
		return WebhookEndpoint{}, err
	}
	if len(eps) == 0 {
		return WebhookEndpoint{}, fmt.Errorf("webhook endpoint: %w", domain.ErrNotFound)
	}
	return eps[0], nil
}

// WebhookEndpoints lists an organization's endpoints, oldest first.
func (q Queries) WebhookEndpoints(ctx context.Context, orgID string) ([]WebhookEndpoint, error) {
	return q.webhookEndpoints(ctx, `WHERE org_id = $1 ORDER BY created_at, id`, orgID)
}

// WebhookEndpointsByID returns the endpoints with the given ids.
func (q Queries) WebhookEndpointsByID(ctx context.Context, ids []string) (map[string]WebhookEndpoint, error) {
	out := map[string]WebhookEndpoint{}
	if len(ids) == 0 {
		return out, nil
	}
	cond, args := q.inList("id", ids, 1)
	eps, err := q.webhookEndpoints(ctx, `WHERE `+cond, args...)
	if err != nil {
		return nil, err
	}
	for _, e := range eps {
		out[e.ID] = e
	}
	return out, nil
}

// EnabledWebhookEndpoints returns the enabled endpoints of the given
// organizations.
func (q Queries) EnabledWebhookEndpoints(ctx context.Context, orgIDs []string) ([]WebhookEndpoint, error) {
	if len(orgIDs) == 0 {
		return nil, nil
	}
	cond, args := q.inList("org_id", orgIDs, 1)
	return q.webhookEndpoints(ctx, `WHERE `+cond+` AND disabled_at IS NULL ORDER BY created_at, id`, args...)
}

func placeholders(vals []string, first int) (string, []any) {
	ph := make([]string, len(vals))
	args := make([]any, len(vals))
	for i, v := range vals {
		ph[i] = fmt.Sprintf("$%d", first+i)
		args[i] = v
	}
	return strings.Join(ph, ", "), args
}

// inList is the condition "col is one of vals" with its arguments, the
// first numbered first: on PostgreSQL one array parameter (col = ANY($n)),
// so that the statement's text, and so its prepared plan, does not change
// with the number of values; on SQLite a list of placeholders.
func (q Queries) inList(col string, vals []string, first int) (string, []any) {
	if q.engine == Postgres {
		return fmt.Sprintf("%s = ANY($%d)", col, first), []any{vals}
	}
	ph, args := placeholders(vals, first)
	return col + " IN (" + ph + ")", args
}

func (q Queries) webhookEndpoints(ctx context.Context, where string, args ...any) ([]WebhookEndpoint, error) {
	rows, err := q.q.QueryContext(ctx, `SELECT `+endpointColumns+` FROM webhook_endpoints `+where, args...)
	if err != nil {
		return nil, fmt.Errorf("webhook endpoints: %w", err)
	}
	defer rows.Close()
	var out []WebhookEndpoint
	for rows.Next() {
		var e WebhookEndpoint
		var types string
		var prevExp, disabled, failing sql.NullTime
		if err := rows.Scan(&e.ID, &e.OrgID, &e.URL, &e.Description, &types, &e.Secret, &e.PreviousSecret, &prevExp,
			&disabled, &e.DisabledReason, &failing, &e.CreatedAt, &e.UpdatedAt); err != nil {
			return nil, fmt.Errorf("webhook endpoints: %w", err)
		}
		if err := q.openEndpoint(&e, types); err != nil {
			return nil, err
		}
		e.PreviousExpiresAt, e.DisabledAt, e.FailingSince = nullTimePtr(prevExp), nullTimePtr(disabled), nullTimePtr(failing)
		e.CreatedAt, e.UpdatedAt = e.CreatedAt.UTC(), e.UpdatedAt.UTC()
		out = append(out, e)
	}
	return out, rows.Err()
}

// openEndpoint decodes an endpoint's event types (JSON) and unseals its
// secrets.
func (q Queries) openEndpoint(e *WebhookEndpoint, types string) error {
	if err := json.Unmarshal([]byte(types), &e.EventTypes); err != nil {
		return fmt.Errorf("webhook endpoint %s types: %w", e.ID, err)
	}
	var err error
	if e.Secret, err = q.unseal(e.Secret, webhookAD("secret", e.ID)); err != nil {
		return fmt.Errorf("webhook endpoint %s: %w", e.ID, err)
	}
	if e.PreviousSecret, err = q.unseal(e.PreviousSecret, webhookAD("previous_secret", e.ID)); err != nil {
		return fmt.Errorf("webhook endpoint %s: %w", e.ID, err)
	}
	return nil
}

func nullTimePtr(t sql.NullTime) *time.Time {
	if !t.Valid {
		return nil
	}
	u := t.Time.UTC()
	return &u
}

func tsPtr(t *time.Time) any {
	if t == nil {
		return nil
	}
	return Timestamp(*t)
}

// WebhookDelivery is one event's delivery to one endpoint.
type WebhookDelivery struct {
	ID            string
	EndpointID    string
	OrgID         string
	EventID       string
	Seq           int64
	Subject       string
	State         string
	Attempts      int
	NextAttemptAt time.Time
	LastStatus    int
	LastError     string
	CreatedAt     time.Time
	DeliveredAt   *time.Time
}

// InsertWebhookDelivery writes a delivery, due at d.NextAttemptAt.
func (q Queries) InsertWebhookDelivery(ctx context.Context, d WebhookDelivery) error {
	_, err := q.q.ExecContext(ctx, `INSERT INTO webhook_deliveries (id, endpoint_id, org_id, event_id, seq, subject, state, attempts, next_attempt_at, created_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, 0, $8, $9)`,
		d.ID, d.EndpointID, d.OrgID, d.EventID, d.Seq, d.Subject, DeliveryPending, Timestamp(d.NextAttemptAt), Timestamp(d.CreatedAt))
	if err != nil {
		return fmt.Errorf("insert webhook delivery: %w", mapErr(err))
	}
	return nil
}

// InsertWebhookDeliveries writes many deliveries, due at their
// NextAttemptAt: on PostgreSQL in one statement (arrays), on SQLite in
// multi-row INSERTs.
func (q Queries) InsertWebhookDeliveries(ctx context.Context, ds []WebhookDelivery) error {
	_, err := q.insertDeliveries(ctx, ds, time.Time{})
	return err
}

// InsertLeasedWebhookDeliveries writes deliveries as InsertWebhookDeliveries
// does, but each one whose endpoint has no delivery of the same subject
// still pending or processing is written already claimed (processing,
// leased until until) for the caller to send at once, in the order given;
// the others (they must wait for the ones before them) are written
// pending. It reports, in the order of ds, which were written claimed.
func (q Queries) InsertLeasedWebhookDeliveries(ctx context.Context, ds []WebhookDelivery, until time.Time) ([]bool, error) {
	return q.insertDeliveries(ctx, ds, Timestamp(until))
}

// insertDeliveries writes ds; with a non-zero until, as
// InsertLeasedWebhookDeliveries.
func (q Queries) insertDeliveries(ctx context.Context, ds []WebhookDelivery, until time.Time) ([]bool, error) {
	leased := make([]bool, len(ds))
	if len(ds) == 0 {
		return leased, nil
	}
	lease := !until.IsZero()
	// state and locked_until of one row of the select v.
	state, locked := `'pending'`, `NULL::timestamptz`
	if q.engine == SQLite {
		locked = `NULL`
	}
	if lease {
		state = `CASE WHEN EXISTS (SELECT 1 FROM webhook_deliveries p WHERE p.endpoint_id = v.endpoint_id AND p.subject = v.subject
			AND p.state IN ('pending', 'processing')) THEN 'pending' ELSE 'processing' END`
		locked = `CASE WHEN EXISTS (SELECT 1 FROM webhook_deliveries p WHERE p.endpoint_id = v.endpoint_id AND p.subject = v.subject
			AND p.state IN ('pending', 'processing')) THEN NULL ELSE $U END`
	}
	const insert = `INSERT INTO webhook_deliveries (id, endpoint_id, org_id, event_id, seq, subject, state, attempts, next_attempt_at, locked_until, created_at) `
	index := make(map[string]int, len(ds))
	for i, d := range ds {
		index[d.ID] = i
	}
	run := func(query string, args []any) error {
		if !lease {
			if _, err := q.q.ExecContext(ctx, query, args...); err != nil {
				return fmt.Errorf("insert webhook deliveries: %w", mapErr(err))
			}
			return nil
		}
		rows, err := q.q.QueryContext(ctx, query+` RETURNING id, state`, args...)
		if err != nil {
			return fmt.Errorf("insert webhook deliveries: %w", mapErr(err))
		}
		defer rows.Close()
		for rows.Next() {
			var id, st string
			if err := rows.Scan(&id, &st); err != nil {
				return fmt.Errorf("insert webhook deliveries: %w", err)
			}
			if i, ok := index[id]; ok {
				leased[i] = st == DeliveryProcessing
			}
		}
		if err := rows.Err(); err != nil {
			return fmt.Errorf("insert webhook deliveries: %w", mapErr(err))
		}
		return nil
	}
	if q.engine == Postgres {
		// One statement of a constant text, whatever the number of rows.
		cols := [6][]string{}
		seqs := make([]int64, len(ds))
		nexts, created := make([]time.Time, len(ds)), make([]time.Time, len(ds))
		for i, d := range ds {
			cols[0] = append(cols[0], d.ID)
			cols[1] = append(cols[1], d.EndpointID)
			cols[2] = append(cols[2], d.OrgID)
			cols[3] = append(cols[3], d.EventID)
			cols[4] = append(cols[4], d.Subject)
			seqs[i], nexts[i], created[i] = d.Seq, Timestamp(d.NextAttemptAt), Timestamp(d.CreatedAt)
		}
		args := []any{cols[0], cols[1], cols[2], cols[3], seqs, cols[4], nexts, created}
		if lease {
			args = append(args, until)
		}
		return leased, run(insert+`SELECT v.id, v.endpoint_id, v.org_id, v.event_id, v.seq, v.subject, `+state+`, 0, v.next_attempt_at, `+
			strings.Replace(locked, "$U", "$9::timestamptz", 1)+`, v.created_at
			FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::bigint[], $6::text[], $7::timestamptz[], $8::timestamptz[])
				AS v(id, endpoint_id, org_id, event_id, seq, subject, next_attempt_at, created_at)`, args)
	}
	const chunk = 100
	for len(ds) > 0 {
		part := ds[:min(len(ds), chunk)]
		ds = ds[len(part):]
		var sb strings.Builder
		args := make([]any, 0, 1+8*len(part))
		if lease {
			args = append(args, until)
		}
		sb.WriteString(insert)
		sb.WriteString(`SELECT v.column1, v.column2, v.column3, v.column4, v.column5, v.column6, `)
		sb.WriteString(strings.NewReplacer("v.endpoint_id", "v.column2", "v.subject", "v.column6", "$U", "$1").Replace(state + `, 0, v.column7, ` + locked + `, v.column8`))
		sb.WriteString(` FROM (VALUES `)
		for i, d := range part {
			if i > 0 {
				sb.WriteString(", ")
			}
			n := len(args)
			fmt.Fprintf(&sb, "($%d, $%d, $%d, $%d, $%d, $%d, $%d, $%d)", n+1, n+2, n+3, n+4, n+5, n+6, n+7, n+8)
			args = append(args, d.ID, d.EndpointID, d.OrgID, d.EventID, d.Seq, d.Subject, Timestamp(d.NextAttemptAt), Timestamp(d.CreatedAt))
		}
		sb.WriteString(`) AS v`)
		if err := run(sb.String(), args); err != nil {
			return nil, err
		}
	}
	return leased, nil
}

// ClaimedDelivery is a delivery leased for an attempt, with what it needs.
type ClaimedDelivery struct {
	WebhookDelivery
	Body     string
	Endpoint WebhookEndpoint
}

// ClaimWebhookDeliveries claims due deliveries in a transaction of its own;
// see Queries.ClaimWebhookDeliveries.
func (s *Store) ClaimWebhookDeliveries(ctx context.Context, now time.Time, limit int, lease time.Duration) ([]ClaimedDelivery, error) {
	var out []ClaimedDelivery
	err := s.InTx(ctx, func(tx *Tx) error {
		var err error
		out, err = tx.ClaimWebhookDeliveries(ctx, now, limit, lease)
		return err
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// ClaimWebhookDeliveries leases due deliveries of enabled endpoints: up to
// limit heads, and after each head the chain of due deliveries of the same
// subject to the same endpoint that follow it (up to limit more in all).
// A delivery is a head only when no earlier delivery of the same subject
// to the same endpoint is still pending, so that each endpoint receives
// the events of a subject in order; once a head is claimed no other worker
// can claim what follows it, so its chain is claimed safely and is to be
// sent in the order returned, stopping at the first failure. The result
// holds each chain contiguously, in order. On PostgreSQL concurrent
// workers skip each other's rows.
func (q Queries) ClaimWebhookDeliveries(ctx context.Context, now time.Time, limit int, lease time.Duration) ([]ClaimedDelivery, error) {
	now = Timestamp(now)
	until := now.Add(lease)
	rows, err := q.q.QueryContext(ctx, `UPDATE webhook_deliveries SET state = 'processing', locked_until = $1
		WHERE id IN (SELECT d.id FROM webhook_deliveries d
			WHERE d.state IN ('pending', 'processing') AND d.next_attempt_at <= $2
				AND (d.state = 'pending' OR d.locked_until <= $2)
				AND d.endpoint_id IN (SELECT e.id FROM webhook_endpoints e WHERE e.disabled_at IS NULL)
				AND NOT EXISTS (SELECT 1 FROM webhook_deliveries p WHERE p.endpoint_id = d.endpoint_id AND p.subject = d.subject
					AND p.seq < d.seq AND p.state IN ('pending', 'processing'))
			ORDER BY d.next_attempt_at LIMIT $3`+q.engine.lock(forUpdateSkipLocked)+`)
		RETURNING id, endpoint_id, org_id, event_id, seq, subject, attempts, created_at`, until, now, limit)
	if err != nil {
		return nil, fmt.Errorf("claim webhook deliveries: %w", err)
	}
	var heads []ClaimedDelivery
	for rows.Next() {
		var d ClaimedDelivery
		if err := rows.Scan(&d.ID, &d.EndpointID, &d.OrgID, &d.EventID, &d.Seq, &d.Subject, &d.Attempts, &d.CreatedAt); err != nil {
			rows.Close()
			return nil, fmt.Errorf("claim webhook deliveries: %w", err)
		}
		d.CreatedAt = d.CreatedAt.UTC()
		d.State = DeliveryProcessing
		heads = append(heads, d)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("claim webhook deliveries: %w", err)
	}
	if len(heads) == 0 {
		return nil, nil
	}
	out, err := q.claimChains(ctx, heads, now, until, limit)
	if err != nil {
		return nil, fmt.Errorf("claim webhook deliveries: %w", err)
	}
	eventIDs, endpointIDs := make([]string, 0, len(out)), []string{}
	seenEP := map[string]bool{}
	for _, d := range out {
		eventIDs = append(eventIDs, d.EventID)
		if !seenEP[d.EndpointID] {
			seenEP[d.EndpointID] = true
			endpointIDs = append(endpointIDs, d.EndpointID)
		}
	}
	bodies := map[string]string{}
	for i := 0; i < len(eventIDs); i += 500 {
		cond, args := q.inList("id", eventIDs[i:min(len(eventIDs), i+500)], 1)
		brows, err := q.q.QueryContext(ctx, `SELECT id, body FROM events WHERE `+cond, args...)
		if err != nil {
			return nil, fmt.Errorf("claim webhook deliveries: %w", err)
		}
		for brows.Next() {
			var id, body string
			if err := brows.Scan(&id, &body); err != nil {
				brows.Close()
				return nil, fmt.Errorf("claim webhook deliveries: %w", err)
			}
			bodies[id] = body
		}
		brows.Close()
		if err := brows.Err(); err != nil {
			return nil, fmt.Errorf("claim webhook deliveries: %w", err)
		}
	}
	eps, err := q.WebhookEndpointsByID(ctx, endpointIDs)
	if err != nil {
		return nil, fmt.Errorf("claim webhook deliveries: %w", err)
	}
	for i := range out {
		out[i].Body = bodies[out[i].EventID]
		out[i].Endpoint = eps[out[i].EndpointID]
	}
	return out, nil
}

// chainKey is an endpoint and a subject: the unit of ordering.
type chainKey struct{ endpoint, subject string }

// claimChains claims, after each claimed head, the due deliveries that
// follow it for the same endpoint and subject, up to limit in all, and
// returns heads and chains in sending order. The heads are this
// transaction's, so no other worker can claim what follows them.
func (q Queries) claimChains(ctx context.Context, heads []ClaimedDelivery, now, until time.Time, limit int) ([]ClaimedDelivery, error) {
	ours := make(map[string]bool, len(heads))
	keys := map[chainKey]bool{}
	var endpoints, subjects []string
	seenEP, seenSubj := map[string]bool{}, map[string]bool{}
	for _, h := range heads {
		ours[h.ID] = true
		keys[chainKey{h.EndpointID, h.Subject}] = true
		if !seenEP[h.EndpointID] {
			seenEP[h.EndpointID] = true
			endpoints = append(endpoints, h.EndpointID)
		}
		if !seenSubj[h.Subject] {
			seenSubj[h.Subject] = true
			subjects = append(subjects, h.Subject)
		}
	}
	type candidate struct {
		ClaimedDelivery
		next   time.Time
		locked sql.NullTime
	}
	byKey := map[chainKey][]candidate{}
	for i := 0; i < len(subjects); i += 500 {
		condE, args := q.inList("endpoint_id", endpoints, 1)
		condS, argsS := q.inList("subject", subjects[i:min(len(subjects), i+500)], len(args)+1)
		rows, err := q.q.QueryContext(ctx, `SELECT id, endpoint_id, org_id, event_id, seq, subject, state, attempts, created_at, next_attempt_at, locked_until
			FROM webhook_deliveries WHERE `+condE+` AND `+condS+` AND state IN ('pending', 'processing')
			ORDER BY endpoint_id, subject, seq, id`, append(args, argsS...)...)
		if err != nil {
			return nil, fmt.Errorf("chains: %w", err)
		}
		for rows.Next() {
			var c candidate
			if err := rows.Scan(&c.ID, &c.EndpointID, &c.OrgID, &c.EventID, &c.Seq, &c.Subject, &c.State, &c.Attempts, &c.CreatedAt, &c.next, &c.locked); err != nil {
				rows.Close()
				return nil, fmt.Errorf("chains: %w", err)
			}
			k := chainKey{c.EndpointID, c.Subject}
			if keys[k] {
				c.CreatedAt = c.CreatedAt.UTC()
				byKey[k] = append(byKey[k], c)
			}
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return nil, fmt.Errorf("chains: %w", err)
		}
	}
	out := make([]ClaimedDelivery, 0, len(heads))
	var extra []string
	done := map[chainKey]bool{}
	for _, h := range heads {
		k := chainKey{h.EndpointID, h.Subject}
		if done[k] {
			continue
		}
		done[k] = true
		// The chain: this transaction's heads first (the same seq, when an
		// event was replayed), then due deliveries until one is not due or
		// is another worker's.
		started := false
		for _, c := range byKey[k] {
			if ours[c.ID] {
				started = true
				c.State = DeliveryProcessing
				out = append(out, c.ClaimedDelivery)
				continue
			}
			due := (c.State == DeliveryPending && !c.next.After(now)) ||
				(c.State == DeliveryProcessing && c.locked.Valid && !c.locked.Time.After(now))
			if !started || !due || len(extra) >= limit {
				break
			}
			c.State = DeliveryProcessing
			out = append(out, c.ClaimedDelivery)
			extra = append(extra, c.ID)
		}
		if !started {
			// Not seen (cannot happen: the head was claimed in this
			// transaction); send the head alone.
			out = append(out, h)
		}
	}
	for i := 0; i < len(extra); i += 500 {
		cond, args := q.inList("id", extra[i:min(len(extra), i+500)], 2)
		if _, err := q.q.ExecContext(ctx, `UPDATE webhook_deliveries SET state = 'processing', locked_until = $1 WHERE `+cond,
			append([]any{until}, args...)...); err != nil {
			return nil, fmt.Errorf("chains: %w", err)
		}
	}
	return out, nil
}

// WebhookAttempt is one attempt of a delivery.
type WebhookAttempt struct {
	ID          string
	DeliveryID  string
	EndpointID  string
	EventID     string
	Status      int // HTTP status; 0 when no answer came
	Latency     time.Duration
	Response    string // the first bytes of the answer
	Error       string
	AttemptedAt time.Time
}

// DeliveryOutcome is what became of one attempt.
type DeliveryOutcome struct {
	Attempt   WebhookAttempt
	Delivered bool
	GiveUp    bool      // failed for good
	Next      time.Time // the next attempt, when neither delivered nor given up
}

// RecordWebhookAttempt records an attempt and its outcome: a delivering
// attempt in its delivery's row, another in a row of its own.
func (q Queries) RecordWebhookAttempt(ctx context.Context, o DeliveryOutcome) error {
	return q.RecordWebhookAttempts(ctx, []DeliveryOutcome{o})
}

// ReleaseWebhookDeliveries returns claimed deliveries to the queue without
// counting an attempt.
func (q Queries) ReleaseWebhookDeliveries(ctx context.Context, ids []string) error {
	for i := 0; i < len(ids); i += 500 {
		cond, args := q.inList("id", ids[i:min(len(ids), i+500)], 1)
		if _, err := q.q.ExecContext(ctx, `UPDATE webhook_deliveries SET state = 'pending', locked_until = NULL
			WHERE state = 'processing' AND `+cond, args...); err != nil {
			return fmt.Errorf("release webhook deliveries: %w", err)
		}
	}
	return nil
}

// SetWebhookFailing records that an endpoint is failing since since, or,
// with a nil since, that it answered.
func (q Queries) SetWebhookFailing(ctx context.Context, id string, since *time.Time) error {
	var err error
	if since == nil {
		_, err = q.q.ExecContext(ctx, `UPDATE webhook_endpoints SET failing_since = NULL WHERE id = $1 AND failing_since IS NOT NULL`, id)
	} else {
		_, err = q.q.ExecContext(ctx, `UPDATE webhook_endpoints SET failing_since = $1 WHERE id = $2 AND failing_since IS NULL`, Timestamp(*since), id)
	}
	if err != nil {
		return fmt.Errorf("set webhook failing: %w", err)
	}
	return nil
}

// DisableWebhookEndpoint disables an endpoint that is enabled; it reports
// whether it did.
func (q Queries) DisableWebhookEndpoint(ctx context.Context, id, reason string, at time.Time) (bool, error) {
	res, err := q.q.ExecContext(ctx, `UPDATE webhook_endpoints SET disabled_at = $1, disabled_reason = $2, updated_at = $1
		WHERE id = $3 AND disabled_at IS NULL`, Timestamp(at), reason, id)
	if err != nil {
		return false, fmt.Errorf("disable webhook endpoint: %w", err)
	}
	n, _ := res.RowsAffected()
	return n > 0, nil
}

// WebhookDeliveries lists an endpoint's newest deliveries, newest first,
// with their attempts (oldest first): those with rows of their own and the
// one that delivered, kept in the delivery's row.
func (q Queries) WebhookDeliveries(ctx context.Context, orgID, endpointID string, limit int) ([]WebhookDelivery, map[string][]WebhookAttempt, error) {
	// The finished deliveries through webhook_deliveries_endpoint, the
	// ones still due through webhook_deliveries_order (each index holds
	// only its own).
	const cols = `id, endpoint_id, org_id, event_id, seq, subject, state, attempts, next_attempt_at,
		last_status, last_error, created_at, delivered_at, latency_ms, response FROM webhook_deliveries WHERE org_id = $1 AND endpoint_id = $2`
	rows, err := q.q.QueryContext(ctx, `SELECT * FROM (SELECT `+cols+` AND state IN ('delivered', 'failed') ORDER BY created_at DESC, id DESC LIMIT $3) f
		UNION ALL SELECT `+cols+` AND state IN ('pending', 'processing')
		ORDER BY 12 DESC, 1 DESC LIMIT $3`, orgID, endpointID, limit)
	if err != nil {
		return nil, nil, fmt.Errorf("webhook deliveries: %w", err)
	}
	var out []WebhookDelivery
	// The attempts that delivered, kept in their deliveries' rows.
	var deliveredBy []WebhookAttempt
	for rows.Next() {
		var d WebhookDelivery
		var delivered sql.NullTime
		var latency sql.NullInt64
		var response string
		if err := rows.Scan(&d.ID, &d.EndpointID, &d.OrgID, &d.EventID, &d.Seq, &d.Subject, &d.State, &d.Attempts, &d.NextAttemptAt,
			&d.LastStatus, &d.LastError, &d.CreatedAt, &delivered, &latency, &response); err != nil {
			rows.Close()
			return nil, nil, fmt.Errorf("webhook deliveries: %w", err)
		}
		d.NextAttemptAt, d.CreatedAt, d.DeliveredAt = d.NextAttemptAt.UTC(), d.CreatedAt.UTC(), nullTimePtr(delivered)
		out = append(out, d)
		if latency.Valid && d.DeliveredAt != nil {
			deliveredBy = append(deliveredBy, WebhookAttempt{ID: d.ID, DeliveryID: d.ID, EndpointID: d.EndpointID, EventID: d.EventID,
				Status: d.LastStatus, Latency: time.Duration(latency.Int64) * time.Millisecond, Response: response, AttemptedAt: *d.DeliveredAt})
		}
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, nil, fmt.Errorf("webhook deliveries: %w", err)
	}
	attempts := map[string][]WebhookAttempt{}
	if len(out) == 0 {
		return out, attempts, nil
	}
	ids := make([]string, len(out))
	for i, d := range out {
		ids[i] = d.ID
	}
	cond, args := q.inList("delivery_id", ids, 1)
	arows, err := q.q.QueryContext(ctx, `SELECT id, delivery_id, endpoint_id, event_id, status, latency_ms, response, error, attempted_at
		FROM webhook_attempts WHERE `+cond+` ORDER BY attempted_at, id`, args...)
	if err != nil {
		return nil, nil, fmt.Errorf("webhook attempts: %w", err)
	}
	defer arows.Close()
	for arows.Next() {
		var a WebhookAttempt
		var ms int64
		if err := arows.Scan(&a.ID, &a.DeliveryID, &a.EndpointID, &a.EventID, &a.Status, &ms, &a.Response, &a.Error, &a.AttemptedAt); err != nil {
			return nil, nil, fmt.Errorf("webhook attempts: %w", err)
		}
		a.Latency, a.AttemptedAt = time.Duration(ms)*time.Millisecond, a.AttemptedAt.UTC()
		attempts[a.DeliveryID] = append(attempts[a.DeliveryID], a)
	}
	if err := arows.Err(); err != nil {
		return nil, nil, fmt.Errorf("webhook attempts: %w", err)
	}
	// The delivering attempt is the last one.
	for _, a := range deliveredBy {
		attempts[a.DeliveryID] = append(attempts[a.DeliveryID], a)
	}
	return out, attempts, nil
}

// CountWebhookDeliveries returns the number of deliveries in each state.
func (q Queries) CountWebhookDeliveries(ctx context.Context) (map[string]int, error) {
	rows, err := q.q.QueryContext(ctx, `SELECT state, COUNT(*) FROM webhook_deliveries GROUP BY state`)
	if err != nil {
		return nil, fmt.Errorf("count webhook deliveries: %w", err)
	}
	defer rows.Close()
	out := map[string]int{}
	for rows.Next() {
		var st string
		var n int
		if err := rows.Scan(&st, &n); err != nil {
			return nil, fmt.Errorf("count webhook deliveries: %w", err)
		}
		out[st] = n
	}
	return out, rows.Err()
}

// OrganizationAdminEmails returns the addresses of the users of an
// organization's own account(s) (kind "organization").
func (q Queries) OrganizationAdminEmails(ctx context.Context, orgID string) ([]string, error) {
	rows, err := q.q.QueryContext(ctx, `SELECT u.email FROM users u JOIN accounts a ON a.id = u.account_id
		WHERE u.org_id = $1 AND a.kind = 'organization' AND u.status = 'active' ORDER BY u.email`, orgID)
	if err != nil {
		return nil, fmt.Errorf("organization admin emails: %w", err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var e string
		if err := rows.Scan(&e); err != nil {
			return nil, fmt.Errorf("organization admin emails: %w", err)
		}
		out = append(out, e)
	}
	return out, rows.Err()
}

// RecordWebhookAttempts records many attempts and their outcomes at once.
// An attempt that delivered is recorded in its delivery's row (status,
// latency, first bytes of the answer, delivered_at as its time; see
// WebhookDeliveries): on PostgreSQL one statement for all of them, on
// SQLite multi-row updates. The others get rows of their own (multi-row
// inserts) and update their deliveries one by one.
func (q Queries) RecordWebhookAttempts(ctx context.Context, outs []DeliveryOutcome) error {
	var failed, delivered []DeliveryOutcome
	for _, o := range outs {
		if o.Delivered {
			delivered = append(delivered, o)
		} else {
			failed = append(failed, o)
		}
	}
	if err := q.insertAttempts(ctx, failed); err != nil {
		return err
	}
	for _, o := range failed {
		if err := q.finishAttempt(ctx, o); err != nil {
			return err
		}
	}
	return q.markDelivered(ctx, delivered)
}

// insertAttempts writes attempts in rows of their own.
func (q Queries) insertAttempts(ctx context.Context, outs []DeliveryOutcome) error {
	if len(outs) == 0 {
		return nil
	}
	if q.engine == Postgres {
		// One statement of a constant text, whatever the number of rows.
		var ids, deliveries, endpoints, evs, responses, errs []string
		statuses, latencies := make([]int64, len(outs)), make([]int64, len(outs))
		ats := make([]time.Time, len(outs))
		for i, o := range outs {
			a := o.Attempt
			ids, deliveries, endpoints, evs = append(ids, a.ID), append(deliveries, a.DeliveryID), append(endpoints, a.EndpointID), append(evs, a.EventID)
			responses, errs = append(responses, clipError(a.Response)), append(errs, clipError(a.Error))
			statuses[i], latencies[i], ats[i] = int64(a.Status), a.Latency.Milliseconds(), Timestamp(a.AttemptedAt)
		}
		if _, err := q.q.ExecContext(ctx, `INSERT INTO webhook_attempts (id, delivery_id, endpoint_id, event_id, status, latency_ms, response, error, attempted_at)
			SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::int[], $6::int[], $7::text[], $8::text[], $9::timestamptz[])`,
			ids, deliveries, endpoints, evs, statuses, latencies, responses, errs, ats); err != nil {
			return fmt.Errorf("record webhook attempts: %w", err)
		}
		return nil
	}
	return chunks(outs, 200, func(part []DeliveryOutcome) error {
		var sb strings.Builder
		sb.WriteString(`INSERT INTO webhook_attempts (id, delivery_id, endpoint_id, event_id, status, latency_ms, response, error, attempted_at) VALUES `)
		valuesList(&sb, len(part), 9)
		args := make([]any, 0, 9*len(part))
		for _, o := range part {
			a := o.Attempt
			args = append(args, a.ID, a.DeliveryID, a.EndpointID, a.EventID, a.Status, a.Latency.Milliseconds(),
				clipError(a.Response), clipError(a.Error), Timestamp(a.AttemptedAt))
		}
		if _, err := q.q.ExecContext(ctx, sb.String(), args...); err != nil {
			return fmt.Errorf("record webhook attempts: %w", err)
		}
		return nil
	})
}

// pgMarkDelivered records, on PostgreSQL, the attempts that delivered
// (one array per column) in their deliveries' rows
// (TestDispatchPlansUseKeys).
const pgMarkDelivered = `UPDATE webhook_deliveries d SET state = 'delivered', attempts = d.attempts + 1, locked_until = NULL,
		last_status = v.status, last_error = '', latency_ms = v.latency, response = v.response, delivered_at = v.at
	FROM unnest($1::text[], $2::int[], $3::int[], $4::text[], $5::timestamptz[]) AS v(id, status, latency, response, at)
	WHERE d.id = v.id`

// markDelivered records attempts that delivered in their deliveries' rows.
func (q Queries) markDelivered(ctx context.Context, outs []DeliveryOutcome) error {
	if len(outs) == 0 {
		return nil
	}
	if q.engine == Postgres {
		// One statement of a constant text, whatever the number of rows.
		deliveries, responses := make([]string, len(outs)), make([]string, len(outs))
		statuses, latencies := make([]int64, len(outs)), make([]int64, len(outs))
		ats := make([]time.Time, len(outs))
		for i, o := range outs {
			a := o.Attempt
			deliveries[i], responses[i] = a.DeliveryID, clipError(a.Response)
			statuses[i], latencies[i], ats[i] = int64(a.Status), a.Latency.Milliseconds(), Timestamp(a.AttemptedAt)
		}
		if _, err := q.q.ExecContext(ctx, pgMarkDelivered, deliveries, statuses, latencies, responses, ats); err != nil {
			return fmt.Errorf("record webhook attempts: %w", err)
		}
		return nil
	}
	return chunks(outs, 200, func(part []DeliveryOutcome) error {
		var sb strings.Builder
		sb.WriteString(`UPDATE webhook_deliveries SET state = 'delivered', attempts = attempts + 1, locked_until = NULL,
			last_status = v.column2, last_error = '', latency_ms = v.column3, response = v.column4, delivered_at = v.column5
			FROM (VALUES `)
		valuesList(&sb, len(part), 5)
		args := make([]any, 0, 5*len(part))
		for _, o := range part {
			a := o.Attempt
			args = append(args, a.DeliveryID, a.Status, a.Latency.Milliseconds(), clipError(a.Response), Timestamp(a.AttemptedAt))
		}
		sb.WriteString(`) AS v WHERE webhook_deliveries.id = v.column1`)
		if _, err := q.q.ExecContext(ctx, sb.String(), args...); err != nil {
			return fmt.Errorf("record webhook attempts: %w", err)
		}
		return nil
	})
}

// RecordDeliveredWebhookAttempts records attempts that all delivered, in
// their deliveries' rows (see RecordWebhookAttempts): on PostgreSQL in one
// statement (no transaction of its own to begin and commit), on SQLite in
// a transaction.
func (s *Store) RecordDeliveredWebhookAttempts(ctx context.Context, outs []DeliveryOutcome) error {
	if len(outs) == 0 {
		return nil
	}
	for _, o := range outs {
		if !o.Delivered {
			return fmt.Errorf("record delivered webhook attempts: attempt %s did not deliver", o.Attempt.ID)
		}
	}
	if s.engine != Postgres {
		return s.InTx(ctx, func(tx *Tx) error { return tx.RecordWebhookAttempts(ctx, outs) })
	}
	if err := s.Queries.markDelivered(ctx, outs); err != nil {
		return fmt.Errorf("record delivered webhook attempts: %w", err)
	}
	return nil
}

// finishAttempt writes the outcome of a failed attempt.
func (q Queries) finishAttempt(ctx context.Context, o DeliveryOutcome) error {
	a := o.Attempt
	var err error
	if o.GiveUp {
		_, err = q.q.ExecContext(ctx, `UPDATE webhook_deliveries SET state = 'failed', attempts = attempts + 1, locked_until = NULL,
			last_status = $1, last_error = $2 WHERE id = $3`, a.Status, clipError(a.Error), a.DeliveryID)
	} else {
		_, err = q.q.ExecContext(ctx, `UPDATE webhook_deliveries SET state = 'pending', attempts = attempts + 1, locked_until = NULL,
			last_status = $1, last_error = $2, next_attempt_at = $3 WHERE id = $4`, a.Status, clipError(a.Error), Timestamp(o.Next), a.DeliveryID)
	}
	if err != nil {
		return fmt.Errorf("record webhook attempt: %w", err)
	}
	return nil
}
