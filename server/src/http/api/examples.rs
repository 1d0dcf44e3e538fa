//! Examples of answers for the OpenAPI document. The tests check each one
//! against its generated schema, so they cannot drift from the code.

use serde_json::{Value, json};

pub fn endpoint() -> Value {
    json!({
        "endpoint": {
            "id": "ep_01a2254c29a6717a90eca2d0a146046e",
            "merchant_id": "mer_01a22535d4507745b1944a60cacd6966",
            "mode": "sandbox",
            "url": "https://shop.example.com/webhooks",
            "description": "orders service",
            "event_types": ["payin.succeeded", "refund.updated"],
            "payload_version": "2026-09-01",
            "allowlist": [],
            "enabled": true,
            "created_ms": 1_795_921_997_468_i64,
            "updated_ms": 1_795_921_997_468_i64
        },
        "status": "enabled",
        "health": "healthy",
        "disabled_note": null,
        "consecutive_failures": 0,
        "last_success_ms": 1_795_922_001_002_i64,
        "attempts_24h": 12,
        "succeeded_24h": 12,
        "held": 0
    })
}

pub fn endpoint_list() -> Value {
    json!({ "data": [endpoint()] })
}

pub fn log_page() -> Value {
    json!({
        "rows": [{
            "delivery_id": "dlv_01a2254c29fe748a9bcd5d658015da93_ep_01a2254c29a6717a90eca2d0a146046e",
            "event_id": "evt_01a2254c29fe748a9bcd5d658015da93",
            "event_type": "payin.succeeded",
            "resource_id": "txn_8f2c1e",
            "endpoint_id": "ep_01a2254c29a6717a90eca2d0a146046e",
            "endpoint_url": "https://shop.example.com/webhooks",
            "state": "pending",
            "attempts": 2,
            "last_status": 503,
            "last_error": "http_status",
            "next_attempt_ms": 1_795_923_801_002_i64,
            "created_ms": 1_795_922_001_002_i64,
            "is_test": false
        }],
        "next_cursor": "1795922001002.dlv_01a2254c29fe748a9bcd5d658015da93_ep_01a2254c29a6717a90eca2d0a146046e"
    })
}

pub fn feed_page() -> Value {
    json!({
        "data": [{
            "id": "evt_01a2254c29fe748a9bcd5d658015da93",
            "type": "refund.updated",
            "mode": "live",
            "resource_id": "re_5521",
            "created_ms": 1_795_922_001_002_i64,
            "data": {"refund_id": "re_5521", "transaction_id": "txn_8f2c1e", "status": "succeeded"},
            "deliveries": [{
                "endpoint_id": "ep_01a2254c29a6717a90eca2d0a146046e",
                "status": "succeeded",
                "succeeded": true,
                "attempts": 1
            }]
        }],
        "next": "fc_2a",
        "has_more": false
    })
}

pub fn problem() -> Value {
    json!({
        "type": "about:blank",
        "title": "Invalid request",
        "status": 422,
        "detail": "url: Use an https:// URL.",
        "errors": [{"field": "url", "message": "Use an https:// URL."}]
    })
}
