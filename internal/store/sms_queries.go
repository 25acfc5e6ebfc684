package store

import (
	"context"
	"fmt"
	"time"
)

// SMS is a text message in the SMS outbox. Its body (it holds a
// provisioning link) is sealed at rest and erased once sent or abandoned.
type SMS struct {
	ID        string
	OrgID     string
	To        string // E.164
	Body      string
	Attempts  int
	CreatedAt time.Time
}

func smsAD(id string) string { return "sms_outbox.body:" + id }

// EnqueueSMS writes a text message to the SMS outbox, due now. Call it in
// the transaction of the change it is about.
func (q Queries) EnqueueSMS(ctx context.Context, m SMS, now time.Time) error {
	body, err := q.seal(m.Body, smsAD(m.ID))
	if err != nil {
		return fmt.Errorf("enqueue sms: %w", err)
	}
	_, err = q.q.ExecContext(ctx, `INSERT INTO sms_outbox (id, org_id, to_phone, body, state, attempts, next_attempt_at, created_at)
		VALUES ($1, $2, $3, $4, $5, 0, $6, $6)`, m.ID, m.OrgID, m.To, body, OutboxQueued, Timestamp(now))
	if err != nil {
		return fmt.Errorf("enqueue sms: %w", mapErr(err))
	}
	return nil
}

// ClaimSMS leases up to limit due text messages, like ClaimMail: queued ones
// due now and processing ones whose lease ran out. A message whose body no
// key opens is abandoned.
func (s *Store) ClaimSMS(ctx context.Context, now time.Time, limit int, lease time.Duration) ([]SMS, error) {
	lock := s.engine.lock(forUpdateSkipLocked)
	now = Timestamp(now)
	var out []SMS
	err := s.InTx(ctx, func(tx *Tx) error {
		rows, err := tx.q.QueryContext(ctx, `UPDATE sms_outbox SET state = 'processing', locked_until = $1
			WHERE id IN (SELECT id FROM sms_outbox
				WHERE state IN ('queued', 'processing') AND next_attempt_at <= $2
					AND (state = 'queued' OR locked_until <= $2)
				ORDER BY next_attempt_at LIMIT $3`+lock+`)
			RETURNING id, org_id, to_phone, body, attempts, created_at`, now.Add(lease), now, limit)
		if err != nil {
			return fmt.Errorf("claim sms: %w", err)
		}
		defer rows.Close()
		unreadable := map[string]string{}
		for rows.Next() {
			var m SMS
			if err := rows.Scan(&m.ID, &m.OrgID, &m.To, &m.Body, &m.Attempts, &m.CreatedAt); err != nil {
				return fmt.Errorf("claim sms: %w", err)
			}
			m.CreatedAt = m.CreatedAt.UTC()
			if m.Body, err = tx.unseal(m.Body, smsAD(m.ID)); err != nil {
				unreadable[m.ID] = err.Error()
				continue
			}
			out = append(out, m)
		}
		if err := rows.Err(); err != nil {
			return fmt.Errorf("claim sms: %w", err)
		}
		rows.Close()
		for id, msg := range unreadable {
			if err := tx.MarkSMSFailed(ctx, id, now, "cannot decrypt: "+msg, true); err != nil {
				return fmt.Errorf("claim sms: %w", err)
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// MarkSMSSent records a delivered text message and erases its body.
func (q Queries) MarkSMSSent(ctx context.Context, id string, at time.Time) error {
	_, err := q.q.ExecContext(ctx, `UPDATE sms_outbox SET state = $1, sent_at = $2, attempts = attempts + 1, locked_until = NULL,
		last_error = '', body = '' WHERE id = $3`, OutboxSent, Timestamp(at), id)
	if err != nil {
		return fmt.Errorf("mark sms sent: %w", err)
	}
	return nil
}

// MarkSMSFailed records a failed attempt: retried at next, or abandoned
// (its body erased).
func (q Queries) MarkSMSFailed(ctx context.Context, id string, next time.Time, lastErr string, abandon bool) error {
	state := OutboxQueued
	if abandon {
		state = OutboxAbandoned
	}
	_, err := q.q.ExecContext(ctx, `UPDATE sms_outbox SET state = $1, attempts = attempts + 1, next_attempt_at = $2, locked_until = NULL,
		last_error = $3, body = CASE WHEN $1 = 'abandoned' THEN '' ELSE body END WHERE id = $4`,
		state, Timestamp(next), clipError(lastErr), id)
	if err != nil {
		return fmt.Errorf("mark sms failed: %w", err)
	}
	return nil
}

// ReleaseSMS returns claimed, unsent text messages to the queue at once.
func (q Queries) ReleaseSMS(ctx context.Context, ids []string) error {
	for _, id := range ids {
		if _, err := q.q.ExecContext(ctx, `UPDATE sms_outbox SET state = $1, locked_until = NULL WHERE id = $2 AND state = $3`,
			OutboxQueued, id, OutboxProcessing); err != nil {
			return fmt.Errorf("release sms: %w", err)
		}
	}
	return nil
}

// SMSState returns the state, attempts and last error of a text message.
func (q Queries) SMSState(ctx context.Context, id string) (state string, attempts int, lastErr string, err error) {
	err = q.q.QueryRowContext(ctx, `SELECT state, attempts, last_error FROM sms_outbox WHERE id = $1`, id).Scan(&state, &attempts, &lastErr)
	if err != nil {
		return "", 0, "", fmt.Errorf("sms state: %w", mapErr(err))
	}
	return state, attempts, lastErr, nil
}

// DeleteFinishedSMS deletes text messages sent or abandoned longer than
// retention ago (their bodies were erased already); the janitor calls it.
// Expired installation codes of owners' devices stay with their devices.
func (q Queries) DeleteFinishedSMS(ctx context.Context, now time.Time, retention time.Duration) (int64, error) {
	cutoff := Timestamp(now.Add(-retention))
	res, err := q.q.ExecContext(ctx, `DELETE FROM sms_outbox WHERE (state = 'sent' AND sent_at <= $1)
		OR (state = 'abandoned' AND next_attempt_at <= $1)`, cutoff)
	if err != nil {
		return 0, fmt.Errorf("delete finished sms: %w", err)
	}
	n, _ := res.RowsAffected()
	return n, nil
}
