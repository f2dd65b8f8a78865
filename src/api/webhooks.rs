//! `tideline.v1.WebhookService`: subscriptions, secret rotation, the delivery log, redelivery,
//! digest schedules.

use std::sync::Arc;

use tonic::{Request, Response, Status};

use super::access::caller_of;
use super::alerts::{min_severity, severity_to_proto};
use super::{audit, convert, workspace_of};
use crate::alerts::AlertSeverity;
use crate::engine::Engine;
use crate::model::ValidationError;
use crate::pagination;
use crate::proto;
use crate::proto::webhook_service_server::WebhookService;
use crate::time;
use crate::webhooks::digest::{Cadence, DigestSchedule};
use crate::webhooks::{Delivery, DeliveryFilter, DeliveryStatus, NewWebhook, Webhook};

pub struct WebhookApi {
    engine: Arc<Engine>,
}

impl WebhookApi {
    pub fn new(engine: Arc<Engine>) -> Self {
        WebhookApi { engine }
    }
}

fn webhook_to_proto(w: Webhook) -> proto::Webhook {
    proto::Webhook {
        secret_rotated_at: Some(convert::timestamp(w.secret_rotated_at())),
        id: w.id,
        url: w.url,
        event_types: w.event_types,
        min_severity: severity_to_proto(w.min_severity) as i32,
        description: w.description,
        enabled: w.enabled,
        disabled_reason: w.disabled_reason,
        created_at: Some(convert::timestamp(w.created_at)),
    }
}

fn delivery_status_to_proto(s: DeliveryStatus) -> proto::DeliveryStatus {
    match s {
        DeliveryStatus::Pending => proto::DeliveryStatus::Pending,
        DeliveryStatus::Delivered => proto::DeliveryStatus::Delivered,
        DeliveryStatus::Failed => proto::DeliveryStatus::Failed,
        DeliveryStatus::Cancelled => proto::DeliveryStatus::Cancelled,
    }
}

fn delivery_to_proto(d: Delivery) -> proto::Delivery {
    let ts = |t: Option<i64>| t.map(convert::timestamp);
    proto::Delivery {
        message_id: d.message_id,
        webhook_id: d.webhook_id,
        alert_id: if d.event_type.starts_with("alert.") {
            d.subject.clone()
        } else {
            String::new()
        },
        subject: d.subject,
        event_type: d.event_type,
        status: delivery_status_to_proto(d.status) as i32,
        attempts: d.attempts,
        last_status_code: d.last_status_code as u32,
        last_error: d.last_error,
        created_at: Some(convert::timestamp(d.created_at)),
        last_attempt_at: ts(d.last_attempt_at),
        next_attempt_at: ts(d.next_attempt_at),
        delivered_at: ts(d.delivered_at),
    }
}

fn required(field: &str, value: String) -> Result<String, ValidationError> {
    let value = value.trim().to_string();
    if value.is_empty() {
        return Err(ValidationError::new(field, "is required"));
    }
    Ok(value)
}

#[tonic::async_trait]
impl WebhookService for WebhookApi {
    async fn create_webhook(
        &self,
        request: Request<proto::CreateWebhookRequest>,
    ) -> Result<Response<proto::CreateWebhookResponse>, Status> {
        let (workspace, caller) = caller_of(&self.engine, &request, &request.get_ref().workspace)?;
        let req = request.into_inner();
        let new = NewWebhook {
            url: required("url", req.url)?,
            event_types: req.event_types,
            min_severity: min_severity("min_severity", req.min_severity)?
                .unwrap_or(AlertSeverity::Low),
            description: req.description,
        };
        let ws = workspace.clone();
        let (webhook, secret) = self
            .engine
            .run(move |s| s.webhooks.create(&ws, new, time::now()))
            .await?;
        let target = webhook.id.clone();
        audit(
            &self.engine,
            &caller,
            "WebhookService/CreateWebhook",
            &workspace,
            target,
        )
        .await;
        Ok(Response::new(proto::CreateWebhookResponse {
            webhook: Some(webhook_to_proto(webhook)),
            secret,
        }))
    }

    async fn list_webhooks(
        &self,
        request: Request<proto::ListWebhooksRequest>,
    ) -> Result<Response<proto::ListWebhooksResponse>, Status> {
        let workspace = workspace_of(&self.engine, &request, &request.get_ref().workspace)?;
        let webhooks = self
            .engine
            .run(move |s| s.webhooks.list(&workspace))
            .await?;
        Ok(Response::new(proto::ListWebhooksResponse {
            webhooks: webhooks.into_iter().map(webhook_to_proto).collect(),
        }))
    }

    async fn delete_webhook(
        &self,
        request: Request<proto::DeleteWebhookRequest>,
    ) -> Result<Response<proto::DeleteWebhookResponse>, Status> {
        let (workspace, caller) = caller_of(&self.engine, &request, &request.get_ref().workspace)?;
        let id = required("id", request.into_inner().id)?;
        let (ws, target) = (workspace.clone(), id.clone());
        let cancelled = self
            .engine
            .run(move |s| s.webhooks.delete(&ws, &id, time::now()))
            .await?;
        audit(
            &self.engine,
            &caller,
            "WebhookService/DeleteWebhook",
            &workspace,
            target,
        )
        .await;
        Ok(Response::new(proto::DeleteWebhookResponse {
            cancelled_deliveries: cancelled as u32,
        }))
    }

    async fn rotate_webhook_secret(
        &self,
        request: Request<proto::RotateWebhookSecretRequest>,
    ) -> Result<Response<proto::RotateWebhookSecretResponse>, Status> {
        let (workspace, caller) = caller_of(&self.engine, &request, &request.get_ref().workspace)?;
        let id = required("id", request.into_inner().id)?;
        let (ws, target) = (workspace.clone(), id.clone());
        let (webhook, secret) = self
            .engine
            .run(move |s| s.webhooks.rotate_secret(&ws, &id, time::now()))
            .await?;
        audit(
            &self.engine,
            &caller,
            "WebhookService/RotateWebhookSecret",
            &workspace,
            target,
        )
        .await;
        Ok(Response::new(proto::RotateWebhookSecretResponse {
            webhook: Some(webhook_to_proto(webhook)),
            secret,
        }))
    }

    async fn list_deliveries(
        &self,
        request: Request<proto::ListDeliveriesRequest>,
    ) -> Result<Response<proto::ListDeliveriesResponse>, Status> {
        let workspace = workspace_of(&self.engine, &request, &request.get_ref().workspace)?;
        let req = request.into_inner();
        let nonempty = |s: String| (!s.is_empty()).then_some(s);
        let status = match proto::DeliveryStatus::try_from(req.status) {
            Ok(proto::DeliveryStatus::Unspecified) => None,
            Ok(proto::DeliveryStatus::Pending) => Some(DeliveryStatus::Pending),
            Ok(proto::DeliveryStatus::Delivered) => Some(DeliveryStatus::Delivered),
            Ok(proto::DeliveryStatus::Failed) => Some(DeliveryStatus::Failed),
            Ok(proto::DeliveryStatus::Cancelled) => Some(DeliveryStatus::Cancelled),
            Err(_) => {
                return Err(
                    ValidationError::new("status", format!("unknown value {}", req.status)).into(),
                )
            }
        };
        let filter = DeliveryFilter {
            webhook_id: nonempty(req.webhook_id),
            subject: match (nonempty(req.alert_id), nonempty(req.subject)) {
                (Some(a), Some(s)) if a != s => {
                    return Err(ValidationError::new(
                        "subject",
                        "differs from alert_id: give one of them",
                    )
                    .into())
                }
                (a, s) => a.or(s),
            },
            status,
        };
        let fingerprint = pagination::fingerprint(&(&workspace, &filter));
        let ws = workspace.clone();
        let deliveries = self
            .engine
            .run(move |s| s.webhooks.deliveries(&ws, &filter))
            .await?;
        let page = self.engine.pager().paginate(
            deliveries,
            req.page_size,
            &req.page_token,
            fingerprint,
        )?;
        Ok(Response::new(proto::ListDeliveriesResponse {
            deliveries: page.items.into_iter().map(delivery_to_proto).collect(),
            next_page_token: page.next_page_token,
            total_size: page.total as u64,
        }))
    }

    async fn redeliver_alert(
        &self,
        request: Request<proto::RedeliverAlertRequest>,
    ) -> Result<Response<proto::RedeliverAlertResponse>, Status> {
        let (workspace, caller) = caller_of(&self.engine, &request, &request.get_ref().workspace)?;
        let req = request.into_inner();
        let alert_id = required("alert_id", req.alert_id)?;
        let target = alert_id.clone();
        let webhook_id =
            (!req.webhook_id.trim().is_empty()).then(|| req.webhook_id.trim().to_string());
        let deliveries = self
            .engine
            .redeliver_alert(&workspace, alert_id, webhook_id)
            .await?;
        audit(
            &self.engine,
            &caller,
            "WebhookService/RedeliverAlert",
            &workspace,
            target,
        )
        .await;
        Ok(Response::new(proto::RedeliverAlertResponse {
            deliveries: deliveries.into_iter().map(delivery_to_proto).collect(),
        }))
    }

    async fn get_digest_schedule(
        &self,
        request: Request<proto::GetDigestScheduleRequest>,
    ) -> Result<Response<proto::DigestSchedule>, Status> {
        let workspace = workspace_of(&self.engine, &request, &request.get_ref().workspace)?;
        let schedule = self
            .engine
            .run(move |s| s.webhooks.digest_schedule(&workspace))
            .await?;
        Ok(Response::new(schedule_to_proto(schedule)))
    }

    async fn update_digest_schedule(
        &self,
        request: Request<proto::UpdateDigestScheduleRequest>,
    ) -> Result<Response<proto::DigestSchedule>, Status> {
        let (workspace, caller) = caller_of(&self.engine, &request, &request.get_ref().workspace)?;
        let cadence = match proto::DigestCadence::try_from(request.get_ref().cadence) {
            Ok(proto::DigestCadence::Off) => Cadence::Off,
            Ok(proto::DigestCadence::Daily) => Cadence::Daily,
            Ok(proto::DigestCadence::Weekly) => Cadence::Weekly,
            Ok(proto::DigestCadence::Unspecified) => {
                return Err(ValidationError::new("cadence", "is required").into())
            }
            Err(_) => {
                let raw = request.get_ref().cadence;
                return Err(ValidationError::new("cadence", format!("unknown value {raw}")).into());
            }
        };
        let ws = workspace.clone();
        let schedule = self
            .engine
            .run(move |s| s.webhooks.set_digest_cadence(&ws, cadence))
            .await?;
        audit(
            &self.engine,
            &caller,
            "WebhookService/UpdateDigestSchedule",
            &workspace,
            cadence.as_str().to_string(),
        )
        .await;
        Ok(Response::new(schedule_to_proto(schedule)))
    }
}

fn schedule_to_proto(schedule: DigestSchedule) -> proto::DigestSchedule {
    proto::DigestSchedule {
        cadence: match schedule.cadence {
            Cadence::Off => proto::DigestCadence::Off,
            Cadence::Daily => proto::DigestCadence::Daily,
            Cadence::Weekly => proto::DigestCadence::Weekly,
        } as i32,
        last_sent_end: schedule.last_sent_end.map(convert::timestamp),
        event_type: schedule.cadence.event_type().unwrap_or("").to_string(),
    }
}
