//! Publishing events: the platform's services hand Hookline an event for a
//! merchant; Hookline checks it against the catalog, stores it and fans it out
//! to the merchant's subscribed endpoints in one transaction.

use crate::clock::Clock;
use crate::dispatch::Dispatcher;
use crate::error::{Error, Result};
use crate::events::{EventData, EventType, Timestamp};
use crate::ids;
use crate::mode::Mode;
use crate::store::Db;
use crate::store::events::{self as store, EventRow, Idempotency, Inserted};
use crate::validation::{FieldErrors, has_control_character};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::sync::Arc;
use tokio::sync::{mpsc, oneshot};

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
    } else if has_control_character(&input.merchant_id, false) {
        errors.add("merchant_id", "must not contain control characters");
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

/// An event checked and ready to store.
struct Prepared {
    row: EventRow,
    request_hash: String,
    key: Option<String>,
}

/// Merchants this process has seen exist. Merchants are never deleted, so
/// a merchant once found stays found, on every node.
#[derive(Default)]
struct KnownMerchants(std::sync::Mutex<std::collections::HashSet<String>>);

impl KnownMerchants {
    fn contains(&self, id: &str) -> bool {
        self.0
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .contains(id)
    }

    fn insert(&self, id: &str) {
        let mut known = self.0.lock().unwrap_or_else(|p| p.into_inner());
        if known.len() >= 100_000 {
            known.clear();
        }
        known.insert(id.to_owned());
    }
}

async fn prepare(
    db: &Db,
    clock: &dyn Clock,
    input: &PublishInput,
    idempotency_key: Option<&str>,
    known: Option<&KnownMerchants>,
) -> Result<Prepared> {
    let checked = check(input)?;
    if let Some(key) = idempotency_key {
        check_idempotency_key(key).map_err(|m| FieldErrors::single("idempotency_key", m))?;
    }
    let known_already = known.is_some_and(|k| k.contains(&checked.merchant_id));
    if !known_already && !store::merchant_exists(db, &checked.merchant_id).await? {
        return Err(FieldErrors::single(
            "merchant_id",
            format!("no merchant `{}`", checked.merchant_id),
        )
        .into());
    }
    if let Some(k) = known.filter(|_| !known_already) {
        k.insert(&checked.merchant_id);
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
    Ok(Prepared {
        row: EventRow {
            id: ids::event_id(),
            merchant_id: checked.merchant_id,
            mode: checked.mode.as_str().to_owned(),
            event_type: checked.event_type.as_str().to_owned(),
            resource_id: checked.data.resource_id().to_owned(),
            data,
            created_ms: clock.now_ms(),
        },
        request_hash,
        key: idempotency_key.map(str::to_owned),
    })
}

impl Prepared {
    fn idempotency(&self) -> Option<Idempotency<'_>> {
        self.key.as_deref().map(|key| Idempotency {
            key,
            request_hash: &self.request_hash,
            expires_before: self.row.created_ms - IDEMPOTENCY_WINDOW_MS,
        })
    }

    /// What the caller gets once the store answered.
    async fn answer(self, db: &Db, inserted: Inserted) -> Result<Published> {
        match inserted {
            Inserted::New(_) => Ok(Published {
                event: published(self.row)?,
                replayed: false,
            }),
            Inserted::Existing {
                event_id,
                request_hash: first_hash,
            } => {
                if first_hash != self.request_hash {
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
}

/// Stores one event and its deliveries in a transaction of its own. With an
/// idempotency key, a repeat within 24 hours returns the first event and
/// stores nothing; reusing a key for a different event is refused.
pub async fn publish(
    db: &Db,
    clock: &dyn Clock,
    input: &PublishInput,
    idempotency_key: Option<&str>,
) -> Result<Published> {
    let prepared = prepare(db, clock, input, idempotency_key, None).await?;
    let inserted = store::insert_with_fanout(db, &prepared.row, prepared.idempotency()).await?;
    prepared.answer(db, inserted).await
}

/// Publishes like [`publish`], but events published at the same time share
/// one transaction: one disk sync for many events, so acknowledged events
/// stay durable without one sync each. The ingest API uses this.
pub struct Publisher {
    db: Db,
    queue: std::sync::OnceLock<mpsc::UnboundedSender<Queued>>,
    known: KnownMerchants,
    /// This process's dispatcher: woken for new work, and handed the new
    /// deliveries it has free slots for.
    dispatcher: Option<Arc<Dispatcher>>,
}

/// Most events written in one transaction.
const MAX_GROUP: usize = 500;

struct Queued {
    prepared: Prepared,
    /// Answered with the event back and what the store made of it.
    done: oneshot::Sender<(Prepared, std::result::Result<Inserted, Failure>)>,
}

enum Failure {
    /// The whole transaction failed: nothing of the group was stored.
    Group { unavailable: bool, message: String },
    /// This event failed; the others were stored.
    One(String),
}

impl Publisher {
    pub fn new(db: Db) -> Publisher {
        Publisher {
            db,
            queue: std::sync::OnceLock::new(),
            known: KnownMerchants::default(),
            dispatcher: None,
        }
    }

    /// A publisher that wakes `dispatcher` when it stores new work, and
    /// leases it as many new deliveries as it has free slots for, so they go
    /// out without waiting for a claim.
    pub fn with_dispatcher(db: Db, dispatcher: Arc<Dispatcher>) -> Publisher {
        Publisher {
            dispatcher: Some(dispatcher),
            ..Publisher::new(db)
        }
    }

    pub async fn publish(
        &self,
        clock: &dyn Clock,
        input: &PublishInput,
        idempotency_key: Option<&str>,
    ) -> Result<Published> {
        let prepared = prepare(&self.db, clock, input, idempotency_key, Some(&self.known)).await?;
        let (done, answer) = oneshot::channel();
        self.writer()
            .send(Queued { prepared, done })
            .map_err(|_| Error::Internal("the ingest writer has stopped".into()))?;
        let (prepared, inserted) = answer
            .await
            .map_err(|_| Error::Internal("the ingest writer has stopped".into()))?;
        match inserted {
            Ok(inserted) => prepared.answer(&self.db, inserted).await,
            Err(Failure::Group {
                unavailable: true,
                message,
            }) => Err(Error::Unavailable(message)),
            Err(Failure::Group { message, .. }) | Err(Failure::One(message)) => {
                Err(Error::Internal(message))
            }
        }
    }

    fn writer(&self) -> &mpsc::UnboundedSender<Queued> {
        self.queue.get_or_init(|| {
            let (tx, mut rx) = mpsc::unbounded_channel::<Queued>();
            let db = self.db.clone();
            let dispatcher = self.dispatcher.clone();
            tokio::spawn(async move {
                while let Some(first) = rx.recv().await {
                    let mut group = vec![first];
                    while group.len() < MAX_GROUP {
                        match rx.try_recv() {
                            Ok(more) => group.push(more),
                            Err(_) => break,
                        }
                    }
                    let items: Vec<_> = group
                        .iter()
                        .map(|q| (&q.prepared.row, q.prepared.idempotency()))
                        .collect();
                    let reservation = dispatcher.as_ref().and_then(|d| d.reserve(usize::MAX));
                    let handoff = reservation.as_ref().map(|r| r.handoff());
                    let stored = store::insert_many_handing_off(&db, &items, handoff).await;
                    drop(items);
                    match stored {
                        Ok(stored) => {
                            if let Some(d) = &dispatcher {
                                if let Some(reservation) = reservation {
                                    let leased_events: std::collections::HashSet<&str> =
                                        stored.leased.iter().map(|c| c.event_id.as_str()).collect();
                                    let events = group
                                        .iter()
                                        .map(|q| &q.prepared.row)
                                        .filter(|row| leased_events.contains(row.id.as_str()))
                                        .cloned()
                                        .collect();
                                    d.deliver_reserved(
                                        reservation,
                                        stored.leased,
                                        events,
                                        stored.endpoints,
                                    );
                                }
                                if stored.queued {
                                    d.wakeup.wake();
                                }
                            }
                            for (q, r) in group.into_iter().zip(stored.results) {
                                let _ = q.done.send((q.prepared, r.map_err(Failure::One)));
                            }
                        }
                        Err(e) => {
                            let unavailable = e.is_unavailable();
                            let message = e.to_string();
                            for q in group {
                                let failure = Failure::Group {
                                    unavailable,
                                    message: message.clone(),
                                };
                                let _ = q.done.send((q.prepared, Err(failure)));
                            }
                        }
                    }
                }
            });
            tx
        })
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
