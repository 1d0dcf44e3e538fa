//! The data each event type carries, in the newest payload format. Older
//! formats are derived from these by `versions`.

use super::money::Money;
use super::timestamp::Timestamp;
use serde::{Deserialize, Serialize};

/// The acquirer's or platform's answer, as a code and a human message.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "runtime", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct Response {
    pub code: String,
    pub message: String,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "runtime", derive(schemars::JsonSchema))]
#[serde(rename_all = "snake_case")]
pub enum PayinStatus {
    Succeeded,
    Failed,
}

/// `payin.succeeded` and `payin.failed`: a customer's payment to the merchant.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "runtime", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct Payin {
    pub transaction_id: String,
    pub status: PayinStatus,
    pub amount: Money,
    pub payment_method: String,
    pub response: Response,
    /// The merchant's own order or invoice reference.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub merchant_reference: Option<String>,
    /// The reference the acquirer or scheme gave this payment.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub acquirer_reference: Option<String>,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "runtime", derive(schemars::JsonSchema))]
#[serde(rename_all = "snake_case")]
pub enum PayoutStatus {
    Pending,
    InTransit,
    Paid,
    Failed,
    Cancelled,
    Returned,
}

/// `payout.updated`: money moving from the platform to the merchant's bank.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "runtime", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct Payout {
    pub payout_id: String,
    pub status: PayoutStatus,
    pub amount: Money,
    pub response: Response,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub merchant_reference: Option<String>,
    /// The reference that appears on the merchant's bank statement.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bank_reference: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expected_arrival: Option<Timestamp>,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "runtime", derive(schemars::JsonSchema))]
#[serde(rename_all = "snake_case")]
pub enum RefundStatus {
    Pending,
    Succeeded,
    Failed,
}

/// `refund.updated`: money returned to a customer for an earlier pay-in.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "runtime", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct Refund {
    pub refund_id: String,
    /// The pay-in being refunded.
    pub transaction_id: String,
    pub status: RefundStatus,
    pub amount: Money,
    pub response: Response,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub merchant_reference: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

/// `api.error`: a request the merchant made to the platform's API failed.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "runtime", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct ApiError {
    pub request_id: String,
    pub method: String,
    pub path: String,
    pub http_status: u16,
    pub response: Response,
    /// The merchant's idempotency key or reference for the failed request.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub merchant_reference: Option<String>,
    pub occurred_at: Timestamp,
}

/// `balance.threshold_warning`: the available balance fell below the
/// threshold the merchant asked to be warned about.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "runtime", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct BalanceThresholdWarning {
    pub balance_id: String,
    pub available: Money,
    pub threshold: Money,
    pub response: Response,
    pub observed_at: Timestamp,
}
