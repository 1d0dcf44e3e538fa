-- Every attempt wrote an entry into five indexes. An event's attempts are
-- found through its deliveries (deliveries' (event_id, endpoint_id) key,
-- then attempts_delivery), and the last hour of attempts through each
-- endpoint's (attempts_endpoint), so these two only cost writes.
DROP INDEX attempts_event;
DROP INDEX attempts_started;
