//! The webhook service: subscriptions, the delivery log, redelivery, and the outbox alerts, themes
//! and digests queue their events in, over the store. It is the only writer of webhook, delivery and event
//! documents. Each change is one store transaction (a deletion cancels the webhook's pending
//! deliveries with it), flushed before returning, and wakes the delivery [`worker`](super::worker).
//! Blocking: the engine runs it on blocking threads.

use std::sync::Arc;

use tokio::sync::Notify;

use super::guard::check_url;
use super::{enqueue, event_types, Delivery, DeliveryStatus, Event, Webhook, WebhooksConfig};
use crate::alerts::{Alert, AlertEvent, AlertOutbox, AlertSeverity, EVENT_CREATED};
use crate::error::{Error, Result};
use crate::model::{Limits, ValidationError};
use crate::themes::accountability::ThemeEvent;
use crate::themes::service::ThemeOutbox;

/// Longest webhook URL, in bytes.
const MAX_URL_BYTES: usize = 2048;
use crate::store::{DocBatch, DocKind, Store};
use crate::time::Micros;

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
    /// The alert, theme or digest period the event is about.
    pub subject: Option<String>,
    pub status: Option<DeliveryStatus>,
}

/// Webhooks of every workspace, and the handle that wakes their delivery worker.
pub struct Webhooks {
    pub(super) store: Arc<Store>,
    pub(super) config: WebhooksConfig,
    limits: Limits,
    /// Every event type a subscription may ask for.
    event_types: Vec<&'static str>,
    wake: Arc<Notify>,
}

impl Webhooks {
    /// Webhooks over `store` offering the `event_types` the service raises.
    pub fn new(
        store: Arc<Store>,
        config: WebhooksConfig,
        limits: Limits,
        event_types: Vec<&'static str>,
    ) -> Webhooks {
        Webhooks {
            store,
            config,
            limits,
            event_types,
            wake: Arc::new(Notify::new()),
        }
    }

    /// Every event type a subscription may ask for.
    pub fn event_types(&self) -> &[&'static str] {
        &self.event_types
    }

    /// Starts the delivery worker on the current runtime.
    pub fn spawn_worker(&self) -> Result<tokio::task::JoinHandle<()>> {
        super::worker::spawn(self.store.clone(), self.config.clone(), self.wake.clone())
    }

    /// Commits a change, makes it durable, and wakes the worker (it may have queued deliveries).
    pub(super) fn commit(&self, batch: DocBatch) -> Result<()> {
        self.store.commit(batch)?;
        self.store.flush_blocking()?;
        self.wake.notify_one();
        Ok(())
    }

    /// Creates a subscription; returns it with its secret.
    pub fn create(
        &self,
        workspace: &str,
        new: NewWebhook,
        now: Micros,
    ) -> Result<(Webhook, String)> {
        if new.url.len() > MAX_URL_BYTES {
            return Err(ValidationError::new(
                "url",
                format!("{} bytes exceed {MAX_URL_BYTES}", new.url.len()),
            )
            .into());
        }
        self.limits.check_note("description", &new.description)?;
        self.limits
            .check_list("event_types", new.event_types.len())?;
        let existing = self.list(workspace)?.len();
        if existing >= self.limits.max_webhooks {
            return Err(Error::LimitExceeded {
                limit: "limits.max_webhooks",
                value: self.limits.max_webhooks,
                message: format!("workspace {workspace} has {existing} webhooks"),
            });
        }
        let url = check_url(new.url.trim(), self.config.allow_private_urls)
            .map_err(|e| ValidationError::new("url", e.to_string()))?;
        let types = event_types(new.event_types, &self.event_types)
            .map_err(|m| ValidationError::new("event_types", m))?;
        let (webhook, secret) = Webhook::new(
            url.to_string(),
            types,
            new.min_severity,
            new.description,
            now,
        );
        let mut batch = DocBatch::default();
        batch.put(workspace, DocKind::Webhook, &webhook.id, &webhook);
        self.commit(batch)?;
        tracing::info!(workspace, webhook = %webhook.id, url = %webhook.url, "webhook created");
        Ok((webhook, secret))
    }

    pub fn list(&self, workspace: &str) -> Result<Vec<Webhook>> {
        Ok(self.store.docs(workspace, DocKind::Webhook)?)
    }

    fn get(&self, workspace: &str, id: &str) -> Result<Webhook> {
        self.store
            .doc(workspace, DocKind::Webhook, id)?
            .ok_or_else(|| Error::not_found("webhook", id))
    }

    /// Removes a subscription and cancels its pending deliveries, together. Returns how many were
    /// cancelled.
    pub fn delete(&self, workspace: &str, id: &str, now: Micros) -> Result<usize> {
        self.get(workspace, id)?;
        let mut batch = DocBatch::default();
        batch.remove(workspace, DocKind::Webhook, id);
        let mut cancelled = 0;
        for mut delivery in self.store.docs::<Delivery>(workspace, DocKind::Delivery)? {
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
            batch.put(workspace, DocKind::Delivery, &delivery.name(), &delivery);
            cancelled += 1;
        }
        self.commit(batch)?;
        tracing::info!(workspace, webhook = id, cancelled, "webhook deleted");
        Ok(cancelled)
    }

    /// Issues a new secret (the old one keeps signing for a day).
    pub fn rotate_secret(
        &self,
        workspace: &str,
        id: &str,
        now: Micros,
    ) -> Result<(Webhook, String)> {
        let mut webhook = self.get(workspace, id)?;
        let secret = webhook.rotate(now);
        let mut batch = DocBatch::default();
        batch.put(workspace, DocKind::Webhook, id, &webhook);
        self.commit(batch)?;
        Ok((webhook, secret))
    }

    /// Deliveries matching `filter`, newest first.
    pub fn deliveries(&self, workspace: &str, filter: &DeliveryFilter) -> Result<Vec<Delivery>> {
        let mut found: Vec<Delivery> = self
            .store
            .docs::<Delivery>(workspace, DocKind::Delivery)?
            .into_iter()
            .filter(|d| {
                filter
                    .webhook_id
                    .as_ref()
                    .is_none_or(|w| *w == d.webhook_id)
            })
            .filter(|d| filter.subject.as_ref().is_none_or(|a| *a == d.subject))
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
        &self,
        workspace: &str,
        alert: Alert,
        webhook_id: Option<&str>,
        now: Micros,
    ) -> Result<Vec<Delivery>> {
        let alert_id = alert.id.clone();
        let alert_id = alert_id.as_str();
        let mut batch = DocBatch::default();
        let filter = DeliveryFilter {
            subject: Some(alert_id.to_string()),
            webhook_id: webhook_id.map(str::to_string),
            status: None,
        };
        let mut queued = Vec::new();
        for mut delivery in self.deliveries(workspace, &filter)? {
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
            batch.put(workspace, DocKind::Delivery, &delivery.name(), &delivery);
            queued.push(delivery);
        }
        if let (Some(id), true) = (webhook_id, queued.is_empty()) {
            let webhook = self.get(workspace, id)?;
            let change = AlertEvent {
                event_type: EVENT_CREATED,
                alert: Alert {
                    notes: Vec::new(),
                    ..alert
                },
            };
            let event: Event = match self.store.doc(
                workspace,
                DocKind::WebhookEvent,
                &Event::for_alert(workspace, &change, now).message_id,
            )? {
                Some(stored) => stored,
                None => Event::for_alert(workspace, &change, now),
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
        self.commit(batch)?;
        Ok(queued)
    }
}

impl AlertOutbox for Webhooks {
    fn enqueue(
        &self,
        batch: &mut DocBatch,
        workspace: &str,
        events: &[AlertEvent],
        now: Micros,
    ) -> Result<()> {
        let events = events.iter().map(|e| Event::for_alert(workspace, e, now));
        self.enqueue_events(batch, workspace, events)
    }

    fn wake(&self) {
        self.wake.notify_one();
    }
}

impl ThemeOutbox for Webhooks {
    fn enqueue_theme_events(
        &self,
        batch: &mut DocBatch,
        workspace: &str,
        events: &[ThemeEvent],
        now: Micros,
    ) -> Result<()> {
        let events = events.iter().map(|e| Event::for_theme(workspace, e, now));
        self.enqueue_events(batch, workspace, events)
    }

    fn wake(&self) {
        self.wake.notify_one();
    }
}

impl Webhooks {
    /// Adds `events` and a delivery of each for every subscription that wants it to `batch`.
    fn enqueue_events(
        &self,
        batch: &mut DocBatch,
        workspace: &str,
        events: impl IntoIterator<Item = Event>,
    ) -> Result<()> {
        let webhooks = self.list(workspace)?;
        for event in events {
            enqueue(batch, workspace, &webhooks, &event);
        }
        Ok(())
    }

    /// Adds `event` and a delivery for every subscription that wants it to `batch`; the caller
    /// commits the batch with the change that raised the event, then calls [`Webhooks::wake`].
    pub fn enqueue_event(
        &self,
        batch: &mut DocBatch,
        workspace: &str,
        event: &Event,
    ) -> Result<usize> {
        Ok(enqueue(batch, workspace, &self.list(workspace)?, event).len())
    }

    /// Tells the delivery worker that a committed batch queued deliveries.
    pub fn wake(&self) {
        self.wake.notify_one();
    }
}
