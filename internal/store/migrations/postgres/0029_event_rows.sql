-- Every event is numbered once after its insert (a new row version), and
-- every webhook delivery handed over at dispatch is updated once when it is
-- recorded. With the pages filled to the brim, such an update moves its
-- row to another page: the old version is locked in a WAL record of its
-- own and the new one is logged whole. Leaving a fifth of each new page
-- free keeps most of these updates on their page (fillfactor applies to
-- pages written from now on).
ALTER TABLE events SET (fillfactor = 80);
ALTER TABLE webhook_deliveries SET (fillfactor = 80);
-- events_occurred serves only the retention (the janitor's delete of
-- events older than the cutoff) and the replay of a time range, and
-- events are written in about the order of occurred_at: a BRIN index
-- serves both at a fraction of the cost, where the B-tree took an entry
-- for every numbered event.
DROP INDEX events_occurred;
CREATE INDEX events_occurred ON events USING brin (occurred_at);
