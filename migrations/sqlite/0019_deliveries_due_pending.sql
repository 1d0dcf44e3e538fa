-- The due index holds only pending deliveries, in the order a claim takes
-- them (next_attempt_ms, then id). A claim reads the first rows it needs
-- rather than every pending row, which it then had to sort (every delivery
-- of a fan-out is due at the same millisecond), and a delivery leaves the
-- index once it succeeds or fails for good, so the index stays as small as
-- the backlog.
DROP INDEX deliveries_due;
CREATE INDEX deliveries_due ON deliveries (next_attempt_ms, id) WHERE status = 'pending';
