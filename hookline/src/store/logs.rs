//! The delivery log's queries: a merchant's deliveries newest first with
//! optional filters, one event with its deliveries, and putting deliveries
//! back in the queue (resend, recover).

use crate::clock::Millis;
use crate::error::Result;
use crate::on_db;
use crate::store::Db;
use crate::store::events::{EVENT_COLUMNS, EventRow};
use crate::store::health::RESEND_PROBE_HOLD_MS;

#[derive(Clone, Debug, sqlx::FromRow)]
pub struct LogRowRaw {
    pub delivery_id: String,
    pub event_id: String,
    pub event_type: String,
    pub resource_id: String,
    pub endpoint_id: String,
    pub endpoint_url: String,
    pub status: String,
    pub held: bool,
    pub attempts: i64,
    pub last_status: Option<i64>,
    pub last_error: Option<String>,
    pub next_attempt_ms: i64,
    pub created_ms: i64,
    pub is_test: bool,
}

/// Which deliveries to list. `None` means any.
#[derive(Clone, Debug, Default)]
pub struct LogFilter<'a> {
    pub merchant_id: &'a str,
    pub mode: &'a str,
    pub endpoint_id: Option<&'a str>,
    pub event_type: Option<&'a str>,
    /// `pending`, `held`, `succeeded` or `failed`.
    pub state: Option<&'a str>,
    pub from_ms: Option<Millis>,
    pub to_ms: Option<Millis>,
    /// An event id or a resource (transaction) id.
    pub search: Option<&'a str>,
    /// Only rows older than this `(created_ms, delivery_id)`.
    pub before: Option<(Millis, &'a str)>,
    pub limit: i64,
}

enum Arg<'a> {
    Text(&'a str),
    Int(i64),
}

/// Collects a query's arguments and hands out their `$N` placeholders.
#[derive(Default)]
struct Args<'a>(Vec<Arg<'a>>);

impl<'a> Args<'a> {
    fn push(&mut self, arg: Arg<'a>) -> String {
        self.0.push(arg);
        format!("${}", self.0.len())
    }
}

pub async fn page(db: &Db, f: &LogFilter<'_>) -> Result<Vec<LogRowRaw>> {
    let mut args = Args::default();
    let merchant = args.push(Arg::Text(f.merchant_id));
    let mut conds = vec![format!("ep.mode = {}", args.push(Arg::Text(f.mode)))];
    // Each query walks the narrowest index it can: a search looks the few
    // events up first, an endpoint filter reads that endpoint's deliveries,
    // anything else the merchant's. `|| ''` keeps a column's index out of
    // the planners' reach (SQLite has no statistics to tell the merchant's
    // index is the wide one), and an endpoint's merchant is its deliveries'.
    let (merchant_column, endpoint_column) = match (f.search, f.endpoint_id) {
        (Some(_), _) => ("d.merchant_id || ''", "d.endpoint_id || ''"),
        (None, Some(_)) => ("ep.merchant_id", "d.endpoint_id"),
        (None, None) => ("d.merchant_id", "d.endpoint_id"),
    };
    conds.push(format!("{merchant_column} = {merchant}"));
    if let Some(q) = f.search {
        let p = args.push(Arg::Text(q));
        conds.push(format!(
            "d.event_id IN (SELECT id FROM events WHERE id = {p} OR resource_id = {p})"
        ));
    }
    if let Some(id) = f.endpoint_id {
        let p = args.push(Arg::Text(id));
        conds.push(format!("{endpoint_column} = {p}"));
    }
    if let Some(t) = f.event_type {
        conds.push(format!("e.event_type = {}", args.push(Arg::Text(t))));
    }
    match f.state {
        Some("held") => conds.push("d.held".into()),
        Some("pending") => conds.push("d.status = 'pending' AND NOT d.held".into()),
        // Written out, as a partial index is used only for its own condition.
        Some("failed") => conds.push("d.status = 'failed'".into()),
        Some(status) => conds.push(format!("d.status = {}", args.push(Arg::Text(status)))),
        None => {}
    }
    if let Some(from) = f.from_ms {
        conds.push(format!("d.created_ms >= {}", args.push(Arg::Int(from))));
    }
    if let Some(to) = f.to_ms {
        conds.push(format!("d.created_ms < {}", args.push(Arg::Int(to))));
    }
    if let Some((ms, id)) = f.before {
        let (p_ms, p_id) = (args.push(Arg::Int(ms)), args.push(Arg::Text(id)));
        conds.push(format!(
            "(d.created_ms < {p_ms} OR (d.created_ms = {p_ms} AND d.id < {p_id}))"
        ));
    }
    // The page size is written into the statement, not bound: PostgreSQL
    // plans each statement once (force_generic_plan), and for an unknown
    // LIMIT it expects a tenth of the merchant's deliveries, which made it
    // start parallel workers for a 50-row page (6 ms against 0.4 ms).
    let sql = format!(
        "SELECT d.id AS delivery_id, d.event_id, e.event_type, e.resource_id, d.endpoint_id, ep.url AS endpoint_url, \
           d.status, d.held, d.attempts, d.next_attempt_ms, d.created_ms, e.is_test, \
           (SELECT a.response_status FROM attempts a WHERE a.delivery_id = d.id ORDER BY a.attempt_no DESC LIMIT 1) AS last_status, \
           (SELECT a.error_class FROM attempts a WHERE a.delivery_id = d.id ORDER BY a.attempt_no DESC LIMIT 1) AS last_error \
         FROM deliveries d JOIN events e ON e.id = d.event_id JOIN endpoints ep ON ep.id = d.endpoint_id \
         WHERE {} ORDER BY d.created_ms DESC, d.id DESC LIMIT {}",
        conds.join(" AND "),
        f.limit
    );
    Ok(on_db!(db, |pool| {
        let mut query = sqlx::query_as::<_, LogRowRaw>(&sql);
        for arg in &args.0 {
            query = match arg {
                Arg::Text(s) => query.bind(*s),
                Arg::Int(i) => query.bind(*i),
            };
        }
        query.fetch_all(pool).await?
    }))
}

/// The merchant's event with whether it was a portal test.
pub async fn event(db: &Db, merchant_id: &str, id: &str) -> Result<Option<(EventRow, bool)>> {
    let sql =
        format!("SELECT {EVENT_COLUMNS}, is_test FROM events WHERE id = $1 AND merchant_id = $2");
    Ok(on_db!(db, |pool| {
        sqlx::query_as::<_, EventWithTest>(&sql)
            .bind(id)
            .bind(merchant_id)
            .fetch_optional(pool)
            .await?
            .map(|e| (e.event, e.is_test))
    }))
}

#[derive(sqlx::FromRow)]
struct EventWithTest {
    #[sqlx(flatten)]
    event: EventRow,
    is_test: bool,
}

#[derive(Clone, Debug, sqlx::FromRow)]
pub struct EventDelivery {
    pub id: String,
    pub endpoint_id: String,
    pub endpoint_url: String,
    pub endpoint_deleted: bool,
    pub status: String,
    pub held: bool,
    pub next_attempt_ms: i64,
}

pub async fn deliveries_of_event(db: &Db, event_id: &str) -> Result<Vec<EventDelivery>> {
    Ok(on_db!(db, |pool| {
        sqlx::query_as::<_, EventDelivery>(
            "SELECT d.id, d.endpoint_id, ep.url AS endpoint_url, ep.deleted AS endpoint_deleted, d.status, d.held, d.next_attempt_ms \
             FROM deliveries d JOIN endpoints ep ON ep.id = d.endpoint_id \
             WHERE d.event_id = $1 ORDER BY ep.created_ms, d.id",
        )
        .bind(event_id)
        .fetch_all(pool)
        .await?
    }))
}

/// Puts an event's finished deliveries to enabled endpoints back in the
/// queue, due at `now`; one still retrying is made due now. A delivery in
/// flight (leased) is left alone. Answers how many were queued.
///
/// The merchant asking for it is the signal that their server is back, so
/// where a circuit breaker has tripped on one of these endpoints, the resent
/// delivery becomes its next probe and goes at once, instead of after a
/// pause of up to ten minutes. The endpoint's other deliveries keep waiting
/// for that probe (at most [`RESEND_PROBE_HOLD_MS`]): an older retry the
/// server still refuses would otherwise go first and pause it again.
pub async fn resend(db: &Db, merchant_id: &str, event_id: &str, now: Millis) -> Result<u64> {
    let _turn = db.write_turn().await;
    Ok(on_db!(db, |pool| {
        let mut tx = pool.begin().await?;
        let queued: Vec<(String, String)> = sqlx::query_as(
            "UPDATE deliveries SET status = 'pending', next_attempt_ms = $1, lease_until_ms = NULL, lease_owner = NULL \
             WHERE event_id = $2 AND merchant_id = $3 AND NOT held \
               AND (lease_until_ms IS NULL OR lease_until_ms <= $1) \
               AND endpoint_id IN (SELECT id FROM endpoints WHERE enabled AND NOT deleted) \
             RETURNING id, endpoint_id",
        )
        .bind(now)
        .bind(event_id)
        .bind(merchant_id)
        .fetch_all(&mut *tx)
        .await?;
        // A tripped breaker is one with a pause set (see `health`).
        for (delivery_id, endpoint_id) in &queued {
            sqlx::query(
                "UPDATE endpoints SET breaker_until_ms = $1, probe_delivery_id = $2 \
                 WHERE id = $3 AND breaker_until_ms IS NOT NULL",
            )
            .bind(now + RESEND_PROBE_HOLD_MS)
            .bind(delivery_id)
            .bind(endpoint_id)
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        queued.len() as u64
    }))
}

const RECOVERABLE: &str = "FROM deliveries d JOIN events e ON e.id = d.event_id \
     WHERE d.endpoint_id = $1 AND d.merchant_id = $2 AND d.status = 'failed' AND NOT e.is_test \
       AND d.created_ms >= $3 AND d.created_ms < $4";

/// Failed deliveries (of real events) to the endpoint created in `[from, to)`.
pub async fn count_recoverable(
    db: &Db,
    merchant_id: &str,
    endpoint_id: &str,
    from_ms: Millis,
    to_ms: Millis,
) -> Result<i64> {
    let sql = format!("SELECT COUNT(*) {RECOVERABLE}");
    Ok(on_db!(db, |pool| {
        sqlx::query_scalar::<_, i64>(&sql)
            .bind(endpoint_id)
            .bind(merchant_id)
            .bind(from_ms)
            .bind(to_ms)
            .fetch_one(pool)
            .await?
    }))
}

/// Queues up to `limit` of those failed deliveries again, oldest first, the
/// n-th due at `now + n * spacing_ms` so the endpoint is not flooded.
#[allow(clippy::too_many_arguments)]
pub async fn recover(
    db: &Db,
    merchant_id: &str,
    endpoint_id: &str,
    from_ms: Millis,
    to_ms: Millis,
    now: Millis,
    spacing_ms: Millis,
    limit: i64,
) -> Result<u64> {
    let select = format!("SELECT d.id {RECOVERABLE} ORDER BY d.created_ms, d.id LIMIT $5");
    Ok(on_db!(db, |pool| {
        let mut tx = pool.begin().await?;
        let ids = sqlx::query_scalar::<_, String>(&select)
            .bind(endpoint_id)
            .bind(merchant_id)
            .bind(from_ms)
            .bind(to_ms)
            .bind(limit)
            .fetch_all(&mut *tx)
            .await?;
        let mut queued = 0;
        for (n, id) in ids.iter().enumerate() {
            queued += sqlx::query(
                "UPDATE deliveries SET status = 'pending', next_attempt_ms = $1, lease_until_ms = NULL, lease_owner = NULL \
                 WHERE id = $2 AND status = 'failed'",
            )
            .bind(now + n as i64 * spacing_ms)
            .bind(id)
            .execute(&mut *tx)
            .await?
            .rows_affected();
        }
        tx.commit().await?;
        queued
    }))
}
