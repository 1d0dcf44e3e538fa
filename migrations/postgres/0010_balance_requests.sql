-- Requests for the opt-in balance threshold warning. A merchant may subscribe
-- an endpoint to balance.threshold_warning once a request is approved.
CREATE TABLE balance_requests (
    id              TEXT PRIMARY KEY,
    merchant_id     TEXT NOT NULL REFERENCES merchants (id),
    mode            TEXT NOT NULL CHECK (mode IN ('sandbox', 'live')),
    threshold_value BIGINT NOT NULL,           -- minor units
    currency        TEXT NOT NULL,
    status          TEXT NOT NULL CHECK (status IN ('pending', 'approved', 'denied')),
    requested_ms    BIGINT NOT NULL,
    decided_ms      BIGINT,
    note            TEXT NOT NULL DEFAULT ''  -- the onboarding team's reason
);
CREATE INDEX balance_requests_merchant ON balance_requests (merchant_id, mode, requested_ms);
