package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/onboard-dev/onboard/internal/domain"
)

// ---- system settings ----

// SystemSetting returns a system-wide setting; ok is false when it was never set.
func (q Queries) SystemSetting(ctx context.Context, name string) (value string, ok bool, err error) {
	err = q.q.QueryRowContext(ctx, `SELECT value FROM system_settings WHERE name = $1`, name).Scan(&value)
	if errors.Is(err, sql.ErrNoRows) {
		return "", false, nil
	}
	if err != nil {
		return "", false, fmt.Errorf("system setting %s: %w", name, err)
	}
	return value, true, nil
}

// PutSystemSetting writes a system-wide setting.
func (q Queries) PutSystemSetting(ctx context.Context, name, value string, now time.Time) error {
	_, err := q.q.ExecContext(ctx, `INSERT INTO system_settings (name, value, updated_at) VALUES ($1, $2, $3)
		ON CONFLICT (name) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at`, name, value, Timestamp(now))
	if err != nil {
		return fmt.Errorf("put system setting %s: %w", name, err)
	}
	return nil
}

// ---- devices ----

const deviceColumns = `id, org_id, account_id, platform, name, serial, model, os, state, settings, secret_hash,
	created_at, updated_at, provisioned_at`

func scanDevice(row interface{ Scan(...any) error }) (domain.Device, error) {
	var d domain.Device
	var settings string
	var provisioned sql.NullTime
	if err := row.Scan(&d.ID, &d.OrgID, &d.AccountID, &d.Platform, &d.Name, &d.Serial, &d.Model, &d.OS, &d.State, &settings,
		&d.SecretHash, &d.CreatedAt, &d.UpdatedAt, &provisioned); err != nil {
		return d, mapErr(err)
	}
	d.CreatedAt, d.UpdatedAt = d.CreatedAt.UTC(), d.UpdatedAt.UTC()
	d.ProvisionedAt = nullTime(provisioned)
	if err := fromJSON(settings, &d.Settings); err != nil {
		return d, err
	}
	return d, nil
}

// CreateDevice inserts a device.
func (q Queries) CreateDevice(ctx context.Context, d domain.Device) error {
	settings, err := toJSON(nonNilMap(d.Settings))
	if err != nil {
		return err
	}
	_, err = q.q.ExecContext(ctx, `INSERT INTO devices (`+deviceColumns+`)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)`,
		d.ID, d.OrgID, d.AccountID, d.Platform, d.Name, d.Serial, d.Model, d.OS, d.State, settings, d.SecretHash,
		Timestamp(d.CreatedAt), Timestamp(d.UpdatedAt), timePtr(d.ProvisionedAt))
	if err != nil {
		return fmt.Errorf("create device: %w", mapErr(err))
	}
	return nil
}

// Device returns a device of an account; domain.ErrNotFound for another account's.
func (q Queries) Device(ctx context.Context, orgID, accountID, id string) (domain.Device, error) {
	d, err := scanDevice(q.q.QueryRowContext(ctx, `SELECT `+deviceColumns+` FROM devices
		WHERE id = $1 AND org_id = $2 AND account_id = $3`, id, orgID, accountID))
	if err != nil {
		return d, fmt.Errorf("device: %w", err)
	}
	return d, nil
}

// DevicesOfAccount lists the devices of an account, oldest first.
func (q Queries) DevicesOfAccount(ctx context.Context, orgID, accountID string) ([]domain.Device, error) {
	return list(ctx, q.q, "devices", scanDevice, `SELECT `+deviceColumns+` FROM devices
		WHERE org_id = $1 AND account_id = $2 ORDER BY created_at, id`, orgID, accountID)
}

// RenameDevice renames a device of an account; false when there is none.
func (q Queries) RenameDevice(ctx context.Context, orgID, accountID, id, name string, now time.Time) (bool, error) {
	res, err := q.q.ExecContext(ctx, `UPDATE devices SET name = $1, updated_at = $2 WHERE id = $3 AND org_id = $4 AND account_id = $5`,
		name, Timestamp(now), id, orgID, accountID)
	return affected(res, err, "rename device")
}

// DeleteDevice removes a device of an account (and its installation codes); false when there is none.
func (q Queries) DeleteDevice(ctx context.Context, orgID, accountID, id string) (bool, error) {
	res, err := q.q.ExecContext(ctx, `DELETE FROM devices WHERE id = $1 AND org_id = $2 AND account_id = $3`, id, orgID, accountID)
	return affected(res, err, "delete device")
}

// ActivateDevice makes a pending device active with what it told of itself
// and the hash of its secret; false when it is no longer pending.
func (q Queries) ActivateDevice(ctx context.Context, d domain.Device) (bool, error) {
	res, err := q.q.ExecContext(ctx, `UPDATE devices SET state = $1, name = $2, serial = $3, model = $4, os = $5, secret_hash = $6,
		updated_at = $7, provisioned_at = $7
		WHERE id = $8 AND org_id = $9 AND state = $10`,
		domain.DeviceActive, d.Name, d.Serial, d.Model, d.OS, d.SecretHash, Timestamp(*d.ProvisionedAt), d.ID, d.OrgID, domain.DevicePending)
	return affected(res, err, "activate device")
}

// ---- installation codes ----

const codeColumns = `id, org_id, platform, code_hash, account_id, device_id, created_by, expires_at, usage_limit, usage_delay,
	times_used, last_used_at, revoked_at, created_at`

func scanCode(row interface{ Scan(...any) error }) (domain.InstallationCode, error) {
	var c domain.InstallationCode
	var account, device sql.NullString
	var delay int64
	var last, revoked sql.NullTime
	if err := row.Scan(&c.ID, &c.OrgID, &c.Platform, &c.CodeHash, &account, &device, &c.CreatedBy, &c.ExpiresAt, &c.UsageLimit,
		&delay, &c.TimesUsed, &last, &revoked, &c.CreatedAt); err != nil {
		return c, mapErr(err)
	}
	c.AccountID, c.DeviceID, c.UsageDelay = account.String, device.String, time.Duration(delay)
	c.ExpiresAt, c.CreatedAt = c.ExpiresAt.UTC(), c.CreatedAt.UTC()
	c.LastUsedAt, c.RevokedAt = nullTime(last), nullTime(revoked)
	return c, nil
}

// CreateInstallationCode inserts an installation code.
func (q Queries) CreateInstallationCode(ctx context.Context, c domain.InstallationCode) error {
	_, err := q.q.ExecContext(ctx, `INSERT INTO installation_codes (`+codeColumns+`)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)`,
		c.ID, c.OrgID, c.Platform, c.CodeHash, nullString(c.AccountID), nullString(c.DeviceID), c.CreatedBy, Timestamp(c.ExpiresAt),
		c.UsageLimit, int64(c.UsageDelay), c.TimesUsed, timePtr(c.LastUsedAt), timePtr(c.RevokedAt), Timestamp(c.CreatedAt))
	if err != nil {
		return fmt.Errorf("create installation code: %w", mapErr(err))
	}
	return nil
}

// LockInstallationCode returns the code whose SHA-256 is hash, locking its
// row until the transaction ends (PostgreSQL; SQLite transactions are
// serialized already).
func (q Queries) LockInstallationCode(ctx context.Context, hash []byte) (domain.InstallationCode, error) {
	c, err := scanCode(q.q.QueryRowContext(ctx, `SELECT `+codeColumns+` FROM installation_codes WHERE code_hash = $1`+
		q.engine.lock(forUpdate), hash))
	if err != nil {
		return c, fmt.Errorf("installation code: %w", err)
	}
	return c, nil
}

// UseInstallationCode counts one use of a code at now, provided it is
// unrevoked, unexpired, under its usage limit and its last use is at least
// its delay ago; false otherwise. The condition is checked by the UPDATE
// itself, so that two racing uses cannot both take the last one.
func (q Queries) UseInstallationCode(ctx context.Context, c domain.InstallationCode, now time.Time) (bool, error) {
	now = Timestamp(now)
	res, err := q.q.ExecContext(ctx, `UPDATE installation_codes SET times_used = times_used + 1, last_used_at = $1
		WHERE id = $2 AND revoked_at IS NULL AND expires_at > $1 AND times_used < usage_limit
			AND (last_used_at IS NULL OR last_used_at <= $3)`,
		now, c.ID, now.Add(-c.UsageDelay))
	if err != nil {
		return false, fmt.Errorf("use installation code: %w", err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return false, fmt.Errorf("use installation code: %w", err)
	}
	return n == 1, nil
}

// InstallationCodes lists an organization's back-office codes (not the
// single-use codes of owners' devices), newest first.
func (q Queries) InstallationCodes(ctx context.Context, orgID string) ([]domain.InstallationCode, error) {
	return list(ctx, q.q, "installation codes", scanCode, `SELECT `+codeColumns+` FROM installation_codes
		WHERE org_id = $1 AND device_id IS NULL ORDER BY created_at DESC, id DESC`, orgID)
}

// InstallationCode returns a back-office code of an organization.
func (q Queries) InstallationCode(ctx context.Context, orgID, id string) (domain.InstallationCode, error) {
	c, err := scanCode(q.q.QueryRowContext(ctx, `SELECT `+codeColumns+` FROM installation_codes
		WHERE id = $1 AND org_id = $2 AND device_id IS NULL`, id, orgID))
	if err != nil {
		return c, fmt.Errorf("installation code: %w", err)
	}
	return c, nil
}

// RevokeInstallationCode revokes a back-office code; false when there is
// none or it was revoked already.
func (q Queries) RevokeInstallationCode(ctx context.Context, orgID, id string, now time.Time) (bool, error) {
	res, err := q.q.ExecContext(ctx, `UPDATE installation_codes SET revoked_at = $1
		WHERE id = $2 AND org_id = $3 AND device_id IS NULL AND revoked_at IS NULL`, Timestamp(now), id, orgID)
	return affected(res, err, "revoke installation code")
}
