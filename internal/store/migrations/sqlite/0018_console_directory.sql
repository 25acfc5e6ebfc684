-- Keyset paging of the console's directory (customers, partners, users) and
-- audit log: each list is read in the order of an index ending in the id,
-- so that a page deep in a million rows costs what the first one does.
-- The new audit indexes cover the old ones (org_id, created_at) and
-- (org_id, actor), which go.

CREATE INDEX accounts_directory ON accounts (org_id, kind, name, id);
CREATE INDEX users_directory ON users (org_id, email_lower, id);
CREATE INDEX audit_keyset ON audit_log (org_id, created_at, id);
CREATE INDEX audit_actor_keyset ON audit_log (org_id, actor, created_at, id);
DROP INDEX audit_org_time;
DROP INDEX audit_actor;
