-- Readiness checks: four scenarios run against an endpoint's URL. A live
-- endpoint can be enabled once its URL passed one in sandbox.
CREATE TABLE readiness_checks (
    id          TEXT PRIMARY KEY,
    merchant_id TEXT NOT NULL REFERENCES merchants (id),
    endpoint_id TEXT NOT NULL REFERENCES endpoints (id),
    mode        TEXT NOT NULL CHECK (mode IN ('sandbox', 'live')),
    url         TEXT NOT NULL,
    passed      BOOLEAN NOT NULL,
    checked_ms  BIGINT NOT NULL,
    report      TEXT NOT NULL               -- JSON: each scenario and its outcome
);
CREATE INDEX readiness_endpoint ON readiness_checks (endpoint_id, checked_ms);
CREATE INDEX readiness_url ON readiness_checks (merchant_id, url);
