-- The back-office console. Back-office users are people of the organization
-- running onboard (org_admin: one organization; supervisor: every
-- organization and the system-wide settings); they are not customers and
-- have their own table, set-password links and sessions. A user may have a
-- TOTP second factor (the secret sealed at rest) and recovery codes (their
-- SHA-256 only). The supervisor's switches are in system_settings (0013).
CREATE TABLE backoffice_users (
    id              TEXT PRIMARY KEY,
    org_id          TEXT NOT NULL REFERENCES organizations(id) ON DELETE CASCADE,
    email           TEXT NOT NULL,
    email_lower     TEXT NOT NULL UNIQUE,
    role            TEXT NOT NULL CHECK (role IN ('org_admin', 'supervisor')),
    password_hash   TEXT NOT NULL DEFAULT '',
    totp_secret     TEXT NOT NULL DEFAULT '',
    totp_enabled_at TIMESTAMP,
    totp_last_step  BIGINT NOT NULL DEFAULT 0,
    recovery_codes  TEXT NOT NULL DEFAULT '[]',
    language        TEXT NOT NULL DEFAULT '',
    disabled_at     TIMESTAMP,
    created_at      TIMESTAMP NOT NULL,
    updated_at      TIMESTAMP NOT NULL
);
CREATE INDEX backoffice_users_org ON backoffice_users (org_id);

CREATE TABLE backoffice_tokens (
    id         TEXT PRIMARY KEY,
    user_id    TEXT NOT NULL REFERENCES backoffice_users(id) ON DELETE CASCADE,
    token_hash BLOB NOT NULL UNIQUE,
    created_at TIMESTAMP NOT NULL,
    expires_at TIMESTAMP NOT NULL,
    used_at    TIMESTAMP
);
CREATE INDEX backoffice_tokens_user ON backoffice_tokens (user_id);

CREATE TABLE backoffice_sessions (
    id              TEXT PRIMARY KEY,
    user_id         TEXT NOT NULL REFERENCES backoffice_users(id) ON DELETE CASCADE,
    token_hash      BLOB NOT NULL UNIQUE,
    second_factor   TEXT NOT NULL DEFAULT '',
    created_at      TIMESTAMP NOT NULL,
    expires_at      TIMESTAMP NOT NULL,
    idle_expires_at TIMESTAMP NOT NULL,
    client_ip       TEXT NOT NULL DEFAULT '',
    user_agent      TEXT NOT NULL DEFAULT ''
);
CREATE INDEX backoffice_sessions_user ON backoffice_sessions (user_id);

-- The onboarding funnel. Each signup link is followed as it moves on
-- (funnel_subjects: when the link was made, first opened, used, and when
-- its user first signed in); each step, when it happens, adds one to its
-- organization's, day's (UTC, 'YYYY-MM-DD') and account type's counter and,
-- from the second step on, one to a bucket of the time since the step
-- before in the same row's histogram (durations: "bucket:count" pairs;
-- buckets of a quarter of a binary order of magnitude of seconds), from
-- which medians are read. A year of an organization is at most 5,840 rows,
-- however many signups it had.
CREATE TABLE funnel_subjects (
    signup_id     TEXT PRIMARY KEY,
    org_id        TEXT NOT NULL REFERENCES organizations(id) ON DELETE CASCADE,
    account_type  TEXT NOT NULL,
    started_at    TIMESTAMP NOT NULL,
    opened_at     TIMESTAMP,
    registered_at TIMESTAMP,
    user_id       TEXT,
    signed_in_at  TIMESTAMP
);
CREATE INDEX funnel_subjects_user ON funnel_subjects (user_id);

CREATE TABLE funnel_daily (
    org_id       TEXT NOT NULL REFERENCES organizations(id) ON DELETE CASCADE,
    day          TEXT NOT NULL,
    account_type TEXT NOT NULL,
    step         TEXT NOT NULL,
    count        BIGINT NOT NULL,
    durations    TEXT NOT NULL DEFAULT '',
    PRIMARY KEY (org_id, day, account_type, step)
);
