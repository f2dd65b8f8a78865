//! The one place the gRPC server is assembled: services, health, reflection, message-size
//! limits, and graceful shutdown.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;
use tokio_stream::wrappers::TcpListenerStream;
use tonic_health::server::HealthReporter;
use tonic_health::ServingStatus;

use crate::api::{
    status::message_limit_text, AlertApi, IngestApi, TaxonomyApi, ThemeApi, VerbatimApi, WebhookApi,
};
use crate::config::Config;
use crate::engine::Engine;
use crate::error::{Error, Result};
use crate::proto;
use crate::proto::alert_service_server::{self, AlertServiceServer};
use crate::proto::ingest_service_server::{self, IngestServiceServer};
use crate::proto::taxonomy_service_server::{self, TaxonomyServiceServer};
use crate::proto::theme_service_server::{self, ThemeServiceServer};
use crate::proto::verbatim_service_server::{self, VerbatimServiceServer};
use crate::proto::webhook_service_server::{self, WebhookServiceServer};

/// Names of the services this server registers, for health reporting (from the generated code).
const SERVICE_NAMES: [&str; 6] = [
    theme_service_server::SERVICE_NAME,
    ingest_service_server::SERVICE_NAME,
    verbatim_service_server::SERVICE_NAME,
    taxonomy_service_server::SERVICE_NAME,
    alert_service_server::SERVICE_NAME,
    webhook_service_server::SERVICE_NAME,
];

/// A generated service server with the configured message size limits in both directions.
macro_rules! limited {
    ($server:ident, $api:expr, $max:expr) => {
        $server::new($api)
            .max_decoding_message_size($max)
            .max_encoding_message_size($max)
    };
}

/// A server running in the background of the current tokio runtime.
pub struct RunningServer {
    local_addr: SocketAddr,
    engine: Arc<Engine>,
    health: HealthReporter,
    stop: oneshot::Sender<()>,
    serve: JoinHandle<std::result::Result<(), tonic::transport::Error>>,
    grace: Duration,
}

/// Opens the engine on the configured data directory, binds the listen address, and serves.
pub async fn start(config: Config) -> Result<RunningServer> {
    let listener = TcpListener::bind(config.listen).await?;
    let local_addr = listener.local_addr()?;
    let grace = Duration::from_secs(config.shutdown_grace_secs);
    let max_message = config.limits.max_message_bytes;
    let engine = Arc::new(Engine::open(config).await?);

    let (health, health_service) = tonic_health::server::health_reporter();
    for name in SERVICE_NAMES {
        health
            .set_service_status(name, ServingStatus::Serving)
            .await;
    }
    let reflection = || {
        tonic_reflection::server::Builder::configure()
            .register_encoded_file_descriptor_set(proto::FILE_DESCRIPTOR_SET)
            .register_encoded_file_descriptor_set(tonic_health::pb::FILE_DESCRIPTOR_SET)
    };
    let reflection_v1 = reflection()
        .build_v1()
        .map_err(|e| Error::Setup(format!("reflection v1: {e}")))?;
    let reflection_v1alpha = reflection()
        .build_v1alpha()
        .map_err(|e| Error::Setup(format!("reflection v1alpha: {e}")))?;

    let ingest = limited!(
        IngestServiceServer,
        IngestApi::new(engine.clone()),
        max_message
    );
    let verbatims = limited!(
        VerbatimServiceServer,
        VerbatimApi::new(engine.clone()),
        max_message
    );
    let taxonomy = limited!(
        TaxonomyServiceServer,
        TaxonomyApi::new(engine.clone()),
        max_message
    );
    let themes = limited!(
        ThemeServiceServer,
        ThemeApi::new(engine.clone()),
        max_message
    );
    let alerts = limited!(
        AlertServiceServer,
        AlertApi::new(engine.clone()),
        max_message
    );
    let webhooks = limited!(
        WebhookServiceServer,
        WebhookApi::new(engine.clone()),
        max_message
    );

    let (stop, stopped) = oneshot::channel::<()>();
    let router = tonic::transport::Server::builder()
        .tcp_nodelay(true)
        .http2_keepalive_interval(Some(Duration::from_secs(30)))
        .layer(tower::util::MapResponseLayer::new(
            move |response: http::Response<tonic::body::Body>| {
                name_oversized_message(response, max_message)
            },
        ))
        .add_service(health_service)
        .add_service(reflection_v1)
        .add_service(reflection_v1alpha)
        .add_service(ingest)
        .add_service(verbatims)
        .add_service(taxonomy)
        .add_service(themes)
        .add_service(alerts)
        .add_service(webhooks);
    let serve = tokio::spawn(router.serve_with_incoming_shutdown(
        TcpListenerStream::new(listener),
        async {
            let _ = stopped.await;
        },
    ));
    tracing::info!(%local_addr, "serving");
    Ok(RunningServer {
        local_addr,
        engine,
        health,
        stop,
        serve,
        grace,
    })
}

impl RunningServer {
    /// The address the server listens on (useful with port 0).
    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// The engine behind the server.
    pub fn engine(&self) -> &Arc<Engine> {
        &self.engine
    }

    /// Reports NOT_SERVING, stops accepting, lets in-flight requests finish (up to the grace
    /// period), then commits the index and flushes the store.
    pub async fn shutdown(self) -> Result<()> {
        tracing::info!("shutting down");
        self.health
            .set_service_status("", ServingStatus::NotServing)
            .await;
        for name in SERVICE_NAMES {
            self.health
                .set_service_status(name, ServingStatus::NotServing)
                .await;
        }
        // Live watchers would hold the drain open for the whole grace period: end them first.
        self.engine.close_watchers();
        let _ = self.stop.send(());
        let mut serve = self.serve;
        match tokio::time::timeout(self.grace, &mut serve).await {
            Ok(joined) => joined??,
            Err(_) => {
                tracing::warn!(
                    grace_secs = self.grace.as_secs(),
                    "in-flight requests did not finish in time; cancelling them"
                );
                serve.abort();
            }
        }
        self.engine.shutdown().await
    }
}

/// Serves until SIGINT or SIGTERM, then shuts down gracefully. `on_ready` is told the address.
pub async fn serve_until_signal(config: Config, on_ready: impl FnOnce(SocketAddr)) -> Result<()> {
    let server = start(config).await?;
    on_ready(server.local_addr());
    shutdown_signal().await;
    server.shutdown().await
}

/// Resolves on SIGINT (Ctrl-C) or SIGTERM.
pub async fn shutdown_signal() {
    let ctrl_c = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
            .expect("installing a SIGTERM handler");
        tokio::select! {
            _ = ctrl_c => {}
            _ = term.recv() => {}
        }
    }
    #[cfg(not(unix))]
    {
        let _ = ctrl_c.await;
    }
}

/// tonic answers an oversized unary request with OUT_OF_RANGE in its own words before any handler
/// runs; rewrite it to RESOURCE_EXHAUSTED naming our limit. (Streams are mapped in their handler.)
fn name_oversized_message<B>(
    mut response: http::Response<B>,
    max_message: usize,
) -> http::Response<B> {
    let headers = response.headers_mut();
    let is_oversized = headers.get("grpc-status").is_some_and(|v| v == "11")
        && headers
            .get("grpc-message")
            .and_then(|m| m.to_str().ok())
            .is_some_and(|m| {
                m.contains("message%20length%20too%20large")
                    || m.contains("message length too large")
            });
    if is_oversized {
        let detail = headers
            .get("grpc-message")
            .and_then(|m| m.to_str().ok())
            .unwrap_or_default()
            .replace("%20", " ");
        let text = message_limit_text(&detail, max_message).replace(' ', "%20");
        headers.insert("grpc-status", http::HeaderValue::from_static("8"));
        if let Ok(value) = http::HeaderValue::from_str(&text) {
            headers.insert("grpc-message", value);
        }
    }
    response
}
