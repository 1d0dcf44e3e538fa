//! The sandbox inbox: a hosted URL per merchant that accepts deliveries the
//! way a careful merchant server would (checks the signature and the
//! timestamp, accepts a repeated `webhook-id` without processing it twice)
//! and keeps what arrived for the portal. Merchants see real payloads before
//! writing any code, and the readiness check has a receiver that passes.

use serde::{Deserialize, Serialize};

/// One message as the portal shows it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "runtime", derive(schemars::JsonSchema))]
pub struct InboxMessage {
    pub id: String,
    pub received_ms: i64,
    pub webhook_id: Option<String>,
    /// The `type` field of the body, when it is an event.
    pub event_type: Option<String>,
    pub endpoint_id: Option<String>,
    pub headers: Vec<(String, String)>,
    /// Pretty-printed when it is JSON.
    pub body: String,
    pub signature_valid: bool,
    /// What the inbox answered, and why.
    pub status: u16,
    pub verdict: String,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "runtime", derive(schemars::JsonSchema))]
pub struct InboxView {
    pub url: String,
    pub messages: Vec<InboxMessage>,
}

#[cfg(feature = "runtime")]
pub use ops::*;

#[cfg(feature = "runtime")]
mod ops {
    use super::InboxMessage;
    use crate::clock::Clock;
    use crate::crypto::SecretBox;
    use crate::endpoints;
    use crate::error::Result;
    use crate::ids;
    use crate::signing::{self, DEFAULT_TOLERANCE_SECS, SignatureError};
    use crate::store::Db;
    use crate::store::inbox::{self as store, MessageRow};
    use std::collections::BTreeMap;

    /// Bodies are kept up to this size.
    pub const MAX_KEPT_BODY: usize = 64 * 1024;
    /// Headers kept per message, and characters kept of each value.
    pub const MAX_KEPT_HEADERS: usize = 32;
    pub const MAX_KEPT_HEADER_VALUE: usize = 1024;
    /// Longer `webhook-id`s are refused: Hookline's are about 30 characters,
    /// and an id is indexed, which PostgreSQL limits to a few kilobytes.
    pub const MAX_WEBHOOK_ID: usize = 256;
    /// How many messages the portal lists.
    pub const LISTED: i64 = 50;
    /// Messages one inbox takes per minute; more are answered 429 with
    /// `Retry-After` and not kept, so a stranger's flood costs one counter
    /// write per request, and the merchant's own deliveries caught in it
    /// are retried after that wait.
    pub const MAX_PER_MINUTE: i64 = 600;
    const RATE_WINDOW_MS: i64 = 60_000;

    /// The merchant's inbox URL under `base` (`{public origin}/inbox/`).
    pub async fn url(db: &Db, clock: &dyn Clock, base: &str, merchant_id: &str) -> Result<String> {
        let fresh = format!("ibx_{}", crate::crypto::random_token(24));
        let token = store::token(db, merchant_id, &fresh, clock.now_ms()).await?;
        Ok(format!("{base}{token}"))
    }

    pub async fn messages(db: &Db, merchant_id: &str) -> Result<Vec<InboxMessage>> {
        Ok(store::latest(db, merchant_id, LISTED)
            .await?
            .into_iter()
            .map(|m| {
                let json = serde_json::from_str::<serde_json::Value>(&m.body).ok();
                let event_type = json
                    .as_ref()
                    .and_then(|v| v["type"].as_str())
                    .map(str::to_owned);
                let body = json
                    .and_then(|v| serde_json::to_string_pretty(&v).ok())
                    .unwrap_or(m.body);
                let headers = serde_json::from_str::<BTreeMap<String, String>>(&m.headers)
                    .unwrap_or_default()
                    .into_iter()
                    .collect();
                InboxMessage {
                    id: m.id,
                    received_ms: m.received_ms,
                    webhook_id: m.webhook_id,
                    event_type,
                    endpoint_id: m.endpoint_id,
                    headers,
                    body,
                    signature_valid: m.signature_valid,
                    status: m.status as u16,
                    verdict: m.verdict,
                }
            })
            .collect())
    }

    /// What the inbox answers a delivery.
    #[derive(Clone, Debug, PartialEq, Eq)]
    pub struct Answer {
        pub status: u16,
        pub verdict: String,
        /// With a 429: seconds until the inbox takes messages again.
        pub retry_after_secs: Option<i64>,
    }

    /// The headers kept with a message: at most [`MAX_KEPT_HEADERS`], each
    /// value cut to [`MAX_KEPT_HEADER_VALUE`] characters, the webhook ones first.
    fn kept_headers(headers: &BTreeMap<String, String>) -> BTreeMap<String, String> {
        let (webhook, other): (Vec<_>, Vec<_>) = headers
            .iter()
            .partition(|(name, _)| name.starts_with("webhook-"));
        webhook
            .into_iter()
            .chain(other)
            .take(MAX_KEPT_HEADERS)
            .map(|(name, value)| {
                let value = match value.char_indices().nth(MAX_KEPT_HEADER_VALUE) {
                    Some((cut, _)) => format!("{}…", &value[..cut]),
                    None => value.clone(),
                };
                (name.clone(), value)
            })
            .collect()
    }

    /// Receives one delivery to `{base}{token}…`. `None` when no inbox has
    /// that token. Headers are keyed by lower-case name.
    pub async fn receive(
        db: &Db,
        sbox: &SecretBox,
        clock: &dyn Clock,
        base: &str,
        token: &str,
        headers: &BTreeMap<String, String>,
        body: &[u8],
    ) -> Result<Option<Answer>> {
        let Some(merchant_id) = store::merchant_of(db, token).await? else {
            return Ok(None);
        };
        let now = clock.now_ms();
        // The API keys' per-window counters, under a key no API key id can have.
        let key = format!("inbox:{merchant_id}");
        if let Some(wait_ms) =
            crate::api_keys::rate_limited(db, &key, now, RATE_WINDOW_MS, MAX_PER_MINUTE).await?
        {
            let secs = (wait_ms + 999) / 1000;
            return Ok(Some(Answer {
                status: 429,
                verdict: format!(
                    "Refused: this inbox takes at most {MAX_PER_MINUTE} messages a minute; try again in {secs} s."
                ),
                retry_after_secs: Some(secs),
            }));
        }
        let webhook_id = headers.get("webhook-id").cloned();
        let (status, verdict, endpoint_id) = match (
            webhook_id.as_deref(),
            headers.get("webhook-timestamp"),
            headers.get("webhook-signature"),
        ) {
            (Some(id), _, _) if id.chars().count() > MAX_WEBHOOK_ID => (
                400,
                format!("Refused: the webhook-id is longer than {MAX_WEBHOOK_ID} characters."),
                None,
            ),
            (Some(id), Some(ts), Some(sig)) => {
                let prefix = format!("{base}{token}");
                let mut outcome = Err(None);
                for endpoint in store::endpoints_at(db, &merchant_id, &prefix).await? {
                    for secret in endpoints::signing_secrets(db, sbox, clock, &endpoint).await? {
                        match signing::verify(&secret, id, ts, sig, body, now / 1000, DEFAULT_TOLERANCE_SECS) {
                            Ok(()) => outcome = Ok(endpoint.clone()),
                            Err(e) if outcome.is_err() => outcome = Err(Some(e)),
                            Err(_) => {}
                        }
                    }
                }
                match outcome {
                    Ok(endpoint) if store::seen(db, &merchant_id, id).await? => (
                        200,
                        "Signature valid. This webhook-id arrived before: accepted again, not processed twice.".to_owned(),
                        Some(endpoint),
                    ),
                    Ok(endpoint) => (200, "Signature valid.".to_owned(), Some(endpoint)),
                    Err(None) => (
                        401,
                        "No endpoint of yours points at this inbox, so there is no secret to check the signature with.".to_owned(),
                        None,
                    ),
                    Err(Some(SignatureError::TimestampOutOfTolerance | SignatureError::MalformedTimestamp)) => (
                        401,
                        "Refused: the webhook-timestamp is more than 5 minutes from now, as a replayed message would be.".to_owned(),
                        None,
                    ),
                    Err(Some(_)) => (
                        401,
                        "Refused: the signature matches none of the secrets of your endpoints that point here.".to_owned(),
                        None,
                    ),
                }
            }
            _ => (
                400,
                "Refused: a webhook-id, webhook-timestamp and webhook-signature header are all required.".to_owned(),
                None,
            ),
        };
        // Not a webhook at all (400): answered, but not kept. Refused
        // webhooks are kept, but apart from valid ones (see
        // `store::KEEP_REFUSED`), so what a stranger with the URL posts
        // cannot push real deliveries out of the list.
        if status != 400 {
            let kept = &body[..body.len().min(MAX_KEPT_BODY)];
            let row = MessageRow {
                id: ids::inbox_message_id(),
                received_ms: now,
                webhook_id,
                signature_valid: status == 200,
                endpoint_id,
                headers: serde_json::to_string(&kept_headers(headers))
                    .unwrap_or_else(|_| "{}".into()),
                body: crate::validation::storable_text(kept),
                status: i64::from(status),
                verdict: verdict.clone(),
            };
            store::insert(db, &merchant_id, &row).await?;
        }
        Ok(Some(Answer {
            status,
            verdict,
            retry_after_secs: None,
        }))
    }
}
