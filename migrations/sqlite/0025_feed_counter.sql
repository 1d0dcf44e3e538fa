-- The last feed number handed out, kept apart from the events: numbering
-- from the largest one still stored would hand out again the numbers of
-- events retention has purged, and a poller holding a cursor past them
-- would skip that many new events.
CREATE TABLE feed_counter (
    id       INTEGER PRIMARY KEY CHECK (id = 1),
    last_seq BIGINT NOT NULL
);
INSERT INTO feed_counter (id, last_seq) SELECT 1, COALESCE(MAX(feed_seq), 0) FROM events;
