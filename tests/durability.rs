//! Nothing acknowledged is lost: restarts, crashes between store write and index commit, and
//! offline reindexing.

mod common;

use std::process::Command;

use common::{connect, item, spawn_serve, TestServer};
use tideline::proto::ingest_service_client::IngestServiceClient;
use tideline::proto::{self, IngestVerbatimsRequest};

#[tokio::test]
async fn a_restart_on_the_same_data_dir_keeps_everything_searchable() {
    let dir = tempfile::tempdir().unwrap();
    let mut t = TestServer::start(dir.path()).await;
    let ids = t
        .ingest_texts(&[
            "password reset email never arrives",
            "love the new dashboard",
        ])
        .await;
    // Acknowledged but not waited for: the final commit on shutdown must cover it.
    t.ingest
        .ingest_verbatims(IngestVerbatimsRequest {
            items: vec![item("reset link expired")],
            ..Default::default()
        })
        .await
        .unwrap();
    t.stop().await;

    let mut t = TestServer::start(dir.path()).await;
    assert_eq!(t.search("reset").await.0, 2);
    assert_eq!(t.search("dashboard").await, (1, vec![ids[1].clone()]));
    // New ids continue after the old ones.
    let more = t.ingest_texts(&["after restart"]).await;
    assert!(more[0] > ids[1]);
    t.stop().await;
}

#[tokio::test]
async fn a_crash_between_store_write_and_index_commit_is_repaired_by_the_watermark_replay() {
    let dir = tempfile::tempdir().unwrap();
    // An index that would not commit for an hour: acknowledged writes reach sled only.
    let mut process = spawn_serve(dir.path(), &["--index-commit-interval-ms", "3600000"]);
    let mut ingest = IngestServiceClient::new(connect(process.addr).await);
    let items: Vec<_> = (0..200)
        .map(|i| item(&format!("checkout timeout number {i}")))
        .collect();
    for chunk in items.chunks(50) {
        let response = ingest
            .ingest_verbatims(IngestVerbatimsRequest {
                items: chunk.to_vec(),
                ..Default::default()
            })
            .await
            .unwrap()
            .into_inner();
        assert!(response
            .results
            .iter()
            .all(|r| r.outcome == proto::ItemOutcome::Created as i32));
    }
    // Not yet searchable...
    let mut search = tideline::proto::verbatim_service_client::VerbatimServiceClient::new(
        connect(process.addr).await,
    );
    let before = search
        .search_verbatims(proto::SearchVerbatimsRequest {
            query: "checkout".into(),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(
        before.total_size, 0,
        "the index must not have committed yet"
    );
    // ...and the process dies without any shutdown (SIGKILL).
    process.child.kill().unwrap();
    process.child.wait().unwrap();

    let mut t = TestServer::start(dir.path()).await;
    // The replay runs in the background at start; wait for it through a no-op ingest.
    t.ingest_texts(&["after the crash"]).await;
    assert_eq!(t.search("checkout").await.0, 200);
    t.stop().await;
}

#[tokio::test]
async fn sigterm_drains_and_commits() {
    let dir = tempfile::tempdir().unwrap();
    let mut process = spawn_serve(dir.path(), &["--index-commit-interval-ms", "3600000"]);
    let mut ingest = IngestServiceClient::new(connect(process.addr).await);
    ingest
        .ingest_verbatims(IngestVerbatimsRequest {
            items: vec![item("graceful goodbye")],
            ..Default::default()
        })
        .await
        .unwrap();
    let status = Command::new("kill")
        .args(["-TERM", &process.child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    assert!(
        process.child.wait().unwrap().success(),
        "serve exits cleanly on SIGTERM"
    );
    // The final commit covered the write: the index is current without any replay.
    let opened = tideline::index::SearchIndex::open(&dir.path().join("index"), 20).unwrap();
    assert_eq!(opened.watermark, Some(1));
}

#[tokio::test]
async fn reindex_rebuilds_the_index_from_the_store() {
    let dir = tempfile::tempdir().unwrap();
    let mut t = TestServer::start(dir.path()).await;
    t.ingest_texts(&["slow sync on android", "sync conflicts", "unrelated"])
        .await;
    t.stop().await;
    std::fs::remove_dir_all(dir.path().join("index")).unwrap();
    std::fs::create_dir_all(dir.path().join("index")).unwrap();

    let output = Command::new(env!("CARGO_BIN_EXE_tideline"))
        .arg("reindex")
        .arg("--data-dir")
        .arg(dir.path())
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(String::from_utf8_lossy(&output.stdout).contains("sequence 3"));
    let opened = tideline::index::SearchIndex::open(&dir.path().join("index"), 20).unwrap();
    assert_eq!(opened.watermark, Some(3));
    assert_eq!(opened.index.num_docs(), 3);
    drop(opened);

    let mut t = TestServer::start(dir.path()).await;
    assert_eq!(t.search("sync").await.0, 2);
    t.stop().await;
}

#[tokio::test]
async fn a_lost_index_is_rebuilt_on_start() {
    let dir = tempfile::tempdir().unwrap();
    let mut t = TestServer::start(dir.path()).await;
    t.ingest_texts(&["invoice totals are wrong", "invoice pdf missing"])
        .await;
    t.stop().await;
    std::fs::remove_dir_all(dir.path().join("index")).unwrap();

    let mut t = TestServer::start(dir.path()).await;
    t.ingest_texts(&["new after loss"]).await;
    assert_eq!(t.search("invoice").await.0, 2);
    t.stop().await;
}

#[tokio::test]
async fn readyz_is_not_ready_while_the_index_replays_after_a_loss_and_ready_afterwards() {
    let dir = tempfile::tempdir().unwrap();
    let mut t = TestServer::start(dir.path()).await;
    let items: Vec<_> = (0..20_000)
        .map(|i| item(&format!("ticket {i}: the invoice export keeps timing out")))
        .collect();
    for chunk in items.chunks(1_000) {
        t.ingest
            .ingest_verbatims(IngestVerbatimsRequest {
                items: chunk.to_vec(),
                ..Default::default()
            })
            .await
            .unwrap();
    }
    t.stop().await;
    // The index is lost (as after a crash that took its files): on start it is replayed from
    // the store in the background, 20,000 changes behind.
    std::fs::remove_dir_all(dir.path().join("index")).unwrap();

    let t = TestServer::start(dir.path()).await;
    let readyz = format!("http://{}/readyz", t.server.http_addr());
    let first = reqwest::get(&readyz).await.unwrap();
    assert_eq!(first.status().as_u16(), 503);
    let body: serde_json::Value = first.json().await.unwrap();
    assert_eq!(body["ready"], false, "{body}");
    assert_eq!(body["index"]["replaying"], true, "{body}");
    assert!(
        body["index"]["start_seq"].as_u64().unwrap() >= 20_000,
        "{body}"
    );
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(120);
    let ready = loop {
        let answer = reqwest::get(&readyz).await.unwrap();
        if answer.status().as_u16() == 200 {
            break answer.json::<serde_json::Value>().await.unwrap();
        }
        assert!(tokio::time::Instant::now() < deadline, "never ready");
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    };
    assert_eq!(ready["index"]["replaying"], false, "{ready}");
    let mut t = t;
    assert_eq!(t.search("invoice").await.0, 20_000);
    t.stop().await;
}
