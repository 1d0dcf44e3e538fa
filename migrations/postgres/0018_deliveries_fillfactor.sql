-- A delivery row is updated twice after it is written: its lease when a node
-- claims it, its state when the attempt is recorded. With room left on each
-- page, PostgreSQL can write the claim's new row version beside the old one
-- without touching the table's five indexes (the lease columns are in none
-- of them), rather than adding an entry to every index per claim.
ALTER TABLE deliveries SET (fillfactor = 70);
