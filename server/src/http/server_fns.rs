//! Server function calls from the portal. The answer's status comes from the
//! portal's error type, so a client mistake is a 4xx, never a 500.

use crate::http::AppState;
use app::error::AppError;
use axum::body::{Body, to_bytes};
use axum::extract::{Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use leptos::prelude::provide_context;
use leptos::server_fn::error::SERVER_FN_ERROR_HEADER;

/// Errors are small JSON documents; anything larger is not ours to rewrite.
const MAX_ERROR_BODY: usize = 64 * 1024;

pub async fn handle(State(state): State<AppState>, req: Request<Body>) -> Response {
    let portal = state.portal.clone();
    let res = leptos_axum::handle_server_fns_with_context(move || provide_context(portal.clone()), req)
        .await
        .into_response();
    apply_error_status(res).await
}

/// server_fn answers every error with 500; give each its real status.
async fn apply_error_status(res: Response) -> Response {
    if !res.headers().contains_key(SERVER_FN_ERROR_HEADER)
        || res.status() != StatusCode::INTERNAL_SERVER_ERROR
    {
        return res;
    }
    let (mut parts, body) = res.into_parts();
    let bytes = match to_bytes(body, MAX_ERROR_BODY).await {
        Ok(bytes) => bytes,
        Err(_) => return (StatusCode::INTERNAL_SERVER_ERROR, "internal error").into_response(),
    };
    if let Ok(err) = serde_json::from_slice::<AppError>(&bytes) {
        parts.status = StatusCode::from_u16(err.status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        if let AppError::Throttled { retry_after_secs } = err {
            parts.headers.insert(header::RETRY_AFTER, HeaderValue::from(retry_after_secs));
        }
        parts
            .headers
            .insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
    }
    Response::from_parts(parts, Body::from(bytes))
}
