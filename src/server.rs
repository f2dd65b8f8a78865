//! The one place the servers are assembled: the gRPC server (services, health, reflection,
//! message-size limits, request metrics, access) and the operations HTTP listener (`/healthz`,
//! `/readyz`, `/metrics`), and their graceful shutdown.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;
use tokio_stream::wrappers::TcpListenerStream;
use tokio_stream::StreamExt;
use tonic::transport::{Identity, ServerTlsConfig};
use tonic_health::server::HealthReporter;
use tonic_health::ServingStatus;

use crate::api::ops::{self, RequestMetricsLayer};
use crate::api::status::name_transport_error;
use crate::api::{
    AccessLayer, AlertApi, AuditApi, IngestApi, InsightsApi, KeyApi, TaxonomyApi, ThemeApi,
    VerbatimApi, WebhookApi,
};
use crate::config::{Config, TlsConfig};
use crate::engine::Engine;
use crate::error::{Error, Result};
use crate::proto;
use crate::proto::alert_service_server::{self, AlertServiceServer};
use crate::proto::audit_service_server::{self, AuditServiceServer};
use crate::proto::ingest_service_server::{self, IngestServiceServer};
use crate::proto::insights_service_server::{self, InsightsServiceServer};
use crate::proto::key_service_server::{self, KeyServiceServer};
use crate::proto::taxonomy_service_server::{self, TaxonomyServiceServer};
use crate::proto::theme_service_server::{self, ThemeServiceServer};
use crate::proto::verbatim_service_server::{self, VerbatimServiceServer};
use crate::proto::webhook_service_server::{self, WebhookServiceServer};

/// Names of the services this server registers, for health reporting (from the generated code).
const SERVICE_NAMES: [&str; 9] = [
    theme_service_server::SERVICE_NAME,
    insights_service_server::SERVICE_NAME,
    ingest_service_server::SERVICE_NAME,
    verbatim_service_server::SERVICE_NAME,
    taxonomy_service_server::SERVICE_NAME,
    alert_service_server::SERVICE_NAME,
    webhook_service_server::SERVICE_NAME,
    key_service_server::SERVICE_NAME,
    audit_service_server::SERVICE_NAME,
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
    http_addr: SocketAddr,
    /// The operations HTTP listener.
    http: JoinHandle<std::io::Result<()>>,
    engine: Arc<Engine>,
    health: HealthReporter,
    stop: oneshot::Sender<()>,
    serve: JoinHandle<std::result::Result<(), tonic::transport::Error>>,
    /// Keeps IngestService's health in step with whether the store takes writes.
    write_health: JoinHandle<()>,
    grace: Duration,
}

/// Opens the engine on the configured data directory, binds the listen address, and serves.
pub async fn start(config: Config) -> Result<RunningServer> {
    let listener = TcpListener::bind(config.listen).await?;
    let local_addr = listener.local_addr()?;
    let http_listener = TcpListener::bind(config.http_listen).await?;
    let http_addr = http_listener.local_addr()?;
    let metrics = ops::recorder();
    let grace = Duration::from_secs(config.shutdown_grace_secs);
    let max_message = config.limits.max_message_bytes;
    let tls = tls_config(&config.tls)?;
    let config_tls = tls.is_some();
    let engine = Arc::new(Engine::open(config).await?);

    let (health, health_service) = tonic_health::server::health_reporter();
    for name in SERVICE_NAMES {
        health
            .set_service_status(name, ServingStatus::Serving)
            .await;
    }
    let write_health = tokio::spawn(report_writes(
        health.clone(),
        engine.services().store.watch_writes(),
    ));
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
    let insights = limited!(
        InsightsServiceServer,
        InsightsApi::new(engine.clone()),
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
    let keys = limited!(KeyServiceServer, KeyApi::new(engine.clone()), max_message);
    let audit = limited!(
        AuditServiceServer,
        AuditApi::new(engine.clone()),
        max_message
    );

    let (stop, stopped) = oneshot::channel::<()>();
    let mut builder = tonic::transport::Server::builder();
    if let Some(tls) = tls {
        builder = builder
            .tls_config(tls)
            .map_err(|e| Error::Setup(format!("tls: {e}")))?;
    }
    let router = builder
        .tcp_nodelay(true)
        .http2_keepalive_interval(Some(Duration::from_secs(30)))
        .layer(tower::util::MapResponseLayer::new(
            move |response: http::Response<tonic::body::Body>| {
                name_refused_request(response, max_message)
            },
        ))
        .layer(RequestMetricsLayer)
        .layer(AccessLayer::new(engine.clone()))
        .add_service(health_service)
        .add_service(reflection_v1)
        .add_service(reflection_v1alpha)
        .add_service(ingest)
        .add_service(verbatims)
        .add_service(taxonomy)
        .add_service(themes)
        .add_service(insights)
        .add_service(alerts)
        .add_service(webhooks)
        .add_service(keys)
        .add_service(audit);
    // The server accepts from its own listener, where tonic's `tcp_nodelay` does not apply: set
    // it on every connection, or Nagle's algorithm holds each response's last segment for the
    // client's delayed ACK (~40 ms on every response over a few hundred bytes).
    let incoming = TcpListenerStream::new(listener).map(|accepted| {
        if let Ok(stream) = &accepted {
            if let Err(err) = stream.set_nodelay(true) {
                tracing::warn!(error = %err, "cannot set TCP_NODELAY on a connection");
            }
        }
        accepted
    });
    let (stop_http, http_stopped) = tokio::sync::watch::channel(false);
    let serve = tokio::spawn(router.serve_with_incoming_shutdown(incoming, async move {
        let _ = stopped.await;
        let _ = stop_http.send(true);
    }));
    let ops_router = ops::router(engine.clone(), metrics);
    let http = tokio::spawn(async move {
        axum::serve(http_listener, ops_router)
            .with_graceful_shutdown(async move {
                let mut stopped = http_stopped;
                let _ = stopped.wait_for(|stop| *stop).await;
            })
            .await
    });
    tracing::info!(%local_addr, %http_addr, tls = config_tls, "serving");
    Ok(RunningServer {
        local_addr,
        http_addr,
        http,
        engine,
        health,
        stop,
        serve,
        write_health,
        grace,
    })
}

/// The listener's TLS settings from the configured PEM files, or none for plain HTTP/2.
fn tls_config(tls: &TlsConfig) -> Result<Option<ServerTlsConfig>> {
    let (Some(cert_file), Some(key_file)) = (&tls.cert_file, &tls.key_file) else {
        return Ok(None);
    };
    let read = |path: &std::path::Path| {
        std::fs::read(path)
            .map_err(|e| Error::Setup(format!("cannot read tls file {}: {e}", path.display())))
    };
    let identity = Identity::from_pem(read(cert_file)?, read(key_file)?);
    Ok(Some(ServerTlsConfig::new().identity(identity)))
}

/// Health for writes: IngestService is NOT_SERVING while the store refuses writes (a full disk);
/// every other service keeps serving reads.
async fn report_writes(
    health: HealthReporter,
    mut read_only: tokio::sync::watch::Receiver<Option<String>>,
) {
    loop {
        let status = match &*read_only.borrow_and_update() {
            Some(_) => ServingStatus::NotServing,
            None => ServingStatus::Serving,
        };
        health
            .set_service_status(ingest_service_server::SERVICE_NAME, status)
            .await;
        if read_only.changed().await.is_err() {
            return;
        }
    }
}

impl RunningServer {
    /// The address the server listens on (useful with port 0).
    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// The address of the operations HTTP listener (`/healthz`, `/readyz`, `/metrics`).
    pub fn http_addr(&self) -> SocketAddr {
        self.http_addr
    }

    /// The engine behind the server.
    pub fn engine(&self) -> &Arc<Engine> {
        &self.engine
    }

    /// Reports NOT_SERVING, stops accepting, lets in-flight requests finish (up to the grace
    /// period), then commits the index and flushes the store.
    pub async fn shutdown(self) -> Result<()> {
        tracing::info!("shutting down");
        self.write_health.abort();
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
        if tokio::time::timeout(self.grace, self.http).await.is_err() {
            tracing::warn!("the operations listener did not stop in time");
        }
        self.engine.shutdown().await
    }
}

/// Serves until SIGINT or SIGTERM, then shuts down gracefully. `on_ready` is told the gRPC
/// address and the operations HTTP address.
pub async fn serve_until_signal(
    config: Config,
    on_ready: impl FnOnce(SocketAddr, SocketAddr),
) -> Result<()> {
    let server = start(config).await?;
    on_ready(server.local_addr(), server.http_addr());
    shutdown_signal().await;
    server.shutdown().await
}

/// Resolves on SIGINT (Ctrl-C) or SIGTERM.
pub async fn shutdown_signal() {
    let ctrl_c = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut term) => {
                tokio::select! {
                    _ = ctrl_c => {}
                    _ = term.recv() => {}
                }
            }
            Err(err) => {
                tracing::warn!(error = %err, "cannot listen for SIGTERM; Ctrl-C only");
                let _ = ctrl_c.await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = ctrl_c.await;
    }
}

/// tonic answers a request it cannot take before any handler runs, in its own words and codes:
/// an oversized message as OUT_OF_RANGE, a body that is not the protobuf message (garbage,
/// truncated, invalid UTF-8 in a string) as INTERNAL. Rewrite them to RESOURCE_EXHAUSTED naming
/// our limit and INVALID_ARGUMENT. (Streams are mapped in their handler, by the same rules.)
fn name_refused_request<B>(
    mut response: http::Response<B>,
    max_message: usize,
) -> http::Response<B> {
    let headers = response.headers_mut();
    let Some(code) = headers
        .get("grpc-status")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<i32>().ok())
    else {
        return response;
    };
    let message = headers
        .get("grpc-message")
        .and_then(|m| m.to_str().ok())
        .map(percent_decode)
        .unwrap_or_default();
    let status = tonic::Status::new(tonic::Code::from_i32(code), message);
    let named = name_transport_error(status.clone(), max_message);
    if named.code() != status.code() {
        let code = (named.code() as i32).to_string();
        headers.insert(
            "grpc-status",
            http::HeaderValue::from_str(&code).expect("a number is a header value"),
        );
        if let Ok(value) = http::HeaderValue::from_str(&percent_encode(named.message())) {
            headers.insert("grpc-message", value);
        }
    }
    response
}

/// gRPC's percent-decoding of `grpc-message` (the subset tonic writes).
fn percent_decode(value: &str) -> String {
    let bytes = value.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = bytes
            .get(i + 1..i + 3)
            .and_then(|h| std::str::from_utf8(h).ok())
            .and_then(|h| u8::from_str_radix(h, 16).ok());
        match (bytes[i], hex) {
            (b'%', Some(byte)) => {
                out.push(byte);
                i += 3;
            }
            (byte, _) => {
                out.push(byte);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// gRPC's percent-encoding of `grpc-message`: everything outside printable ASCII, and `%`.
fn percent_encode(value: &str) -> String {
    value
        .bytes()
        .map(|b| match b {
            b' '..=b'~' if b != b'%' => (b as char).to_string(),
            b => format!("%{b:02X}"),
        })
        .collect()
}
