-- The back-office console. Back-office users are people of the organization
-- running onboard (org_admin: one organization; supervisor: every
-- organization and the system-wide settings); they are not customers and
-- have their own table, set-password links and sessions. A user may have a
-- TOTP second factor (the secret sealed at rest) and recovery codes (their
-- SHA-256 only). system_settings holds the supervisor's switches.
CREATE TABLE backoffice_users (
    id              TEXT PRIMARY KEY,
    org_id          TEXT NOT NULL REFERENCES organizations(id) ON DELETE CASCADE,
    email           TEXT NOT NULL,
    email_lower     TEXT NOT NULL UNIQUE,
    role            TEXT NOT NULL CHECK (role IN ('org_admin', 'supervisor')),
    password_hash   TEXT NOT NULL DEFAULT '',
    totp_secret     TEXT NOT NULL DEFAULT '',
    totp_enabled_at TIMESTAMPTZ,
    totp_last_step  BIGINT NOT NULL DEFAULT 0,
    recovery_codes  TEXT NOT NULL DEFAULT '[]',
    language        TEXT NOT NULL DEFAULT '',
    disabled_at     TIMESTAMPTZ,
    created_at      TIMESTAMPTZ NOT NULL,
    updated_at      TIMESTAMPTZ NOT NULL
);
CREATE INDEX backoffice_users_org ON backoffice_users (org_id);

CREATE TABLE backoffice_tokens (
    id         TEXT PRIMARY KEY,
    user_id    TEXT NOT NULL REFERENCES backoffice_users(id) ON DELETE CASCADE,
    token_hash BYTEA NOT NULL UNIQUE,
    created_at TIMESTAMPTZ NOT NULL,
    expires_at TIMESTAMPTZ NOT NULL,
    used_at    TIMESTAMPTZ
);
CREATE INDEX backoffice_tokens_user ON backoffice_tokens (user_id);

CREATE TABLE backoffice_sessions (
    id              TEXT PRIMARY KEY,
    user_id         TEXT NOT NULL REFERENCES backoffice_users(id) ON DELETE CASCADE,
    token_hash      BYTEA NOT NULL UNIQUE,
    second_factor   TEXT NOT NULL DEFAULT '',
    created_at      TIMESTAMPTZ NOT NULL,
    expires_at      TIMESTAMPTZ NOT NULL,
    idle_expires_at TIMESTAMPTZ NOT NULL,
    client_ip       TEXT NOT NULL DEFAULT '',
    user_agent      TEXT NOT NULL DEFAULT ''
);
CREATE INDEX backoffice_sessions_user ON backoffice_sessions (user_id);

CREATE TABLE system_settings (
    name       TEXT PRIMARY KEY,
    value      TEXT NOT NULL,
    updated_at TIMESTAMPTZ NOT NULL
);
