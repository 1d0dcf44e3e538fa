-- Format-change and maintenance notices the onboarding team publishes.
-- A notice goes to every merchant (audience 'all') or to the merchants listed
-- in notice_recipients; each merchant acknowledges it once.
CREATE TABLE notices (
    id               TEXT PRIMARY KEY,
    title            TEXT NOT NULL,
    body             TEXT NOT NULL,
    effective_ms     INTEGER NOT NULL,
    audience         TEXT NOT NULL CHECK (audience IN ('all', 'chosen')),
    retiring_version TEXT,                 -- a payload version being retired, if any
    published_ms     INTEGER NOT NULL,
    published_by     TEXT NOT NULL         -- the admin's email
);
CREATE INDEX notices_published ON notices (published_ms);

CREATE TABLE notice_recipients (
    notice_id   TEXT NOT NULL REFERENCES notices (id),
    merchant_id TEXT NOT NULL REFERENCES merchants (id),
    PRIMARY KEY (notice_id, merchant_id)
);
CREATE INDEX notice_recipients_merchant ON notice_recipients (merchant_id);

CREATE TABLE notice_acks (
    notice_id   TEXT NOT NULL REFERENCES notices (id),
    merchant_id TEXT NOT NULL REFERENCES merchants (id),
    acked_by    TEXT NOT NULL,             -- the user's email
    acked_ms    INTEGER NOT NULL,
    PRIMARY KEY (notice_id, merchant_id)
);
