use crate::validation::FieldErrors;

/// The domain layer's one error type. Each caller (portal, API, CLI) maps it to
/// its own answer; only `Database` and `Internal` are the server's fault.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The input broke a rule; every bad field is named.
    #[error("invalid input: {0}")]
    Validation(FieldErrors),
    /// Unknown email or wrong password: deliberately indistinguishable.
    #[error("the email or password is not correct")]
    InvalidCredentials,
    /// Too many failed attempts; try again after this many seconds.
    #[error("too many failed attempts; try again in {retry_after_secs} s")]
    Throttled { retry_after_secs: u64 },
    #[error("not found")]
    NotFound,
    #[error("database error: {0}")]
    Database(#[from] sqlx::Error),
    #[error("migration error: {0}")]
    Migration(#[from] sqlx::migrate::MigrateError),
    /// The database could not be reached; nothing was stored.
    #[error("storage unavailable: {0}")]
    Unavailable(String),
    #[error("internal error: {0}")]
    Internal(String),
}

impl Error {
    /// True when the database could not be reached, as opposed to refusing
    /// the request: callers answer "try again" rather than "broken".
    pub fn is_unavailable(&self) -> bool {
        match self {
            Error::Unavailable(_) => true,
            Error::Database(
                sqlx::Error::PoolTimedOut | sqlx::Error::PoolClosed | sqlx::Error::Io(_),
            ) => true,
            // PostgreSQL shutting down or restarting (57P01-57P03), or a
            // broken connection (class 08).
            Error::Database(sqlx::Error::Database(e)) => e
                .code()
                .is_some_and(|c| c.starts_with("57P") || c.starts_with("08")),
            _ => false,
        }
    }

    /// True when the database refused text the client sent (PostgreSQL
    /// cannot store a NUL byte): the request was at fault, not the server.
    /// Validation refuses control characters first; this is the backstop for
    /// values no validator sees, such as an id in a URL path.
    pub fn is_unstorable_text(&self) -> bool {
        match self {
            // character_not_in_repertoire, untranslatable_character
            Error::Database(sqlx::Error::Database(e)) => {
                e.code().is_some_and(|c| c == "22021" || c == "22P05")
            }
            _ => false,
        }
    }
}

impl From<FieldErrors> for Error {
    fn from(errors: FieldErrors) -> Self {
        Error::Validation(errors)
    }
}

pub type Result<T, E = Error> = std::result::Result<T, E>;
