-- API keys for the merchant REST API. Only a SHA-256 of each key is kept;
-- the key itself is shown once, when it is created.
CREATE TABLE api_keys (
    id           TEXT PRIMARY KEY,
    merchant_id  TEXT NOT NULL REFERENCES merchants (id),
    mode         TEXT NOT NULL CHECK (mode IN ('sandbox', 'live')),
    name         TEXT NOT NULL,
    prefix       TEXT NOT NULL,            -- the start of the key, to tell keys apart
    key_hash     TEXT NOT NULL UNIQUE,     -- hex SHA-256 of the whole key
    allowlist    TEXT NOT NULL,            -- space-separated CIDRs; empty = any address
    read_secrets INTEGER NOT NULL DEFAULT 0,  -- may read endpoints' signing secrets
    created_ms   INTEGER NOT NULL,
    last_used_ms INTEGER,
    revoked_ms   INTEGER
);
CREATE INDEX api_keys_merchant ON api_keys (merchant_id, created_ms);

-- Answers to POSTs sent with an Idempotency-Key, per API key. A row with
-- status 0 is a request still running.
CREATE TABLE api_idempotency (
    key_id       TEXT NOT NULL,
    idem_key     TEXT NOT NULL,
    request_hash TEXT NOT NULL,
    status       INTEGER NOT NULL,
    body         TEXT NOT NULL,
    created_ms   INTEGER NOT NULL,
    PRIMARY KEY (key_id, idem_key)
);
CREATE INDEX api_idempotency_created ON api_idempotency (created_ms);

-- Requests per API key per window, for rate limiting across every node.
CREATE TABLE api_rate (
    key_id    TEXT NOT NULL,
    window_ms INTEGER NOT NULL,
    count     INTEGER NOT NULL,
    PRIMARY KEY (key_id, window_ms)
);
