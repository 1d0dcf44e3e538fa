//! Claiming due deliveries with a lease, and recording what came of them.
//!
//! Any number of nodes claim from the same table. On PostgreSQL the claim
//! skips rows another node is claiming at that moment (`FOR UPDATE SKIP
//! LOCKED`); on SQLite writers are serialised anyway. A lease that runs out
//! (the node died or stalled) makes the delivery claimable again.

use crate::clock::Millis;
use crate::error::Result;
use crate::on_db;
use crate::store::{Backend, Db};

#[derive(Clone, Debug, PartialEq, Eq, sqlx::FromRow)]
pub struct Claimed {
    pub id: String,
    pub event_id: String,
    pub endpoint_id: String,
    pub attempts: i64,
}

/// The lease a node holds on the deliveries it claimed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Lease {
    pub owner: String,
    pub until_ms: Millis,
}

/// Claims up to `limit` deliveries that are due at `now` and not leased, oldest due first.
pub async fn claim_due(db: &Db, now: Millis, lease: &Lease, limit: i64) -> Result<Vec<Claimed>> {
    let lock = match db.backend() {
        Backend::Postgres => "FOR UPDATE SKIP LOCKED",
        Backend::Sqlite => "",
    };
    let sql = format!(
        "UPDATE deliveries SET lease_owner = $1, lease_until_ms = $2 WHERE id IN ( \
           SELECT id FROM deliveries \
           WHERE status = 'pending' AND next_attempt_ms <= $3 \
             AND (lease_until_ms IS NULL OR lease_until_ms <= $3) \
           ORDER BY next_attempt_ms, id LIMIT $4 {lock}) \
         RETURNING id, event_id, endpoint_id, attempts"
    );
    let mut claimed = on_db!(db, |pool| {
        sqlx::query_as::<_, Claimed>(&sql)
            .bind(&lease.owner)
            .bind(lease.until_ms)
            .bind(now)
            .bind(limit)
            .fetch_all(pool)
            .await?
    });
    claimed.sort_by(|a, b| a.id.cmp(&b.id));
    Ok(claimed)
}

/// What one attempt came to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Outcome {
    Succeeded,
    /// Try again at this time.
    RetryAt(Millis),
    /// No attempts left.
    Failed,
}

/// Records the outcome of an attempt, if `lease` is still the delivery's.
/// Answers false when the lease was lost (another node owns the delivery now).
pub async fn finish(db: &Db, delivery_id: &str, lease: &Lease, outcome: Outcome) -> Result<bool> {
    let (status, next) = match outcome {
        Outcome::Succeeded => ("succeeded", None),
        Outcome::RetryAt(at) => ("pending", Some(at)),
        Outcome::Failed => ("failed", None),
    };
    let updated = on_db!(db, |pool| {
        sqlx::query(
            "UPDATE deliveries SET status = $1, attempts = attempts + 1, \
               next_attempt_ms = COALESCE($2, next_attempt_ms), lease_owner = NULL, lease_until_ms = NULL \
             WHERE id = $3 AND lease_owner = $4 AND lease_until_ms = $5",
        )
        .bind(status)
        .bind(next)
        .bind(delivery_id)
        .bind(&lease.owner)
        .bind(lease.until_ms)
        .execute(pool)
        .await?
        .rows_affected()
    });
    Ok(updated == 1)
}

/// `(status, attempts)` of a delivery.
pub async fn state(db: &Db, delivery_id: &str) -> Result<Option<(String, i64)>> {
    Ok(on_db!(db, |pool| {
        sqlx::query_as::<_, (String, i64)>("SELECT status, attempts FROM deliveries WHERE id = $1")
            .bind(delivery_id)
            .fetch_optional(pool)
            .await?
    }))
}
