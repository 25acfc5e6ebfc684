-- Managing B2B clients and sweeping B2B links and tokens.
--
-- Clients are revoked softly (revoked_at), so that the audit log keeps
-- pointing at a row. A revoked client's name may be given to a new client:
-- names are unique among the unrevoked clients of an organization only.
-- last_used_at is when the client last authenticated (to the minute).
--
-- The sweep deletes links and tokens that expired, links that were used and
-- tokens that were revoked, each some time ago: an index per criterion
-- (partial where only a few rows qualify). b2b_tokens has its expires_at
-- index already.

ALTER TABLE b2b_clients
    ADD COLUMN last_used_at TIMESTAMPTZ,
    ADD COLUMN revoked_at   TIMESTAMPTZ,
    DROP CONSTRAINT b2b_clients_org_id_name_key;
CREATE UNIQUE INDEX b2b_clients_name ON b2b_clients (org_id, name) WHERE revoked_at IS NULL;

CREATE INDEX b2b_links_expires ON b2b_links (expires_at);
CREATE INDEX b2b_links_used ON b2b_links (used_at) WHERE used_at IS NOT NULL;
CREATE INDEX b2b_tokens_revoked ON b2b_tokens (revoked_at) WHERE revoked_at IS NOT NULL;
