-- Merchants, the people who sign in, and failed sign-in counters.
-- Times are milliseconds since the Unix epoch.

CREATE TABLE merchants (
    id            TEXT PRIMARY KEY,
    business_name TEXT NOT NULL,
    created_ms    INTEGER NOT NULL
);

CREATE TABLE users (
    id            TEXT PRIMARY KEY,
    email         TEXT NOT NULL UNIQUE,
    password_hash TEXT NOT NULL,
    role          TEXT NOT NULL CHECK (role IN ('merchant', 'admin')),
    merchant_id   TEXT REFERENCES merchants (id),
    created_ms    INTEGER NOT NULL,
    CHECK ((role = 'merchant') = (merchant_id IS NOT NULL))
);
CREATE INDEX users_merchant ON users (merchant_id);

CREATE TABLE login_throttle (
    key               TEXT PRIMARY KEY,
    failures          INTEGER NOT NULL,
    window_started_ms INTEGER NOT NULL
);
