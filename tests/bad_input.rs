//! Every kind of bad input gets a precise status naming the field (per item inside batches and
//! streams), nothing else is lost, and the server keeps serving.

mod common;

use common::{assert_status, item, test_config, TestServer};
use tideline::proto::{
    self, IngestVerbatimsRequest, SearchVerbatimsRequest, StreamVerbatimsRequest,
};
use tonic::Code;

async fn small_limits_server(dir: &std::path::Path) -> TestServer {
    let mut config = test_config(dir);
    config.limits.max_text_bytes = 200;
    config.limits.max_batch_items = 20;
    config.limits.max_message_bytes = 64 * 1024;
    TestServer::start_with(config).await
}

/// Each bad item with the field its error must name.
fn bad_items() -> Vec<(proto::NewVerbatim, &'static str)> {
    let mut cases = Vec::new();
    let with = |f: &dyn Fn(&mut proto::NewVerbatim)| {
        let mut v = item("fine words");
        f(&mut v);
        v
    };
    cases.push((with(&|v| v.text = String::new()), "text"));
    cases.push((with(&|v| v.text = " \n\t ".into()), "text"));
    cases.push((with(&|v| v.text = "x".repeat(201)), "text"));
    cases.push((with(&|v| v.text = "null \u{0} byte".into()), "text"));
    cases.push((
        with(&|v| {
            v.created_at = Some(prost_types::Timestamp {
                seconds: -10,
                nanos: 0,
            })
        }),
        "created_at",
    ));
    let tomorrow_and_more = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
        + 86_400
        + 3_600;
    cases.push((
        with(&|v| {
            v.created_at = Some(prost_types::Timestamp {
                seconds: tomorrow_and_more,
                nanos: 0,
            })
        }),
        "created_at",
    ));
    cases.push((
        with(&|v| {
            v.scores = Some(proto::Scores {
                nps: Some(11),
                ..Default::default()
            })
        }),
        "scores.nps",
    ));
    cases.push((
        with(&|v| {
            v.scores = Some(proto::Scores {
                csat: Some(0),
                ..Default::default()
            })
        }),
        "scores.csat",
    ));
    cases.push((
        with(&|v| {
            v.scores = Some(proto::Scores {
                ces: Some(9),
                ..Default::default()
            })
        }),
        "scores.ces",
    ));
    cases.push((with(&|v| v.source = 99), "source"));
    cases.push((with(&|v| v.language = "not a tag".into()), "language"));
    cases
}

#[tokio::test]
async fn each_bad_item_in_a_batch_is_named_and_its_neighbours_are_stored() {
    let dir = tempfile::tempdir().unwrap();
    let mut t = small_limits_server(dir.path()).await;
    let cases = bad_items();
    let mut items = vec![item("good one before")];
    items.extend(cases.iter().map(|(v, _)| v.clone()));
    items.push(item("good one after"));
    let response = t
        .ingest
        .ingest_verbatims(IngestVerbatimsRequest {
            items,
            wait_for_index: true,
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(response.results.len(), cases.len() + 2);
    assert_eq!(
        response.results[0].outcome,
        proto::ItemOutcome::Created as i32
    );
    assert_eq!(
        response.results.last().unwrap().outcome,
        proto::ItemOutcome::Created as i32
    );
    for (i, (_, field)) in cases.iter().enumerate() {
        let result = &response.results[i + 1];
        assert_eq!(result.outcome, proto::ItemOutcome::Rejected as i32);
        let error = result.error.as_ref().unwrap();
        assert_eq!(error.field, *field, "{error:?}");
        assert_eq!(error.code, "INVALID_ARGUMENT");
        assert_eq!(error.index, (i + 1) as u64);
        assert!(error.message.starts_with(field), "{error:?}");
    }
    assert!(response.results[3]
        .error
        .as_ref()
        .unwrap()
        .message
        .contains("max_text_bytes=200"));
    assert_eq!(t.search("").await.0, 2);
    t.stop().await;
}

#[tokio::test]
async fn each_bad_item_in_a_stream_is_reported_by_stream_index() {
    let dir = tempfile::tempdir().unwrap();
    let mut t = small_limits_server(dir.path()).await;
    let cases = bad_items();
    let mut messages = vec![StreamVerbatimsRequest {
        workspace: String::new(),
        items: vec![item("first good")],
    }];
    messages.extend(cases.iter().map(|(v, _)| StreamVerbatimsRequest {
        workspace: String::new(),
        items: vec![v.clone()],
    }));
    // A message over the batch limit: each of its items is refused, naming the limit.
    messages.push(StreamVerbatimsRequest {
        workspace: String::new(),
        items: vec![item("too many"); 21],
    });
    // A message addressed to another workspace mid-stream.
    messages.push(StreamVerbatimsRequest {
        workspace: "intruder".into(),
        items: vec![item("elsewhere")],
    });
    messages.push(StreamVerbatimsRequest {
        workspace: String::new(),
        items: vec![item("last good")],
    });
    let response = t
        .ingest
        .stream_verbatims(futures::stream::iter(messages))
        .await
        .unwrap()
        .into_inner();
    let n = cases.len() as u64;
    assert_eq!(response.received, n + 24);
    assert_eq!(response.created, 2);
    assert_eq!(response.rejected, n + 22);
    for (i, (_, field)) in cases.iter().enumerate() {
        let failure = &response.failures[i];
        assert_eq!(
            (failure.index, failure.field.as_str()),
            ((i + 1) as u64, *field)
        );
    }
    let too_many = &response.failures[cases.len()];
    assert_eq!(
        (
            too_many.index,
            too_many.code.as_str(),
            too_many.field.as_str()
        ),
        (n + 1, "RESOURCE_EXHAUSTED", "items")
    );
    assert!(
        too_many.message.contains("limits.max_batch_items=20"),
        "{too_many:?}"
    );
    let intruder = response.failures.last().unwrap();
    assert_eq!(
        (intruder.index, intruder.field.as_str()),
        (n + 22, "workspace")
    );
    t.stop().await;
}

#[tokio::test]
async fn limits_are_named_and_the_server_keeps_serving() {
    let dir = tempfile::tempdir().unwrap();
    let mut t = small_limits_server(dir.path()).await;

    let err = t
        .ingest
        .ingest_verbatims(IngestVerbatimsRequest {
            items: vec![item("x"); 21],
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_status(&err, Code::ResourceExhausted, "limits.max_batch_items=20");

    // A message over 64 KiB made of valid items (their metadata is large).
    let big: Vec<_> = (0..20)
        .map(|i| {
            let mut v = item("fine");
            v.metadata = (0..40)
                .map(|k| (format!("k{k}"), format!("{i}{}", "v".repeat(100))))
                .collect();
            v
        })
        .collect();
    let err = t
        .ingest
        .ingest_verbatims(IngestVerbatimsRequest {
            items: big.clone(),
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_status(
        &err,
        Code::ResourceExhausted,
        "limits.max_message_bytes=65536",
    );

    let err = t
        .ingest
        .stream_verbatims(futures::stream::iter(vec![StreamVerbatimsRequest {
            workspace: String::new(),
            items: big,
        }]))
        .await
        .unwrap_err();
    assert_status(
        &err,
        Code::ResourceExhausted,
        "limits.max_message_bytes=65536",
    );

    // Still serving.
    assert_eq!(t.ingest_texts(&["still here"]).await.len(), 1);
    assert_eq!(t.search("still").await.0, 1);
    t.stop().await;
}

#[tokio::test]
async fn bad_requests_name_their_field() {
    let dir = tempfile::tempdir().unwrap();
    let mut t = TestServer::start(dir.path()).await;
    t.ingest_texts(&["alpha", "alpha beta", "alpha gamma"])
        .await;

    let search = |r: SearchVerbatimsRequest| {
        let mut client = t.verbatims.clone();
        async move { client.search_verbatims(r).await }
    };
    let err = search(SearchVerbatimsRequest {
        page_token: "%%%".into(),
        ..Default::default()
    })
    .await
    .unwrap_err();
    assert_status(&err, Code::InvalidArgument, "page_token");
    let err = search(SearchVerbatimsRequest {
        page_size: -1,
        ..Default::default()
    })
    .await
    .unwrap_err();
    assert_status(&err, Code::InvalidArgument, "page_size");
    let err = search(SearchVerbatimsRequest {
        order_by: 42,
        ..Default::default()
    })
    .await
    .unwrap_err();
    assert_status(&err, Code::InvalidArgument, "order_by");
    let err = search(SearchVerbatimsRequest {
        filter: Some(proto::SearchFilter {
            sources: vec![77],
            ..Default::default()
        }),
        ..Default::default()
    })
    .await
    .unwrap_err();
    assert_status(&err, Code::InvalidArgument, "filter.sources[0]");
    let err = search(SearchVerbatimsRequest {
        filter: Some(proto::SearchFilter {
            created_after: Some(prost_types::Timestamp {
                seconds: 0,
                nanos: -5,
            }),
            ..Default::default()
        }),
        ..Default::default()
    })
    .await
    .unwrap_err();
    assert_status(&err, Code::InvalidArgument, "filter.created_after");
    let err = search(SearchVerbatimsRequest {
        query: "nosuchfield:x".into(),
        ..Default::default()
    })
    .await
    .unwrap_err();
    assert_status(&err, Code::InvalidArgument, "query");
    let err = search(SearchVerbatimsRequest {
        workspace: "Not Valid".into(),
        ..Default::default()
    })
    .await
    .unwrap_err();
    assert_status(&err, Code::InvalidArgument, "workspace");

    // A token from another query is refused rather than silently misread.
    let page = search(SearchVerbatimsRequest {
        query: "alpha".into(),
        page_size: 1,
        ..Default::default()
    })
    .await
    .unwrap()
    .into_inner();
    assert!(!page.next_page_token.is_empty());
    let err = search(SearchVerbatimsRequest {
        query: "beta".into(),
        page_token: page.next_page_token,
        ..Default::default()
    })
    .await
    .unwrap_err();
    assert_status(&err, Code::InvalidArgument, "page_token");

    let err = t
        .verbatims
        .get_verbatim(proto::GetVerbatimRequest {
            id: "42".into(),
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_status(&err, Code::InvalidArgument, "id");
    let err = t
        .verbatims
        .get_verbatim(proto::GetVerbatimRequest {
            id: "vb_0000000000ff".into(),
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_status(&err, Code::NotFound, "vb_0000000000ff");

    assert_eq!(t.search("alpha").await.0, 3);
    t.stop().await;
}
