-- B2B provisioning: labelpartners (with their app password policy, SSO
-- introspection endpoint and API key), API clients (b2b for provisioning, app
-- for /v2/token), provisioned end users and their lifecycle
-- (provisioned -> registered -> active), mailed verification and reset links,
-- and opaque access and refresh tokens (stored as SHA-256). End users are
-- bulk-imported, so their table has only the indexes it needs: the unique
-- (email_lower, org_id) also serves look-ups by address across organizations.

CREATE TABLE b2b_labelpartners (
    id                          TEXT PRIMARY KEY,
    org_id                      TEXT NOT NULL REFERENCES organizations(id) ON DELETE CASCADE,
    name                        TEXT NOT NULL UNIQUE,
    password_policy             TEXT NOT NULL,
    introspection_url           TEXT NOT NULL DEFAULT '',
    introspection_client_id     TEXT NOT NULL DEFAULT '',
    introspection_client_secret TEXT NOT NULL DEFAULT '',
    api_key_hash                BLOB NOT NULL UNIQUE,
    created_at                  TIMESTAMP NOT NULL
);
CREATE INDEX b2b_labelpartners_org ON b2b_labelpartners (org_id, name);

CREATE TABLE b2b_clients (
    id            TEXT PRIMARY KEY,
    org_id        TEXT NOT NULL REFERENCES organizations(id) ON DELETE CASCADE,
    name          TEXT NOT NULL,
    kind          TEXT NOT NULL,
    client_id     TEXT NOT NULL UNIQUE,
    secret_hash   BLOB NOT NULL,
    labelpartners TEXT NOT NULL DEFAULT '[]',
    created_at    TIMESTAMP NOT NULL,
    UNIQUE (org_id, name)
);

CREATE TABLE b2b_end_users (
    id                   TEXT PRIMARY KEY,
    org_id               TEXT NOT NULL, -- the labelpartner's; deleted with it
    labelpartner_id      TEXT NOT NULL REFERENCES b2b_labelpartners(id) ON DELETE CASCADE,
    email                TEXT NOT NULL,
    email_lower          TEXT NOT NULL,
    first_name           TEXT NOT NULL,
    last_name            TEXT NOT NULL,
    external_id          TEXT,
    voucher_code         TEXT NOT NULL DEFAULT '',
    create_verified      INTEGER NOT NULL DEFAULT 0,
    details              TEXT NOT NULL DEFAULT '{}',
    state                TEXT NOT NULL,
    password_hash        TEXT NOT NULL DEFAULT '',
    created_at           TIMESTAMP NOT NULL,
    email_verified_at    TIMESTAMP,
    registered_at        TIMESTAMP,
    activated_at         TIMESTAMP,
    first_measurement_at TIMESTAMP,
    UNIQUE (email_lower, org_id)
);
-- Few end users sign in with SSO: index only those that do.
CREATE UNIQUE INDEX b2b_end_users_external ON b2b_end_users (org_id, external_id) WHERE external_id IS NOT NULL;
CREATE INDEX b2b_end_users_labelpartner ON b2b_end_users (labelpartner_id);

CREATE TABLE b2b_links (
    id          TEXT PRIMARY KEY,
    org_id      TEXT NOT NULL REFERENCES organizations(id) ON DELETE CASCADE,
    end_user_id TEXT NOT NULL REFERENCES b2b_end_users(id) ON DELETE CASCADE,
    purpose     TEXT NOT NULL,
    token_hash  BLOB NOT NULL UNIQUE,
    created_at  TIMESTAMP NOT NULL,
    expires_at  TIMESTAMP NOT NULL,
    used_at     TIMESTAMP
);
CREATE INDEX b2b_links_end_user ON b2b_links (end_user_id);

CREATE TABLE b2b_tokens (
    id          TEXT PRIMARY KEY,
    org_id      TEXT NOT NULL REFERENCES organizations(id) ON DELETE CASCADE,
    kind        TEXT NOT NULL,
    subject_id  TEXT NOT NULL,
    client_id   TEXT NOT NULL DEFAULT '',
    family_id   TEXT NOT NULL DEFAULT '',
    token_hash  BLOB NOT NULL UNIQUE,
    created_at  TIMESTAMP NOT NULL,
    expires_at  TIMESTAMP NOT NULL,
    used_at     TIMESTAMP,
    revoked_at  TIMESTAMP
);
CREATE INDEX b2b_tokens_family ON b2b_tokens (family_id);
CREATE INDEX b2b_tokens_subject ON b2b_tokens (subject_id);
CREATE INDEX b2b_tokens_expires ON b2b_tokens (expires_at);
