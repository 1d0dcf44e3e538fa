-- The sandbox inbox: a hosted test URL per merchant that receives deliveries
-- like a merchant's server would and keeps the latest for the portal.
CREATE TABLE inboxes (
    merchant_id TEXT PRIMARY KEY REFERENCES merchants (id),
    token       TEXT NOT NULL UNIQUE,
    created_ms  INTEGER NOT NULL
);

CREATE TABLE inbox_messages (
    id              TEXT PRIMARY KEY,
    merchant_id     TEXT NOT NULL REFERENCES merchants (id),
    received_ms     INTEGER NOT NULL,
    webhook_id      TEXT,
    endpoint_id     TEXT,                     -- the endpoint whose secret verified it
    headers         TEXT NOT NULL,            -- JSON object
    body            TEXT NOT NULL,
    signature_valid INTEGER NOT NULL,
    status          INTEGER NOT NULL,         -- what the inbox answered
    verdict         TEXT NOT NULL
);
CREATE INDEX inbox_messages_merchant ON inbox_messages (merchant_id, received_ms);
CREATE INDEX inbox_messages_webhook ON inbox_messages (merchant_id, webhook_id);
