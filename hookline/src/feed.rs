//! The reconciliation feed: a merchant's events in a stable order behind an
//! opaque cursor, each with how its deliveries went, so a merchant whose
//! server was down can fetch everything it missed without gaps or repeats.
//!
//! Event ids and creation times are not enough for that: two publishes in
//! flight at once can commit in the other order, and a reader between the
//! two commits would skip one for good. So events get a feed number after
//! they commit, from one serialized step that every read runs first: a
//! number handed out later is always higher, and a reader that has seen N
//! never later finds an event below N.

use crate::events::EventType;
use crate::mode::Mode;
use serde::{Deserialize, Serialize};

/// Events per page unless the caller asks for fewer or more.
pub const DEFAULT_LIMIT: i64 = 100;
pub const MAX_LIMIT: i64 = 500;

/// How one delivery of a feed event went.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "runtime", derive(schemars::JsonSchema))]
pub struct FeedDelivery {
    pub endpoint_id: String,
    /// `pending`, `held`, `succeeded` or `failed`.
    pub status: String,
    pub succeeded: bool,
    pub attempts: i64,
}

/// One event of the feed.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "runtime", derive(schemars::JsonSchema))]
pub struct FeedEvent {
    pub id: String,
    #[serde(rename = "type")]
    pub event_type: EventType,
    pub mode: Mode,
    /// The transaction, payout or refund the event is about.
    pub resource_id: String,
    /// Milliseconds since the Unix epoch.
    pub created_ms: i64,
    /// The event's data in the newest payload version.
    pub data: serde_json::Value,
    pub deliveries: Vec<FeedDelivery>,
}

/// A page of the feed. `next` is the cursor to pass as `after`; it is set
/// even on the last page, so a poller keeps it and asks again later.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "runtime", derive(schemars::JsonSchema))]
pub struct FeedPage {
    pub data: Vec<FeedEvent>,
    pub next: String,
    /// True when more events are waiting right now.
    pub has_more: bool,
}

/// The cursor for feed number `seq`.
pub fn encode_cursor(seq: i64) -> String {
    format!("fc_{seq:x}")
}

/// The feed number a cursor stands for; `None` if it was not made here.
pub fn decode_cursor(raw: &str) -> Option<i64> {
    let hex = raw.strip_prefix("fc_")?;
    if hex.is_empty() || hex.len() > 16 {
        return None;
    }
    i64::from_str_radix(hex, 16).ok().filter(|n| *n >= 0)
}

#[cfg(feature = "runtime")]
pub use ops::*;

#[cfg(feature = "runtime")]
mod ops {
    use super::{
        DEFAULT_LIMIT, FeedDelivery, FeedEvent, FeedPage, MAX_LIMIT, decode_cursor, encode_cursor,
    };
    use crate::error::{Error, Result};
    use crate::mode::Mode;
    use crate::on_db;
    use crate::store::Db;
    use crate::validation::FieldErrors;

    /// Events numbered per step.
    const STEP: i64 = 5000;

    /// Numbers every committed event that has none yet, in creation order,
    /// above every number handed out so far (kept in `feed_counter`, as the
    /// events that had them may have been purged). Serialized: PostgreSQL
    /// by an advisory lock, SQLite by its single writer.
    pub async fn sequence(db: &Db) -> Result<u64> {
        const NUMBER: &str = "UPDATE events SET feed_seq = s.n FROM ( \
               SELECT id, (SELECT last_seq FROM feed_counter WHERE id = 1) \
                 + ROW_NUMBER() OVER (ORDER BY created_ms, id) AS n \
               FROM events WHERE feed_seq IS NULL ORDER BY created_ms, id LIMIT $1) s \
             WHERE events.id = s.id";
        const COUNT: &str = "UPDATE feed_counter SET last_seq = last_seq + $1 WHERE id = 1";
        let mut total = 0;
        loop {
            let _turn = db.write_turn().await;
            let n = on_db!(db, |pool| {
                let mut tx = pool.begin().await?;
                if let Db::Postgres(_) = db {
                    sqlx::query("SELECT pg_advisory_xact_lock(7042113)")
                        .execute(&mut *tx)
                        .await?;
                }
                let n = sqlx::query(NUMBER)
                    .bind(STEP)
                    .execute(&mut *tx)
                    .await?
                    .rows_affected();
                if n > 0 {
                    sqlx::query(COUNT).bind(n as i64).execute(&mut *tx).await?;
                }
                tx.commit().await?;
                n
            });
            total += n;
            if n < STEP as u64 {
                return Ok(total);
            }
        }
    }

    /// The merchant's events in `mode` after `after` (a cursor, or empty
    /// for the beginning), at most `limit`. Test events are left out.
    pub async fn page(
        db: &Db,
        merchant_id: &str,
        mode: Mode,
        after: &str,
        limit: Option<i64>,
    ) -> Result<FeedPage> {
        let mut errors = FieldErrors::new();
        let from = if after.is_empty() {
            0
        } else {
            decode_cursor(after).unwrap_or_else(|| {
                errors.add(
                    "after",
                    "This cursor was not issued by the feed; pass the `next` value of a page.",
                );
                0
            })
        };
        let limit = limit.unwrap_or(DEFAULT_LIMIT);
        if !(1..=MAX_LIMIT).contains(&limit) {
            errors.add("limit", format!("Ask for 1 to {MAX_LIMIT} events."));
        }
        errors.into_result(())?;
        sequence(db).await?;
        type Row = (String, String, String, i64, String, i64);
        let rows: Vec<Row> = on_db!(db, |pool| {
            sqlx::query_as::<_, Row>(
                "SELECT e.id, e.event_type, e.resource_id, e.created_ms, e.data, e.feed_seq \
                 FROM events e WHERE e.merchant_id = $1 AND e.mode = $2 AND e.feed_seq > $3 AND NOT e.is_test \
                 ORDER BY e.feed_seq LIMIT $4",
            )
            .bind(merchant_id)
            .bind(mode.as_str())
            .bind(from)
            .bind(limit + 1)
            .fetch_all(pool)
            .await?
        });
        let has_more = rows.len() as i64 > limit;
        let rows: Vec<Row> = rows.into_iter().take(limit as usize).collect();
        let next = encode_cursor(rows.last().map_or(from, |r| r.5));
        let ids: Vec<String> = rows.iter().map(|r| r.0.clone()).collect();
        let deliveries = deliveries_of(db, &ids).await?;
        let mut data = Vec::with_capacity(rows.len());
        for (id, event_type, resource_id, created_ms, body, _) in rows {
            data.push(FeedEvent {
                deliveries: deliveries
                    .iter()
                    .filter(|(event, _)| *event == id)
                    .map(|(_, d)| d.clone())
                    .collect(),
                event_type: event_type.parse().map_err(Error::Internal)?,
                mode,
                resource_id,
                created_ms,
                data: serde_json::from_str(&body)
                    .map_err(|e| Error::Internal(format!("event {id} data: {e}")))?,
                id,
            });
        }
        Ok(FeedPage {
            data,
            next,
            has_more,
        })
    }

    async fn deliveries_of(db: &Db, event_ids: &[String]) -> Result<Vec<(String, FeedDelivery)>> {
        let mut out = Vec::new();
        // One query per chunk keeps the parameter list short on both backends.
        for chunk in event_ids.chunks(100) {
            let marks: Vec<String> = (1..=chunk.len()).map(|i| format!("${i}")).collect();
            let sql = format!(
                "SELECT event_id, endpoint_id, status, held, attempts FROM deliveries \
                 WHERE event_id IN ({}) ORDER BY event_id, endpoint_id",
                marks.join(", ")
            );
            let rows: Vec<(String, String, String, bool, i64)> = on_db!(db, |pool| {
                let mut q = sqlx::query_as::<_, (String, String, String, bool, i64)>(&sql);
                for id in chunk {
                    q = q.bind(id);
                }
                q.fetch_all(pool).await?
            });
            out.extend(
                rows.into_iter()
                    .map(|(event, endpoint_id, status, held, attempts)| {
                        let status = if status == "pending" && held {
                            "held".to_owned()
                        } else {
                            status
                        };
                        (
                            event,
                            FeedDelivery {
                                endpoint_id,
                                succeeded: status == "succeeded",
                                status,
                                attempts,
                            },
                        )
                    }),
            );
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::{decode_cursor, encode_cursor};

    #[test]
    fn cursors_round_trip_and_refuse_strangers() {
        for n in [0, 1, 255, i64::MAX] {
            assert_eq!(decode_cursor(&encode_cursor(n)), Some(n));
        }
        for bad in ["", "fc_", "42", "fc_zz", "fc_ffffffffffffffffff", "fc_-1"] {
            assert_eq!(decode_cursor(bad), None, "{bad}");
        }
    }
}
