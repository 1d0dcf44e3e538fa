-- The tables every event writes to keep no foreign keys on PostgreSQL.
-- Each check ran a query per row and locked the parent row, so every
-- ingest statement wrote a lock onto its merchant's row and each endpoint's
-- (with several nodes, shared locks that PostgreSQL turns into multixacts),
-- and every attempt one onto its delivery just before updating it. The
-- rows are still always written from their parents: deliveries come from
-- a join of the event with its endpoints in the statement that stores the
-- event, attempts only for deliveries that exist, and retention deletes
-- children first. SQLite keeps the keys, so the tests on it still catch
-- any code that would leave an orphan.
ALTER TABLE events DROP CONSTRAINT events_merchant_id_fkey;
ALTER TABLE deliveries
    DROP CONSTRAINT deliveries_event_id_fkey,
    DROP CONSTRAINT deliveries_endpoint_id_fkey;
ALTER TABLE attempts DROP CONSTRAINT attempts_delivery_id_fkey;
