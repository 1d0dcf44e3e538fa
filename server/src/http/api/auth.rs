//! API keys as bearer tokens, the key's source allowlist, and the rate limit
//! per key (counted in the database, so it holds across nodes).

use super::ApiCaller;
use crate::http::AppState;
use crate::http::problem::Problem;
use axum::extract::{ConnectInfo, Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use hookline::api_keys::{self, Refusal};
use hookline::audit::{Action, Actor, NewEntry};
use std::net::{IpAddr, Ipv4Addr, SocketAddr};

/// The rate limit's window.
pub const WINDOW_MS: i64 = 60_000;

fn unauthorized(detail: &str) -> Response {
    Problem::new(StatusCode::UNAUTHORIZED, "Unauthorized", detail).into_response()
}

pub async fn authenticate(State(state): State<AppState>, mut req: Request, next: Next) -> Response {
    let presented = crate::http::security::bearer_token(req.headers()).to_owned();
    if presented.is_empty() {
        return unauthorized(
            "Send an API key from the portal's API keys page as `Authorization: Bearer <key>`.",
        );
    }
    let peer = req
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED), |c| c.0.ip());
    let forwarded = req
        .headers()
        .get_all("x-forwarded-for")
        .iter()
        .filter_map(|v| v.to_str().ok());
    let source = hookline::client_ip::client_ip(peer, forwarded, &state.portal.trusted_proxies);
    let db = &state.portal.db;
    let clock = &*state.portal.clock;
    let caller = match api_keys::authenticate(db, clock, &presented, source).await {
        Ok(Ok(caller)) => caller,
        Ok(Err(Refusal::Unknown)) => return unauthorized("This API key is not valid."),
        Ok(Err(Refusal::Revoked)) => return unauthorized("This API key was revoked."),
        Ok(Err(Refusal::Address {
            key_id,
            merchant_id,
        })) => {
            tracing::warn!(key_id = %key_id, source = %source, "api key used from outside its allowlist");
            let actor = Actor {
                role: "merchant",
                user_id: None,
                email: format!("API key {key_id}"),
                address: source.to_string(),
            };
            let entry = NewEntry {
                actor: &actor,
                merchant_id: Some(&merchant_id),
                action: Action::ApiKeyRefused,
                target: Some(&key_id),
                detail: format!("request from {source} refused: outside the key's allowlist"),
                reason: "",
            };
            if let Err(e) = hookline::audit::record(db, clock, entry).await {
                return Problem::from(e).into_response();
            }
            return Problem::new(
                StatusCode::FORBIDDEN,
                "Forbidden",
                format!("This key may not be used from {source}; see its allowlist in the portal."),
            )
            .into_response();
        }
        Err(e) => return Problem::from(e).into_response(),
    };
    let limit = i64::from(state.api_rate_per_minute);
    match api_keys::rate_limited(db, &caller.key_id, clock.now_ms(), WINDOW_MS, limit).await {
        Ok(None) => {}
        Ok(Some(wait_ms)) => {
            let secs = (wait_ms + 999) / 1000;
            let mut res = Problem::new(
                StatusCode::TOO_MANY_REQUESTS,
                "Too many requests",
                format!("This key may make {limit} requests a minute; try again in {secs} s."),
            )
            .into_response();
            if let Ok(v) = HeaderValue::from_str(&secs.max(1).to_string()) {
                res.headers_mut().insert(header::RETRY_AFTER, v);
            }
            return res;
        }
        Err(e) => return Problem::from(e).into_response(),
    }
    tracing::debug!(key_id = %caller.key_id, merchant_id = %caller.merchant_id, mode = %caller.mode, "api key accepted");
    let actor = Actor {
        role: "merchant",
        user_id: None,
        email: caller.label.clone(),
        address: source.to_string(),
    };
    req.extensions_mut().insert(ApiCaller { caller, actor });
    next.run(req).await
}
