//! The crate error, one variant per kind of failure a request or a background task can meet, and
//! its `Result` alias. Each layer below keeps its own error enum (`ValidationError`, `StoreError`,
//! `IndexError`) and converts into this one; `api::status` is the one place it becomes a gRPC
//! status.

use crate::index::IndexError;
use crate::model::ValidationError;
use crate::store::StoreError;

/// Everything that can go wrong in tideline's server library.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A request field broke a rule.
    #[error(transparent)]
    Validation(#[from] ValidationError),
    /// A configured limit was exceeded; `limit` is the config key.
    #[error("{message} (limit {limit}={value})")]
    LimitExceeded {
        limit: &'static str,
        value: usize,
        message: String,
    },
    #[error("{what} not found")]
    NotFound { what: String },
    /// No key, or one that is unknown or revoked.
    #[error("{0}")]
    Unauthenticated(String),
    /// A valid key used outside its workspace or scopes.
    #[error("{0}")]
    PermissionDenied(String),
    /// The key's rate is used up; it may call again after `retry_after`.
    #[error("rate limit reached (limit {limit}); retry after {} ms", retry_after.as_millis())]
    RateLimited {
        retry_after: std::time::Duration,
        limit: String,
    },
    /// The request is valid but the resource is not in a state that allows it.
    #[error("{0}")]
    FailedPrecondition(String),
    #[error("timed out: {0}")]
    Timeout(&'static str),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Index(#[from] IndexError),
    /// Binding or reading a socket or a file.
    #[error("i/o error: {0}")]
    Io(#[from] std::io::Error),
    #[error("transport error: {0}")]
    Transport(#[from] tonic::transport::Error),
    /// The gRPC server could not be assembled (e.g. the reflection service).
    #[error("server setup failed: {0}")]
    Setup(String),
    #[error("background task failed: {0}")]
    Task(#[from] tokio::task::JoinError),
    /// A step panicked (its message went to the log); it was stopped and its locks released.
    #[error("internal failure: {0}")]
    Panicked(&'static str),
}

impl Error {
    /// The `kind` (e.g. `theme`) named `id` was not found; a long id is shown in excerpt.
    pub fn not_found(kind: &str, id: &str) -> Error {
        let id = if id.chars().count() <= 64 && !id.contains(char::is_control) {
            id.to_string()
        } else {
            crate::model::quoted(id)
        };
        Error::NotFound {
            what: format!("{kind} {id}"),
        }
    }
}

/// The crate's result type.
pub type Result<T> = std::result::Result<T, Error>;
