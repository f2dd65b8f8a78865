//! The operations surface: the HTTP endpoints an orchestrator and Prometheus call — `/healthz`
//! (the process answers), `/readyz` (the store is open and the index has caught up with what the
//! store held at start, i.e. any replay after a crash is done), `/metrics` (Prometheus text
//! exposition) — and the tower layer that counts and times every gRPC call by RPC and status.
//!
//! Metrics go through the `metrics` facade to one Prometheus recorder per process (installed by
//! the first server started; later servers in the same process share it). Counters are recorded
//! where things happen; gauges that describe state (index lag, outbox depth, bytes on disk) are
//! read from the engine when `/metrics` is scraped.

use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, OnceLock};
use std::task::{Context, Poll};
use std::time::Instant;

use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle};

use crate::engine::Engine;

/// Seconds: the buckets of every duration histogram (gRPC calls, refreshes, evaluations).
const DURATION_BUCKETS: [f64; 16] = [
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0,
];

/// The process's Prometheus recorder, installed on first use.
pub fn recorder() -> PrometheusHandle {
    static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();
    HANDLE
        .get_or_init(|| {
            let recorder = PrometheusBuilder::new()
                .set_buckets(&DURATION_BUCKETS)
                .expect("the duration buckets are not empty")
                .build_recorder();
            let handle = recorder.handle();
            if metrics::set_global_recorder(recorder).is_err() {
                tracing::warn!("another metrics recorder is installed: /metrics will be empty");
            }
            describe();
            handle
        })
        .clone()
}

/// Help texts, once per process.
fn describe() {
    use metrics::{describe_counter, describe_gauge, describe_histogram, Unit};
    describe_counter!(
        "tideline_grpc_requests_total",
        "gRPC calls answered, by rpc and grpc status code"
    );
    describe_histogram!(
        "tideline_grpc_request_duration_seconds",
        Unit::Seconds,
        "time to the response head of a gRPC call (the whole call for unary rpcs), by rpc"
    );
    describe_counter!(
        "tideline_ingest_items_total",
        "items submitted for ingest, by outcome (created, duplicate, rejected)"
    );
    describe_gauge!(
        "tideline_index_lag",
        "store changes not yet searchable: the store's change sequence minus the index watermark"
    );
    describe_gauge!(
        "tideline_outbox_depth",
        "webhook deliveries waiting in the outbox"
    );
    describe_counter!(
        "tideline_webhook_deliveries_total",
        "webhook delivery attempts, by outcome (delivered, retry, failed, disabled, cancelled)"
    );
    describe_histogram!(
        "tideline_theme_refresh_seconds",
        Unit::Seconds,
        "theme refreshes, scheduled and on demand"
    );
    describe_histogram!(
        "tideline_alert_evaluation_seconds",
        Unit::Seconds,
        "live alert evaluations"
    );
    describe_counter!(
        "tideline_alerts_raised_total",
        "live alerts raised, by rule"
    );
    describe_gauge!(
        "tideline_store_bytes",
        Unit::Bytes,
        "bytes the store (sled) occupies on disk"
    );
    describe_gauge!(
        "tideline_index_bytes",
        Unit::Bytes,
        "bytes the search index (tantivy) occupies on disk"
    );
}

/// The operations router: `/healthz`, `/readyz`, `/metrics`.
pub fn router(engine: Arc<Engine>, metrics: PrometheusHandle) -> Router {
    Router::new()
        .route("/healthz", get(|| async { "ok\n" }))
        .route("/readyz", get(readyz))
        .route("/metrics", get(scrape))
        .with_state((engine, metrics))
}

type OpsState = State<(Arc<Engine>, PrometheusHandle)>;

async fn readyz(State((engine, _)): OpsState) -> Response {
    let readiness = engine.readiness();
    let status = if readiness.ready {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    let body = serde_json::json!({
        "ready": readiness.ready,
        "store": "open",
        "writable": readiness.writable,
        "index": {
            "indexed_seq": readiness.indexed_seq,
            "start_seq": readiness.start_seq,
            "lag": readiness.lag,
            "replaying": readiness.indexed_seq < readiness.start_seq,
        },
    });
    (status, axum::Json(body)).into_response()
}

async fn scrape(State((engine, metrics)): OpsState) -> Response {
    let readiness = engine.readiness();
    metrics::gauge!("tideline_index_lag").set(readiness.lag as f64);
    match engine.run(|s| Ok(s.store.outbox_depth()?)).await {
        Ok(depth) => metrics::gauge!("tideline_outbox_depth").set(depth as f64),
        Err(err) => tracing::warn!(error = %err, "cannot count the outbox"),
    }
    let (store_bytes, index_bytes) = engine.disk_bytes().await;
    metrics::gauge!("tideline_store_bytes").set(store_bytes as f64);
    metrics::gauge!("tideline_index_bytes").set(index_bytes as f64);
    (
        [(header::CONTENT_TYPE, "text/plain; version=0.0.4")],
        metrics.render(),
    )
        .into_response()
}

/// The layer that counts and times gRPC calls (see the module doc).
#[derive(Clone, Default)]
pub struct RequestMetricsLayer;

impl<S> tower::Layer<S> for RequestMetricsLayer {
    type Service = RequestMetrics<S>;

    fn layer(&self, inner: S) -> RequestMetrics<S> {
        RequestMetrics { inner }
    }
}

/// [`RequestMetricsLayer`]'s service.
#[derive(Clone)]
pub struct RequestMetrics<S> {
    inner: S,
}

type BoxFuture<T> = Pin<Box<dyn Future<Output = T> + Send>>;

impl<S, B, R> tower::Service<http::Request<B>> for RequestMetrics<S>
where
    S: tower::Service<http::Request<B>, Response = http::Response<R>> + Send + 'static,
    S::Future: Send + 'static,
    R: Send + 'static,
{
    type Response = http::Response<R>;
    type Error = S::Error;
    type Future = BoxFuture<Result<Self::Response, S::Error>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), S::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: http::Request<B>) -> Self::Future {
        let rpc = rpc_name(request.uri().path());
        let started = Instant::now();
        let call = self.inner.call(request);
        Box::pin(async move {
            let response = call.await?;
            // A failure answered at once carries its status in the head; a call that streams
            // (or succeeds) sends it in the trailers, after this layer: counted as 0 (OK).
            let code = response
                .headers()
                .get("grpc-status")
                .and_then(|v| v.to_str().ok())
                .unwrap_or("0")
                .to_string();
            metrics::histogram!("tideline_grpc_request_duration_seconds", "rpc" => rpc.clone())
                .record(started.elapsed().as_secs_f64());
            metrics::counter!("tideline_grpc_requests_total", "rpc" => rpc, "code" => code)
                .increment(1);
            Ok(response)
        })
    }
}

/// `/tideline.v1.ThemeService/UpdateTheme` → `ThemeService/UpdateTheme`; health and reflection
/// keep their package (`grpc.health.v1.Health/Check`). Any other path — an RPC the access table
/// does not list, or anything a client makes up — is one label, `unknown`: labels (and the
/// series they create) are bounded by the API, not by what clients send.
fn rpc_name(path: &str) -> String {
    let name = path.trim_start_matches('/');
    let known = match name.strip_prefix("tideline.v1.") {
        Some(method) => super::access::required_scope(method)
            .is_some()
            .then_some(method),
        None => OPEN_RPCS.contains(&name).then_some(name),
    };
    known.unwrap_or("unknown").to_string()
}

/// The RPCs outside `tideline.v1` the server answers: health and reflection.
const OPEN_RPCS: [&str; 4] = [
    "grpc.health.v1.Health/Check",
    "grpc.health.v1.Health/Watch",
    "grpc.reflection.v1.ServerReflection/ServerReflectionInfo",
    "grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo",
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rpc_labels_are_short_and_bounded() {
        assert_eq!(
            rpc_name("/tideline.v1.ThemeService/UpdateTheme"),
            "ThemeService/UpdateTheme"
        );
        assert_eq!(
            rpc_name("/grpc.health.v1.Health/Check"),
            "grpc.health.v1.Health/Check"
        );
        assert_eq!(rpc_name("/nonsense"), "unknown");
        assert_eq!(rpc_name("/a/b"), "unknown");
        assert_eq!(rpc_name("/tideline.v1.ThemeService/Nope"), "unknown");
        assert_eq!(rpc_name(&format!("/a/{}", "x".repeat(200))), "unknown");
    }
}
