//! The client: everything that talks to a tideline server the way any other client would, over
//! gRPC — the command-line commands ([`cli`]) and their tables ([`report`]), the bulk [`import`]
//! tool, the one-command [`demo`], the load generator ([`bench`]), and the evaluation commands
//! ([`eval`], which measure the
//! analysers themselves on labelled files). Nothing here reaches into the server's engine, store,
//! index or API; the layering test holds it to that.

pub mod bench;
pub mod cli;
pub mod demo;
pub mod eval;
pub mod import;
pub mod report;

use tonic::transport::Channel;

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
}

/// Where the server is.
#[derive(Debug, Clone, clap::Args)]
pub struct ServerArgs {
    /// gRPC address of a running tideline server.
    #[arg(
        long,
        env = "TIDELINE_SERVER",
        default_value = "http://127.0.0.1:50051"
    )]
    pub server: String,
    /// Workspace to address.
    #[arg(long, env = "TIDELINE_WORKSPACE", default_value = "default")]
    pub workspace: String,
    /// Print JSON instead of tables.
    #[arg(long)]
    pub json: bool,
}

impl ServerArgs {
    async fn channel(&self) -> Result<Channel, ClientError> {
        Channel::from_shared(self.server.clone())
            .map_err(|_| ClientError::ServerAddress(self.server.clone()))?
            .connect()
            .await
            .map_err(|source| ClientError::Connect {
                server: self.server.clone(),
                source,
            })
    }
}
