//! Reaching a server: its address, TLS when the address is `https://` (with an optional CA file
//! for a private certificate authority), and the API key every call carries as
//! `authorization: Bearer <key>`.

use std::path::PathBuf;

use tonic::metadata::{Ascii, MetadataValue};
use tonic::service::interceptor::InterceptedService;
use tonic::service::Interceptor;
use tonic::transport::{Certificate, Channel, ClientTlsConfig, Endpoint};
use tonic::{Request, Status};

use super::ClientError;

/// A channel whose every call carries the API key: what every client type is built over.
pub type Connection = InterceptedService<Channel, BearerAuth>;

/// Where the server is, and how to reach it.
#[derive(Debug, Clone, clap::Args)]
pub struct ServerArgs {
    /// gRPC address of a running tideline server (`https://…` for TLS).
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
    /// API key, sent as `authorization: Bearer <key>` with every call.
    #[arg(long, env = "TIDELINE_API_KEY", hide_env_values = true)]
    pub api_key: Option<String>,
    /// PEM certificate of the authority that signed the server's certificate, for an `https://`
    /// server whose certificate the system's roots do not vouch for.
    #[arg(long, env = "TIDELINE_CA_FILE")]
    pub ca_file: Option<PathBuf>,
}

impl ServerArgs {
    /// Connects, with TLS for `https://` addresses, and attaches the API key.
    pub async fn connect(&self) -> Result<Connection, ClientError> {
        let mut endpoint = Endpoint::from_shared(self.server.clone())
            .map_err(|_| ClientError::ServerAddress(self.server.clone()))?;
        let https = self.server.starts_with("https://");
        if https {
            let mut tls = ClientTlsConfig::new().with_webpki_roots();
            if let Some(path) = &self.ca_file {
                let pem = std::fs::read(path).map_err(|source| ClientError::CaFile {
                    path: path.clone(),
                    source,
                })?;
                tls = tls.ca_certificate(Certificate::from_pem(pem));
            }
            endpoint = endpoint
                .tls_config(tls)
                .map_err(|e| ClientError::Tls(e.to_string()))?;
        } else if self.ca_file.is_some() {
            return Err(ClientError::Tls(format!(
                "--ca-file needs an https:// server address, not {}",
                self.server
            )));
        }
        let channel = endpoint
            .connect()
            .await
            .map_err(|source| ClientError::Connect {
                server: self.server.clone(),
                source,
            })?;
        authorized(channel, self.api_key.as_deref())
    }
}

/// `channel` with `api_key` (if any) attached to every call.
pub fn authorized(channel: Channel, api_key: Option<&str>) -> Result<Connection, ClientError> {
    Ok(InterceptedService::new(channel, BearerAuth::new(api_key)?))
}

/// Adds `authorization: Bearer <key>` metadata to every call when a key is set.
#[derive(Debug, Clone, Default)]
pub struct BearerAuth {
    authorization: Option<MetadataValue<Ascii>>,
}

impl BearerAuth {
    /// Fails when the key holds characters a header cannot carry.
    pub fn new(api_key: Option<&str>) -> Result<BearerAuth, ClientError> {
        let authorization = api_key
            .map(|key| {
                MetadataValue::try_from(format!("Bearer {key}")).map_err(|_| ClientError::ApiKey)
            })
            .transpose()?;
        Ok(BearerAuth { authorization })
    }
}

impl Interceptor for BearerAuth {
    fn call(&mut self, mut request: Request<()>) -> Result<Request<()>, Status> {
        if let Some(value) = &self.authorization {
            request
                .metadata_mut()
                .insert("authorization", value.clone());
        }
        Ok(request)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn api_key_travels_as_a_bearer_token() {
        let mut auth = BearerAuth::new(Some("k-123")).unwrap();
        let request = auth.call(Request::new(())).unwrap();
        assert_eq!(
            request.metadata().get("authorization").unwrap(),
            "Bearer k-123"
        );
        let mut anonymous = BearerAuth::new(None).unwrap();
        let request = anonymous.call(Request::new(())).unwrap();
        assert!(request.metadata().get("authorization").is_none());
        assert!(matches!(
            BearerAuth::new(Some("line\nbreak")),
            Err(ClientError::ApiKey)
        ));
    }
}
