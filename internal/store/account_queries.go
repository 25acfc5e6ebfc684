package store

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"github.com/onboard-dev/onboard/internal/domain"
)

// Queries of self-service account management: invitations, the users and
// locations of an account, password resets, email changes, a user's sessions,
// the data export and the deletion of an account.

// LockAccount returns the account and, on PostgreSQL, locks its row until the
// transaction ends, so that changes to one account's users or locations are
// serialized (SQLite transactions are serialized already). Call it in a Tx.
func (q Queries) LockAccount(ctx context.Context, orgID, id string) (domain.Account, error) {
	a, err := scanAccount(q.q.QueryRowContext(ctx, `SELECT `+accountColumns+` FROM accounts WHERE org_id = $1 AND id = $2`+q.engine.lock(forUpdate), orgID, id))
	if err != nil {
		return a, fmt.Errorf("lock account %s: %w", id, err)
	}
	return a, nil
}

// ---- users ----

// SetUserTypeOfUser gives a user another user type.
func (q Queries) SetUserTypeOfUser(ctx context.Context, orgID, userID, userTypeID string, at time.Time) error {
	return q.execOne(ctx, "set user type", `UPDATE users SET user_type_id = $1, updated_at = $2 WHERE org_id = $3 AND id = $4`,
		userTypeID, Timestamp(at), orgID, userID)
}

// SetUserProfile replaces a user's names, phone and language.
func (q Queries) SetUserProfile(ctx context.Context, u domain.User, at time.Time) error {
	return q.execOne(ctx, "set profile", `UPDATE users SET first_name = $1, last_name = $2, phone = $3, language = $4, updated_at = $5
		WHERE org_id = $6 AND id = $7`, u.FirstName, u.LastName, u.Phone, u.Language, Timestamp(at), u.OrgID, u.ID)
}

// SetPasswordHash replaces a user's password hash.
func (q Queries) SetPasswordHash(ctx context.Context, orgID, userID, hash string, at time.Time) error {
	return q.execOne(ctx, "set password", `UPDATE users SET password_hash = $1, updated_at = $2 WHERE org_id = $3 AND id = $4`,
		hash, Timestamp(at), orgID, userID)
}

// ActivateInvitedUser sets the password and names of a user in status
// invited and makes it active. It reports false when the user was not
// invited (any more).
func (q Queries) ActivateInvitedUser(ctx context.Context, u domain.User, at time.Time) (bool, error) {
	res, err := q.q.ExecContext(ctx, `UPDATE users SET password_hash = $1, first_name = $2, last_name = $3, phone = $4, status = $5, updated_at = $6
		WHERE org_id = $7 AND id = $8 AND status = $9`,
		u.PasswordHash, u.FirstName, u.LastName, u.Phone, domain.StatusActive, Timestamp(at), u.OrgID, u.ID, domain.StatusInvited)
	if err != nil {
		return false, fmt.Errorf("activate user: %w", mapErr(err))
	}
	n, err := res.RowsAffected()
	if err != nil {
		return false, fmt.Errorf("activate user: %w", err)
	}
	return n == 1, nil
}

// SetUserEmail changes a user's address. An address another user of the
// organization has gives domain.ErrDuplicate.
func (q Queries) SetUserEmail(ctx context.Context, orgID, userID, email string, at time.Time) error {
	return q.execOne(ctx, "set email", `UPDATE users SET email = $1, email_lower = $2, updated_at = $3 WHERE org_id = $4 AND id = $5`,
		email, domain.NormalizeEmail(email), Timestamp(at), orgID, userID)
}

// PurgeUser deletes a user and the personal data held about them: the
// signups that registered the address, mail to the address still in the
// outbox, jobs naming the address, and the details of the audit entries about or by the user (the
// entries stay, with their action, time and ids). Sessions, acceptances,
// password resets, email changes and invitations bound to the user go with
// the user row.
func (q Queries) PurgeUser(ctx context.Context, u domain.User) error {
	email := domain.NormalizeEmail(u.Email)
	steps := []struct {
		what, query string
		args        []any
	}{
		{"signups", `DELETE FROM signups WHERE org_id = $1 AND (user_id = $2 OR email_lower = $3)`, []any{u.OrgID, u.ID, email}},
		{"outbox", `DELETE FROM outbox WHERE org_id = $1 AND to_lower = $2`, []any{u.OrgID, email}},
		{"jobs", `DELETE FROM jobs WHERE email_lower = $1 AND org_id IN ($2, '')`, []any{email, u.OrgID}},
		{"audit", `UPDATE audit_log SET data = '{}' WHERE org_id = $1 AND (subject_id = $2 OR actor = $3)`, []any{u.OrgID, u.ID, "user:" + u.ID}},
		{"user", `DELETE FROM users WHERE org_id = $1 AND id = $2`, []any{u.OrgID, u.ID}},
	}
	for _, s := range steps {
		if _, err := q.q.ExecContext(ctx, s.query, s.args...); err != nil {
			return fmt.Errorf("purge user: %s: %w", s.what, mapErr(err))
		}
	}
	return nil
}

// AccountCounts are the rows PurgeAccount removed (Things: released).
type AccountCounts struct {
	Users, Locations, Invitations, Things int64
}

// PurgeAccount deletes an account with its users (each purged as by
// PurgeUser), invitations (and mail to invited addresses that are no user
// of the organization), locations and the details of the audit entries about
// them, and releases its things (their products become unassigned). Call it
// in a Tx.
func (q Queries) PurgeAccount(ctx context.Context, orgID, accountID string) (AccountCounts, error) {
	var c AccountCounts
	users, err := q.UsersByAccount(ctx, orgID, accountID)
	if err != nil {
		return c, fmt.Errorf("delete account: %w", err)
	}
	for _, u := range users {
		if err := q.PurgeUser(ctx, u); err != nil {
			return c, fmt.Errorf("delete account: %w", err)
		}
	}
	c.Users = int64(len(users))
	steps := []struct {
		what, query string
		n           *int64
	}{
		{"invitation mail", `DELETE FROM outbox WHERE org_id = $1 AND to_lower IN
			(SELECT i.email_lower FROM invitations i WHERE i.org_id = $1 AND i.account_id = $2
			 AND NOT EXISTS (SELECT 1 FROM users u WHERE u.org_id = $1 AND u.email_lower = i.email_lower))`, nil},
		{"audit", `UPDATE audit_log SET data = '{}' WHERE org_id = $1 AND (subject_id = $2
			OR subject_id IN (SELECT id FROM invitations WHERE org_id = $1 AND account_id = $2)
			OR subject_id IN (SELECT id FROM locations WHERE org_id = $1 AND account_id = $2))`, nil},
		{"invitations", `DELETE FROM invitations WHERE org_id = $1 AND account_id = $2`, &c.Invitations},
		{"things", releaseAccountProducts, &c.Things},
		{"locations", `DELETE FROM locations WHERE org_id = $1 AND account_id = $2`, &c.Locations},
		{"account", `DELETE FROM accounts WHERE org_id = $1 AND id = $2`, nil},
	}
	for _, s := range steps {
		res, err := q.q.ExecContext(ctx, s.query, orgID, accountID)
		if err != nil {
			return c, fmt.Errorf("delete account: %s: %w", s.what, mapErr(err))
		}
		if s.n != nil {
			if *s.n, err = res.RowsAffected(); err != nil {
				return c, fmt.Errorf("delete account: %s: %w", s.what, err)
			}
		}
	}
	return c, nil
}

// ---- invitations ----

const invitationColumns = `id, org_id, account_id, email, user_type_id, invited_by, user_id, token_hash, state,
	created_at, expires_at, accepted_at, accepted_by, revoked_at, language`

func scanInvitation(row interface{ Scan(...any) error }) (domain.Invitation, error) {
	var i domain.Invitation
	var invitedBy, userID, acceptedBy sql.NullString
	var accepted, revoked sql.NullTime
	err := row.Scan(&i.ID, &i.OrgID, &i.AccountID, &i.Email, &i.UserTypeID, &invitedBy, &userID, &i.TokenHash, &i.State,
		&i.CreatedAt, &i.ExpiresAt, &accepted, &acceptedBy, &revoked, &i.Language)
	if err != nil {
		return i, mapErr(err)
	}
	i.InvitedBy, i.UserID, i.AcceptedBy = invitedBy.String, userID.String, acceptedBy.String
	i.CreatedAt, i.ExpiresAt = i.CreatedAt.UTC(), i.ExpiresAt.UTC()
	i.AcceptedAt, i.RevokedAt = nullTime(accepted), nullTime(revoked)
	return i, nil
}

func (q Queries) invitations(ctx context.Context, where string, args ...any) ([]domain.Invitation, error) {
	return list(ctx, q.q, "invitations", scanInvitation,
		`SELECT `+invitationColumns+` FROM invitations WHERE `+where+` ORDER BY created_at DESC, id DESC`, args...)
}

func nullString(s string) sql.NullString { return sql.NullString{String: s, Valid: s != ""} }

// CreateInvitation inserts an invitation.
func (q Queries) CreateInvitation(ctx context.Context, i domain.Invitation) error {
	_, err := q.q.ExecContext(ctx, `INSERT INTO invitations (id, org_id, account_id, email, email_lower, user_type_id, invited_by, user_id,
		token_hash, state, created_at, expires_at, language)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)`,
		i.ID, i.OrgID, i.AccountID, i.Email, domain.NormalizeEmail(i.Email), i.UserTypeID, nullString(i.InvitedBy), nullString(i.UserID),
		i.TokenHash, i.State, Timestamp(i.CreatedAt), Timestamp(i.ExpiresAt), i.Language)
	if err != nil {
		return fmt.Errorf("create invitation: %w", mapErr(err))
	}
	return nil
}

// SupersedePendingInvitations marks the pending invitations of an account to
// an address as superseded, so that only the newest link works.
func (q Queries) SupersedePendingInvitations(ctx context.Context, orgID, accountID, email string) error {
	_, err := q.q.ExecContext(ctx, `UPDATE invitations SET state = $1
		WHERE org_id = $2 AND account_id = $3 AND email_lower = $4 AND state = $5`,
		domain.InvitationSuperseded, orgID, accountID, domain.NormalizeEmail(email), domain.InvitationPending)
	if err != nil {
		return fmt.Errorf("supersede invitations: %w", err)
	}
	return nil
}

// InvitationByTokenHash returns the invitation whose link token hashes to hash.
func (q Queries) InvitationByTokenHash(ctx context.Context, hash []byte) (domain.Invitation, error) {
	i, err := scanInvitation(q.q.QueryRowContext(ctx, `SELECT `+invitationColumns+` FROM invitations WHERE token_hash = $1`, hash))
	if err != nil {
		return i, fmt.Errorf("invitation: %w", err)
	}
	return i, nil
}

// InvitationByID returns an invitation of the account.
func (q Queries) InvitationByID(ctx context.Context, orgID, accountID, id string) (domain.Invitation, error) {
	i, err := scanInvitation(q.q.QueryRowContext(ctx, `SELECT `+invitationColumns+` FROM invitations
		WHERE org_id = $1 AND account_id = $2 AND id = $3`, orgID, accountID, id))
	if err != nil {
		return i, fmt.Errorf("invitation %s: %w", id, err)
	}
	return i, nil
}

// InvitationsByAccount lists an account's invitations, newest first.
func (q Queries) InvitationsByAccount(ctx context.Context, orgID, accountID string) ([]domain.Invitation, error) {
	return q.invitations(ctx, `org_id = $1 AND account_id = $2`, orgID, accountID)
}

// InvitationsSentBy lists the invitations a user sent, newest first.
func (q Queries) InvitationsSentBy(ctx context.Context, orgID, userID string) ([]domain.Invitation, error) {
	return q.invitations(ctx, `org_id = $1 AND invited_by = $2`, orgID, userID)
}

// InvitationsReceivedBy lists the invitations that named a user: those
// bound to them and those they accepted, newest first.
func (q Queries) InvitationsReceivedBy(ctx context.Context, orgID, userID string) ([]domain.Invitation, error) {
	return q.invitations(ctx, `org_id = $1 AND (user_id = $2 OR accepted_by = $2)`, orgID, userID)
}

// ConsumeInvitation marks a pending, unexpired invitation accepted by
// userID. It reports false when the invitation was no longer pending.
func (q Queries) ConsumeInvitation(ctx context.Context, id, userID string, now time.Time) (bool, error) {
	return q.execFlag(ctx, "consume invitation", `UPDATE invitations SET state = $1, accepted_at = $2, accepted_by = $3
		WHERE id = $4 AND state = $5 AND expires_at > $2`,
		domain.InvitationAccepted, Timestamp(now), userID, id, domain.InvitationPending)
}

// RevokeInvitation marks a pending invitation of the account revoked. It
// reports false when there was no such pending invitation.
func (q Queries) RevokeInvitation(ctx context.Context, orgID, accountID, id string, now time.Time) (bool, error) {
	return q.execFlag(ctx, "revoke invitation", `UPDATE invitations SET state = $1, revoked_at = $2
		WHERE org_id = $3 AND account_id = $4 AND id = $5 AND state = $6`,
		domain.InvitationRevoked, Timestamp(now), orgID, accountID, id, domain.InvitationPending)
}

// SupersedeUserInvitations marks the pending invitations bound to a user as
// superseded.
func (q Queries) SupersedeUserInvitations(ctx context.Context, orgID, userID string) error {
	_, err := q.q.ExecContext(ctx, `UPDATE invitations SET state = $1 WHERE org_id = $2 AND user_id = $3 AND state = $4`,
		domain.InvitationSuperseded, orgID, userID, domain.InvitationPending)
	if err != nil {
		return fmt.Errorf("supersede invitations: %w", err)
	}
	return nil
}

// ---- password resets ----

// CreatePasswordReset supersedes the user's pending resets and inserts a new one.
func (q Queries) CreatePasswordReset(ctx context.Context, r domain.PasswordReset) error {
	if err := q.SupersedePasswordResets(ctx, r.OrgID, r.UserID); err != nil {
		return err
	}
	_, err := q.q.ExecContext(ctx, `INSERT INTO password_resets (id, org_id, user_id, token_hash, state, created_at, expires_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7)`,
		r.ID, r.OrgID, r.UserID, r.TokenHash, r.State, Timestamp(r.CreatedAt), Timestamp(r.ExpiresAt))
	if err != nil {
		return fmt.Errorf("create password reset: %w", mapErr(err))
	}
	return nil
}

// SupersedePasswordResets makes the user's pending reset links unusable.
func (q Queries) SupersedePasswordResets(ctx context.Context, orgID, userID string) error {
	_, err := q.q.ExecContext(ctx, `UPDATE password_resets SET state = $1 WHERE org_id = $2 AND user_id = $3 AND state = $4`,
		domain.LinkSuperseded, orgID, userID, domain.LinkPending)
	if err != nil {
		return fmt.Errorf("supersede password resets: %w", err)
	}
	return nil
}

const resetColumns = `id, org_id, user_id, token_hash, state, created_at, expires_at, used_at`

func scanReset(row interface{ Scan(...any) error }) (domain.PasswordReset, error) {
	var r domain.PasswordReset
	var used sql.NullTime
	if err := row.Scan(&r.ID, &r.OrgID, &r.UserID, &r.TokenHash, &r.State, &r.CreatedAt, &r.ExpiresAt, &used); err != nil {
		return r, mapErr(err)
	}
	r.CreatedAt, r.ExpiresAt, r.UsedAt = r.CreatedAt.UTC(), r.ExpiresAt.UTC(), nullTime(used)
	return r, nil
}

// PasswordResetByTokenHash returns the reset whose link token hashes to hash.
func (q Queries) PasswordResetByTokenHash(ctx context.Context, hash []byte) (domain.PasswordReset, error) {
	r, err := scanReset(q.q.QueryRowContext(ctx, `SELECT `+resetColumns+` FROM password_resets WHERE token_hash = $1`, hash))
	if err != nil {
		return r, fmt.Errorf("password reset: %w", err)
	}
	return r, nil
}

// PasswordResetsByUser lists a user's password resets, newest first.
func (q Queries) PasswordResetsByUser(ctx context.Context, orgID, userID string) ([]domain.PasswordReset, error) {
	rows, err := q.q.QueryContext(ctx, `SELECT `+resetColumns+` FROM password_resets WHERE org_id = $1 AND user_id = $2
		ORDER BY created_at DESC, id DESC`, orgID, userID)
	if err != nil {
		return nil, fmt.Errorf("password resets: %w", err)
	}
	defer rows.Close()
	var out []domain.PasswordReset
	for rows.Next() {
		r, err := scanReset(rows)
		if err != nil {
			return nil, fmt.Errorf("password resets: %w", err)
		}
		out = append(out, r)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("password resets: %w", err)
	}
	return out, nil
}

// ConsumePasswordReset marks a pending, unexpired reset used. It reports
// false when it was no longer pending.
func (q Queries) ConsumePasswordReset(ctx context.Context, id string, now time.Time) (bool, error) {
	return q.execFlag(ctx, "consume password reset", `UPDATE password_resets SET state = $1, used_at = $2
		WHERE id = $3 AND state = $4 AND expires_at > $2`, domain.LinkUsed, Timestamp(now), id, domain.LinkPending)
}

// ---- email changes ----

// CreateEmailChange supersedes the user's pending email changes and inserts a new one.
func (q Queries) CreateEmailChange(ctx context.Context, c domain.EmailChange) error {
	_, err := q.q.ExecContext(ctx, `UPDATE email_changes SET state = $1 WHERE org_id = $2 AND user_id = $3 AND state = $4`,
		domain.LinkSuperseded, c.OrgID, c.UserID, domain.LinkPending)
	if err != nil {
		return fmt.Errorf("supersede email changes: %w", err)
	}
	_, err = q.q.ExecContext(ctx, `INSERT INTO email_changes (id, org_id, user_id, old_email, new_email, new_email_lower, token_hash,
		state, created_at, expires_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)`,
		c.ID, c.OrgID, c.UserID, c.OldEmail, c.NewEmail, domain.NormalizeEmail(c.NewEmail), c.TokenHash, c.State,
		Timestamp(c.CreatedAt), Timestamp(c.ExpiresAt))
	if err != nil {
		return fmt.Errorf("create email change: %w", mapErr(err))
	}
	return nil
}

const emailChangeColumns = `id, org_id, user_id, old_email, new_email, token_hash, state, created_at, expires_at, used_at`

func scanEmailChange(row interface{ Scan(...any) error }) (domain.EmailChange, error) {
	var c domain.EmailChange
	var used sql.NullTime
	if err := row.Scan(&c.ID, &c.OrgID, &c.UserID, &c.OldEmail, &c.NewEmail, &c.TokenHash, &c.State, &c.CreatedAt, &c.ExpiresAt, &used); err != nil {
		return c, mapErr(err)
	}
	c.CreatedAt, c.ExpiresAt, c.UsedAt = c.CreatedAt.UTC(), c.ExpiresAt.UTC(), nullTime(used)
	return c, nil
}

// EmailChangeByTokenHash returns the email change whose link token hashes to hash.
func (q Queries) EmailChangeByTokenHash(ctx context.Context, hash []byte) (domain.EmailChange, error) {
	c, err := scanEmailChange(q.q.QueryRowContext(ctx, `SELECT `+emailChangeColumns+` FROM email_changes WHERE token_hash = $1`, hash))
	if err != nil {
		return c, fmt.Errorf("email change: %w", err)
	}
	return c, nil
}

// EmailChangesByUser lists a user's email changes, newest first.
func (q Queries) EmailChangesByUser(ctx context.Context, orgID, userID string) ([]domain.EmailChange, error) {
	rows, err := q.q.QueryContext(ctx, `SELECT `+emailChangeColumns+` FROM email_changes WHERE org_id = $1 AND user_id = $2
		ORDER BY created_at DESC, id DESC`, orgID, userID)
	if err != nil {
		return nil, fmt.Errorf("email changes: %w", err)
	}
	defer rows.Close()
	var out []domain.EmailChange
	for rows.Next() {
		c, err := scanEmailChange(rows)
		if err != nil {
			return nil, fmt.Errorf("email changes: %w", err)
		}
		out = append(out, c)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("email changes: %w", err)
	}
	return out, nil
}

// ConsumeEmailChange marks a pending, unexpired email change used. It
// reports false when it was no longer pending.
func (q Queries) ConsumeEmailChange(ctx context.Context, id string, now time.Time) (bool, error) {
	return q.execFlag(ctx, "consume email change", `UPDATE email_changes SET state = $1, used_at = $2
		WHERE id = $3 AND state = $4 AND expires_at > $2`, domain.LinkUsed, Timestamp(now), id, domain.LinkPending)
}

// ---- locations ----

// LocationByID returns a location of the account.
func (q Queries) LocationByID(ctx context.Context, orgID, accountID, id string) (domain.Location, error) {
	var l domain.Location
	err := q.q.QueryRowContext(ctx, `SELECT id, org_id, account_id, name, created_at FROM locations
		WHERE org_id = $1 AND account_id = $2 AND id = $3`, orgID, accountID, id).
		Scan(&l.ID, &l.OrgID, &l.AccountID, &l.Name, &l.CreatedAt)
	if err != nil {
		return l, fmt.Errorf("location %s: %w", id, mapErr(err))
	}
	l.CreatedAt = l.CreatedAt.UTC()
	return l, nil
}

// RenameLocation renames a location of the account.
func (q Queries) RenameLocation(ctx context.Context, orgID, accountID, id, name string) error {
	return q.execOne(ctx, "rename location", `UPDATE locations SET name = $1 WHERE org_id = $2 AND account_id = $3 AND id = $4`,
		name, orgID, accountID, id)
}

// DeleteLocation deletes a location of the account.
func (q Queries) DeleteLocation(ctx context.Context, orgID, accountID, id string) error {
	return q.execOne(ctx, "delete location", `DELETE FROM locations WHERE org_id = $1 AND account_id = $2 AND id = $3`,
		orgID, accountID, id)
}

// SetUserLanguage stores the language a user chose.
func (q Queries) SetUserLanguage(ctx context.Context, orgID, id, lang string, now time.Time) error {
	return q.execOne(ctx, "set language", `UPDATE users SET language = $1, updated_at = $2 WHERE org_id = $3 AND id = $4`,
		lang, Timestamp(now), orgID, id)
}

// ---- sessions ----

// SessionsByUser lists a user's unexpired sessions, newest first.
func (q Queries) SessionsByUser(ctx context.Context, orgID, userID string, now time.Time) ([]domain.Session, error) {
	rows, err := q.q.QueryContext(ctx, `SELECT `+sessionColumns+`
		FROM sessions WHERE org_id = $1 AND user_id = $2 AND expires_at > $3 AND (idle_expires_at IS NULL OR idle_expires_at > $3)
		ORDER BY created_at DESC, id DESC`,
		orgID, userID, Timestamp(now))
	if err != nil {
		return nil, fmt.Errorf("sessions: %w", err)
	}
	defer rows.Close()
	var out []domain.Session
	for rows.Next() {
		s, err := scanSession(rows)
		if err != nil {
			return nil, fmt.Errorf("sessions: %w", err)
		}
		out = append(out, s)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("sessions: %w", err)
	}
	return out, nil
}

// DeleteUserSession ends one session of a user. It reports false when the
// user has no such session.
func (q Queries) DeleteUserSession(ctx context.Context, orgID, userID, id string) (bool, error) {
	return q.execFlag(ctx, "delete session", `DELETE FROM sessions WHERE org_id = $1 AND user_id = $2 AND id = $3`, orgID, userID, id)
}

// DeleteUserSessions ends every session of a user except the one with id
// except (none when empty) and returns how many it ended.
func (q Queries) DeleteUserSessions(ctx context.Context, orgID, userID, except string) (int64, error) {
	res, err := q.q.ExecContext(ctx, `DELETE FROM sessions WHERE org_id = $1 AND user_id = $2 AND id <> $3`, orgID, userID, except)
	if err != nil {
		return 0, fmt.Errorf("delete sessions: %w", err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return 0, fmt.Errorf("delete sessions: %w", err)
	}
	return n, nil
}

// ---- audit ----

// AuditAboutUser lists the audit entries about a user or by them, oldest first.
func (q Queries) AuditAboutUser(ctx context.Context, orgID, userID string) ([]domain.AuditEntry, error) {
	out, err := q.auditEntries(ctx, `SELECT id, org_id, actor, action, subject_id, data, created_at FROM audit_log
		WHERE org_id = $1 AND (subject_id = $2 OR actor = $3) ORDER BY created_at, id`, orgID, userID, "user:"+userID)
	if err != nil {
		return nil, fmt.Errorf("audit about user: %w", err)
	}
	return out, nil
}

// auditEntries runs a query selecting whole audit entries.
func (q Queries) auditEntries(ctx context.Context, query string, args ...any) ([]domain.AuditEntry, error) {
	rows, err := q.q.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []domain.AuditEntry
	for rows.Next() {
		var e domain.AuditEntry
		var data string
		if err := rows.Scan(&e.ID, &e.OrgID, &e.Actor, &e.Action, &e.SubjectID, &data, &e.CreatedAt); err != nil {
			return nil, err
		}
		e.CreatedAt = e.CreatedAt.UTC()
		if err := fromJSON(data, &e.Data); err != nil {
			return nil, err
		}
		out = append(out, e)
	}
	return out, rows.Err()
}

// ---- cleanup ----

// DeleteExpiredAccountLinks removes invitations, password resets and email
// changes that expired more than keep ago (kept a while so that an old link
// still answers 410, not 404).
func (q Queries) DeleteExpiredAccountLinks(ctx context.Context, now time.Time, keep time.Duration) (int64, error) {
	var total int64
	for _, table := range []string{"invitations", "password_resets", "email_changes"} {
		res, err := q.q.ExecContext(ctx, `DELETE FROM `+table+` WHERE expires_at <= $1`, Timestamp(now.Add(-keep)))
		if err != nil {
			return total, fmt.Errorf("delete expired %s: %w", table, err)
		}
		n, _ := res.RowsAffected()
		total += n
	}
	return total, nil
}

// ---- helpers ----

// execOne runs a statement that must change exactly one row:
// domain.ErrNotFound when it changed none.
func (q Queries) execOne(ctx context.Context, what, query string, args ...any) error {
	ok, err := q.execFlag(ctx, what, query, args...)
	if err != nil {
		return err
	}
	if !ok {
		return fmt.Errorf("%s: %w", what, domain.ErrNotFound)
	}
	return nil
}

// execFlag runs a statement and reports whether it changed a row.
func (q Queries) execFlag(ctx context.Context, what, query string, args ...any) (bool, error) {
	res, err := q.q.ExecContext(ctx, query, args...)
	if err != nil {
		return false, fmt.Errorf("%s: %w", what, mapErr(err))
	}
	n, err := res.RowsAffected()
	if err != nil {
		return false, fmt.Errorf("%s: %w", what, err)
	}
	return n > 0, nil
}

// ---- organization logos ----

// OrganizationLogo returns an organization's uploaded logo.
func (q Queries) OrganizationLogo(ctx context.Context, orgID string) (domain.Logo, error) {
	var l domain.Logo
	err := q.q.QueryRowContext(ctx, `SELECT content_type, data, updated_at FROM organization_logos WHERE org_id = $1`, orgID).
		Scan(&l.ContentType, &l.Data, &l.UpdatedAt)
	if err != nil {
		return l, fmt.Errorf("logo: %w", mapErr(err))
	}
	l.UpdatedAt = l.UpdatedAt.UTC()
	return l, nil
}

// PutOrganizationLogo stores (or replaces) an organization's logo.
func (q Queries) PutOrganizationLogo(ctx context.Context, orgID string, l domain.Logo) error {
	_, err := q.q.ExecContext(ctx, `INSERT INTO organization_logos (org_id, content_type, data, updated_at) VALUES ($1, $2, $3, $4)
		ON CONFLICT (org_id) DO UPDATE SET content_type = excluded.content_type, data = excluded.data, updated_at = excluded.updated_at`,
		orgID, l.ContentType, l.Data, Timestamp(l.UpdatedAt))
	if err != nil {
		return fmt.Errorf("put logo: %w", mapErr(err))
	}
	return nil
}

// DeleteOrganizationLogo removes an organization's logo; it reports false
// when there was none.
func (q Queries) DeleteOrganizationLogo(ctx context.Context, orgID string) (bool, error) {
	return q.execFlag(ctx, "delete logo", `DELETE FROM organization_logos WHERE org_id = $1`, orgID)
}
