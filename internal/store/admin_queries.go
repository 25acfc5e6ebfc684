package store

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"github.com/onboard-dev/onboard/internal/domain"
)

// ---- organizations ----

// LockOrganization returns the organization and, on PostgreSQL, locks its
// row until the transaction ends, so that changes of its configuration are
// serialized (SQLite transactions are serialized already). Call it in a Tx.
func (q Queries) LockOrganization(ctx context.Context, id string) (domain.Organization, error) {
	o, err := q.scanOrg(q.q.QueryRowContext(ctx, `SELECT `+orgColumns+` FROM organizations WHERE id = $1`+q.engine.lock(forUpdate), id))
	if err != nil {
		return o, fmt.Errorf("lock organization %s: %w", id, err)
	}
	return o, nil
}

// SetOrganizationDisplayName changes an organization's display name.
func (q Queries) SetOrganizationDisplayName(ctx context.Context, id, displayName string) error {
	return q.execOne(ctx, "set organization display name", `UPDATE organizations SET display_name = $1 WHERE id = $2`, displayName, id)
}

// UpdateOnboarding replaces an organization's onboarding configuration.
func (q Queries) UpdateOnboarding(ctx context.Context, orgID string, cfg domain.Onboarding) error {
	raw, err := q.onboardingJSON(orgID, cfg)
	if err != nil {
		return err
	}
	res, err := q.q.ExecContext(ctx, `UPDATE organizations SET onboarding = $1 WHERE id = $2`, raw, orgID)
	if err != nil {
		return fmt.Errorf("update onboarding: %w", err)
	}
	if n, _ := res.RowsAffected(); n != 1 {
		return fmt.Errorf("update onboarding: %w", domain.ErrNotFound)
	}
	return nil
}

// ---- admin keys ----

// CreateAdminKey stores an admin API key (its hash).
func (q Queries) CreateAdminKey(ctx context.Context, k domain.AdminKey) error {
	_, err := q.q.ExecContext(ctx, `INSERT INTO admin_keys (id, org_id, name, key_hash, created_at) VALUES ($1, $2, $3, $4, $5)`,
		k.ID, k.OrgID, k.Name, k.KeyHash, Timestamp(k.CreatedAt))
	if err != nil {
		return fmt.Errorf("create admin key: %w", mapErr(err))
	}
	return nil
}

// AdminKeyByHash returns the unrevoked admin key with that hash.
func (q Queries) AdminKeyByHash(ctx context.Context, hash []byte) (domain.AdminKey, error) {
	var k domain.AdminKey
	var used, revoked sql.NullTime
	err := q.q.QueryRowContext(ctx, `SELECT id, org_id, name, key_hash, created_at, last_used_at, revoked_at
		FROM admin_keys WHERE key_hash = $1 AND revoked_at IS NULL`, hash).
		Scan(&k.ID, &k.OrgID, &k.Name, &k.KeyHash, &k.CreatedAt, &used, &revoked)
	if err != nil {
		return k, fmt.Errorf("admin key: %w", mapErr(err))
	}
	k.CreatedAt = k.CreatedAt.UTC()
	k.LastUsedAt, k.RevokedAt = nullTime(used), nullTime(revoked)
	return k, nil
}

// AdminKeys lists an organization's admin keys, revoked ones too, newest
// first.
func (q Queries) AdminKeys(ctx context.Context, orgID string) ([]domain.AdminKey, error) {
	rows, err := q.q.QueryContext(ctx, `SELECT id, org_id, name, created_at, last_used_at, revoked_at
		FROM admin_keys WHERE org_id = $1 ORDER BY created_at DESC, id DESC`, orgID)
	if err != nil {
		return nil, fmt.Errorf("admin keys: %w", err)
	}
	defer rows.Close()
	var out []domain.AdminKey
	for rows.Next() {
		var k domain.AdminKey
		var used, revoked sql.NullTime
		if err := rows.Scan(&k.ID, &k.OrgID, &k.Name, &k.CreatedAt, &used, &revoked); err != nil {
			return nil, fmt.Errorf("admin keys: %w", err)
		}
		k.CreatedAt = k.CreatedAt.UTC()
		k.LastUsedAt, k.RevokedAt = nullTime(used), nullTime(revoked)
		out = append(out, k)
	}
	return out, rows.Err()
}

// RevokeAdminKey revokes an organization's admin key and returns it, and
// whether this call revoked it (a key revoked already keeps its time). It
// returns domain.ErrNotFound when the organization has no such key.
func (q Queries) RevokeAdminKey(ctx context.Context, orgID, id string, at time.Time) (domain.AdminKey, bool, error) {
	res, err := q.q.ExecContext(ctx, `UPDATE admin_keys SET revoked_at = $1 WHERE org_id = $2 AND id = $3 AND revoked_at IS NULL`,
		Timestamp(at), orgID, id)
	if err != nil {
		return domain.AdminKey{}, false, fmt.Errorf("revoke admin key: %w", err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return domain.AdminKey{}, false, fmt.Errorf("revoke admin key: %w", err)
	}
	var k domain.AdminKey
	var used, revoked sql.NullTime
	err = q.q.QueryRowContext(ctx, `SELECT id, org_id, name, created_at, last_used_at, revoked_at FROM admin_keys WHERE org_id = $1 AND id = $2`,
		orgID, id).Scan(&k.ID, &k.OrgID, &k.Name, &k.CreatedAt, &used, &revoked)
	if err != nil {
		return k, false, fmt.Errorf("revoke admin key: %w", mapErr(err))
	}
	k.CreatedAt = k.CreatedAt.UTC()
	k.LastUsedAt, k.RevokedAt = nullTime(used), nullTime(revoked)
	return k, n == 1, nil
}

// TouchAdminKey records that a key was used (at most once a minute).
func (q Queries) TouchAdminKey(ctx context.Context, id string, at time.Time) error {
	_, err := q.q.ExecContext(ctx, `UPDATE admin_keys SET last_used_at = $1 WHERE id = $2 AND (last_used_at IS NULL OR last_used_at < $3)`,
		Timestamp(at), id, Timestamp(at.Add(-time.Minute)))
	if err != nil {
		return fmt.Errorf("touch admin key: %w", err)
	}
	return nil
}

// ---- user types ----

// UserTypes lists the organization's user types by name.
func (q Queries) UserTypes(ctx context.Context, orgID string) ([]domain.UserType, error) {
	return q.userTypes(ctx, orgID, "")
}

// LockUserTypes lists the organization's user types by name and, on
// PostgreSQL, holds a share lock on their rows until the transaction ends:
// they cannot be changed or deleted meanwhile, and the call waits for
// uncommitted changes of them. Call it in a Tx.
func (q Queries) LockUserTypes(ctx context.Context, orgID string) ([]domain.UserType, error) {
	return q.userTypes(ctx, orgID, q.engine.lock(forShare))
}

func (q Queries) userTypes(ctx context.Context, orgID, lock string) ([]domain.UserType, error) {
	rows, err := q.q.QueryContext(ctx, `SELECT id, org_id, name, label, permissions FROM user_types WHERE org_id = $1 ORDER BY name`+lock, orgID)
	if err != nil {
		return nil, fmt.Errorf("user types: %w", err)
	}
	defer rows.Close()
	var out []domain.UserType
	for rows.Next() {
		var u domain.UserType
		var perms string
		if err := rows.Scan(&u.ID, &u.OrgID, &u.Name, &u.Label, &perms); err != nil {
			return nil, fmt.Errorf("user types: %w", err)
		}
		if err := fromJSON(perms, &u.Permissions); err != nil {
			return nil, err
		}
		out = append(out, u)
	}
	return out, rows.Err()
}

// UpdateUserType changes a user type's label and permissions.
func (q Queries) UpdateUserType(ctx context.Context, u domain.UserType) error {
	perms, err := toJSON(u.Permissions)
	if err != nil {
		return err
	}
	res, err := q.q.ExecContext(ctx, `UPDATE user_types SET label = $1, permissions = $2 WHERE org_id = $3 AND id = $4`,
		u.Label, perms, u.OrgID, u.ID)
	if err != nil {
		return fmt.Errorf("update user type: %w", err)
	}
	if n, _ := res.RowsAffected(); n != 1 {
		return fmt.Errorf("update user type: %w", domain.ErrNotFound)
	}
	return nil
}

// ---- property definitions ----

const propertyColumns = `id, org_id, scope, name, label, type, required, account_types, options, pattern, max_length, position, created_at, updated_at`

// PropertyDefinitions lists the organization's property definitions in form order.
func (q Queries) PropertyDefinitions(ctx context.Context, orgID string) ([]domain.PropertyDefinition, error) {
	rows, err := q.q.QueryContext(ctx, `SELECT `+propertyColumns+` FROM property_definitions WHERE org_id = $1
		ORDER BY scope, position, name`, orgID)
	if err != nil {
		return nil, fmt.Errorf("property definitions: %w", err)
	}
	defer rows.Close()
	var out []domain.PropertyDefinition
	for rows.Next() {
		var p domain.PropertyDefinition
		var types, opts string
		if err := rows.Scan(&p.ID, &p.OrgID, &p.Scope, &p.Name, &p.Label, &p.Type, &p.Required, &types, &opts,
			&p.Pattern, &p.MaxLength, &p.Position, &p.CreatedAt, &p.UpdatedAt); err != nil {
			return nil, fmt.Errorf("property definitions: %w", err)
		}
		p.CreatedAt, p.UpdatedAt = p.CreatedAt.UTC(), p.UpdatedAt.UTC()
		if err := fromJSON(types, &p.AccountTypes); err != nil {
			return nil, err
		}
		if err := fromJSON(opts, &p.Options); err != nil {
			return nil, err
		}
		out = append(out, p)
	}
	return out, rows.Err()
}

// CreatePropertyDefinition inserts a property definition.
func (q Queries) CreatePropertyDefinition(ctx context.Context, p domain.PropertyDefinition) error {
	types, err := toJSON(nonNilSlice(p.AccountTypes))
	if err != nil {
		return err
	}
	opts, err := toJSON(nonNilSlice(p.Options))
	if err != nil {
		return err
	}
	_, err = q.q.ExecContext(ctx, `INSERT INTO property_definitions (`+propertyColumns+`)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)`,
		p.ID, p.OrgID, p.Scope, p.Name, p.Label, p.Type, p.Required, types, opts, p.Pattern, p.MaxLength, p.Position,
		Timestamp(p.CreatedAt), Timestamp(p.UpdatedAt))
	if err != nil {
		return fmt.Errorf("create property definition: %w", mapErr(err))
	}
	return nil
}

// UpdatePropertyDefinition replaces a property definition (found by id).
func (q Queries) UpdatePropertyDefinition(ctx context.Context, p domain.PropertyDefinition) error {
	types, err := toJSON(nonNilSlice(p.AccountTypes))
	if err != nil {
		return err
	}
	opts, err := toJSON(nonNilSlice(p.Options))
	if err != nil {
		return err
	}
	res, err := q.q.ExecContext(ctx, `UPDATE property_definitions SET label = $1, type = $2, required = $3, account_types = $4,
		options = $5, pattern = $6, max_length = $7, position = $8, updated_at = $9 WHERE org_id = $10 AND id = $11`,
		p.Label, p.Type, p.Required, types, opts, p.Pattern, p.MaxLength, p.Position, Timestamp(p.UpdatedAt), p.OrgID, p.ID)
	if err != nil {
		return fmt.Errorf("update property definition: %w", err)
	}
	if n, _ := res.RowsAffected(); n != 1 {
		return fmt.Errorf("update property definition: %w", domain.ErrNotFound)
	}
	return nil
}

// DeletePropertyDefinition removes a property definition.
func (q Queries) DeletePropertyDefinition(ctx context.Context, orgID, id string) error {
	res, err := q.q.ExecContext(ctx, `DELETE FROM property_definitions WHERE org_id = $1 AND id = $2`, orgID, id)
	if err != nil {
		return fmt.Errorf("delete property definition: %w", err)
	}
	if n, _ := res.RowsAffected(); n != 1 {
		return fmt.Errorf("delete property definition: %w", domain.ErrNotFound)
	}
	return nil
}

func nonNilSlice(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

// ---- partner codes ----

// SetPartnerCode sets (or replaces) a partner's code.
func (q Queries) SetPartnerCode(ctx context.Context, orgID, accountID, code string, at time.Time) error {
	_, err := q.q.ExecContext(ctx, `INSERT INTO partner_codes (account_id, org_id, code, created_at) VALUES ($1, $2, $3, $4)
		ON CONFLICT (account_id) DO UPDATE SET code = excluded.code, created_at = excluded.created_at`,
		accountID, orgID, code, Timestamp(at))
	if err != nil {
		return fmt.Errorf("set partner code: %w", mapErr(err))
	}
	return nil
}

// PartnerByCode returns the partner account whose code is code.
func (q Queries) PartnerByCode(ctx context.Context, orgID, code string) (domain.Account, error) {
	a, err := scanAccount(q.q.QueryRowContext(ctx, `SELECT `+prefixed("a.", accountColumns)+` FROM accounts a
		JOIN partner_codes c ON c.account_id = a.id WHERE c.org_id = $1 AND c.code = $2 AND a.kind = $3`, orgID, code, domain.KindPartner))
	if err != nil {
		return a, fmt.Errorf("partner by code: %w", err)
	}
	return a, nil
}

// PartnerCodes returns the codes of the organization's partners by account id.
func (q Queries) PartnerCodes(ctx context.Context, orgID string) (map[string]string, error) {
	rows, err := q.q.QueryContext(ctx, `SELECT account_id, code FROM partner_codes WHERE org_id = $1`, orgID)
	if err != nil {
		return nil, fmt.Errorf("partner codes: %w", err)
	}
	defer rows.Close()
	out := map[string]string{}
	for rows.Next() {
		var id, code string
		if err := rows.Scan(&id, &code); err != nil {
			return nil, fmt.Errorf("partner codes: %w", err)
		}
		out[id] = code
	}
	return out, rows.Err()
}

// ---- agreements ----

// AgreementVersions lists every version of a named agreement, newest first.
func (q Queries) AgreementVersions(ctx context.Context, orgID, name string) ([]domain.Agreement, error) {
	out, err := q.agreements(ctx, `SELECT `+agreementColumns+` FROM agreements a
		WHERE a.org_id = $1 AND a.name = $2 ORDER BY a.version DESC`, orgID, name)
	if err != nil {
		return nil, fmt.Errorf("agreement versions: %w", err)
	}
	return out, nil
}

func prefixed(prefix, columns string) string {
	out := make([]byte, 0, len(columns)*2)
	start := true
	for i := 0; i < len(columns); i++ {
		c := columns[i]
		if start && c != ' ' && c != '\n' && c != '\t' {
			out = append(out, prefix...)
			start = false
		}
		out = append(out, c)
		if c == ',' {
			start = true
		}
	}
	return string(out)
}

// SetOrganizationDisabled disables (at, non-nil) or enables (nil) an organization.
func (q Queries) SetOrganizationDisabled(ctx context.Context, id string, at *time.Time) error {
	var v any
	if at != nil {
		v = Timestamp(*at)
	}
	return q.execOne(ctx, "set organization disabled", `UPDATE organizations SET disabled_at = $1 WHERE id = $2`, v, id)
}
