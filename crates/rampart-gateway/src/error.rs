//! Errors of the gateway library. Messages say what is wrong and what to do; none carries a
//! secret (key material, tokens, prompt text).

/// Gateway errors.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The configuration is invalid.
    #[error("configuration: {0}")]
    Config(String),
    /// Storage (SQLite, PostgreSQL, Redis) failed.
    #[error("storage: {0}")]
    Store(String),
    /// The audit log failed verification or could not be read.
    #[error("audit: {0}")]
    Audit(String),
    /// A key operation failed (unknown id, revoked, ...).
    #[error("keys: {0}")]
    Keys(String),
    /// Reading or writing a file.
    #[error("{0}")]
    Io(#[from] std::io::Error),
}

impl From<rusqlite::Error> for Error {
    fn from(e: rusqlite::Error) -> Self {
        Error::Store(format!("sqlite: {e}"))
    }
}

impl From<tokio_postgres::Error> for Error {
    fn from(e: tokio_postgres::Error) -> Self {
        Error::Store(format!("postgres: {e}"))
    }
}

impl From<redis::RedisError> for Error {
    fn from(e: redis::RedisError) -> Self {
        Error::Store(format!("redis: {e}"))
    }
}

/// Result with [`Error`].
pub type Result<T> = std::result::Result<T, Error>;
