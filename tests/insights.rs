//! The insight views over real gRPC: a small corpus with NPS answers, plans and journey stages in
//! two windows, three themes found by a refresh, and every InsightsService RPC checked against
//! figures worked out by hand (or, for sentiment, counted by search over the same window); bad
//! requests get INVALID_ARGUMENT naming the field.

mod common;

use common::{assert_status, day, item, test_config, TestServer};
use tideline::proto::insights_service_client::InsightsServiceClient;
use tideline::proto::theme_service_client::ThemeServiceClient;
use tideline::proto::{self, NewVerbatim, SearchFilter, TimeWindow};
use tonic::Code;

const BILLING: &str = "I was charged twice for my subscription this month";
const CRASH: &str = "the app crashes every time I open it";
const PRAISE: &str = "love the new dashboard, great work";

/// A verbatim saying `text` at `hour` hours into day `on`, with an NPS answer, a plan and a
/// journey stage.
fn said(text: &str, on: i64, hour: i64, nps: Option<i32>, plan: &str, stage: &str) -> NewVerbatim {
    let mut at = day(on);
    at.seconds += hour * 3600;
    NewVerbatim {
        created_at: Some(at),
        scores: Some(proto::Scores {
            nps,
            ..Default::default()
        }),
        metadata: [("plan".to_string(), plan.to_string())].into(),
        tags: Some(proto::GivenTags {
            journey_stage: stage.into(),
            ..Default::default()
        }),
        source: if text == PRAISE {
            proto::Source::Survey as i32
        } else {
            proto::Source::Ticket as i32
        },
        ..item(text)
    }
}

/// The current window (day 10, all at once, and an empty day 11):
/// - billing ×12, plan pro, stage renewal, NPS 0 0 1 2 3 4 5 6 6 7 8 9 (9 detractors, 2
///   passives, 1 promoter);
/// - crash ×10, 5 pro and 5 free, stage active_use, NPS 3 5 6 7 8 9 10 10 and two without;
/// - praise ×10, 3 pro and 7 free, stage onboarding, NPS 9 9 10 10 10 10 9 8 10 10.
///
/// The window before (day 8): billing ×4, crash ×10, praise ×10, no scores.
fn corpus() -> Vec<NewVerbatim> {
    let mut items = Vec::new();
    let billing = [0, 0, 1, 2, 3, 4, 5, 6, 6, 7, 8, 9];
    for (i, &nps) in billing.iter().enumerate() {
        items.push(said(BILLING, 10, i as i64, Some(nps), "pro", "renewal"));
    }
    let crash = [
        Some(3),
        Some(5),
        Some(6),
        Some(7),
        Some(8),
        Some(9),
        Some(10),
        Some(10),
        None,
        None,
    ];
    for (i, &nps) in crash.iter().enumerate() {
        let plan = if i < 5 { "pro" } else { "free" };
        items.push(said(CRASH, 10, i as i64, nps, plan, "active_use"));
    }
    let praise = [9, 9, 10, 10, 10, 10, 9, 8, 10, 10];
    for (i, &nps) in praise.iter().enumerate() {
        let plan = if i < 3 { "pro" } else { "free" };
        items.push(said(PRAISE, 10, i as i64, Some(nps), plan, "onboarding"));
    }
    for (text, count, stage) in [
        (BILLING, 4, "renewal"),
        (CRASH, 10, "active_use"),
        (PRAISE, 10, "onboarding"),
    ] {
        for i in 0..count {
            items.push(said(text, 8, i, None, "free", stage));
        }
    }
    items
}

fn window(from: i64, to: i64) -> Option<TimeWindow> {
    Some(TimeWindow {
        start: Some(day(from)),
        end: Some(day(to)),
    })
}

fn close(actual: f64, expected: f64) -> bool {
    (actual - expected).abs() < 1e-3
}

#[tokio::test]
async fn every_view_answers_with_the_figures_worked_out_by_hand() {
    let dir = tempfile::tempdir().unwrap();
    let mut config = test_config(dir.path());
    config.insights.min_scored = 9;
    let mut t = TestServer::start_with(config).await;
    let ids = t.ingest_items(corpus()).await;
    ThemeServiceClient::new(t.channel.clone())
        .refresh_themes(proto::RefreshThemesRequest {
            workspace: String::new(),
            k: 3,
        })
        .await
        .unwrap();
    // The theme of each topic: of its first verbatim (12 billing, then 10 crash, 10 praise).
    let billing = t.verbatim(&ids[0]).await.theme_id;
    let crash = t.verbatim(&ids[12]).await.theme_id;
    let praise = t.verbatim(&ids[22]).await.theme_id;
    for (first, theme) in [(0, &billing), (12, &crash), (22, &praise), (32, &billing)] {
        assert_eq!(&t.verbatim(&ids[first + 3]).await.theme_id, theme);
    }
    let owned = ThemeServiceClient::new(t.channel.clone())
        .update_theme(proto::UpdateThemeRequest {
            id: billing.clone(),
            owner: "Billing Ops".into(),
            sla_days: Some(3),
            action_status: proto::ActionStatus::Planned as i32,
            next_action: Some("refund the double charges".into()),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    let mut insights = InsightsServiceClient::new(t.channel.clone());

    // Drivers. 30 answers: promoters 1 + 3 + 9 = 13, detractors 9 + 3 + 0 = 12:
    // NPS (13 − 12) / 30 = 3.333.
    // Billing: (1 − 9) / 12 = −66.667; the other 18 answers: 12 promoters, 3 detractors = 50;
    //   impact 3.333 − 50 = −46.667.
    // Praise: 9 / 10 = 90; the other 20: 4 promoters, 12 detractors = −40; impact +43.333.
    // Crash has 8 answers, under the minimum of 9: too few.
    let drivers = insights
        .get_metric_drivers(proto::GetMetricDriversRequest {
            window: window(10, 12),
            metric: proto::Metric::Nps as i32,
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    let overall = drivers.overall.unwrap();
    assert_eq!((drivers.verbatims, overall.scored), (32, 30));
    assert!(close(overall.value, 100.0 / 30.0), "{overall:?}");
    assert!(close(overall.top_share, 13.0 / 30.0));
    assert_eq!(drivers.negative.len(), 1, "{drivers:?}");
    let b = &drivers.negative[0];
    assert_eq!((&b.theme_id, b.volume), (&billing, 12));
    assert!(close(b.metric.as_ref().unwrap().value, -200.0 / 3.0));
    assert!(close(b.impact.unwrap(), -140.0 / 3.0));
    assert!(b.impact_low < b.impact.unwrap() && b.impact.unwrap() < b.impact_high);
    assert_eq!(b.quote.as_ref().unwrap().text, BILLING);
    let p = &drivers.positive[0];
    assert_eq!(p.theme_id, praise);
    assert!(close(p.impact.unwrap(), 130.0 / 3.0));
    assert_eq!(drivers.too_few.len(), 1);
    assert_eq!(
        (&drivers.too_few[0].theme_id, drivers.too_few[0].volume),
        (&crash, 10)
    );
    assert_eq!(drivers.too_few[0].impact, None);
    assert!(drivers.interval_method.starts_with("analytic"));

    // Spotlight: billing 12 mentions (4 before: +200%), crash and praise 10 (10 before: 0%).
    let spotlight = insights
        .get_theme_spotlight(proto::GetThemeSpotlightRequest {
            window: window(10, 12),
            limit: 3,
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(spotlight.previous_window, window(8, 10));
    let first = &spotlight.themes[0];
    assert_eq!((&first.theme_id, first.mentions), (&billing, 12));
    assert_eq!((first.previous_mentions, first.change), (4, Some(2.0)));
    assert!(close(first.share, 12.0 / 32.0));
    assert!(close(first.impact.unwrap(), -140.0 / 3.0));
    // The theme's accountability loop, as set on it.
    assert_eq!(
        (
            first.owner.as_str(),
            first.action_status.as_str(),
            first.next_action.as_str()
        ),
        ("Billing Ops", "planned", "refund the double charges")
    );
    assert_eq!(
        first.due.unwrap().seconds,
        owned.assigned_at.unwrap().seconds + 3 * 86_400
    );
    for other in &spotlight.themes[1..] {
        assert_eq!((other.mentions, other.change), (10, Some(0.0)), "{other:?}");
    }
    let crash_row = spotlight
        .themes
        .iter()
        .find(|s| s.theme_id == crash)
        .unwrap();
    assert_eq!(crash_row.impact, None, "8 answers: no impact");
    // Fastest growing first, among themes with at least 11 mentions: billing alone.
    let growing = insights
        .get_theme_spotlight(proto::GetThemeSpotlightRequest {
            window: window(10, 12),
            order: proto::SpotlightOrder::Growth as i32,
            min_mentions: 11,
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    let grown: Vec<(&str, Option<f64>)> = growing
        .themes
        .iter()
        .map(|s| (s.theme_id.as_str(), s.change))
        .collect();
    assert_eq!(grown, [(billing.as_str(), Some(2.0))]);
    // Scoped by a filter: the free plan holds crash ×5 and praise ×7 now, crash ×10 before.
    let free = insights
        .get_theme_spotlight(proto::GetThemeSpotlightRequest {
            window: window(10, 12),
            filter: Some(SearchFilter {
                metadata: [("plan".to_string(), "free".to_string())].into(),
                ..Default::default()
            }),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    let rows: Vec<(&str, u64, u64)> = free
        .themes
        .iter()
        .map(|s| (s.theme_id.as_str(), s.mentions, s.previous_mentions))
        .collect();
    assert_eq!(rows, [(praise.as_str(), 7, 10), (crash.as_str(), 5, 10)]);

    // Sentiment: label counts as search counts them in each window; 32 now, 24 before.
    let summary = insights
        .get_sentiment_summary(proto::GetSentimentSummaryRequest {
            window: window(10, 12),
            segment_key: "plan".into(),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!((summary.volume, summary.previous_volume), (32, 24));
    let counted = |from: i64, to: i64| {
        let mut verbatims = t.verbatims.clone();
        async move {
            verbatims
                .search_verbatims(proto::SearchVerbatimsRequest {
                    filter: Some(SearchFilter {
                        created_after: Some(day(from)),
                        created_before: Some(day(to)),
                        ..Default::default()
                    }),
                    page_size: 100,
                    ..Default::default()
                })
                .await
                .unwrap()
                .into_inner()
        }
    };
    let (now, before) = (counted(10, 12).await, counted(8, 10).await);
    let facets = |r: &proto::SearchVerbatimsResponse, label: &str| {
        tideline::client::report::facet(r, "sentiment")
            .get(label)
            .copied()
            .unwrap_or(0)
    };
    for l in &summary.labels {
        let name = proto::SentimentLabel::try_from(l.label)
            .unwrap()
            .as_str_name()
            .trim_start_matches("SENTIMENT_LABEL_")
            .to_lowercase();
        assert_eq!(l.count, facets(&now, &name), "{name}");
        assert_eq!(l.previous_count, facets(&before, &name), "{name}");
        assert!(close(l.share, l.count as f64 / 32.0));
        assert!(close(
            l.change.unwrap(),
            l.share - l.previous_count as f64 / 24.0
        ));
    }
    let scores: Vec<f64> = now
        .hits
        .iter()
        .map(|h| h.verbatim.as_ref().unwrap().tags.as_ref().unwrap())
        .map(|tags| f64::from(tags.sentiment.as_ref().unwrap().score))
        .collect();
    assert!(close(
        summary.average_score,
        scores.iter().sum::<f64>() / 32.0
    ));
    // One day holds them all; plans pro 20 (12 + 5 + 3), free 12; sources ticket 22, survey 10.
    let days: Vec<u64> = summary
        .trend
        .iter()
        .map(|d| d.sentiment.as_ref().unwrap().volume)
        .collect();
    assert_eq!(days, [32]);
    let groups = |list: &[proto::SentimentBreakdown]| {
        list.iter()
            .map(|b| (b.name.clone(), b.volume))
            .collect::<Vec<_>>()
    };
    assert_eq!(
        groups(&summary.by_segment),
        [("pro".to_string(), 20), ("free".to_string(), 12)]
    );
    assert_eq!(
        groups(&summary.by_source),
        [("ticket".to_string(), 22), ("survey".to_string(), 10)]
    );
    // Praise is positive, the complaints negative: the words set them apart.
    let terms =
        |ks: &[proto::DistinctiveKeyword]| ks.iter().map(|k| k.term.clone()).collect::<Vec<_>>();
    let positive = terms(&summary.positive_keywords);
    assert!(
        positive
            .iter()
            .any(|k| ["love", "great", "dashboard", "new", "work"].contains(&k.as_str())),
        "{positive:?}"
    );
    assert!(summary.positive_keywords.iter().all(|k| k.z > 0.0));
    assert!(summary.negative_keywords.iter().all(|k| k.z < 0.0));
    assert_eq!(summary.positive_keywords[0].weight, 1.0);

    // Journey: renewal NPS −66.7 from 12 answers (≥ 9): Critical; 12 now, 4 before: +200%.
    // Onboarding NPS 90: OK unless its sentiment says otherwise (it is praise).
    let journey = insights
        .get_journey_health(proto::GetJourneyHealthRequest {
            window: window(10, 12),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    let stages: Vec<(&str, u64)> = journey
        .stages
        .iter()
        .map(|s| (s.stage.as_str(), s.volume))
        .collect();
    assert_eq!(
        stages,
        [("renewal", 12), ("active_use", 10), ("onboarding", 10)]
    );
    assert_eq!(journey.unstaged, 0);
    let renewal = &journey.stages[0];
    assert_eq!(renewal.status, proto::JourneyStatus::Critical as i32);
    assert!(
        renewal
            .status_reason
            .contains("nps -66.7 at or below -30.0"),
        "{renewal:?}"
    );
    assert_eq!(renewal.volume_change, Some(2.0));
    assert_eq!(renewal.nps.as_ref().unwrap().scored, 12);
    // Each stage's owner is its category's in the default taxonomy.
    let owners: Vec<&str> = journey.stages.iter().map(|s| s.owner.as_str()).collect();
    assert_eq!(
        owners,
        [
            "Account Management",
            "Product Management",
            "Customer Success"
        ],
        "{journey:?}"
    );
    assert_eq!(
        journey.stages[2].status,
        proto::JourneyStatus::Ok as i32,
        "{journey:?}"
    );
    assert!(close(journey.stages[2].nps.as_ref().unwrap().value, 90.0));

    // Compare pro (A: billing 12, crash 5, praise 3 of 20) with free (B: crash 5, praise 7 of
    // 12). Billing: p0 = 0.5/13, z = (12 − 0.5 − 20 × 0.03846) / 1.4044 = 7.64: over.
    // Praise: p0 = 7.5/13 = 0.5769, sd √(20 × 0.5769 × 0.4231 × (1 + 20/12)) = 3.608,
    // z = (3 + 0.5 − 11.54) / 3.608 = −2.228, p = 0.0129 ≤ 2/6 × 0.05: under.
    // Crash: p_under 0.206 > 3/6 × 0.05: not significant.
    let plan = |name: &str| {
        Some(SearchFilter {
            metadata: [("plan".to_string(), name.to_string())].into(),
            ..Default::default()
        })
    };
    let comparison = insights
        .compare_segments(proto::CompareSegmentsRequest {
            window: window(10, 12),
            a: plan("pro"),
            b: plan("free"),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(
        (comparison.a_total, comparison.b_total, comparison.tested),
        (20, 12, 3)
    );
    assert_eq!(comparison.dispersion, 1.0);
    let over = &comparison.over;
    assert_eq!(over.len(), 1, "{comparison:?}");
    assert_eq!(
        (&over[0].theme_id, over[0].a_count, over[0].b_count),
        (&billing, 12, 0)
    );
    assert!(close(over[0].a_share, 0.6) && close(over[0].difference, 0.6));
    let under = &comparison.under;
    assert_eq!(under.len(), 1, "{comparison:?}");
    assert_eq!(
        (&under[0].theme_id, under[0].a_count, under[0].b_count),
        (&praise, 3, 7)
    );
    assert!(
        (under[0].p_value - 0.0129).abs() < 5e-4,
        "{}",
        under[0].p_value
    );
    assert!(close(comparison.p_value_cutoff, under[0].p_value));
    t.stop().await;
}

#[tokio::test]
async fn bad_requests_are_refused_naming_the_field() {
    let dir = tempfile::tempdir().unwrap();
    let mut t = TestServer::start(dir.path()).await;
    t.ingest_texts(&["the app crashes"]).await;
    let mut insights = InsightsServiceClient::new(t.channel.clone());
    let unknown_metric = insights
        .get_metric_drivers(proto::GetMetricDriversRequest {
            metric: 99,
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_status(
        &unknown_metric,
        Code::InvalidArgument,
        "metric: unknown value 99",
    );
    let inverted = insights
        .get_theme_spotlight(proto::GetThemeSpotlightRequest {
            window: window(12, 10),
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_status(
        &inverted,
        Code::InvalidArgument,
        "window.end: must be after window.start",
    );
    let disordered = insights
        .get_theme_spotlight(proto::GetThemeSpotlightRequest {
            order: 7,
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_status(&disordered, Code::InvalidArgument, "order: unknown value 7");
    let dated = insights
        .get_sentiment_summary(proto::GetSentimentSummaryRequest {
            filter: Some(SearchFilter {
                created_after: Some(day(1)),
                ..Default::default()
            }),
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_status(&dated, Code::InvalidArgument, "filter.created_after");
    // Without a window: the week up to the newest verbatim.
    let defaults = insights
        .get_journey_health(proto::GetJourneyHealthRequest::default())
        .await;
    assert!(defaults.is_ok(), "{defaults:?}");
    let bad_side = insights
        .compare_segments(proto::CompareSegmentsRequest {
            b: Some(SearchFilter {
                sources: vec![99],
                ..Default::default()
            }),
            limit: -1,
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_status(
        &bad_side,
        Code::InvalidArgument,
        "limit: must not be negative",
    );
    let bad_source = insights
        .compare_segments(proto::CompareSegmentsRequest {
            b: Some(SearchFilter {
                sources: vec![99],
                ..Default::default()
            }),
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_status(
        &bad_source,
        Code::InvalidArgument,
        "b.sources[0]: unknown value 99",
    );
    t.stop().await;
}
