-- Self-service account management: invitations to join an account, password
-- resets and email changes (single-use mailed links, stored as SHA-256 of the
-- token), and an index to find audit entries by actor.

CREATE TABLE invitations (
    id           TEXT PRIMARY KEY,
    org_id       TEXT NOT NULL REFERENCES organizations(id) ON DELETE CASCADE,
    account_id   TEXT NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
    email        TEXT NOT NULL,
    email_lower  TEXT NOT NULL,
    user_type_id TEXT NOT NULL REFERENCES user_types(id),
    invited_by   TEXT REFERENCES users(id) ON DELETE SET NULL,
    user_id      TEXT REFERENCES users(id) ON DELETE CASCADE,
    token_hash   BLOB NOT NULL UNIQUE,
    state        TEXT NOT NULL,
    created_at   TIMESTAMP NOT NULL,
    expires_at   TIMESTAMP NOT NULL,
    accepted_at  TIMESTAMP,
    accepted_by  TEXT REFERENCES users(id) ON DELETE SET NULL,
    revoked_at   TIMESTAMP
);
CREATE INDEX invitations_account ON invitations (account_id, created_at);
CREATE INDEX invitations_pending ON invitations (org_id, account_id, email_lower, state);
CREATE INDEX invitations_user ON invitations (user_id);
CREATE INDEX invitations_invited_by ON invitations (invited_by);
CREATE INDEX invitations_accepted_by ON invitations (accepted_by);
CREATE INDEX invitations_expires ON invitations (expires_at);

CREATE TABLE password_resets (
    id          TEXT PRIMARY KEY,
    org_id      TEXT NOT NULL REFERENCES organizations(id) ON DELETE CASCADE,
    user_id     TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    token_hash  BLOB NOT NULL UNIQUE,
    state       TEXT NOT NULL,
    created_at  TIMESTAMP NOT NULL,
    expires_at  TIMESTAMP NOT NULL,
    used_at     TIMESTAMP
);
CREATE INDEX password_resets_user ON password_resets (user_id, state);
CREATE INDEX password_resets_expires ON password_resets (expires_at);

CREATE TABLE email_changes (
    id              TEXT PRIMARY KEY,
    org_id          TEXT NOT NULL REFERENCES organizations(id) ON DELETE CASCADE,
    user_id         TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    old_email       TEXT NOT NULL,
    new_email       TEXT NOT NULL,
    new_email_lower TEXT NOT NULL,
    token_hash      BLOB NOT NULL UNIQUE,
    state           TEXT NOT NULL,
    created_at      TIMESTAMP NOT NULL,
    expires_at      TIMESTAMP NOT NULL,
    used_at         TIMESTAMP
);
CREATE INDEX email_changes_user ON email_changes (user_id, state);
CREATE INDEX email_changes_expires ON email_changes (expires_at);

CREATE INDEX audit_actor ON audit_log (org_id, actor);
