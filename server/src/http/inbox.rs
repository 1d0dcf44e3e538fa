//! `POST /inbox/{token}`: the sandbox inbox receiving deliveries. It answers
//! like a merchant server that verifies signatures: 2xx when the signature and
//! timestamp are good, 4xx otherwise, with the reason in a JSON body.

use super::AppState;
use super::problem::Problem;
use axum::Json;
use axum::body::{Body, Bytes, to_bytes};
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::json;
use std::collections::BTreeMap;

/// Larger bodies are refused; Hookline's own events are far smaller.
const MAX_BODY: usize = 256 * 1024;

/// The inbox URLs' common prefix for a public origin.
pub fn base(public_origin: &str) -> String {
    format!("{}/inbox/", public_origin.trim_end_matches('/'))
}

pub async fn receive(
    State(state): State<AppState>,
    Path(token): Path<String>,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, Problem> {
    let body: Bytes = to_bytes(body, MAX_BODY).await.map_err(|_| {
        Problem::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "Payload too large",
            format!("the inbox accepts bodies of at most {MAX_BODY} bytes"),
        )
    })?;
    let headers: BTreeMap<String, String> = headers
        .iter()
        .map(|(k, v)| {
            (
                k.as_str().to_owned(),
                String::from_utf8_lossy(v.as_bytes()).into_owned(),
            )
        })
        .collect();
    let portal = &state.portal;
    let answer = hookline::inbox::receive(
        &portal.db,
        &portal.dispatcher.sbox,
        &*portal.clock,
        &portal.inbox_base,
        &token,
        &headers,
        &body,
    )
    .await?;
    let Some(answer) = answer else {
        return Err(Problem::new(
            StatusCode::NOT_FOUND,
            "Not found",
            "no sandbox inbox has this address",
        ));
    };
    let status = StatusCode::from_u16(answer.status).unwrap_or(StatusCode::BAD_REQUEST);
    let mut response = (
        status,
        Json(json!({ "accepted": status.is_success(), "verdict": answer.verdict })),
    )
        .into_response();
    if let Some(secs) = answer.retry_after_secs {
        response
            .headers_mut()
            .insert(header::RETRY_AFTER, HeaderValue::from(secs));
    }
    Ok(response)
}
