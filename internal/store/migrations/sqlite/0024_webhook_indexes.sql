-- Each webhook delivery is written twice (inserted, then marked delivered)
-- and each attempt once; every index on them is written with them.
-- webhook_deliveries_event serves only the janitor's look for deliveries
-- still due: it needs to hold only those, so marking a delivery delivered
-- no longer adds an entry to it. webhook_attempts_endpoint served no query
-- (attempts are read by delivery).
DROP INDEX webhook_deliveries_event;
CREATE INDEX webhook_deliveries_event ON webhook_deliveries (event_id) WHERE state IN ('pending', 'processing');
DROP INDEX webhook_attempts_endpoint;
