//! Claiming due deliveries with a lease, and recording what came of them.
//!
//! Any number of nodes claim from the same table. On PostgreSQL the claim
//! skips rows another node is claiming at that moment (`FOR UPDATE SKIP
//! LOCKED`); on SQLite writers are serialised anyway. A lease that runs out
//! (the node died or stalled) makes the delivery claimable again.

use crate::clock::Millis;
use crate::error::Result;
use crate::on_db;
use crate::store::health::{HELD_UNTIL, breaker_lets_through};
use crate::store::{Backend, BulkQuery, Column, Db, any_of, bulk_sql, insert_rows, none_of};

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
        Backend::Postgres => "FOR UPDATE OF d SKIP LOCKED",
        Backend::Sqlite => "",
    };
    // Endpoints whose breaker is open are skipped without touching their
    // deliveries (but for a probe a resend chose); held deliveries are never due.
    let breaker = breaker_lets_through("$3");
    let sql = format!(
        "UPDATE deliveries SET lease_owner = $1, lease_until_ms = $2 WHERE id IN ( \
           SELECT d.id FROM deliveries d JOIN endpoints e ON e.id = d.endpoint_id \
           WHERE d.status = 'pending' AND d.next_attempt_ms <= $3 \
             AND (d.lease_until_ms IS NULL OR d.lease_until_ms <= $3) \
             AND {breaker} \
           ORDER BY d.next_attempt_ms, d.id LIMIT $4 {lock}) \
         RETURNING id, event_id, endpoint_id, attempts"
    );
    let _turn = db.write_turn().await;
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

/// What [`claim_due_with_room`] took, and how many due deliveries it left
/// because their endpoint had no room.
#[derive(Debug, Default)]
pub struct Claim {
    pub claimed: Vec<Claimed>,
    pub refused: usize,
}

/// Claims like [`claim_due`], in one more round trip on each side of it,
/// but only what this node has room for: the
/// deliveries of the endpoints in `full` are not looked at, and `room` is
/// asked about each other candidate, oldest first, and says whether to take
/// it. The ones it refuses stay due for a later claim or another node, so a
/// node never claims work it would have to put back.
pub async fn claim_due_with_room(
    db: &Db,
    now: Millis,
    lease: &Lease,
    limit: i64,
    full: &[String],
    mut room: impl FnMut(&Claimed) -> bool,
) -> Result<Claim> {
    let backend = db.backend();
    let skip = if full.is_empty() {
        String::new()
    } else {
        format!("AND {}", none_of(backend, "d.endpoint_id", 3, full.len()))
    };
    // On PostgreSQL the candidates stay locked until their lease is written,
    // so no other node takes them meanwhile. On SQLite the transaction takes
    // the write lock at once: a read that later turns into a write could
    // fail if another write landed in between.
    let (begin, lock) = match backend {
        Backend::Postgres => ("BEGIN", "FOR UPDATE OF d SKIP LOCKED"),
        Backend::Sqlite => ("BEGIN IMMEDIATE", ""),
    };
    // As in `claim_due`: endpoints whose breaker is open are skipped (but
    // for a probe a resend chose), and held deliveries are never due.
    let breaker = breaker_lets_through("$1");
    let select = format!(
        "SELECT d.id, d.event_id, d.endpoint_id, d.attempts FROM deliveries d \
           JOIN endpoints e ON e.id = d.endpoint_id \
         WHERE d.status = 'pending' AND d.next_attempt_ms <= $1 \
           AND (d.lease_until_ms IS NULL OR d.lease_until_ms <= $1) \
           AND {breaker} {skip} \
         ORDER BY d.next_attempt_ms, d.id LIMIT $2 {lock}"
    );
    let _turn = db.write_turn().await;
    let mut claim = on_db!(db, |pool| {
        let mut tx = pool.begin_with(begin).await?;
        let mut query = sqlx::query_as::<_, Claimed>(&select).bind(now).bind(limit);
        if !full.is_empty() {
            query = query.bind_list(full.iter().map(String::as_str).collect());
        }
        let candidates = query.fetch_all(&mut *tx).await?;
        let mut claim = Claim::default();
        let mut taken = Vec::with_capacity(candidates.len());
        for candidate in candidates {
            if room(&candidate) {
                taken.push(candidate);
            } else {
                claim.refused += 1;
            }
        }
        for chunk in taken.chunks(UPDATES_PER_STATEMENT) {
            let sql = bulk_sql(
                backend,
                format!(
                    "UPDATE deliveries SET lease_owner = $1, lease_until_ms = $2 WHERE {}",
                    any_of(backend, "id", 3, chunk.len())
                ),
            );
            sqlx::query(&sql)
                .bind(&lease.owner)
                .bind(lease.until_ms)
                .bind_list(chunk.iter().map(|c| c.id.as_str()).collect())
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await?;
        claim.claimed = taken;
        claim
    });
    claim.claimed.sort_by(|a, b| a.id.cmp(&b.id));
    Ok(claim)
}

/// Moves the end of `lease` on a delivery to `until`, if the lease is still
/// the delivery's (no other node claimed it since). Answers whether it was.
pub async fn extend_lease(
    db: &Db,
    delivery_id: &str,
    lease: &Lease,
    until: Millis,
) -> Result<bool> {
    let _turn = db.write_turn().await;
    Ok(on_db!(db, |pool| {
        sqlx::query(
            "UPDATE deliveries SET lease_until_ms = $1 \
             WHERE id = $2 AND lease_owner = $3 AND lease_until_ms = $4",
        )
        .bind(until)
        .bind(delivery_id)
        .bind(&lease.owner)
        .bind(lease.until_ms)
        .execute(pool)
        .await?
        .rows_affected()
            == 1
    }))
}

/// What became of a claimed delivery.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Outcome {
    Succeeded,
    /// Attempted; try again at this time.
    RetryAt(Millis),
    /// Attempted; no attempts left.
    Failed,
    /// Attempted, and the endpoint is now disabled: wait for it.
    Held,
    /// Not attempted (the endpoint is disabled): wait for it.
    Hold,
    /// Not attempted (the endpoint is paused or busy): due again at this time.
    Release(Millis),
}

/// Records the outcome of an attempt, if `lease` is still the delivery's.
/// Answers false when the lease was lost (another node owns the delivery now).
pub async fn finish(db: &Db, delivery_id: &str, lease: &Lease, outcome: Outcome) -> Result<bool> {
    let kept = record_many(
        db,
        &[Finished {
            attempt: None,
            delivery_id: delivery_id.to_owned(),
            lease: lease.clone(),
            outcome,
        }],
    )
    .await?;
    Ok(kept.first().copied().unwrap_or(false))
}

/// A delivery's attempt (if one was made) and what became of it.
#[derive(Clone, Debug)]
pub struct Finished {
    pub attempt: Option<AttemptRow>,
    pub delivery_id: String,
    pub lease: Lease,
    pub outcome: Outcome,
}

/// Records several deliveries' attempts and outcomes in one transaction, so
/// concurrent deliveries share one commit (one disk sync). Answers, for each,
/// whether its lease was still held; an attempt is kept in the log either way.
/// Attempts go in with multi-row inserts, and deliveries with the same
/// outcome under the same lease (most of a busy batch) with one update.
pub async fn record_many(db: &Db, items: &[Finished]) -> Result<Vec<bool>> {
    let attempts: Vec<&AttemptRow> = items.iter().filter_map(|i| i.attempt.as_ref()).collect();
    if let Db::Postgres(pool) = db {
        static SQL: std::sync::LazyLock<String> = std::sync::LazyLock::new(record_at_once_sql);
        let kept: std::collections::HashSet<String> = sqlx::query_scalar(SQL.as_str())
            .bind_table(attempt_columns(&attempts))
            .bind_table(outcome_columns(items))
            .fetch_all(pool)
            .await?
            .into_iter()
            .collect();
        return Ok(items
            .iter()
            .map(|i| kept.contains(&i.delivery_id))
            .collect());
    }
    // SQLite from here on (PostgreSQL returned above): one transaction.
    // Deliveries grouped by the update they need, in first-seen order.
    let mut groups: Vec<(Update<'_>, Vec<&str>)> = Vec::new();
    for item in items {
        let (status, attempted, held, next) = new_state(item.outcome);
        let key = (status, next, attempted, held, &item.lease);
        match groups.iter_mut().find(|(k, _)| *k == key) {
            Some((_, ids)) => ids.push(&item.delivery_id),
            None => groups.push((key, vec![&item.delivery_id])),
        }
    }
    let mut kept_ids: std::collections::HashSet<String> = std::collections::HashSet::new();
    let backend = db.backend();
    let _turn = db.write_turn().await;
    on_db!(db, |pool| {
        let mut tx = pool.begin().await?;
        for chunk in attempts.chunks(ATTEMPTS_PER_STATEMENT) {
            let sql = bulk_sql(backend, insert_attempts_sql(backend, chunk.len()));
            sqlx::query(&sql)
                .bind_table(attempt_columns(chunk))
                .execute(&mut *tx)
                .await?;
        }
        for ((status, next, attempted, held, lease), ids) in &groups {
            for chunk in ids.chunks(UPDATES_PER_STATEMENT) {
                let sql = bulk_sql(
                    backend,
                    format!(
                        "UPDATE deliveries SET status = $1, attempts = attempts + $2, held = $3, \
                           next_attempt_ms = COALESCE($4, next_attempt_ms), lease_owner = NULL, lease_until_ms = NULL \
                         WHERE lease_owner = $5 AND lease_until_ms = $6 AND {} RETURNING id",
                        any_of(backend, "id", 7, chunk.len())
                    ),
                );
                let query = sqlx::query_scalar::<_, String>(&sql)
                    .bind(*status)
                    .bind(*attempted)
                    .bind(*held)
                    .bind(*next)
                    .bind(&lease.owner)
                    .bind(lease.until_ms)
                    .bind_list(chunk.to_vec());
                kept_ids.extend(query.fetch_all(&mut *tx).await?);
            }
        }
        tx.commit().await?;
    });
    Ok(items
        .iter()
        .map(|i| kept_ids.contains(&i.delivery_id))
        .collect())
}

/// PostgreSQL: the attempts and outcomes of [`record_many`] in one
/// statement that commits on its own: one round trip where a transaction
/// takes four. Each delivery's new state comes in the arrays of
/// [`outcome_columns`], so deliveries with different outcomes share it.
fn record_at_once_sql() -> String {
    format!(
        "WITH a AS ({}) \
         UPDATE deliveries d SET status = u.status, attempts = d.attempts + u.attempted, held = u.held, \
           next_attempt_ms = COALESCE(u.next_ms, d.next_attempt_ms), lease_owner = NULL, lease_until_ms = NULL \
         FROM UNNEST($16::TEXT[], $17::TEXT[], $18::BIGINT[], $19::BOOLEAN[], $20::BIGINT[], $21::TEXT[], $22::BIGINT[]) \
           AS u (id, status, attempted, held, next_ms, owner, until_ms) \
         WHERE d.id = u.id AND d.lease_owner = u.owner AND d.lease_until_ms = u.until_ms \
         RETURNING d.id",
        insert_attempts_sql(Backend::Postgres, 0)
    )
}

/// Inserts `rows` attempts (any number on PostgreSQL), each only if its
/// delivery still exists: retention may have purged one whose attempt
/// outlived its lease. That attempt is dropped rather than failing its
/// whole batch (SQLite's foreign key would) or being kept as an orphan
/// that no purge finds (PostgreSQL has no key here, see migration 0028).
fn insert_attempts_sql(backend: Backend, rows: usize) -> String {
    let (source, delivery_id) = match backend {
        Backend::Postgres => (
            format!("{} AS n ({ATTEMPT_COLUMNS})", insert_rows(backend, 0, 15)),
            "n.delivery_id",
        ),
        // A VALUES list's columns are named column1, column2, …
        Backend::Sqlite => (
            format!("SELECT * FROM ({}) AS n", insert_rows(backend, rows, 15)),
            "n.column2",
        ),
    };
    format!(
        "INSERT INTO attempts ({ATTEMPT_COLUMNS}) {source} \
         WHERE EXISTS (SELECT 1 FROM deliveries x WHERE x.id = {delivery_id})"
    )
}

/// What each finished delivery's row becomes: status, attempts to add,
/// held, next due time (none: unchanged), and the lease it must still be
/// under.
fn new_state(outcome: Outcome) -> (&'static str, i64, bool, Option<Millis>) {
    match outcome {
        Outcome::Succeeded => ("succeeded", 1, false, None),
        Outcome::RetryAt(at) => ("pending", 1, false, Some(at)),
        Outcome::Failed => ("failed", 1, false, None),
        Outcome::Held => ("pending", 1, true, Some(HELD_UNTIL)),
        Outcome::Hold => ("pending", 0, true, Some(HELD_UNTIL)),
        Outcome::Release(at) => ("pending", 0, false, Some(at)),
    }
}

/// Finished deliveries as the arrays `$16` to `$22` of [`record_at_once_sql`].
fn outcome_columns(items: &[Finished]) -> Vec<Column<'_>> {
    let states: Vec<_> = items.iter().map(|i| new_state(i.outcome)).collect();
    vec![
        Column::Text(items.iter().map(|i| i.delivery_id.as_str()).collect()),
        Column::Text(states.iter().map(|s| s.0).collect()),
        Column::Int(states.iter().map(|s| s.1).collect()),
        Column::Bool(states.iter().map(|s| s.2).collect()),
        Column::MaybeInt(states.iter().map(|s| s.3).collect()),
        Column::Text(items.iter().map(|i| i.lease.owner.as_str()).collect()),
        Column::Int(items.iter().map(|i| i.lease.until_ms).collect()),
    ]
}

/// Attempts as the columns of [`ATTEMPT_COLUMNS`], in that order.
fn attempt_columns<'a>(rows: &[&'a AttemptRow]) -> Vec<Column<'a>> {
    let text = |f: fn(&'a AttemptRow) -> &'a str| Column::Text(rows.iter().map(|a| f(a)).collect());
    let int = |f: fn(&'a AttemptRow) -> i64| Column::Int(rows.iter().map(|a| f(a)).collect());
    let maybe_text = |f: fn(&'a AttemptRow) -> &'a Option<String>| {
        Column::MaybeText(rows.iter().map(|a| f(a).as_deref()).collect())
    };
    vec![
        text(|a| &a.id),
        text(|a| &a.delivery_id),
        text(|a| &a.event_id),
        text(|a| &a.endpoint_id),
        int(|a| a.attempt_no),
        int(|a| a.started_ms),
        int(|a| a.latency_ms),
        text(|a| &a.url),
        text(|a| &a.request_headers),
        text(|a| &a.payload_version),
        Column::MaybeInt(rows.iter().map(|a| a.response_status).collect()),
        maybe_text(|a| &a.response_headers),
        maybe_text(|a| &a.response_body),
        maybe_text(|a| &a.error_class),
        maybe_text(|a| &a.error_message),
    ]
}

/// The update a recorded delivery needs: status, next due time, attempts
/// to add, held, and the lease it must still be under.
type Update<'a> = (&'static str, Option<Millis>, i64, bool, &'a Lease);

/// Attempts per multi-row insert on SQLite: 15 values each.
const ATTEMPTS_PER_STATEMENT: usize = 50;
/// Deliveries per grouped update.
const UPDATES_PER_STATEMENT: usize = 500;

/// How many deliveries are in each state at `now`: `due`, `scheduled`,
/// `in_flight` (leased), `succeeded` and `failed`.
pub async fn queue_depth(db: &Db, now: Millis) -> Result<Vec<(String, i64)>> {
    Ok(on_db!(db, |pool| {
        sqlx::query_as::<_, (String, i64)>(
            "SELECT CASE WHEN status <> 'pending' THEN status \
                         WHEN lease_until_ms > $1 THEN 'in_flight' \
                         WHEN next_attempt_ms <= $1 THEN 'due' \
                         ELSE 'scheduled' END AS state, COUNT(*) \
             FROM deliveries GROUP BY 1",
        )
        .bind(now)
        .fetch_all(pool)
        .await?
    }))
}

/// Frees every lease. Only for a single-node SQLite start: any lease found
/// then belongs to a process that is gone, so its work need not wait.
pub async fn release_all_leases(db: &Db) -> Result<u64> {
    Ok(on_db!(db, |pool| {
        sqlx::query(
            "UPDATE deliveries SET lease_owner = NULL, lease_until_ms = NULL WHERE lease_owner IS NOT NULL",
        )
        .execute(pool)
        .await?
        .rows_affected()
    }))
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

/// One attempt as stored for the logs.
#[derive(Clone, Debug, PartialEq, Eq, sqlx::FromRow)]
pub struct AttemptRow {
    pub id: String,
    pub delivery_id: String,
    pub event_id: String,
    pub endpoint_id: String,
    pub attempt_no: i64,
    pub started_ms: i64,
    pub latency_ms: i64,
    pub url: String,
    pub request_headers: String,
    /// The body sent was the event rendered for this version.
    pub payload_version: String,
    pub response_status: Option<i64>,
    pub response_headers: Option<String>,
    pub response_body: Option<String>,
    pub error_class: Option<String>,
    pub error_message: Option<String>,
}

const ATTEMPT_COLUMNS: &str = "id, delivery_id, event_id, endpoint_id, attempt_no, started_ms, latency_ms, url, \
     request_headers, payload_version, response_status, response_headers, response_body, error_class, error_message";

pub async fn attempts_of(db: &Db, delivery_id: &str) -> Result<Vec<AttemptRow>> {
    let sql = format!(
        "SELECT {ATTEMPT_COLUMNS} FROM attempts WHERE delivery_id = $1 ORDER BY attempt_no"
    );
    Ok(on_db!(db, |pool| {
        sqlx::query_as::<_, AttemptRow>(&sql)
            .bind(delivery_id)
            .fetch_all(pool)
            .await?
    }))
}

/// Every attempt of every delivery of an event, in order per delivery.
pub async fn attempts_of_event(db: &Db, event_id: &str) -> Result<Vec<AttemptRow>> {
    let sql = format!(
        "SELECT {ATTEMPT_COLUMNS} FROM attempts \
         WHERE delivery_id IN (SELECT id FROM deliveries WHERE event_id = $1) \
         ORDER BY delivery_id, attempt_no"
    );
    Ok(on_db!(db, |pool| {
        sqlx::query_as::<_, AttemptRow>(&sql)
            .bind(event_id)
            .fetch_all(pool)
            .await?
    }))
}

/// A delivery's next due time, for tests and the logs.
pub async fn next_attempt_ms(db: &Db, delivery_id: &str) -> Result<Option<i64>> {
    Ok(on_db!(db, |pool| {
        sqlx::query_scalar::<_, i64>("SELECT next_attempt_ms FROM deliveries WHERE id = $1")
            .bind(delivery_id)
            .fetch_optional(pool)
            .await?
    }))
}
