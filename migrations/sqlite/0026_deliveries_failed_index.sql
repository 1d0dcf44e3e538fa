-- The delivery log's "failed" filter: a merchant's failed deliveries,
-- newest first, without reading every delivery it had since the last
-- failure (one in a thousand failing meant a thousand rows per row shown).
CREATE INDEX deliveries_failed ON deliveries (merchant_id, created_ms) WHERE status = 'failed';
