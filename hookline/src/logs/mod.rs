//! The delivery log: what the portal shows of deliveries, events and their
//! attempts. The types are compiled for the browser too; the queries and the
//! resend and recover operations need the `runtime` feature.

#[cfg(feature = "runtime")]
pub mod ops;

use crate::events::EventType;
use crate::mode::Mode;
use serde::{Deserialize, Serialize};

/// Rows per page of the delivery log.
pub const PAGE_SIZE: usize = 50;
/// The most rows one page may hold.
pub const MAX_PAGE_SIZE: usize = 200;
/// At most this many deliveries are put back in the queue by one recover.
pub const MAX_RECOVER: i64 = 10_000;
/// A recover sends at most this many deliveries per second.
pub const RECOVER_PER_SECOND: i64 = 10;

/// Where a delivery stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "runtime", derive(schemars::JsonSchema))]
#[serde(rename_all = "snake_case")]
pub enum DeliveryState {
    /// Waiting for its next attempt.
    Pending,
    /// Waiting for its disabled endpoint to be enabled again.
    Held,
    Succeeded,
    /// Gave up after the last retry (or never sent: a deleted endpoint, a discard).
    Failed,
}

impl DeliveryState {
    pub const ALL: [DeliveryState; 4] = [
        DeliveryState::Pending,
        DeliveryState::Held,
        DeliveryState::Succeeded,
        DeliveryState::Failed,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            DeliveryState::Pending => "pending",
            DeliveryState::Held => "held",
            DeliveryState::Succeeded => "succeeded",
            DeliveryState::Failed => "failed",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            DeliveryState::Pending => "Retrying",
            DeliveryState::Held => "Held",
            DeliveryState::Succeeded => "Delivered",
            DeliveryState::Failed => "Failed",
        }
    }

    pub fn parse(raw: &str) -> Option<DeliveryState> {
        DeliveryState::ALL.into_iter().find(|s| s.as_str() == raw)
    }
}

/// The delivery log's filters, as they appear in the page's URL. Empty
/// strings mean "any"; a filter it does not know (a misspelt `endpont`) is
/// refused rather than quietly widening the list.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "runtime", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct LogQuery {
    #[serde(default)]
    pub endpoint: String,
    #[serde(default)]
    pub event_type: String,
    #[serde(default)]
    pub status: String,
    /// `datetime-local` values, UTC.
    #[serde(default)]
    pub from: String,
    #[serde(default)]
    pub to: String,
    /// An event id (`evt_…`) or a transaction id (the event's resource id).
    #[serde(default)]
    pub search: String,
    /// Where the previous page ended.
    #[serde(default)]
    pub cursor: String,
    /// Rows per page, 1 to [`MAX_PAGE_SIZE`]; empty means [`PAGE_SIZE`].
    #[serde(default)]
    pub limit: String,
}

/// One row of the delivery log: one event sent to one endpoint.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "runtime", derive(schemars::JsonSchema))]
pub struct LogRow {
    pub delivery_id: String,
    pub event_id: String,
    pub event_type: EventType,
    pub resource_id: String,
    pub endpoint_id: String,
    pub endpoint_url: String,
    pub state: DeliveryState,
    pub attempts: i64,
    /// The last attempt's HTTP status, if it got one.
    pub last_status: Option<i64>,
    pub last_error: Option<String>,
    /// When the next attempt is due, for a pending delivery.
    pub next_attempt_ms: Option<i64>,
    pub created_ms: i64,
    pub is_test: bool,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "runtime", derive(schemars::JsonSchema))]
pub struct LogPage {
    pub rows: Vec<LogRow>,
    /// Pass as `cursor` for the next (older) page.
    pub next_cursor: Option<String>,
}

/// One attempt as the event page's timeline shows it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "runtime", derive(schemars::JsonSchema))]
pub struct AttemptView {
    pub attempt_no: i64,
    pub started_ms: i64,
    pub latency_ms: i64,
    pub url: String,
    /// The payload version its body was rendered in; none for attempts
    /// recorded before versions were kept.
    pub payload_version: Option<String>,
    pub request_headers: Vec<(String, String)>,
    pub response_status: Option<i64>,
    pub response_headers: Vec<(String, String)>,
    pub response_body: Option<String>,
    /// `None` on success.
    pub error_class: Option<String>,
    pub error_message: Option<String>,
}

/// An event's delivery to one endpoint, with every attempt.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "runtime", derive(schemars::JsonSchema))]
pub struct DeliveryDetail {
    pub delivery_id: String,
    pub endpoint_id: String,
    pub endpoint_url: String,
    pub endpoint_deleted: bool,
    pub state: DeliveryState,
    pub next_attempt_ms: Option<i64>,
    pub attempts: Vec<AttemptView>,
}

/// An event with its payload and every delivery of it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "runtime", derive(schemars::JsonSchema))]
pub struct EventDetail {
    pub id: String,
    pub event_type: EventType,
    pub resource_id: String,
    pub mode: Mode,
    pub is_test: bool,
    pub created_ms: i64,
    /// The event's data (newest payload version), pretty-printed.
    pub payload: String,
    pub deliveries: Vec<DeliveryDetail>,
}

/// What a merchant asks to recover: failed deliveries to one endpoint
/// created in a time range (`datetime-local` values, UTC).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "runtime", derive(schemars::JsonSchema))]
pub struct RecoverInput {
    pub endpoint: String,
    pub from: String,
    pub to: String,
}

/// How many failed deliveries a recover covers, and how long sending them takes.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "runtime", derive(schemars::JsonSchema))]
pub struct RecoverPlan {
    pub endpoint_id: String,
    pub endpoint_url: String,
    pub from_ms: i64,
    pub to_ms: i64,
    /// Failed deliveries in the range.
    pub failed: i64,
    /// How many one recover sends (at most [`MAX_RECOVER`]).
    pub to_send: i64,
    /// Seconds until the last is sent, at [`RECOVER_PER_SECOND`].
    pub seconds: i64,
}

impl RecoverPlan {
    pub fn new(
        endpoint_id: String,
        endpoint_url: String,
        from_ms: i64,
        to_ms: i64,
        failed: i64,
    ) -> Self {
        let to_send = failed.min(MAX_RECOVER);
        RecoverPlan {
            endpoint_id,
            endpoint_url,
            from_ms,
            to_ms,
            failed,
            to_send,
            seconds: (to_send + RECOVER_PER_SECOND - 1) / RECOVER_PER_SECOND,
        }
    }
}
