//! Events and their fan-out to deliveries (the outbox): both are written in
//! one transaction, so an accepted event always has its deliveries.

use crate::clock::Millis;
use crate::error::{Error, Result};
use crate::on_db;
use crate::store::deliveries::{Claimed, Lease};
use crate::store::endpoints::WithSecrets;
use crate::store::health::HELD_UNTIL;
use crate::store::{Backend, BulkQuery, Column, Db};

#[derive(Clone, Debug, PartialEq, Eq, sqlx::FromRow)]
pub struct EventRow {
    pub id: String,
    pub merchant_id: String,
    pub mode: String,
    pub event_type: String,
    pub resource_id: String,
    pub data: String,
    pub created_ms: i64,
}

pub enum Inserted {
    /// Stored, with this many deliveries.
    New(u64),
    /// The idempotency key was used before: the earlier event's id and request hash.
    Existing {
        event_id: String,
        request_hash: String,
    },
}

pub struct Idempotency<'a> {
    pub key: &'a str,
    pub request_hash: &'a str,
    pub expires_before: Millis,
}

pub(crate) const EVENT_COLUMNS: &str =
    "id, merchant_id, mode, event_type, resource_id, data, created_ms";

/// Stores `event` and one pending delivery per enabled endpoint of the
/// merchant, in the event's mode, subscribed to its type, due now.
pub async fn insert_with_fanout(
    db: &Db,
    event: &EventRow,
    idempotency: Option<Idempotency<'_>>,
) -> Result<Inserted> {
    let mut results = insert_many(db, &[(event, idempotency)]).await?;
    results
        .pop()
        .unwrap_or_else(|| Err("nothing stored".into()))
        .map_err(Error::Internal)
}

/// Deliveries of new events: one per enabled endpoint of the event's
/// merchant, in its mode, subscribed to its type, due at once. Endpoints
/// disabled by Hookline (failing, or 410) keep their events, held until the
/// merchant re-enables them; ones the merchant turned off do not.
///
/// The new events are the rows of `source` (aliased `v`) that `filter`
/// keeps. The first `$p+2` deliveries that can go at once (endpoint
/// enabled, its breaker closed at `$p+3`) are leased to `$p` until `$p+1`
/// (`p` is `first_param`): the node that stores them has slots free and
/// sends them itself, with no claim. (Parameters are numbered in the order
/// they appear, for [`crate::store::bulk_sql`].)
fn fan_out_sql(source: &str, filter: &str, first_param: usize) -> String {
    let [owner, until, limit, now] = [0, 1, 2, 3].map(|i| format!("${}", first_param + i));
    format!(
        "INSERT INTO deliveries (id, event_id, endpoint_id, merchant_id, status, attempts, next_attempt_ms, \
           created_ms, held, lease_owner, lease_until_ms) \
         SELECT id, event_id, endpoint_id, merchant_id, 'pending', 0, next_attempt_ms, created_ms, held, \
           CASE WHEN lease_it THEN {owner} END, CASE WHEN lease_it THEN {until} END \
         FROM (SELECT *, (can_go AND row_number() OVER (PARTITION BY can_go ORDER BY event_id, endpoint_id) <= {limit}) \
                 AS lease_it \
               FROM (SELECT 'dlv_' || substr(v.id, 5) || '_' || e.id AS id, v.id AS event_id, \
                       e.id AS endpoint_id, e.merchant_id AS merchant_id, \
                       CASE WHEN e.enabled THEN v.created_ms ELSE {HELD_UNTIL} END AS next_attempt_ms, \
                       v.created_ms AS created_ms, NOT e.enabled AS held, \
                       (e.enabled AND (e.breaker_until_ms IS NULL OR e.breaker_until_ms <= {now})) AS can_go \
                     FROM {source} v JOIN endpoints e ON e.merchant_id = v.merchant_id AND e.mode = v.mode \
                     JOIN endpoint_event_types t ON t.endpoint_id = e.id AND t.event_type = v.event_type \
                     WHERE NOT e.deleted AND (e.enabled OR e.disabled_reason IN ('failing', 'gone')) \
                       AND {filter}) fanned) numbered \
         RETURNING id, event_id, endpoint_id, lease_owner, held"
    )
}

/// PostgreSQL: events (no idempotency keys) and their fan-out in one
/// statement, which commits on its own, so a group costs one round trip
/// instead of seven (begin, savepoint, two inserts, release, notify,
/// commit). The deliveries read the inserted events from the `WITH`
/// clause and their endpoints from the join, so each has both (PostgreSQL
/// checks no foreign keys on these tables, see migration 0028). Other nodes
/// are notified, at the commit, when some delivery waits in the queue.
///
/// The endpoints of the deliveries leased to the writer come back too, with
/// their secrets, each on the first of its leased deliveries' rows: the
/// writer starts them without reading the endpoints again.
fn insert_at_once_sql() -> String {
    format!(
        "WITH v AS (INSERT INTO events ({EVENT_COLUMNS}) {} RETURNING {EVENT_COLUMNS}), \
              d AS ({}), \
              k AS ({}) \
         SELECT d.id AS delivery_id, d.event_id, d.endpoint_id, d.lease_owner, d.held, \
           (SELECT count(pg_notify('{}', '')) FROM \
              (SELECT 1 FROM d WHERE lease_owner IS NULL AND NOT held LIMIT 1) q) AS woke, k.* \
         FROM (SELECT *, row_number() OVER (PARTITION BY endpoint_id, lease_owner IS NULL ORDER BY id) AS nth \
               FROM d) d \
         LEFT JOIN k ON d.lease_owner IS NOT NULL AND d.nth = 1 AND k.id = d.endpoint_id",
        crate::store::insert_rows(Backend::Postgres, 0, 7),
        fan_out_sql("v", "TRUE", 8),
        crate::store::endpoints::live_with_secrets_sql(
            "(SELECT endpoint_id FROM d WHERE lease_owner IS NOT NULL)",
            "$11"
        ),
        crate::dispatch::wake::CHANNEL,
    )
}

/// Deliveries that the storing node may lease to itself as it writes them
/// (see [`fan_out_sql`]): at most `limit`, under `lease`, breakers read at `now`.
#[derive(Clone, Copy, Debug)]
pub struct Handoff<'a> {
    pub lease: &'a Lease,
    pub now: Millis,
    pub limit: usize,
}

/// What one write of events fanned out to.
#[derive(Default)]
struct Fanned {
    /// Deliveries per event.
    per_event: std::collections::HashMap<String, u64>,
    /// Deliveries leased to the writer.
    leased: Vec<Claimed>,
    /// Whether any delivery waits in the queue for a claim.
    queued: bool,
    /// The endpoints of the leased deliveries, with their secrets, where
    /// the write read them too.
    endpoints: Vec<WithSecrets>,
}

impl Fanned {
    /// Nothing fanned out yet for `events`.
    fn of(events: &[&EventRow]) -> Fanned {
        Fanned {
            per_event: events.iter().map(|e| (e.id.clone(), 0)).collect(),
            ..Fanned::default()
        }
    }

    /// Counts one new delivery; answers whether it was leased to the writer.
    fn add(
        &mut self,
        id: String,
        event_id: String,
        endpoint_id: String,
        leased: bool,
        held: bool,
    ) -> bool {
        *self.per_event.entry(event_id.clone()).or_default() += 1;
        if leased {
            self.leased.push(Claimed {
                id,
                event_id,
                endpoint_id,
                attempts: 0,
            });
        } else {
            self.queued |= !held;
        }
        leased
    }
}

/// Writes `events` (none with an idempotency key) with their deliveries in
/// one statement that commits on its own (see [`insert_at_once_sql`]),
/// leasing up to `limit` of them under `handoff`. On an error nothing
/// was stored.
async fn insert_at_once(
    pool: &sqlx::PgPool,
    events: &[&EventRow],
    handoff: Option<Handoff<'_>>,
    limit: usize,
) -> std::result::Result<Fanned, sqlx::Error> {
    use sqlx::Row;
    static SQL: std::sync::LazyLock<String> = std::sync::LazyLock::new(insert_at_once_sql);
    let mut fanned = Fanned::of(events);
    let rows = sqlx::query(SQL.as_str())
        .bind_table(event_columns(events))
        .bind(handoff.map(|h| h.lease.owner.clone()))
        .bind(handoff.map(|h| h.lease.until_ms))
        .bind(i64::try_from(limit).unwrap_or(i64::MAX))
        .bind(handoff.map_or(0, |h| h.now))
        .fetch_all(pool)
        .await?;
    for row in rows {
        fanned.add(
            row.try_get("delivery_id")?,
            row.try_get("event_id")?,
            row.try_get("endpoint_id")?,
            row.try_get::<Option<String>, _>("lease_owner")?.is_some(),
            row.try_get("held")?,
        );
        fanned
            .endpoints
            .extend(crate::store::endpoints::live_with_secrets_from_row(&row)?);
    }
    Ok(fanned)
}

/// Events as the columns of [`EVENT_COLUMNS`], in that order.
fn event_columns<'a>(events: &[&'a EventRow]) -> Vec<Column<'a>> {
    let text = |f: fn(&'a EventRow) -> &'a str| Column::Text(events.iter().map(|e| f(e)).collect());
    vec![
        text(|e| &e.id),
        text(|e| &e.merchant_id),
        text(|e| &e.mode),
        text(|e| &e.event_type),
        text(|e| &e.resource_id),
        text(|e| &e.data),
        Column::Int(events.iter().map(|e| e.created_ms).collect()),
    ]
}

/// Rows per multi-row statement: 7 values each, far below either backend's limit.
const ROWS_PER_STATEMENT: usize = 200;

/// Writes `$events` (none with an idempotency key) with their deliveries on
/// `$conn` in a few statements, leasing up to `$limit` of them under
/// `$handoff`; evaluates to a [`Fanned`]. A macro so that it expands once per
/// backend inside [`on_db!`].
macro_rules! insert_together {
    ($conn:expr, $events:expr, $backend:expr, $handoff:expr, $limit:expr) => {
        async {
            use sqlx::Row;
            let events: &[&EventRow] = $events;
            let handoff: Option<Handoff<'_>> = $handoff;
            let mut limit: usize = $limit;
            let mut fanned = Fanned::of(events);
            for chunk in events.chunks(ROWS_PER_STATEMENT) {
                let sql = crate::store::bulk_sql(
                    $backend,
                    format!(
                        "INSERT INTO events ({EVENT_COLUMNS}) {}",
                        crate::store::insert_rows($backend, chunk.len(), 7)
                    ),
                );
                sqlx::query(&sql)
                    .bind_table(event_columns(chunk))
                    .execute(&mut *$conn)
                    .await?;
                let sql = crate::store::bulk_sql(
                    $backend,
                    fan_out_sql(
                        "events",
                        &crate::store::any_of($backend, "v.id", 5, chunk.len()),
                        1,
                    ),
                );
                let query = sqlx::query(&sql)
                    .bind(handoff.map(|h| h.lease.owner.clone()))
                    .bind(handoff.map(|h| h.lease.until_ms))
                    .bind(i64::try_from(limit).unwrap_or(i64::MAX))
                    .bind(handoff.map_or(0, |h| h.now))
                    .bind_list(chunk.iter().map(|e| e.id.as_str()).collect());
                for row in query.fetch_all(&mut *$conn).await? {
                    let leased = fanned.add(
                        row.try_get(0)?,
                        row.try_get(1)?,
                        row.try_get(2)?,
                        row.try_get::<Option<String>, _>(3)?.is_some(),
                        row.try_get(4)?,
                    );
                    if leased {
                        limit = limit.saturating_sub(1);
                    }
                }
            }
            Ok::<_, sqlx::Error>(fanned)
        }
    };
}

/// Stores several events with their fan-out in one transaction (one disk
/// sync for all of them). Events without an idempotency key are written
/// together, with one multi-row insert and one fan-out statement; if that
/// fails they are written again one by one. Each event written alone is in a
/// savepoint of its own, so one that fails is answered with its error and
/// the others are still stored. The outer error means nothing was stored.
pub async fn insert_many(
    db: &Db,
    items: &[(&EventRow, Option<Idempotency<'_>>)],
) -> Result<Vec<std::result::Result<Inserted, String>>> {
    Ok(insert_many_handing_off(db, items, None).await?.results)
}

/// What [`insert_many_handing_off`] stored.
pub struct Stored {
    /// One answer per event, in order.
    pub results: Vec<std::result::Result<Inserted, String>>,
    /// Deliveries leased to the writer under its [`Handoff`].
    pub leased: Vec<Claimed>,
    /// Whether any new delivery waits in the queue for a claim.
    pub queued: bool,
    /// The endpoints of the leased deliveries with their secrets, where the
    /// write read them too (see [`insert_at_once_sql`]); `None` where the
    /// dispatcher reads them.
    pub endpoints: Option<Vec<WithSecrets>>,
}

/// [`insert_many`], leasing up to `handoff.limit` of the new deliveries to
/// the writer in the same transaction. Other nodes are told of the rest
/// (`NOTIFY` on PostgreSQL, sent when the transaction commits).
pub async fn insert_many_handing_off(
    db: &Db,
    items: &[(&EventRow, Option<Idempotency<'_>>)],
    handoff: Option<Handoff<'_>>,
) -> Result<Stored> {
    let _turn = db.write_turn().await;
    let backend = db.backend();
    let unkeyed: Vec<&EventRow> = items
        .iter()
        .filter(|(_, key)| key.is_none())
        .map(|(e, _)| *e)
        .collect();
    let mut limit = handoff.map_or(0, |h| h.limit);
    // Tried together (below) unless the one-statement write just failed.
    let mut together = unkeyed.len() > 1;
    if let Db::Postgres(pool) = db
        && !unkeyed.is_empty()
        && unkeyed.len() == items.len()
    {
        match insert_at_once(pool, &unkeyed, handoff, limit).await {
            Ok(fanned) => {
                let results = unkeyed
                    .iter()
                    .map(|e| {
                        Ok(Inserted::New(
                            fanned.per_event.get(e.id.as_str()).copied().unwrap_or(0),
                        ))
                    })
                    .collect();
                return Ok(Stored {
                    results,
                    leased: fanned.leased,
                    queued: fanned.queued,
                    endpoints: Some(fanned.endpoints),
                });
            }
            Err(e) => {
                let e = Error::from(e);
                if e.is_unavailable() {
                    return Err(e);
                }
                tracing::debug!(error = %e, "events written at once failed; writing them one by one");
                together = false;
            }
        }
    }
    on_db!(db, |pool| {
        let mut tx = pool.begin().await?;
        let mut results: Vec<Option<std::result::Result<Inserted, String>>> =
            items.iter().map(|_| None).collect();
        let mut leased: Vec<Claimed> = Vec::new();
        let mut queued = false;
        if together {
            let mut sp = sqlx::Acquire::begin(&mut *tx).await?;
            match insert_together!(sp, &unkeyed, backend, handoff, limit).await {
                Ok(fanned) => {
                    sp.commit().await?;
                    for (slot, (event, _)) in results.iter_mut().zip(items) {
                        if let Some(n) = fanned.per_event.get(event.id.as_str()) {
                            *slot = Some(Ok(Inserted::New(*n)));
                        }
                    }
                    limit -= fanned.leased.len();
                    leased.extend(fanned.leased);
                    queued |= fanned.queued;
                }
                Err(e) => {
                    tracing::debug!(error = %e, "events written together failed; writing them one by one");
                    sp.rollback().await?;
                }
            }
        }
        for ((event, idempotency), slot) in items.iter().zip(results.iter_mut()) {
            if slot.is_some() {
                continue;
            }
            let mut sp = sqlx::Acquire::begin(&mut *tx).await?;
            let attempt = async {
                if let Some(key) = idempotency {
                    // A write comes first, so SQLite takes its write lock at once and
                    // concurrent publishes of one key queue instead of failing.
                    sqlx::query("DELETE FROM idempotency_keys WHERE key = $1 AND created_ms < $2")
                        .bind(key.key)
                        .bind(key.expires_before)
                        .execute(&mut *sp)
                        .await?;
                    let claimed = sqlx::query(
                        "INSERT INTO idempotency_keys (key, request_hash, event_id, created_ms) \
                         VALUES ($1, $2, $3, $4) ON CONFLICT (key) DO NOTHING",
                    )
                    .bind(key.key)
                    .bind(key.request_hash)
                    .bind(&event.id)
                    .bind(event.created_ms)
                    .execute(&mut *sp)
                    .await?
                    .rows_affected();
                    if claimed == 0 {
                        let (event_id, request_hash): (String, String) = sqlx::query_as(
                            "SELECT event_id, request_hash FROM idempotency_keys WHERE key = $1",
                        )
                        .bind(key.key)
                        .fetch_one(&mut *sp)
                        .await?;
                        return Ok::<_, sqlx::Error>((
                            Inserted::Existing {
                                event_id,
                                request_hash,
                            },
                            Fanned::default(),
                        ));
                    }
                }
                let fanned = insert_together!(sp, &[*event], backend, handoff, limit).await?;
                Ok((Inserted::New(fanned.per_event.values().sum()), fanned))
            }
            .await;
            match attempt {
                Ok((inserted, fanned)) => {
                    sp.commit().await?;
                    *slot = Some(Ok(inserted));
                    limit -= fanned.leased.len();
                    leased.extend(fanned.leased);
                    queued |= fanned.queued;
                }
                Err(e) => {
                    sp.rollback().await?;
                    *slot = Some(Err(e.to_string()));
                }
            }
        }
        if queued && backend == Backend::Postgres {
            // Delivered to every listening node when the transaction commits.
            sqlx::query(&format!("NOTIFY {}", crate::dispatch::wake::CHANNEL))
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await?;
        Ok(Stored {
            results: results
                .into_iter()
                .map(|r| r.unwrap_or_else(|| Err("not written".into())))
                .collect(),
            leased,
            queued,
            endpoints: None,
        })
    })
}

/// Stores a test event for one endpoint with its delivery already leased to
/// the caller, which makes the one attempt and records how it went. The
/// delivery starts out failed, not pending: should the node die before the
/// outcome is recorded, no dispatcher ever sends it when the lease runs out
/// (unmarked, and hours later, sample data to what may be a live endpoint);
/// the merchant sends another test instead.
pub async fn insert_test(
    db: &Db,
    event: &EventRow,
    endpoint_id: &str,
    lease: &Lease,
) -> Result<String> {
    let delivery_id = format!("dlv_{}_{endpoint_id}", event.id.trim_start_matches("evt_"));
    on_db!(db, |pool| {
        let mut tx = pool.begin().await?;
        sqlx::query(&format!(
            "INSERT INTO events ({EVENT_COLUMNS}, is_test) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)"
        ))
        .bind(&event.id)
        .bind(&event.merchant_id)
        .bind(&event.mode)
        .bind(&event.event_type)
        .bind(&event.resource_id)
        .bind(&event.data)
        .bind(event.created_ms)
        .bind(true)
        .execute(&mut *tx)
        .await?;
        sqlx::query(
            "INSERT INTO deliveries (id, event_id, endpoint_id, merchant_id, status, attempts, next_attempt_ms, \
               created_ms, lease_owner, lease_until_ms) \
             VALUES ($1, $2, $3, $4, 'failed', 0, $5, $5, $6, $7)",
        )
        .bind(&delivery_id)
        .bind(&event.id)
        .bind(endpoint_id)
        .bind(&event.merchant_id)
        .bind(event.created_ms)
        .bind(&lease.owner)
        .bind(lease.until_ms)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
    });
    Ok(delivery_id)
}

/// Whether the event was made by "send test event".
pub async fn is_test(db: &Db, id: &str) -> Result<Option<bool>> {
    Ok(on_db!(db, |pool| {
        sqlx::query_scalar::<_, bool>("SELECT is_test FROM events WHERE id = $1")
            .bind(id)
            .fetch_optional(pool)
            .await?
    }))
}

pub async fn get(db: &Db, id: &str) -> Result<Option<EventRow>> {
    let sql = format!("SELECT {EVENT_COLUMNS} FROM events WHERE id = $1");
    Ok(on_db!(db, |pool| {
        sqlx::query_as::<_, EventRow>(&sql)
            .bind(id)
            .fetch_optional(pool)
            .await?
    }))
}

/// Several events at once, in no particular order (missing ids are left out).
pub async fn get_many(db: &Db, ids: &[&str]) -> Result<Vec<EventRow>> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let sql = crate::store::bulk_sql(
        db.backend(),
        format!(
            "SELECT {EVENT_COLUMNS} FROM events WHERE {}",
            crate::store::any_of(db.backend(), "id", 1, ids.len())
        ),
    );
    Ok(on_db!(db, |pool| {
        sqlx::query_as::<_, EventRow>(&sql)
            .bind_list(ids.to_vec())
            .fetch_all(pool)
            .await?
    }))
}

pub async fn merchant_exists(db: &Db, merchant_id: &str) -> Result<bool> {
    Ok(on_db!(db, |pool| {
        sqlx::query_scalar::<_, i64>("SELECT COUNT(*) FROM merchants WHERE id = $1")
            .bind(merchant_id)
            .fetch_one(pool)
            .await?
            > 0
    }))
}

/// `(endpoint_id, status)` of every delivery of an event, for the ingest answer and tests.
pub async fn deliveries_of(db: &Db, event_id: &str) -> Result<Vec<(String, String)>> {
    Ok(on_db!(db, |pool| {
        sqlx::query_as::<_, (String, String)>(
            "SELECT endpoint_id, status FROM deliveries WHERE event_id = $1 ORDER BY endpoint_id",
        )
        .bind(event_id)
        .fetch_all(pool)
        .await?
    }))
}

pub async fn count_for_merchant(db: &Db, merchant_id: &str) -> Result<i64> {
    Ok(on_db!(db, |pool| {
        sqlx::query_scalar::<_, i64>("SELECT COUNT(*) FROM events WHERE merchant_id = $1")
            .bind(merchant_id)
            .fetch_one(pool)
            .await?
    }))
}
