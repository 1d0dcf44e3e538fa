//! Failed sign-in counters, kept in the database so every node sees the same
//! count. A counter covers a fixed window that starts at its first failure.

use crate::clock::Millis;
use crate::error::Result;
use crate::on_db;
use crate::store::Db;

/// Failures recorded for `key` in the window still open at `now`, and when
/// that window closes.
pub async fn failures(db: &Db, key: &str, now: Millis, window_ms: Millis) -> Result<(i64, Millis)> {
    let row: Option<(i64, i64)> = on_db!(db, |pool| {
        sqlx::query_as("SELECT failures, window_started_ms FROM login_throttle WHERE key = $1")
            .bind(key)
            .fetch_optional(pool)
            .await?
    });
    Ok(match row {
        Some((failures, started)) if started + window_ms > now => (failures, started + window_ms),
        _ => (0, now),
    })
}

/// Counts one more failure for `key`, opening a new window if the last one closed.
pub async fn record_failure(db: &Db, key: &str, now: Millis, window_ms: Millis) -> Result<()> {
    let expired_before = now - window_ms;
    on_db!(db, |pool| {
        sqlx::query(
            "INSERT INTO login_throttle (key, failures, window_started_ms) VALUES ($1, 1, $2) \
             ON CONFLICT (key) DO UPDATE SET \
               failures = CASE WHEN login_throttle.window_started_ms <= $3 \
                               THEN 1 ELSE login_throttle.failures + 1 END, \
               window_started_ms = CASE WHEN login_throttle.window_started_ms <= $3 \
                               THEN $2 ELSE login_throttle.window_started_ms END",
        )
        .bind(key)
        .bind(now)
        .bind(expired_before)
        .execute(pool)
        .await?;
    });
    Ok(())
}

pub async fn clear(db: &Db, key: &str) -> Result<()> {
    on_db!(db, |pool| {
        sqlx::query("DELETE FROM login_throttle WHERE key = $1")
            .bind(key)
            .execute(pool)
            .await?;
    });
    Ok(())
}
