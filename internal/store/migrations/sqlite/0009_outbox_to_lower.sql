-- The recipient of a mail, normalized as every other address is (trimmed and
-- lower-cased in Go, Unicode-aware), so that purges compare it with
-- users.email_lower and invitations.email_lower the same way on both engines.
-- SQL's lower() is not used: SQLite's folds ASCII letters only. Rows written
-- before this migration are filled in by the store after migrating.
ALTER TABLE outbox ADD COLUMN to_lower TEXT NOT NULL DEFAULT '';
CREATE INDEX outbox_to_lower ON outbox (org_id, to_lower);
