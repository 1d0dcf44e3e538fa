//! Publishing events: the platform's services hand Hookline an event for a
//! merchant; Hookline checks it against the catalog, stores it and fans it out
//! to the merchant's subscribed endpoints in one transaction.

use crate::clock::Clock;
use crate::error::{Error, Result};
use crate::events::{EventData, EventType, Timestamp};
use crate::ids;
use crate::mode::Mode;
use crate::store::Db;
use crate::store::events::{self as store, EventRow, Idempotency, Inserted};
use crate::validation::FieldErrors;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// An event's data may not exceed this, serialised.
pub const MAX_EVENT_BYTES: usize = 256 * 1024;
pub const MAX_IDEMPOTENCY_KEY_CHARS: usize = 255;
/// How long an idempotency key returns its first event.
pub const IDEMPOTENCY_WINDOW_MS: i64 = 24 * 60 * 60 * 1000;

/// One event as a platform service publishes it.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PublishInput {
    pub merchant_id: String,
    pub mode: String,
    #[serde(rename = "type")]
    pub event_type: String,
    pub data: serde_json::Value,
}

/// A stored event, as the ingest API answers it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PublishedEvent {
    pub id: String,
    pub merchant_id: String,
    pub mode: Mode,
    #[serde(rename = "type")]
    pub event_type: EventType,
    pub created_at: Timestamp,
    pub data: serde_json::Value,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Published {
    pub event: PublishedEvent,
    /// True when an earlier publish with the same idempotency key is returned.
    pub replayed: bool,
}

struct Checked {
    merchant_id: String,
    mode: Mode,
    event_type: EventType,
    data: EventData,
}

fn check(input: &PublishInput) -> std::result::Result<Checked, FieldErrors> {
    let mut errors = FieldErrors::new();
    if input.merchant_id.trim().is_empty() {
        errors.add("merchant_id", "must not be empty");
    }
    let mode = input
        .mode
        .parse::<Mode>()
        .map_err(|m| errors.add("mode", m))
        .ok();
    let event_type = input
        .event_type
        .parse::<EventType>()
        .map_err(|m| errors.add("type", m))
        .ok();
    let size = serde_json::to_vec(&input.data)
        .map(|v| v.len())
        .unwrap_or(usize::MAX);
    if size > MAX_EVENT_BYTES {
        errors.add(
            "data",
            format!("is {size} bytes; the limit is {MAX_EVENT_BYTES}"),
        );
    }
    let data = match event_type {
        Some(t) if size <= MAX_EVENT_BYTES => match EventData::parse(t, &input.data) {
            Ok(d) => Some(d),
            Err(e) => {
                errors.0.extend(e.0);
                None
            }
        },
        _ => None,
    };
    match (mode, event_type, data) {
        (Some(mode), Some(event_type), Some(data)) if errors.is_empty() => Ok(Checked {
            merchant_id: input.merchant_id.trim().to_owned(),
            mode,
            event_type,
            data,
        }),
        _ => Err(errors),
    }
}

/// Checks only the input's shape and catalog rules (no database), so a batch
/// can be refused whole before anything is stored.
pub fn validate(input: &PublishInput) -> std::result::Result<(), FieldErrors> {
    check(input).map(|_| ())
}

pub fn check_idempotency_key(key: &str) -> std::result::Result<(), String> {
    if key.is_empty()
        || key.chars().count() > MAX_IDEMPOTENCY_KEY_CHARS
        || !key.chars().all(|c| c.is_ascii_graphic())
    {
        return Err(format!(
            "must be 1 to {MAX_IDEMPOTENCY_KEY_CHARS} printable ASCII characters"
        ));
    }
    Ok(())
}

/// Stores one event and its deliveries. With an idempotency key, a repeat
/// within 24 hours returns the first event and stores nothing; reusing a key
/// for a different event is refused.
pub async fn publish(
    db: &Db,
    clock: &dyn Clock,
    input: &PublishInput,
    idempotency_key: Option<&str>,
) -> Result<Published> {
    let checked = check(input)?;
    if let Some(key) = idempotency_key {
        check_idempotency_key(key).map_err(|m| FieldErrors::single("idempotency_key", m))?;
    }
    if !store::merchant_exists(db, &checked.merchant_id).await? {
        return Err(FieldErrors::single(
            "merchant_id",
            format!("no merchant `{}`", checked.merchant_id),
        )
        .into());
    }
    let data = serde_json::to_string(&checked.data).map_err(|e| Error::Internal(e.to_string()))?;
    let request_hash = {
        let mut h = Sha256::new();
        for part in [
            checked.merchant_id.as_str(),
            checked.mode.as_str(),
            checked.event_type.as_str(),
            &data,
        ] {
            h.update(part.as_bytes());
            h.update([0u8]);
        }
        format!("{:x}", h.finalize())
    };
    let now = clock.now_ms();
    let row = EventRow {
        id: ids::event_id(),
        merchant_id: checked.merchant_id,
        mode: checked.mode.as_str().to_owned(),
        event_type: checked.event_type.as_str().to_owned(),
        resource_id: checked.data.resource_id().to_owned(),
        data,
        created_ms: now,
    };
    let idempotency = idempotency_key.map(|key| Idempotency {
        key,
        request_hash: &request_hash,
        expires_before: now - IDEMPOTENCY_WINDOW_MS,
    });
    match store::insert_with_fanout(db, &row, idempotency).await? {
        Inserted::New(_) => Ok(Published {
            event: published(row)?,
            replayed: false,
        }),
        Inserted::Existing {
            event_id,
            request_hash: first_hash,
        } => {
            if first_hash != request_hash {
                return Err(FieldErrors::single(
                    "idempotency_key",
                    "was already used for a different event; use a new key for a new event",
                )
                .into());
            }
            let first = store::get(db, &event_id).await?.ok_or(Error::NotFound)?;
            Ok(Published {
                event: published(first)?,
                replayed: true,
            })
        }
    }
}

fn published(row: EventRow) -> Result<PublishedEvent> {
    Ok(PublishedEvent {
        mode: row.mode.parse().map_err(Error::Internal)?,
        event_type: row.event_type.parse().map_err(Error::Internal)?,
        created_at: Timestamp::from_unix_ms(row.created_ms),
        data: serde_json::from_str(&row.data).map_err(|e| Error::Internal(e.to_string()))?,
        id: row.id,
        merchant_id: row.merchant_id,
    })
}
