//! Imports all 14,640 rows of `../shared/data/airline_tweets.csv` through `StreamVerbatims`.
//! The file repeats 155 tweet ids (same text), so idempotency leaves 14,485 verbatims.

mod common;

use common::TestServer;
use tideline::client::import::stream_items;
use tideline::proto::{SearchFilter, SearchVerbatimsRequest};

#[tokio::test]
async fn airline_tweets_import_search_and_reimport_without_duplicates() {
    let Some(items) = common::airline_rows() else {
        return;
    };
    assert_eq!(items.len(), 14_640);
    let united = items
        .iter()
        .filter(|v| v.metadata.get("airline").is_some_and(|a| a == "United"))
        .count();

    let dir = tempfile::tempdir().unwrap();
    let mut t = TestServer::start(dir.path()).await;
    let summary = stream_items(&mut t.ingest, "airline", items.clone(), 500)
        .await
        .unwrap();
    assert_eq!(summary.received, 14_640);
    assert_eq!(summary.rejected, 0, "{:?}", summary.failures);
    assert_eq!(summary.created, 14_485);
    // 155 rows repeat an earlier tweet_id: 108 are identical (retries: duplicates), 47 carry the
    // same text with other annotations (airline_sentiment, negativereason, mapped to metadata):
    // a reused key with other content, refused as a conflict.
    assert_eq!((summary.duplicates, summary.conflicts), (108, 47));
    assert_eq!(t.server.engine().count("airline").await.unwrap(), 14_485);

    // Wait until the index has caught up with everything acknowledged.
    let mut marker = tideline::proto::IngestVerbatimsRequest {
        workspace: "airline".into(),
        items: vec![common::item("index barrier")],
        wait_for_index: true,
    };
    t.ingest.ingest_verbatims(marker.clone()).await.unwrap();

    let search = |query: &str, filter: Option<SearchFilter>| SearchVerbatimsRequest {
        workspace: "airline".into(),
        query: query.into(),
        filter,
        page_size: 5,
        ..Default::default()
    };
    let all = t
        .verbatims
        .search_verbatims(search("", None))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(all.total_size, 14_486);
    let by_airline = t
        .verbatims
        .search_verbatims(search(
            "",
            Some(SearchFilter {
                metadata: [("airline".into(), "United".into())].into(),
                ..Default::default()
            }),
        ))
        .await
        .unwrap()
        .into_inner();
    // The 155 repeated ids are spread over airlines; at most that many United rows collapse.
    assert!(
        by_airline.total_size as usize <= united && by_airline.total_size as usize >= united - 155
    );

    // Stemmed search: "delays" matches "delayed", "delay", "delaying".
    let delays = t
        .verbatims
        .search_verbatims(search("delays", None))
        .await
        .unwrap()
        .into_inner();
    assert!(delays.total_size > 300, "{}", delays.total_size);
    assert!(
        delays
            .hits
            .iter()
            .all(|h| h.snippet.to_lowercase().contains("<b>delay")),
        "{:?}",
        delays.hits[0].snippet
    );
    let bags = t
        .verbatims
        .search_verbatims(search("lost AND (bag OR luggage)", None))
        .await
        .unwrap()
        .into_inner();
    assert!(bags.total_size > 50, "{}", bags.total_size);
    let feb_22 = t
        .verbatims
        .search_verbatims(search(
            "",
            Some(SearchFilter {
                created_after: Some(prost_types::Timestamp {
                    seconds: 1_424_563_200,
                    nanos: 0,
                }),
                created_before: Some(prost_types::Timestamp {
                    seconds: 1_424_649_600,
                    nanos: 0,
                }),
                ..Default::default()
            }),
        ))
        .await
        .unwrap()
        .into_inner();
    assert!(
        (2_500..3_500).contains(&feb_22.total_size),
        "22 Feb has ~3k tweets: {}",
        feb_22.total_size
    );

    // A second import creates nothing.
    let again = stream_items(&mut t.ingest, "airline", items, 500)
        .await
        .unwrap();
    assert_eq!(
        (
            again.created,
            again.duplicates,
            again.rejected,
            again.conflicts
        ),
        (0, 14_593, 0, 47)
    );
    marker.items[0].text = "second barrier".into();
    t.ingest.ingest_verbatims(marker).await.unwrap();
    let all = t
        .verbatims
        .search_verbatims(search("", None))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(all.total_size, 14_487);
    t.stop().await;
}
