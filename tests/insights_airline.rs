//! The insight views on real data (`../shared/data/airline_tweets.csv`, 16–24 Feb 2015), checked
//! against what the file's annotators said. The sentiment summary's distinctive keywords come
//! from tideline's own sentiment tags; the tweets that say a distinctive negative keyword must be
//! labelled negative by the annotators (`airline_sentiment`) more often than tweets at large, and
//! those that say a positive one positive; the complaints the file's `negativereason` column
//! names most (cancelled and late flights, customer service on hold) must be among the negative
//! keywords. The comparison of two airlines counts each side's verbatims and themes as search
//! does.

mod common;

use common::TestServer;
use tideline::client::import::stream_items;
use tideline::proto::insights_service_client::InsightsServiceClient;
use tideline::proto::theme_service_client::ThemeServiceClient;
use tideline::proto::{self, SearchFilter, TimeWindow};

const WORKSPACE: &str = "airline";
/// 2015-02-16T00:00:00Z and 2015-02-25T00:00:00Z: every tweet of the file is in between.
const START: i64 = 1_424_044_800;
const END: i64 = 1_424_822_400;
/// Keywords checked on each side.
const KEYWORDS: i32 = 10;

fn at(seconds: i64) -> Option<prost_types::Timestamp> {
    Some(prost_types::Timestamp { seconds, nanos: 0 })
}

fn window() -> Option<TimeWindow> {
    Some(TimeWindow {
        start: at(START),
        end: at(END),
    })
}

/// A metadata filter of `key=value` pairs.
fn meta(pairs: &[(&str, &str)]) -> SearchFilter {
    SearchFilter {
        metadata: pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect(),
        ..Default::default()
    }
}

/// How many verbatims of the workspace say `query` (analysed as search analyses it) and match
/// `filter`.
async fn count(t: &TestServer, query: &str, filter: SearchFilter) -> u64 {
    t.verbatims
        .clone()
        .search_verbatims(proto::SearchVerbatimsRequest {
            workspace: WORKSPACE.into(),
            query: query.into(),
            filter: Some(filter),
            page_size: 1,
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner()
        .total_size
}

#[tokio::test]
async fn airline_keywords_agree_with_the_annotators_and_two_airlines_compare_as_search_counts() {
    let Some(rows) = common::airline_rows() else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let mut t = TestServer::start(dir.path()).await;
    stream_items(&mut t.ingest, WORKSPACE, rows, 500)
        .await
        .unwrap();
    // The refresh answers once the index holds everything, so the counts below are complete.
    ThemeServiceClient::new(t.channel.clone())
        .refresh_themes(proto::RefreshThemesRequest {
            workspace: WORKSPACE.into(),
            k: 0,
        })
        .await
        .unwrap();
    let mut insights = InsightsServiceClient::new(t.channel.clone());

    let summary = insights
        .get_sentiment_summary(proto::GetSentimentSummaryRequest {
            workspace: WORKSPACE.into(),
            window: window(),
            limit: KEYWORDS,
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    let all = count(&t, "", SearchFilter::default()).await;
    assert_eq!(summary.volume, all);
    let terms = |list: &[proto::DistinctiveKeyword]| -> Vec<String> {
        list.iter().map(|k| k.term.clone()).collect()
    };
    let (negative, positive) = (
        terms(&summary.negative_keywords),
        terms(&summary.positive_keywords),
    );
    println!("negative keywords {negative:?}\npositive keywords {positive:?}");
    assert_eq!(
        (negative.len(), positive.len()),
        (KEYWORDS as usize, KEYWORDS as usize)
    );
    let complaints = ["cancelled", "delayed", "late", "hold", "waiting", "lost"];
    let named: Vec<&&str> = complaints
        .iter()
        .filter(|c| negative.iter().any(|k| k == *c))
        .collect();
    assert!(named.len() >= 3, "{negative:?}");

    // Each keyword against the annotators: the share of the tweets saying it that they labelled
    // like its side, against that label's share of all tweets.
    for (label, keywords) in [("negative", &negative), ("positive", &positive)] {
        let labelled = count(&t, "", meta(&[("airline_sentiment", label)])).await;
        let base = labelled as f64 / all as f64;
        for keyword in keywords {
            let saying = count(&t, keyword, SearchFilter::default()).await;
            let agreeing = count(&t, keyword, meta(&[("airline_sentiment", label)])).await;
            let share = agreeing as f64 / saying.max(1) as f64;
            println!("{label} {keyword:?}: {agreeing} of {saying} tweets labelled {label} ({share:.3}, all tweets {base:.3})");
            assert!(
                saying > 0 && share > base,
                "{label} keyword {keyword:?}: {agreeing} of {saying} labelled {label}, under the {base:.3} of all tweets"
            );
        }
    }

    // United against Virgin America: totals and every listed theme's counts as search finds them.
    let (united, virgin) = (
        meta(&[("airline", "United")]),
        meta(&[("airline", "Virgin America")]),
    );
    let comparison = insights
        .compare_segments(proto::CompareSegmentsRequest {
            workspace: WORKSPACE.into(),
            window: window(),
            a: Some(united.clone()),
            b: Some(virgin.clone()),
            limit: 10,
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(
        (comparison.a_total, comparison.b_total),
        (
            count(&t, "", united.clone()).await,
            count(&t, "", virgin.clone()).await
        )
    );
    assert!(
        !comparison.over.is_empty() && !comparison.under.is_empty(),
        "{comparison:#?}"
    );
    let in_theme = |side: &SearchFilter, theme: &str| SearchFilter {
        theme_ids: vec![theme.to_string()],
        ..side.clone()
    };
    for (over, list) in [(true, &comparison.over), (false, &comparison.under)] {
        for s in list {
            assert_eq!(
                (s.a_count, s.b_count),
                (
                    count(&t, "", in_theme(&united, &s.theme_id)).await,
                    count(&t, "", in_theme(&virgin, &s.theme_id)).await
                ),
                "{s:?}"
            );
            assert!(s.p_value <= comparison.p_value_cutoff, "{s:?}");
            assert_eq!(s.difference > 0.0, over, "{s:?}");
        }
    }
    t.stop().await;
}
