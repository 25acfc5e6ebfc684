package store

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"github.com/onboard-dev/onboard/internal/domain"
)

// ---- back-office users (the console) ----

func totpSecretAD(userID string) string { return "backoffice_users.totp_secret:" + userID }

// backofficeUserColumns are the columns scanBackOfficeUser reads.
const backofficeUserColumns = `id, org_id, email, role, password_hash, totp_secret, totp_enabled_at, totp_last_step,
	recovery_codes, language, disabled_at, created_at, updated_at`

func (q Queries) scanBackOfficeUser(row interface{ Scan(...any) error }) (domain.BackOfficeUser, error) {
	var u domain.BackOfficeUser
	var enabled, disabled sql.NullTime
	var codes string
	if err := row.Scan(&u.ID, &u.OrgID, &u.Email, &u.Role, &u.PasswordHash, &u.TOTPSecret, &enabled, &u.TOTPLastStep,
		&codes, &u.Language, &disabled, &u.CreatedAt, &u.UpdatedAt); err != nil {
		return u, mapErr(err)
	}
	u.TOTPEnabledAt, u.DisabledAt = nullTime(enabled), nullTime(disabled)
	u.CreatedAt, u.UpdatedAt = u.CreatedAt.UTC(), u.UpdatedAt.UTC()
	if err := fromJSON(codes, &u.RecoveryCodes); err != nil {
		return u, err
	}
	secret, err := q.unseal(u.TOTPSecret, totpSecretAD(u.ID))
	if err != nil {
		return u, err
	}
	u.TOTPSecret = secret
	return u, nil
}

// CreateBackOfficeUser inserts a back-office user; an email that another
// back-office user has is domain.ErrDuplicate.
func (q Queries) CreateBackOfficeUser(ctx context.Context, u domain.BackOfficeUser) error {
	codes, err := toJSON(nonNilSlice(u.RecoveryCodes))
	if err != nil {
		return err
	}
	_, err = q.q.ExecContext(ctx, `INSERT INTO backoffice_users (id, org_id, email, email_lower, role, password_hash, recovery_codes,
		language, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $9)`,
		u.ID, u.OrgID, u.Email, domain.NormalizeEmail(u.Email), u.Role, u.PasswordHash, codes, u.Language, Timestamp(u.CreatedAt))
	if err != nil {
		return fmt.Errorf("create back-office user: %w", mapErr(err))
	}
	return nil
}

// BackOfficeUserByEmail returns the back-office user with that email.
func (q Queries) BackOfficeUserByEmail(ctx context.Context, email string) (domain.BackOfficeUser, error) {
	u, err := q.scanBackOfficeUser(q.q.QueryRowContext(ctx, `SELECT `+backofficeUserColumns+`
		FROM backoffice_users WHERE email_lower = $1`, domain.NormalizeEmail(email)))
	if err != nil {
		return u, fmt.Errorf("back-office user: %w", err)
	}
	return u, nil
}

// BackOfficeUserByID returns a back-office user.
func (q Queries) BackOfficeUserByID(ctx context.Context, id string) (domain.BackOfficeUser, error) {
	return q.backOfficeUser(ctx, "", id)
}

// LockBackOfficeUser returns a back-office user, locking its row until the
// transaction ends (PostgreSQL).
func (q Queries) LockBackOfficeUser(ctx context.Context, id string) (domain.BackOfficeUser, error) {
	return q.backOfficeUser(ctx, q.engine.lock(forUpdate), id)
}

func (q Queries) backOfficeUser(ctx context.Context, lock, id string) (domain.BackOfficeUser, error) {
	u, err := q.scanBackOfficeUser(q.q.QueryRowContext(ctx, `SELECT `+backofficeUserColumns+`
		FROM backoffice_users WHERE id = $1`+lock, id))
	if err != nil {
		return u, fmt.Errorf("back-office user: %w", err)
	}
	return u, nil
}

// BackOfficeUsersByOrg lists the back-office users of an organization by email.
func (q Queries) BackOfficeUsersByOrg(ctx context.Context, orgID string) ([]domain.BackOfficeUser, error) {
	return list(ctx, q.q, "back-office users", q.scanBackOfficeUser, `SELECT `+backofficeUserColumns+`
		FROM backoffice_users WHERE org_id = $1 ORDER BY email_lower`, orgID)
}

// SetBackOfficePassword stores a new password hash.
func (q Queries) SetBackOfficePassword(ctx context.Context, id, hash string, at time.Time) error {
	_, err := q.q.ExecContext(ctx, `UPDATE backoffice_users SET password_hash = $1, updated_at = $2 WHERE id = $3`, hash, Timestamp(at), id)
	if err != nil {
		return fmt.Errorf("set back-office password: %w", err)
	}
	return nil
}

// SetBackOfficeTOTP stores the second factor: the secret (sealed), when it
// was enabled (nil while enrolment is unconfirmed), the last accepted time
// step and the hashes of the recovery codes. An empty secret removes it.
func (q Queries) SetBackOfficeTOTP(ctx context.Context, id, secret string, enabledAt *time.Time, lastStep int64, codes []string, at time.Time) error {
	sealed, err := q.seal(secret, totpSecretAD(id))
	if err != nil {
		return err
	}
	raw, err := toJSON(nonNilSlice(codes))
	if err != nil {
		return err
	}
	_, err = q.q.ExecContext(ctx, `UPDATE backoffice_users SET totp_secret = $1, totp_enabled_at = $2, totp_last_step = $3,
		recovery_codes = $4, updated_at = $5 WHERE id = $6`, sealed, nullableTime(enabledAt), lastStep, raw, Timestamp(at), id)
	if err != nil {
		return fmt.Errorf("set back-office totp: %w", err)
	}
	return nil
}

// SetBackOfficeLanguage stores the language a back-office user chose.
func (q Queries) SetBackOfficeLanguage(ctx context.Context, id, lang string, at time.Time) error {
	_, err := q.q.ExecContext(ctx, `UPDATE backoffice_users SET language = $1, updated_at = $2 WHERE id = $3`, lang, Timestamp(at), id)
	if err != nil {
		return fmt.Errorf("set back-office language: %w", err)
	}
	return nil
}

// CreateBackOfficeToken stores the hash of a set-password link.
func (q Queries) CreateBackOfficeToken(ctx context.Context, id, userID string, hash []byte, created, expires time.Time) error {
	_, err := q.q.ExecContext(ctx, `INSERT INTO backoffice_tokens (id, user_id, token_hash, created_at, expires_at)
		VALUES ($1, $2, $3, $4, $5)`, id, userID, hash, Timestamp(created), Timestamp(expires))
	if err != nil {
		return fmt.Errorf("create back-office token: %w", mapErr(err))
	}
	return nil
}

// ConsumeBackOfficeToken marks the unused, unexpired set-password link whose
// token hashes to hash as used and returns its user id; domain.ErrNotFound
// when there is none (unknown, used or expired alike).
func (q Queries) ConsumeBackOfficeToken(ctx context.Context, hash []byte, now time.Time) (string, error) {
	var userID string
	err := q.q.QueryRowContext(ctx, `UPDATE backoffice_tokens SET used_at = $1
		WHERE token_hash = $2 AND used_at IS NULL AND expires_at > $1 RETURNING user_id`, Timestamp(now), hash).Scan(&userID)
	if err != nil {
		return "", fmt.Errorf("back-office token: %w", mapErr(err))
	}
	return userID, nil
}

// BackOfficeTokenUser returns the user of an unused, unexpired set-password
// link without using it.
func (q Queries) BackOfficeTokenUser(ctx context.Context, hash []byte, now time.Time) (string, error) {
	var userID string
	err := q.q.QueryRowContext(ctx, `SELECT user_id FROM backoffice_tokens
		WHERE token_hash = $1 AND used_at IS NULL AND expires_at > $2`, hash, Timestamp(now)).Scan(&userID)
	if err != nil {
		return "", fmt.Errorf("back-office token: %w", mapErr(err))
	}
	return userID, nil
}

// CreateBackOfficeSession inserts a console session.
func (q Queries) CreateBackOfficeSession(ctx context.Context, s domain.BackOfficeSession) error {
	_, err := q.q.ExecContext(ctx, `INSERT INTO backoffice_sessions (id, user_id, token_hash, second_factor, created_at, expires_at,
		idle_expires_at, client_ip, user_agent) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)`,
		s.ID, s.UserID, s.TokenHash, s.SecondFactor, Timestamp(s.CreatedAt), Timestamp(s.ExpiresAt), Timestamp(s.IdleExpiresAt),
		s.ClientIP, s.UserAgent)
	if err != nil {
		return fmt.Errorf("create back-office session: %w", mapErr(err))
	}
	return nil
}

// BackOfficeSessionByTokenHash returns the console session whose token
// hashes to hash, when neither its lifetime nor its idle time is over.
func (q Queries) BackOfficeSessionByTokenHash(ctx context.Context, hash []byte, now time.Time) (domain.BackOfficeSession, error) {
	var s domain.BackOfficeSession
	err := q.q.QueryRowContext(ctx, `SELECT id, user_id, token_hash, second_factor, created_at, expires_at, idle_expires_at,
		client_ip, user_agent FROM backoffice_sessions WHERE token_hash = $1 AND expires_at > $2 AND idle_expires_at > $2`,
		hash, Timestamp(now)).Scan(&s.ID, &s.UserID, &s.TokenHash, &s.SecondFactor, &s.CreatedAt, &s.ExpiresAt, &s.IdleExpiresAt,
		&s.ClientIP, &s.UserAgent)
	if err != nil {
		return s, fmt.Errorf("back-office session: %w", mapErr(err))
	}
	s.CreatedAt, s.ExpiresAt, s.IdleExpiresAt = s.CreatedAt.UTC(), s.ExpiresAt.UTC(), s.IdleExpiresAt.UTC()
	return s, nil
}

// TouchBackOfficeSession moves a console session's idle expiry.
func (q Queries) TouchBackOfficeSession(ctx context.Context, id string, idleUntil time.Time) error {
	if _, err := q.q.ExecContext(ctx, `UPDATE backoffice_sessions SET idle_expires_at = $1 WHERE id = $2`, Timestamp(idleUntil), id); err != nil {
		return fmt.Errorf("touch back-office session: %w", err)
	}
	return nil
}

// SetBackOfficeSessionFactor records that the session passed its second factor.
func (q Queries) SetBackOfficeSessionFactor(ctx context.Context, id, factor string) error {
	if _, err := q.q.ExecContext(ctx, `UPDATE backoffice_sessions SET second_factor = $1 WHERE id = $2`, factor, id); err != nil {
		return fmt.Errorf("back-office session factor: %w", err)
	}
	return nil
}

// DeleteBackOfficeSession ends a console session.
func (q Queries) DeleteBackOfficeSession(ctx context.Context, id string) error {
	if _, err := q.q.ExecContext(ctx, `DELETE FROM backoffice_sessions WHERE id = $1`, id); err != nil {
		return fmt.Errorf("delete back-office session: %w", err)
	}
	return nil
}

// DeleteBackOfficeSessionsOf ends every console session of a user but keep
// (which may be "").
func (q Queries) DeleteBackOfficeSessionsOf(ctx context.Context, userID, keep string) error {
	if _, err := q.q.ExecContext(ctx, `DELETE FROM backoffice_sessions WHERE user_id = $1 AND id <> $2`, userID, keep); err != nil {
		return fmt.Errorf("delete back-office sessions: %w", err)
	}
	return nil
}
