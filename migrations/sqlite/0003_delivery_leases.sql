-- Which node holds a delivery's lease. A node only records the outcome of a
-- delivery while it still holds the lease, so a takeover after a crash or a
-- stall never has its result overwritten by the node that lost the lease.
ALTER TABLE deliveries ADD COLUMN lease_owner TEXT;
