//! Concurrent ingest against `tideline serve` (a child process), the way a ticketing integration
//! with many workers uses it: 32 clients calling `IngestVerbatims` with 20 items each. The server
//! must never stall (a watchdog fails the test when no call is acknowledged for `STALL`, with a
//! thread dump of the server when gdb is there), and kill -9 in the middle of the load, five
//! times, must lose nothing acknowledged and duplicate nothing.
//!
//! `TIDELINE_SOAK_SECONDS` sets the soak's length (default 60).

mod common;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use common::{connect, spawn_serve, ServeProcess};
use tideline::client::bench::bench_item;
use tideline::proto::ingest_service_client::IngestServiceClient;
use tideline::proto::verbatim_service_client::VerbatimServiceClient;
use tideline::proto::{self, IngestVerbatimsRequest};
use tonic::transport::Channel;

const CLIENTS: usize = 32;
const ITEMS_PER_CALL: usize = 20;
/// No acknowledgement for this long is a stall.
const STALL: Duration = Duration::from_secs(15);
/// How long one call may take before the client gives up on it.
const CALL_DEADLINE: Duration = Duration::from_secs(60);

/// What the clients were told: external id → verbatim id, for every acknowledged item; and every
/// external id sent, acknowledged or not.
#[derive(Default)]
struct Ledger {
    acknowledged: HashMap<String, String>,
    sent: Vec<String>,
    calls: u64,
}

/// Runs `CLIENTS` ingest loops until `until` or until the server goes away. Fails the test when
/// no call is acknowledged for `STALL` while the server is up.
async fn drive(process: &ServeProcess, round: &str, until: Instant, ledger: Arc<Mutex<Ledger>>) {
    let channel = connect(process.addr).await;
    let clients: Vec<_> = (0..CLIENTS)
        .map(|client| {
            let channel = channel.clone();
            let ledger = ledger.clone();
            let round = round.to_string();
            tokio::spawn(async move { client_loop(channel, &round, client, until, ledger).await })
        })
        .collect();
    let mut last_calls = 0;
    let mut last_progress = Instant::now();
    while clients.iter().any(|c| !c.is_finished()) {
        tokio::time::sleep(Duration::from_millis(250)).await;
        let calls = ledger.lock().unwrap().calls;
        if calls > last_calls {
            (last_calls, last_progress) = (calls, Instant::now());
        } else if last_progress.elapsed() > STALL && Instant::now() < until {
            panic!(
                "ingest stalled: no call acknowledged for {STALL:?} after {calls} calls\n{}",
                thread_dump(process.child.id())
            );
        }
    }
    for client in clients {
        client.await.unwrap();
    }
}

async fn client_loop(
    channel: Channel,
    round: &str,
    client: usize,
    until: Instant,
    ledger: Arc<Mutex<Ledger>>,
) {
    let mut ingest = IngestServiceClient::new(channel);
    let mut call = 0;
    while Instant::now() < until {
        let ids: Vec<String> = (0..ITEMS_PER_CALL)
            .map(|i| format!("{round}-{client}-{call}-{i}"))
            .collect();
        let items = ids
            .iter()
            .enumerate()
            .map(|(i, id)| bench_item(id, client + call + i))
            .collect();
        ledger.lock().unwrap().sent.extend(ids.iter().cloned());
        let mut request = tonic::Request::new(IngestVerbatimsRequest {
            items,
            ..Default::default()
        });
        request.set_timeout(CALL_DEADLINE);
        let Ok(response) = ingest.ingest_verbatims(request).await else {
            return; // the server is gone (killed): stop this client
        };
        let mut ledger = ledger.lock().unwrap();
        ledger.calls += 1;
        for (id, result) in ids.into_iter().zip(response.into_inner().results) {
            assert_eq!(
                result.outcome,
                proto::ItemOutcome::Created as i32,
                "{id}: {result:?}"
            );
            ledger.acknowledged.insert(id, result.id);
        }
        call += 1;
    }
}

/// The server's threads' stacks, when gdb is installed: what a stall needs to be diagnosed.
fn thread_dump(pid: u32) -> String {
    let output = std::process::Command::new("gdb")
        .args([
            "-p",
            &pid.to_string(),
            "-batch",
            "-ex",
            "thread apply all bt 30",
        ])
        .output();
    match output {
        Ok(out) => String::from_utf8_lossy(&out.stdout)
            .lines()
            .filter(|l| l.starts_with("Thread ") || l.contains(" in ") || l.contains(" at src/"))
            .take(300)
            .collect::<Vec<_>>()
            .join("\n"),
        Err(err) => format!("(no thread dump: gdb: {err})"),
    }
}

/// Sends every item sent so far again and checks the answers: each acknowledged item is a
/// duplicate of the verbatim it was acknowledged as; each unacknowledged one is a duplicate or
/// created now. Returns how many distinct items now exist.
async fn resend_everything(process: &ServeProcess, ledger: &Ledger) -> usize {
    let mut ingest = IngestServiceClient::new(connect(process.addr).await);
    let mut seen: HashMap<&str, String> = HashMap::new();
    for ids in ledger.sent.chunks(500) {
        let items = ids
            .iter()
            .map(|id| {
                let n: usize = id
                    .rsplit('-')
                    .take(3)
                    .map(|p| p.parse::<usize>().unwrap())
                    .sum();
                bench_item(id, n)
            })
            .collect();
        let results = ingest
            .ingest_verbatims(IngestVerbatimsRequest {
                items,
                ..Default::default()
            })
            .await
            .unwrap()
            .into_inner()
            .results;
        for (id, result) in ids.iter().zip(results) {
            if let Some(acknowledged) = ledger.acknowledged.get(id) {
                assert_eq!(
                    (result.outcome, &result.id),
                    (proto::ItemOutcome::Duplicate as i32, acknowledged),
                    "acknowledged item {id} lost or changed"
                );
            } else {
                assert!(
                    [
                        proto::ItemOutcome::Duplicate as i32,
                        proto::ItemOutcome::Created as i32
                    ]
                    .contains(&result.outcome),
                    "{id}: {result:?}"
                );
            }
            seen.insert(id, result.id);
        }
    }
    seen.len()
}

/// Every verbatim in the default workspace, counted by search once the index has them all.
async fn stored_count(process: &ServeProcess) -> u64 {
    let channel = connect(process.addr).await;
    IngestServiceClient::new(channel.clone())
        .ingest_verbatims(IngestVerbatimsRequest {
            workspace: "barrier".into(),
            items: vec![common::item("index barrier")],
            wait_for_index: true,
        })
        .await
        .unwrap();
    VerbatimServiceClient::new(channel)
        .search_verbatims(proto::SearchVerbatimsRequest {
            page_size: 1,
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner()
        .total_size
}

fn soak_seconds() -> u64 {
    std::env::var("TIDELINE_SOAK_SECONDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(60)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn thirty_two_ingest_clients_never_stall() {
    let dir = tempfile::tempdir().unwrap();
    let mut process = spawn_serve(dir.path(), &[]);
    let ledger = Arc::new(Mutex::new(Ledger::default()));
    let until = Instant::now() + Duration::from_secs(soak_seconds());
    drive(&process, "soak", until, ledger.clone()).await;
    let ledger = std::mem::take(&mut *ledger.lock().unwrap());
    assert!(ledger.calls > 0);
    assert_eq!(ledger.acknowledged.len(), ledger.sent.len());
    assert_eq!(
        stored_count(&process).await,
        ledger.acknowledged.len() as u64
    );
    eprintln!(
        "soak: {} calls, {} verbatims acknowledged in {} s",
        ledger.calls,
        ledger.acknowledged.len(),
        soak_seconds()
    );
    process.child.kill().unwrap();
    process.child.wait().unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn kill_minus_nine_during_concurrent_ingest_loses_and_duplicates_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let ledger = Arc::new(Mutex::new(Ledger::default()));
    for round in 0..5 {
        let mut process = spawn_serve(dir.path(), &[]);
        let load = Duration::from_millis(1_000 + rand::random::<u64>() % 2_000);
        let killer = {
            let pid = process.child.id();
            tokio::spawn(async move {
                tokio::time::sleep(load).await;
                std::process::Command::new("kill")
                    .args(["-KILL", &pid.to_string()])
                    .status()
                    .unwrap();
            })
        };
        drive(
            &process,
            &format!("r{round}"),
            Instant::now() + load + Duration::from_secs(5),
            ledger.clone(),
        )
        .await;
        killer.await.unwrap();
        process.child.wait().unwrap();
    }
    let mut process = spawn_serve(dir.path(), &[]);
    let ledger = std::mem::take(&mut *ledger.lock().unwrap());
    assert!(!ledger.acknowledged.is_empty());
    let distinct = resend_everything(&process, &ledger).await;
    assert_eq!(distinct, ledger.sent.len());
    // Every item sent exists exactly once: no duplicates from the crashes or the resends.
    assert_eq!(stored_count(&process).await, distinct as u64);
    eprintln!(
        "kill -9 x5: {} acknowledged, {} sent, 0 lost, 0 duplicated",
        ledger.acknowledged.len(),
        ledger.sent.len()
    );
    process.child.kill().unwrap();
    process.child.wait().unwrap();
}
