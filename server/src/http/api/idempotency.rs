//! `Idempotency-Key` on every POST: the first request with a key runs and
//! its answer is kept for 24 hours; a repeat with the same body gets that
//! answer again (`Idempotent-Replayed: true`), a repeat while the first
//! still runs gets 409, and the same key with another body gets 422. The
//! first request runs to its end even if its client hangs up, so its answer
//! is there for the retry.

use super::ApiCaller;
use crate::http::AppState;
use crate::http::problem::Problem;
use axum::body::{Body, to_bytes};
use axum::extract::{Request, State};
use axum::http::{HeaderValue, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use hookline::FieldErrors;
use hookline::api_keys::{self, Idempotency};
use hookline::store::Db;
use sha2::{Digest, Sha256};
use tracing::Instrument;

/// The largest request body the API reads.
pub const MAX_BODY: usize = 1024 * 1024;
/// The largest answer kept for replay.
const MAX_KEPT: usize = 4 * 1024 * 1024;

pub async fn idempotent_posts(State(state): State<AppState>, req: Request, next: Next) -> Response {
    if req.method() != Method::POST {
        return next.run(req).await;
    }
    let key = match req.headers().get("idempotency-key") {
        None => return next.run(req).await,
        Some(v) => {
            let checked = v
                .to_str()
                .map_err(|_| "must be printable ASCII".to_owned())
                .and_then(|k| hookline::ingest::check_idempotency_key(k).map(|()| k.to_owned()));
            match checked {
                Ok(k) => k,
                Err(message) => {
                    return Problem::invalid(FieldErrors::single("Idempotency-Key", message))
                        .into_response();
                }
            }
        }
    };
    let Some(caller) = req.extensions().get::<ApiCaller>().cloned() else {
        return next.run(req).await;
    };
    let (parts, body) = req.into_parts();
    let Ok(bytes) = to_bytes(body, MAX_BODY).await else {
        return Problem::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "Payload too large",
            format!("the request body may be at most {MAX_BODY} bytes"),
        )
        .into_response();
    };
    let mut hasher = Sha256::new();
    hasher.update(parts.method.as_str().as_bytes());
    hasher.update([0]);
    hasher.update(parts.uri.path().as_bytes());
    hasher.update([0]);
    hasher.update(&bytes);
    let hash: String = hasher
        .finalize()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    let db = &state.portal.db;
    let key_id = &caller.caller.key_id;
    match api_keys::begin_idempotent(db, &*state.portal.clock, key_id, &key, &hash).await {
        Err(e) => return Problem::from(e).into_response(),
        Ok(Idempotency::Mismatch) => {
            return Problem::invalid(FieldErrors::single(
                "Idempotency-Key",
                "was already used for a different request; use a new key for a new request",
            ))
            .into_response();
        }
        Ok(Idempotency::InProgress) => {
            return Problem::new(
                StatusCode::CONFLICT,
                "Conflict",
                "A request with this Idempotency-Key is still running; retry in a moment.",
            )
            .into_response();
        }
        Ok(Idempotency::Replay(status, body)) => {
            let status = StatusCode::from_u16(status).unwrap_or(StatusCode::OK);
            // Every /v1 answer with a body is JSON; a 204 has neither.
            let kind = match (body.is_empty(), status.is_success()) {
                (true, _) => None,
                (false, true) => Some("application/json"),
                (false, false) => Some("application/problem+json"),
            };
            let mut res = (status, body).into_response();
            match kind {
                Some(kind) => res
                    .headers_mut()
                    .insert(header::CONTENT_TYPE, HeaderValue::from_static(kind)),
                None => res.headers_mut().remove(header::CONTENT_TYPE),
            };
            res.headers_mut()
                .insert("idempotent-replayed", HeaderValue::from_static("true"));
            return res;
        }
        Ok(Idempotency::Fresh) => {}
    }
    // The request runs to its end and its answer is kept even if the client
    // hangs up meanwhile: dropped halfway, a request that took effect would
    // leave its key claimed with no answer to replay.
    let db = db.clone();
    let key_id = key_id.clone();
    let run = tokio::spawn(
        async move {
            let res = next
                .run(Request::from_parts(parts, Body::from(bytes)))
                .await;
            keep_for_replay(&db, &key_id, &key, res).await
        }
        .instrument(tracing::Span::current()),
    );
    run.await.unwrap_or_else(|e| {
        tracing::error!(error = %e, "an idempotent API request stopped");
        Problem::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "Internal error",
            "something went wrong on our side",
        )
        .into_response()
    })
}

/// Stores `res` as the key's answer, or releases the key when the failure
/// was Hookline's, so a retry runs the request again.
async fn keep_for_replay(db: &Db, key_id: &str, key: &str, res: Response) -> Response {
    let status = res.status();
    if status.is_server_error() {
        // Not the caller's fault: let a retry run the request again.
        if let Err(e) = api_keys::abandon_idempotent(db, key_id, key).await {
            tracing::warn!(error = %e, "could not release an idempotency key");
        }
        return res;
    }
    let (parts, body) = res.into_parts();
    let Ok(bytes) = to_bytes(body, MAX_KEPT).await else {
        tracing::error!("an API answer was too large to keep for replay");
        let _ = api_keys::abandon_idempotent(db, key_id, key).await;
        return Problem::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "Internal error",
            "something went wrong on our side",
        )
        .into_response();
    };
    let text = String::from_utf8_lossy(&bytes).into_owned();
    if let Err(e) = api_keys::finish_idempotent(db, key_id, key, status.as_u16(), &text).await {
        tracing::warn!(error = %e, "could not keep an answer for replay");
    }
    Response::from_parts(parts, Body::from(bytes))
}
