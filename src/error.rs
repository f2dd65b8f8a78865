//! The crate's error type, one variant per layer, and its `Result` alias.
//! `api::status` is the one place these become gRPC statuses.

use crate::config::ConfigError;
use crate::index::IndexError;
use crate::model::ValidationError;
use crate::store::StoreError;

/// Everything that can go wrong in tideline's library.
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
    /// The request is valid but the resource is not in a state that allows it.
    #[error("{0}")]
    FailedPrecondition(String),
    #[error("timed out: {0}")]
    Timeout(&'static str),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Index(#[from] IndexError),
    #[error(transparent)]
    Config(#[from] ConfigError),
    #[error(transparent)]
    Import(#[from] crate::import::ImportError),
    #[error("i/o error: {0}")]
    Io(#[from] std::io::Error),
    #[error("transport error: {0}")]
    Transport(#[from] tonic::transport::Error),
    #[error("background task failed: {0}")]
    Task(#[from] tokio::task::JoinError),
}

/// The crate's result type.
pub type Result<T> = std::result::Result<T, Error>;
