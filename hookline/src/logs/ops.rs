//! Reading the delivery log and putting deliveries back in the queue. Every
//! call is scoped to one merchant and mode: anything else is not found.

use super::{
    AttemptView, DeliveryDetail, DeliveryState, EventDetail, LogPage, LogQuery, LogRow,
    MAX_PAGE_SIZE, PAGE_SIZE, RECOVER_PER_SECOND, RecoverInput, RecoverPlan,
};
use crate::clock::Clock;
use crate::endpoints;
use crate::error::{Error, Result};
use crate::events::EventType;
use crate::mode::Mode;
use crate::store::Db;
use crate::store::deliveries::{self as delivery_store, AttemptRow};
use crate::store::logs::{self as store, LogFilter, LogRowRaw};
use crate::time::parse_input;
use crate::validation::{CONTROL_CHARACTER, FieldErrors, excerpt, has_control_character};

fn state(status: &str, held: bool) -> Result<DeliveryState> {
    if held {
        return Ok(DeliveryState::Held);
    }
    DeliveryState::parse(status)
        .filter(|s| *s != DeliveryState::Held)
        .ok_or_else(|| Error::Internal(format!("unknown delivery status {status}")))
}

fn event_type(raw: &str) -> Result<EventType> {
    raw.parse().map_err(Error::Internal)
}

fn non_empty(s: &str) -> Option<&str> {
    Some(s.trim()).filter(|s| !s.is_empty())
}

/// `from`/`to` fields: empty is `None`, anything else must be a date and time.
fn time_field(errors: &mut FieldErrors, field: &str, raw: &str) -> Option<i64> {
    let raw = non_empty(raw)?;
    let parsed = parse_input(raw);
    if parsed.is_none() {
        errors.add(
            field,
            "Enter a date and time such as 2026-11-28T14:05 (UTC).",
        );
    }
    parsed
}

fn cursor_of(row: &LogRowRaw) -> String {
    format!("{}.{}", row.created_ms, row.delivery_id)
}

fn parse_cursor(raw: &str) -> Option<(i64, &str)> {
    let (ms, id) = raw.split_once('.')?;
    Some((ms.parse().ok()?, id))
        .filter(|(_, id)| id.starts_with("dlv_") && !has_control_character(id, false))
}

/// One page of the merchant's deliveries in `mode`, newest first.
pub async fn page(db: &Db, merchant_id: &str, mode: Mode, q: &LogQuery) -> Result<LogPage> {
    let mut errors = FieldErrors::new();
    if let Some(t) = non_empty(&q.event_type)
        && t.parse::<EventType>().is_err()
    {
        errors.add(
            "event_type",
            format!("`{}` is not an event type.", excerpt(t)),
        );
    }
    for (field, value) in [("search", &q.search), ("endpoint", &q.endpoint)] {
        if has_control_character(value, false) {
            errors.add(field, CONTROL_CHARACTER);
        }
    }
    let status = non_empty(&q.status);
    if let Some(s) = status
        && DeliveryState::parse(s).is_none()
    {
        errors.add("status", "Choose pending, held, succeeded or failed.");
    }
    let from_ms = time_field(&mut errors, "from", &q.from);
    let to_ms = time_field(&mut errors, "to", &q.to);
    if let (Some(from), Some(to)) = (from_ms, to_ms)
        && from >= to
    {
        errors.add("to", "The end of the range must be after its start.");
    }
    let before = match non_empty(&q.cursor) {
        Some(raw) => {
            let parsed = parse_cursor(raw);
            if parsed.is_none() {
                errors.add(
                    "cursor",
                    "This page link is not valid; start again from the first page.",
                );
            }
            parsed
        }
        None => None,
    };
    let size = match non_empty(&q.limit) {
        None => PAGE_SIZE,
        Some(raw) => match raw.parse::<usize>() {
            Ok(n) if (1..=MAX_PAGE_SIZE).contains(&n) => n,
            _ => {
                errors.add("limit", format!("Ask for 1 to {MAX_PAGE_SIZE} rows."));
                PAGE_SIZE
            }
        },
    };
    errors.into_result(())?;
    let filter = LogFilter {
        merchant_id,
        mode: mode.as_str(),
        endpoint_id: non_empty(&q.endpoint),
        event_type: non_empty(&q.event_type),
        state: status,
        from_ms,
        to_ms,
        search: non_empty(&q.search),
        before,
        limit: size as i64 + 1,
    };
    let mut raw = store::page(db, &filter).await?;
    let next_cursor = (raw.len() > size).then(|| cursor_of(&raw[size - 1]));
    raw.truncate(size);
    let rows = raw
        .into_iter()
        .map(|r| {
            let state = state(&r.status, r.held)?;
            Ok(LogRow {
                event_type: event_type(&r.event_type)?,
                next_attempt_ms: (state == DeliveryState::Pending).then_some(r.next_attempt_ms),
                state,
                delivery_id: r.delivery_id,
                event_id: r.event_id,
                resource_id: r.resource_id,
                endpoint_id: r.endpoint_id,
                endpoint_url: r.endpoint_url,
                attempts: r.attempts,
                last_status: r.last_status,
                last_error: r.last_error,
                created_ms: r.created_ms,
                is_test: r.is_test,
            })
        })
        .collect::<Result<Vec<_>>>()?;
    Ok(LogPage { rows, next_cursor })
}

fn headers(json: Option<&str>) -> Vec<(String, String)> {
    let Some(Ok(serde_json::Value::Object(map))) =
        json.map(serde_json::from_str::<serde_json::Value>)
    else {
        return Vec::new();
    };
    map.into_iter()
        .map(|(k, v)| match v {
            serde_json::Value::String(s) => (k, s),
            other => (k, other.to_string()),
        })
        .collect()
}

fn attempt_view(a: AttemptRow) -> AttemptView {
    AttemptView {
        attempt_no: a.attempt_no,
        started_ms: a.started_ms,
        latency_ms: a.latency_ms,
        request_headers: headers(Some(&a.request_headers)),
        response_headers: headers(a.response_headers.as_deref()),
        url: a.url,
        payload_version: (!a.payload_version.is_empty()).then_some(a.payload_version),
        response_status: a.response_status,
        response_body: a.response_body,
        error_class: a.error_class,
        error_message: a.error_message,
    }
}

/// One of the merchant's events in `mode`, its payload and every attempt.
pub async fn event(db: &Db, merchant_id: &str, mode: Mode, event_id: &str) -> Result<EventDetail> {
    let (event, is_test) = store::event(db, merchant_id, event_id)
        .await?
        .filter(|(e, _)| e.mode == mode.as_str())
        .ok_or(Error::NotFound)?;
    let payload = serde_json::from_str::<serde_json::Value>(&event.data)
        .and_then(|v| serde_json::to_string_pretty(&v))
        .unwrap_or(event.data.clone());
    let mut attempts = delivery_store::attempts_of_event(db, event_id).await?;
    let deliveries = store::deliveries_of_event(db, event_id)
        .await?
        .into_iter()
        .map(|d| {
            let state = state(&d.status, d.held)?;
            let mine: Vec<AttemptView> = attempts
                .extract_if(.., |a| a.delivery_id == d.id)
                .map(attempt_view)
                .collect();
            Ok(DeliveryDetail {
                next_attempt_ms: (state == DeliveryState::Pending).then_some(d.next_attempt_ms),
                state,
                delivery_id: d.id,
                endpoint_id: d.endpoint_id,
                endpoint_url: d.endpoint_url,
                endpoint_deleted: d.endpoint_deleted,
                attempts: mine,
            })
        })
        .collect::<Result<Vec<_>>>()?;
    Ok(EventDetail {
        event_type: event_type(&event.event_type)?,
        mode,
        is_test,
        created_ms: event.created_ms,
        resource_id: event.resource_id,
        id: event.id,
        payload,
        deliveries,
    })
}

/// The mode of one of the merchant's events.
pub async fn mode_of(db: &Db, merchant_id: &str, event_id: &str) -> Result<Mode> {
    let (event, _) = store::event(db, merchant_id, event_id)
        .await?
        .ok_or(Error::NotFound)?;
    event.mode.parse().map_err(Error::Internal)
}

/// Sends the event again to every enabled endpoint it went to. Answers how
/// many deliveries were queued.
pub async fn resend(
    db: &Db,
    clock: &dyn Clock,
    merchant_id: &str,
    mode: Mode,
    event_id: &str,
) -> Result<u64> {
    let detail = event(db, merchant_id, mode, event_id).await?;
    if detail.is_test {
        return Err(Error::Validation(FieldErrors::single(
            "event",
            "Test events are sent once; send a new test event instead.",
        )));
    }
    let queued = store::resend(db, merchant_id, event_id, clock.now_ms()).await?;
    if queued == 0 {
        return Err(Error::Validation(FieldErrors::single(
            "event",
            "None of this event's endpoints can receive it now: they are disabled, deleted, or sending it at this moment.",
        )));
    }
    Ok(queued)
}

async fn plan(db: &Db, merchant_id: &str, mode: Mode, input: &RecoverInput) -> Result<RecoverPlan> {
    let mut errors = FieldErrors::new();
    let endpoint = match non_empty(&input.endpoint) {
        Some(id) if has_control_character(id, false) => {
            errors.add("endpoint", "Choose one of your endpoints.");
            None
        }
        Some(id) => match endpoints::get(db, merchant_id, id).await {
            Ok(ep) if ep.mode == mode => Some(ep),
            Ok(_) | Err(Error::NotFound) => {
                errors.add("endpoint", "Choose one of your endpoints.");
                None
            }
            Err(e) => return Err(e),
        },
        None => {
            errors.add("endpoint", "Choose the endpoint to recover.");
            None
        }
    };
    let from = time_field(&mut errors, "from", &input.from);
    let to = time_field(&mut errors, "to", &input.to);
    if non_empty(&input.from).is_none() {
        errors.add("from", "Enter the start of the range.");
    }
    if non_empty(&input.to).is_none() {
        errors.add("to", "Enter the end of the range.");
    }
    if let (Some(from), Some(to)) = (from, to)
        && from >= to
    {
        errors.add("to", "The end of the range must be after its start.");
    }
    if let Some(ep) = &endpoint
        && !ep.enabled
    {
        errors.add(
            "endpoint",
            "Enable this endpoint before recovering its events.",
        );
    }
    errors.into_result(())?;
    let (Some(ep), Some(from), Some(to)) = (endpoint, from, to) else {
        return Err(Error::Internal(
            "recover input passed validation incomplete".into(),
        ));
    };
    let failed = store::count_recoverable(db, merchant_id, &ep.id, from, to).await?;
    Ok(RecoverPlan::new(ep.id, ep.url, from, to, failed))
}

/// How many failed deliveries a recover would send again, without sending.
pub async fn recover_preview(
    db: &Db,
    merchant_id: &str,
    mode: Mode,
    input: &RecoverInput,
) -> Result<RecoverPlan> {
    plan(db, merchant_id, mode, input).await
}

/// Queues the failed deliveries again, oldest first, at most
/// [`RECOVER_PER_SECOND`] per second. Answers what was queued.
pub async fn recover(
    db: &Db,
    clock: &dyn Clock,
    merchant_id: &str,
    mode: Mode,
    input: &RecoverInput,
) -> Result<RecoverPlan> {
    let planned = plan(db, merchant_id, mode, input).await?;
    let queued = store::recover(
        db,
        merchant_id,
        &planned.endpoint_id,
        planned.from_ms,
        planned.to_ms,
        clock.now_ms(),
        1000 / RECOVER_PER_SECOND,
        planned.to_send,
    )
    .await?;
    Ok(RecoverPlan::new(
        planned.endpoint_id,
        planned.endpoint_url,
        planned.from_ms,
        planned.to_ms,
        queued as i64,
    ))
}
