-- The warning a crossing owes until it is stored: set in the same statement
-- that disarms the watch, cleared once the event is stored. A failure in
-- between leaves it here, and the next snapshot sends it (under the same
-- idempotency key, so it is stored once), rather than losing it.
ALTER TABLE balance_watch ADD COLUMN owed_data TEXT;
ALTER TABLE balance_watch ADD COLUMN owed_key TEXT;
