//! Request-level protections shared by every route.

use axum::Json;
use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use serde_json::json;
use std::sync::Arc;

/// Refuses any state-changing request (server function, form post) whose
/// `Origin` (or, failing that, `Referer`) is not the portal's own. Together
/// with SameSite=Strict cookies this shuts out cross-site request forgery.
/// The internal API (a bearer token, not a cookie) and the sandbox inbox
/// (deliveries from the dispatcher, verified by signature) are exempt.
pub async fn same_origin_only(
    State(origin): State<Arc<str>>,
    req: Request,
    next: Next,
) -> Response {
    let safe = matches!(*req.method(), Method::GET | Method::HEAD | Method::OPTIONS);
    if safe
        || req.uri().path().starts_with("/internal/")
        || req.uri().path().starts_with("/inbox/")
        // The REST API authenticates with bearer keys, which browsers never
        // attach on their own, so cross-site requests cannot ride on them.
        || req.uri().path().starts_with("/v1/")
        || is_same_origin(req.headers(), &origin)
    {
        return next.run(req).await;
    }
    tracing::warn!(method = %req.method(), path = %req.uri().path(), "refused a cross-origin request");
    (
        StatusCode::FORBIDDEN,
        Json(json!({
            "kind": "cross_origin",
            "message": "This request did not come from the Hookline portal and was refused.",
        })),
    )
        .into_response()
}

fn is_same_origin(headers: &HeaderMap, origin: &str) -> bool {
    if headers
        .get("sec-fetch-site")
        .is_some_and(|v| v.as_bytes() == b"cross-site")
    {
        return false;
    }
    if let Some(value) = headers.get(header::ORIGIN) {
        return value.to_str().is_ok_and(|v| v.eq_ignore_ascii_case(origin));
    }
    // Some clients omit Origin on same-origin posts; the Referer must then match.
    headers
        .get(header::REFERER)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|referer| {
            let lower = referer.to_ascii_lowercase();
            lower
                .strip_prefix(origin)
                .is_some_and(|rest| rest.is_empty() || rest.starts_with('/'))
        })
}

/// Headers every response carries.
pub async fn headers(req: Request, next: Next) -> Response {
    let mut res = next.run(req).await;
    let h = res.headers_mut();
    h.insert(
        "x-content-type-options",
        HeaderValue::from_static("nosniff"),
    );
    h.insert("x-frame-options", HeaderValue::from_static("DENY"));
    h.insert("referrer-policy", HeaderValue::from_static("same-origin"));
    res
}

/// The token of an `Authorization: Bearer <token>` header, or "" when there
/// is none. The scheme's name is case-insensitive (RFC 9110).
pub fn bearer_token(headers: &HeaderMap) -> &str {
    headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split_once(' '))
        .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
        .map_or("", |(_, token)| token.trim())
}

#[cfg(test)]
mod tests {
    use super::is_same_origin;
    use axum::http::{HeaderMap, HeaderValue};

    fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.insert(*k, HeaderValue::from_static(v));
        }
        h
    }

    #[test]
    fn origin_rules() {
        let me = "http://127.0.0.1:3000";
        assert!(is_same_origin(
            &headers(&[("origin", "http://127.0.0.1:3000")]),
            me
        ));
        assert!(!is_same_origin(
            &headers(&[("origin", "http://evil.example")]),
            me
        ));
        assert!(!is_same_origin(&headers(&[("origin", "null")]), me));
        assert!(is_same_origin(
            &headers(&[("referer", "http://127.0.0.1:3000/login")]),
            me
        ));
        assert!(!is_same_origin(
            &headers(&[("referer", "http://127.0.0.1:30000/")]),
            me
        ));
        assert!(!is_same_origin(&headers(&[]), me));
        assert!(!is_same_origin(
            &headers(&[
                ("origin", "http://127.0.0.1:3000"),
                ("sec-fetch-site", "cross-site")
            ]),
            me
        ));
    }
}
