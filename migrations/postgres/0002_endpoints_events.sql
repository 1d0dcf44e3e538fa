-- Endpoints, their signing secrets, events and the deliveries they fan out to.

CREATE TABLE endpoints (
    id              TEXT PRIMARY KEY,
    merchant_id     TEXT NOT NULL REFERENCES merchants (id),
    mode            TEXT NOT NULL CHECK (mode IN ('sandbox', 'live')),
    url             TEXT NOT NULL,
    description     TEXT NOT NULL,
    payload_version TEXT NOT NULL,
    allowlist       TEXT NOT NULL,            -- space-separated CIDRs; empty = any public address
    enabled         BOOLEAN NOT NULL,
    deleted         BOOLEAN NOT NULL DEFAULT FALSE,
    created_ms      BIGINT NOT NULL,
    updated_ms      BIGINT NOT NULL
);
CREATE INDEX endpoints_merchant ON endpoints (merchant_id, mode);

-- One row per (endpoint, subscribed type): fan-out is an indexed join.
CREATE TABLE endpoint_event_types (
    endpoint_id TEXT NOT NULL REFERENCES endpoints (id),
    event_type  TEXT NOT NULL,
    PRIMARY KEY (endpoint_id, event_type)
);

-- Secrets are sealed with the operator's key. expires_ms NULL = current.
CREATE TABLE endpoint_secrets (
    id          TEXT PRIMARY KEY,
    endpoint_id TEXT NOT NULL REFERENCES endpoints (id),
    sealed      BYTEA NOT NULL,
    created_ms  BIGINT NOT NULL,
    expires_ms  BIGINT
);
CREATE INDEX endpoint_secrets_endpoint ON endpoint_secrets (endpoint_id);

CREATE TABLE events (
    id          TEXT PRIMARY KEY,
    merchant_id TEXT NOT NULL REFERENCES merchants (id),
    mode        TEXT NOT NULL CHECK (mode IN ('sandbox', 'live')),
    event_type  TEXT NOT NULL,
    resource_id TEXT NOT NULL,
    data        TEXT NOT NULL,                -- JSON, newest payload version
    created_ms  BIGINT NOT NULL
);
CREATE INDEX events_merchant ON events (merchant_id, mode, created_ms);
CREATE INDEX events_resource ON events (resource_id);

-- A publish retried with the same key returns the first event for 24 hours.
CREATE TABLE idempotency_keys (
    key          TEXT PRIMARY KEY,
    request_hash TEXT NOT NULL,
    event_id     TEXT NOT NULL,
    created_ms   BIGINT NOT NULL
);

CREATE TABLE deliveries (
    id              TEXT PRIMARY KEY,
    event_id        TEXT NOT NULL REFERENCES events (id),
    endpoint_id     TEXT NOT NULL REFERENCES endpoints (id),
    merchant_id     TEXT NOT NULL,
    status          TEXT NOT NULL CHECK (status IN ('pending', 'succeeded', 'failed')),
    attempts        BIGINT NOT NULL DEFAULT 0,
    next_attempt_ms BIGINT NOT NULL,
    lease_until_ms  BIGINT,
    created_ms      BIGINT NOT NULL,
    UNIQUE (event_id, endpoint_id)
);
CREATE INDEX deliveries_due ON deliveries (status, next_attempt_ms);
CREATE INDEX deliveries_endpoint ON deliveries (endpoint_id, created_ms);
