-- Endpoint health: a circuit breaker after consecutive failures, automatic
-- disabling after a long run of failures (or a 410), and deliveries held
-- while an endpoint is disabled so they can be delivered when it comes back.
ALTER TABLE endpoints ADD COLUMN consecutive_failures INTEGER NOT NULL DEFAULT 0;
ALTER TABLE endpoints ADD COLUMN breaker_until_ms INTEGER;   -- no attempts before this (a probe then)
ALTER TABLE endpoints ADD COLUMN failing_since_ms INTEGER;   -- first failure since the last success
ALTER TABLE endpoints ADD COLUMN last_success_ms INTEGER;
ALTER TABLE endpoints ADD COLUMN disabled_reason TEXT;       -- NULL, 'merchant', 'failing' or 'gone'
ALTER TABLE endpoints ADD COLUMN disabled_ms INTEGER;

-- A held delivery waits (status 'pending', not due) until its endpoint is re-enabled.
ALTER TABLE deliveries ADD COLUMN held INTEGER NOT NULL DEFAULT 0;
CREATE INDEX deliveries_held ON deliveries (endpoint_id) WHERE held = 1;

-- Retention purges by event age.
CREATE INDEX events_created ON events (created_ms);
CREATE INDEX attempts_event ON attempts (event_id);
