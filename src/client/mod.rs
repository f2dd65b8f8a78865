//! The client: everything that talks to a tideline server the way any other client would, over
//! gRPC — the command-line commands ([`cli`]) and their tables ([`report`], [`views`] for the
//! insight views, [`owners`] for the accountability loop and the digest), the bulk [`import`]
//! tool, the one-command [`demo`], the load generator ([`bench`]), and the evaluation commands
//! ([`eval`], which measure the
//! analysers themselves on labelled files). Nothing here reaches into the server's engine, store,
//! index or API; the layering test holds it to that.

pub mod access;
pub mod bench;
pub mod cli;
mod connection;
pub mod demo;
pub mod eval;
pub mod import;
pub mod owners;
pub mod report;
pub mod views;

use self::import::ImportError;

/// Client errors.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    #[error("cannot connect to {server}: {source}")]
    Connect {
        server: String,
        source: tonic::transport::Error,
    },
    #[error("server answered: {0}")]
    Status(#[from] tonic::Status),
    #[error(transparent)]
    Import(#[from] ImportError),
    #[error("invalid server address {0:?} (expected e.g. http://127.0.0.1:50051)")]
    ServerAddress(String),
    #[error("the api key holds characters a request header cannot carry")]
    ApiKey,
    #[error("cannot read the CA file {path}: {source}")]
    CaFile {
        path: std::path::PathBuf,
        source: std::io::Error,
    },
    #[error("tls: {0}")]
    Tls(String),
}

pub use connection::{authorized, BearerAuth, Connection, ServerArgs};
