-- The delivery a merchant's resend chose as the next probe of an endpoint
-- whose breaker is open: claims take it while the endpoint's other
-- deliveries wait, so the event the merchant resent is the one that tests
-- their server, not an older retry that may still be refused.
ALTER TABLE endpoints ADD COLUMN probe_delivery_id TEXT;
