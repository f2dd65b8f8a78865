//! Webhooks: subscriptions, the events they receive, signing, and the delivery log. Alerts, theme
//! accountability events and digests reach consumers through a durable outbox: an event and its
//! pending deliveries are written in the same store transaction as the change that raised it, and
//! [`worker`] sends them, retrying on a schedule, so a crash or a consumer outage delays a
//! delivery but never drops it. Which event types exist is the engine's to say (it composes the
//! catalogue); severities filter alert events only.

pub mod digest;
pub mod guard;
pub mod service;
pub mod signature;
pub mod worker;

use serde::{Deserialize, Serialize};
use serde_json::json;

use crate::alerts::{Alert, AlertEvent, AlertSeverity};
use crate::store::{DocBatch, DocKind, OutboxEntry};
use crate::themes::accountability::ThemeEvent;
use crate::themes::record::Theme;
use crate::time::{format_rfc3339, Micros, DAY};

pub use self::service::{DeliveryFilter, NewWebhook, Webhooks};
pub use self::signature::{sign, verify_signature, SignatureError};

/// Webhook delivery.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct WebhooksConfig {
    /// Accept webhook URLs that point at private, loopback or link-local addresses (and plain
    /// http for loopback). Off in production: it guards against SSRF.
    pub allow_private_urls: bool,
    /// How long one delivery attempt may take, in seconds.
    pub timeout_secs: u64,
    /// Delay before each attempt, in seconds: the first is the delay after the alert, the rest
    /// follow failures. Each gets ±10% jitter; 429/503 answers may ask for longer (Retry-After).
    pub retry_schedule_secs: Vec<f64>,
    /// Deliveries sent at the same time.
    pub max_concurrent_deliveries: usize,
    /// A workspace's digest cadence until it sets its own (`WebhookService/UpdateDigestSchedule`):
    /// "weekly" (periods Monday to Monday, UTC), "daily" or "off".
    pub digest_cadence: digest::Cadence,
    /// Look for digests due this often, in seconds, and at start (0: never send digests).
    pub digest_check_interval_secs: u64,
}

impl Default for WebhooksConfig {
    fn default() -> Self {
        WebhooksConfig {
            allow_private_urls: false,
            timeout_secs: 15,
            retry_schedule_secs: vec![
                0.0, 5.0, 300.0, 1_800.0, 7_200.0, 18_000.0, 36_000.0, 36_000.0,
            ],
            max_concurrent_deliveries: 8,
            digest_cadence: digest::Cadence::Weekly,
            digest_check_interval_secs: 300,
        }
    }
}

/// After a rotation, the old secret keeps signing for this long, so consumers can switch over.
pub const ROTATION_OVERLAP_MICROS: Micros = DAY;

/// A signing secret and its lifetime.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SigningSecret {
    pub secret: String,
    pub issued_at: Micros,
    /// Set when a newer secret replaced it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires_at: Option<Micros>,
}

/// A subscription.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Webhook {
    /// `wh_` + 16 hex digits.
    pub id: String,
    pub url: String,
    pub event_types: Vec<String>,
    pub min_severity: AlertSeverity,
    #[serde(default)]
    pub description: String,
    pub enabled: bool,
    #[serde(default)]
    pub disabled_reason: String,
    pub created_at: Micros,
    /// Newest last.
    pub secrets: Vec<SigningSecret>,
}

impl Webhook {
    /// A new subscription and its secret (the only time the secret is handed out).
    pub fn new(
        url: String,
        event_types: Vec<String>,
        min_severity: AlertSeverity,
        description: String,
        now: Micros,
    ) -> (Webhook, String) {
        let secret = signature::new_secret();
        let webhook = Webhook {
            id: format!("wh_{:016x}", rand::random::<u64>()),
            url,
            event_types,
            min_severity,
            description,
            enabled: true,
            disabled_reason: String::new(),
            created_at: now,
            secrets: vec![SigningSecret {
                secret: secret.clone(),
                issued_at: now,
                expires_at: None,
            }],
        };
        (webhook, secret)
    }

    /// Whether this subscription receives an event (of an alert with `severity`, or none).
    pub fn wants(&self, event_type: &str, severity: Option<AlertSeverity>) -> bool {
        self.enabled
            && severity.is_none_or(|s| s >= self.min_severity)
            && self.event_types.iter().any(|t| t == event_type)
    }

    /// Secrets that sign a delivery at `now`: the newest, plus an old one during its overlap.
    pub fn signing_secrets(&self, now: Micros) -> impl Iterator<Item = &str> {
        self.secrets
            .iter()
            .filter(move |s| s.expires_at.is_none_or(|end| end > now))
            .map(|s| s.secret.as_str())
    }

    /// Issues a new secret; the current ones expire after [`ROTATION_OVERLAP_MICROS`].
    pub fn rotate(&mut self, now: Micros) -> String {
        let secret = signature::new_secret();
        for old in &mut self.secrets {
            old.expires_at.get_or_insert(now + ROTATION_OVERLAP_MICROS);
        }
        self.secrets
            .retain(|s| s.expires_at.is_none_or(|end| end > now));
        self.secrets.push(SigningSecret {
            secret: secret.clone(),
            issued_at: now,
            expires_at: None,
        });
        secret
    }

    pub fn secret_rotated_at(&self) -> Micros {
        self.secrets.last().map_or(self.created_at, |s| s.issued_at)
    }
}

/// Checks requested event types against the `known` ones; none means all.
pub fn event_types(requested: Vec<String>, known: &[&str]) -> Result<Vec<String>, String> {
    if requested.is_empty() {
        return Ok(known.iter().map(|t| t.to_string()).collect());
    }
    for t in &requested {
        if !known.contains(&t.as_str()) {
            return Err(format!(
                "unknown event type {} (expected one of {})",
                crate::model::quoted(t),
                known.join(", ")
            ));
        }
    }
    Ok(requested)
}

/// Where a delivery is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DeliveryStatus {
    Pending,
    Delivered,
    Failed,
    Cancelled,
}

/// One event to one webhook, with its attempts.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Delivery {
    /// The event's `webhook-id`.
    pub message_id: String,
    pub webhook_id: String,
    /// What the event is about: an alert id, a theme id, or a digest's period.
    #[serde(alias = "alert_id")]
    pub subject: String,
    pub event_type: String,
    pub status: DeliveryStatus,
    pub attempts: u32,
    #[serde(default)]
    pub last_status_code: u16,
    #[serde(default)]
    pub last_error: String,
    pub created_at: Micros,
    #[serde(default)]
    pub last_attempt_at: Option<Micros>,
    #[serde(default)]
    pub next_attempt_at: Option<Micros>,
    #[serde(default)]
    pub delivered_at: Option<Micros>,
}

impl Delivery {
    /// Its document name: one per webhook and event.
    pub fn name(&self) -> String {
        format!("{}/{}", self.webhook_id, self.message_id)
    }

    /// Its outbox entry while pending.
    pub fn outbox_entry(&self, workspace: &str) -> Option<OutboxEntry> {
        (self.status == DeliveryStatus::Pending).then(|| OutboxEntry {
            due: self.next_attempt_at.unwrap_or(self.created_at).max(0) as u64,
            workspace: workspace.to_string(),
            delivery: self.name(),
        })
    }
}

/// An event as sent: its id and the exact body every attempt carries.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Event {
    pub message_id: String,
    pub event_type: String,
    /// What it is about: an alert id, a theme id, or a digest's period.
    #[serde(alias = "alert_id")]
    pub subject: String,
    /// An alert's severity (subscriptions' `min_severity` filters on it); none for other events.
    #[serde(default)]
    pub severity: Option<AlertSeverity>,
    pub body: String,
    pub created_at: Micros,
}

impl Event {
    /// An event whose body is `{type, timestamp, workspace, data}`. `message_id` must name the
    /// occurrence, the same however often it is built: consumers deduplicate on it.
    pub fn new(
        workspace: &str,
        message_id: String,
        event_type: &str,
        subject: String,
        severity: Option<AlertSeverity>,
        data: serde_json::Value,
        now: Micros,
    ) -> Event {
        let body = json!({
            "type": event_type,
            "timestamp": format_rfc3339(now),
            "workspace": workspace,
            "data": data,
        });
        Event {
            message_id,
            event_type: event_type.to_string(),
            subject,
            severity,
            body: body.to_string(),
            created_at: now,
        }
    }

    /// The event for an alert change. Its id is stable: the alert and how many changes it has
    /// had.
    pub fn for_alert(workspace: &str, change: &AlertEvent, now: Micros) -> Event {
        let message_id = format!(
            "msg_{workspace}_{}_{}",
            change.alert.id,
            change.alert.notes.len()
        );
        Event::new(
            workspace,
            message_id,
            change.event_type,
            change.alert.id.clone(),
            Some(change.alert.severity),
            alert_payload(&change.alert),
            now,
        )
    }

    /// The event for a change in a theme's accountability loop; its id names the occurrence.
    pub fn for_theme(workspace: &str, change: &ThemeEvent, now: Micros) -> Event {
        Event::new(
            workspace,
            format!("msg_{workspace}_{}", change.occurrence),
            change.event_type,
            change.theme.id.clone(),
            None,
            theme_payload(&change.theme, change.at),
            now,
        )
    }
}

/// Adds an event, and a pending delivery with an outbox entry for every webhook that wants it,
/// to `batch`. Returns the deliveries.
pub fn enqueue(
    batch: &mut DocBatch,
    workspace: &str,
    webhooks: &[Webhook],
    event: &Event,
) -> Vec<Delivery> {
    let deliveries: Vec<Delivery> = webhooks
        .iter()
        .filter(|w| w.wants(&event.event_type, event.severity))
        .map(|w| Delivery {
            message_id: event.message_id.clone(),
            webhook_id: w.id.clone(),
            subject: event.subject.clone(),
            event_type: event.event_type.clone(),
            status: DeliveryStatus::Pending,
            attempts: 0,
            last_status_code: 0,
            last_error: String::new(),
            created_at: event.created_at,
            last_attempt_at: None,
            next_attempt_at: Some(event.created_at),
            delivered_at: None,
        })
        .collect();
    if deliveries.is_empty() {
        return deliveries;
    }
    batch.put(workspace, DocKind::WebhookEvent, &event.message_id, event);
    for delivery in &deliveries {
        batch.put(workspace, DocKind::Delivery, &delivery.name(), delivery);
        if let Some(entry) = delivery.outbox_entry(workspace) {
            batch.schedule(&entry);
        }
    }
    deliveries
}

/// A theme and its accountability loop as a webhook body's `data`, as of `at` (on the loop's
/// clock): readable times.
fn theme_payload(theme: &Theme, at: Micros) -> serde_json::Value {
    let a = &theme.accountability;
    let time = |t: Option<Micros>| t.map(format_rfc3339);
    json!({
        "id": theme.id,
        "label": theme.label,
        "keywords": theme.keywords.iter().take(5).map(|(k, _)| k).collect::<Vec<_>>(),
        "owner": theme.owner,
        "status": a.status.as_str(),
        "sla_days": a.sla_days,
        "assigned_at": time(a.assigned_at),
        "due": time(a.due()),
        "overdue_hours": a.due().filter(|due| at >= *due).map(|due| (at - due) / crate::time::HOUR),
        "next_action": a.next_action,
        "ready_to_close": a.ready_to_close,
        "reopened": a.reopened,
        "volume": theme.volume,
        "share": theme.measured.map(|m| m.share),
        "baseline_share": theme.measured.map(|m| m.baseline_share),
        "frequency_class": theme.frequency_class,
        "velocity": theme.velocity,
    })
}

/// The alert as a webhook body's `data`: readable times, no internal fields.
fn alert_payload(alert: &Alert) -> serde_json::Value {
    let e = &alert.evidence;
    json!({
        "id": alert.id,
        "rule": alert.rule,
        "status": alert.status,
        "severity": alert.severity,
        "theme": {
            "id": alert.theme_id,
            "label": alert.theme_label,
            "keywords": alert.keywords,
        },
        "themes": alert.theme_ids(),
        "signals": alert.fired(),
        "rising_phrases": alert.rising_phrases,
        "phrase": alert.phrase,
        "summary": alert.summary,
        "frequency_class": e.class,
        "mentions": e.mentions,
        "baseline_mentions": e.baseline_mentions,
        "share": e.share,
        "baseline_share": e.baseline_share,
        "velocity": e.velocity,
        "p_value": e.p_value,
        "dispersion": e.dispersion,
        "average_sentiment": e.average_sentiment,
        "negative_share": e.negative_share,
        "affected_customers": e.affected_customers,
        "affected_customer_share": e.affected_customer_share,
        "quotes": alert.quotes,
        "product_area": alert.product_area,
        "owner": alert.owner,
        "recommended_action": alert.recommended_action,
        "window": {
            "start": format_rfc3339(e.window_start),
            "end": format_rfc3339(e.window_end),
            "baseline_start": format_rfc3339(e.baseline_start),
        },
        "first_seen": format_rfc3339(e.first_seen),
        "raised_at": format_rfc3339(alert.raised_at),
        "updated_at": format_rfc3339(alert.updated_at),
        "assignee": alert.assignee,
        "note": alert.notes.last().map(|n| n.note.as_str()).unwrap_or(""),
        "backtest": alert.backtest,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rotation_keeps_the_old_secret_signing_for_a_day() {
        let (mut webhook, first) = Webhook::new(
            "https://example.com/h".into(),
            event_types(vec![], &crate::alerts::EVENT_TYPES).unwrap(),
            AlertSeverity::Low,
            String::new(),
            0,
        );
        assert!(first.starts_with("whsec_"));
        let second = webhook.rotate(1_000);
        let signing: Vec<&str> = webhook.signing_secrets(2_000).collect();
        assert_eq!(signing, [first.as_str(), second.as_str()]);
        let later: Vec<&str> = webhook
            .signing_secrets(1_000 + ROTATION_OVERLAP_MICROS + 1)
            .collect();
        assert_eq!(later, [second.as_str()]);
        assert_eq!(webhook.secret_rotated_at(), 1_000);
    }

    #[test]
    fn subscriptions_filter_by_type_and_severity() {
        let (webhook, _) = Webhook::new(
            "https://example.com/h".into(),
            event_types(vec!["alert.created".into()], &crate::alerts::EVENT_TYPES).unwrap(),
            AlertSeverity::High,
            String::new(),
            0,
        );
        assert!(webhook.wants("alert.created", Some(AlertSeverity::Critical)));
        assert!(!webhook.wants("alert.created", Some(AlertSeverity::Medium)));
        assert!(!webhook.wants("alert.updated", Some(AlertSeverity::Critical)));
        assert!(event_types(vec!["alert.deleted".into()], &crate::alerts::EVENT_TYPES).is_err());
    }
}
