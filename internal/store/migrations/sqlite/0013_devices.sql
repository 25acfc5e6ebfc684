-- Self-service device setup: the supervisor's system-wide settings, devices
-- of customers, installation codes (only their SHA-256 is kept) and the SMS
-- outbox. Sign-ups remember that they came from the device setup.
ALTER TABLE signups ADD COLUMN purpose TEXT NOT NULL DEFAULT '';

CREATE TABLE system_settings (
    name       TEXT PRIMARY KEY,
    value      TEXT NOT NULL,
    updated_at TIMESTAMP NOT NULL
);

CREATE TABLE devices (
    id             TEXT PRIMARY KEY,
    org_id         TEXT NOT NULL REFERENCES organizations(id) ON DELETE CASCADE,
    account_id     TEXT NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
    platform       TEXT NOT NULL,
    name           TEXT NOT NULL,
    serial         TEXT NOT NULL DEFAULT '',
    model          TEXT NOT NULL DEFAULT '',
    os             TEXT NOT NULL DEFAULT '',
    state          TEXT NOT NULL,
    settings       TEXT NOT NULL DEFAULT '{}',
    secret_hash    BLOB,
    created_at     TIMESTAMP NOT NULL,
    updated_at     TIMESTAMP NOT NULL,
    provisioned_at TIMESTAMP
);
CREATE INDEX devices_account ON devices (org_id, account_id, created_at);

CREATE TABLE installation_codes (
    id           TEXT PRIMARY KEY,
    org_id       TEXT NOT NULL REFERENCES organizations(id) ON DELETE CASCADE,
    platform     TEXT NOT NULL,
    code_hash    BLOB NOT NULL UNIQUE,
    account_id   TEXT REFERENCES accounts(id) ON DELETE CASCADE,
    device_id    TEXT REFERENCES devices(id) ON DELETE CASCADE,
    created_by   TEXT NOT NULL,
    expires_at   TIMESTAMP NOT NULL,
    usage_limit  INTEGER NOT NULL,
    usage_delay  BIGINT NOT NULL,
    times_used   INTEGER NOT NULL DEFAULT 0,
    last_used_at TIMESTAMP,
    revoked_at   TIMESTAMP,
    created_at   TIMESTAMP NOT NULL
);
CREATE INDEX installation_codes_org ON installation_codes (org_id, created_at);
CREATE INDEX installation_codes_account ON installation_codes (account_id);
CREATE INDEX installation_codes_device ON installation_codes (device_id);

CREATE TABLE sms_outbox (
    id              TEXT PRIMARY KEY,
    org_id          TEXT NOT NULL REFERENCES organizations(id) ON DELETE CASCADE,
    to_phone        TEXT NOT NULL,
    body            TEXT NOT NULL,
    state           TEXT NOT NULL,
    attempts        INTEGER NOT NULL DEFAULT 0,
    next_attempt_at TIMESTAMP NOT NULL,
    locked_until    TIMESTAMP,
    last_error      TEXT NOT NULL DEFAULT '',
    created_at      TIMESTAMP NOT NULL,
    sent_at         TIMESTAMP
);
CREATE INDEX sms_outbox_due ON sms_outbox (next_attempt_at) WHERE state IN ('queued', 'processing');
