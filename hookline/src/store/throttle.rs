//! Sign-in attempt counters, kept in the database so every node sees the
//! same count. A counter covers a fixed window that starts at its first
//! attempt; a successful attempt is taken back.

use crate::clock::Millis;
use crate::error::Result;
use crate::on_db;
use crate::store::Db;

/// Counts one more sign-in attempt for `key`, opening a new window if the
/// last one closed, and answers the attempts counted in the window (this one
/// included) and when the window closes. The count is taken before the
/// password is checked, in one statement, so attempts sent in parallel each
/// see the ones before them and cannot all slip under the limit.
pub async fn count_attempt(
    db: &Db,
    key: &str,
    now: Millis,
    window_ms: Millis,
) -> Result<(i64, Millis)> {
    let expired_before = now - window_ms;
    let (attempts, started): (i64, i64) = on_db!(db, |pool| {
        sqlx::query_as(
            "INSERT INTO login_throttle (key, failures, window_started_ms) VALUES ($1, 1, $2) \
             ON CONFLICT (key) DO UPDATE SET \
               failures = CASE WHEN login_throttle.window_started_ms <= $3 \
                               THEN 1 ELSE login_throttle.failures + 1 END, \
               window_started_ms = CASE WHEN login_throttle.window_started_ms <= $3 \
                               THEN $2 ELSE login_throttle.window_started_ms END \
             RETURNING failures, window_started_ms",
        )
        .bind(key)
        .bind(now)
        .bind(expired_before)
        .fetch_one(pool)
        .await?
    });
    Ok((attempts, started + window_ms))
}

/// Takes back an attempt [`count_attempt`] counted, for one that succeeded.
pub async fn uncount(db: &Db, key: &str) -> Result<()> {
    on_db!(db, |pool| {
        sqlx::query(
            "UPDATE login_throttle SET failures = failures - 1 WHERE key = $1 AND failures > 0",
        )
        .bind(key)
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
