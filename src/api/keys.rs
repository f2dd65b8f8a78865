//! `tideline.v1.KeyService` (API keys) and `tideline.v1.AuditService` (the audit log).

use std::sync::Arc;

use tonic::{Request, Response, Status};

use super::access::principal_of;
use super::{audit, convert};
use crate::audit::{AuditEvent, AuditFilter};
use crate::auth::{ApiKey, Scope};
use crate::engine::Engine;
use crate::model::{validate_workspace, ValidationError};
use crate::pagination;
use crate::proto;
use crate::proto::audit_service_server::AuditService;
use crate::proto::key_service_server::KeyService;
use crate::time;

/// Audit events about keys name no workspace.
const SYSTEM_WORKSPACE: &str = "";

pub struct KeyApi {
    engine: Arc<Engine>,
}

impl KeyApi {
    pub fn new(engine: Arc<Engine>) -> Self {
        KeyApi { engine }
    }
}

pub struct AuditApi {
    engine: Arc<Engine>,
}

impl AuditApi {
    pub fn new(engine: Arc<Engine>) -> Self {
        AuditApi { engine }
    }
}

fn scope_to_proto(scope: Scope) -> proto::Scope {
    match scope {
        Scope::Ingest => proto::Scope::Ingest,
        Scope::Read => proto::Scope::Read,
        Scope::Curate => proto::Scope::Curate,
        Scope::Admin => proto::Scope::Admin,
    }
}

fn scope_from_proto(index: usize, raw: i32) -> Result<Scope, ValidationError> {
    match proto::Scope::try_from(raw) {
        Ok(proto::Scope::Ingest) => Ok(Scope::Ingest),
        Ok(proto::Scope::Read) => Ok(Scope::Read),
        Ok(proto::Scope::Curate) => Ok(Scope::Curate),
        Ok(proto::Scope::Admin) => Ok(Scope::Admin),
        _ => Err(ValidationError::new(
            format!("scopes[{index}]"),
            format!("unknown value {raw}"),
        )),
    }
}

fn key_to_proto(key: ApiKey) -> proto::ApiKey {
    proto::ApiKey {
        id: key.id,
        workspace: key.workspace.unwrap_or_default(),
        scopes: key
            .scopes
            .into_iter()
            .map(|s| scope_to_proto(s) as i32)
            .collect(),
        description: key.description,
        created_at: Some(convert::timestamp(key.created_at)),
        revoked_at: key.revoked_at.map(convert::timestamp),
        created_by: key.created_by,
    }
}

fn event_to_proto(event: AuditEvent) -> proto::AuditEvent {
    proto::AuditEvent {
        at: Some(convert::timestamp(event.at)),
        key_id: event.key_id,
        rpc: event.rpc,
        workspace: event.workspace,
        target: event.target,
    }
}

/// An optional workspace filter: empty is none.
fn optional_workspace(workspace: String) -> Result<Option<String>, ValidationError> {
    if workspace.is_empty() {
        return Ok(None);
    }
    validate_workspace(&workspace)?;
    Ok(Some(workspace))
}

#[tonic::async_trait]
impl KeyService for KeyApi {
    async fn create_key(
        &self,
        request: Request<proto::CreateKeyRequest>,
    ) -> Result<Response<proto::CreateKeyResponse>, Status> {
        let caller = principal_of(&request)?;
        let req = request.into_inner();
        let scopes = req
            .scopes
            .iter()
            .enumerate()
            .map(|(i, &raw)| scope_from_proto(i, raw))
            .collect::<Result<Vec<_>, _>>()?;
        let workspace = optional_workspace(req.workspace)?;
        let created_by = caller.key_id.clone();
        let (key, secret) = self
            .engine
            .run(move |s| {
                s.keys
                    .create(&created_by, workspace, scopes, req.description, time::now())
            })
            .await?;
        let target = key.id.clone();
        audit(
            &self.engine,
            &caller,
            "KeyService/CreateKey",
            SYSTEM_WORKSPACE,
            target,
        )
        .await;
        Ok(Response::new(proto::CreateKeyResponse {
            key: Some(key_to_proto(key)),
            secret,
        }))
    }

    async fn list_keys(
        &self,
        request: Request<proto::ListKeysRequest>,
    ) -> Result<Response<proto::ListKeysResponse>, Status> {
        let req = request.into_inner();
        let workspace = optional_workspace(req.workspace)?;
        let keys = self
            .engine
            .services()
            .keys
            .list(workspace.as_deref(), req.include_revoked);
        Ok(Response::new(proto::ListKeysResponse {
            keys: keys.into_iter().map(key_to_proto).collect(),
        }))
    }

    async fn revoke_key(
        &self,
        request: Request<proto::RevokeKeyRequest>,
    ) -> Result<Response<proto::ApiKey>, Status> {
        let caller = principal_of(&request)?;
        let id = request.into_inner().id;
        let target = id.clone();
        let key = self
            .engine
            .run(move |s| s.keys.revoke(&id, time::now()))
            .await?;
        audit(
            &self.engine,
            &caller,
            "KeyService/RevokeKey",
            SYSTEM_WORKSPACE,
            target,
        )
        .await;
        Ok(Response::new(key_to_proto(key)))
    }
}

#[tonic::async_trait]
impl AuditService for AuditApi {
    async fn list_audit_events(
        &self,
        request: Request<proto::ListAuditEventsRequest>,
    ) -> Result<Response<proto::ListAuditEventsResponse>, Status> {
        let req = request.into_inner();
        let filter = AuditFilter {
            workspace: optional_workspace(req.workspace)?,
            rpc: (!req.rpc.is_empty()).then_some(req.rpc),
            after: convert::micros("after", req.after)?,
        };
        let fingerprint = pagination::fingerprint(&filter);
        let events = self.engine.run(move |s| s.audit.list(&filter)).await?;
        let page =
            self.engine
                .pager()
                .paginate(events, req.page_size, &req.page_token, fingerprint)?;
        Ok(Response::new(proto::ListAuditEventsResponse {
            events: page.items.into_iter().map(event_to_proto).collect(),
            next_page_token: page.next_page_token,
            total_size: page.total as u64,
        }))
    }
}
