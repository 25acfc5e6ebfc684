-- Events: one row per change, written in the transaction of the change.
-- body is the event as every consumer receives it (webhooks, NATS, the
-- feed). seq is the event's position in commit order, given by the
-- dispatcher after the commit (NULL until then; see internal/events).
-- nats_pending is 1 while the event waits to be published to NATS.
CREATE TABLE events (
    id                TEXT PRIMARY KEY,
    org_id            TEXT NOT NULL,
    type              TEXT NOT NULL,
    subject           TEXT NOT NULL,
    body              TEXT NOT NULL,
    occurred_at       TIMESTAMPTZ NOT NULL,
    seq               BIGINT UNIQUE,
    nats_pending      INTEGER NOT NULL DEFAULT 0,
    nats_locked_until TIMESTAMPTZ
);
CREATE INDEX events_unsequenced ON events (id) WHERE seq IS NULL;
CREATE INDEX events_feed ON events (org_id, seq);
CREATE INDEX events_nats ON events (seq) WHERE nats_pending = 1;
CREATE INDEX events_occurred ON events (occurred_at);

-- The last position given to an event (one row).
CREATE TABLE event_sequence (
    id   INTEGER PRIMARY KEY,
    last BIGINT NOT NULL
);
INSERT INTO event_sequence (id, last) VALUES (1, 0);

-- Webhook endpoints of an organization. secret and previous_secret are
-- sealed (secretbox); the previous secret still signs until
-- previous_expires_at (rotation overlap).
CREATE TABLE webhook_endpoints (
    id                  TEXT PRIMARY KEY,
    org_id              TEXT NOT NULL REFERENCES organizations(id) ON DELETE CASCADE,
    url                 TEXT NOT NULL,
    description         TEXT NOT NULL DEFAULT '',
    event_types         TEXT NOT NULL DEFAULT '[]',
    secret              TEXT NOT NULL,
    previous_secret     TEXT NOT NULL DEFAULT '',
    previous_expires_at TIMESTAMPTZ,
    disabled_at         TIMESTAMPTZ,
    disabled_reason     TEXT NOT NULL DEFAULT '',
    failing_since       TIMESTAMPTZ,
    created_at          TIMESTAMPTZ NOT NULL,
    updated_at          TIMESTAMPTZ NOT NULL
);
CREATE INDEX webhook_endpoints_org ON webhook_endpoints (org_id);

-- One delivery of one event to one endpoint, retried until it is delivered
-- or given up.
CREATE TABLE webhook_deliveries (
    id              TEXT PRIMARY KEY,
    endpoint_id     TEXT NOT NULL REFERENCES webhook_endpoints(id) ON DELETE CASCADE,
    org_id          TEXT NOT NULL,
    event_id        TEXT NOT NULL,
    seq             BIGINT NOT NULL,
    subject         TEXT NOT NULL,
    state           TEXT NOT NULL,
    attempts        INTEGER NOT NULL DEFAULT 0,
    next_attempt_at TIMESTAMPTZ NOT NULL,
    locked_until    TIMESTAMPTZ,
    last_status     INTEGER NOT NULL DEFAULT 0,
    last_error      TEXT NOT NULL DEFAULT '',
    created_at      TIMESTAMPTZ NOT NULL,
    delivered_at    TIMESTAMPTZ
);
CREATE INDEX webhook_deliveries_due ON webhook_deliveries (next_attempt_at) WHERE state IN ('pending', 'processing');
CREATE INDEX webhook_deliveries_order ON webhook_deliveries (endpoint_id, subject, seq) WHERE state IN ('pending', 'processing');
CREATE INDEX webhook_deliveries_endpoint ON webhook_deliveries (endpoint_id, created_at);
CREATE INDEX webhook_deliveries_event ON webhook_deliveries (event_id);

-- Every attempt of a delivery: status, latency and the first bytes of the
-- answer.
CREATE TABLE webhook_attempts (
    id          TEXT PRIMARY KEY,
    delivery_id TEXT NOT NULL REFERENCES webhook_deliveries(id) ON DELETE CASCADE,
    endpoint_id TEXT NOT NULL,
    event_id    TEXT NOT NULL,
    status      INTEGER NOT NULL,
    latency_ms  INTEGER NOT NULL,
    response    TEXT NOT NULL DEFAULT '',
    error       TEXT NOT NULL DEFAULT '',
    attempted_at TIMESTAMPTZ NOT NULL
);
CREATE INDEX webhook_attempts_delivery ON webhook_attempts (delivery_id);
CREATE INDEX webhook_attempts_endpoint ON webhook_attempts (endpoint_id, attempted_at);
