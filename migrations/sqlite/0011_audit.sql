-- The audit log: every admin action and merchants' security-relevant actions.
-- Append-only: the triggers refuse any update or delete, whatever the caller.
CREATE TABLE audit_log (
    id          TEXT PRIMARY KEY,
    at_ms       INTEGER NOT NULL,
    actor_role  TEXT NOT NULL CHECK (actor_role IN ('merchant', 'admin', 'visitor')),
    actor_id    TEXT,                       -- the user, when known
    actor_email TEXT NOT NULL,
    address     TEXT NOT NULL,              -- the client's address
    merchant_id TEXT,                       -- whose account the action concerns
    action      TEXT NOT NULL,
    target      TEXT,                       -- an endpoint, event or request id
    detail      TEXT NOT NULL,
    reason      TEXT NOT NULL
);
CREATE INDEX audit_merchant ON audit_log (merchant_id, at_ms);
CREATE INDEX audit_at ON audit_log (at_ms);

CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log
BEGIN
    SELECT RAISE(ABORT, 'the audit log is append-only');
END;

CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log
BEGIN
    SELECT RAISE(ABORT, 'the audit log is append-only');
END;
