package store

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"github.com/onboard-dev/onboard/internal/funnel"
)

// ---- the onboarding funnel (see migration 0015) ----

func funnelDay(t time.Time) string { return t.UTC().Format(funnel.DateLayout) }

// bumpFunnel adds one to a step's counter of the day of at and, when since
// is set, one to the bucket of at − since in the same row's histogram. The
// upsert locks the row (PostgreSQL; SQLite transactions are serialized), so
// the histogram's read and write cannot interleave with another's.
func (q Queries) bumpFunnel(ctx context.Context, orgID, accountType, step string, at time.Time, since *time.Time) error {
	day := funnelDay(at)
	var hist string
	if err := q.q.QueryRowContext(ctx, `INSERT INTO funnel_daily (org_id, day, account_type, step, count, durations) VALUES ($1, $2, $3, $4, 1, '')
		ON CONFLICT (org_id, day, account_type, step) DO UPDATE SET count = funnel_daily.count + 1 RETURNING durations`,
		orgID, day, accountType, step).Scan(&hist); err != nil {
		return fmt.Errorf("funnel %s: %w", step, err)
	}
	if since == nil {
		return nil
	}
	if _, err := q.q.ExecContext(ctx, `UPDATE funnel_daily SET durations = $1 WHERE org_id = $2 AND day = $3 AND account_type = $4 AND step = $5`,
		funnel.AddToHistogram(hist, funnel.Bucket(at.Sub(*since))), orgID, day, accountType, step); err != nil {
		return fmt.Errorf("funnel %s duration: %w", step, err)
	}
	return nil
}

// FunnelSignupStarted records that a registration link was made.
func (q Queries) FunnelSignupStarted(ctx context.Context, signupID, orgID, accountType string, at time.Time) error {
	if _, err := q.q.ExecContext(ctx, `INSERT INTO funnel_subjects (signup_id, org_id, account_type, started_at) VALUES ($1, $2, $3, $4)`,
		signupID, orgID, accountType, Timestamp(at)); err != nil {
		return fmt.Errorf("funnel start: %w", mapErr(err))
	}
	return q.bumpFunnel(ctx, orgID, accountType, funnel.StepSignupStarted, at, nil)
}

// FunnelLinkOpened records the first time a registration link's form was
// fetched; later fetches change nothing.
func (q Queries) FunnelLinkOpened(ctx context.Context, signupID string, at time.Time) error {
	var orgID, accountType string
	var started time.Time
	err := q.q.QueryRowContext(ctx, `UPDATE funnel_subjects SET opened_at = $1 WHERE signup_id = $2 AND opened_at IS NULL
		RETURNING org_id, account_type, started_at`, Timestamp(at), signupID).Scan(&orgID, &accountType, &started)
	if err == sql.ErrNoRows {
		return nil
	}
	if err != nil {
		return fmt.Errorf("funnel link opened: %w", err)
	}
	return q.bumpFunnel(ctx, orgID, accountType, funnel.StepLinkOpened, at, &started)
}

// FunnelRegistered records that a signup's registration was completed by
// userID; the time is counted from the link's first opening (or its making,
// when its form was never fetched).
func (q Queries) FunnelRegistered(ctx context.Context, signupID, userID string, at time.Time) error {
	var orgID, accountType string
	var started time.Time
	var opened sql.NullTime
	err := q.q.QueryRowContext(ctx, `UPDATE funnel_subjects SET registered_at = $1, user_id = $2 WHERE signup_id = $3 AND registered_at IS NULL
		RETURNING org_id, account_type, started_at, opened_at`, Timestamp(at), userID, signupID).Scan(&orgID, &accountType, &started, &opened)
	if err == sql.ErrNoRows {
		return nil
	}
	if err != nil {
		return fmt.Errorf("funnel registered: %w", err)
	}
	since := started
	if opened.Valid {
		since = opened.Time
	}
	return q.bumpFunnel(ctx, orgID, accountType, funnel.StepRegistrationCompleted, at, &since)
}

// FunnelRegisteredExternal records a registration no signup link started:
// a first login through an identity provider that created a customer.
// subjectID names it among the funnel's subjects (the pending
// registration's id); started is when the provider sent the person back,
// which the time to registration is counted from. The user's first
// sign-in is then counted as after a link's registration.
func (q Queries) FunnelRegisteredExternal(ctx context.Context, subjectID, orgID, accountType, userID string, started, at time.Time) error {
	if _, err := q.q.ExecContext(ctx, `INSERT INTO funnel_subjects (signup_id, org_id, account_type, started_at, registered_at, user_id)
		VALUES ($1, $2, $3, $4, $5, $6)`, subjectID, orgID, accountType, Timestamp(started), Timestamp(at), userID); err != nil {
		return fmt.Errorf("funnel registered: %w", mapErr(err))
	}
	return q.bumpFunnel(ctx, orgID, accountType, funnel.StepRegistrationCompleted, at, &started)
}

// FunnelSignedIn records a user's first sign-in after self-registration;
// later ones, and users who did not self-register, change nothing.
func (q Queries) FunnelSignedIn(ctx context.Context, userID string, at time.Time) error {
	var orgID, accountType string
	var registered time.Time
	err := q.q.QueryRowContext(ctx, `UPDATE funnel_subjects SET signed_in_at = $1 WHERE user_id = $2 AND signed_in_at IS NULL
		RETURNING org_id, account_type, registered_at`, Timestamp(at), userID).Scan(&orgID, &accountType, &registered)
	if err == sql.ErrNoRows {
		return nil
	}
	if err != nil {
		return fmt.Errorf("funnel first sign-in: %w", err)
	}
	return q.bumpFunnel(ctx, orgID, accountType, funnel.StepFirstSignIn, at, &registered)
}

// FunnelFigures sums an organization's counters from day from to day to
// (inclusive), of one account type or ("") all: counts by day and step,
// and duration histograms by step. A year is at most 5,840 rows.
func (q Queries) FunnelFigures(ctx context.Context, orgID string, from, to time.Time, accountType string) (map[string]map[string]int64, map[string]map[int]int64, error) {
	args := []any{orgID, funnelDay(from), funnelDay(to)}
	filter := ""
	if accountType != "" {
		filter = " AND account_type = $4"
		args = append(args, accountType)
	}
	rows, err := q.q.QueryContext(ctx, `SELECT day, step, count, durations FROM funnel_daily
		WHERE org_id = $1 AND day >= $2 AND day <= $3`+filter, args...)
	if err != nil {
		return nil, nil, fmt.Errorf("funnel: %w", err)
	}
	defer rows.Close()
	counts := map[string]map[string]int64{}
	hists := map[string]map[int]int64{}
	for rows.Next() {
		var day, step, durations string
		var n int64
		if err := rows.Scan(&day, &step, &n, &durations); err != nil {
			return nil, nil, fmt.Errorf("funnel: %w", err)
		}
		if counts[day] == nil {
			counts[day] = map[string]int64{}
		}
		counts[day][step] += n
		if durations != "" {
			if hists[step] == nil {
				hists[step] = map[int]int64{}
			}
			funnel.ParseHistogram(durations, hists[step])
		}
	}
	if err := rows.Err(); err != nil {
		return nil, nil, fmt.Errorf("funnel: %w", err)
	}
	return counts, hists, nil
}
