-- The attempt that delivers a delivery is recorded in the delivery's row
-- (last_status, latency_ms, response, delivered_at as its time) instead of
-- a webhook_attempts row of its own: most deliveries succeed at their
-- first attempt, and their recording is then one row updated, not one row
-- inserted (with its two index entries) and one updated. Failed attempts
-- keep their rows. latency_ms is NULL on the deliveries recorded before,
-- whose delivering attempt has a row.
ALTER TABLE webhook_deliveries ADD COLUMN latency_ms INTEGER;
ALTER TABLE webhook_deliveries ADD COLUMN response TEXT NOT NULL DEFAULT '';
-- Every event gets its position once, from the dispatcher that holds the
-- sequence row's lock; the feed reads by (org_id, seq) (events_feed) and
-- nothing reads by seq alone but the NATS publisher (events_nats). The
-- unique index on seq only cost two index entries per event (one when the
-- event is written, one when it is numbered).
ALTER TABLE events DROP CONSTRAINT events_seq_key;
