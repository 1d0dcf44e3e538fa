//! Retention: events, their deliveries and attempts older than the retention
//! period are deleted in small batches, each its own short transaction, so
//! purging never holds the locks that ingest and delivery need.

use crate::clock::Millis;
use crate::error::Result;
use crate::on_db;
use crate::store::Db;
use std::time::Duration;

/// Thirty days.
pub const DEFAULT_RETENTION: Duration = Duration::from_secs(30 * 24 * 3600);

/// Rows deleted per statement.
pub const DEFAULT_BATCH: i64 = 500;

/// What one purge removed.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Purged {
    pub attempts: u64,
    pub deliveries: u64,
    pub events: u64,
    pub idempotency_keys: u64,
    /// API idempotency answers (after 24 hours) and rate-limit windows (after an hour).
    pub api_rows: u64,
    /// Sign-in attempt counters whose window closed a day ago or more.
    pub sign_in_counters: u64,
    /// Statements run (each a batch of at most `batch` rows).
    pub batches: u64,
}

/// Deletes everything about events created before `now - retention`:
/// attempts, then deliveries, then the events themselves, `batch` rows at a
/// time until none are left. Held deliveries go too once their event is past
/// retention; a delivery being attempted under a lease (and so its event)
/// stays for the next purge. Idempotency keys go after 24 hours, as the ingest API promises.
pub async fn purge(db: &Db, now: Millis, retention: Duration, batch: i64) -> Result<Purged> {
    let cutoff = now - retention.as_millis() as i64;
    let mut purged = Purged::default();
    // Children first, so a crash between batches never leaves an orphan.
    let statements: [(&str, &str); 7] = [
        (
            "attempts",
            // CROSS JOIN keeps SQLite's join order: old events by
            // events_created, then their deliveries, then their attempts.
            "DELETE FROM attempts WHERE id IN (SELECT a.id FROM events e \
               CROSS JOIN deliveries d CROSS JOIN attempts a \
               WHERE e.created_ms < $1 AND d.event_id = e.id AND a.delivery_id = d.id LIMIT $2)",
        ),
        (
            // A delivery some node is attempting right now (its lease runs)
            // waits for the next purge: its attempt is about to be written
            // beside it, and must not find it gone.
            "deliveries",
            "DELETE FROM deliveries WHERE id IN (SELECT d.id FROM deliveries d \
               JOIN events e ON e.id = d.event_id WHERE e.created_ms < $1 \
                 AND (d.lease_until_ms IS NULL OR d.lease_until_ms <= $3) LIMIT $2 {lock})",
        ),
        (
            "events",
            "DELETE FROM events WHERE id IN (SELECT id FROM events v WHERE created_ms < $1 \
               AND NOT EXISTS (SELECT 1 FROM deliveries d WHERE d.event_id = v.id) LIMIT $2)",
        ),
        (
            "idempotency_keys",
            "DELETE FROM idempotency_keys WHERE key IN \
               (SELECT key FROM idempotency_keys WHERE created_ms < $1 LIMIT $2)",
        ),
        (
            "api_idempotency",
            "DELETE FROM api_idempotency WHERE (key_id, idem_key) IN \
               (SELECT key_id, idem_key FROM api_idempotency WHERE created_ms < $1 LIMIT $2)",
        ),
        (
            "api_rate",
            "DELETE FROM api_rate WHERE (key_id, window_ms) IN \
               (SELECT key_id, window_ms FROM api_rate WHERE window_ms < $1 LIMIT $2)",
        ),
        (
            // Counters of sign-in and sign-up attempts for anything anyone
            // typed: kept while their window can refuse one, and a day besides.
            "login_throttle",
            "DELETE FROM login_throttle WHERE key IN \
               (SELECT key FROM login_throttle WHERE window_started_ms < $1 LIMIT $2)",
        ),
    ];
    // A claim on PostgreSQL may have a delivery locked, its lease written
    // but not committed: the purge skips it rather than wait and delete it.
    let lock = match db.backend() {
        crate::store::Backend::Postgres => "FOR UPDATE OF d SKIP LOCKED",
        crate::store::Backend::Sqlite => "",
    };
    for (table, sql) in statements {
        let sql = sql.replace("{lock}", lock);
        let sql = sql.as_str();
        let before = match table {
            "idempotency_keys" | "api_idempotency" | "login_throttle" => now - 24 * 3600 * 1000,
            "api_rate" => now - 3600 * 1000,
            _ => cutoff,
        };
        loop {
            let n = on_db!(db, |pool| {
                let query = sqlx::query(sql).bind(before).bind(batch);
                let query = if table == "deliveries" {
                    query.bind(now)
                } else {
                    query
                };
                query.execute(pool).await?.rows_affected()
            });
            purged.batches += 1;
            match table {
                "attempts" => purged.attempts += n,
                "deliveries" => purged.deliveries += n,
                "events" => purged.events += n,
                "idempotency_keys" => purged.idempotency_keys += n,
                "login_throttle" => purged.sign_in_counters += n,
                _ => purged.api_rows += n,
            }
            if n < batch as u64 {
                break;
            }
            // Let ingest and delivery in between batches.
            tokio::task::yield_now().await;
        }
    }
    Ok(purged)
}
