package store

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"
)

// Job states.
const (
	JobQueued = "queued"
	JobFailed = "failed"
)

// Job is a request waiting for the job worker: its kind names what to do,
// its payload (JSON) holds the request as it came. A job holds no secret.
type Job struct {
	ID         string
	OrgID      string // "" when the request names no organization
	Kind       string
	EmailLower string // the normalized address the request names, for purges
	Payload    string
	Attempts   int
	CreatedAt  time.Time
}

// EnqueueJob writes a job, due now, in one statement: on PostgreSQL without
// a transaction of its own (one round trip instead of three), on SQLite in
// one that queues for the writer slot like every write.
func (s *Store) EnqueueJob(ctx context.Context, j Job, now time.Time) error {
	if s.engine == Postgres {
		return s.Queries.EnqueueJob(ctx, j, now)
	}
	return s.InTx(ctx, func(tx *Tx) error { return tx.EnqueueJob(ctx, j, now) })
}

// EnqueueJobs writes jobs, jobs[i] due at[i], in one statement on
// PostgreSQL (one commit for all of them) and in one transaction on SQLite
// (one statement per sqliteBatchRows jobs). Either all are written or none.
func (s *Store) EnqueueJobs(ctx context.Context, jobs []Job, at []time.Time) error {
	if len(jobs) != len(at) {
		return fmt.Errorf("enqueue jobs: %d jobs and %d times", len(jobs), len(at))
	}
	if s.engine != Postgres {
		return s.InTx(ctx, func(tx *Tx) error { return tx.enqueueJobsSQLite(ctx, jobs, at) })
	}
	n := len(jobs)
	ids, orgs, kinds, emails, payloads := make([]string, n), make([]string, n), make([]string, n), make([]string, n), make([]string, n)
	times := make([]time.Time, n)
	for i, j := range jobs {
		ids[i], orgs[i], kinds[i], emails[i], payloads[i], times[i] = j.ID, j.OrgID, j.Kind, j.EmailLower, j.Payload, Timestamp(at[i])
	}
	_, err := s.Queries.q.ExecContext(ctx, `INSERT INTO jobs (id, org_id, kind, email_lower, payload, state, attempts, next_attempt_at, created_at)
		SELECT id, org_id, kind, email_lower, payload, $7, 0, at, at
		FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::timestamptz[]) AS j(id, org_id, kind, email_lower, payload, at)`,
		ids, orgs, kinds, emails, payloads, times, JobQueued)
	if err != nil {
		return fmt.Errorf("enqueue %d jobs: %w", n, mapErr(err))
	}
	return nil
}

// enqueueJobsSQLite is EnqueueJobs in tx on SQLite: a VALUES list per
// sqliteBatchRows jobs.
func (q Queries) enqueueJobsSQLite(ctx context.Context, jobs []Job, at []time.Time) error {
	idx := make([]int, len(jobs))
	for i := range idx {
		idx[i] = i
	}
	err := chunks(idx, sqliteBatchRows, func(part []int) error {
		var b strings.Builder
		b.WriteString(`INSERT INTO jobs (id, org_id, kind, email_lower, payload, state, attempts, next_attempt_at, created_at) VALUES `)
		valuesList(&b, len(part), 9)
		args := make([]any, 0, 9*len(part))
		for _, i := range part {
			j, t := jobs[i], Timestamp(at[i])
			args = append(args, j.ID, j.OrgID, j.Kind, j.EmailLower, j.Payload, JobQueued, 0, t, t)
		}
		_, err := q.q.ExecContext(ctx, b.String(), args...)
		return err
	})
	if err != nil {
		return fmt.Errorf("enqueue %d jobs: %w", len(jobs), mapErr(err))
	}
	return nil
}

// EnqueueJob writes a job, due now.
func (q Queries) EnqueueJob(ctx context.Context, j Job, now time.Time) error {
	_, err := q.q.ExecContext(ctx, `INSERT INTO jobs (id, org_id, kind, email_lower, payload, state, attempts, next_attempt_at, created_at)
		VALUES ($1, $2, $3, $4, $5, $6, 0, $7, $7)`,
		j.ID, j.OrgID, j.Kind, j.EmailLower, j.Payload, JobQueued, Timestamp(now))
	if err != nil {
		return fmt.Errorf("enqueue job: %w", mapErr(err))
	}
	return nil
}

// NextJob returns the queued job that is due first, or domain.ErrNotFound.
// Call it in a Tx and delete the job in the same Tx once it is done: on
// PostgreSQL the row stays locked until then, and workers of other processes
// skip it; SQLite transactions are serialized already.
func (q Queries) NextJob(ctx context.Context, now time.Time) (Job, error) {
	var j Job
	err := q.q.QueryRowContext(ctx, `SELECT id, org_id, kind, email_lower, payload, attempts, created_at FROM jobs
		WHERE state = 'queued' AND next_attempt_at <= $1 ORDER BY next_attempt_at LIMIT 1`+q.engine.lock(forUpdateSkipLocked),
		Timestamp(now)).Scan(&j.ID, &j.OrgID, &j.Kind, &j.EmailLower, &j.Payload, &j.Attempts, &j.CreatedAt)
	if err != nil {
		return j, fmt.Errorf("next job: %w", mapErr(err))
	}
	j.CreatedAt = j.CreatedAt.UTC()
	return j, nil
}

// NextJobs returns up to limit queued jobs that are due, the first due
// first, without taking them: the SQLite job worker reads a batch with it
// outside a transaction, and then takes the jobs with DeleteQueuedJobs,
// which tells whether they were still queued. In a Tx on PostgreSQL their
// rows stay locked until it ends (FOR UPDATE SKIP LOCKED). To take jobs in
// one statement, see ClaimJobs.
func (q Queries) NextJobs(ctx context.Context, now time.Time, limit int) ([]Job, error) {
	rows, err := q.q.QueryContext(ctx, `SELECT id, org_id, kind, email_lower, payload, attempts, created_at FROM jobs
		WHERE state = 'queued' AND next_attempt_at <= $1 ORDER BY next_attempt_at LIMIT $2`+q.engine.lock(forUpdateSkipLocked),
		Timestamp(now), limit)
	if err != nil {
		return nil, fmt.Errorf("next jobs: %w", err)
	}
	defer rows.Close()
	var out []Job
	for rows.Next() {
		var j Job
		if err := rows.Scan(&j.ID, &j.OrgID, &j.Kind, &j.EmailLower, &j.Payload, &j.Attempts, &j.CreatedAt); err != nil {
			return nil, fmt.Errorf("next jobs: %w", err)
		}
		j.CreatedAt = j.CreatedAt.UTC()
		out = append(out, j)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("next jobs: %w", err)
	}
	return out, nil
}

// ClaimJobs deletes up to limit queued jobs that are due and returns them,
// the first due first. Call it in a Tx and run the jobs in it: they are
// gone once it commits, and back in the queue if it rolls back. On
// PostgreSQL the rows are chosen FOR UPDATE SKIP LOCKED, so workers of
// other processes skip them while the Tx lasts and each job is run by one
// worker. It reads and deletes in one statement: one round trip less per
// batch than a read and a delete, and each row found once instead of looked
// up again by primary key (SKIP LOCKED still writes each row's lock into
// the WAL).
func (q Queries) ClaimJobs(ctx context.Context, now time.Time, limit int) ([]Job, error) {
	// On PostgreSQL the rows locked are deleted where they lie (a TID scan
	// of their ctids), not looked up again by primary key: a locked row
	// cannot move until the transaction ends. A row changed and committed
	// by another transaction since this statement's snapshot is locked in
	// its new version, which the deletion does not see: it is neither
	// deleted nor returned, and stays queued for a later claim.
	query := `DELETE FROM jobs WHERE ctid = ANY(ARRAY(
			SELECT ctid FROM jobs WHERE state = 'queued' AND next_attempt_at <= $1
			ORDER BY next_attempt_at LIMIT $2 FOR UPDATE SKIP LOCKED))`
	if q.engine != Postgres {
		query = `DELETE FROM jobs WHERE id IN (
			SELECT id FROM jobs WHERE state = 'queued' AND next_attempt_at <= $1 ORDER BY next_attempt_at LIMIT $2)`
	}
	rows, err := q.q.QueryContext(ctx, query+`
		RETURNING id, org_id, kind, email_lower, payload, attempts, created_at, next_attempt_at`, Timestamp(now), limit)
	if err != nil {
		return nil, fmt.Errorf("claim jobs: %w", err)
	}
	defer rows.Close()
	type dueJob struct {
		j  Job
		at time.Time
	}
	var got []dueJob
	for rows.Next() {
		var d dueJob
		j := &d.j
		if err := rows.Scan(&j.ID, &j.OrgID, &j.Kind, &j.EmailLower, &j.Payload, &j.Attempts, &j.CreatedAt, &d.at); err != nil {
			return nil, fmt.Errorf("claim jobs: %w", err)
		}
		j.CreatedAt = j.CreatedAt.UTC()
		got = append(got, d)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("claim jobs: %w", err)
	}
	// RETURNING keeps no order.
	slices.SortStableFunc(got, func(a, b dueJob) int { return a.at.Compare(b.at) })
	out := make([]Job, len(got))
	for i, d := range got {
		out[i] = d.j
	}
	return out, nil
}

// DeleteJob removes a job that is done.
func (q Queries) DeleteJob(ctx context.Context, id string) error {
	if _, err := q.q.ExecContext(ctx, `DELETE FROM jobs WHERE id = $1`, id); err != nil {
		return fmt.Errorf("delete job: %w", err)
	}
	return nil
}

// FailJob records a failed attempt of a job: it is due again at next, or
// kept as failed when giveUp is set.
func (q Queries) FailJob(ctx context.Context, id string, next time.Time, lastErr string, giveUp bool) error {
	state := JobQueued
	if giveUp {
		state = JobFailed
	}
	lastErr = clipError(lastErr)
	_, err := q.q.ExecContext(ctx, `UPDATE jobs SET state = $1, attempts = attempts + 1, next_attempt_at = $2, last_error = $3 WHERE id = $4`,
		state, Timestamp(next), lastErr, id)
	if err != nil {
		return fmt.Errorf("fail job: %w", err)
	}
	return nil
}

// CountJobs returns the number of jobs in a state.
func (q Queries) CountJobs(ctx context.Context, state string) (int, error) {
	var n int
	if err := q.q.QueryRowContext(ctx, `SELECT COUNT(*) FROM jobs WHERE state = $1`, state).Scan(&n); err != nil {
		return 0, fmt.Errorf("count jobs: %w", err)
	}
	return n, nil
}

// maxLastError is the most bytes of an error kept in a last_error column.
const maxLastError = 1000

// clipError shortens an error text to maxLastError bytes without splitting
// a UTF-8 sequence (PostgreSQL refuses invalid UTF-8 in text columns).
func clipError(s string) string {
	if len(s) <= maxLastError {
		return s
	}
	cut := maxLastError
	for cut > 0 && s[cut]&0xC0 == 0x80 {
		cut--
	}
	return s[:cut]
}
