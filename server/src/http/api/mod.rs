//! The merchant REST API under `/v1/`: API keys as bearer tokens, the same
//! operations as the portal (`hookline::service`), problem details (RFC 9457)
//! for errors, cursor pagination, `Idempotency-Key` on every POST, a rate
//! limit per key, request ids, and an OpenAPI 3.1 document generated from
//! the operation table below, which also builds the router: a route cannot
//! exist without its documentation.

mod auth;
mod endpoints;
mod events;
mod examples;
mod idempotency;
mod inbox;
pub mod openapi;

use crate::http::AppState;
use crate::http::problem::{Problem, field_in_error};
use axum::Router;
use axum::extract::Request;
use axum::http::{HeaderValue, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::MethodRouter;
use hookline::FieldErrors;
use hookline::api_keys::Caller;
use hookline::audit::Actor;
use hookline::service::Merchant;
use schemars::{JsonSchema, Schema, SchemaGenerator};
use serde::Serialize;
use std::collections::BTreeMap;
use tracing::Instrument;

/// The caller of an API request, set by [`auth::authenticate`].
#[derive(Clone, Debug)]
pub struct ApiCaller {
    pub caller: Caller,
    pub actor: Actor,
}

impl ApiCaller {
    pub fn merchant(&self) -> Merchant<'_> {
        Merchant {
            id: &self.caller.merchant_id,
            mode: self.caller.mode,
            actor: &self.actor,
        }
    }
}

/// A list of items.
#[derive(Serialize, JsonSchema)]
pub struct List<T> {
    pub data: Vec<T>,
}

/// A schema for the document, from a Rust type.
pub type SchemaFn = fn(&mut SchemaGenerator) -> Schema;

pub fn schema<T: JsonSchema>(g: &mut SchemaGenerator) -> Schema {
    g.subschema_for::<T>()
}

/// One operation of the API: how it is routed and how it is documented.
pub struct Op {
    pub method: Method,
    /// In axum's syntax, which is also OpenAPI's: `/v1/endpoints/{id}`.
    pub path: &'static str,
    pub id: &'static str,
    pub summary: &'static str,
    pub description: &'static str,
    /// Query parameters: name, description.
    pub query: &'static [(&'static str, &'static str)],
    pub request: Option<SchemaFn>,
    pub request_example: Option<fn() -> serde_json::Value>,
    /// The success status and its body (`None` for 204).
    pub response: (u16, Option<SchemaFn>),
    pub response_example: Option<fn() -> serde_json::Value>,
    pub handler: fn() -> MethodRouter<AppState>,
}

/// Every operation of the API.
pub fn ops() -> Vec<Op> {
    let mut ops = endpoints::ops();
    ops.extend(events::ops());
    ops.extend(inbox::ops());
    ops
}

/// The `/v1/` routes: the document (public) and every operation (behind a key).
pub fn router(state: &AppState) -> Router<AppState> {
    let mut by_path: BTreeMap<&'static str, MethodRouter<AppState>> = BTreeMap::new();
    for op in ops() {
        let route = (op.handler)();
        let merged = match by_path.remove(op.path) {
            Some(existing) => existing.merge(route),
            None => route,
        };
        by_path.insert(op.path, merged);
    }
    let mut protected = Router::new();
    for (path, route) in by_path {
        protected = protected.route(path, route);
    }
    let protected = protected
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            idempotency::idempotent_posts,
        ))
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            auth::authenticate,
        ));
    Router::new()
        .route("/v1/openapi.json", axum::routing::get(openapi::serve))
        .merge(protected)
        .route("/v1/{*rest}", axum::routing::any(unknown_route))
        .layer(axum::middleware::from_fn(bare_errors_as_problems))
        .layer(axum::middleware::from_fn(request_id))
}

/// A path under `/v1/` that is no route (a typo, a trailing slash).
async fn unknown_route() -> Problem {
    Problem::new(
        StatusCode::NOT_FOUND,
        "Not found",
        "no such API route; /v1/openapi.json lists them all",
    )
}

/// Errors axum answers by itself (a path segment that is not UTF-8, a method
/// the route does not take) come as plain text or empty; an API client gets
/// a problem document for every error.
async fn bare_errors_as_problems(req: Request, next: Next) -> Response {
    let res = next.run(req).await;
    let status = res.status();
    let is_json = res
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.contains("json"));
    if !(status.is_client_error() || status.is_server_error()) || is_json {
        return res;
    }
    let allow = res.headers().get(header::ALLOW).cloned();
    let text = axum::body::to_bytes(res.into_body(), 4096)
        .await
        .map(|b| String::from_utf8_lossy(&b).trim().to_owned())
        .unwrap_or_default();
    let detail = match (&allow, text.is_empty()) {
        (Some(allow), _) if status == StatusCode::METHOD_NOT_ALLOWED => {
            format!(
                "this route takes {}",
                allow.to_str().unwrap_or("other methods")
            )
        }
        (_, false) => text,
        (_, true) => status.canonical_reason().unwrap_or("error").to_lowercase(),
    };
    let mut res =
        Problem::new(status, status.canonical_reason().unwrap_or("Error"), detail).into_response();
    if let Some(allow) = allow {
        res.headers_mut().insert(header::ALLOW, allow);
    }
    res
}

/// Gives each API request an id (the caller's `X-Request-Id` when it is
/// sensible, a fresh one otherwise): in the response and in every log line.
async fn request_id(req: Request, next: Next) -> Response {
    let given = req
        .headers()
        .get("x-request-id")
        .and_then(|v| v.to_str().ok())
        .filter(|v| !v.is_empty() && v.len() <= 64 && v.bytes().all(|b| b.is_ascii_graphic()))
        .map(str::to_owned);
    let id = given.unwrap_or_else(|| format!("req_{}", uuid::Uuid::now_v7().simple()));
    let span = tracing::info_span!("api", request_id = %id, method = %req.method(), path = %req.uri().path());
    let mut res = next.run(req).instrument(span.clone()).await;
    span.in_scope(|| tracing::info!(status = res.status().as_u16(), "api request"));
    if let Ok(value) = HeaderValue::from_str(&id) {
        res.headers_mut().insert("x-request-id", value);
    }
    res
}

/// Reads the query string into `T`, naming the parameter that is wrong.
pub fn query<T: serde::de::DeserializeOwned>(uri: &axum::http::Uri) -> Result<T, Problem> {
    let raw = uri.query().unwrap_or_default();
    let parsed = serde_urlencoded::Deserializer::new(form_urlencoded::parse(raw.as_bytes()));
    serde_path_to_error::deserialize(parsed).map_err(|e| {
        let path = e.path().to_string();
        let message = e.into_inner().to_string();
        let field = field_in_error(&path, &message, "query");
        Problem::invalid(FieldErrors::single(&field, message))
    })
}
