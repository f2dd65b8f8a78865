//! Day-by-day backtest on real data (`airline_tweets.csv`, 16–24 Feb 2015): themes from the
//! service, daily buckets by created_at, the share-of-voice rule with a 1-day window against a
//! 3-day baseline. The cancellation wave of 21–22 Feb must alert by 22 Feb; 22 Feb, when total
//! volume doubles, must not make everything alert.

mod common;

use std::collections::{BTreeMap, HashMap};

use common::TestServer;
use tideline::import::stream_items;
use tideline::proto::theme_service_client::ThemeServiceClient;
use tideline::proto::{self, SearchVerbatimsRequest};
use tideline::trends::{bucket_start, evaluate, AlertRule, Granularity};

const DAY: i64 = 86_400;

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
    themes
        .refresh_themes(proto::RefreshThemesRequest::default())
        .await
        .unwrap();
    let labels: HashMap<String, String> = themes
        .list_themes(proto::ListThemesRequest {
            page_size: 1000,
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner()
        .themes
        .into_iter()
        .map(|t| (t.id, t.label))
        .collect();

    // Daily counts per theme and in total.
    let mut per_day: BTreeMap<i64, HashMap<String, u64>> = BTreeMap::new();
    let mut totals: BTreeMap<i64, u64> = BTreeMap::new();
    let mut token = String::new();
    loop {
        let page = t
            .verbatims
            .search_verbatims(SearchVerbatimsRequest {
                page_size: 1000,
                page_token: token,
                ..Default::default()
            })
            .await
            .unwrap()
            .into_inner();
        for hit in page.hits {
            let v = hit.verbatim.unwrap();
            let day = bucket_start(v.created_at.unwrap().seconds * 1_000_000, Granularity::Day)
                / 1_000_000;
            *totals.entry(day).or_default() += 1;
            if !v.theme_id.is_empty() {
                *per_day
                    .entry(day)
                    .or_default()
                    .entry(v.theme_id)
                    .or_default() += 1;
            }
        }
        if page.next_page_token.is_empty() {
            break;
        }
        token = page.next_page_token;
    }

    let rule = AlertRule {
        window_secs: DAY,
        baseline_secs: 3 * DAY,
        ..Default::default()
    };
    let feb = |d: i64| 1_422_748_800 + (d - 1) * DAY; // 2015-02-d 00:00 UTC
    let mut alerts_by_day: BTreeMap<i64, Vec<(String, f64, u64)>> = BTreeMap::new();
    for d in 20..=24 {
        let today = feb(d);
        let count = |day: i64, theme: &str| {
            per_day
                .get(&day)
                .and_then(|m| m.get(theme))
                .copied()
                .unwrap_or(0)
        };
        let total = totals.get(&today).copied().unwrap_or(0);
        let baseline_days: Vec<i64> = (1..=3).map(|k| today - k * DAY).collect();
        let baseline_total: u64 = baseline_days
            .iter()
            .map(|day| totals.get(day).copied().unwrap_or(0))
            .sum();
        for id in labels.keys() {
            let baseline: u64 = baseline_days.iter().map(|&day| count(day, id)).sum();
            let standing = evaluate(count(today, id), total, baseline, baseline_total, &rule);
            if standing.alert {
                alerts_by_day.entry(d).or_default().push((
                    id.clone(),
                    standing.velocity,
                    standing.mentions,
                ));
            }
        }
    }
    for (d, alerts) in &alerts_by_day {
        for (id, velocity, mentions) in alerts {
            println!(
                "{d} Feb: {id} {:?} +{:.0}% ({mentions} mentions)",
                labels[id],
                velocity * 100.0
            );
        }
    }
    let cancellation_alerted = alerts_by_day
        .iter()
        .filter(|(d, _)| **d <= 22)
        .flat_map(|(_, alerts)| alerts)
        .any(|(id, _, _)| labels[id].contains("cancel"));
    assert!(
        cancellation_alerted,
        "no cancellation theme alerted by 22 Feb: {alerts_by_day:?}"
    );
    let on_22 = alerts_by_day.get(&22).map_or(0, Vec::len);
    assert!(
        on_22 * 5 < labels.len(),
        "{on_22} of {} themes alerted on 22 Feb",
        labels.len()
    );
    t.stop().await;
}
