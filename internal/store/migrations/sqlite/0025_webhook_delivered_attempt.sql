-- The attempt that delivers a delivery is recorded in the delivery's row
-- (last_status, latency_ms, response, delivered_at as its time) instead of
-- a webhook_attempts row of its own: most deliveries succeed at their
-- first attempt, and their recording is then one row updated, not one row
-- inserted (with its two index entries) and one updated. Failed attempts
-- keep their rows. latency_ms is NULL on the deliveries recorded before,
-- whose delivering attempt has a row.
ALTER TABLE webhook_deliveries ADD COLUMN latency_ms INTEGER;
ALTER TABLE webhook_deliveries ADD COLUMN response TEXT NOT NULL DEFAULT '';
