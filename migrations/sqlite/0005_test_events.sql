-- Events made by the portal's "send test event" button: one signed attempt to
-- one endpoint, kept in the logs and marked so nobody mistakes them for real
-- payments.
ALTER TABLE events ADD COLUMN is_test INTEGER NOT NULL DEFAULT 0;
