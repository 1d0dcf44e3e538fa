-- The audit log: every admin action and merchants' security-relevant actions.
-- Append-only: the triggers refuse any update, delete or truncate, whatever the caller.
CREATE TABLE audit_log (
    id          TEXT PRIMARY KEY,
    at_ms       BIGINT NOT NULL,
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

CREATE FUNCTION audit_log_append_only() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'the audit log is append-only';
END;
$$ LANGUAGE plpgsql;

CREATE TRIGGER audit_log_no_change BEFORE UPDATE OR DELETE ON audit_log
    FOR EACH ROW EXECUTE FUNCTION audit_log_append_only();
CREATE TRIGGER audit_log_no_truncate BEFORE TRUNCATE ON audit_log
    FOR EACH STATEMENT EXECUTE FUNCTION audit_log_append_only();
