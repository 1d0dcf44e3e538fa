-- The reconciliation feed's order. Numbers are given to committed events by
-- one serialized step (see hookline::feed), so a reader that has seen
-- number N never later finds an event numbered below N: no gaps, no repeats.
ALTER TABLE events ADD COLUMN feed_seq BIGINT;
CREATE INDEX events_feed ON events (merchant_id, mode, feed_seq);
CREATE INDEX events_unsequenced ON events (created_ms, id) WHERE feed_seq IS NULL;
CREATE UNIQUE INDEX events_feed_seq ON events (feed_seq);
