//! `/v1/deliveries` and `/v1/events`: the delivery log with the portal's
//! filters, one event with every attempt, resend, and the reconciliation feed.

use super::{ApiCaller, Op, query, schema};
use crate::http::AppState;
use crate::http::problem::Problem;
use axum::Json;
use axum::extract::{Extension, Path, State};
use axum::http::{Method, Uri};
use axum::routing::{get, post};
use hookline::feed::FeedPage;
use hookline::logs::{EventDetail, LogPage, LogQuery};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct FeedQuery {
    #[serde(default)]
    after: String,
    limit: Option<i64>,
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct Queued {
    /// Deliveries queued again.
    pub queued: u64,
}

async fn deliveries(
    State(state): State<AppState>,
    Extension(c): Extension<ApiCaller>,
    uri: Uri,
) -> Result<Json<LogPage>, Problem> {
    let q: LogQuery = query(&uri)?;
    Ok(Json(
        hookline::logs::ops::page(&state.portal.db, &c.caller.merchant_id, c.caller.mode, &q)
            .await?,
    ))
}

async fn feed(
    State(state): State<AppState>,
    Extension(c): Extension<ApiCaller>,
    uri: Uri,
) -> Result<Json<FeedPage>, Problem> {
    let q: FeedQuery = query(&uri)?;
    Ok(Json(
        hookline::feed::page(
            &state.portal.db,
            &c.caller.merchant_id,
            c.caller.mode,
            &q.after,
            q.limit,
        )
        .await?,
    ))
}

async fn event(
    State(state): State<AppState>,
    Extension(c): Extension<ApiCaller>,
    Path(id): Path<String>,
) -> Result<Json<EventDetail>, Problem> {
    Ok(Json(
        hookline::logs::ops::event(&state.portal.db, &c.caller.merchant_id, c.caller.mode, &id)
            .await?,
    ))
}

async fn resend(
    State(state): State<AppState>,
    Extension(c): Extension<ApiCaller>,
    Path(id): Path<String>,
) -> Result<Json<Queued>, Problem> {
    let queued = state
        .portal
        .services()
        .resend(&c.merchant(), &id, "")
        .await?;
    Ok(Json(Queued { queued }))
}

const LOG_FILTERS: &[(&str, &str)] = &[
    ("endpoint", "Only deliveries to this endpoint id."),
    (
        "event_type",
        "Only events of this type, such as `payin.succeeded`.",
    ),
    ("status", "`pending`, `held`, `succeeded` or `failed`."),
    ("from", "Created at or after, UTC: `2026-11-28T14:05:00Z`."),
    ("to", "Created before, UTC."),
    ("search", "An event id (`evt_…`) or a transaction id."),
    ("cursor", "The `next_cursor` of the previous page."),
    ("limit", "Rows per page, 1 to 200 (default 50)."),
];

pub fn ops() -> Vec<Op> {
    vec![
        Op {
            method: Method::GET,
            path: "/v1/deliveries",
            id: "listDeliveries",
            summary: "List deliveries",
            description: "The delivery log, newest first: one row per event and endpoint, with the same filters as the portal.",
            query: LOG_FILTERS,
            request: None,
            request_example: None,
            response: (200, Some(schema::<LogPage>)),
            response_example: Some(super::examples::log_page),
            handler: || get(deliveries),
        },
        Op {
            method: Method::GET,
            path: "/v1/events",
            id: "listEvents",
            summary: "Reconciliation feed",
            description: "The key's mode's events in a stable order, each with how its deliveries went. Pass `next` as `after` to continue; no event is skipped or repeated, even while new ones arrive. `next` is set on the last page too: keep it and ask again later.",
            query: &[
                (
                    "after",
                    "The `next` cursor of the previous page; empty for the first event.",
                ),
                ("limit", "Events per page, 1 to 500 (default 100)."),
            ],
            request: None,
            request_example: None,
            response: (200, Some(schema::<FeedPage>)),
            response_example: Some(super::examples::feed_page),
            handler: || get(feed),
        },
        Op {
            method: Method::GET,
            path: "/v1/events/{id}",
            id: "getEvent",
            summary: "Get an event",
            description: "The event's payload and every delivery with each attempt: request headers, response status, headers and body, latency, error class.",
            query: &[],
            request: None,
            request_example: None,
            response: (200, Some(schema::<EventDetail>)),
            response_example: None,
            handler: || get(event),
        },
        Op {
            method: Method::POST,
            path: "/v1/events/{id}/resend",
            id: "resendEvent",
            summary: "Resend an event",
            description: "Sends it again to every enabled endpoint it went to, with the same webhook-id.",
            query: &[],
            request: None,
            request_example: None,
            response: (200, Some(schema::<Queued>)),
            response_example: None,
            handler: || post(resend),
        },
    ]
}
