//! The accountability loop and the digest over real gRPC, a real store and a real webhook
//! receiver: a theme given an owner and a 1-day SLA is announced as breached exactly once when
//! the server's clock is two days on, also across restarts; a resolved theme is never announced;
//! a resolved theme that grows again is reopened with a `theme.reopened` event. The digest of a
//! whole period is delivered once, also across restarts, and says what `GetDigest` says.

mod common;

use std::time::Duration;

use common::receiver::{Received, Receiver};
use common::synthetic::{self, DAY_SECS};
use common::{test_config, TestServer};
use tideline::proto::alert_service_client::AlertServiceClient;
use tideline::proto::insights_service_client::InsightsServiceClient;
use tideline::proto::theme_service_client::ThemeServiceClient;
use tideline::proto::webhook_service_client::WebhookServiceClient;
use tideline::proto::{self, ActionStatus};

/// A server on `dir` whose clock runs `offset_days` ahead, checking SLAs every second (and
/// digests every second when `digests`).
async fn server_with(dir: &std::path::Path, offset_days: i64, digests: bool) -> TestServer {
    let mut config = test_config(dir);
    config.webhooks.allow_private_urls = true;
    config.themes.sla_check_interval_secs = 1;
    config.webhooks.digest_check_interval_secs = u64::from(digests);
    config.clock_offset_secs = offset_days * DAY_SECS;
    TestServer::start_with(config).await
}

async fn server(dir: &std::path::Path, offset_days: i64) -> TestServer {
    server_with(dir, offset_days, false).await
}

fn themes(t: &TestServer) -> ThemeServiceClient<tideline::client::Connection> {
    ThemeServiceClient::new(t.channel.clone())
}

async fn theme(t: &TestServer, id: &str) -> proto::Theme {
    themes(t)
        .get_theme(proto::GetThemeRequest {
            id: id.to_string(),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner()
}

/// The theme of the first verbatim the query finds.
async fn theme_of(t: &mut TestServer, query: &str) -> String {
    let (_, ids) = t.search(query).await;
    t.verbatim(&ids[0]).await.theme_id
}

async fn evaluate_live(t: &TestServer) {
    AlertServiceClient::new(t.channel.clone())
        .evaluate_alerts(proto::EvaluateAlertsRequest::default())
        .await
        .unwrap();
}

fn body(r: &Received) -> serde_json::Value {
    serde_json::from_slice(&r.body).unwrap()
}

fn of_type<'a>(received: &'a [Received], event_type: &str) -> Vec<&'a Received> {
    received
        .iter()
        .filter(|r| body(r)["type"] == event_type)
        .collect()
}

/// Lets the once-a-second SLA check run a few times.
async fn a_few_checks() {
    tokio::time::sleep(Duration::from_secs(3)).await;
}

#[tokio::test]
async fn an_overdue_theme_is_announced_once_across_restarts_and_a_resolved_theme_growing_again_reopens(
) {
    let dir = tempfile::tempdir().unwrap();
    let receiver = Receiver::start().await;
    let now = tideline::time::now() / 1_000_000;
    let mut t = server(dir.path(), 0).await;
    synthetic::ingest(&mut t, now, 4).await;
    synthetic::use_short_windows(&t).await;
    let crash = synthetic::refresh(&mut t).await;
    let billing = theme_of(&mut t, "charged twice invoice").await;
    assert_ne!(crash, billing);
    WebhookServiceClient::new(t.channel.clone())
        .create_webhook(proto::CreateWebhookRequest {
            url: receiver.url("/loop"),
            event_types: vec!["theme.sla_breached".into(), "theme.reopened".into()],
            ..Default::default()
        })
        .await
        .unwrap();

    let owned = themes(&t)
        .update_theme(proto::UpdateThemeRequest {
            id: crash.clone(),
            owner: "Mobile".into(),
            sla_days: Some(1),
            action_status: ActionStatus::InProgress as i32,
            next_action: Some("ship 5.2.1 with the crash fix".into()),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    let assigned_at = owned.assigned_at.unwrap();
    let assigned = assigned_at.seconds;
    assert_eq!(owned.due.unwrap().seconds, assigned + DAY_SECS);
    assert!(
        (assigned - now).abs() < 600,
        "assigned {assigned}, now {now}"
    );
    assert_eq!(
        (owned.owner.as_str(), owned.sla_days, owned.sla_breached),
        ("Mobile", 1, false)
    );
    assert_eq!(owned.action_status, ActionStatus::InProgress as i32);
    assert_eq!(owned.next_action, "ship 5.2.1 with the crash fix");
    // Resolved themes run no SLA: this one is never announced.
    themes(&t)
        .update_theme(proto::UpdateThemeRequest {
            id: billing.clone(),
            owner: "Billing".into(),
            sla_days: Some(1),
            action_status: ActionStatus::Resolved as i32,
            ..Default::default()
        })
        .await
        .unwrap();
    // A bad edit names its field and changes nothing.
    let refused = themes(&t)
        .update_theme(proto::UpdateThemeRequest {
            id: crash.clone(),
            action_status: 42,
            owner: "Nobody".into(),
            ..Default::default()
        })
        .await
        .unwrap_err();
    common::assert_status(&refused, tonic::Code::InvalidArgument, "action_status");
    assert_eq!(theme(&t, &crash).await.owner, "Mobile");

    // A day early, nothing is due.
    a_few_checks().await;
    assert!(receiver.received().is_empty(), "{:?}", receiver.received());
    t.stop().await;

    // Two days on: the breach is announced once, at start.
    let t = server(dir.path(), 2).await;
    let received = receiver
        .wait_until("the sla breach", |r| !r.is_empty())
        .await;
    let breach = body(&received[0]);
    assert_eq!(breach["type"], "theme.sla_breached", "{breach}");
    let data = &breach["data"];
    assert_eq!(data["id"], crash.as_str());
    assert_eq!(data["owner"], "Mobile");
    assert_eq!(data["status"], "in_progress");
    assert_eq!(data["sla_days"], 1);
    assert_eq!(data["next_action"], "ship 5.2.1 with the crash fix");
    assert_eq!(
        data["due"],
        tideline::time::format_rfc3339(
            (assigned + DAY_SECS) * 1_000_000 + i64::from(assigned_at.nanos) / 1_000
        )
    );
    let overdue = data["overdue_hours"].as_i64().unwrap();
    assert!((23..=24).contains(&overdue), "overdue {overdue} h");
    let breached = theme(&t, &crash).await;
    assert!(breached.sla_breached);
    assert!(breached.history.iter().any(|h| h == "sla breached"));
    assert!(!theme(&t, &billing).await.sla_breached);
    a_few_checks().await;
    assert_eq!(receiver.received().len(), 1, "announced again");
    t.stop().await;

    // A restart does not announce it again.
    let mut t = server(dir.path(), 2).await;
    a_few_checks().await;
    assert_eq!(
        receiver.received().len(),
        1,
        "announced again after a restart"
    );

    // The resolved billing theme: steady at a live evaluation (settled), then a burst of it.
    evaluate_live(&t).await;
    let settled = theme(&t, &billing).await;
    assert_eq!(settled.action_status, ActionStatus::Resolved as i32);
    let burst: Vec<proto::NewVerbatim> = (0..60)
        .map(|i| proto::NewVerbatim {
            text: format!("charged twice on my invoice again, order {i}"),
            created_at: Some(prost_types::Timestamp {
                seconds: now - 3_600 - i * 60,
                nanos: 0,
            }),
            ..Default::default()
        })
        .collect();
    synthetic::ingest_items(&mut t, burst).await;
    evaluate_live(&t).await;
    let received = receiver
        .wait_until("the reopening", |r| {
            !of_type(r, "theme.reopened").is_empty()
        })
        .await;
    let reopened = of_type(&received, "theme.reopened");
    assert_eq!(reopened.len(), 1);
    let data = &body(reopened[0])["data"];
    assert_eq!(data["id"], billing.as_str());
    assert_eq!(
        (data["status"].as_str(), data["reopened"].as_u64()),
        (Some("open"), Some(1))
    );
    let again = theme(&t, &billing).await;
    assert_eq!(again.action_status, ActionStatus::Open as i32);
    assert_eq!(again.reopened, 1);
    assert!(again.history.iter().any(|h| h.starts_with("reopened")));
    // Reopening restarts its SLA from now (two days on): not yet due.
    assert!(!again.sla_breached);
    a_few_checks().await;
    assert_eq!(of_type(&receiver.received(), "theme.sla_breached").len(), 1);
    t.stop().await;
}

#[tokio::test]
async fn the_digest_of_a_whole_day_is_delivered_once_across_restarts_and_says_what_get_digest_says()
{
    let dir = tempfile::tempdir().unwrap();
    let receiver = Receiver::start().await;
    let now = tideline::time::now() / 1_000_000;
    let today = now - now.rem_euclid(DAY_SECS);
    let mut t = server_with(dir.path(), 0, false).await;
    let items = synthetic::feedback(now, 4);
    let said_today = items
        .iter()
        .filter(|v| v.created_at.unwrap().seconds >= today)
        .count() as u64;
    synthetic::ingest_items(&mut t, items).await;
    synthetic::use_short_windows(&t).await;
    let crash = synthetic::refresh(&mut t).await;
    themes(&t)
        .update_theme(proto::UpdateThemeRequest {
            id: crash.clone(),
            owner: "Mobile".into(),
            sla_days: Some(1),
            ..Default::default()
        })
        .await
        .unwrap();
    let mut webhooks = WebhookServiceClient::new(t.channel.clone());
    let schedule = webhooks
        .update_digest_schedule(proto::UpdateDigestScheduleRequest {
            cadence: proto::DigestCadence::Daily as i32,
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(
        (schedule.event_type.as_str(), schedule.last_sent_end),
        ("digest.daily", None)
    );
    let refused = webhooks
        .update_digest_schedule(proto::UpdateDigestScheduleRequest::default())
        .await
        .unwrap_err();
    common::assert_status(&refused, tonic::Code::InvalidArgument, "cadence");
    webhooks
        .create_webhook(proto::CreateWebhookRequest {
            url: receiver.url("/digest"),
            event_types: vec!["digest.daily".into()],
            ..Default::default()
        })
        .await
        .unwrap();
    let open_alerts: Vec<String> = AlertServiceClient::new(t.channel.clone())
        .list_alerts(proto::ListAlertsRequest::default())
        .await
        .unwrap()
        .into_inner()
        .alerts
        .into_iter()
        .map(|a| a.id)
        .collect();
    assert!(
        !open_alerts.is_empty(),
        "the crash theme's rise raised an alert"
    );
    t.stop().await;

    // Two days on, the last whole day is tomorrow: nothing was said in it; today is the day
    // before. Sent once at start.
    let t = server_with(dir.path(), 2, true).await;
    let received = receiver.wait_until("the digest", |r| !r.is_empty()).await;
    let digest = body(&received[0]);
    assert_eq!(digest["type"], "digest.daily", "{digest}");
    let data = &digest["data"];
    let (start, end) = (today + DAY_SECS, today + 2 * DAY_SECS);
    let rfc = |secs: i64| tideline::time::format_rfc3339(secs * 1_000_000);
    assert_eq!(data["period"]["start"], rfc(start).as_str());
    assert_eq!(data["period"]["end"], rfc(end).as_str());
    assert_eq!(data["volume"], 0);
    assert_eq!(data["previous_volume"], said_today);
    let ids = |list: &serde_json::Value| -> Vec<String> {
        list.as_array()
            .unwrap()
            .iter()
            .map(|a| a["id"].as_str().unwrap().to_string())
            .collect()
    };
    assert_eq!(ids(&data["open_alerts"]), open_alerts);
    assert!(ids(&data["new_alerts"]).is_empty());
    // The crash theme is due a day after it was assigned: past due at the period's end.
    let breaches = data["sla_breaches"].as_array().unwrap();
    assert_eq!(breaches.len(), 1, "{breaches:?}");
    assert_eq!(breaches[0]["theme_id"], crash.as_str());
    assert_eq!(breaches[0]["owner"], "Mobile");

    // GetDigest over the same window answers the same.
    let asked = InsightsServiceClient::new(t.channel.clone())
        .get_digest(proto::GetDigestRequest {
            window: Some(proto::TimeWindow {
                start: Some(prost_types::Timestamp {
                    seconds: start,
                    nanos: 0,
                }),
                end: Some(prost_types::Timestamp {
                    seconds: end,
                    nanos: 0,
                }),
            }),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!((asked.volume, asked.previous_volume), (0, said_today));
    let asked_open: Vec<String> = asked.open_alerts.iter().map(|a| a.id.clone()).collect();
    assert_eq!(asked_open, open_alerts);
    assert_eq!(asked.sla_breaches.len(), 1);
    assert!(asked.sla_breaches[0].sla_breached);
    // Every theme said today fell to nothing, the largest first.
    let fallers = data["fallers"].as_array().unwrap();
    assert_eq!(fallers.len(), asked.fallers.len());
    assert!(!fallers.is_empty());
    for (sent, answered) in fallers.iter().zip(&asked.fallers) {
        assert_eq!(sent["theme_id"], answered.theme_id.as_str());
        assert_eq!(sent["mentions"], 0);
        assert_eq!(sent["previous_mentions"], answered.previous_mentions);
    }
    assert!(asked
        .fallers
        .windows(2)
        .all(|w| w[0].previous_mentions >= w[1].previous_mentions));
    let schedule = WebhookServiceClient::new(t.channel.clone())
        .get_digest_schedule(proto::GetDigestScheduleRequest::default())
        .await
        .unwrap()
        .into_inner();
    assert_eq!(schedule.last_sent_end.unwrap().seconds, end);
    a_few_checks().await;
    assert_eq!(receiver.received().len(), 1, "sent twice");
    t.stop().await;

    // A restart does not send it again.
    let t = server_with(dir.path(), 2, true).await;
    a_few_checks().await;
    assert_eq!(receiver.received().len(), 1, "sent again after a restart");
    t.stop().await;
}
