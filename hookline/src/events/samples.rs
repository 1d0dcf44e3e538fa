//! Realistic sample data for every event type: the portal's "send test
//! event" button, the README and the tests all use these.

use super::EventType;
use super::timestamp::Timestamp;
use serde_json::{Value, json};

/// Sample data (newest payload format) for `event_type`, stamped at `now_ms`.
pub fn sample_data(event_type: EventType, now_ms: i64) -> Value {
    let at = Timestamp::from_unix_ms(now_ms);
    let at = at.as_str();
    match event_type {
        EventType::PayinSucceeded => json!({
            "transaction_id": "txn_sample_4f2a9c",
            "status": "succeeded",
            "amount": { "value": 4250, "currency": "EUR" },
            "payment_method": "card",
            "response": { "code": "00", "message": "Approved" },
            "merchant_reference": "order-10042",
            "acquirer_reference": "ARN74987512345678901234",
            "created_at": at,
            "updated_at": at
        }),
        EventType::PayinFailed => json!({
            "transaction_id": "txn_sample_8d1e07",
            "status": "failed",
            "amount": { "value": 1999, "currency": "GBP" },
            "payment_method": "card",
            "response": { "code": "51", "message": "Insufficient funds" },
            "merchant_reference": "order-10043",
            "created_at": at,
            "updated_at": at
        }),
        EventType::PayoutUpdated => json!({
            "payout_id": "po_sample_51c3",
            "status": "paid",
            "amount": { "value": 1250000, "currency": "EUR" },
            "response": { "code": "paid", "message": "Funds credited to the bank account" },
            "merchant_reference": "settlement-2026-11-27",
            "bank_reference": "HOOKLINE PO 51C3",
            "created_at": at,
            "updated_at": at
        }),
        EventType::RefundUpdated => json!({
            "refund_id": "re_sample_0b77",
            "transaction_id": "txn_sample_4f2a9c",
            "status": "succeeded",
            "amount": { "value": 1000, "currency": "EUR" },
            "response": { "code": "00", "message": "Refund accepted by the issuer" },
            "merchant_reference": "return-311",
            "reason": "customer_request",
            "created_at": at,
            "updated_at": at
        }),
        EventType::ApiError => json!({
            "request_id": "req_sample_e3f0",
            "method": "POST",
            "path": "/v1/payins",
            "http_status": 422,
            "response": { "code": "invalid_currency", "message": "currency must be an ISO 4217 code" },
            "merchant_reference": "idem-7781",
            "occurred_at": at
        }),
        EventType::BalanceThresholdWarning => json!({
            "balance_id": "bal_sample_eur",
            "available": { "value": 48000, "currency": "EUR" },
            "threshold": { "value": 50000, "currency": "EUR" },
            "response": { "code": "below_threshold", "message": "Available balance is below your threshold" },
            "observed_at": at
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::events::EventData;

    #[test]
    fn every_sample_passes_the_catalog() {
        for t in EventType::ALL {
            let data = sample_data(t, 1_795_835_107_042);
            EventData::parse(t, &data).unwrap_or_else(|e| panic!("{t}: {e}"));
        }
    }
}
