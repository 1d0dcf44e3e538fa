//! Balance threshold warnings, on request: a merchant asks for the
//! `balance.threshold_warning` event with a threshold; the onboarding team
//! approves or denies; once approved, endpoints may subscribe to it.

use crate::events::{Currency, Money};
use crate::mode::Mode;
use crate::validation::FieldErrors;
use serde::{Deserialize, Serialize};

/// The largest threshold accepted, in minor units.
pub const MAX_THRESHOLD_MINOR: i64 = 1_000_000_000_000;

/// Digits after the decimal point in a currency's minor unit (ISO 4217).
pub fn minor_digits(currency: &str) -> u32 {
    match currency {
        "BIF" | "CLP" | "DJF" | "GNF" | "ISK" | "JPY" | "KMF" | "KRW" | "PYG" | "RWF" | "UGX"
        | "VND" | "VUV" | "XAF" | "XOF" | "XPF" => 0,
        "BHD" | "IQD" | "JOD" | "KWD" | "LYD" | "OMR" | "TND" => 3,
        _ => 2,
    }
}

/// `1250.5` EUR as 125050 minor units; `None` if not a plain positive decimal
/// with at most the currency's digits.
pub fn parse_amount(raw: &str, digits: u32) -> Option<i64> {
    let raw = raw.trim();
    let (whole, fraction) = raw.split_once('.').unwrap_or((raw, ""));
    let plain = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
    if whole.is_empty() || !plain(whole) || !plain(fraction) || fraction.len() > digits as usize {
        return None;
    }
    if raw.contains('.') && fraction.is_empty() {
        return None;
    }
    let whole: i64 = whole.parse().ok()?;
    let padded = format!("{fraction:0<width$}", width = digits as usize);
    let fraction: i64 = if padded.is_empty() {
        0
    } else {
        padded.parse().ok()?
    };
    whole.checked_mul(10_i64.pow(digits))?.checked_add(fraction)
}

/// `125050` EUR minor units as `1250.50 EUR`.
pub fn format_money(money: &Money) -> String {
    let digits = minor_digits(money.currency.as_str());
    if digits == 0 {
        return format!("{} {}", money.value, money.currency);
    }
    let unit = 10_i64.pow(digits);
    format!(
        "{}.{:0width$} {}",
        money.value / unit,
        money.value % unit,
        money.currency,
        width = digits as usize
    )
}

/// What the request form sends.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct BalanceRequestInput {
    /// In major units: `1000` or `1000.50`.
    pub threshold: String,
    pub currency: String,
}

impl BalanceRequestInput {
    pub fn validate(&self) -> Result<Money, FieldErrors> {
        let mut errors = FieldErrors::new();
        let code = self.currency.trim().to_ascii_uppercase();
        let currency = Currency::parse(&code)
            .map_err(|m| errors.add("currency", m))
            .ok();
        let digits = minor_digits(&code);
        let value = match parse_amount(&self.threshold, digits) {
            Some(v) if v > 0 && v <= MAX_THRESHOLD_MINOR => Some(v),
            Some(_) => {
                // The cap is in minor units, so in whole units it depends on the currency.
                let most = MAX_THRESHOLD_MINOR / 10_i64.pow(digits);
                errors.add(
                    "threshold",
                    format!("Enter an amount above zero and at most {most}."),
                );
                None
            }
            None if self.threshold.trim().is_empty() => {
                errors.add(
                    "threshold",
                    "Enter the balance below which you want a warning.",
                );
                None
            }
            None => {
                errors.add(
                    "threshold",
                    match digits {
                        0 => "Enter a whole amount such as 1000.".to_owned(),
                        d => format!(
                            "Enter an amount such as 1000 or 1000.{}.",
                            "5".repeat(d as usize)
                        ),
                    },
                );
                None
            }
        };
        match (value, currency) {
            (Some(value), Some(currency)) if errors.is_empty() => Ok(Money { value, currency }),
            _ => Err(errors),
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RequestStatus {
    Pending,
    Approved,
    Denied,
}

impl RequestStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            RequestStatus::Pending => "pending",
            RequestStatus::Approved => "approved",
            RequestStatus::Denied => "denied",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            RequestStatus::Pending => "Pending review",
            RequestStatus::Approved => "Approved",
            RequestStatus::Denied => "Denied",
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct BalanceRequest {
    pub id: String,
    pub mode: Mode,
    pub threshold: Money,
    pub status: RequestStatus,
    pub requested_ms: i64,
    pub decided_ms: Option<i64>,
    pub note: String,
}

/// A balance reading the platform publishes.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Snapshot {
    pub merchant_id: String,
    pub mode: Mode,
    pub currency: Currency,
    /// Available balance in minor units; may be negative.
    pub available: i64,
    /// The platform's id for the balance, copied into the event.
    #[serde(default)]
    pub balance_id: Option<String>,
}

/// What a snapshot did to the merchant's warning.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(tag = "outcome", rename_all = "snake_case")]
pub enum Observed {
    /// The merchant has no approved request in that mode and currency.
    NotWatched,
    /// Nothing crossed.
    Unchanged { armed: bool },
    /// The balance fell below the threshold: a warning event was published.
    Warned { event_id: String },
    /// The balance rose back above the threshold plus the margin.
    Rearmed,
}

#[cfg(feature = "runtime")]
pub use ops::*;

#[cfg(feature = "runtime")]
mod ops {
    use super::{BalanceRequest, BalanceRequestInput, RequestStatus};
    use crate::clock::Clock;
    use crate::error::{Error, Result};
    use crate::events::{Currency, Money};
    use crate::ids;
    use crate::mode::Mode;
    use crate::on_db;
    use crate::store::Db;
    use crate::validation::FieldErrors;

    type Row = (
        String,
        String,
        i64,
        String,
        String,
        i64,
        Option<i64>,
        String,
    );

    fn view(r: Row) -> Result<BalanceRequest> {
        let (id, mode, value, currency, status, requested_ms, decided_ms, note) = r;
        Ok(BalanceRequest {
            id,
            mode: mode.parse().map_err(Error::Internal)?,
            threshold: Money {
                value,
                currency: Currency::parse(&currency).map_err(Error::Internal)?,
            },
            status: match status.as_str() {
                "pending" => RequestStatus::Pending,
                "approved" => RequestStatus::Approved,
                "denied" => RequestStatus::Denied,
                other => return Err(Error::Internal(format!("unknown request status {other}"))),
            },
            requested_ms,
            decided_ms,
            note,
        })
    }

    /// The merchant's requests in `mode`, newest first.
    pub async fn list(db: &Db, merchant_id: &str, mode: Mode) -> Result<Vec<BalanceRequest>> {
        let rows: Vec<Row> = on_db!(db, |pool| {
            sqlx::query_as::<_, Row>(
                "SELECT id, mode, threshold_value, currency, status, requested_ms, decided_ms, note \
                 FROM balance_requests WHERE merchant_id = $1 AND mode = $2 ORDER BY requested_ms DESC, id DESC",
            )
            .bind(merchant_id)
            .bind(mode.as_str())
            .fetch_all(pool)
            .await?
        });
        rows.into_iter().map(view).collect()
    }

    /// Files a request. One may be pending at a time; an approved merchant
    /// may ask again to change its threshold.
    pub async fn request(
        db: &Db,
        clock: &dyn Clock,
        merchant_id: &str,
        mode: Mode,
        input: &BalanceRequestInput,
    ) -> Result<BalanceRequest> {
        let threshold = input.validate()?;
        let id = ids::balance_request_id();
        // The unique index on pending requests decides between two sent at once.
        let filed = on_db!(db, |pool| {
            sqlx::query(
                "INSERT INTO balance_requests (id, merchant_id, mode, threshold_value, currency, status, requested_ms) \
                 VALUES ($1, $2, $3, $4, $5, 'pending', $6) \
                 ON CONFLICT (merchant_id, mode) WHERE status = 'pending' DO NOTHING",
            )
            .bind(&id)
            .bind(merchant_id)
            .bind(mode.as_str())
            .bind(threshold.value)
            .bind(threshold.currency.as_str())
            .bind(clock.now_ms())
            .execute(pool)
            .await?
            .rows_affected()
        });
        if filed == 0 {
            return Err(Error::Validation(FieldErrors::single(
                "threshold",
                "A request is already waiting for review; you will see the answer here.",
            )));
        }
        list(db, merchant_id, mode)
            .await?
            .into_iter()
            .find(|r| r.id == id)
            .ok_or(Error::NotFound)
    }

    /// The onboarding team's answer to a pending request. Answers the
    /// merchant it belongs to.
    pub async fn decide(
        db: &Db,
        clock: &dyn Clock,
        request_id: &str,
        approve: bool,
        note: &str,
    ) -> Result<String> {
        let status = if approve { "approved" } else { "denied" };
        let merchant = on_db!(db, |pool| {
            sqlx::query_scalar::<_, String>(
                "UPDATE balance_requests SET status = $1, decided_ms = $2, note = $3 \
                 WHERE id = $4 AND status = 'pending' RETURNING merchant_id",
            )
            .bind(status)
            .bind(clock.now_ms())
            .bind(note.trim())
            .bind(request_id)
            .fetch_optional(pool)
            .await?
        });
        if let Some(merchant) = merchant {
            return Ok(merchant);
        }
        // Decided already (by another admin, or a second click): say so,
        // rather than that the request does not exist.
        let decided = on_db!(db, |pool| {
            sqlx::query_scalar::<_, String>("SELECT status FROM balance_requests WHERE id = $1")
                .bind(request_id)
                .fetch_optional(pool)
                .await?
        });
        match decided {
            Some(status) => Err(Error::Validation(FieldErrors::single(
                "decision",
                format!("This request was {status} already."),
            ))),
            None => Err(Error::NotFound),
        }
    }

    /// Requests waiting for the onboarding team, oldest first, with the
    /// merchant's id and business name.
    pub async fn pending(db: &Db) -> Result<Vec<(String, String, BalanceRequest)>> {
        type Pending = (
            String,
            String,
            String,
            String,
            i64,
            String,
            String,
            i64,
            Option<i64>,
            String,
        );
        let rows: Vec<Pending> = on_db!(db, |pool| {
            sqlx::query_as::<_, Pending>(
                "SELECT b.merchant_id, m.business_name, b.id, b.mode, b.threshold_value, b.currency, b.status, \
                   b.requested_ms, b.decided_ms, b.note \
                 FROM balance_requests b JOIN merchants m ON m.id = b.merchant_id \
                 WHERE b.status = 'pending' ORDER BY b.requested_ms, b.id",
            )
            .fetch_all(pool)
            .await?
        });
        rows.into_iter()
            .map(
                |(
                    merchant_id,
                    name,
                    id,
                    mode,
                    value,
                    currency,
                    status,
                    requested_ms,
                    decided_ms,
                    note,
                )| {
                    Ok((
                        merchant_id,
                        name,
                        view((
                            id,
                            mode,
                            value,
                            currency,
                            status,
                            requested_ms,
                            decided_ms,
                            note,
                        ))?,
                    ))
                },
            )
            .collect()
    }

    /// The threshold of the merchant's latest approved request in `mode`.
    async fn threshold(db: &Db, merchant_id: &str, mode: Mode) -> Result<Option<Money>> {
        Ok(list(db, merchant_id, mode)
            .await?
            .into_iter()
            .find(|r| r.status == RequestStatus::Approved)
            .map(|r| r.threshold))
    }

    /// Applies one balance snapshot: publishes `balance.threshold_warning`
    /// once per crossing below the approved threshold, and re-arms only when
    /// the balance is back above the threshold plus `rearm_percent`.
    pub async fn observe(
        db: &Db,
        clock: &dyn Clock,
        snapshot: &super::Snapshot,
        rearm_percent: u32,
    ) -> Result<super::Observed> {
        use super::Observed;
        // Checked whether or not this snapshot warns, so a bad one is
        // refused the same way every time, not only on the day it crosses.
        if let Some(problem) = snapshot
            .balance_id
            .as_deref()
            .and_then(crate::events::id_problem)
        {
            return Err(Error::Validation(FieldErrors::single(
                "balance_id",
                problem,
            )));
        }
        if !crate::store::events::merchant_exists(db, &snapshot.merchant_id).await? {
            return Err(Error::Validation(FieldErrors::single(
                "merchant_id",
                format!("no merchant has the id `{}`", snapshot.merchant_id),
            )));
        }
        let Some(threshold) = threshold(db, &snapshot.merchant_id, snapshot.mode)
            .await?
            .filter(|t| t.currency == snapshot.currency)
        else {
            return Ok(Observed::NotWatched);
        };
        let now = clock.now_ms();
        let (merchant, mode, currency) = (
            snapshot.merchant_id.as_str(),
            snapshot.mode.as_str(),
            snapshot.currency.as_str(),
        );
        let rearm_at = threshold.value + threshold.value.abs() * i64::from(rearm_percent) / 100;
        // The warning this snapshot would send, and the key it is stored
        // under: both kept with the disarmed watch until the event is stored.
        let at = crate::events::Timestamp::from_unix_ms(now);
        let data = serde_json::json!({
            "balance_id": snapshot.balance_id.clone().unwrap_or_else(|| format!("bal_{}_{}", mode, currency.to_lowercase())),
            "available": { "value": snapshot.available, "currency": currency },
            "threshold": { "value": threshold.value, "currency": threshold.currency.as_str() },
            "response": { "code": "below_threshold", "message": "Available balance is below your threshold" },
            "observed_at": at.as_str(),
        })
        .to_string();
        // Unique to this crossing (two crossings can share a millisecond).
        let key = format!("balance-warning:{}", crate::ids::event_id());
        // Exactly one caller flips the state, so concurrent snapshots on
        // several nodes warn once. A watch that still owes a warning is not
        // re-armed until the warning is stored.
        let (warn, rearm, armed, owed) = on_db!(db, |pool| {
            sqlx::query(
                "INSERT INTO balance_watch (merchant_id, mode, currency, armed, last_available, updated_ms) \
                 VALUES ($1, $2, $3, TRUE, $4, $5) ON CONFLICT (merchant_id, mode, currency) DO NOTHING",
            )
            .bind(merchant)
            .bind(mode)
            .bind(currency)
            .bind(snapshot.available)
            .bind(now)
            .execute(pool)
            .await?;
            let warn = sqlx::query(
                "UPDATE balance_watch SET armed = FALSE, last_available = $4, updated_ms = $5, \
                   owed_data = $7, owed_key = $8 \
                 WHERE merchant_id = $1 AND mode = $2 AND currency = $3 AND armed AND $4 < $6",
            )
            .bind(merchant)
            .bind(mode)
            .bind(currency)
            .bind(snapshot.available)
            .bind(now)
            .bind(threshold.value)
            .bind(&data)
            .bind(&key)
            .execute(pool)
            .await?
            .rows_affected()
                == 1;
            let rearm = !warn
                && sqlx::query(
                    "UPDATE balance_watch SET armed = TRUE, last_available = $4, updated_ms = $5 \
                     WHERE merchant_id = $1 AND mode = $2 AND currency = $3 AND NOT armed AND $4 >= $6 \
                       AND owed_key IS NULL",
                )
                .bind(merchant)
                .bind(mode)
                .bind(currency)
                .bind(snapshot.available)
                .bind(now)
                .bind(rearm_at)
                .execute(pool)
                .await?
                .rows_affected()
                    == 1;
            let (armed, owed_data, owed_key) = sqlx::query_as::<_, (bool, Option<String>, Option<String>)>(
                "SELECT armed, owed_data, owed_key FROM balance_watch WHERE merchant_id = $1 AND mode = $2 AND currency = $3",
            )
            .bind(merchant)
            .bind(mode)
            .bind(currency)
            .fetch_one(pool)
            .await?;
            (warn, rearm, armed, owed_data.zip(owed_key))
        });
        if rearm {
            return Ok(Observed::Rearmed);
        }
        // What this snapshot disarmed, or what an earlier one disarmed and
        // could not store (the database failed in between).
        let Some((data, key)) = owed else {
            return Ok(Observed::Unchanged { armed });
        };
        if !warn {
            tracing::info!(merchant_id = %merchant, currency, "sending a balance warning an earlier snapshot owed");
        }
        let input = crate::ingest::PublishInput {
            merchant_id: merchant.to_owned(),
            mode: mode.to_owned(),
            event_type: crate::events::EventType::BalanceThresholdWarning
                .as_str()
                .to_owned(),
            data: serde_json::from_str(&data)
                .map_err(|e| Error::Internal(format!("owed balance warning: {e}")))?,
        };
        let published = crate::ingest::publish(db, clock, &input, Some(&key)).await?;
        on_db!(db, |pool| {
            sqlx::query(
                "UPDATE balance_watch SET owed_data = NULL, owed_key = NULL \
                 WHERE merchant_id = $1 AND mode = $2 AND currency = $3 AND owed_key = $4",
            )
            .bind(merchant)
            .bind(mode)
            .bind(currency)
            .bind(&key)
            .execute(pool)
            .await?;
        });
        Ok(Observed::Warned {
            event_id: published.event.id,
        })
    }

    /// Whether the merchant may subscribe to `balance.threshold_warning` in `mode`.
    pub async fn approved(db: &Db, merchant_id: &str, mode: Mode) -> Result<bool> {
        Ok(on_db!(db, |pool| {
            sqlx::query_scalar::<_, i64>(
                "SELECT COUNT(*) FROM balance_requests WHERE merchant_id = $1 AND mode = $2 AND status = 'approved'",
            )
            .bind(merchant_id)
            .bind(mode.as_str())
            .fetch_one(pool)
            .await?
                > 0
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn amounts_in_minor_units() {
        assert_eq!(parse_amount("1000", 2), Some(100_000));
        assert_eq!(parse_amount("1000.5", 2), Some(100_050));
        assert_eq!(parse_amount(" 12.34 ", 2), Some(1234));
        assert_eq!(parse_amount("5000", 0), Some(5000));
        assert_eq!(parse_amount("1.234", 3), Some(1234));
        for bad in ["", "1.", ".5", "1.234", "-5", "1,000", "1e3", "abc"] {
            assert_eq!(parse_amount(bad, 2), None, "{bad}");
        }
        assert_eq!(parse_amount("10.5", 0), None);
    }

    #[test]
    fn request_input_names_each_field() {
        let bad = BalanceRequestInput {
            threshold: "lots".into(),
            currency: "EURO".into(),
        };
        let errors = bad.validate().unwrap_err();
        assert!(errors.get("threshold").is_some() && errors.get("currency").is_some());
        let ok = BalanceRequestInput {
            threshold: "250.75".into(),
            currency: "eur".into(),
        };
        let money = ok.validate().unwrap();
        assert_eq!((money.value, money.currency.as_str()), (25_075, "EUR"));
        assert_eq!(format_money(&money), "250.75 EUR");
        let zero = BalanceRequestInput {
            threshold: "0".into(),
            currency: "USD".into(),
        };
        assert!(zero.validate().unwrap_err().get("threshold").is_some());
    }
}
