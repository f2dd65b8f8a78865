//! The outbox worker: sends due deliveries, records every attempt, and reschedules failures on
//! the configured schedule (with jitter; 429/503 honour Retry-After; 410 disables the webhook).
//! Each outcome is written and flushed before the next scan, so a restart resumes exactly where
//! the outbox says: a delivery may be repeated after a crash (consumers deduplicate on
//! `webhook-id`), never lost.

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use futures::StreamExt;
use tokio::sync::Notify;

use super::{guard, sign, Delivery, DeliveryStatus, Event, Webhook, WebhooksConfig};
use crate::error::{Error, Result};
use crate::store::{DocBatch, DocKind, OutboxEntry, Store};
use crate::time::{self, Micros};

/// Longest sleep while the outbox is empty (new entries also wake the worker).
const IDLE: Duration = Duration::from_secs(30);
/// Outbox entries taken per scan.
const SCAN: usize = 64;
/// Longest Retry-After honoured.
const MAX_RETRY_AFTER: Duration = Duration::from_secs(24 * 3_600);

/// What one attempt came to.
#[derive(Debug, Clone, PartialEq)]
enum Outcome {
    /// The endpoint answered.
    Answered {
        status: u16,
        retry_after: Option<Duration>,
    },
    /// No answer (connection refused, timeout, TLS, a refused address).
    Failed(String),
}

/// Starts the worker; `wake` is notified whenever something is added to the outbox.
pub fn spawn(
    store: Arc<Store>,
    config: WebhooksConfig,
    wake: Arc<Notify>,
) -> Result<tokio::task::JoinHandle<()>> {
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(config.timeout_secs))
        .redirect(reqwest::redirect::Policy::none())
        .dns_resolver(guard::resolver(config.allow_private_urls))
        .user_agent(concat!("tideline-webhooks/", env!("CARGO_PKG_VERSION")))
        .build()
        .map_err(|e| Error::Setup(format!("webhook http client: {e}")))?;
    let worker = Arc::new(Worker {
        store,
        config,
        client,
    });
    Ok(tokio::spawn(async move {
        loop {
            match worker.clone().run_once().await {
                Ok(true) => {}
                Ok(false) => {
                    let wait = worker.until_next_due().await;
                    tokio::select! {
                        _ = wake.notified() => {}
                        _ = tokio::time::sleep(wait) => {}
                    }
                }
                Err(err) => {
                    tracing::error!(error = %err, "webhook outbox scan failed");
                    tokio::time::sleep(Duration::from_secs(1)).await;
                }
            }
        }
    }))
}

struct Worker {
    store: Arc<Store>,
    config: WebhooksConfig,
    client: reqwest::Client,
}

impl Worker {
    /// Attempts every due delivery once. Returns whether there were any.
    async fn run_once(self: Arc<Self>) -> Result<bool> {
        let now = time::now().max(0) as u64;
        let due = self
            .blocking(move |store| Ok(store.outbox_due(now, SCAN)?))
            .await?;
        if due.is_empty() {
            return Ok(false);
        }
        futures::stream::iter(due)
            .for_each_concurrent(self.config.max_concurrent_deliveries, |entry| {
                let worker = self.clone();
                async move {
                    if let Err(err) = worker.attempt(&entry).await {
                        tracing::error!(
                            workspace = %entry.workspace,
                            delivery = %entry.delivery,
                            error = %err,
                            "webhook delivery bookkeeping failed"
                        );
                    }
                }
            })
            .await;
        Ok(true)
    }

    /// Runs store work off the async runtime.
    async fn blocking<T: Send + 'static>(
        &self,
        work: impl FnOnce(&Store) -> Result<T> + Send + 'static,
    ) -> Result<T> {
        let store = self.store.clone();
        tokio::task::spawn_blocking(move || work(&store)).await?
    }

    async fn until_next_due(&self) -> Duration {
        match self.blocking(|store| Ok(store.outbox_next_due()?)).await {
            Ok(Some(due)) => {
                let now = time::now().max(0) as u64;
                Duration::from_micros(due.saturating_sub(now)).min(IDLE)
            }
            _ => IDLE,
        }
    }

    async fn attempt(&self, entry: &OutboxEntry) -> Result<()> {
        let ws = entry.workspace.as_str();
        let mut batch = DocBatch::default();
        batch.unschedule(entry);
        let (workspace, name) = (entry.workspace.clone(), entry.delivery.clone());
        let (delivery, webhook, event) = self
            .blocking(move |store| {
                let delivery: Option<Delivery> = store.doc(&workspace, DocKind::Delivery, &name)?;
                let Some(delivery) = delivery.filter(|d| d.status == DeliveryStatus::Pending)
                else {
                    return Ok((None, None, None));
                };
                let webhook: Option<Webhook> =
                    store.doc(&workspace, DocKind::Webhook, &delivery.webhook_id)?;
                let event: Option<Event> =
                    store.doc(&workspace, DocKind::WebhookEvent, &delivery.message_id)?;
                Ok((Some(delivery), webhook, event))
            })
            .await?;
        let Some(mut delivery) = delivery else {
            return self.commit(batch).await;
        };
        match (webhook, event) {
            (None, _) => {
                delivery.status = DeliveryStatus::Cancelled;
                delivery.last_error = "webhook deleted".into();
            }
            (Some(webhook), _) if !webhook.enabled => {
                delivery.status = DeliveryStatus::Cancelled;
                delivery.last_error = format!("webhook disabled: {}", webhook.disabled_reason);
            }
            (Some(_), None) => {
                delivery.status = DeliveryStatus::Failed;
                delivery.last_error = "event body missing from the store".into();
            }
            (Some(mut webhook), Some(event)) => {
                let outcome = self.send(&webhook, &event).await;
                let now = time::now();
                let jitter: f64 = rand::random();
                record(
                    &mut delivery,
                    &mut webhook,
                    &outcome,
                    now,
                    &self.config.retry_schedule_secs,
                    jitter,
                );
                if !webhook.enabled {
                    batch.put(ws, DocKind::Webhook, &webhook.id, &webhook);
                }
                tracing::info!(
                    workspace = ws,
                    webhook = %webhook.id,
                    message_id = %delivery.message_id,
                    attempt = delivery.attempts,
                    status = ?delivery.status,
                    outcome = ?outcome,
                    "webhook delivery attempted"
                );
            }
        }
        let outcome = match delivery.status {
            DeliveryStatus::Delivered => "delivered",
            DeliveryStatus::Pending => "retry",
            DeliveryStatus::Cancelled => "cancelled",
            DeliveryStatus::Failed if delivery.last_status_code == 410 => "disabled",
            DeliveryStatus::Failed => "failed",
        };
        metrics::counter!("tideline_webhook_deliveries_total", "outcome" => outcome).increment(1);
        if let Some(next) = delivery.outbox_entry(ws) {
            batch.schedule(&next);
        }
        batch.put(ws, DocKind::Delivery, &delivery.name(), &delivery);
        self.commit(batch).await
    }

    async fn commit(&self, batch: DocBatch) -> Result<()> {
        self.blocking(move |store| {
            store.commit(batch)?;
            Ok(store.flush_blocking()?)
        })
        .await
    }

    async fn send(&self, webhook: &Webhook, event: &Event) -> Outcome {
        let url = match guard::check_url(&webhook.url, self.config.allow_private_urls) {
            Ok(url) => url,
            Err(err) => return Outcome::Failed(err.to_string()),
        };
        let now = time::now();
        let timestamp = now.div_euclid(time::SECOND);
        let signatures: Vec<String> = webhook
            .signing_secrets(now)
            .filter_map(|secret| {
                sign(secret, &event.message_id, timestamp, event.body.as_bytes()).ok()
            })
            .collect();
        let request = self
            .client
            .post(url)
            .header("content-type", "application/json")
            .header("webhook-id", &event.message_id)
            .header("webhook-timestamp", timestamp.to_string())
            .header("webhook-signature", signatures.join(" "))
            .body(event.body.clone());
        match request.send().await {
            Ok(response) => Outcome::Answered {
                status: response.status().as_u16(),
                retry_after: response
                    .headers()
                    .get(reqwest::header::RETRY_AFTER)
                    .and_then(|v| v.to_str().ok())
                    .and_then(parse_retry_after),
            },
            Err(err) => Outcome::Failed(describe(&err)),
        }
    }
}

/// The error and its causes on one line ("error sending request: connection refused").
fn describe(err: &dyn std::error::Error) -> String {
    let mut text = err.to_string();
    let mut source = err.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

/// Records an attempt's outcome on the delivery (and disables the webhook on 410).
fn record(
    delivery: &mut Delivery,
    webhook: &mut Webhook,
    outcome: &Outcome,
    now: Micros,
    schedule: &[f64],
    jitter: f64,
) {
    delivery.attempts += 1;
    delivery.last_attempt_at = Some(now);
    delivery.next_attempt_at = None;
    let retry_after = match outcome {
        Outcome::Answered { status, .. } if (200..300).contains(status) => {
            delivery.status = DeliveryStatus::Delivered;
            delivery.last_status_code = *status;
            delivery.last_error.clear();
            delivery.delivered_at = Some(now);
            return;
        }
        Outcome::Answered { status: 410, .. } => {
            delivery.status = DeliveryStatus::Failed;
            delivery.last_status_code = 410;
            delivery.last_error = "endpoint answered 410 gone; webhook disabled".into();
            webhook.enabled = false;
            webhook.disabled_reason = "endpoint answered 410 gone".into();
            return;
        }
        Outcome::Answered {
            status,
            retry_after,
        } => {
            delivery.last_status_code = *status;
            delivery.last_error = format!("endpoint answered {status}");
            retry_after.filter(|_| *status == 429 || *status == 503)
        }
        Outcome::Failed(message) => {
            delivery.last_status_code = 0;
            delivery.last_error = message.clone();
            None
        }
    };
    match next_delay(schedule, delivery.attempts, retry_after, jitter) {
        Some(delay) => delivery.next_attempt_at = Some(now + delay.as_micros() as Micros),
        None => {
            delivery.status = DeliveryStatus::Failed;
            delivery.last_error = format!(
                "gave up after {} attempts; last: {}",
                delivery.attempts, delivery.last_error
            );
        }
    }
}

/// The wait before the next attempt after `attempts` failures, or `None` when the schedule is
/// used up. `jitter` in [0, 1) spreads it by ±10%; a Retry-After asks for at least its delay.
fn next_delay(
    schedule: &[f64],
    attempts: u32,
    retry_after: Option<Duration>,
    jitter: f64,
) -> Option<Duration> {
    let base = *schedule.get(attempts as usize)?;
    let jittered = Duration::from_secs_f64(base * (0.9 + 0.2 * jitter));
    Some(match retry_after {
        Some(asked) => jittered.max(asked.min(MAX_RETRY_AFTER)),
        None => jittered,
    })
}

/// `Retry-After` as delay-seconds or an HTTP date.
fn parse_retry_after(value: &str) -> Option<Duration> {
    if let Ok(secs) = value.trim().parse::<u64>() {
        return Some(Duration::from_secs(secs));
    }
    let at = httpdate::parse_http_date(value.trim()).ok()?;
    Some(at.duration_since(SystemTime::now()).unwrap_or_default())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::alerts::AlertSeverity;

    const SCHEDULE: [f64; 3] = [0.0, 5.0, 300.0];

    fn fixtures() -> (Delivery, Webhook) {
        let (webhook, _) = Webhook::new(
            "https://example.com/h".into(),
            vec!["alert.created".into()],
            AlertSeverity::Low,
            String::new(),
            0,
        );
        let delivery = Delivery {
            message_id: "msg_1".into(),
            webhook_id: webhook.id.clone(),
            subject: "AL-000001".into(),
            event_type: "alert.created".into(),
            status: DeliveryStatus::Pending,
            attempts: 0,
            last_status_code: 0,
            last_error: String::new(),
            created_at: 0,
            last_attempt_at: None,
            next_attempt_at: Some(0),
            delivered_at: None,
        };
        (delivery, webhook)
    }

    fn answered(status: u16, retry_after: Option<u64>) -> Outcome {
        Outcome::Answered {
            status,
            retry_after: retry_after.map(Duration::from_secs),
        }
    }

    #[test]
    fn failures_follow_the_schedule_then_give_up() {
        let (mut d, mut w) = fixtures();
        record(
            &mut d,
            &mut w,
            &answered(500, None),
            1_000_000,
            &SCHEDULE,
            0.5,
        );
        assert_eq!(d.status, DeliveryStatus::Pending);
        assert_eq!(d.next_attempt_at, Some(1_000_000 + 5_000_000));
        record(
            &mut d,
            &mut w,
            &Outcome::Failed("refused".into()),
            0,
            &SCHEDULE,
            0.5,
        );
        assert_eq!(d.next_attempt_at, Some(300_000_000));
        record(&mut d, &mut w, &answered(502, None), 0, &SCHEDULE, 0.5);
        assert_eq!(d.status, DeliveryStatus::Failed);
        assert!(
            d.last_error.starts_with("gave up after 3 attempts"),
            "{}",
            d.last_error
        );
        assert_eq!(d.outbox_entry("ws"), None);
    }

    #[test]
    fn success_gone_and_retry_after() {
        let (mut d, mut w) = fixtures();
        record(&mut d, &mut w, &answered(429, Some(60)), 0, &SCHEDULE, 0.0);
        assert_eq!(
            d.next_attempt_at,
            Some(60_000_000),
            "Retry-After beats 4.5 s"
        );
        // Retry-After on a plain 500 is not a request to wait.
        let (mut d2, _) = fixtures();
        record(&mut d2, &mut w, &answered(500, Some(60)), 0, &SCHEDULE, 0.0);
        assert_eq!(d2.next_attempt_at, Some(4_500_000));
        record(&mut d, &mut w, &answered(204, None), 7, &SCHEDULE, 0.0);
        assert_eq!(
            (d.status, d.delivered_at),
            (DeliveryStatus::Delivered, Some(7))
        );
        let (mut d3, _) = fixtures();
        record(&mut d3, &mut w, &answered(410, None), 0, &SCHEDULE, 0.0);
        assert_eq!(d3.status, DeliveryStatus::Failed);
        assert!(!w.enabled);
    }

    #[test]
    fn delays_get_jitter_and_retry_after_parses() {
        assert_eq!(
            next_delay(&SCHEDULE, 1, None, 0.0),
            Some(Duration::from_millis(4_500))
        );
        assert_eq!(
            next_delay(&SCHEDULE, 1, None, 0.999_999),
            Some(Duration::from_secs_f64(5.0 * (0.9 + 0.2 * 0.999_999)))
        );
        assert_eq!(next_delay(&SCHEDULE, 3, None, 0.0), None);
        assert_eq!(parse_retry_after("120"), Some(Duration::from_secs(120)));
        assert_eq!(
            parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT"),
            Some(Duration::ZERO)
        );
        assert_eq!(parse_retry_after("soon"), None);
    }
}
