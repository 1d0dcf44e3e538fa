//! Endpoint health as the dispatcher keeps it: consecutive failures, the
//! circuit breaker, automatic disabling, and the deliveries held meanwhile.
//! All of it lives in the database, so every node sees the same state.

use crate::clock::Millis;
use crate::error::Result;
use crate::on_db;
use crate::store::Db;

/// `next_attempt_ms` of a held delivery: never due until released.
pub const HELD_UNTIL: Millis = 9_000_000_000_000_000;

#[derive(Clone, Debug, Default, PartialEq, Eq, sqlx::FromRow)]
pub struct Health {
    pub consecutive_failures: i64,
    pub breaker_until_ms: Option<i64>,
    pub failing_since_ms: Option<i64>,
    pub last_success_ms: Option<i64>,
    pub disabled_reason: Option<String>,
    /// The delivery a resend chose as the next probe (see [`claim_probe`]).
    pub probe_delivery_id: Option<String>,
}

pub const HEALTH_COLUMNS: &str = "consecutive_failures, breaker_until_ms, failing_since_ms, \
     last_success_ms, disabled_reason, probe_delivery_id";

/// How long a resend keeps an endpoint's breaker open for the delivery it
/// chose as the probe. That delivery is due at once and normally starts
/// within a second; if its node stalls, the endpoint's other deliveries wait
/// no longer than this before one of them probes instead.
pub const RESEND_PROBE_HOLD_MS: Millis = 60_000;

/// Whether a claim at the bind parameter `now` may take delivery `d` of
/// endpoint `e`: the breaker is closed or has run out, or `d` is the probe a
/// resend chose.
pub fn breaker_lets_through(now: &str) -> String {
    format!(
        "(e.breaker_until_ms IS NULL OR e.breaker_until_ms <= {now} OR e.probe_delivery_id = d.id)"
    )
}

/// Why an endpoint is disabled.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DisabledReason {
    /// The merchant (or an admin) turned it off.
    Merchant,
    /// It failed without a success for the whole auto-disable period.
    Failing,
    /// It answered 410 Gone.
    Gone,
    /// A live endpoint whose URL has not passed a readiness check in sandbox.
    NotReady,
}

impl DisabledReason {
    pub fn as_str(self) -> &'static str {
        match self {
            DisabledReason::Merchant => "merchant",
            DisabledReason::Failing => "failing",
            DisabledReason::Gone => "gone",
            DisabledReason::NotReady => "not_ready",
        }
    }

    /// Auto-disabled endpoints keep receiving events, held for later.
    pub fn holds_events(reason: Option<&str>) -> bool {
        matches!(reason, Some("failing" | "gone"))
    }
}

/// Makes `delivery_id` the one probe of an endpoint whose breaker has run
/// out, or that a resend chose while the breaker is open: answers true for
/// exactly one caller (on any node) until `probe_until`.
pub async fn claim_probe(
    db: &Db,
    endpoint_id: &str,
    delivery_id: &str,
    now: Millis,
    probe_until: Millis,
) -> Result<bool> {
    let _turn = db.write_turn().await;
    Ok(on_db!(db, |pool| {
        sqlx::query(
            "UPDATE endpoints SET breaker_until_ms = $1, probe_delivery_id = NULL \
             WHERE id = $2 AND (breaker_until_ms IS NULL OR breaker_until_ms <= $3 \
               OR probe_delivery_id = $4)",
        )
        .bind(probe_until)
        .bind(endpoint_id)
        .bind(now)
        .bind(delivery_id)
        .execute(pool)
        .await?
        .rows_affected()
            == 1
    }))
}

/// A success closes the breaker and ends any run of failures.
pub async fn record_success(db: &Db, endpoint_id: &str, now: Millis) -> Result<()> {
    let _turn = db.write_turn().await;
    on_db!(db, |pool| {
        sqlx::query(
            "UPDATE endpoints SET consecutive_failures = 0, breaker_until_ms = NULL, \
               probe_delivery_id = NULL, failing_since_ms = NULL, last_success_ms = $1 WHERE id = $2",
        )
        .bind(now)
        .bind(endpoint_id)
        .execute(pool)
        .await?;
    });
    Ok(())
}

/// Counts a failure; opens the breaker until `breaker_until` when the count
/// reaches `threshold`. Answers the new count and when the failures began.
pub async fn record_failure(
    db: &Db,
    endpoint_id: &str,
    now: Millis,
    threshold: i64,
    breaker_until: Millis,
) -> Result<(i64, Millis)> {
    let _turn = db.write_turn().await;
    Ok(on_db!(db, |pool| {
        sqlx::query_as::<_, (i64, i64)>(
            "UPDATE endpoints SET consecutive_failures = consecutive_failures + 1, \
               failing_since_ms = COALESCE(failing_since_ms, $1), \
               breaker_until_ms = CASE WHEN consecutive_failures + 1 >= $2 THEN $3 ELSE breaker_until_ms END \
             WHERE id = $4 RETURNING consecutive_failures, failing_since_ms",
        )
        .bind(now)
        .bind(threshold)
        .bind(breaker_until)
        .bind(endpoint_id)
        .fetch_optional(pool)
        .await?
        .unwrap_or((0, now))
    }))
}

/// Disables the endpoint and holds its pending deliveries (those not leased
/// by someone else right now; the caller holds its own).
pub async fn disable(
    db: &Db,
    endpoint_id: &str,
    reason: DisabledReason,
    now: Millis,
) -> Result<u64> {
    let _turn = db.write_turn().await;
    Ok(on_db!(db, |pool| {
        let mut tx = pool.begin().await?;
        sqlx::query(
            "UPDATE endpoints SET enabled = FALSE, disabled_reason = $1, disabled_ms = $2, \
               breaker_until_ms = NULL, probe_delivery_id = NULL, updated_ms = $2 WHERE id = $3",
        )
        .bind(reason.as_str())
        .bind(now)
        .bind(endpoint_id)
        .execute(&mut *tx)
        .await?;
        let held = sqlx::query(
            "UPDATE deliveries SET held = TRUE, next_attempt_ms = $1 \
             WHERE endpoint_id = $2 AND status = 'pending' AND NOT held \
               AND (lease_until_ms IS NULL OR lease_until_ms <= $3)",
        )
        .bind(HELD_UNTIL)
        .bind(endpoint_id)
        .bind(now)
        .execute(&mut *tx)
        .await?
        .rows_affected();
        tx.commit().await?;
        held
    }))
}

/// What to do with held deliveries when an endpoint is enabled again.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum HeldDeliveries {
    /// Deliver them now, oldest first.
    Deliver,
    /// Mark them failed without sending.
    Discard,
}

/// Enables the endpoint with a clean health record and releases its held
/// deliveries. Answers how many were released; not found if the endpoint
/// was deleted meanwhile.
pub async fn enable(db: &Db, endpoint_id: &str, held: HeldDeliveries, now: Millis) -> Result<u64> {
    let _turn = db.write_turn().await;
    on_db!(db, |pool| {
        let mut tx = pool.begin().await?;
        let enabled = sqlx::query(
            "UPDATE endpoints SET enabled = TRUE, disabled_reason = NULL, disabled_ms = NULL, \
               consecutive_failures = 0, breaker_until_ms = NULL, probe_delivery_id = NULL, \
               failing_since_ms = NULL, updated_ms = $1 \
             WHERE id = $2 AND NOT deleted",
        )
        .bind(now)
        .bind(endpoint_id)
        .execute(&mut *tx)
        .await?
        .rows_affected();
        if enabled == 0 {
            return Err(crate::error::Error::NotFound);
        }
        let sql = match held {
            HeldDeliveries::Deliver => {
                "UPDATE deliveries SET held = FALSE, next_attempt_ms = $1 WHERE endpoint_id = $2 AND held"
            }
            HeldDeliveries::Discard => {
                "UPDATE deliveries SET held = FALSE, status = 'failed', next_attempt_ms = $1 \
                 WHERE endpoint_id = $2 AND held"
            }
        };
        let released = sqlx::query(sql)
            .bind(now)
            .bind(endpoint_id)
            .execute(&mut *tx)
            .await?
            .rows_affected();
        tx.commit().await?;
        Ok(released)
    })
}

/// Releases held deliveries of endpoints that are enabled, due at `now`.
/// Only a race leaves one: an attempt that found its endpoint disabled
/// (or got its 410) records the hold after the endpoint was enabled again,
/// whose release had already run. A delivery being attempted is left alone.
pub async fn release_stray_held(db: &Db, now: Millis) -> Result<u64> {
    let sql = "UPDATE deliveries SET held = FALSE, next_attempt_ms = $1 WHERE id IN ( \
           SELECT d.id FROM deliveries d JOIN endpoints e ON e.id = d.endpoint_id \
           WHERE d.held AND e.enabled AND (d.lease_until_ms IS NULL OR d.lease_until_ms <= $1))";
    let _turn = db.write_turn().await;
    Ok(on_db!(db, |pool| {
        sqlx::query(sql)
            .bind(now)
            .execute(pool)
            .await?
            .rows_affected()
    }))
}

/// Deliveries of the endpoint waiting for it to be enabled.
pub async fn held_count(db: &Db, endpoint_id: &str) -> Result<i64> {
    Ok(on_db!(db, |pool| {
        sqlx::query_scalar::<_, i64>(
            "SELECT COUNT(*) FROM deliveries WHERE endpoint_id = $1 AND held",
        )
        .bind(endpoint_id)
        .fetch_one(pool)
        .await?
    }))
}
