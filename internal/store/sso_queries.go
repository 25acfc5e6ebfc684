package store

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"github.com/onboard-dev/onboard/internal/domain"
)

// ---- sign-in with OpenID Connect ----

// CreateSSOFlow inserts a step of an OpenID Connect sign-in.
func (q Queries) CreateSSOFlow(ctx context.Context, f domain.SSOFlow) error {
	ident, err := toJSON(f.Identity)
	if err != nil {
		return err
	}
	var userID any
	if f.UserID != "" {
		userID = f.UserID
	}
	_, err = q.q.ExecContext(ctx, `INSERT INTO sso_flows (id, org_id, kind, token_hash, binding_hash, provider, identity, user_id,
		next_path, created_at, expires_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)`,
		f.ID, f.OrgID, f.Kind, f.TokenHash, f.BindingHash, f.Provider, ident, userID, f.NextPath,
		Timestamp(f.CreatedAt), Timestamp(f.ExpiresAt))
	if err != nil {
		return fmt.Errorf("create sso flow: %w", mapErr(err))
	}
	return nil
}

// SSOFlowByTokenHash returns the flow whose token hashes to hash, used or
// not, expired or not (token hashes are unique across organizations; the
// caller checks the organization).
func (q Queries) SSOFlowByTokenHash(ctx context.Context, hash []byte) (domain.SSOFlow, error) {
	var f domain.SSOFlow
	var ident string
	var userID sql.NullString
	var used sql.NullTime
	err := q.q.QueryRowContext(ctx, `SELECT id, org_id, kind, token_hash, binding_hash, provider, identity, user_id, next_path,
		created_at, expires_at, used_at FROM sso_flows WHERE token_hash = $1`, hash).
		Scan(&f.ID, &f.OrgID, &f.Kind, &f.TokenHash, &f.BindingHash, &f.Provider, &ident, &userID, &f.NextPath,
			&f.CreatedAt, &f.ExpiresAt, &used)
	if err != nil {
		return f, fmt.Errorf("sso flow: %w", mapErr(err))
	}
	if err := fromJSON(ident, &f.Identity); err != nil {
		return f, fmt.Errorf("sso flow %s: %w", f.ID, err)
	}
	f.UserID = userID.String
	f.CreatedAt, f.ExpiresAt = f.CreatedAt.UTC(), f.ExpiresAt.UTC()
	f.UsedAt = nullTime(used)
	return f, nil
}

// UseSSOFlow marks an unused, unexpired flow used. It reports false when
// the flow was used already (another request won) or has expired.
func (q Queries) UseSSOFlow(ctx context.Context, orgID, id string, now time.Time) (bool, error) {
	res, err := q.q.ExecContext(ctx, `UPDATE sso_flows SET used_at = $1 WHERE org_id = $2 AND id = $3 AND used_at IS NULL AND expires_at > $1`,
		Timestamp(now), orgID, id)
	if err != nil {
		return false, fmt.Errorf("use sso flow: %w", err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return false, fmt.Errorf("use sso flow: %w", err)
	}
	return n == 1, nil
}

// DeleteExpiredSSOFlows removes flows that expired more than keep ago.
func (q Queries) DeleteExpiredSSOFlows(ctx context.Context, now time.Time, keep time.Duration) (int64, error) {
	res, err := q.q.ExecContext(ctx, `DELETE FROM sso_flows WHERE expires_at <= $1`, Timestamp(now.Add(-keep)))
	if err != nil {
		return 0, fmt.Errorf("delete expired sso flows: %w", err)
	}
	return res.RowsAffected()
}

// CreateExternalIdentity links an identity to a user; a subject already
// linked in the organization is domain.ErrDuplicate.
func (q Queries) CreateExternalIdentity(ctx context.Context, e domain.ExternalIdentity) error {
	_, err := q.q.ExecContext(ctx, `INSERT INTO external_identities (id, org_id, user_id, provider, issuer, subject, email, created_at,
		last_login_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)`,
		e.ID, e.OrgID, e.UserID, e.Provider, e.Issuer, e.Subject, e.Email, Timestamp(e.CreatedAt), nullableTime(e.LastLoginAt))
	if err != nil {
		return fmt.Errorf("create external identity: %w", mapErr(err))
	}
	return nil
}

// ExternalIdentity returns the identity of a subject of an issuer.
func (q Queries) ExternalIdentity(ctx context.Context, orgID, issuer, subject string) (domain.ExternalIdentity, error) {
	var e domain.ExternalIdentity
	var last sql.NullTime
	err := q.q.QueryRowContext(ctx, `SELECT id, org_id, user_id, provider, issuer, subject, email, created_at, last_login_at
		FROM external_identities WHERE org_id = $1 AND issuer = $2 AND subject = $3`, orgID, issuer, subject).
		Scan(&e.ID, &e.OrgID, &e.UserID, &e.Provider, &e.Issuer, &e.Subject, &e.Email, &e.CreatedAt, &last)
	if err != nil {
		return e, fmt.Errorf("external identity: %w", mapErr(err))
	}
	e.CreatedAt = e.CreatedAt.UTC()
	e.LastLoginAt = nullTime(last)
	return e, nil
}

// ExternalIdentitiesByUser lists the identities linked to a user.
func (q Queries) ExternalIdentitiesByUser(ctx context.Context, orgID, userID string) ([]domain.ExternalIdentity, error) {
	return list(ctx, q.q, "external identities", func(r interface{ Scan(...any) error }) (domain.ExternalIdentity, error) {
		var e domain.ExternalIdentity
		var last sql.NullTime
		err := r.Scan(&e.ID, &e.OrgID, &e.UserID, &e.Provider, &e.Issuer, &e.Subject, &e.Email, &e.CreatedAt, &last)
		e.CreatedAt = e.CreatedAt.UTC()
		e.LastLoginAt = nullTime(last)
		return e, err
	}, `SELECT id, org_id, user_id, provider, issuer, subject, email, created_at, last_login_at
		FROM external_identities WHERE org_id = $1 AND user_id = $2 ORDER BY created_at, id`, orgID, userID)
}

// TouchExternalIdentity records a sign-in through an identity.
func (q Queries) TouchExternalIdentity(ctx context.Context, orgID, id string, at time.Time) error {
	return q.execOne(ctx, "touch external identity", `UPDATE external_identities SET last_login_at = $1 WHERE org_id = $2 AND id = $3`,
		Timestamp(at), orgID, id)
}
