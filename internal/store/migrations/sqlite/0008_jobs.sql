-- Jobs: requests that name an email address (signup starts, password
-- resets, B2B provision and reset) are written here as they came, one row
-- each, whether or not the address is known. A worker then decides, in one
-- transaction per job, what (if anything) to create and mail, and deletes the
-- job. The request thus does the same work for every address, and no link
-- token exists before the worker makes it. Failed jobs are retried with
-- backoff and kept as 'failed' after the last attempt (for the janitor).
CREATE TABLE jobs (
    id              TEXT PRIMARY KEY,
    org_id          TEXT NOT NULL DEFAULT '',
    kind            TEXT NOT NULL,
    email_lower     TEXT NOT NULL DEFAULT '',
    payload         TEXT NOT NULL,
    state           TEXT NOT NULL,
    attempts        INTEGER NOT NULL DEFAULT 0,
    next_attempt_at TIMESTAMP NOT NULL,
    last_error      TEXT NOT NULL DEFAULT '',
    created_at      TIMESTAMP NOT NULL
);
CREATE INDEX jobs_due ON jobs (next_attempt_at) WHERE state = 'queued';
CREATE INDEX jobs_email ON jobs (email_lower);
