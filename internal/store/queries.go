package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/onboard-dev/onboard/internal/domain"
)

func toJSON(v any) (string, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return "", fmt.Errorf("encode json column: %w", err)
	}
	return string(b), nil
}

func fromJSON(s string, v any) error {
	if s == "" {
		return nil
	}
	if err := json.Unmarshal([]byte(s), v); err != nil {
		return fmt.Errorf("decode json column: %w", err)
	}
	return nil
}

// list runs query and scans every row with scan; errors name what.
func list[T any](ctx context.Context, q querier, what string, scan func(interface{ Scan(...any) error }) (T, error),
	query string, args ...any) ([]T, error) {
	rows, err := q.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", what, err)
	}
	defer rows.Close()
	var out []T
	for rows.Next() {
		v, err := scan(rows)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", what, err)
		}
		out = append(out, v)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("%s: %w", what, err)
	}
	return out, nil
}

func nullTime(t sql.NullTime) *time.Time {
	if !t.Valid {
		return nil
	}
	u := t.Time.UTC()
	return &u
}

// ---- organizations ----

// CreateOrganization inserts an organization.
func (q Queries) CreateOrganization(ctx context.Context, o domain.Organization) error {
	cfg, err := q.onboardingJSON(o.ID, o.Onboarding)
	if err != nil {
		return err
	}
	_, err = q.q.ExecContext(ctx, `INSERT INTO organizations (id, name, display_name, onboarding, created_at)
		VALUES ($1, $2, $3, $4, $5)`, o.ID, o.Name, o.DisplayName, cfg, Timestamp(o.CreatedAt))
	if err != nil {
		return fmt.Errorf("create organization: %w", mapErr(err))
	}
	return nil
}

const orgColumns = `id, name, display_name, onboarding, created_at, disabled_at`

func (q Queries) scanOrg(row interface{ Scan(...any) error }) (domain.Organization, error) {
	var o domain.Organization
	var cfg string
	var disabled sql.NullTime
	if err := row.Scan(&o.ID, &o.Name, &o.DisplayName, &cfg, &o.CreatedAt, &disabled); err != nil {
		return o, mapErr(err)
	}
	o.CreatedAt = o.CreatedAt.UTC()
	o.DisabledAt = nullTime(disabled)
	if err := q.onboardingFromJSON(o.ID, cfg, &o.Onboarding); err != nil {
		return o, err
	}
	return o, nil
}

// OrganizationByName returns the organization with the given name.
func (q Queries) OrganizationByName(ctx context.Context, name string) (domain.Organization, error) {
	o, err := q.scanOrg(q.q.QueryRowContext(ctx, `SELECT `+orgColumns+` FROM organizations WHERE name = $1`, name))
	if err != nil {
		return o, fmt.Errorf("organization %q: %w", name, err)
	}
	return o, nil
}

// OrganizationByID returns the organization with the given id.
func (q Queries) OrganizationByID(ctx context.Context, id string) (domain.Organization, error) {
	o, err := q.scanOrg(q.q.QueryRowContext(ctx, `SELECT `+orgColumns+` FROM organizations WHERE id = $1`, id))
	if err != nil {
		return o, fmt.Errorf("organization %s: %w", id, err)
	}
	return o, nil
}

// ---- user types ----

// CreateUserType inserts a user type.
func (q Queries) CreateUserType(ctx context.Context, u domain.UserType) error {
	perms, err := toJSON(u.Permissions)
	if err != nil {
		return err
	}
	_, err = q.q.ExecContext(ctx, `INSERT INTO user_types (id, org_id, name, label, permissions, created_at)
		VALUES ($1, $2, $3, $4, $5, $6)`, u.ID, u.OrgID, u.Name, u.Label, perms, Now())
	if err != nil {
		return fmt.Errorf("create user type: %w", mapErr(err))
	}
	return nil
}

func (q Queries) userType(ctx context.Context, where string, args ...any) (domain.UserType, error) {
	var u domain.UserType
	var perms string
	err := q.q.QueryRowContext(ctx, `SELECT id, org_id, name, label, permissions FROM user_types WHERE `+where, args...).
		Scan(&u.ID, &u.OrgID, &u.Name, &u.Label, &perms)
	if err != nil {
		return u, fmt.Errorf("user type: %w", mapErr(err))
	}
	return u, fromJSON(perms, &u.Permissions)
}

// UserTypeByName returns the organization's user type of that name.
func (q Queries) UserTypeByName(ctx context.Context, orgID, name string) (domain.UserType, error) {
	return q.userType(ctx, `org_id = $1 AND name = $2`, orgID, name)
}

// UserTypeByID returns the organization's user type with that id.
func (q Queries) UserTypeByID(ctx context.Context, orgID, id string) (domain.UserType, error) {
	return q.userType(ctx, `org_id = $1 AND id = $2`, orgID, id)
}

// ---- accounts ----

// CreateAccount inserts an account.
func (q Queries) CreateAccount(ctx context.Context, a domain.Account) error {
	props, err := toJSON(nonNilMap(a.Properties))
	if err != nil {
		return err
	}
	_, err = q.q.ExecContext(ctx, `INSERT INTO accounts (id, org_id, kind, type, name, properties, status, origin,
		verified_at, decided_at, decision_reason, external_ref, created_at, updated_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)`,
		a.ID, a.OrgID, a.Kind, a.Type, a.Name, props, a.Status, a.Origin, timePtr(a.VerifiedAt), timePtr(a.DecidedAt),
		a.DecisionReason, a.ExternalRef, Timestamp(a.CreatedAt), Timestamp(a.UpdatedAt))
	if err != nil {
		return fmt.Errorf("create account: %w", mapErr(err))
	}
	return nil
}

const accountColumns = `id, org_id, kind, type, name, properties, status, origin, verified_at, decided_at, decision_reason,
	external_ref, created_at, updated_at`

func scanAccount(row interface{ Scan(...any) error }) (domain.Account, error) {
	var a domain.Account
	var props string
	var verified, decided sql.NullTime
	err := row.Scan(&a.ID, &a.OrgID, &a.Kind, &a.Type, &a.Name, &props, &a.Status, &a.Origin, &verified, &decided,
		&a.DecisionReason, &a.ExternalRef, &a.CreatedAt, &a.UpdatedAt)
	if err != nil {
		return a, mapErr(err)
	}
	a.CreatedAt, a.UpdatedAt = a.CreatedAt.UTC(), a.UpdatedAt.UTC()
	a.VerifiedAt, a.DecidedAt = nullTime(verified), nullTime(decided)
	return a, fromJSON(props, &a.Properties)
}

// AccountByID returns the organization's account with that id.
func (q Queries) AccountByID(ctx context.Context, orgID, id string) (domain.Account, error) {
	a, err := scanAccount(q.q.QueryRowContext(ctx, `SELECT `+accountColumns+` FROM accounts WHERE org_id = $1 AND id = $2`, orgID, id))
	if err != nil {
		return a, fmt.Errorf("account %s: %w", id, err)
	}
	return a, nil
}

// AccountsByStatus lists the organization's accounts of a kind in a status, oldest first.
func (q Queries) AccountsByStatus(ctx context.Context, orgID, kind, status string) ([]domain.Account, error) {
	out, err := q.accounts(ctx, `SELECT `+accountColumns+` FROM accounts WHERE org_id = $1 AND kind = $2 AND status = $3
		ORDER BY created_at, id`, orgID, kind, status)
	if err != nil {
		return nil, fmt.Errorf("accounts by status: %w", err)
	}
	return out, nil
}

// AccountsByKind lists the organization's accounts of a kind, oldest first.
func (q Queries) AccountsByKind(ctx context.Context, orgID, kind string) ([]domain.Account, error) {
	out, err := q.accounts(ctx, `SELECT `+accountColumns+` FROM accounts WHERE org_id = $1 AND kind = $2
		ORDER BY created_at, id`, orgID, kind)
	if err != nil {
		return nil, fmt.Errorf("accounts by kind: %w", err)
	}
	return out, nil
}

// accounts runs a query selecting accountColumns.
func (q Queries) accounts(ctx context.Context, query string, args ...any) ([]domain.Account, error) {
	rows, err := q.q.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []domain.Account
	for rows.Next() {
		a, err := scanAccount(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, a)
	}
	return out, rows.Err()
}

// DecideAccount sets an account's status after an approval decision; it
// reports false when the account was not in status from.
func (q Queries) DecideAccount(ctx context.Context, orgID, id, from, to, reason string, at time.Time) (bool, error) {
	res, err := q.q.ExecContext(ctx, `UPDATE accounts SET status = $1, decided_at = $2, decision_reason = $3, updated_at = $2
		WHERE org_id = $4 AND id = $5 AND status = $6`, to, Timestamp(at), reason, orgID, id, from)
	if err != nil {
		return false, fmt.Errorf("decide account: %w", err)
	}
	n, err := res.RowsAffected()
	return n == 1, err
}

// SetUsersStatus sets the status of every user of an account.
func (q Queries) SetUsersStatus(ctx context.Context, orgID, accountID, status string, at time.Time) error {
	_, err := q.q.ExecContext(ctx, `UPDATE users SET status = $1, updated_at = $2 WHERE org_id = $3 AND account_id = $4`,
		status, Timestamp(at), orgID, accountID)
	if err != nil {
		return fmt.Errorf("set users status: %w", err)
	}
	return nil
}

// VerifyAccount records that the account's details were confirmed and stores them.
func (q Queries) VerifyAccount(ctx context.Context, orgID, id string, props map[string]string, at time.Time) error {
	p, err := toJSON(nonNilMap(props))
	if err != nil {
		return err
	}
	_, err = q.q.ExecContext(ctx, `UPDATE accounts SET properties = $1, verified_at = $2, updated_at = $2 WHERE org_id = $3 AND id = $4`,
		p, Timestamp(at), orgID, id)
	if err != nil {
		return fmt.Errorf("verify account: %w", err)
	}
	return nil
}

// UsersByAccount lists an account's users, oldest first.
func (q Queries) UsersByAccount(ctx context.Context, orgID, accountID string) ([]domain.User, error) {
	rows, err := q.q.QueryContext(ctx, `SELECT `+userColumns+` FROM users WHERE org_id = $1 AND account_id = $2 ORDER BY created_at, id`, orgID, accountID)
	if err != nil {
		return nil, fmt.Errorf("users: %w", err)
	}
	defer rows.Close()
	var out []domain.User
	for rows.Next() {
		u, err := scanUser(rows)
		if err != nil {
			return nil, fmt.Errorf("users: %w", err)
		}
		out = append(out, u)
	}
	return out, rows.Err()
}

func timePtr(t *time.Time) any {
	if t == nil {
		return nil
	}
	return Timestamp(*t)
}

func nonNilMap(m map[string]string) map[string]string {
	if m == nil {
		return map[string]string{}
	}
	return m
}

// ---- users ----

// CreateUser inserts a user. A user with the same email (case-insensitive) in
// the organization gives domain.ErrDuplicate.
func (q Queries) CreateUser(ctx context.Context, u domain.User) error {
	props, err := toJSON(nonNilMap(u.Properties))
	if err != nil {
		return err
	}
	_, err = q.q.ExecContext(ctx, `INSERT INTO users (id, org_id, account_id, user_type_id, email, email_lower,
		first_name, last_name, phone, properties, password_hash, status, created_at, updated_at, language)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)`,
		u.ID, u.OrgID, u.AccountID, u.UserTypeID, u.Email, domain.NormalizeEmail(u.Email),
		u.FirstName, u.LastName, u.Phone, props, u.PasswordHash, u.Status, Timestamp(u.CreatedAt), Timestamp(u.UpdatedAt), u.Language)
	if err != nil {
		return fmt.Errorf("create user: %w", mapErr(err))
	}
	return nil
}

const userColumns = `id, org_id, account_id, user_type_id, email, first_name, last_name, phone, properties,
	password_hash, status, created_at, updated_at, language`

func scanUser(row interface{ Scan(...any) error }) (domain.User, error) {
	var u domain.User
	var props string
	err := row.Scan(&u.ID, &u.OrgID, &u.AccountID, &u.UserTypeID, &u.Email, &u.FirstName, &u.LastName, &u.Phone, &props,
		&u.PasswordHash, &u.Status, &u.CreatedAt, &u.UpdatedAt, &u.Language)
	if err != nil {
		return u, mapErr(err)
	}
	u.CreatedAt, u.UpdatedAt = u.CreatedAt.UTC(), u.UpdatedAt.UTC()
	return u, fromJSON(props, &u.Properties)
}

func (q Queries) user(ctx context.Context, where string, args ...any) (domain.User, error) {
	u, err := scanUser(q.q.QueryRowContext(ctx, `SELECT `+userColumns+` FROM users WHERE `+where, args...))
	if err != nil {
		return u, fmt.Errorf("user: %w", err)
	}
	return u, nil
}

// UserByEmail returns the organization's user with that email (case-insensitive).
func (q Queries) UserByEmail(ctx context.Context, orgID, email string) (domain.User, error) {
	return q.user(ctx, `org_id = $1 AND email_lower = $2`, orgID, domain.NormalizeEmail(email))
}

// UserByID returns the organization's user with that id.
func (q Queries) UserByID(ctx context.Context, orgID, id string) (domain.User, error) {
	return q.user(ctx, `org_id = $1 AND id = $2`, orgID, id)
}

// EmailRegistered reports whether a user of the organization has that email.
func (q Queries) EmailRegistered(ctx context.Context, orgID, email string) (bool, error) {
	var n int
	err := q.q.QueryRowContext(ctx, `SELECT COUNT(*) FROM users WHERE org_id = $1 AND email_lower = $2`,
		orgID, domain.NormalizeEmail(email)).Scan(&n)
	if err != nil {
		return false, fmt.Errorf("email registered: %w", err)
	}
	return n > 0, nil
}

// ---- locations ----

// CreateLocation inserts a location.
func (q Queries) CreateLocation(ctx context.Context, l domain.Location) error {
	_, err := q.q.ExecContext(ctx, `INSERT INTO locations (id, org_id, account_id, name, created_at) VALUES ($1, $2, $3, $4, $5)`,
		l.ID, l.OrgID, l.AccountID, l.Name, Timestamp(l.CreatedAt))
	if err != nil {
		return fmt.Errorf("create location: %w", mapErr(err))
	}
	return nil
}

// LocationsByAccount lists an account's locations, oldest first.
func (q Queries) LocationsByAccount(ctx context.Context, orgID, accountID string) ([]domain.Location, error) {
	rows, err := q.q.QueryContext(ctx, `SELECT id, org_id, account_id, name, created_at FROM locations
		WHERE org_id = $1 AND account_id = $2 ORDER BY created_at, id`, orgID, accountID)
	if err != nil {
		return nil, fmt.Errorf("locations: %w", err)
	}
	defer rows.Close()
	var out []domain.Location
	for rows.Next() {
		var l domain.Location
		if err := rows.Scan(&l.ID, &l.OrgID, &l.AccountID, &l.Name, &l.CreatedAt); err != nil {
			return nil, fmt.Errorf("locations: %w", err)
		}
		l.CreatedAt = l.CreatedAt.UTC()
		out = append(out, l)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("locations: %w", err)
	}
	return out, nil
}

// ---- agreements ----

// CreateAgreement inserts one version of an agreement.
func (q Queries) CreateAgreement(ctx context.Context, a domain.Agreement) error {
	types, err := toJSON(a.AccountTypes)
	if err != nil {
		return err
	}
	_, err = q.q.ExecContext(ctx, `INSERT INTO agreements (id, org_id, name, kind, version, title, body, account_types, required, created_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)`,
		a.ID, a.OrgID, a.Name, a.Kind, a.Version, a.Title, a.Body, types, a.Required, Timestamp(a.CreatedAt))
	if err != nil {
		return fmt.Errorf("create agreement: %w", mapErr(err))
	}
	return nil
}

// CurrentAgreements returns the newest version of each of the organization's agreements.
func (q Queries) CurrentAgreements(ctx context.Context, orgID string) ([]domain.Agreement, error) {
	out, err := q.agreements(ctx, `SELECT `+agreementColumns+` FROM agreements a
		WHERE a.org_id = $1 AND a.version = (SELECT MAX(b.version) FROM agreements b WHERE b.org_id = a.org_id AND b.name = a.name)
		ORDER BY a.name`, orgID)
	if err != nil {
		return nil, fmt.Errorf("current agreements: %w", err)
	}
	return out, nil
}

const agreementColumns = `a.id, a.org_id, a.name, a.kind, a.version, a.title, a.body, a.account_types, a.required, a.created_at`

// agreements runs a query selecting agreementColumns from "agreements a".
func (q Queries) agreements(ctx context.Context, query string, args ...any) ([]domain.Agreement, error) {
	rows, err := q.q.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []domain.Agreement
	for rows.Next() {
		var a domain.Agreement
		var types string
		if err := rows.Scan(&a.ID, &a.OrgID, &a.Name, &a.Kind, &a.Version, &a.Title, &a.Body, &types, &a.Required, &a.CreatedAt); err != nil {
			return nil, err
		}
		a.CreatedAt = a.CreatedAt.UTC()
		if err := fromJSON(types, &a.AccountTypes); err != nil {
			return nil, err
		}
		out = append(out, a)
	}
	return out, rows.Err()
}

// CreateAcceptance records a user's acceptance of an agreement version.
func (q Queries) CreateAcceptance(ctx context.Context, a domain.Acceptance) error {
	_, err := q.q.ExecContext(ctx, `INSERT INTO agreement_acceptances (id, org_id, user_id, agreement_id, name, version, accepted_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7)`, a.ID, a.OrgID, a.UserID, a.AgreementID, a.Name, a.Version, Timestamp(a.AcceptedAt))
	if err != nil {
		return fmt.Errorf("create acceptance: %w", mapErr(err))
	}
	return nil
}

// AcceptancesByUser lists a user's acceptances, oldest first.
func (q Queries) AcceptancesByUser(ctx context.Context, orgID, userID string) ([]domain.Acceptance, error) {
	rows, err := q.q.QueryContext(ctx, `SELECT id, org_id, user_id, agreement_id, name, version, accepted_at
		FROM agreement_acceptances WHERE org_id = $1 AND user_id = $2 ORDER BY accepted_at, id`, orgID, userID)
	if err != nil {
		return nil, fmt.Errorf("acceptances: %w", err)
	}
	defer rows.Close()
	var out []domain.Acceptance
	for rows.Next() {
		var a domain.Acceptance
		if err := rows.Scan(&a.ID, &a.OrgID, &a.UserID, &a.AgreementID, &a.Name, &a.Version, &a.AcceptedAt); err != nil {
			return nil, fmt.Errorf("acceptances: %w", err)
		}
		a.AcceptedAt = a.AcceptedAt.UTC()
		out = append(out, a)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("acceptances: %w", err)
	}
	return out, nil
}

// ---- signups ----

// SupersedePendingSignups marks every pending signup of the address as
// superseded, so that only the newest link works.
func (q Queries) SupersedePendingSignups(ctx context.Context, orgID, email string) error {
	_, err := q.q.ExecContext(ctx, `UPDATE signups SET state = $1 WHERE org_id = $2 AND email_lower = $3 AND state = $4`,
		domain.SignupSuperseded, orgID, domain.NormalizeEmail(email), domain.SignupPending)
	if err != nil {
		return fmt.Errorf("supersede signups: %w", err)
	}
	return nil
}

// CreateSignup inserts a signup.
func (q Queries) CreateSignup(ctx context.Context, s domain.Signup) error {
	_, err := q.q.ExecContext(ctx, `INSERT INTO signups (id, org_id, email, email_lower, account_type, token_hash, state, created_at, expires_at, language, purpose)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)`,
		s.ID, s.OrgID, s.Email, domain.NormalizeEmail(s.Email), s.AccountType, s.TokenHash, s.State,
		Timestamp(s.CreatedAt), Timestamp(s.ExpiresAt), s.Language, s.Purpose)
	if err != nil {
		return fmt.Errorf("create signup: %w", mapErr(err))
	}
	return nil
}

// SignupByTokenHash returns the signup whose link token hashes to hash.
func (q Queries) SignupByTokenHash(ctx context.Context, hash []byte) (domain.Signup, error) {
	var s domain.Signup
	var completed sql.NullTime
	var userID sql.NullString
	err := q.q.QueryRowContext(ctx, `SELECT id, org_id, email, account_type, token_hash, state, created_at, expires_at, completed_at, user_id, language, purpose
		FROM signups WHERE token_hash = $1`, hash).
		Scan(&s.ID, &s.OrgID, &s.Email, &s.AccountType, &s.TokenHash, &s.State, &s.CreatedAt, &s.ExpiresAt, &completed, &userID, &s.Language, &s.Purpose)
	if err != nil {
		return s, fmt.Errorf("signup: %w", mapErr(err))
	}
	s.CreatedAt, s.ExpiresAt = s.CreatedAt.UTC(), s.ExpiresAt.UTC()
	s.CompletedAt = nullTime(completed)
	s.UserID = userID.String
	return s, nil
}

// ConsumeSignup marks a pending, unexpired signup completed by userID. It
// reports false when the signup was no longer pending (another request won).
func (q Queries) ConsumeSignup(ctx context.Context, id, userID string, now time.Time) (bool, error) {
	res, err := q.q.ExecContext(ctx, `UPDATE signups SET state = $1, completed_at = $2, user_id = $3
		WHERE id = $4 AND state = $5 AND expires_at > $2`,
		domain.SignupCompleted, Timestamp(now), userID, id, domain.SignupPending)
	if err != nil {
		return false, fmt.Errorf("consume signup: %w", err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return false, fmt.Errorf("consume signup: %w", err)
	}
	return n == 1, nil
}

// ---- sessions ----

// CreateSession inserts a session.
func (q Queries) CreateSession(ctx context.Context, s domain.Session) error {
	kind := s.Kind
	if kind == "" {
		kind = domain.SessionAPI
	}
	_, err := q.q.ExecContext(ctx, `INSERT INTO sessions (id, org_id, user_id, token_hash, created_at, expires_at, client_ip, user_agent,
		kind, idle_expires_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)`,
		s.ID, s.OrgID, s.UserID, s.TokenHash, Timestamp(s.CreatedAt), Timestamp(s.ExpiresAt), s.ClientIP, s.UserAgent,
		kind, nullableTime(s.IdleExpiresAt))
	if err != nil {
		return fmt.Errorf("create session: %w", mapErr(err))
	}
	return nil
}

// sessionColumns are the columns scanSession reads.
const sessionColumns = `id, org_id, user_id, token_hash, created_at, expires_at, client_ip, user_agent, kind, idle_expires_at`

func scanSession(row interface{ Scan(...any) error }) (domain.Session, error) {
	var s domain.Session
	var idle sql.NullTime
	if err := row.Scan(&s.ID, &s.OrgID, &s.UserID, &s.TokenHash, &s.CreatedAt, &s.ExpiresAt, &s.ClientIP, &s.UserAgent,
		&s.Kind, &idle); err != nil {
		return s, mapErr(err)
	}
	s.CreatedAt, s.ExpiresAt = s.CreatedAt.UTC(), s.ExpiresAt.UTC()
	s.IdleExpiresAt = nullTime(idle)
	return s, nil
}

// nullableTime is t as a nullable timestamp argument.
func nullableTime(t *time.Time) any {
	if t == nil {
		return nil
	}
	return Timestamp(*t)
}

// SessionByTokenHash returns the unexpired session whose token hashes to
// hash: neither its lifetime nor (for browser sessions) its idle time is
// over.
func (q Queries) SessionByTokenHash(ctx context.Context, hash []byte, now time.Time) (domain.Session, error) {
	s, err := scanSession(q.q.QueryRowContext(ctx, `SELECT `+sessionColumns+`
		FROM sessions WHERE token_hash = $1 AND expires_at > $2 AND (idle_expires_at IS NULL OR idle_expires_at > $2)`,
		hash, Timestamp(now)))
	if err != nil {
		return s, fmt.Errorf("session: %w", err)
	}
	return s, nil
}

// TouchSession moves a browser session's idle expiry to idleUntil.
func (q Queries) TouchSession(ctx context.Context, orgID, id string, idleUntil time.Time) error {
	_, err := q.q.ExecContext(ctx, `UPDATE sessions SET idle_expires_at = $1 WHERE org_id = $2 AND id = $3 AND idle_expires_at IS NOT NULL`,
		Timestamp(idleUntil), orgID, id)
	if err != nil {
		return fmt.Errorf("touch session: %w", err)
	}
	return nil
}

// DeleteSession removes one session.
func (q Queries) DeleteSession(ctx context.Context, orgID, id string) error {
	_, err := q.q.ExecContext(ctx, `DELETE FROM sessions WHERE org_id = $1 AND id = $2`, orgID, id)
	if err != nil {
		return fmt.Errorf("delete session: %w", err)
	}
	return nil
}

// DeleteExpired removes expired sessions, signups that expired more than keep
// ago (kept a while so that an old link still answers 410, not 404), and jobs
// that failed for good longer than keep ago.
func (q Queries) DeleteExpired(ctx context.Context, now time.Time, keep time.Duration) (int64, error) {
	res, err := q.q.ExecContext(ctx, `DELETE FROM sessions WHERE expires_at <= $1 OR idle_expires_at <= $1`, Timestamp(now))
	if err != nil {
		return 0, fmt.Errorf("delete expired sessions: %w", err)
	}
	n1, _ := res.RowsAffected()
	res, err = q.q.ExecContext(ctx, `DELETE FROM signups WHERE expires_at <= $1`, Timestamp(now.Add(-keep)))
	if err != nil {
		return n1, fmt.Errorf("delete expired signups: %w", err)
	}
	n2, _ := res.RowsAffected()
	res, err = q.q.ExecContext(ctx, `DELETE FROM jobs WHERE state = 'failed' AND created_at <= $1`, Timestamp(now.Add(-keep)))
	if err != nil {
		return n1 + n2, fmt.Errorf("delete failed jobs: %w", err)
	}
	n3, _ := res.RowsAffected()
	return n1 + n2 + n3, nil
}

// DeleteFinishedMail removes outbox rows delivered or abandoned more than
// retention ago (an abandoned row's next_attempt_at is when it was given up).
func (q Queries) DeleteFinishedMail(ctx context.Context, now time.Time, retention time.Duration) (int64, error) {
	cutoff := Timestamp(now.Add(-retention))
	res, err := q.q.ExecContext(ctx, `DELETE FROM outbox WHERE (state = 'sent' AND sent_at <= $1)
		OR (state = 'abandoned' AND next_attempt_at <= $1)`, cutoff)
	if err != nil {
		return 0, fmt.Errorf("delete finished mail: %w", err)
	}
	n, _ := res.RowsAffected()
	return n, nil
}

// ---- audit ----

// AddAudit appends an entry to the audit log.
func (q Queries) AddAudit(ctx context.Context, e domain.AuditEntry) error {
	data, err := toJSON(e.Data)
	if err != nil {
		return err
	}
	if e.ID == "" {
		e.ID = NewID()
	}
	_, err = q.q.ExecContext(ctx, `INSERT INTO audit_log (id, org_id, actor, action, subject_id, data, created_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7)`, e.ID, e.OrgID, e.Actor, e.Action, e.SubjectID, data, Timestamp(e.CreatedAt))
	if err != nil {
		return fmt.Errorf("audit: %w", err)
	}
	return nil
}

// IsNotFound reports whether err says a row does not exist.
func IsNotFound(err error) bool { return errors.Is(err, domain.ErrNotFound) }

// IsDuplicate reports whether err says a unique constraint was violated.
func IsDuplicate(err error) bool { return errors.Is(err, domain.ErrDuplicate) }
