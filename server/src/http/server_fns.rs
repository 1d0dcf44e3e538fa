//! Server function answers. leptos_axum mounts every server function under
//! `/api/`; this layer gives their errors the status the portal's error type
//! names, so a client mistake is a 4xx, never a 500.

use app::error::AppError;
use axum::body::{Body, to_bytes};
use axum::extract::Request;
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use leptos::server_fn::error::SERVER_FN_ERROR_HEADER;

/// Errors are small JSON documents; anything larger is not ours to rewrite.
const MAX_ERROR_BODY: usize = 64 * 1024;

/// The largest server function request. The portal's forms are a few KiB;
/// server_fn itself would read a body of any size into memory.
pub const MAX_REQUEST_BODY: usize = 1024 * 1024;

/// Reads a server function's request body up to [`MAX_REQUEST_BODY`], and
/// refuses a larger one with 413 before any more of it is held.
pub async fn limit_request_body(req: Request, next: Next) -> Response {
    if !req.uri().path().starts_with("/api/") {
        return next.run(req).await;
    }
    let (parts, body) = req.into_parts();
    match to_bytes(body, MAX_REQUEST_BODY).await {
        Ok(bytes) => {
            next.run(Request::from_parts(parts, Body::from(bytes)))
                .await
        }
        Err(_) => {
            let err = AppError::BadRequest {
                message: format!(
                    "the request is larger than {} KiB.",
                    MAX_REQUEST_BODY / 1024
                ),
            };
            let mut res = (StatusCode::PAYLOAD_TOO_LARGE, axum::Json(err)).into_response();
            // As server_fn marks its own errors: the header names the function.
            if let Ok(path) = HeaderValue::from_str(parts.uri.path()) {
                res.headers_mut().insert(SERVER_FN_ERROR_HEADER, path);
            }
            res
        }
    }
}

/// server_fn answers every error with 500; give each its real status.
pub async fn apply_error_status(req: Request, next: Next) -> Response {
    let res = next.run(req).await;
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
        parts.status =
            StatusCode::from_u16(err.status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        if let AppError::Throttled { retry_after_secs } = err {
            parts
                .headers
                .insert(header::RETRY_AFTER, HeaderValue::from(retry_after_secs));
        }
        parts.headers.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        );
    }
    Response::from_parts(parts, Body::from(bytes))
}
