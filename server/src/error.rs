use crate::config::ConfigError;
use std::net::SocketAddr;

/// What can stop the server process. Messages are for operators and never
/// carry secret values.
#[derive(Debug, thiserror::Error)]
pub enum ServerError {
    #[error(transparent)]
    Config(#[from] ConfigError),
    #[error("database: {0}")]
    Database(String),
    #[error("cannot listen on {0}: {1}")]
    Bind(SocketAddr, std::io::Error),
    #[error("i/o: {0}")]
    Io(std::io::Error),
    #[error("{0}")]
    Internal(String),
}

impl From<hookline::Error> for ServerError {
    fn from(err: hookline::Error) -> Self {
        ServerError::Database(err.to_string())
    }
}
