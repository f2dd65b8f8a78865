//! The operations HTTP surface against a real server: `/healthz`, `/readyz`, and `/metrics`
//! scraped before and after a `tideline import` of a CSV file, with the counters moving by
//! exactly what the import did. (One test in this binary: the metrics recorder is one per
//! process, so another test here would move the same counters.)

mod common;

use std::collections::HashMap;
use std::io::Write;

use common::TestServer;

/// `GET http://addr/path`: the status and the body.
async fn get(addr: std::net::SocketAddr, path: &str) -> (u16, String) {
    let response = reqwest::get(format!("http://{addr}{path}")).await.unwrap();
    let status = response.status().as_u16();
    (status, response.text().await.unwrap())
}

/// The samples of a Prometheus text exposition: `name{labels}` → value.
fn samples(exposition: &str) -> HashMap<String, f64> {
    exposition
        .lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
        .filter_map(|l| {
            let (key, value) = l.rsplit_once(' ')?;
            Some((key.to_string(), value.parse().ok()?))
        })
        .collect()
}

async fn scrape(addr: std::net::SocketAddr) -> HashMap<String, f64> {
    let (status, body) = get(addr, "/metrics").await;
    assert_eq!(status, 200, "{body}");
    samples(&body)
}

fn value(samples: &HashMap<String, f64>, key: &str) -> f64 {
    samples.get(key).copied().unwrap_or(0.0)
}

#[tokio::test]
async fn probes_answer_and_metrics_move_with_an_import() {
    let dir = tempfile::tempdir().unwrap();
    let t = TestServer::start(dir.path()).await;
    let http = t.server.http_addr();
    assert_eq!(get(http, "/healthz").await, (200, "ok\n".to_string()));
    let (status, ready) = get(http, "/readyz").await;
    assert_eq!(status, 200, "{ready}");
    let ready: serde_json::Value = serde_json::from_str(&ready).unwrap();
    assert_eq!(ready["ready"], true);
    assert_eq!(ready["index"]["replaying"], false);

    let before = scrape(http).await;
    let mut csv = tempfile::Builder::new().suffix(".csv").tempfile().unwrap();
    writeln!(csv, "id,text").unwrap();
    for i in 0..40 {
        writeln!(csv, "r{i},the export to excel fails on report {i}").unwrap();
    }
    csv.flush().unwrap();
    let (file, server) = (
        csv.path().to_path_buf(),
        format!("http://{}", t.server.local_addr()),
    );
    // The server runs on this test's runtime: wait for the import off it.
    let output = tokio::task::spawn_blocking(move || {
        std::process::Command::new(common::tideline_binary())
            .arg("import")
            .arg(file)
            .args(["--id-col", "id", "--server", &server])
            .env_remove("TIDELINE_API_KEY")
            .output()
            .unwrap()
    })
    .await
    .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let after = scrape(http).await;

    let moved = |key: &str| value(&after, key) - value(&before, key);
    assert_eq!(
        moved(r#"tideline_ingest_items_total{outcome="created"}"#),
        40.0
    );
    let streams = r#"tideline_grpc_requests_total{rpc="IngestService/StreamVerbatims",code="0"}"#;
    assert!(moved(streams) >= 1.0, "{after:?}");
    let latency =
        r#"tideline_grpc_request_duration_seconds_count{rpc="IngestService/StreamVerbatims"}"#;
    assert!(moved(latency) >= 1.0, "{after:?}");
    // State read at the scrape: the store holds the rows, nothing waits in the outbox.
    assert!(value(&after, "tideline_store_bytes") > 0.0, "{after:?}");
    assert!(value(&after, "tideline_index_bytes") > 0.0, "{after:?}");
    assert_eq!(value(&after, "tideline_outbox_depth"), 0.0);
    assert!(after.contains_key("tideline_index_lag"), "{after:?}");

    // A refused call is counted with its status: NOT_FOUND is 5.
    let mut verbatims = t.verbatims.clone();
    verbatims
        .get_verbatim(tideline::proto::GetVerbatimRequest {
            id: "vb_00000000ffff".into(),
            ..Default::default()
        })
        .await
        .unwrap_err();
    let refused = scrape(http).await;
    let not_found = r#"tideline_grpc_requests_total{rpc="VerbatimService/GetVerbatim",code="5"}"#;
    assert_eq!(value(&refused, not_found) - value(&after, not_found), 1.0);
    t.stop().await;
}
