-- Every webhook delivery is inserted (leased or pending) and updated once
-- it is delivered; each index on it is written with it.
-- webhook_deliveries_event served only the janitor's look for deliveries
-- still due, whose rows webhook_deliveries_due holds already (same
-- predicate): dropped. webhook_deliveries_endpoint serves the deliveries
-- listing; it now holds finished deliveries only (the few still due are
-- found by webhook_deliveries_order, which starts with endpoint_id), so
-- inserting a delivery adds no entry to it.
DROP INDEX webhook_deliveries_event;
DROP INDEX webhook_deliveries_endpoint;
CREATE INDEX webhook_deliveries_endpoint ON webhook_deliveries (endpoint_id, created_at) WHERE state IN ('delivered', 'failed');
-- An event is inserted without a position and updated once the
-- dispatcher gives it one (a new row version with an entry in each index
-- that covers it). The feed and the retention (janitor, replay of a time
-- range) read numbered events only: their indexes now hold only those,
-- so inserting an event adds an entry to events_unsequenced and the
-- primary key only.
DROP INDEX events_feed;
CREATE INDEX events_feed ON events (org_id, seq) WHERE seq IS NOT NULL;
DROP INDEX events_occurred;
CREATE INDEX events_occurred ON events (occurred_at) WHERE seq IS NOT NULL;
