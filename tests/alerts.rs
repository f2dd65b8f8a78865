//! Emerging-issue alerts end to end: a synthetic stream with known truth through the real service
//! (backtest), the alert log and its lifecycle, live watching, and webhook delivery to a real HTTP
//! receiver on loopback (signatures, retries, exactly-once by webhook-id, restarts, deletions).

mod common;

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use common::receiver::{Received, Receiver};
use common::synthetic::{self, DAY_SECS, DOUBLING_DAY};
use common::{test_config, TestServer};
use tideline::proto::alert_service_client::AlertServiceClient;
use tideline::proto::theme_service_client::ThemeServiceClient;
use tideline::proto::webhook_service_client::WebhookServiceClient;
use tideline::proto::{self, AlertStatus, DeliveryStatus};
use tideline::webhooks::verify_signature;
use tonic::Code;

fn now_secs() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

fn at(secs: i64) -> Option<prost_types::Timestamp> {
    Some(prost_types::Timestamp {
        seconds: secs,
        nanos: 0,
    })
}

/// A server whose webhooks may call loopback receivers and retry within a second.
async fn start(dir: &std::path::Path) -> TestServer {
    let mut config = test_config(dir);
    config.webhooks.allow_private_urls = true;
    config.webhooks.retry_schedule_secs = vec![0.0, 0.3, 0.3, 0.3, 0.3, 0.3];
    TestServer::start_with(config).await
}

struct Clients {
    alerts: AlertServiceClient<tideline::client::Connection>,
    themes: ThemeServiceClient<tideline::client::Connection>,
    webhooks: WebhookServiceClient<tideline::client::Connection>,
}

fn clients(t: &TestServer) -> Clients {
    Clients {
        alerts: AlertServiceClient::new(t.channel.clone()),
        themes: ThemeServiceClient::new(t.channel.clone()),
        webhooks: WebhookServiceClient::new(t.channel.clone()),
    }
}

#[tokio::test]
async fn backtest_over_a_synthetic_stream_alerts_only_the_tripling_theme() {
    let dir = tempfile::tempdir().unwrap();
    let mut t = start(dir.path()).await;
    let mut c = clients(&t);
    let now = now_secs();
    synthetic::ingest(&mut t, now, 20).await;
    let crash = synthetic::refresh(&mut t).await;

    let first = now - 12 * DAY_SECS;
    let backtest = c
        .alerts
        .evaluate_alerts(proto::EvaluateAlertsRequest {
            as_of: at(now),
            since: at(first),
            step_seconds: DAY_SECS as u64,
            window_seconds: 3 * DAY_SECS as u64,
            baseline_seconds: 14 * DAY_SECS as u64,
            cooldown_seconds: Some(0),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(backtest.evaluations, 13);
    let start = now - synthetic::DAYS * DAY_SECS;
    let raised_days: Vec<i64> = backtest
        .alerts
        .iter()
        .map(|a| (a.raised_at.unwrap().seconds - start) / DAY_SECS)
        .collect();
    for alert in &backtest.alerts {
        assert_eq!(
            (alert.theme_id.as_str(), alert.rule),
            (crash.as_str(), proto::AlertRuleKind::Velocity as i32),
            "only the tripling theme may alert: {alert:?}"
        );
        assert!(
            alert.backtest && alert.id.is_empty(),
            "backtests are not recorded"
        );
    }
    // Evaluations end at `now`, so evaluation k covers days up to (DAYS - 13 + k).
    assert!(
        raised_days.contains(&synthetic::DAYS),
        "the tripling theme alerts at the end: {raised_days:?}"
    );
    assert!(
        raised_days.iter().all(|&d| d >= synthetic::DAYS - 2),
        "alerts only once tripled days are in the window: {raised_days:?}"
    );
    assert!(!raised_days.contains(&(DOUBLING_DAY + 1)));
    let standing = &backtest.standings[0];
    assert_eq!(standing.theme_id, crash, "the crash theme grows most");
    assert_eq!(
        standing.frequency_class,
        proto::FrequencyClass::Growing as i32
    );

    // A backtest records nothing; the live log holds only what live evaluations raised.
    let recorded = c
        .alerts
        .list_alerts(proto::ListAlertsRequest {
            include_backtests: true,
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    assert!(recorded.alerts.iter().all(|a| !a.backtest));

    // Trends per tag value: every bucket, the doubling day included, with share of voice.
    let trend = c
        .themes
        .get_tag_trend(proto::GetTagTrendRequest {
            dimension: "sentiment".into(),
            value: "negative".into(),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    // UTC day buckets do not line up with the stream's days (which end now): the busiest
    // bucket overlaps the doubling day.
    let busiest = trend.buckets.iter().max_by_key(|b| b.total).unwrap();
    let bucket = busiest.start.unwrap().seconds;
    let doubling = start + DOUBLING_DAY * DAY_SECS;
    assert!(
        bucket < doubling + DAY_SECS && bucket + DAY_SECS > doubling,
        "busiest bucket {bucket} vs doubling day {doubling}"
    );
    assert!(trend.buckets.iter().any(|b| b.count > 0));
    let bad = c
        .themes
        .get_tag_trend(proto::GetTagTrendRequest {
            dimension: "mood".into(),
            value: "x".into(),
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(bad.code(), Code::InvalidArgument);
    assert!(bad.message().contains("dimension"), "{}", bad.message());
    t.stop().await;
}

/// Subscribes a URL to every event; returns the webhook and its secret.
async fn subscribe(c: &mut Clients, url: String) -> (proto::Webhook, String) {
    let created = c
        .webhooks
        .create_webhook(proto::CreateWebhookRequest {
            url,
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    (created.webhook.unwrap(), created.secret)
}

fn webhook_ids(received: &[Received]) -> Vec<String> {
    received
        .iter()
        .map(|r| r.header("webhook-id").to_string())
        .collect()
}

fn assert_signed(received: &Received, secret: &str) {
    verify_signature(
        secret,
        received.header("webhook-id"),
        received.header("webhook-timestamp"),
        received.header("webhook-signature"),
        &received.body,
        now_secs(),
    )
    .unwrap_or_else(|e| panic!("signature does not verify: {e}: {received:?}"));
}

#[tokio::test]
async fn alerts_reach_webhooks_signed_once_each_through_failures_and_changes() {
    let dir = tempfile::tempdir().unwrap();
    let mut t = start(dir.path()).await;
    let mut c = clients(&t);
    let receiver = Receiver::start().await;
    receiver.script(&[(500, None), (503, Some("0"))]);
    let deleted_receiver = Receiver::start().await;
    let gone_receiver = Receiver::start().await;
    gone_receiver.answer_by_default(410, None);

    // Bad URLs are refused, naming the field.
    for url in ["http://10.1.2.3/hook", "ftp://example.com/x", ""] {
        let err = c
            .webhooks
            .create_webhook(proto::CreateWebhookRequest {
                url: url.into(),
                ..Default::default()
            })
            .await
            .unwrap_err();
        assert_eq!(err.code(), Code::InvalidArgument, "{url}");
        assert!(err.message().starts_with("url"), "{}", err.message());
    }
    let (webhook, secret) = subscribe(&mut c, receiver.url("/tideline")).await;
    assert!(secret.starts_with("whsec_"));
    let (doomed, _) = subscribe(&mut c, deleted_receiver.url("/gone")).await;
    c.webhooks
        .delete_webhook(proto::DeleteWebhookRequest {
            id: doomed.id.clone(),
            ..Default::default()
        })
        .await
        .unwrap();

    let (gone, _) = subscribe(&mut c, gone_receiver.url("/old-endpoint")).await;

    let mut watch = c
        .alerts
        .watch_alerts(proto::WatchAlertsRequest::default())
        .await
        .unwrap()
        .into_inner();
    let now = now_secs();
    synthetic::ingest(&mut t, now, 12).await;
    synthetic::use_short_windows(&t).await;
    // The refresh evaluates the rules live: the crash theme alerts and is delivered.
    let crash = synthetic::refresh(&mut t).await;

    let created_event = tokio::time::timeout(Duration::from_secs(60), watch.message())
        .await
        .expect("a watch event")
        .unwrap()
        .unwrap();
    assert_eq!(created_event.r#type, "alert.created");
    let alert = created_event.alert.unwrap();
    assert_eq!(alert.theme_id, crash);
    assert!(alert.id.starts_with("AL-"));
    assert!(
        alert.summary.contains("share of voice, last 3 days"),
        "{}",
        alert.summary
    );
    assert!(alert.mentions >= 10 && alert.velocity > 0.3);
    assert!(!alert.quotes.is_empty() && alert.quotes.len() <= 3);
    assert!(alert.affected_customers > 0 && alert.affected_customer_share > 0.0);
    assert!(!alert.recommended_action.is_empty());
    assert!(alert.first_seen.unwrap().seconds < alert.window_start.unwrap().seconds);

    // Two failures, then success: three attempts with one webhook-id, all signed.
    let received = receiver
        .wait_until("a successful delivery", |r| {
            r.iter().any(|x| x.answered == 200)
        })
        .await;
    assert_eq!(received.len(), 3, "{received:?}");
    let ids = webhook_ids(&received);
    assert!(ids.iter().all(|id| *id == ids[0]), "{ids:?}");
    for r in &received {
        assert_signed(r, &secret);
        assert_eq!(r.path, "/tideline");
    }
    let body: serde_json::Value = serde_json::from_slice(&received[2].body).unwrap();
    assert_eq!(body["type"], "alert.created");
    assert_eq!(body["data"]["id"], alert.id.as_str());
    assert_eq!(body["data"]["theme"]["id"], crash.as_str());

    // Acknowledging emits alert.updated to watchers and the webhook, with its own webhook-id.
    let updated = c
        .alerts
        .update_alert(proto::UpdateAlertRequest {
            id: alert.id.clone(),
            status: AlertStatus::Acknowledged as i32,
            note: "mobile team is on it".into(),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(updated.notes.len(), 1);
    let update_event = tokio::time::timeout(Duration::from_secs(60), watch.message())
        .await
        .expect("a watch event")
        .unwrap()
        .unwrap();
    assert_eq!(update_event.r#type, "alert.updated");
    let received = receiver.wait_until("the update", |r| r.len() == 4).await;
    assert_signed(&received[3], &secret);
    assert_ne!(received[3].header("webhook-id"), ids[0]);
    let body: serde_json::Value = serde_json::from_slice(&received[3].body).unwrap();
    assert_eq!(
        (&body["type"], &body["data"]["status"]),
        (&"alert.updated".into(), &"acknowledged".into())
    );

    // Lifecycle rules: an acknowledged alert cannot be reopened into "acknowledged" again,
    // and assigning needs someone.
    let err = c
        .alerts
        .update_alert(proto::UpdateAlertRequest {
            id: alert.id.clone(),
            status: AlertStatus::Assigned as i32,
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::InvalidArgument);
    assert!(err.message().starts_with("assignee"), "{}", err.message());
    c.alerts
        .update_alert(proto::UpdateAlertRequest {
            id: alert.id.clone(),
            status: AlertStatus::Resolved as i32,
            note: "fixed in 5.2.1".into(),
            ..Default::default()
        })
        .await
        .unwrap();
    let err = c
        .alerts
        .update_alert(proto::UpdateAlertRequest {
            id: alert.id.clone(),
            status: AlertStatus::Acknowledged as i32,
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::FailedPrecondition);

    // The log: filters and the delivery record.
    let resolved = c
        .alerts
        .list_alerts(proto::ListAlertsRequest {
            statuses: vec![AlertStatus::Resolved as i32],
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(resolved.alerts.len(), 1);
    let open = c
        .alerts
        .list_alerts(proto::ListAlertsRequest {
            statuses: vec![AlertStatus::Open as i32],
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    assert!(open.alerts.is_empty());
    receiver
        .wait_until("the resolution", |r| r.len() == 5)
        .await;
    let deliveries = c
        .webhooks
        .list_deliveries(proto::ListDeliveriesRequest {
            webhook_id: webhook.id.clone(),
            alert_id: alert.id.clone(),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner()
        .deliveries;
    let first = deliveries
        .iter()
        .find(|d| d.message_id == ids[0])
        .expect("the created delivery is logged");
    assert_eq!(
        (first.status, first.attempts, first.last_status_code),
        (DeliveryStatus::Delivered as i32, 3, 200)
    );

    // Nothing more arrives: each event was delivered exactly once.
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let all = receiver.received();
    assert_eq!(all.len(), 5, "{all:?}");
    let successes: std::collections::HashSet<&str> = all
        .iter()
        .filter(|r| r.answered == 200)
        .map(|r| r.header("webhook-id"))
        .collect();
    assert_eq!(successes.len(), 3);

    // An endpoint answering 410 Gone was disabled after its first delivery and got nothing more.
    assert_eq!(gone_receiver.received().len(), 1);
    let listed = c
        .webhooks
        .list_webhooks(proto::ListWebhooksRequest::default())
        .await
        .unwrap()
        .into_inner()
        .webhooks;
    let gone = listed.iter().find(|w| w.id == gone.id).unwrap();
    assert!(
        !gone.enabled && gone.disabled_reason.contains("410"),
        "{gone:?}"
    );

    // A deleted webhook receives nothing and has no deliveries.
    assert!(deleted_receiver.received().is_empty());
    let none = c
        .webhooks
        .list_deliveries(proto::ListDeliveriesRequest {
            webhook_id: doomed.id,
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    assert!(none.deliveries.is_empty());

    // Redelivery sends the created event again with its original webhook-id, signed with the
    // rotated secret and (during the overlap) the old one.
    let rotated = c
        .webhooks
        .rotate_webhook_secret(proto::RotateWebhookSecretRequest {
            id: webhook.id.clone(),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    c.webhooks
        .redeliver_alert(proto::RedeliverAlertRequest {
            alert_id: alert.id.clone(),
            webhook_id: webhook.id.clone(),
            ..Default::default()
        })
        .await
        .unwrap();
    let all = receiver
        .wait_until("the redeliveries", |r| r.len() == 8)
        .await;
    assert!(webhook_ids(&all[5..]).contains(&ids[0]));
    for r in &all[5..] {
        assert_signed(r, &rotated.secret);
        assert_signed(r, &secret);
    }
    t.stop().await;
}

#[tokio::test]
async fn a_pending_delivery_arrives_after_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let mut t = start(dir.path()).await;
    let mut c = clients(&t);
    let receiver = Receiver::start().await;
    // Each failure asks for 3 s, so the delivery is still pending when the server stops.
    receiver.answer_by_default(503, Some("3"));
    let (_, secret) = subscribe(&mut c, receiver.url("/hook")).await;
    synthetic::ingest(&mut t, now_secs(), 12).await;
    synthetic::use_short_windows(&t).await;
    synthetic::refresh(&mut t).await;
    let failed = receiver
        .wait_until("a failed attempt", |r| !r.is_empty())
        .await;
    let message_id = failed[0].header("webhook-id").to_string();
    t.stop().await;

    // The consumer recovers while tideline is down; the delivery is still in the outbox.
    receiver.answer_by_default(200, None);
    let t = start(dir.path()).await;
    let received = receiver
        .wait_until("the delivery after the restart", |r| {
            r.iter().any(|x| x.answered == 200)
        })
        .await;
    let delivered = received.iter().find(|r| r.answered == 200).unwrap();
    assert_eq!(delivered.header("webhook-id"), message_id);
    assert_signed(delivered, &secret);
    let mut webhooks = WebhookServiceClient::new(t.channel.clone());
    let logged = loop {
        let deliveries = webhooks
            .list_deliveries(proto::ListDeliveriesRequest::default())
            .await
            .unwrap()
            .into_inner()
            .deliveries;
        if deliveries[0].status == DeliveryStatus::Delivered as i32 {
            break deliveries;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert_eq!(logged.len(), 1);
    assert!(logged[0].attempts >= 2);
    t.stop().await;
}
