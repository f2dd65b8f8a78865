//! Load generator: end-to-end ingest of `../shared/data/airline_tweets.csv` over real gRPC on
//! loopback, into a fresh data dir per run. Reports rows/s until acknowledged (durable in sled)
//! and until searchable (committed in tantivy), and the disk used.
//!
//! Run: `cargo bench --bench ingest_airline` (release build).

use std::path::Path;
use std::time::Instant;

use tideline::client::import::{read_csv, stream_items, CsvMapping};
use tideline::config::Config;
use tideline::proto::ingest_service_client::IngestServiceClient;
use tideline::proto::{self, IngestVerbatimsRequest};

const RUNS: usize = 3;

fn dir_size(path: &Path) -> u64 {
    std::fs::read_dir(path)
        .map(|entries| {
            entries
                .flatten()
                .map(|e| match e.metadata() {
                    Ok(m) if m.is_dir() => dir_size(&e.path()),
                    Ok(m) => m.len(),
                    Err(_) => 0,
                })
                .sum()
        })
        .unwrap_or(0)
}

#[tokio::main]
async fn main() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/data/airline_tweets.csv");
    if !path.exists() {
        eprintln!("skipping: {} not found", path.display());
        return;
    }
    let mapping = CsvMapping {
        text: "text".into(),
        external_id: Some("tweet_id".into()),
        created_at: Some("tweet_created".into()),
        source: proto::Source::Social,
        metadata: vec![
            "airline".into(),
            "airline_sentiment".into(),
            "negativereason".into(),
        ],
    };
    let mut acked = Vec::new();
    let mut searchable = Vec::new();
    for run in 1..=RUNS {
        let dir = tempfile::tempdir().unwrap();
        let mut config = Config {
            listen: "127.0.0.1:0".parse().unwrap(),
            data_dir: dir.path().to_path_buf(),
            ..Default::default()
        };
        config.auth.disabled = true;
        let server = tideline::server::start(config).await.unwrap();
        let channel =
            tonic::transport::Channel::from_shared(format!("http://{}", server.local_addr()))
                .unwrap()
                .connect()
                .await
                .unwrap();
        let mut client =
            IngestServiceClient::new(tideline::client::authorized(channel, None).unwrap());

        let started = Instant::now();
        let rows = read_csv(&path, &mapping).unwrap();
        let total = rows.items.len();
        let summary = stream_items(&mut client, "bench", rows.items, 500)
            .await
            .unwrap();
        let acked_secs = started.elapsed().as_secs_f64();
        // A one-item ingest that waits for the index marks the moment everything is searchable.
        client
            .ingest_verbatims(IngestVerbatimsRequest {
                workspace: "bench".into(),
                items: vec![proto::NewVerbatim {
                    text: "barrier".into(),
                    ..Default::default()
                }],
                wait_for_index: true,
            })
            .await
            .unwrap();
        let searchable_secs = started.elapsed().as_secs_f64();
        server.shutdown().await.unwrap();
        let store = dir_size(&dir.path().join("store"));
        let index = dir_size(&dir.path().join("index"));
        println!(
            "run {run}: {total} rows ({} created, {} duplicates) acknowledged in {acked_secs:.2} s = {:.0} rows/s; searchable after {searchable_secs:.2} s = {:.0} rows/s; disk: store {:.1} MiB, index {:.1} MiB",
            summary.created,
            summary.duplicates,
            total as f64 / acked_secs,
            total as f64 / searchable_secs,
            store as f64 / 1048576.0,
            index as f64 / 1048576.0,
        );
        acked.push(total as f64 / acked_secs);
        searchable.push(total as f64 / searchable_secs);
    }
    acked.sort_by(f64::total_cmp);
    searchable.sort_by(f64::total_cmp);
    println!(
        "median over {RUNS} runs: {:.0} rows/s acknowledged (durable), {:.0} rows/s searchable",
        acked[RUNS / 2],
        searchable[RUNS / 2]
    );
}
