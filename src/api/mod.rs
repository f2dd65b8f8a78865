//! The gRPC API: tonic services over the [`Engine`](crate::engine::Engine), proto⇄domain
//! conversion, and the one mapping from errors to statuses. No business logic lives here.

mod alerts;
mod convert;
mod ingest;
pub mod status;
mod taxonomy;
mod themes;
mod verbatims;
mod webhooks;

pub use alerts::AlertApi;
pub use ingest::IngestApi;
pub use taxonomy::TaxonomyApi;
pub use themes::ThemeApi;
pub use verbatims::VerbatimApi;
pub use webhooks::WebhookApi;

use tonic::Request;

use crate::engine::Engine;
use crate::model::{validate_workspace, ValidationError};

/// Request header naming the workspace when the request's `workspace` field is empty.
pub const WORKSPACE_HEADER: &str = "x-tideline-workspace";

/// The workspace a request addresses, as a status on error (see [`resolve_workspace`]).
fn workspace_of<T>(
    engine: &Engine,
    request: &Request<T>,
    field: &str,
) -> Result<String, tonic::Status> {
    Ok(resolve_workspace(
        request,
        field,
        &engine.config().default_workspace,
    )?)
}

/// The workspace a request addresses: its field, else the header, else the configured default.
fn resolve_workspace<T>(
    request: &Request<T>,
    field: &str,
    default: &str,
) -> Result<String, ValidationError> {
    let workspace = if !field.is_empty() {
        field.to_string()
    } else if let Some(header) = request.metadata().get(WORKSPACE_HEADER) {
        header
            .to_str()
            .map_err(|_| ValidationError::new("workspace", "header is not ASCII"))?
            .to_string()
    } else {
        default.to_string()
    };
    validate_workspace(&workspace)?;
    Ok(workspace)
}
