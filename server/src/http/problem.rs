//! Errors of the JSON APIs, as RFC 9457 problem details naming the field at fault.

use axum::Json;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use hookline::{FieldError, FieldErrors};
use serde_json::json;

#[derive(Debug)]
pub struct Problem {
    pub status: StatusCode,
    pub title: &'static str,
    pub detail: String,
    pub errors: Vec<FieldError>,
}

impl Problem {
    pub fn new(status: StatusCode, title: &'static str, detail: impl Into<String>) -> Self {
        Self {
            status,
            title,
            detail: detail.into(),
            errors: Vec::new(),
        }
    }

    pub fn invalid(errors: FieldErrors) -> Self {
        Self {
            status: StatusCode::UNPROCESSABLE_ENTITY,
            title: "Invalid request",
            detail: errors.to_string(),
            errors: errors.0,
        }
    }

    /// A path naming something that does not exist, with the part at fault.
    pub fn not_found(errors: FieldErrors) -> Self {
        Self {
            status: StatusCode::NOT_FOUND,
            title: "Not found",
            detail: errors.to_string(),
            errors: errors.0,
        }
    }

    pub fn unauthorized() -> Self {
        Self::new(
            StatusCode::UNAUTHORIZED,
            "Unauthorized",
            "send the platform ingest token as `Authorization: Bearer <token>`",
        )
    }
}

/// The field a deserialisation error is about. serde names a missing or
/// duplicate field only in its message, at its parent's `path` ("." for the
/// top); an unknown field's `path` is the field. `whole` names the top
/// itself (the body, the query).
pub fn field_in_error(path: &str, message: &str, whole: &str) -> String {
    let named = ["missing field `", "duplicate field `", "unknown field `"]
        .iter()
        .find_map(|prefix| message.strip_prefix(prefix))
        .and_then(|rest| rest.split_once('`'))
        .map(|(name, _)| name);
    match (path, named) {
        (".", Some(name)) => name.to_owned(),
        (".", None) => whole.to_owned(),
        // An unknown field's path is already the field itself.
        (_, Some(name)) if path == name || path.ends_with(&format!(".{name}")) => path.to_owned(),
        (_, Some(name)) => format!("{path}.{name}"),
        (_, None) => path.to_owned(),
    }
}

impl From<hookline::Error> for Problem {
    fn from(err: hookline::Error) -> Self {
        match err {
            hookline::Error::Validation(fields) => Problem::invalid(fields),
            hookline::Error::NotFound => {
                Problem::new(StatusCode::NOT_FOUND, "Not found", "no such resource")
            }
            ref e if e.is_unstorable_text() => Problem::new(
                StatusCode::BAD_REQUEST,
                "Bad request",
                "the request holds a NUL byte or other text that cannot be stored",
            ),
            ref e if e.is_unavailable() => {
                tracing::warn!(error = %e, "database unavailable");
                Problem::new(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "Unavailable",
                    "storage is unavailable; nothing was stored, retry with the same Idempotency-Key",
                )
            }
            other => {
                tracing::error!(error = %other, "internal error in an API request");
                Problem::new(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "Internal error",
                    "something went wrong on our side",
                )
            }
        }
    }
}

impl IntoResponse for Problem {
    fn into_response(self) -> Response {
        let body = json!({
            "type": "about:blank",
            "title": self.title,
            "status": self.status.as_u16(),
            "detail": self.detail,
            "errors": self.errors,
        });
        let mut res = (self.status, Json(body)).into_response();
        res.headers_mut().insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/problem+json"),
        );
        if self.status == StatusCode::UNAUTHORIZED {
            res.headers_mut()
                .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        }
        if self.status == StatusCode::SERVICE_UNAVAILABLE {
            res.headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from_static("5"));
        }
        res
    }
}

#[cfg(test)]
mod tests {
    use super::field_in_error;

    #[test]
    fn names_the_field_serde_puts_only_in_its_message() {
        let cases = [
            (
                ".",
                "missing field `mode` at line 1 column 9",
                "body",
                "mode",
            ),
            (
                "events[1]",
                "missing field `mode`",
                "body",
                "events[1].mode",
            ),
            (".", "duplicate field `limit`", "query", "limit"),
            (
                ".",
                "unknown field `bogus`, expected `after` or `limit`",
                "query",
                "bogus",
            ),
            ("limit", "invalid digit found in string", "query", "limit"),
            (".", "expected a map", "body", "body"),
        ];
        for (path, message, whole, want) in cases {
            assert_eq!(field_in_error(path, message, whole), want, "{message}");
        }
    }
}
