//! Webhook subscriptions and the delivery log over the store. Blocking functions; each change is
//! one store transaction (a deletion cancels the webhook's pending deliveries with it) and is
//! flushed before returning.

use super::alerts::ALERT;
use crate::alerts::{Alert, AlertEvent, AlertSeverity, EVENT_CREATED};
use crate::error::{Error, Result};
use crate::model::{Micros, ValidationError};
use crate::store::{DocBatch, Store};
use crate::webhooks::guard::check_url;
use crate::webhooks::{
    enqueue, event_types, Delivery, DeliveryStatus, Event, Webhook, DELIVERY, EVENT, WEBHOOK,
};

/// What a new subscription asks for.
#[derive(Debug, Clone)]
pub struct NewWebhook {
    pub url: String,
    pub event_types: Vec<String>,
    pub min_severity: AlertSeverity,
    pub description: String,
}

/// Delivery log filters.
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct DeliveryFilter {
    pub webhook_id: Option<String>,
    pub alert_id: Option<String>,
    pub status: Option<DeliveryStatus>,
}

/// Creates a subscription; returns it with its secret.
pub fn create(
    store: &Store,
    workspace: &str,
    new: NewWebhook,
    allow_private: bool,
    now: Micros,
) -> Result<(Webhook, String)> {
    let url = check_url(new.url.trim(), allow_private)
        .map_err(|e| ValidationError::new("url", e.to_string()))?;
    let types = event_types(new.event_types).map_err(|m| ValidationError::new("event_types", m))?;
    let (webhook, secret) = Webhook::new(
        url.to_string(),
        types,
        new.min_severity,
        new.description,
        now,
    );
    let mut batch = DocBatch::default();
    batch.put(workspace, WEBHOOK, &webhook.id, &webhook);
    store.commit(batch)?;
    store.flush_blocking()?;
    tracing::info!(workspace, webhook = %webhook.id, url = %webhook.url, "webhook created");
    Ok((webhook, secret))
}

pub fn list(store: &Store, workspace: &str) -> Result<Vec<Webhook>> {
    Ok(store.docs(workspace, WEBHOOK)?)
}

fn get(store: &Store, workspace: &str, id: &str) -> Result<Webhook> {
    store
        .doc(workspace, WEBHOOK, id)?
        .ok_or_else(|| Error::NotFound {
            what: format!("webhook {id}"),
        })
}

/// Removes a subscription and cancels its pending deliveries, together. Returns how many were
/// cancelled.
pub fn delete(store: &Store, workspace: &str, id: &str, now: Micros) -> Result<usize> {
    get(store, workspace, id)?;
    let mut batch = DocBatch::default();
    batch.remove(workspace, WEBHOOK, id);
    let mut cancelled = 0;
    for mut delivery in store.docs::<Delivery>(workspace, DELIVERY)? {
        if delivery.webhook_id != id || delivery.status != DeliveryStatus::Pending {
            continue;
        }
        if let Some(entry) = delivery.outbox_entry(workspace) {
            batch.unschedule(&entry);
        }
        delivery.status = DeliveryStatus::Cancelled;
        delivery.last_error = "webhook deleted".into();
        delivery.next_attempt_at = None;
        delivery.last_attempt_at.get_or_insert(now);
        batch.put(workspace, DELIVERY, &delivery.name(), &delivery);
        cancelled += 1;
    }
    store.commit(batch)?;
    store.flush_blocking()?;
    tracing::info!(workspace, webhook = id, cancelled, "webhook deleted");
    Ok(cancelled)
}

/// Issues a new secret (the old one keeps signing for a day).
pub fn rotate_secret(
    store: &Store,
    workspace: &str,
    id: &str,
    now: Micros,
) -> Result<(Webhook, String)> {
    let mut webhook = get(store, workspace, id)?;
    let secret = webhook.rotate(now);
    let mut batch = DocBatch::default();
    batch.put(workspace, WEBHOOK, id, &webhook);
    store.commit(batch)?;
    store.flush_blocking()?;
    Ok((webhook, secret))
}

/// Deliveries matching `filter`, newest first.
pub fn deliveries(
    store: &Store,
    workspace: &str,
    filter: &DeliveryFilter,
) -> Result<Vec<Delivery>> {
    let mut found: Vec<Delivery> = store
        .docs::<Delivery>(workspace, DELIVERY)?
        .into_iter()
        .filter(|d| {
            filter
                .webhook_id
                .as_ref()
                .is_none_or(|w| *w == d.webhook_id)
        })
        .filter(|d| filter.alert_id.as_ref().is_none_or(|a| *a == d.alert_id))
        .filter(|d| filter.status.is_none_or(|s| s == d.status))
        .collect();
    found.sort_by(|a, b| {
        b.created_at
            .cmp(&a.created_at)
            .then_with(|| b.message_id.cmp(&a.message_id))
    });
    Ok(found)
}

/// Queues an alert's events again, now, with their original webhook-ids: to one webhook or to
/// every webhook that had a delivery of it. A webhook that never had one (created after the
/// alert) gets the `alert.created` event.
pub fn redeliver(
    store: &Store,
    workspace: &str,
    alert_id: &str,
    webhook_id: Option<&str>,
    now: Micros,
) -> Result<Vec<Delivery>> {
    let alert: Alert = store
        .doc(workspace, ALERT, alert_id)?
        .ok_or_else(|| Error::NotFound {
            what: format!("alert {alert_id}"),
        })?;
    let mut batch = DocBatch::default();
    let filter = DeliveryFilter {
        alert_id: Some(alert_id.to_string()),
        webhook_id: webhook_id.map(str::to_string),
        status: None,
    };
    let mut queued = Vec::new();
    for mut delivery in deliveries(store, workspace, &filter)? {
        if let Some(entry) = delivery.outbox_entry(workspace) {
            batch.unschedule(&entry);
        }
        delivery.status = DeliveryStatus::Pending;
        delivery.attempts = 0;
        delivery.next_attempt_at = Some(now);
        delivery.delivered_at = None;
        if let Some(entry) = delivery.outbox_entry(workspace) {
            batch.schedule(&entry);
        }
        batch.put(workspace, DELIVERY, &delivery.name(), &delivery);
        queued.push(delivery);
    }
    if let (Some(id), true) = (webhook_id, queued.is_empty()) {
        let webhook = get(store, workspace, id)?;
        let change = AlertEvent {
            event_type: EVENT_CREATED,
            alert: Alert {
                notes: Vec::new(),
                ..alert
            },
        };
        let event: Event = match store.doc(
            workspace,
            EVENT,
            &Event::new(workspace, &change, now).message_id,
        )? {
            Some(stored) => stored,
            None => Event::new(workspace, &change, now),
        };
        let mut forced = webhook.clone();
        forced.min_severity = AlertSeverity::Low;
        forced.event_types = vec![EVENT_CREATED.to_string()];
        queued = enqueue(
            &mut batch,
            workspace,
            &[forced],
            &Event {
                created_at: now,
                ..event
            },
        );
    }
    if queued.is_empty() {
        return Err(Error::FailedPrecondition(format!(
            "alert_id: alert {alert_id} has no deliveries to send again"
        )));
    }
    store.commit(batch)?;
    store.flush_blocking()?;
    Ok(queued)
}
