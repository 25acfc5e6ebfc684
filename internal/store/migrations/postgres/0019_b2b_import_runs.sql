-- Bulk imports of end users started from the console with an uploaded file.
-- The file is imported in the background by the node that received it; the
-- run records its progress here so that any node can show it, and holds a
-- lease the node renews while it works: a run whose lease ran out (its node
-- died) is marked failed by whichever node looks at it next.
-- rows_total is the number of lines counted at the upload (0: unknown);
-- rate is the rows imported per second so far.
CREATE TABLE b2b_import_runs (
    id              TEXT PRIMARY KEY,
    org_id          TEXT NOT NULL REFERENCES organizations(id) ON DELETE CASCADE,
    actor           TEXT NOT NULL,
    file_name       TEXT NOT NULL DEFAULT '',
    format          TEXT NOT NULL,
    labelpartner_id TEXT NOT NULL DEFAULT '',
    state           TEXT NOT NULL CHECK (state IN ('queued', 'running', 'done', 'failed')),
    rows_total      BIGINT NOT NULL DEFAULT 0,
    rows_done       BIGINT NOT NULL DEFAULT 0,
    created         BIGINT NOT NULL DEFAULT 0,
    unchanged       BIGINT NOT NULL DEFAULT 0,
    rejected        BIGINT NOT NULL DEFAULT 0,
    rate            BIGINT NOT NULL DEFAULT 0,
    error           TEXT NOT NULL DEFAULT '',
    created_at      TIMESTAMPTZ NOT NULL,
    started_at      TIMESTAMPTZ,
    updated_at      TIMESTAMPTZ NOT NULL,
    finished_at     TIMESTAMPTZ,
    lease_until     TIMESTAMPTZ NOT NULL
);
CREATE INDEX b2b_import_runs_org ON b2b_import_runs (org_id, id);
CREATE INDEX b2b_import_runs_lease ON b2b_import_runs (lease_until) WHERE state IN ('queued', 'running');

-- The rejected lines of a run, for its downloadable report.
CREATE TABLE b2b_import_rejections (
    run_id TEXT NOT NULL REFERENCES b2b_import_runs(id) ON DELETE CASCADE,
    line   BIGINT NOT NULL,
    error  TEXT NOT NULL,
    PRIMARY KEY (run_id, line)
);
