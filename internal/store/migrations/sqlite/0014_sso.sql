-- Sign-in with OpenID Connect. An external identity is a subject of an
-- issuer, linked to one user of the organization. An SSO flow is a
-- short-lived, single-use step of a sign-in: the state of a redirect to
-- the provider ('auth'), or an identity the provider vouched for that
-- waits for the first-login registration form ('registration') or for the
-- password of the existing user it would be linked to ('link'). Only the
-- SHA-256 of each token is kept; binding_hash is the SHA-256 of the
-- browser's flow cookie (NULL for apps).
CREATE TABLE external_identities (
    id            TEXT PRIMARY KEY,
    org_id        TEXT NOT NULL REFERENCES organizations(id) ON DELETE CASCADE,
    user_id       TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    provider      TEXT NOT NULL,
    issuer        TEXT NOT NULL,
    subject       TEXT NOT NULL,
    email         TEXT NOT NULL DEFAULT '',
    created_at    TIMESTAMP NOT NULL,
    last_login_at TIMESTAMP
);
CREATE UNIQUE INDEX external_identities_subject ON external_identities (org_id, issuer, subject);
CREATE INDEX external_identities_user ON external_identities (org_id, user_id);

CREATE TABLE sso_flows (
    id           TEXT PRIMARY KEY,
    org_id       TEXT NOT NULL REFERENCES organizations(id) ON DELETE CASCADE,
    kind         TEXT NOT NULL,
    token_hash   BLOB NOT NULL UNIQUE,
    binding_hash BLOB,
    provider     TEXT NOT NULL,
    identity     TEXT NOT NULL DEFAULT '{}',
    user_id      TEXT REFERENCES users(id) ON DELETE CASCADE,
    next_path    TEXT NOT NULL DEFAULT '',
    created_at   TIMESTAMP NOT NULL,
    expires_at   TIMESTAMP NOT NULL,
    used_at      TIMESTAMP
);
CREATE INDEX sso_flows_expires ON sso_flows (expires_at);
