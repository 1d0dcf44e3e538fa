//! The merchant's dashboard for one mode: traffic and success over the last
//! day and week, latency, attempts by outcome per hour, the endpoints that
//! need attention, and notices.

use crate::endpoint::EndpointSummary;
use crate::mode::Mode;
use serde::{Deserialize, Serialize};

/// Hours in the chart.
pub const CHART_HOURS: usize = 24;

/// Numbers for one time window.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Window {
    /// Deliveries created in the window (one per event and endpoint), and
    /// how many of them have succeeded.
    pub deliveries: i64,
    pub delivered: i64,
    /// Attempts made in the window, and how many got a 2xx.
    pub attempts: i64,
    pub attempts_ok: i64,
    pub p50_ms: Option<i64>,
    pub p95_ms: Option<i64>,
}

impl Window {
    /// Share of attempts that succeeded, in percent.
    pub fn success_rate(&self) -> Option<f64> {
        (self.attempts > 0).then(|| self.attempts_ok as f64 * 100.0 / self.attempts as f64)
    }
}

/// Attempts in one hour of the chart, by outcome.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Bar {
    /// Start of the hour.
    pub start_ms: i64,
    /// Answered 2xx.
    pub delivered: i64,
    /// Answered with another status.
    pub rejected: i64,
    /// No answer: timeout, connection, TLS, DNS, or a refused destination.
    pub unreachable: i64,
}

impl Bar {
    pub fn total(&self) -> i64 {
        self.delivered + self.rejected + self.unreachable
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum NoticeKind {
    AutoDisabled,
    ReadinessFailed,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Notice {
    pub kind: NoticeKind,
    pub message: String,
    /// Where to act on it.
    pub link: String,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Dashboard {
    pub mode: Mode,
    pub now_ms: i64,
    pub day: Window,
    pub week: Window,
    /// The last [`CHART_HOURS`] hours, oldest first.
    pub chart: Vec<Bar>,
    /// Endpoints that are off or failing.
    pub attention: Vec<EndpointSummary>,
    pub notices: Vec<Notice>,
    /// Format-change and maintenance notices from the onboarding team that
    /// the merchant has not acknowledged yet.
    pub announcements: Vec<crate::notices::MerchantNotice>,
    pub endpoint_count: usize,
}

#[cfg(feature = "runtime")]
pub use ops::*;

#[cfg(feature = "runtime")]
mod ops {
    use super::{Bar, CHART_HOURS, Dashboard, Notice, NoticeKind, Window};
    use crate::clock::Clock;
    use crate::endpoint::{EndpointStatus, HealthBadge};
    use crate::endpoints;
    use crate::error::Result;
    use crate::mode::Mode;
    use crate::on_db;
    use crate::store::Db;

    const HOUR: i64 = 3_600_000;

    /// The 1-based rank of quantile `q` among `n` sorted values (nearest
    /// rank); none of no values.
    pub fn nearest_rank(n: i64, q: f64) -> Option<i64> {
        (n > 0).then(|| ((q * n as f64).ceil() as i64).clamp(1, n))
    }

    async fn window(db: &Db, merchant_id: &str, mode: Mode, since: i64) -> Result<Window> {
        // The percentiles are read one value each from the sorted latencies
        // in the database: a busy merchant's week is millions of attempts,
        // too many to bring into the server for two numbers.
        const ATTEMPTS: &str = "FROM attempts a JOIN endpoints e ON e.id = a.endpoint_id \
             WHERE e.merchant_id = $1 AND e.mode = $2 AND a.started_ms >= $3";
        let count = format!(
            "SELECT COUNT(*), COALESCE(SUM(CASE WHEN a.error_class IS NULL THEN 1 ELSE 0 END), 0) {ATTEMPTS}"
        );
        let at_rank =
            format!("SELECT a.latency_ms {ATTEMPTS} ORDER BY a.latency_ms LIMIT 1 OFFSET $4");
        on_db!(db, |pool| {
            let (deliveries, delivered) = sqlx::query_as::<_, (i64, i64)>(
                "SELECT COUNT(*), COALESCE(SUM(CASE WHEN d.status = 'succeeded' THEN 1 ELSE 0 END), 0) \
                 FROM deliveries d JOIN endpoints e ON e.id = d.endpoint_id \
                 WHERE d.merchant_id = $1 AND e.mode = $2 AND d.created_ms >= $3",
            )
            .bind(merchant_id)
            .bind(mode.as_str())
            .bind(since)
            .fetch_one(pool)
            .await?;
            let (attempts, attempts_ok) = sqlx::query_as::<_, (i64, i64)>(&count)
                .bind(merchant_id)
                .bind(mode.as_str())
                .bind(since)
                .fetch_one(pool)
                .await?;
            let mut quantiles = [None, None];
            for (q, value) in [0.50, 0.95].into_iter().zip(quantiles.iter_mut()) {
                if let Some(rank) = nearest_rank(attempts, q) {
                    *value = sqlx::query_scalar::<_, i64>(&at_rank)
                        .bind(merchant_id)
                        .bind(mode.as_str())
                        .bind(since)
                        .bind(rank - 1)
                        .fetch_optional(pool)
                        .await?;
                }
            }
            Ok(Window {
                deliveries,
                delivered,
                attempts,
                attempts_ok,
                p50_ms: quantiles[0],
                p95_ms: quantiles[1],
            })
        })
    }

    async fn chart(db: &Db, merchant_id: &str, mode: Mode, now: i64) -> Result<Vec<Bar>> {
        // Whole hours, the current one last.
        let first = (now.div_euclid(HOUR) - (CHART_HOURS as i64 - 1)) * HOUR;
        let rows: Vec<(i64, String, i64)> = on_db!(db, |pool| {
            sqlx::query_as::<_, (i64, String, i64)>(
                "SELECT (a.started_ms - $3) / $4 AS bucket, \
                   CASE WHEN a.error_class IS NULL THEN 'delivered' \
                        WHEN a.error_class = 'http_status' OR a.error_class = 'endpoint_gone' THEN 'rejected' \
                        ELSE 'unreachable' END AS outcome, \
                   COUNT(*) \
                 FROM attempts a JOIN endpoints e ON e.id = a.endpoint_id \
                 WHERE e.merchant_id = $1 AND e.mode = $2 AND a.started_ms >= $3 \
                 GROUP BY bucket, outcome",
            )
            .bind(merchant_id)
            .bind(mode.as_str())
            .bind(first)
            .bind(HOUR)
            .fetch_all(pool)
            .await?
        });
        let mut bars: Vec<Bar> = (0..CHART_HOURS as i64)
            .map(|i| Bar {
                start_ms: first + i * HOUR,
                ..Bar::default()
            })
            .collect();
        for (bucket, outcome, n) in rows {
            let Some(bar) = usize::try_from(bucket).ok().and_then(|b| bars.get_mut(b)) else {
                continue;
            };
            match outcome.as_str() {
                "delivered" => bar.delivered += n,
                "rejected" => bar.rejected += n,
                _ => bar.unreachable += n,
            }
        }
        Ok(bars)
    }

    pub async fn load(
        db: &Db,
        clock: &dyn Clock,
        merchant_id: &str,
        mode: Mode,
    ) -> Result<Dashboard> {
        let now = clock.now_ms();
        let overview = endpoints::overview(db, clock, merchant_id, mode).await?;
        let mut notices = Vec::new();
        for s in &overview {
            let link = format!("/endpoints/{}", s.endpoint.id);
            if s.status == EndpointStatus::AutoDisabled {
                notices.push(Notice {
                    kind: NoticeKind::AutoDisabled,
                    message: format!(
                        "{} was disabled by Hookline; {} event(s) are held for it.",
                        s.endpoint.url, s.held
                    ),
                    link: link.clone(),
                });
            }
            if let Some(report) = crate::readiness::latest(db, &s.endpoint.id).await?
                && !report.passed
            {
                notices.push(Notice {
                    kind: NoticeKind::ReadinessFailed,
                    message: format!("{} did not pass its last readiness check.", s.endpoint.url),
                    link,
                });
            }
        }
        let endpoint_count = overview.len();
        let attention = overview
            .into_iter()
            .filter(|s| s.status != EndpointStatus::Enabled || s.health != HealthBadge::Healthy)
            .collect();
        Ok(Dashboard {
            mode,
            now_ms: now,
            day: window(db, merchant_id, mode, now - 24 * HOUR).await?,
            week: window(db, merchant_id, mode, now - 7 * 24 * HOUR).await?,
            chart: chart(db, merchant_id, mode, now).await?,
            attention,
            notices,
            announcements: crate::notices::open_for(db, merchant_id, mode).await?,
            endpoint_count,
        })
    }

    #[cfg(test)]
    mod tests {
        use super::nearest_rank;

        #[test]
        fn nearest_rank_percentiles() {
            assert_eq!(nearest_rank(0, 0.5), None);
            assert_eq!(nearest_rank(1, 0.95), Some(1));
            assert_eq!(nearest_rank(100, 0.50), Some(50));
            assert_eq!(nearest_rank(100, 0.95), Some(95));
            assert_eq!(nearest_rank(3, 0.5), Some(2));
            assert_eq!(nearest_rank(3, 0.95), Some(3));
        }
    }
}
