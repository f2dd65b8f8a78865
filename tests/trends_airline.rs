//! Day-by-day backtest on real data (`airline_tweets.csv`, 16–24 Feb 2015) through
//! `AlertService/EvaluateAlerts`: a 1-day window against a 3-day baseline, evaluated at the end of
//! every day with the default 7-day cooldown. The cancellation wave of 21–22 Feb must alert by
//! 22 Feb; 22 Feb, when total volume doubles, must not make everything alert.

mod common;

use common::TestServer;
use tideline::client::import::stream_items;
use tideline::proto;
use tideline::proto::theme_service_client::ThemeServiceClient;

const DAY: i64 = 86_400;

/// 2015-02-d 00:00 UTC.
fn feb(d: i64) -> i64 {
    1_422_748_800 + (d - 1) * DAY
}

fn at(secs: i64) -> Option<prost_types::Timestamp> {
    Some(prost_types::Timestamp {
        seconds: secs,
        nanos: 0,
    })
}

/// A theme's verbatims created on 22 Feb, optionally from one airline's customers only.
async fn mentions_on_22(t: &TestServer, theme: &str, airline: Option<&str>) -> u64 {
    let filter = proto::SearchFilter {
        created_after: at(feb(22)),
        created_before: at(feb(23)),
        theme_ids: vec![theme.to_string()],
        metadata: common::metadata_pair("airline", airline),
        ..Default::default()
    };
    t.count("default", filter).await
}

#[tokio::test]
async fn cancellation_wave_alerts_by_22_february_and_the_volume_doubling_does_not() {
    let Some(rows) = common::airline_rows() else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let mut t = TestServer::start(dir.path()).await;
    stream_items(&mut t.ingest, "default", rows, 500)
        .await
        .unwrap();
    let mut themes = ThemeServiceClient::new(t.channel.clone());
    let refreshed = themes
        .refresh_themes(proto::RefreshThemesRequest::default())
        .await
        .unwrap()
        .into_inner();

    // Evaluate at the end of each day from 18 to 24 Feb: each window is one UTC day.
    let backtest = t.daily_backtest(feb(19), feb(25), 3).await;
    assert_eq!(backtest.evaluations, 7);
    let day_of = |a: &proto::Alert| (a.window_start.unwrap().seconds - feb(1)) / DAY + 1;
    for alert in &backtest.alerts {
        println!(
            "{} Feb  {:<8} {:<9} {} {:?}: {} (baseline {} mentions; negative {:.0}% -> {:.0}%; p {:.1e}, dispersion {:.1})",
            day_of(alert),
            proto::AlertRuleKind::try_from(alert.rule)
                .unwrap()
                .as_str_name(),
            proto::AlertSeverity::try_from(alert.severity)
                .unwrap()
                .as_str_name()
                .trim_start_matches("ALERT_SEVERITY_"),
            alert.theme_id,
            alert.theme_label,
            alert.summary,
            alert.baseline_mentions,
            alert.baseline_negative_share * 100.0,
            alert.negative_share * 100.0,
            alert.p_value,
            alert.dispersion,
        );
    }
    // 22 Feb is the day American Airlines tweets enter the stream: how much of each alerting
    // theme's day is American, against a third of all tweets that day?
    for alert in backtest.alerts.iter().filter(|a| day_of(a) == 22) {
        let all = mentions_on_22(&t, &alert.theme_id, None).await;
        let american = mentions_on_22(&t, &alert.theme_id, Some("American")).await;
        println!(
            "22 Feb {} {:?}: {american} of {all} mentions from American Airlines customers ({:.0}%)",
            alert.theme_id,
            alert.theme_label,
            100.0 * american as f64 / all.max(1) as f64
        );
    }
    println!(
        "{} alerts over 7 days, {} held back by the cooldown, {} themes",
        backtest.alerts.len(),
        backtest.suppressed_by_cooldown,
        refreshed.themes
    );
    let cancellation_alerted = backtest
        .alerts
        .iter()
        .any(|a| day_of(a) <= 22 && a.theme_label.contains("cancel"));
    assert!(
        cancellation_alerted,
        "no cancellation theme alerted by 22 Feb: {:?}",
        backtest.alerts
    );
    let on_22 = backtest.alerts.iter().filter(|a| day_of(a) == 22).count();
    assert!(
        (on_22 as u64) * 5 < refreshed.themes,
        "{on_22} of {} themes alerted on 22 Feb",
        refreshed.themes
    );
    t.stop().await;
}
