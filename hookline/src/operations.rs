//! The operations overview for the onboarding team: traffic per minute,
//! failure rate, the queue by state, the oldest due delivery, the endpoints
//! failing most and those Hookline turned off, across every merchant of one
//! mode. Read from the database, so every node shows the same.

use crate::mode::Mode;
use serde::{Deserialize, Serialize};

/// Minutes in the traffic chart.
pub const MINUTES: usize = 60;

/// Attempts that started in one minute.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Minute {
    pub start_ms: i64,
    pub ok: i64,
    pub failed: i64,
}

/// Deliveries by state at the moment of reading.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Queue {
    /// Waiting for a worker now.
    pub due: i64,
    /// Waiting for a retry later.
    pub scheduled: i64,
    /// Leased by a node.
    pub in_flight: i64,
    /// Kept for a disabled endpoint.
    pub held: i64,
    pub succeeded: i64,
    pub failed: i64,
}

/// The delivery that has waited longest past its due time.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct OldestDue {
    pub delivery_id: String,
    pub event_id: String,
    pub merchant_id: String,
    pub business_name: String,
    pub endpoint_url: String,
    pub due_ms: i64,
}

/// An endpoint with failed attempts in the last hour.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct FailingEndpoint {
    pub endpoint_id: String,
    pub merchant_id: String,
    pub business_name: String,
    pub url: String,
    pub failures: i64,
    pub attempts: i64,
    pub consecutive_failures: i64,
}

/// An endpoint Hookline disabled (failing for too long, or 410 Gone).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DisabledEndpoint {
    pub endpoint_id: String,
    pub merchant_id: String,
    pub business_name: String,
    pub url: String,
    /// `failing` or `gone`.
    pub reason: String,
    pub since_ms: Option<i64>,
    pub held: i64,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Operations {
    pub mode: Mode,
    pub now_ms: i64,
    /// The last [`MINUTES`] minutes, oldest first; the current one last.
    pub minutes: Vec<Minute>,
    pub queue: Queue,
    pub oldest_due: Option<OldestDue>,
    pub failing: Vec<FailingEndpoint>,
    pub disabled: Vec<DisabledEndpoint>,
}

impl Operations {
    /// Successful attempts per minute over the last five whole minutes.
    pub fn delivered_per_minute(&self) -> f64 {
        let recent = self.whole_minutes(5);
        recent.iter().map(|m| m.ok).sum::<i64>() as f64 / recent.len().max(1) as f64
    }

    /// Attempts per minute over the last five whole minutes.
    pub fn attempts_per_minute(&self) -> f64 {
        let recent = self.whole_minutes(5);
        recent.iter().map(|m| m.ok + m.failed).sum::<i64>() as f64 / recent.len().max(1) as f64
    }

    /// Share of the last hour's attempts that failed, in percent.
    pub fn failure_rate(&self) -> Option<f64> {
        let failed: i64 = self.minutes.iter().map(|m| m.failed).sum();
        let total: i64 = self.minutes.iter().map(|m| m.ok + m.failed).sum::<i64>();
        (total > 0).then(|| failed as f64 * 100.0 / total as f64)
    }

    /// The `n` minutes before the current (partial) one.
    fn whole_minutes(&self, n: usize) -> &[Minute] {
        let end = self.minutes.len().saturating_sub(1);
        &self.minutes[end.saturating_sub(n)..end]
    }
}

#[cfg(feature = "runtime")]
pub use ops::*;

#[cfg(feature = "runtime")]
mod ops {
    use super::{DisabledEndpoint, FailingEndpoint, MINUTES, Minute, OldestDue, Operations, Queue};
    use crate::clock::Clock;
    use crate::error::Result;
    use crate::mode::Mode;
    use crate::on_db;
    use crate::store::Db;

    const MINUTE: i64 = 60_000;
    /// Rows in each list.
    pub const LISTED: i64 = 20;

    async fn minutes(db: &Db, mode: Mode, now: i64) -> Result<Vec<Minute>> {
        let first = (now.div_euclid(MINUTE) - (MINUTES as i64 - 1)) * MINUTE;
        let rows: Vec<(i64, i64, i64)> = on_db!(db, |pool| {
            sqlx::query_as::<_, (i64, i64, i64)>(
                "SELECT (a.started_ms - $2) / $3 AS bucket, \
                   CAST(CASE WHEN a.error_class IS NULL THEN 1 ELSE 0 END AS BIGINT) AS ok, COUNT(*) \
                 FROM attempts a JOIN endpoints e ON e.id = a.endpoint_id \
                 WHERE e.mode = $1 AND a.started_ms >= $2 GROUP BY 1, 2",
            )
            .bind(mode.as_str())
            .bind(first)
            .bind(MINUTE)
            .fetch_all(pool)
            .await?
        });
        let mut out: Vec<Minute> = (0..MINUTES as i64)
            .map(|i| Minute {
                start_ms: first + i * MINUTE,
                ..Minute::default()
            })
            .collect();
        for (bucket, ok, n) in rows {
            if let Some(m) = usize::try_from(bucket).ok().and_then(|b| out.get_mut(b)) {
                if ok == 1 {
                    m.ok += n;
                } else {
                    m.failed += n;
                }
            }
        }
        Ok(out)
    }

    async fn queue(db: &Db, mode: Mode, now: i64) -> Result<Queue> {
        let rows: Vec<(String, i64)> = on_db!(db, |pool| {
            sqlx::query_as::<_, (String, i64)>(
                "SELECT CASE WHEN d.status <> 'pending' THEN d.status \
                             WHEN d.held THEN 'held' \
                             WHEN d.lease_until_ms > $2 THEN 'in_flight' \
                             WHEN d.next_attempt_ms <= $2 THEN 'due' \
                             ELSE 'scheduled' END AS state, COUNT(*) \
                 FROM deliveries d JOIN endpoints e ON e.id = d.endpoint_id \
                 WHERE e.mode = $1 GROUP BY 1",
            )
            .bind(mode.as_str())
            .bind(now)
            .fetch_all(pool)
            .await?
        });
        let mut q = Queue::default();
        for (state, n) in rows {
            match state.as_str() {
                "due" => q.due = n,
                "scheduled" => q.scheduled = n,
                "in_flight" => q.in_flight = n,
                "held" => q.held = n,
                "succeeded" => q.succeeded = n,
                "failed" => q.failed = n,
                _ => {}
            }
        }
        Ok(q)
    }

    async fn oldest_due(db: &Db, mode: Mode, now: i64) -> Result<Option<OldestDue>> {
        type Row = (String, String, String, String, String, i64);
        let row: Option<Row> = on_db!(db, |pool| {
            sqlx::query_as::<_, Row>(
                "SELECT d.id, d.event_id, d.merchant_id, m.business_name, e.url, d.next_attempt_ms \
                 FROM deliveries d JOIN endpoints e ON e.id = d.endpoint_id JOIN merchants m ON m.id = d.merchant_id \
                 WHERE d.status = 'pending' AND d.next_attempt_ms <= $2 AND NOT d.held \
                   AND (d.lease_until_ms IS NULL OR d.lease_until_ms <= $2) AND e.mode = $1 \
                 ORDER BY d.next_attempt_ms, d.id LIMIT 1",
            )
            .bind(mode.as_str())
            .bind(now)
            .fetch_optional(pool)
            .await?
        });
        Ok(row.map(
            |(delivery_id, event_id, merchant_id, business_name, endpoint_url, due_ms)| OldestDue {
                delivery_id,
                event_id,
                merchant_id,
                business_name,
                endpoint_url,
                due_ms,
            },
        ))
    }

    async fn failing(db: &Db, mode: Mode, since: i64) -> Result<Vec<FailingEndpoint>> {
        type Row = (String, String, String, String, i64, i64, i64);
        let rows: Vec<Row> = on_db!(db, |pool| {
            sqlx::query_as::<_, Row>(
                "SELECT e.id, e.merchant_id, m.business_name, e.url, \
                   SUM(CASE WHEN a.error_class IS NULL THEN 0 ELSE 1 END) AS failures, COUNT(*), \
                   MAX(e.consecutive_failures) \
                 FROM attempts a JOIN endpoints e ON e.id = a.endpoint_id JOIN merchants m ON m.id = e.merchant_id \
                 WHERE e.mode = $1 AND a.started_ms >= $2 \
                 GROUP BY e.id, e.merchant_id, m.business_name, e.url \
                 HAVING SUM(CASE WHEN a.error_class IS NULL THEN 0 ELSE 1 END) > 0 \
                 ORDER BY failures DESC, e.id LIMIT $3",
            )
            .bind(mode.as_str())
            .bind(since)
            .bind(LISTED)
            .fetch_all(pool)
            .await?
        });
        Ok(rows
            .into_iter()
            .map(
                |(
                    endpoint_id,
                    merchant_id,
                    business_name,
                    url,
                    failures,
                    attempts,
                    consecutive,
                )| {
                    FailingEndpoint {
                        endpoint_id,
                        merchant_id,
                        business_name,
                        url,
                        failures,
                        attempts,
                        consecutive_failures: consecutive,
                    }
                },
            )
            .collect())
    }

    async fn disabled(db: &Db, mode: Mode) -> Result<Vec<DisabledEndpoint>> {
        type Row = (String, String, String, String, String, Option<i64>, i64);
        let rows: Vec<Row> = on_db!(db, |pool| {
            sqlx::query_as::<_, Row>(
                "SELECT e.id, e.merchant_id, m.business_name, e.url, e.disabled_reason, e.disabled_ms, \
                   (SELECT COUNT(*) FROM deliveries d WHERE d.endpoint_id = e.id AND d.held) \
                 FROM endpoints e JOIN merchants m ON m.id = e.merchant_id \
                 WHERE e.mode = $1 AND NOT e.deleted AND NOT e.enabled AND e.disabled_reason IN ('failing', 'gone') \
                 ORDER BY e.disabled_ms DESC, e.id LIMIT $2",
            )
            .bind(mode.as_str())
            .bind(LISTED)
            .fetch_all(pool)
            .await?
        });
        Ok(rows
            .into_iter()
            .map(
                |(endpoint_id, merchant_id, business_name, url, reason, since_ms, held)| {
                    DisabledEndpoint {
                        endpoint_id,
                        merchant_id,
                        business_name,
                        url,
                        reason,
                        since_ms,
                        held,
                    }
                },
            )
            .collect())
    }

    /// Reads the overview for one mode at the clock's time.
    pub async fn load(db: &Db, clock: &dyn Clock, mode: Mode) -> Result<Operations> {
        let now = clock.now_ms();
        Ok(Operations {
            mode,
            now_ms: now,
            minutes: minutes(db, mode, now).await?,
            queue: queue(db, mode, now).await?,
            oldest_due: oldest_due(db, mode, now).await?,
            failing: failing(db, mode, now - MINUTES as i64 * MINUTE).await?,
            disabled: disabled(db, mode).await?,
        })
    }
}
