package store

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/onboard-dev/onboard/internal/domain"
	"github.com/onboard-dev/onboard/internal/funnel"
)

// Statements for many rows at once, for the job worker's batches: each is
// one round trip whatever the number of rows. On PostgreSQL the rows travel
// as arrays (unnest), so each statement has one text and one prepared plan;
// on SQLite as a VALUES list of up to sqliteBatchRows rows, the statement
// cache then holding one text per row count.

// sqliteBatchRows is the most rows one multi-row statement carries on
// SQLite; more are written in several statements.
const sqliteBatchRows = 64

// valuesList writes rows groups of cols placeholders, "($1, $2), ($3, $4)".
func valuesList(b *strings.Builder, rows, cols int) {
	n := 1
	for r := range rows {
		if r > 0 {
			b.WriteString(", ")
		}
		b.WriteByte('(')
		for c := range cols {
			if c > 0 {
				b.WriteString(", ")
			}
			fmt.Fprintf(b, "$%d", n)
			n++
		}
		b.WriteByte(')')
	}
}

// chunks calls f with consecutive slices of s of at most size elements.
func chunks[T any](s []T, size int, f func([]T) error) error {
	for len(s) > 0 {
		n := min(len(s), size)
		if err := f(s[:n]); err != nil {
			return err
		}
		s = s[n:]
	}
	return nil
}

// normalizedEmails returns the distinct normalized addresses of emails.
func normalizedEmails(emails []string) []string {
	out := make([]string, 0, len(emails))
	for _, e := range emails {
		out = append(out, domain.NormalizeEmail(e))
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// Statements that look addresses up on PostgreSQL one at a time, each by
// an index lookup on (org_id, email_lower): the addresses of $n[] are
// unnested, and each is looked up in a LATERAL subquery that OFFSET 0 keeps
// from being pulled up into a join, so the lookup can only run as the inner
// side of a nested loop, once per address, with the address as an index
// condition. The plain form (org_id = $1 AND email_lower = ANY($2)) got a
// generic plan that took org_id (and state) as the index condition and
// filtered every row of the organization against every address: the
// prepared statement settles on that plan when the table was small at its
// last ANALYZE, keeps it while the table grows, and then each batch of the
// job worker compares every pending signup of the organization with every
// address of the batch (TestAddressLookupsUseTheIndex).
const (
	// pgEmailsRegistered returns the addresses of $2 that a user of
	// organization $1 has.
	pgEmailsRegistered = `SELECT x.email_lower FROM unnest($2::text[]) AS u(e),
  LATERAL (SELECT email_lower FROM users WHERE org_id = $1 AND email_lower = u.e OFFSET 0) x`
	// pgSupersedePendingSignupsOf sets to $1 the state of the signups of
	// organization $2 to the addresses of $3 that are in state $4
	// (signups_pending), found first and then updated by primary key;
	// the state is checked again on the row updated, as a row changed
	// meanwhile by another transaction is read anew.
	pgSupersedePendingSignupsOf = `UPDATE signups SET state = $1 WHERE state = $4 AND id = ANY(ARRAY(
  SELECT p.id FROM unnest($3::text[]) AS u(e),
    LATERAL (SELECT id FROM signups WHERE org_id = $2 AND email_lower = u.e AND state = $4 OFFSET 0) p))`
)

// EmailsRegistered returns which of the addresses a user of the
// organization has, by normalized address (domain.NormalizeEmail).
func (q Queries) EmailsRegistered(ctx context.Context, orgID string, emails []string) (map[string]bool, error) {
	out := map[string]bool{}
	err := chunks(normalizedEmails(emails), sqliteBatchRows, func(part []string) error {
		query, args := pgEmailsRegistered, []any{orgID, part}
		if q.engine != Postgres {
			ph, in := placeholders(part, 2)
			query, args = `SELECT email_lower FROM users WHERE org_id = $1 AND email_lower IN (`+ph+`)`, append([]any{orgID}, in...)
		}
		rows, err := q.q.QueryContext(ctx, query, args...)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var e string
			if err := rows.Scan(&e); err != nil {
				return err
			}
			out[e] = true
		}
		return rows.Err()
	})
	if err != nil {
		return nil, fmt.Errorf("emails registered: %w", err)
	}
	return out, nil
}

// SupersedePendingSignupsOf is SupersedePendingSignups for several
// addresses of an organization.
func (q Queries) SupersedePendingSignupsOf(ctx context.Context, orgID string, emails []string) error {
	err := chunks(normalizedEmails(emails), sqliteBatchRows, func(part []string) error {
		query, args := pgSupersedePendingSignupsOf, []any{domain.SignupSuperseded, orgID, part, domain.SignupPending}
		if q.engine != Postgres {
			ph, in := placeholders(part, 4)
			query = `UPDATE signups SET state = $1 WHERE org_id = $2 AND state = $3 AND email_lower IN (` + ph + `)`
			args = append([]any{domain.SignupSuperseded, orgID, domain.SignupPending}, in...)
		}
		_, err := q.q.ExecContext(ctx, query, args...)
		return err
	})
	if err != nil {
		return fmt.Errorf("supersede signups: %w", err)
	}
	return nil
}

const signupColumns = `id, org_id, email, email_lower, account_type, token_hash, state, created_at, expires_at, language, purpose`

// CreateSignups inserts signups, in one statement on PostgreSQL.
func (q Queries) CreateSignups(ctx context.Context, ss []domain.Signup) error {
	if len(ss) == 0 {
		return nil
	}
	var err error
	if q.engine == Postgres {
		var id, org, email, lower, typ, state, lang, purpose []string
		var hash [][]byte
		var created, expires []time.Time
		for _, s := range ss {
			id, org, email, lower = append(id, s.ID), append(org, s.OrgID), append(email, s.Email), append(lower, domain.NormalizeEmail(s.Email))
			typ, hash, state = append(typ, s.AccountType), append(hash, s.TokenHash), append(state, s.State)
			created, expires = append(created, Timestamp(s.CreatedAt)), append(expires, Timestamp(s.ExpiresAt))
			lang, purpose = append(lang, s.Language), append(purpose, s.Purpose)
		}
		_, err = q.q.ExecContext(ctx, `INSERT INTO signups (`+signupColumns+`)
			SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::bytea[], $7::text[],
				$8::timestamptz[], $9::timestamptz[], $10::text[], $11::text[])`,
			id, org, email, lower, typ, hash, state, created, expires, lang, purpose)
	} else {
		err = chunks(ss, sqliteBatchRows, func(part []domain.Signup) error {
			var b strings.Builder
			b.WriteString(`INSERT INTO signups (` + signupColumns + `) VALUES `)
			valuesList(&b, len(part), 11)
			args := make([]any, 0, 11*len(part))
			for _, s := range part {
				args = append(args, s.ID, s.OrgID, s.Email, domain.NormalizeEmail(s.Email), s.AccountType, s.TokenHash, s.State,
					Timestamp(s.CreatedAt), Timestamp(s.ExpiresAt), s.Language, s.Purpose)
			}
			_, err := q.q.ExecContext(ctx, b.String(), args...)
			return err
		})
	}
	if err != nil {
		return fmt.Errorf("create signups: %w", mapErr(err))
	}
	return nil
}

// FunnelStart is a registration link made, for FunnelSignupsStarted.
type FunnelStart struct {
	SignupID    string
	OrgID       string
	AccountType string
	At          time.Time
}

// FunnelSignupsStarted is FunnelSignupStarted for several links: one
// statement for their subjects and one for the day counters (on SQLite,
// one per sqliteBatchRows links).
func (q Queries) FunnelSignupsStarted(ctx context.Context, starts []FunnelStart) error {
	if len(starts) == 0 {
		return nil
	}
	type dayKey struct{ org, day, accountType string }
	counts := map[dayKey]int64{}
	for _, s := range starts {
		counts[dayKey{s.OrgID, funnelDay(s.At), s.AccountType}]++
	}
	keys := make([]dayKey, 0, len(counts))
	for k := range counts {
		keys = append(keys, k)
	}
	// One order for every writer, so that two batches never wait for each
	// other's rows in opposite orders.
	slices.SortFunc(keys, func(a, b dayKey) int {
		return cmp.Or(cmp.Compare(a.org, b.org), cmp.Compare(a.day, b.day), cmp.Compare(a.accountType, b.accountType))
	})
	const upsert = ` ON CONFLICT (org_id, day, account_type, step) DO UPDATE SET count = funnel_daily.count + excluded.count`
	if q.engine == Postgres {
		var id, org, typ []string
		var at []time.Time
		for _, s := range starts {
			id, org, typ, at = append(id, s.SignupID), append(org, s.OrgID), append(typ, s.AccountType), append(at, Timestamp(s.At))
		}
		if _, err := q.q.ExecContext(ctx, `INSERT INTO funnel_subjects (signup_id, org_id, account_type, started_at)
			SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::timestamptz[])`, id, org, typ, at); err != nil {
			return fmt.Errorf("funnel start: %w", mapErr(err))
		}
		var korg, kday, ktyp []string
		var n []int64
		for _, k := range keys {
			korg, kday, ktyp, n = append(korg, k.org), append(kday, k.day), append(ktyp, k.accountType), append(n, counts[k])
		}
		if _, err := q.q.ExecContext(ctx, `INSERT INTO funnel_daily (org_id, day, account_type, step, count, durations)
			SELECT o, d, t, $4, c, '' FROM unnest($1::text[], $2::text[], $3::text[], $5::bigint[]) AS u(o, d, t, c)`+upsert,
			korg, kday, ktyp, funnel.StepSignupStarted, n); err != nil {
			return fmt.Errorf("funnel %s: %w", funnel.StepSignupStarted, err)
		}
		return nil
	}
	err := chunks(starts, sqliteBatchRows, func(part []FunnelStart) error {
		var b strings.Builder
		b.WriteString(`INSERT INTO funnel_subjects (signup_id, org_id, account_type, started_at) VALUES `)
		valuesList(&b, len(part), 4)
		args := make([]any, 0, 4*len(part))
		for _, s := range part {
			args = append(args, s.SignupID, s.OrgID, s.AccountType, Timestamp(s.At))
		}
		_, err := q.q.ExecContext(ctx, b.String(), args...)
		return err
	})
	if err != nil {
		return fmt.Errorf("funnel start: %w", mapErr(err))
	}
	err = chunks(keys, sqliteBatchRows, func(part []dayKey) error {
		var b strings.Builder
		b.WriteString(`INSERT INTO funnel_daily (org_id, day, account_type, step, count, durations) VALUES `)
		valuesList(&b, len(part), 6)
		b.WriteString(upsert)
		args := make([]any, 0, 6*len(part))
		for _, k := range part {
			args = append(args, k.org, k.day, k.accountType, funnel.StepSignupStarted, counts[k], "")
		}
		_, err := q.q.ExecContext(ctx, b.String(), args...)
		return err
	})
	if err != nil {
		return fmt.Errorf("funnel %s: %w", funnel.StepSignupStarted, err)
	}
	return nil
}

const outboxInsertColumns = `id, org_id, message_id, template, to_addr, subject, text_body, html_body,
		state, attempts, next_attempt_at, created_at, to_lower, locked_until`

// EnqueueMails is EnqueueMail for several mails, in one statement on
// PostgreSQL.
func (q Queries) EnqueueMails(ctx context.Context, ms []domain.OutboxMail, now time.Time) error {
	return q.enqueueMails(ctx, ms, now, time.Time{})
}

// EnqueueLeasedMails is EnqueueMails for mails this node's mail worker is
// handed in memory once the transaction commits: they are written already
// claimed (processing, leased until until), so the worker sends them without
// claiming them; should the node die first, the lease runs out and any
// node's worker claims them, as a crashed worker's claim.
func (q Queries) EnqueueLeasedMails(ctx context.Context, ms []domain.OutboxMail, now, until time.Time) error {
	return q.enqueueMails(ctx, ms, now, until)
}

// SealedMails are outbox mails whose bodies are sealed already (SealMails),
// for EnqueueSealedMails: sealing them before a transaction keeps the
// encryption out of it (and out of SQLite's writer slot).
type SealedMails struct {
	ms           []domain.OutboxMail
	texts, htmls []string
}

// SealMails seals the bodies of ms as EnqueueMails would. It writes nothing
// and may run outside a transaction.
func (q Queries) SealMails(ms []domain.OutboxMail) (SealedMails, error) {
	out := SealedMails{ms: ms, texts: make([]string, len(ms)), htmls: make([]string, len(ms))}
	for i, m := range ms {
		var err error
		if out.texts[i], err = q.sealBody(m.Text, outboxAD("text_body", m.ID)); err != nil {
			return SealedMails{}, fmt.Errorf("seal mail: %w", err)
		}
		if out.htmls[i], err = q.sealBody(m.HTML, outboxAD("html_body", m.ID)); err != nil {
			return SealedMails{}, fmt.Errorf("seal mail: %w", err)
		}
	}
	return out, nil
}

// EnqueueSealedMails is EnqueueMails (until zero) or EnqueueLeasedMails for
// mails sealed by SealMails under this store's keyring.
func (q Queries) EnqueueSealedMails(ctx context.Context, sm SealedMails, now, until time.Time) error {
	return q.writeMails(ctx, sm, now, until)
}

// enqueueMails writes ms, queued when until is zero, else leased until it.
func (q Queries) enqueueMails(ctx context.Context, ms []domain.OutboxMail, now, until time.Time) error {
	if len(ms) == 0 {
		return nil
	}
	sm, err := q.SealMails(ms)
	if err != nil {
		return fmt.Errorf("enqueue mail: %w", err)
	}
	return q.writeMails(ctx, sm, now, until)
}

// writeMails writes sealed mails, queued when until is zero, else leased
// until it.
func (q Queries) writeMails(ctx context.Context, sm SealedMails, now, until time.Time) error {
	ms, texts, htmls := sm.ms, sm.texts, sm.htmls
	if len(ms) == 0 {
		return nil
	}
	now = Timestamp(now)
	state, lockedUntil := OutboxQueued, any(nil)
	if !until.IsZero() {
		state, lockedUntil = OutboxProcessing, Timestamp(until)
	}
	var err error
	if q.engine == Postgres {
		var id, org, msgID, tmpl, to, subject, lower []string
		for _, m := range ms {
			id, org, msgID, tmpl = append(id, m.ID), append(org, m.OrgID), append(msgID, m.MessageID), append(tmpl, m.Template)
			to, subject, lower = append(to, m.To), append(subject, m.Subject), append(lower, domain.NormalizeEmail(m.To))
		}
		_, err = q.q.ExecContext(ctx, `INSERT INTO outbox (`+outboxInsertColumns+`)
			SELECT i, o, mi, t, ta, s, tb, hb, $9, 0, $10, $10, tl, $12::timestamptz
			FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[], $8::text[], $11::text[])
				AS u(i, o, mi, t, ta, s, tb, hb, tl)`,
			id, org, msgID, tmpl, to, subject, texts, htmls, state, now, lower, lockedUntil)
	} else {
		idx := make([]int, len(ms))
		for i := range idx {
			idx[i] = i
		}
		err = chunks(idx, sqliteBatchRows, func(part []int) error {
			var b strings.Builder
			b.WriteString(`INSERT INTO outbox (` + outboxInsertColumns + `) VALUES `)
			valuesList(&b, len(part), 14)
			args := make([]any, 0, 14*len(part))
			for _, i := range part {
				m := ms[i]
				args = append(args, m.ID, m.OrgID, m.MessageID, m.Template, m.To, m.Subject, texts[i], htmls[i],
					state, 0, now, now, domain.NormalizeEmail(m.To), lockedUntil)
			}
			_, err := q.q.ExecContext(ctx, b.String(), args...)
			return err
		})
	}
	if err != nil {
		return fmt.Errorf("enqueue mail: %w", mapErr(err))
	}
	return nil
}

// DeleteQueuedJobs removes the jobs of ids that are still queued, in one
// statement (on SQLite, one per sqliteBatchRows jobs), and returns how many
// it removed: fewer than len(ids) tells that some were done, failed or
// removed by another worker since they were read.
func (q Queries) DeleteQueuedJobs(ctx context.Context, ids []string) (int, error) {
	n := 0
	err := chunks(ids, sqliteBatchRows, func(part []string) error {
		query, args := `DELETE FROM jobs WHERE state = $1 AND id = ANY($2)`, []any{JobQueued, part}
		if q.engine != Postgres {
			ph, in := placeholders(part, 2)
			query, args = `DELETE FROM jobs WHERE state = $1 AND id IN (`+ph+`)`, append([]any{JobQueued}, in...)
		}
		res, err := q.q.ExecContext(ctx, query, args...)
		if err != nil {
			return err
		}
		k, err := res.RowsAffected()
		n += int(k)
		return err
	})
	if err != nil {
		return n, fmt.Errorf("delete queued jobs: %w", err)
	}
	return n, nil
}
