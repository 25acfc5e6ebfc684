-- Account types and the organization's onboarding configuration: admin API
-- keys, property definitions, partner codes, approvals, customer verification.

CREATE TABLE admin_keys (
    id           TEXT PRIMARY KEY,
    org_id       TEXT NOT NULL REFERENCES organizations(id) ON DELETE CASCADE,
    name         TEXT NOT NULL,
    key_hash     BYTEA NOT NULL UNIQUE,
    created_at   TIMESTAMPTZ NOT NULL,
    last_used_at TIMESTAMPTZ,
    revoked_at   TIMESTAMPTZ
);

CREATE TABLE property_definitions (
    id            TEXT PRIMARY KEY,
    org_id        TEXT NOT NULL REFERENCES organizations(id) ON DELETE CASCADE,
    scope         TEXT NOT NULL,
    name          TEXT NOT NULL,
    label         TEXT NOT NULL,
    type          TEXT NOT NULL,
    required      BOOLEAN NOT NULL,
    account_types TEXT NOT NULL DEFAULT '[]',
    options       TEXT NOT NULL DEFAULT '[]',
    pattern       TEXT NOT NULL DEFAULT '',
    max_length    INTEGER NOT NULL DEFAULT 0,
    position      INTEGER NOT NULL DEFAULT 0,
    created_at    TIMESTAMPTZ NOT NULL,
    updated_at    TIMESTAMPTZ NOT NULL,
    UNIQUE (org_id, scope, name)
);

CREATE TABLE partner_codes (
    account_id  TEXT PRIMARY KEY REFERENCES accounts(id) ON DELETE CASCADE,
    org_id      TEXT NOT NULL REFERENCES organizations(id) ON DELETE CASCADE,
    code        TEXT NOT NULL,
    created_at  TIMESTAMPTZ NOT NULL,
    UNIQUE (org_id, code)
);

ALTER TABLE accounts ADD COLUMN verified_at TIMESTAMPTZ;
ALTER TABLE accounts ADD COLUMN decided_at TIMESTAMPTZ;
ALTER TABLE accounts ADD COLUMN decision_reason TEXT NOT NULL DEFAULT '';
ALTER TABLE accounts ADD COLUMN external_ref TEXT NOT NULL DEFAULT '';
CREATE INDEX accounts_status ON accounts (org_id, kind, status);
CREATE INDEX audit_org_time ON audit_log (org_id, created_at);
