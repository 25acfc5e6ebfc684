-- jobs_email: read only by the purge of a deleted account (DELETE FROM jobs
-- WHERE email_lower = … AND org_id IN …), a rare statement on a table that
-- holds nothing but jobs in flight and failed ones; it scans the table
-- instead. Every job wrote an entry into it and deleted it again, inside
-- SQLite's only writer slot. PostgreSQL dropped it in 0026.
DROP INDEX jobs_email;
