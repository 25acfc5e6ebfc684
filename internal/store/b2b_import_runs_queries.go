package store

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"time"

	"github.com/onboard-dev/onboard/internal/domain"
)

// ---- import runs (bulk imports started from the console) ----

const importRunColumns = `id, org_id, actor, file_name, format, labelpartner_id, state, rows_total, rows_done, created, unchanged,
	rejected, rate, error, created_at, started_at, updated_at, finished_at, lease_until`

func scanImportRun(row interface{ Scan(...any) error }) (domain.ImportRun, error) {
	var r domain.ImportRun
	var started, finished sql.NullTime
	err := row.Scan(&r.ID, &r.OrgID, &r.Actor, &r.File, &r.Format, &r.LabelpartnerID, &r.State, &r.RowsTotal, &r.RowsDone,
		&r.Created, &r.Unchanged, &r.Rejected, &r.Rate, &r.Error, &r.CreatedAt, &started, &r.UpdatedAt, &finished, &r.LeaseUntil)
	if err != nil {
		return r, mapErr(err)
	}
	r.CreatedAt, r.UpdatedAt, r.LeaseUntil = r.CreatedAt.UTC(), r.UpdatedAt.UTC(), r.LeaseUntil.UTC()
	r.StartedAt, r.FinishedAt = nullTime(started), nullTime(finished)
	return r, nil
}

// CreateImportRun inserts an import run.
func (q Queries) CreateImportRun(ctx context.Context, r domain.ImportRun) error {
	_, err := q.q.ExecContext(ctx, `INSERT INTO b2b_import_runs (id, org_id, actor, file_name, format, labelpartner_id, state,
		rows_total, created_at, updated_at, lease_until) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)`,
		r.ID, r.OrgID, r.Actor, r.File, r.Format, r.LabelpartnerID, r.State, r.RowsTotal, Timestamp(r.CreatedAt),
		Timestamp(r.UpdatedAt), Timestamp(r.LeaseUntil))
	if err != nil {
		return fmt.Errorf("create import run: %w", mapErr(err))
	}
	return nil
}

// ImportRun returns an import run of the organization.
func (q Queries) ImportRun(ctx context.Context, orgID, id string) (domain.ImportRun, error) {
	r, err := scanImportRun(q.q.QueryRowContext(ctx, `SELECT `+importRunColumns+` FROM b2b_import_runs WHERE org_id = $1 AND id = $2`, orgID, id))
	if err != nil {
		return r, fmt.Errorf("import run: %w", err)
	}
	return r, nil
}

// ImportRuns lists the organization's import runs, newest first, older
// than the run before ("" for the newest), at most limit.
func (q Queries) ImportRuns(ctx context.Context, orgID, before string, limit int) ([]domain.ImportRun, error) {
	if before == "" {
		return list(ctx, q.q, "import runs", scanImportRun, `SELECT `+importRunColumns+` FROM b2b_import_runs
			WHERE org_id = $1 ORDER BY id DESC LIMIT $2`, orgID, limit)
	}
	return list(ctx, q.q, "import runs", scanImportRun, `SELECT `+importRunColumns+` FROM b2b_import_runs
		WHERE org_id = $1 AND id < $2 ORDER BY id DESC LIMIT $3`, orgID, before, limit)
}

// ImportProgress is what a running import records now and then.
type ImportProgress struct {
	State                                  string
	RowsDone, Created, Unchanged, Rejected int64
	Rate                                   int64
	StartedAt                              *time.Time
	Now, LeaseUntil                        time.Time
	// Rejections are the rejected lines since the last record.
	Rejections []domain.ImportRejection
}

// RecordImportProgress writes the progress of a live (queued or running)
// run and renews its lease; it reports false, writing nothing, when the run
// is no longer live (its lease ran out and it was marked failed).
func (q Queries) RecordImportProgress(ctx context.Context, id string, p ImportProgress) (bool, error) {
	var started any
	if p.StartedAt != nil {
		started = Timestamp(*p.StartedAt)
	}
	res, err := q.q.ExecContext(ctx, `UPDATE b2b_import_runs SET state = $2, rows_done = $3, created = $4, unchanged = $5,
		rejected = $6, rate = $7, started_at = COALESCE(started_at, $8), updated_at = $9, lease_until = $10
		WHERE id = $1 AND state IN ('queued', 'running')`,
		id, p.State, p.RowsDone, p.Created, p.Unchanged, p.Rejected, p.Rate, started, Timestamp(p.Now), Timestamp(p.LeaseUntil))
	if err != nil {
		return false, fmt.Errorf("record import progress: %w", err)
	}
	if n, err := res.RowsAffected(); err != nil || n == 0 {
		return false, err
	}
	const perInsert = 300
	for rest := p.Rejections; len(rest) > 0; {
		chunk := rest[:min(perInsert, len(rest))]
		rest = rest[len(chunk):]
		var sb strings.Builder
		args := make([]any, 0, 3*len(chunk))
		sb.WriteString(`INSERT INTO b2b_import_rejections (run_id, line, error) VALUES `)
		for i, rj := range chunk {
			if i > 0 {
				sb.WriteString(", ")
			}
			fmt.Fprintf(&sb, "($%d, $%d, $%d)", 3*i+1, 3*i+2, 3*i+3)
			args = append(args, id, rj.Line, rj.Error)
		}
		sb.WriteString(` ON CONFLICT (run_id, line) DO NOTHING`)
		if _, err := q.q.ExecContext(ctx, sb.String(), args...); err != nil {
			return false, fmt.Errorf("record import rejections: %w", err)
		}
	}
	return true, nil
}

// FinishImportRun marks a live run done or failed with its last figures;
// it reports false when the run was no longer live.
func (q Queries) FinishImportRun(ctx context.Context, id, state, errText string, p ImportProgress) (bool, error) {
	res, err := q.q.ExecContext(ctx, `UPDATE b2b_import_runs SET state = $2, error = $3, rows_done = $4, created = $5,
		unchanged = $6, rejected = $7, rate = $8, rows_total = CASE WHEN $2 = 'done' THEN $4 ELSE rows_total END,
		updated_at = $9, finished_at = $9 WHERE id = $1 AND state IN ('queued', 'running')`,
		id, state, errText, p.RowsDone, p.Created, p.Unchanged, p.Rejected, p.Rate, Timestamp(p.Now))
	if err != nil {
		return false, fmt.Errorf("finish import run: %w", err)
	}
	n, err := res.RowsAffected()
	return n > 0, err
}

// HasExpiredImportRuns reports whether a live run's lease ended before
// now (a read, cheap to ask before FailExpiredImportRuns).
func (q Queries) HasExpiredImportRuns(ctx context.Context, now time.Time) (bool, error) {
	var n int
	err := q.q.QueryRowContext(ctx, `SELECT count(*) FROM (SELECT 1 FROM b2b_import_runs
		WHERE state IN ('queued', 'running') AND lease_until < $1 LIMIT 1) x`, Timestamp(now)).Scan(&n)
	if err != nil {
		return false, fmt.Errorf("expired import runs: %w", err)
	}
	return n > 0, nil
}

// FailExpiredImportRuns marks failed the live runs whose lease ended
// before now (their node stopped without finishing them).
func (q Queries) FailExpiredImportRuns(ctx context.Context, now time.Time, errText string) (int64, error) {
	now = Timestamp(now)
	res, err := q.q.ExecContext(ctx, `UPDATE b2b_import_runs SET state = 'failed', error = $2, updated_at = $1, finished_at = $1
		WHERE state IN ('queued', 'running') AND lease_until < $1`, now, errText)
	if err != nil {
		return 0, fmt.Errorf("fail expired import runs: %w", err)
	}
	return res.RowsAffected()
}

// DeleteFinishedImportRuns deletes the runs done or failed before cutoff
// with their rejected lines (b2b_import_rejections cascades), and returns
// how many runs it deleted. Live runs are never deleted.
func (q Queries) DeleteFinishedImportRuns(ctx context.Context, cutoff time.Time) (int64, error) {
	res, err := q.q.ExecContext(ctx, `DELETE FROM b2b_import_runs WHERE state IN ('done', 'failed') AND finished_at < $1`, Timestamp(cutoff))
	if err != nil {
		return 0, fmt.Errorf("delete finished import runs: %w", err)
	}
	return res.RowsAffected()
}

// ImportRejections lists a run's rejected lines after the line after, in
// order, at most limit.
func (q Queries) ImportRejections(ctx context.Context, runID string, after int64, limit int) ([]domain.ImportRejection, error) {
	return list(ctx, q.q, "import rejections", func(row interface{ Scan(...any) error }) (domain.ImportRejection, error) {
		var r domain.ImportRejection
		return r, row.Scan(&r.Line, &r.Error)
	}, `SELECT line, error FROM b2b_import_rejections WHERE run_id = $1 AND line > $2 ORDER BY line LIMIT $3`, runID, after, limit)
}

// ---- end users of the console ----

// EndUserSearch finds end users of an organization.
type EndUserSearch struct {
	// Query matches the start of the email address, or a part of the name.
	Query string
	State string // "" for every state
	After string // the id of the last end user of the page before
	Limit int
}

// SearchEndUsers lists the organization's end users in id order (keyset
// paging: After is the last id of the page before).
func (q Queries) SearchEndUsers(ctx context.Context, orgID string, s EndUserSearch) ([]domain.EndUser, error) {
	where := []string{"e.org_id = $1", "e.id > $2"}
	args := []any{orgID, s.After}
	if s.State != "" {
		args = append(args, s.State)
		where = append(where, fmt.Sprintf("e.state = $%d", len(args)))
	}
	if qs := strings.ToLower(strings.TrimSpace(s.Query)); qs != "" {
		esc := strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`).Replace(qs)
		args = append(args, esc+"%", "%"+esc+"%")
		where = append(where, fmt.Sprintf(`(e.email_lower LIKE $%d ESCAPE '\' OR lower(e.first_name || ' ' || e.last_name) LIKE $%d ESCAPE '\')`,
			len(args)-1, len(args)))
	}
	args = append(args, s.Limit)
	return list(ctx, q.q, "search end users", scanEndUser, `SELECT `+endUserColumns+endUserFrom+`WHERE `+strings.Join(where, " AND ")+
		fmt.Sprintf(` ORDER BY e.id LIMIT $%d`, len(args)), args...)
}
