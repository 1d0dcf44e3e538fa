-- Every delivery attempt, kept for the merchant's logs: what was sent, what
-- came back (body truncated), how long it took and how it failed.
CREATE TABLE attempts (
    id               TEXT PRIMARY KEY,
    delivery_id      TEXT NOT NULL REFERENCES deliveries (id),
    event_id         TEXT NOT NULL,
    endpoint_id      TEXT NOT NULL,
    attempt_no       INTEGER NOT NULL,
    started_ms       INTEGER NOT NULL,
    latency_ms       INTEGER NOT NULL,
    url              TEXT NOT NULL,
    request_headers  TEXT NOT NULL,            -- JSON object
    request_body     TEXT NOT NULL,
    response_status  INTEGER,
    response_headers TEXT,                     -- JSON object
    response_body    TEXT,
    error_class      TEXT,                     -- NULL on success
    error_message    TEXT
);
CREATE INDEX attempts_delivery ON attempts (delivery_id, attempt_no);
CREATE INDEX attempts_endpoint ON attempts (endpoint_id, started_ms);
