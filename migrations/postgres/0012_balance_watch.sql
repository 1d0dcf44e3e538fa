-- Whether a merchant's balance threshold warning is armed, per mode and
-- currency. A warning disarms it; the balance rising back above the
-- threshold plus a margin re-arms it, so a balance hovering at the line does
-- not flood the merchant.
CREATE TABLE balance_watch (
    merchant_id    TEXT NOT NULL REFERENCES merchants (id),
    mode           TEXT NOT NULL CHECK (mode IN ('sandbox', 'live')),
    currency       TEXT NOT NULL,
    armed          BOOLEAN NOT NULL,
    last_available BIGINT NOT NULL,
    updated_ms     BIGINT NOT NULL,
    PRIMARY KEY (merchant_id, mode, currency)
);
