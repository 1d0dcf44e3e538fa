//! `/v1/inbox` and `/v1/notices`: the sandbox inbox, and the onboarding
//! team's notices with their acknowledgement.

use super::{ApiCaller, List, Op, schema};
use crate::http::AppState;
use crate::http::problem::Problem;
use axum::Json;
use axum::extract::{Extension, Path, State};
use axum::http::{Method, StatusCode};
use axum::routing::{get, post};
use hookline::inbox::InboxView;
use hookline::notices::MerchantNotice;

async fn inbox(
    State(state): State<AppState>,
    Extension(c): Extension<ApiCaller>,
) -> Result<Json<InboxView>, Problem> {
    Ok(Json(state.portal.services().inbox(&c.merchant()).await?))
}

async fn notices(
    State(state): State<AppState>,
    Extension(c): Extension<ApiCaller>,
) -> Result<Json<List<MerchantNotice>>, Problem> {
    let data =
        hookline::notices::open_for(&state.portal.db, &c.caller.merchant_id, c.caller.mode).await?;
    Ok(Json(List { data }))
}

async fn acknowledge(
    State(state): State<AppState>,
    Extension(c): Extension<ApiCaller>,
    Path(id): Path<String>,
) -> Result<StatusCode, Problem> {
    hookline::notices::acknowledge(
        &state.portal.db,
        &*state.portal.clock,
        &c.caller.merchant_id,
        &c.caller.label,
        &id,
    )
    .await?;
    Ok(StatusCode::NO_CONTENT)
}

pub fn ops() -> Vec<Op> {
    vec![
        Op {
            method: Method::GET,
            path: "/v1/inbox",
            id: "getInbox",
            summary: "The sandbox inbox",
            description: "The merchant's hosted test URL and what arrived there: headers, body, and whether each signature was valid.",
            query: &[],
            request: None,
            request_example: None,
            response: (200, Some(schema::<InboxView>)),
            response_example: None,
            handler: || get(inbox),
        },
        Op {
            method: Method::GET,
            path: "/v1/notices",
            id: "listNotices",
            summary: "Open notices",
            description: "Format-change and maintenance notices from Hookline not yet acknowledged, newest first.",
            query: &[],
            request: None,
            request_example: None,
            response: (200, Some(schema::<List<MerchantNotice>>)),
            response_example: None,
            handler: || get(notices),
        },
        Op {
            method: Method::POST,
            path: "/v1/notices/{id}/acknowledge",
            id: "acknowledgeNotice",
            summary: "Acknowledge a notice",
            description: "The notice leaves the dashboard; the onboarding team sees who acknowledged it.",
            query: &[],
            request: None,
            request_example: None,
            response: (204, None),
            response_example: None,
            handler: || post(acknowledge),
        },
    ]
}
