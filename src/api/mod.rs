//! The gRPC API: tonic services over the [`Engine`](crate::engine::Engine), proto⇄domain
//! conversion, and the one mapping from errors to statuses. No business logic lives here.

mod access;
mod alerts;
mod convert;
mod ingest;
mod insights;
mod keys;
pub mod ops;
pub mod status;
mod taxonomy;
mod themes;
mod verbatims;
mod webhooks;

pub use alerts::AlertApi;
pub use ingest::IngestApi;
pub use insights::InsightsApi;
pub use keys::{AuditApi, KeyApi};
pub use taxonomy::TaxonomyApi;
pub use themes::ThemeApi;
pub use verbatims::VerbatimApi;
pub use webhooks::WebhookApi;

use tonic::{Request, Status};

use self::access::caller_of;
pub use self::access::{AccessLayer, WORKSPACE_HEADER};
use crate::audit::AuditEvent;
use crate::auth::Principal;
use crate::engine::Engine;

/// The workspace a request addresses, when the caller's key reaches it (see [`caller_of`]).
fn workspace_of<T>(engine: &Engine, request: &Request<T>, field: &str) -> Result<String, Status> {
    caller_of(engine, request, field).map(|(workspace, _)| workspace)
}

/// Records an admin or curate action in the audit log. The action is done and durable by now: a
/// failure to record it is logged, not answered.
async fn audit(
    engine: &Engine,
    caller: &Principal,
    rpc: &'static str,
    workspace: &str,
    target: impl Into<String>,
) {
    let event = AuditEvent {
        at: crate::time::now(),
        key_id: caller.key_id.clone(),
        rpc: rpc.to_string(),
        workspace: workspace.to_string(),
        target: target.into(),
    };
    if let Err(err) = engine.run(move |s| s.audit.record(&event)).await {
        tracing::error!(error = %err, rpc, "the audit record of an action failed");
    }
}
