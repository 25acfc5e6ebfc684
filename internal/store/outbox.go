package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/onboard-dev/onboard/internal/domain"
)

// Outbox states.
const (
	OutboxQueued     = "queued"
	OutboxProcessing = "processing"
	OutboxSent       = "sent"
	OutboxAbandoned  = "abandoned"
)

// EnqueueMail writes a rendered mail to the outbox, due now, its bodies
// sealed (they hold links). Call it in the transaction of the change the mail
// is about.
func (q Queries) EnqueueMail(ctx context.Context, m domain.OutboxMail, now time.Time) error {
	text, err := q.sealBody(m.Text, outboxAD("text_body", m.ID))
	if err != nil {
		return fmt.Errorf("enqueue mail: %w", err)
	}
	html, err := q.sealBody(m.HTML, outboxAD("html_body", m.ID))
	if err != nil {
		return fmt.Errorf("enqueue mail: %w", err)
	}
	_, err = q.q.ExecContext(ctx, `INSERT INTO outbox (id, org_id, message_id, template, to_addr, subject, text_body, html_body,
		state, attempts, next_attempt_at, created_at, to_lower)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, 0, $10, $10, $11)`,
		m.ID, m.OrgID, m.MessageID, m.Template, m.To, m.Subject, text, html, OutboxQueued, Timestamp(now), domain.NormalizeEmail(m.To))
	if err != nil {
		return fmt.Errorf("enqueue mail: %w", mapErr(err))
	}
	return nil
}

// ClaimedMail is an outbox row leased for delivery.
type ClaimedMail struct {
	domain.OutboxMail
	Attempts  int
	CreatedAt time.Time
}

// ClaimMail leases up to limit due messages: queued ones whose next attempt is
// due, and processing ones whose lease ran out (a worker died). On PostgreSQL,
// concurrent workers on several nodes skip each other's rows. A message whose
// bodies no key of the keyring opens is abandoned (its last_error says why)
// instead of blocking the others.
func (s *Store) ClaimMail(ctx context.Context, now time.Time, limit int, lease time.Duration) ([]ClaimedMail, error) {
	if s.engine == Postgres {
		// One statement, committed on its own: one round trip instead of
		// three. The claim is what a transaction would commit.
		return s.claimMail(ctx, s.Queries, now, limit, lease)
	}
	var out []ClaimedMail
	err := s.InTx(ctx, func(tx *Tx) error {
		var err error
		out, err = s.claimMail(ctx, tx.Queries, now, limit, lease)
		return err
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// claimMail is ClaimMail on q (the pool on PostgreSQL, a transaction on
// SQLite). The messages no key opens are abandoned after the claim; should
// that fail, they are claimed again once their lease runs out.
func (s *Store) claimMail(ctx context.Context, q Queries, now time.Time, limit int, lease time.Duration) ([]ClaimedMail, error) {
	lock := s.engine.lock(forUpdateSkipLocked)
	now = Timestamp(now)
	var out []ClaimedMail
	// The state list is written as literals so that both engines use the
	// partial index outbox_due (next_attempt_at WHERE state IN (…)); a
	// processing row's next_attempt_at is never later than its lease.
	rows, err := q.q.QueryContext(ctx, `UPDATE outbox SET state = 'processing', locked_until = $1
		WHERE id IN (SELECT id FROM outbox
			WHERE state IN ('queued', 'processing') AND next_attempt_at <= $2
				AND (state = 'queued' OR locked_until <= $2)
			ORDER BY next_attempt_at LIMIT $3`+lock+`)
		RETURNING id, org_id, message_id, template, to_addr, subject, text_body, html_body, attempts, created_at`,
		now.Add(lease), now, limit)
	if err != nil {
		return nil, fmt.Errorf("claim mail: %w", err)
	}
	defer rows.Close()
	unreadable := map[string]string{}
	for rows.Next() {
		var m ClaimedMail
		if err := rows.Scan(&m.ID, &m.OrgID, &m.MessageID, &m.Template, &m.To, &m.Subject, &m.Text, &m.HTML, &m.Attempts, &m.CreatedAt); err != nil {
			return nil, fmt.Errorf("claim mail: %w", err)
		}
		m.CreatedAt = m.CreatedAt.UTC()
		var terr, herr error
		m.Text, terr = q.openBody(m.Text, outboxAD("text_body", m.ID))
		m.HTML, herr = q.openBody(m.HTML, outboxAD("html_body", m.ID))
		if err := errors.Join(terr, herr); err != nil {
			unreadable[m.ID] = err.Error()
			continue
		}
		out = append(out, m)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("claim mail: %w", err)
	}
	rows.Close()
	for id, msg := range unreadable {
		if err := q.MarkMailFailed(ctx, id, now, "cannot decrypt: "+msg, true); err != nil {
			return nil, fmt.Errorf("claim mail: %w", err)
		}
	}
	return out, nil
}

// MarkMailSent is Queries.MarkMailSent in one statement: committed on its
// own on PostgreSQL, in a transaction that queues for the writer slot on
// SQLite.
func (s *Store) MarkMailSent(ctx context.Context, id string, at time.Time) error {
	return s.MarkMailsSent(ctx, []string{id}, at)
}

// MarkMailsSent is Queries.MarkMailsSent, committed on its own on
// PostgreSQL, in a transaction that queues for the writer slot on SQLite.
func (s *Store) MarkMailsSent(ctx context.Context, ids []string, at time.Time) error {
	if s.engine == Postgres {
		return s.Queries.MarkMailsSent(ctx, ids, at)
	}
	return s.InTx(ctx, func(tx *Tx) error { return tx.MarkMailsSent(ctx, ids, at) })
}

// MarkMailSent records a delivered message and erases its bodies; the
// recipient, template, Message-ID, state and times stay.
func (q Queries) MarkMailSent(ctx context.Context, id string, at time.Time) error {
	return q.MarkMailsSent(ctx, []string{id}, at)
}

// MarkMailsSent is MarkMailSent for several messages, in one statement (on
// SQLite, one per sqliteBatchRows messages).
func (q Queries) MarkMailsSent(ctx context.Context, ids []string, at time.Time) error {
	const set = `UPDATE outbox SET state = $1, sent_at = $2, attempts = attempts + 1, locked_until = NULL, last_error = '',
		text_body = '', html_body = ''`
	err := chunks(ids, sqliteBatchRows, func(part []string) error {
		query, args := set+` WHERE id = ANY($3)`, []any{OutboxSent, Timestamp(at), part}
		if q.engine != Postgres {
			ph, in := placeholders(part, 3)
			query, args = set+` WHERE id IN (`+ph+`)`, append([]any{OutboxSent, Timestamp(at)}, in...)
		}
		_, err := q.q.ExecContext(ctx, query, args...)
		return err
	})
	if err != nil {
		return fmt.Errorf("mark mail sent: %w", err)
	}
	return nil
}

// MarkMailFailed records a failed attempt: retried at next, or abandoned
// (then its bodies are erased, as for a delivered message).
func (q Queries) MarkMailFailed(ctx context.Context, id string, next time.Time, lastErr string, abandon bool) error {
	state := OutboxQueued
	if abandon {
		state = OutboxAbandoned
	}
	lastErr = clipError(lastErr)
	_, err := q.q.ExecContext(ctx, `UPDATE outbox SET state = $1, attempts = attempts + 1, next_attempt_at = $2, locked_until = NULL, last_error = $3,
		text_body = CASE WHEN $1 = 'abandoned' THEN '' ELSE text_body END,
		html_body = CASE WHEN $1 = 'abandoned' THEN '' ELSE html_body END
		WHERE id = $4`, state, Timestamp(next), lastErr, id)
	if err != nil {
		return fmt.Errorf("mark mail failed: %w", err)
	}
	return nil
}

// ReleaseMail returns claimed, unsent messages to the queue at once.
func (q Queries) ReleaseMail(ctx context.Context, ids []string) error {
	for _, id := range ids {
		if _, err := q.q.ExecContext(ctx, `UPDATE outbox SET state = $1, locked_until = NULL WHERE id = $2 AND state = $3`,
			OutboxQueued, id, OutboxProcessing); err != nil {
			return fmt.Errorf("release mail: %w", err)
		}
	}
	return nil
}

// OutboxCounts returns the number of outbox rows in each state.
func (q Queries) OutboxCounts(ctx context.Context) (map[string]int, error) {
	rows, err := q.q.QueryContext(ctx, `SELECT state, COUNT(*) FROM outbox GROUP BY state`)
	if err != nil {
		return nil, fmt.Errorf("outbox counts: %w", err)
	}
	defer rows.Close()
	out := map[string]int{}
	for rows.Next() {
		var st string
		var n int
		if err := rows.Scan(&st, &n); err != nil {
			return nil, fmt.Errorf("outbox counts: %w", err)
		}
		out[st] = n
	}
	return out, rows.Err()
}

// normalizeOutboxRecipients fills to_lower of rows written before it existed.
func (s *Store) normalizeOutboxRecipients(ctx context.Context) error {
	for {
		rows, err := s.db.QueryContext(ctx, `SELECT id, to_addr FROM outbox WHERE to_lower = '' AND to_addr <> '' LIMIT 500`)
		if err != nil {
			return fmt.Errorf("normalize outbox recipients: %w", err)
		}
		type row struct{ id, to string }
		var todo []row
		for rows.Next() {
			var r row
			if err := rows.Scan(&r.id, &r.to); err != nil {
				rows.Close()
				return fmt.Errorf("normalize outbox recipients: %w", err)
			}
			todo = append(todo, r)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return fmt.Errorf("normalize outbox recipients: %w", err)
		}
		if len(todo) == 0 {
			return nil
		}
		err = s.InTx(ctx, func(tx *Tx) error {
			for _, r := range todo {
				lower := domain.NormalizeEmail(r.to)
				if lower == "" {
					lower = " " // nothing to normalize; not visited again
				}
				if _, err := tx.q.ExecContext(ctx, `UPDATE outbox SET to_lower = $1 WHERE id = $2`, lower, r.id); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			return fmt.Errorf("normalize outbox recipients: %w", err)
		}
	}
}

// OldestUndeliveredMail returns the creation time of the oldest message
// neither delivered nor abandoned, and false when there is none.
func (q Queries) OldestUndeliveredMail(ctx context.Context) (time.Time, bool, error) {
	var at time.Time
	err := q.q.QueryRowContext(ctx, `SELECT created_at FROM outbox WHERE state IN ('queued', 'processing')
		ORDER BY created_at LIMIT 1`).Scan(&at)
	if errors.Is(err, sql.ErrNoRows) {
		return time.Time{}, false, nil
	}
	if err != nil {
		return time.Time{}, false, fmt.Errorf("oldest undelivered mail: %w", err)
	}
	return at.UTC(), true, nil
}
