//! Requests that used to crash the server, stall its responses or grow it without bound are
//! refused up front with a status that names the limit, and the server keeps serving: forged
//! page tokens, a huge `k`, deep or long queries, unbounded free text and lists, watchers that
//! never read, malformed protobuf bodies, and responses held back by Nagle's algorithm.

mod common;

use std::time::{Duration, Instant};

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use common::raw::RawCodec;
use common::{assert_status, item, synthetic, TestServer};
use prost::Message as _;
use tideline::proto::alert_service_client::AlertServiceClient;
use tideline::proto::theme_service_client::ThemeServiceClient;
use tideline::proto::webhook_service_client::WebhookServiceClient;
use tideline::proto::{self, SearchVerbatimsRequest};
use tonic::Code;

#[tokio::test]
async fn forged_page_tokens_and_a_huge_k_are_refused_before_they_cost_anything() {
    let dir = tempfile::tempdir().unwrap();
    let mut t = TestServer::start(dir.path()).await;
    t.ingest_texts(&["alpha one", "alpha two", "alpha three"])
        .await;
    let request = |token: String| SearchVerbatimsRequest {
        query: "alpha".into(),
        page_size: 1,
        page_token: token,
        ..Default::default()
    };
    let first = t
        .verbatims
        .search_verbatims(request(String::new()))
        .await
        .unwrap()
        .into_inner();
    // The token's payload with its offset edited to a billion (which used to allocate 64 GB),
    // keeping the original signature.
    let (payload, tag) = first.next_page_token.split_once('.').unwrap();
    let mut decoded: serde_json::Value =
        serde_json::from_slice(&URL_SAFE_NO_PAD.decode(payload).unwrap()).unwrap();
    decoded["o"] = 1_000_000_000u64.into();
    let forged = format!(
        "{}.{tag}",
        URL_SAFE_NO_PAD.encode(serde_json::to_vec(&decoded).unwrap())
    );
    let err = t
        .verbatims
        .search_verbatims(request(forged))
        .await
        .unwrap_err();
    assert_status(&err, Code::InvalidArgument, "page_token");
    // The honest token still works.
    let second = t
        .verbatims
        .search_verbatims(request(first.next_page_token))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(second.hits.len(), 1);

    let mut themes = ThemeServiceClient::new(t.channel.clone());
    let err = themes
        .refresh_themes(proto::RefreshThemesRequest {
            k: u32::MAX,
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_status(&err, Code::InvalidArgument, "limits.max_themes_k");
    assert_eq!(t.search("alpha").await.0, 3);
    t.stop().await;
}

#[tokio::test]
async fn deep_wide_or_long_queries_are_refused_by_name() {
    let dir = tempfile::tempdir().unwrap();
    let mut t = TestServer::start(dir.path()).await;
    t.ingest_texts(&["refund late"]).await;
    let depth_40 = format!("{}refund{}", "(".repeat(40), ")".repeat(40));
    assert!(depth_40.len() < 100);
    let cases = [
        (
            format!("{}a{}", "(".repeat(3_000), ")".repeat(3_000)),
            "limits.max_query_bytes",
        ),
        (
            format!("{}refund", "NOT ".repeat(10_000)),
            "limits.max_query_bytes",
        ),
        (
            format!("{}refund", "NOT ".repeat(100)),
            "limits.max_query_depth",
        ),
        (depth_40, "limits.max_query_depth"),
        (vec!["refund"; 200].join(" OR "), "limits.max_query_terms"),
    ];
    for (query, limit) in cases {
        let err = t
            .verbatims
            .search_verbatims(SearchVerbatimsRequest {
                query,
                ..Default::default()
            })
            .await
            .unwrap_err();
        assert_status(&err, Code::InvalidArgument, limit);
    }
    assert_eq!(t.search("refund AND late").await.0, 1);
    t.stop().await;
}

#[tokio::test]
async fn sixteen_kilobyte_responses_are_not_held_back_by_nagle() {
    let dir = tempfile::tempdir().unwrap();
    let mut t = TestServer::start(dir.path()).await;
    let text = "the export screen freezes before the report loads ".repeat(330);
    assert!(text.len() >= 16 * 1024);
    let ids = t.ingest_texts(&[&text]).await;
    let mut times = Vec::new();
    for _ in 0..21 {
        let started = Instant::now();
        let got = t
            .verbatims
            .get_verbatim(proto::GetVerbatimRequest {
                id: ids[0].clone(),
                ..Default::default()
            })
            .await
            .unwrap()
            .into_inner();
        times.push(started.elapsed());
        assert!(got.encoded_len() > 16 * 1024);
    }
    times.sort();
    // With Nagle's algorithm on, such responses wait for the client's delayed ACK (~40 ms; the
    // first few after connecting may not). The median shows whether that wait is there.
    let median = times[times.len() / 2];
    assert!(
        median < Duration::from_millis(30),
        "median round trip {median:?}"
    );
    t.stop().await;
}

/// A server with one live alert (the synthetic stream's tripling topic); returns its id.
async fn server_with_an_alert(dir: &std::path::Path) -> (TestServer, String) {
    let mut t = TestServer::start(dir).await;
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64;
    synthetic::ingest(&mut t, now, 12).await;
    synthetic::use_short_windows(&t).await;
    synthetic::refresh(&mut t).await;
    let alerts = AlertServiceClient::new(t.channel.clone())
        .list_alerts(proto::ListAlertsRequest::default())
        .await
        .unwrap()
        .into_inner()
        .alerts;
    let id = alerts
        .first()
        .expect("the refresh raised an alert")
        .id
        .clone();
    (t, id)
}

#[tokio::test]
async fn free_text_and_lists_are_bounded_and_long_ids_do_not_flood_the_status() {
    let dir = tempfile::tempdir().unwrap();
    let (t, alert_id) = server_with_an_alert(dir.path()).await;
    let mut alerts = AlertServiceClient::new(t.channel.clone());
    let update = |note: String| proto::UpdateAlertRequest {
        id: alert_id.clone(),
        status: proto::AlertStatus::Acknowledged as i32,
        note,
        ..Default::default()
    };
    let err = alerts
        .update_alert(update("n".repeat(1 << 20)))
        .await
        .unwrap_err();
    assert_status(&err, Code::InvalidArgument, "limits.max_note_bytes");
    // Notes within the limit are kept, the latest 100 of them.
    for round in 0..120 {
        let status = if round % 2 == 0 {
            proto::AlertStatus::Acknowledged
        } else {
            proto::AlertStatus::Open
        };
        alerts
            .update_alert(proto::UpdateAlertRequest {
                status: status as i32,
                ..update(format!("round {round}: {}", "x".repeat(4000)))
            })
            .await
            .unwrap();
    }
    let alert = alerts
        .get_alert(proto::GetAlertRequest {
            id: alert_id.clone(),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(alert.notes.len(), 100);
    assert!(alert.notes.last().unwrap().note.starts_with("round 119:"));

    let mut themes = ThemeServiceClient::new(t.channel.clone());
    let theme = themes
        .list_themes(proto::ListThemesRequest::default())
        .await
        .unwrap()
        .into_inner()
        .themes[0]
        .id
        .clone();
    for label in ["l".repeat(1 << 20), "nul\0inside".to_string()] {
        let err = themes
            .update_theme(proto::UpdateThemeRequest {
                id: theme.clone(),
                label,
                ..Default::default()
            })
            .await
            .unwrap_err();
        assert_status(&err, Code::InvalidArgument, "label");
    }
    let err = themes
        .merge_themes(proto::MergeThemesRequest {
            theme_ids: vec!["TH-0001".into(); 1000],
            into: theme.clone(),
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_status(&err, Code::InvalidArgument, "limits.max_list_items");

    let err = WebhookServiceClient::new(t.channel.clone())
        .create_webhook(proto::CreateWebhookRequest {
            url: "https://example.com/hook".into(),
            description: "d".repeat(5 << 20),
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_status(&err, Code::InvalidArgument, "limits.max_note_bytes");

    // A 100 KB id: the error is NOT_FOUND, in a message of bounded size.
    let err = themes
        .get_theme(proto::GetThemeRequest {
            id: "T".repeat(100_000),
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_status(&err, Code::NotFound, "(100000 bytes)");
    assert!(err.message().len() < 200, "{}", err.message().len());
    t.stop().await;
}

#[tokio::test]
async fn a_watcher_that_never_reads_is_cut_off_with_a_clear_status() {
    let dir = tempfile::tempdir().unwrap();
    let (t, alert_id) = server_with_an_alert(dir.path()).await;
    let mut alerts = AlertServiceClient::new(t.channel.clone());
    let mut watch = alerts
        .watch_alerts(proto::WatchAlertsRequest::default())
        .await
        .unwrap()
        .into_inner();
    // 300 updates with 4 KB notes while the watcher reads nothing.
    let mut updater = alerts.clone();
    for round in 0..300 {
        let status = if round % 2 == 0 {
            proto::AlertStatus::Acknowledged
        } else {
            proto::AlertStatus::Open
        };
        updater
            .update_alert(proto::UpdateAlertRequest {
                id: alert_id.clone(),
                status: status as i32,
                note: "x".repeat(4000),
                ..Default::default()
            })
            .await
            .unwrap();
    }
    let mut received = 0;
    let ended = loop {
        match watch.message().await {
            Ok(Some(_)) => received += 1,
            Ok(None) => panic!("the watch ended without a status after {received} events"),
            Err(status) => break status,
        }
    };
    assert_status(&ended, Code::DataLoss, "limits.watch_buffer_events");
    assert!(received < 300, "{received}");
    // The server is fine, and a new watch works.
    alerts
        .watch_alerts(proto::WatchAlertsRequest::default())
        .await
        .unwrap();
    t.stop().await;
}

#[tokio::test]
async fn malformed_request_bodies_are_invalid_argument_and_the_server_keeps_serving() {
    let dir = tempfile::tempdir().unwrap();
    let mut t = TestServer::start(dir.path()).await;
    let valid = proto::IngestVerbatimsRequest {
        items: vec![item("the app crashed")],
        ..Default::default()
    }
    .encode_to_vec();
    let bodies = [
        ("garbage", vec![0xff; 12]),
        ("truncated", valid[..valid.len() - 5].to_vec()),
        // Field 1 (workspace), a string, holding bytes that are not UTF-8.
        ("invalid utf-8", vec![0x0a, 0x02, 0xff, 0xfe]),
    ];
    let mut grpc = tonic::client::Grpc::new(t.channel.clone());
    for (what, body) in &bodies {
        for path in [
            "/tideline.v1.IngestService/IngestVerbatims",
            "/tideline.v1.VerbatimService/SearchVerbatims",
        ] {
            grpc.ready().await.unwrap();
            let err = grpc
                .unary(
                    tonic::Request::new(body.clone()),
                    http::uri::PathAndQuery::from_static(path),
                    RawCodec,
                )
                .await
                .unwrap_err();
            assert_eq!(
                err.code(),
                Code::InvalidArgument,
                "{what} to {path}: {err:?}"
            );
        }
        grpc.ready().await.unwrap();
        let err = grpc
            .client_streaming(
                tonic::Request::new(tokio_stream::iter(vec![body.clone()])),
                http::uri::PathAndQuery::from_static("/tideline.v1.IngestService/StreamVerbatims"),
                RawCodec,
            )
            .await
            .unwrap_err();
        assert_eq!(
            err.code(),
            Code::InvalidArgument,
            "{what} streamed: {err:?}"
        );
    }
    assert_eq!(t.ingest_texts(&["still serving"]).await.len(), 1);
    t.stop().await;
}
