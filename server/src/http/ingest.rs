//! The internal ingest API: how the platform's own services publish events.
//! Authenticated with the operator's ingest token, never with a session.

use crate::http::AppState;
use crate::http::problem::{Problem, field_in_error};
use axum::Json;
use axum::body::{Body, Bytes, to_bytes};
use axum::extract::{Request, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use hookline::FieldErrors;
use hookline::ingest::{self, MAX_EVENT_BYTES, PublishInput, PublishedEvent};
use serde::Deserialize;
use serde_json::json;
use subtle::ConstantTimeEq;

pub const MAX_BATCH: usize = 500;
/// Room for the envelope around the data.
const MAX_SINGLE_BODY: usize = MAX_EVENT_BYTES + 16 * 1024;
const MAX_BATCH_BODY: usize = 32 * 1024 * 1024;

fn authorize(state: &AppState, headers: &HeaderMap) -> Result<(), Problem> {
    let given = crate::http::security::bearer_token(headers);
    let expected = state.ingest_token.expose().as_bytes();
    // Constant time: the comparison does not reveal how much of a guess was right.
    if bool::from(given.as_bytes().ct_eq(expected)) {
        Ok(())
    } else {
        Err(Problem::unauthorized())
    }
}

async fn read_bytes(body: Body, limit: usize) -> Result<Bytes, Problem> {
    to_bytes(body, limit).await.map_err(|_| {
        Problem::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "Payload too large",
            format!("the request body may be at most {limit} bytes"),
        )
    })
}

/// Reads a JSON body; a field of the wrong shape is a 422 naming it.
pub(crate) async fn read_json<T: serde::de::DeserializeOwned>(
    body: Body,
    limit: usize,
) -> Result<T, Problem> {
    parse_json(&read_bytes(body, limit).await?)
}

/// Like [`read_json`], with an empty body meaning the defaults.
pub(crate) async fn read_json_or_default<T: serde::de::DeserializeOwned + Default>(
    body: Body,
    limit: usize,
) -> Result<T, Problem> {
    let bytes = read_bytes(body, limit).await?;
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Ok(T::default());
    }
    parse_json(&bytes)
}

fn parse_json<T: serde::de::DeserializeOwned>(bytes: &[u8]) -> Result<T, Problem> {
    serde_path_to_error::deserialize(&mut serde_json::Deserializer::from_slice(bytes)).map_err(
        |e| {
            let path = e.path().to_string();
            let inner = e.into_inner();
            let field = field_in_error(&path, &inner.to_string(), "body");
            if matches!(inner.classify(), serde_json::error::Category::Data) {
                Problem::invalid(FieldErrors::single(&field, inner.to_string()))
            } else {
                Problem::new(StatusCode::BAD_REQUEST, "Malformed JSON", inner.to_string())
            }
        },
    )
}

fn idempotency_key(headers: &HeaderMap) -> Result<Option<String>, Problem> {
    match headers.get("idempotency-key") {
        None => Ok(None),
        Some(v) => {
            let key = v.to_str().map_err(|_| {
                Problem::invalid(FieldErrors::single(
                    "Idempotency-Key",
                    "must be printable ASCII",
                ))
            })?;
            ingest::check_idempotency_key(key)
                .map_err(|m| Problem::invalid(FieldErrors::single("Idempotency-Key", m)))?;
            Ok(Some(key.to_owned()))
        }
    }
}

/// `POST /internal/v1/events`: one event. 201 when stored, 200 with
/// `Idempotent-Replayed: true` when the key was seen in the last 24 hours.
pub async fn publish(State(state): State<AppState>, req: Request) -> Result<Response, Problem> {
    let (parts, body) = req.into_parts();
    authorize(&state, &parts.headers)?;
    let key = idempotency_key(&parts.headers)?;
    let input: PublishInput = read_json(body, MAX_SINGLE_BODY).await?;
    let published = state
        .publisher
        .publish(&*state.portal.clock, &input, key.as_deref())
        .await?;
    // The publisher has woken the dispatcher if the event left work queued.
    if !published.replayed {
        state.metrics.published(1);
    }
    tracing::info!(
        event_id = %published.event.id,
        merchant_id = %published.event.merchant_id,
        event_type = %published.event.event_type,
        replayed = published.replayed,
        "event published"
    );
    let status = if published.replayed {
        StatusCode::OK
    } else {
        StatusCode::CREATED
    };
    let mut res = (status, Json(published.event)).into_response();
    if published.replayed {
        res.headers_mut().insert(
            "idempotent-replayed",
            header::HeaderValue::from_static("true"),
        );
    }
    Ok(res)
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct BatchItem {
    merchant_id: String,
    mode: String,
    #[serde(rename = "type")]
    event_type: String,
    data: serde_json::Value,
    #[serde(default)]
    idempotency_key: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Batch {
    events: Vec<BatchItem>,
}

/// `POST /internal/v1/events/batch`: up to 500 events, each with an optional
/// `idempotency_key`. Every event is checked before any is stored; one bad
/// event refuses the batch with its index in the field name.
pub async fn publish_batch(
    State(state): State<AppState>,
    req: Request,
) -> Result<Response, Problem> {
    let (parts, body) = req.into_parts();
    authorize(&state, &parts.headers)?;
    let batch: Batch = read_json(body, MAX_BATCH_BODY).await?;
    if batch.events.is_empty() || batch.events.len() > MAX_BATCH {
        return Err(Problem::invalid(FieldErrors::single(
            "events",
            format!("send 1 to {MAX_BATCH} events (got {})", batch.events.len()),
        )));
    }
    let mut errors = FieldErrors::new();
    let items: Vec<(PublishInput, Option<String>)> = batch
        .events
        .into_iter()
        .enumerate()
        .map(|(i, item)| {
            let input = PublishInput {
                merchant_id: item.merchant_id,
                mode: item.mode,
                event_type: item.event_type,
                data: item.data,
            };
            if let Err(e) = ingest::validate(&input) {
                for f in e.0 {
                    errors.add(&format!("events[{i}].{}", f.field), f.message);
                }
            }
            if let Some(key) = &item.idempotency_key
                && let Err(m) = ingest::check_idempotency_key(key)
            {
                errors.add(&format!("events[{i}].idempotency_key"), m);
            }
            (input, item.idempotency_key)
        })
        .collect();
    // Two events under one key: one of them would be stored and the other
    // refused (or answered as the first), whichever ran first.
    let mut keyed: std::collections::HashMap<&str, usize> = std::collections::HashMap::new();
    for (i, (_, key)) in items.iter().enumerate() {
        if let Some(key) = key
            && let Some(first) = keyed.insert(key.as_str(), i)
        {
            errors.add(
                &format!("events[{i}].idempotency_key"),
                format!("is also the key of events[{first}]; give each event its own"),
            );
        }
    }
    if !errors.is_empty() {
        return Err(Problem::invalid(errors));
    }
    // Unknown merchants refuse the batch before anything is stored.
    // Trimmed, as each event's id is before it is stored.
    let mut merchants: Vec<&str> = items.iter().map(|(i, _)| i.merchant_id.trim()).collect();
    merchants.sort_unstable();
    merchants.dedup();
    for m in merchants {
        if !hookline::store::events::merchant_exists(&state.portal.db, m).await? {
            let mut e = FieldErrors::new();
            for (i, (input, _)) in items.iter().enumerate() {
                if input.merchant_id.trim() == m {
                    e.add(
                        &format!("events[{i}].merchant_id"),
                        format!("no merchant `{m}`"),
                    );
                }
            }
            return Err(Problem::invalid(e));
        }
    }
    // Published together, the events share transactions with each other
    // (and with concurrent requests): one disk sync for many.
    let mut tasks = tokio::task::JoinSet::new();
    for (i, (input, key)) in items.into_iter().enumerate() {
        let (publisher, clock) = (state.publisher.clone(), state.portal.clock.clone());
        tasks.spawn(async move { (i, publisher.publish(&*clock, &input, key.as_deref()).await) });
    }
    let mut results: Vec<Option<serde_json::Value>> = vec![None; tasks.len()];
    let mut conflicts = FieldErrors::new();
    let mut failure = None;
    while let Some(done) = tasks.join_next().await {
        let (i, result) = done.map_err(|e| hookline::Error::Internal(e.to_string()))?;
        match result {
            Ok(p) => {
                if !p.replayed {
                    state.metrics.published(1);
                }
                results[i] = Some(with_replayed(p.event, p.replayed));
            }
            // Only an idempotency key reused for a different event gets here.
            Err(hookline::Error::Validation(fields)) => {
                for f in fields.0 {
                    conflicts.add(&format!("events[{i}].{}", f.field), f.message);
                }
            }
            Err(other) => failure = Some(other),
        }
    }
    if let Some(e) = failure {
        let stored = results.iter().filter(|r| r.is_some()).count();
        let mut problem = Problem::from(e);
        if stored > 0 {
            // Not "nothing was stored": the events are written in several
            // transactions, and the first may have committed.
            problem.detail = format!(
                "storage failed partway: {stored} of {} events were stored before it did; \
                 retry the batch: events with an idempotency_key are not stored twice",
                results.len()
            );
        }
        return Err(problem);
    }
    if !conflicts.is_empty() {
        let mut problem = Problem::invalid(conflicts);
        problem.detail = format!("{} (the other events were stored)", problem.detail);
        return Err(problem);
    }
    let results: Vec<serde_json::Value> = results.into_iter().flatten().collect();
    Ok((StatusCode::OK, Json(json!({ "events": results }))).into_response())
}

fn with_replayed(event: PublishedEvent, replayed: bool) -> serde_json::Value {
    let mut v = serde_json::to_value(event).unwrap_or_default();
    v["replayed"] = json!(replayed);
    v
}

/// `POST /internal/v1/balances`: one balance snapshot from the platform. For
/// a merchant whose balance-warning request was approved, a crossing below
/// the threshold publishes `balance.threshold_warning`.
pub async fn observe_balance(
    State(state): State<AppState>,
    req: Request,
) -> Result<Response, Problem> {
    let (parts, body) = req.into_parts();
    authorize(&state, &parts.headers)?;
    let snapshot: hookline::balance::Snapshot = read_json(body, MAX_SINGLE_BODY).await?;
    let observed = hookline::balance::observe(
        &state.portal.db,
        &*state.portal.clock,
        &snapshot,
        state.balance_rearm_percent,
    )
    .await?;
    if let hookline::balance::Observed::Warned { event_id } = &observed {
        state.metrics.published(1);
        state.portal.dispatcher.wakeup.wake();
        tracing::info!(%event_id, merchant_id = %snapshot.merchant_id, "balance below threshold: warning published");
    }
    Ok((StatusCode::OK, Json(observed)).into_response())
}
