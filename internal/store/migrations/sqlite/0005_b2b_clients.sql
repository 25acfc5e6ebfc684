-- Managing B2B clients and sweeping B2B links and tokens.
--
-- Clients are revoked softly (revoked_at), so that the audit log keeps
-- pointing at a row. A revoked client's name may be given to a new client:
-- names are unique among the unrevoked clients of an organization only, which
-- on SQLite means rebuilding the table to drop its UNIQUE (org_id, name).
-- last_used_at is when the client last authenticated (to the minute).
--
-- The sweep deletes links and tokens that expired, links that were used and
-- tokens that were revoked, each some time ago: an index per criterion
-- (partial where only a few rows qualify). b2b_tokens has its expires_at
-- index already.

CREATE TABLE b2b_clients_0005 (
    id            TEXT PRIMARY KEY,
    org_id        TEXT NOT NULL REFERENCES organizations(id) ON DELETE CASCADE,
    name          TEXT NOT NULL,
    kind          TEXT NOT NULL,
    client_id     TEXT NOT NULL UNIQUE,
    secret_hash   BLOB NOT NULL,
    labelpartners TEXT NOT NULL DEFAULT '[]',
    created_at    TIMESTAMP NOT NULL,
    last_used_at  TIMESTAMP,
    revoked_at    TIMESTAMP
);
INSERT INTO b2b_clients_0005 (id, org_id, name, kind, client_id, secret_hash, labelpartners, created_at)
    SELECT id, org_id, name, kind, client_id, secret_hash, labelpartners, created_at FROM b2b_clients;
DROP TABLE b2b_clients;
ALTER TABLE b2b_clients_0005 RENAME TO b2b_clients;
CREATE UNIQUE INDEX b2b_clients_name ON b2b_clients (org_id, name) WHERE revoked_at IS NULL;

CREATE INDEX b2b_links_expires ON b2b_links (expires_at);
CREATE INDEX b2b_links_used ON b2b_links (used_at) WHERE used_at IS NOT NULL;
CREATE INDEX b2b_tokens_revoked ON b2b_tokens (revoked_at) WHERE revoked_at IS NOT NULL;
