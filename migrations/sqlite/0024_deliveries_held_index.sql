-- SQLite uses a partial index only for queries that repeat its condition.
-- Hookline's queries ask for `held`, as PostgreSQL's index reads; the
-- earlier `held = 1` made SQLite scan an endpoint's deliveries instead.
DROP INDEX deliveries_held;
CREATE INDEX deliveries_held ON deliveries (endpoint_id) WHERE held;
