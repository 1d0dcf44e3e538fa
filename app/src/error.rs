//! The portal's one error type: what a server function can answer, and what
//! the page shows for it. Each variant carries its HTTP status, which the
//! server applies to the response.

use hookline::{FieldError, FieldErrors};
use leptos::server_fn::codec::JsonEncoding;
use leptos::server_fn::error::{FromServerFnError, ServerFnErrorErr};
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum AppError {
    #[error("You are signed out (the session ended or was closed): sign in again to continue.")]
    Unauthenticated,
    #[error("Your account does not have access to this.")]
    Forbidden,
    #[error("Some fields need attention.")]
    Validation { fields: Vec<FieldError> },
    #[error("The email or password is not correct.")]
    InvalidCredentials,
    #[error("Too many failed sign-in attempts. Try again in {} minute(s).", retry_after_secs.div_ceil(60))]
    Throttled { retry_after_secs: u64 },
    #[error("Not found.")]
    NotFound,
    #[error("The request was malformed: {message}")]
    BadRequest { message: String },
    #[error("Hookline is temporarily unavailable. Please try again shortly.")]
    Unavailable,
    #[error("Something went wrong on our side. Please try again.")]
    Internal,
    /// Raised in the browser when the server could not be reached or answered
    /// with something unreadable.
    #[error("Could not reach Hookline: {message}")]
    Transport { message: String },
}

impl AppError {
    pub fn status(&self) -> u16 {
        match self {
            AppError::Unauthenticated | AppError::InvalidCredentials => 401,
            AppError::Forbidden => 403,
            AppError::NotFound => 404,
            AppError::Validation { .. } => 422,
            AppError::Throttled { .. } => 429,
            AppError::BadRequest { .. } => 400,
            AppError::Unavailable => 503,
            AppError::Internal | AppError::Transport { .. } => 500,
        }
    }

    pub fn validation(fields: FieldErrors) -> Self {
        AppError::Validation { fields: fields.0 }
    }

    /// The message for one form field, if this error names it.
    pub fn field(&self, name: &str) -> Option<String> {
        match self {
            AppError::Validation { fields } => fields
                .iter()
                .find(|f| f.field == name)
                .map(|f| f.message.clone()),
            _ => None,
        }
    }
}

impl FromServerFnError for AppError {
    type Encoder = JsonEncoding;

    fn from_server_fn_error(value: ServerFnErrorErr) -> Self {
        match value {
            ServerFnErrorErr::Args(message) | ServerFnErrorErr::MissingArg(message) => {
                AppError::BadRequest { message }
            }
            // On the server these are a request it could not read: the
            // client's mistake. In the browser, an answer it could not read.
            ServerFnErrorErr::Request(message)
            | ServerFnErrorErr::Deserialization(message)
            | ServerFnErrorErr::UnsupportedRequestMethod(message)
                if cfg!(feature = "ssr") =>
            {
                AppError::BadRequest { message }
            }
            ServerFnErrorErr::Serialization(_) if cfg!(feature = "ssr") => AppError::Internal,
            ServerFnErrorErr::Request(message)
            | ServerFnErrorErr::Deserialization(message)
            | ServerFnErrorErr::Serialization(message)
            | ServerFnErrorErr::UnsupportedRequestMethod(message) => {
                AppError::Transport { message }
            }
            ServerFnErrorErr::Registration(_)
            | ServerFnErrorErr::ServerError(_)
            | ServerFnErrorErr::MiddlewareError(_)
            | ServerFnErrorErr::Response(_) => AppError::Internal,
        }
    }
}

#[cfg(feature = "ssr")]
impl From<hookline::Error> for AppError {
    fn from(err: hookline::Error) -> Self {
        use hookline::Error as E;
        match err {
            E::Validation(fields) => AppError::validation(fields),
            E::InvalidCredentials => AppError::InvalidCredentials,
            E::Throttled { retry_after_secs } => AppError::Throttled { retry_after_secs },
            E::NotFound => AppError::NotFound,
            ref e if e.is_unstorable_text() => AppError::BadRequest {
                message: "it holds a NUL byte or other text that cannot be stored.".into(),
            },
            ref e if e.is_unavailable() => {
                tracing::warn!(error = %err, "database unavailable");
                AppError::Unavailable
            }
            other => {
                tracing::error!(error = %other, "internal error in a portal request");
                AppError::Internal
            }
        }
    }
}

#[cfg(feature = "ssr")]
impl From<tower_sessions::session::Error> for AppError {
    fn from(err: tower_sessions::session::Error) -> Self {
        tracing::error!(error = %err, "session store error");
        AppError::Unavailable
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn serialises_with_a_kind_tag() {
        let err = AppError::validation(FieldErrors::single("email", "Enter your email address."));
        let json = serde_json::to_value(&err).unwrap();
        assert_eq!(json["kind"], "validation");
        assert_eq!(json["fields"][0]["field"], "email");
        let back: AppError = serde_json::from_value(json).unwrap();
        assert_eq!(
            back.field("email").as_deref(),
            Some("Enter your email address.")
        );
        assert_eq!(back.status(), 422);
    }

    #[test]
    fn throttled_message_rounds_up_to_minutes() {
        let err = AppError::Throttled {
            retry_after_secs: 61,
        };
        assert_eq!(
            err.to_string(),
            "Too many failed sign-in attempts. Try again in 2 minute(s)."
        );
    }
}
