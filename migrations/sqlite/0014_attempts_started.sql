-- The operations overview reads the last hour of attempts across every merchant.
CREATE INDEX attempts_started ON attempts (started_ms);
