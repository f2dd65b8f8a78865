//! Ingest, get, search, idempotency, deletion, filters and pagination over real gRPC.

mod common;

use std::collections::{BTreeMap, HashSet};

use common::{day, item, TestServer};
use tideline::proto::{self, NewVerbatim, SearchFilter, SearchVerbatimsRequest};

#[tokio::test]
async fn ingest_get_and_stemmed_search() {
    let dir = tempfile::tempdir().unwrap();
    let mut t = TestServer::start(dir.path()).await;
    let mut new = item("The app crashed twice while I was exporting my report");
    new.external_id = "T-1".into();
    new.customer_id = "cust-9".into();
    new.language = "en".into();
    new.created_at = Some(day(3));
    new.scores = Some(proto::Scores {
        nps: Some(3),
        csat: None,
        ces: Some(6),
    });
    new.metadata = [("plan".to_string(), "pro".to_string())].into();
    let ids = t
        .ingest_items(vec![new, item("Billing page is lovely")])
        .await;
    assert!(ids[0] < ids[1], "ids sort by arrival: {ids:?}");

    let got = t
        .verbatims
        .get_verbatim(proto::GetVerbatimRequest {
            workspace: String::new(),
            id: ids[0].clone(),
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(
        got.text,
        "The app crashed twice while I was exporting my report"
    );
    assert_eq!(got.workspace, "default");
    assert_eq!(got.source, proto::Source::Ticket as i32);
    assert_eq!(got.external_id, "T-1");
    assert_eq!(got.customer_id, "cust-9");
    assert_eq!(got.created_at, Some(day(3)));
    assert!(got.received_at.unwrap().seconds > day(3).seconds);
    assert_eq!(got.scores.unwrap().nps, Some(3));
    assert_eq!(got.metadata.get("plan").map(String::as_str), Some("pro"));

    // Stemming: "crashes" finds "crashed".
    let response = t
        .verbatims
        .search_verbatims(SearchVerbatimsRequest {
            query: "crashes".into(),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(response.total_size, 1);
    let hit = &response.hits[0];
    assert_eq!(hit.verbatim.as_ref().unwrap().id, ids[0]);
    assert!(hit.score > 0.0);
    assert!(hit.snippet.contains("<b>crashed</b>"), "{}", hit.snippet);
    assert_eq!(
        response.source_facets,
        vec![proto::FacetCount {
            value: "SOURCE_TICKET".into(),
            count: 1
        }]
    );
    // Terms are ANDed by default; OR is explicit.
    assert_eq!(t.search("crashed billing").await.0, 0);
    assert_eq!(t.search("crashed OR billing").await.0, 2);
    assert_eq!(t.search("\"exporting my report\"").await.0, 1);
    t.stop().await;
}

#[tokio::test]
async fn a_retry_with_the_same_external_id_changes_nothing_and_other_content_is_a_conflict() {
    let dir = tempfile::tempdir().unwrap();
    let mut t = TestServer::start(dir.path()).await;
    let mut first = item("refund never arrived");
    first.external_id = "ZD-77".into();
    let ids = t.ingest_items(vec![first.clone()]).await;

    let mut retry = first.clone();
    retry.text = "a different text on retry".into();
    let response = t
        .ingest
        .ingest_verbatims(proto::IngestVerbatimsRequest {
            items: vec![retry, first.clone()],
            wait_for_index: true,
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    // The same key with other content is refused and named, never stored over nor counted as a
    // duplicate; the true retry is a duplicate.
    let conflict = &response.results[0];
    assert_eq!(conflict.outcome, proto::ItemOutcome::Conflict as i32);
    assert_eq!(conflict.id, ids[0]);
    let error = conflict.error.as_ref().unwrap();
    assert_eq!(
        (error.code.as_str(), error.field.as_str()),
        ("ALREADY_EXISTS", "external_id")
    );
    assert!(error.message.contains(&ids[0]), "{}", error.message);
    let retry = &response.results[1];
    assert_eq!(retry.outcome, proto::ItemOutcome::Duplicate as i32);
    assert_eq!(retry.id, ids[0]);
    let got = t
        .verbatims
        .get_verbatim(proto::GetVerbatimRequest {
            id: ids[0].clone(),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(got.text, "refund never arrived");
    assert_eq!(t.search("").await.0, 1);

    // The same external id from another source, or in another workspace, is a different verbatim.
    let mut other_source = first.clone();
    other_source.source = proto::Source::Chat as i32;
    let response = t
        .ingest
        .ingest_verbatims(proto::IngestVerbatimsRequest {
            items: vec![other_source],
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(
        response.results[0].outcome,
        proto::ItemOutcome::Created as i32
    );
    let response = t
        .ingest
        .ingest_verbatims(proto::IngestVerbatimsRequest {
            workspace: "acme".into(),
            items: vec![first],
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(
        response.results[0].outcome,
        proto::ItemOutcome::Created as i32
    );

    // Without an external id every call creates a new verbatim.
    let a = t.ingest_texts(&["same words"]).await;
    let b = t.ingest_texts(&["same words"]).await;
    assert_ne!(a, b);
    t.stop().await;
}

#[tokio::test]
async fn delete_removes_from_store_and_search() {
    let dir = tempfile::tempdir().unwrap();
    let mut t = TestServer::start(dir.path()).await;
    let mut erasable = item("my email is on this ticket about login failures");
    erasable.external_id = "GDPR-1".into();
    let ids = t
        .ingest_items(vec![erasable.clone(), item("login failures again")])
        .await;
    assert_eq!(t.search("login").await.0, 2);

    t.verbatims
        .delete_verbatim(proto::DeleteVerbatimRequest {
            id: ids[0].clone(),
            ..Default::default()
        })
        .await
        .unwrap();
    // Visible to search as soon as the call returns.
    assert_eq!(t.search("login").await, (1, vec![ids[1].clone()]));
    let err = t
        .verbatims
        .get_verbatim(proto::GetVerbatimRequest {
            id: ids[0].clone(),
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(err.code(), tonic::Code::NotFound);
    let err = t
        .verbatims
        .delete_verbatim(proto::DeleteVerbatimRequest {
            id: ids[0].clone(),
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(err.code(), tonic::Code::NotFound);
    // The erased verbatim's idempotency key is free again.
    let again = t.ingest_items(vec![erasable]).await;
    assert_ne!(again[0], ids[0]);
    t.stop().await;
}

#[tokio::test]
async fn workspaces_are_isolated() {
    let dir = tempfile::tempdir().unwrap();
    let mut t = TestServer::start(dir.path()).await;
    let ids = t.ingest_texts(&["checkout is broken"]).await;
    let mut request = tonic::Request::new(SearchVerbatimsRequest {
        query: "checkout".into(),
        ..Default::default()
    });
    request
        .metadata_mut()
        .insert("x-tideline-workspace", "other".parse().unwrap());
    assert_eq!(
        t.verbatims
            .search_verbatims(request)
            .await
            .unwrap()
            .into_inner()
            .total_size,
        0
    );
    let err = t
        .verbatims
        .get_verbatim(proto::GetVerbatimRequest {
            workspace: "other".into(),
            id: ids[0].clone(),
        })
        .await
        .unwrap_err();
    assert_eq!(err.code(), tonic::Code::NotFound);
    t.stop().await;
}

fn labelled(i: usize) -> NewVerbatim {
    let sources = [
        proto::Source::Ticket,
        proto::Source::Survey,
        proto::Source::Chat,
    ];
    NewVerbatim {
        source: sources[i % 3] as i32,
        external_id: format!("row-{i}"),
        text: format!("export to pdf fails on report number {i}"),
        created_at: Some(day((i % 10) as i64)),
        customer_id: format!("cust-{}", i % 4),
        account_id: format!("acct-{}", i % 2),
        metadata: BTreeMap::from([(
            "region".to_string(),
            if i % 5 == 0 { "emea" } else { "amer" }.to_string(),
        )])
        .into_iter()
        .collect(),
        ..Default::default()
    }
}

/// Walks every page and returns the ids in order, checking total_size on each page.
async fn walk(t: &mut TestServer, request: SearchVerbatimsRequest) -> Vec<String> {
    let mut ids = Vec::new();
    let mut request = request;
    loop {
        let page = t
            .verbatims
            .search_verbatims(request.clone())
            .await
            .unwrap()
            .into_inner();
        ids.extend(
            page.hits
                .iter()
                .map(|h| h.verbatim.as_ref().unwrap().id.clone()),
        );
        if page.next_page_token.is_empty() {
            assert_eq!(ids.len() as u64, page.total_size);
            return ids;
        }
        request.page_token = page.next_page_token;
    }
}

#[tokio::test]
async fn filters_and_pagination_walk_every_hit_exactly_once() {
    let dir = tempfile::tempdir().unwrap();
    let mut t = TestServer::start(dir.path()).await;
    let items: Vec<_> = (0..120).map(labelled).collect();
    t.ingest_items(items.clone()).await;
    // A verbatim with the same words in another workspace never shows up.
    t.ingest
        .ingest_verbatims(proto::IngestVerbatimsRequest {
            workspace: "elsewhere".into(),
            items: vec![labelled(0)],
            wait_for_index: true,
        })
        .await
        .unwrap();

    type Expectation = Box<dyn Fn(usize) -> bool>;
    let cases: Vec<(SearchFilter, Expectation)> = vec![
        (SearchFilter::default(), Box::new(|_| true)),
        (
            SearchFilter {
                sources: vec![proto::Source::Ticket as i32, proto::Source::Chat as i32],
                ..Default::default()
            },
            Box::new(|i| i % 3 != 1),
        ),
        (
            SearchFilter {
                created_after: Some(day(2)),
                created_before: Some(day(5)),
                ..Default::default()
            },
            Box::new(|i| (2..5).contains(&(i % 10))),
        ),
        (
            SearchFilter {
                customer_id: "cust-1".into(),
                ..Default::default()
            },
            Box::new(|i| i % 4 == 1),
        ),
        (
            SearchFilter {
                account_id: "acct-0".into(),
                ..Default::default()
            },
            Box::new(|i| i % 2 == 0),
        ),
        (
            SearchFilter {
                metadata: [("region".to_string(), "emea".to_string())].into(),
                ..Default::default()
            },
            Box::new(|i| i % 5 == 0),
        ),
    ];
    for (case, (filter, expect)) in cases.into_iter().enumerate() {
        let expected: usize = (0..120).filter(|&i| expect(i)).count();
        for (query, order) in [
            ("", proto::SearchOrder::Newest),
            ("export pdf", proto::SearchOrder::Relevance),
            ("report", proto::SearchOrder::Oldest),
        ] {
            let ids = walk(
                &mut t,
                SearchVerbatimsRequest {
                    query: query.into(),
                    filter: Some(filter.clone()),
                    order_by: order as i32,
                    page_size: 7,
                    ..Default::default()
                },
            )
            .await;
            let unique: HashSet<_> = ids.iter().collect();
            assert_eq!(
                unique.len(),
                ids.len(),
                "case {case} {order:?}: a hit was repeated"
            );
            assert_eq!(ids.len(), expected, "case {case} {order:?}");
        }
    }

    // Time order is by created_at, ties broken by arrival.
    let newest = walk(
        &mut t,
        SearchVerbatimsRequest {
            page_size: 50,
            ..Default::default()
        },
    )
    .await;
    let mut by_time: Vec<(i64, String)> = Vec::new();
    for id in &newest {
        let v = t.verbatim(id).await;
        by_time.push((v.created_at.unwrap().seconds, v.id));
    }
    let mut sorted = by_time.clone();
    sorted.sort_by(|a, b| b.cmp(a));
    assert_eq!(by_time, sorted);

    // Facets count the whole result, not the page.
    let page = t
        .verbatims
        .search_verbatims(SearchVerbatimsRequest {
            page_size: 1,
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    let facets: BTreeMap<_, _> = page
        .source_facets
        .into_iter()
        .map(|f| (f.value, f.count))
        .collect();
    assert_eq!(facets.get("SOURCE_TICKET"), Some(&40));
    assert_eq!(facets.get("SOURCE_SURVEY"), Some(&40));
    assert_eq!(facets.get("SOURCE_CHAT"), Some(&40));
    t.stop().await;
}

#[tokio::test]
async fn pages_do_not_shift_when_new_verbatims_arrive() {
    let dir = tempfile::tempdir().unwrap();
    let mut t = TestServer::start(dir.path()).await;
    t.ingest_items((0..30).map(labelled).collect()).await;
    let first = t
        .verbatims
        .search_verbatims(SearchVerbatimsRequest {
            page_size: 10,
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    // New verbatims, newer than everything, arrive between pages.
    t.ingest_texts(&["brand new complaint", "another new one"])
        .await;
    let mut ids: Vec<String> = first
        .hits
        .iter()
        .map(|h| h.verbatim.as_ref().unwrap().id.clone())
        .collect();
    let mut token = first.next_page_token;
    while !token.is_empty() {
        let page = t
            .verbatims
            .search_verbatims(SearchVerbatimsRequest {
                page_size: 10,
                page_token: token,
                ..Default::default()
            })
            .await
            .unwrap()
            .into_inner();
        ids.extend(
            page.hits
                .iter()
                .map(|h| h.verbatim.as_ref().unwrap().id.clone()),
        );
        token = page.next_page_token;
    }
    assert_eq!(ids.len(), 30);
    assert_eq!(ids.iter().collect::<HashSet<_>>().len(), 30);
    t.stop().await;
}

#[tokio::test]
async fn stream_groups_writes_and_reports_each_failure_by_stream_index() {
    let dir = tempfile::tempdir().unwrap();
    let mut t = TestServer::start(dir.path()).await;
    let messages: Vec<proto::StreamVerbatimsRequest> = (0..5)
        .map(|m| proto::StreamVerbatimsRequest {
            workspace: if m == 0 { "bulk".into() } else { String::new() },
            items: (0..10)
                .map(|i| {
                    let n = m * 10 + i;
                    let mut v = labelled(n);
                    if n == 13 {
                        v.text = "   ".into();
                    }
                    if n == 37 {
                        v.scores = Some(proto::Scores {
                            nps: Some(11),
                            ..Default::default()
                        });
                    }
                    v
                })
                .collect(),
        })
        .collect();
    let response = t
        .ingest
        .stream_verbatims(futures::stream::iter(messages.clone()))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(
        (
            response.received,
            response.created,
            response.duplicates,
            response.rejected
        ),
        (50, 48, 0, 2)
    );
    let failed: Vec<_> = response
        .failures
        .iter()
        .map(|f| (f.index, f.field.as_str(), f.code.as_str()))
        .collect();
    assert_eq!(
        failed,
        vec![
            (13, "text", "INVALID_ARGUMENT"),
            (37, "scores.nps", "INVALID_ARGUMENT")
        ]
    );

    // The whole stream again: every good item is a duplicate.
    let again = t
        .ingest
        .stream_verbatims(futures::stream::iter(messages))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(
        (again.created, again.duplicates, again.rejected),
        (0, 48, 2)
    );
    t.stop().await;
}
