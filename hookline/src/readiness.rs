//! The readiness check: four scenarios that show an endpoint is safe to go
//! live. It must take a correctly signed event, refuse a forged one, accept
//! the same `webhook-id` twice, and refuse a stale timestamp.

use serde::{Deserialize, Serialize};

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "runtime", derive(schemars::JsonSchema))]
#[serde(rename_all = "snake_case")]
pub enum Scenario {
    SignedEvent,
    WrongSignature,
    DuplicateId,
    StaleTimestamp,
}

impl Scenario {
    pub const ALL: [Scenario; 4] = [
        Scenario::SignedEvent,
        Scenario::WrongSignature,
        Scenario::DuplicateId,
        Scenario::StaleTimestamp,
    ];

    pub fn title(self) -> &'static str {
        match self {
            Scenario::SignedEvent => "Accepts a correctly signed event",
            Scenario::WrongSignature => "Rejects a wrong signature",
            Scenario::DuplicateId => "Accepts the same webhook-id twice",
            Scenario::StaleTimestamp => "Rejects a stale timestamp",
        }
    }

    pub fn expectation(self) -> &'static str {
        match self {
            Scenario::SignedEvent => "A 2xx answer within the delivery timeout.",
            Scenario::WrongSignature => {
                "A 4xx answer: your server verifies webhook-signature and refuses forgeries."
            }
            Scenario::DuplicateId => {
                "2xx both times: retries reuse the webhook-id, so handle it idempotently."
            }
            Scenario::StaleTimestamp => {
                "A 4xx answer to a webhook-timestamp 10 minutes old: replayed messages are refused."
            }
        }
    }
}

/// One scenario's outcome.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "runtime", derive(schemars::JsonSchema))]
pub struct ScenarioResult {
    pub scenario: Scenario,
    pub passed: bool,
    /// What happened, in words ("answered 401 in 12 ms").
    pub detail: String,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "runtime", derive(schemars::JsonSchema))]
pub struct ReadinessReport {
    pub endpoint_id: String,
    pub url: String,
    pub passed: bool,
    pub checked_ms: i64,
    pub results: Vec<ScenarioResult>,
}

#[cfg(feature = "runtime")]
pub use ops::*;

#[cfg(feature = "runtime")]
mod ops {
    use super::ReadinessReport;
    use crate::error::{Error, Result};
    use crate::ids;
    use crate::mode::Mode;
    use crate::on_db;
    use crate::store::Db;

    pub async fn record(
        db: &Db,
        merchant_id: &str,
        mode: Mode,
        report: &ReadinessReport,
    ) -> Result<()> {
        let json = serde_json::to_string(report).map_err(|e| Error::Internal(e.to_string()))?;
        on_db!(db, |pool| {
            sqlx::query(
                "INSERT INTO readiness_checks (id, merchant_id, endpoint_id, mode, url, passed, checked_ms, report) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
            )
            .bind(ids::readiness_id())
            .bind(merchant_id)
            .bind(&report.endpoint_id)
            .bind(mode.as_str())
            .bind(&report.url)
            .bind(report.passed)
            .bind(report.checked_ms)
            .bind(&json)
            .execute(pool)
            .await?;
        });
        Ok(())
    }

    /// The endpoint's latest check, if it had one.
    pub async fn latest(db: &Db, endpoint_id: &str) -> Result<Option<ReadinessReport>> {
        let json: Option<String> = on_db!(db, |pool| {
            sqlx::query_scalar::<_, String>(
                "SELECT report FROM readiness_checks WHERE endpoint_id = $1 ORDER BY checked_ms DESC, id DESC LIMIT 1",
            )
            .bind(endpoint_id)
            .fetch_optional(pool)
            .await?
        });
        json.map(|j| serde_json::from_str(&j).map_err(|e| Error::Internal(e.to_string())))
            .transpose()
    }

    /// Whether `url` passed a readiness check on one of the merchant's sandbox
    /// endpoints: the condition for enabling a live endpoint with that URL.
    pub async fn passed_in_sandbox(db: &Db, merchant_id: &str, url: &str) -> Result<bool> {
        Ok(on_db!(db, |pool| {
            sqlx::query_scalar::<_, i64>(
                "SELECT COUNT(*) FROM readiness_checks \
                 WHERE merchant_id = $1 AND url = $2 AND mode = 'sandbox' AND passed",
            )
            .bind(merchant_id)
            .bind(url)
            .fetch_one(pool)
            .await?
                > 0
        }))
    }
}
