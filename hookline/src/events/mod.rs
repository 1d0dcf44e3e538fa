//! The event catalog: every event type Hookline delivers, the data each
//! carries, and the envelope around it. Compiled for the browser too, so the
//! portal lists and describes the same types the dispatcher sends.

pub mod data;
pub mod money;
pub mod samples;
#[cfg(feature = "runtime")]
pub mod schema;
pub mod timestamp;
pub mod versions;

use crate::mode::Mode;
use crate::validation::FieldErrors;
use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

pub use money::{Currency, Money};
pub use timestamp::Timestamp;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[cfg_attr(feature = "runtime", derive(schemars::JsonSchema))]
pub enum EventType {
    #[serde(rename = "payin.succeeded")]
    PayinSucceeded,
    #[serde(rename = "payin.failed")]
    PayinFailed,
    #[serde(rename = "payout.updated")]
    PayoutUpdated,
    #[serde(rename = "refund.updated")]
    RefundUpdated,
    #[serde(rename = "api.error")]
    ApiError,
    #[serde(rename = "balance.threshold_warning")]
    BalanceThresholdWarning,
}

impl EventType {
    pub const ALL: [EventType; 6] = [
        EventType::PayinSucceeded,
        EventType::PayinFailed,
        EventType::PayoutUpdated,
        EventType::RefundUpdated,
        EventType::ApiError,
        EventType::BalanceThresholdWarning,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            EventType::PayinSucceeded => "payin.succeeded",
            EventType::PayinFailed => "payin.failed",
            EventType::PayoutUpdated => "payout.updated",
            EventType::RefundUpdated => "refund.updated",
            EventType::ApiError => "api.error",
            EventType::BalanceThresholdWarning => "balance.threshold_warning",
        }
    }

    /// One line for the portal's subscription checkboxes.
    pub fn description(self) -> &'static str {
        match self {
            EventType::PayinSucceeded => "A customer's payment was captured.",
            EventType::PayinFailed => "A customer's payment was declined or failed.",
            EventType::PayoutUpdated => "A payout to your bank account changed status.",
            EventType::RefundUpdated => "A refund to a customer changed status.",
            EventType::ApiError => "A request your systems made to the payments API failed.",
            EventType::BalanceThresholdWarning => {
                "Your available balance fell below the threshold you chose (on request)."
            }
        }
    }

    /// Sent only to merchants whose request an admin approved.
    pub fn requires_approval(self) -> bool {
        self == EventType::BalanceThresholdWarning
    }
}

impl fmt::Display for EventType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for EventType {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        EventType::ALL
            .into_iter()
            .find(|t| t.as_str() == s)
            .ok_or_else(|| {
                let known: Vec<&str> = EventType::ALL.iter().map(|t| t.as_str()).collect();
                format!(
                    "unknown event type `{}`; known types: {}",
                    crate::validation::excerpt(s),
                    known.join(", ")
                )
            })
    }
}

/// An event's data, checked against its type.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(untagged)]
pub enum EventData {
    Payin(data::Payin),
    Payout(data::Payout),
    Refund(data::Refund),
    ApiError(data::ApiError),
    BalanceThresholdWarning(data::BalanceThresholdWarning),
}

pub const MAX_ID_CHARS: usize = 255;

/// What is wrong with an identifier from the platform (a transaction,
/// payout, refund, request or balance id), if anything.
pub fn id_problem(value: &str) -> Option<String> {
    if value.trim().is_empty() {
        Some("must not be empty".to_owned())
    } else if value.chars().count() > MAX_ID_CHARS {
        Some(format!("must be at most {MAX_ID_CHARS} characters"))
    } else if crate::validation::has_control_character(value, false) {
        Some("must not contain control characters".to_owned())
    } else {
        None
    }
}

impl EventData {
    /// Reads `value` as the data of `event_type`. Problems name the field by
    /// its path under `data`, e.g. `data.amount.currency`.
    pub fn parse(
        event_type: EventType,
        value: &serde_json::Value,
    ) -> Result<EventData, FieldErrors> {
        fn typed<T: serde::de::DeserializeOwned>(
            value: &serde_json::Value,
        ) -> Result<T, FieldErrors> {
            serde_path_to_error::deserialize::<_, T>(value).map_err(|e| {
                let path = e.path().to_string();
                let field = if path == "." {
                    "data".to_owned()
                } else {
                    format!("data.{path}")
                };
                FieldErrors::single(&field, e.into_inner().to_string())
            })
        }
        let data = match event_type {
            EventType::PayinSucceeded | EventType::PayinFailed => EventData::Payin(typed(value)?),
            EventType::PayoutUpdated => EventData::Payout(typed(value)?),
            EventType::RefundUpdated => EventData::Refund(typed(value)?),
            EventType::ApiError => EventData::ApiError(typed(value)?),
            EventType::BalanceThresholdWarning => EventData::BalanceThresholdWarning(typed(value)?),
        };
        data.check(event_type)?;
        Ok(data)
    }

    /// Rules serde's types cannot say.
    fn check(&self, event_type: EventType) -> Result<(), FieldErrors> {
        let mut errors = FieldErrors::new();
        let mut id = |field: &str, value: &str| {
            if let Some(problem) = id_problem(value) {
                errors.add(field, problem);
            }
        };
        match self {
            EventData::Payin(p) => {
                id("data.transaction_id", &p.transaction_id);
                let expected = match event_type {
                    EventType::PayinFailed => data::PayinStatus::Failed,
                    _ => data::PayinStatus::Succeeded,
                };
                if p.status != expected {
                    let want = if expected == data::PayinStatus::Failed {
                        "failed"
                    } else {
                        "succeeded"
                    };
                    errors.add("data.status", format!("must be `{want}` for {event_type}"));
                }
                if p.amount.value <= 0 {
                    errors.add(
                        "data.amount.value",
                        "must be a positive amount in minor units",
                    );
                }
            }
            EventData::Payout(p) => {
                id("data.payout_id", &p.payout_id);
                if p.amount.value <= 0 {
                    errors.add(
                        "data.amount.value",
                        "must be a positive amount in minor units",
                    );
                }
            }
            EventData::Refund(r) => {
                id("data.refund_id", &r.refund_id);
                id("data.transaction_id", &r.transaction_id);
                if r.amount.value <= 0 {
                    errors.add(
                        "data.amount.value",
                        "must be a positive amount in minor units",
                    );
                }
            }
            EventData::ApiError(a) => {
                id("data.request_id", &a.request_id);
                if !(400..=599).contains(&a.http_status) {
                    errors.add("data.http_status", "must be an HTTP error status (400-599)");
                }
            }
            EventData::BalanceThresholdWarning(b) => {
                id("data.balance_id", &b.balance_id);
                if b.available.currency != b.threshold.currency {
                    errors.add(
                        "data.threshold.currency",
                        "must be the currency of the balance",
                    );
                }
            }
        }
        errors.into_result(())
    }

    /// The identifier a merchant reconciles by: transaction, payout, refund,
    /// request or balance id.
    pub fn resource_id(&self) -> &str {
        match self {
            EventData::Payin(p) => &p.transaction_id,
            EventData::Payout(p) => &p.payout_id,
            EventData::Refund(r) => &r.refund_id,
            EventData::ApiError(a) => &a.request_id,
            EventData::BalanceThresholdWarning(b) => &b.balance_id,
        }
    }
}

/// What a merchant receives: the event and its data, rendered for the
/// endpoint's payload version.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Envelope {
    pub id: String,
    #[serde(rename = "type")]
    pub event_type: EventType,
    pub api_version: String,
    pub created_at: Timestamp,
    pub mode: Mode,
    pub data: serde_json::Value,
    /// Only on test events ("send test event" and readiness checks), which
    /// carry sample data: a receiver can tell them from a real payment even
    /// on a live endpoint. Absent from every real event.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub test: bool,
}

impl Envelope {
    /// The bytes sent to an endpoint on payload `version`: an event whose
    /// data is `stored` in the current format, rendered for that version.
    /// Deliveries and readiness probes both build their bodies here.
    pub fn render(
        id: String,
        event_type: EventType,
        mode: Mode,
        created_ms: i64,
        stored: &serde_json::Value,
        version: &str,
        test: bool,
    ) -> Result<Vec<u8>, String> {
        let envelope = Envelope {
            id,
            event_type,
            api_version: version.to_owned(),
            created_at: Timestamp::from_unix_ms(created_ms),
            mode,
            data: versions::render(event_type, stored, version)?,
            test,
        };
        serde_json::to_vec(&envelope).map_err(|e| e.to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    pub(crate) fn payin_json() -> serde_json::Value {
        json!({
            "transaction_id": "txn_123",
            "status": "succeeded",
            "amount": { "value": 1999, "currency": "EUR" },
            "payment_method": "card",
            "response": { "code": "00", "message": "Approved" },
            "merchant_reference": "order-42",
            "created_at": "2026-11-28T14:05:00Z",
            "updated_at": "2026-11-28T14:05:01Z"
        })
    }

    #[test]
    fn event_type_names_round_trip() {
        for t in EventType::ALL {
            assert_eq!(t.as_str().parse::<EventType>().unwrap(), t);
            assert_eq!(serde_json::to_value(t).unwrap(), json!(t.as_str()));
        }
        assert!(
            "payin.refunded"
                .parse::<EventType>()
                .unwrap_err()
                .contains("payin.succeeded")
        );
    }

    #[test]
    fn parses_valid_data() {
        let data = EventData::parse(EventType::PayinSucceeded, &payin_json()).unwrap();
        assert_eq!(data.resource_id(), "txn_123");
        assert_eq!(serde_json::to_value(&data).unwrap(), payin_json());
    }

    #[test]
    fn names_the_field_at_fault() {
        let mut bad = payin_json();
        bad["amount"]["currency"] = json!("EURO");
        let err = EventData::parse(EventType::PayinSucceeded, &bad).unwrap_err();
        assert_eq!(err.0[0].field, "data.amount.currency");

        let mut bad = payin_json();
        bad.as_object_mut().unwrap().remove("transaction_id");
        let err = EventData::parse(EventType::PayinSucceeded, &bad).unwrap_err();
        assert!(err.0[0].message.contains("transaction_id"), "{err}");

        let mut bad = payin_json();
        bad["surprise"] = json!(1);
        assert!(EventData::parse(EventType::PayinSucceeded, &bad).is_err());

        let err = EventData::parse(EventType::PayinFailed, &payin_json()).unwrap_err();
        assert_eq!(err.0[0].field, "data.status");

        let mut bad = payin_json();
        bad["amount"]["value"] = json!(0);
        assert_eq!(
            EventData::parse(EventType::PayinSucceeded, &bad)
                .unwrap_err()
                .0[0]
                .field,
            "data.amount.value"
        );
    }

    #[test]
    fn renders_the_envelope_for_the_version_asked() {
        let body = |version, test| {
            let bytes = Envelope::render(
                "evt_1".into(),
                EventType::PayinSucceeded,
                Mode::Sandbox,
                1_764_338_700_000,
                &payin_json(),
                version,
                test,
            )
            .unwrap();
            serde_json::from_slice::<serde_json::Value>(&bytes).unwrap()
        };
        let latest = versions::latest();
        let real = body(latest, false);
        assert_eq!(real["id"], "evt_1");
        assert_eq!(real["type"], "payin.succeeded");
        assert_eq!(real["api_version"], latest);
        assert_eq!(real["mode"], "sandbox");
        assert_eq!(real["created_at"], "2025-11-28T14:05:00.000Z");
        assert!(real.get("test").is_none(), "{real}");
        assert_eq!(body(latest, true)["test"], true);
        for version in versions::VERSIONS {
            let data = versions::render(EventType::PayinSucceeded, &payin_json(), version).unwrap();
            assert_eq!(body(version, false)["data"], data, "{version}");
        }
        let unknown = Envelope::render(
            "evt_1".into(),
            EventType::PayinSucceeded,
            Mode::Sandbox,
            0,
            &payin_json(),
            "1999-01-01",
            false,
        );
        assert!(unknown.is_err());
    }
}
