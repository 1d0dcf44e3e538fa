-- The portal's delivery log lists a merchant's deliveries newest first.
CREATE INDEX deliveries_merchant ON deliveries (merchant_id, created_ms);
