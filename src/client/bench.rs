//! `tideline bench`: a load generator against a running server over gRPC, like any client. N
//! concurrent clients run a mix of batch ingest (`IngestVerbatims`), streaming ingest
//! (`StreamVerbatims`) and searches for a set time after a warm-up; it reports throughput, latency
//! percentiles per operation, stalls (no call finishing for `--stall-secs`), and — when told the
//! server's process id and data directory — the server's memory and its disk bytes per verbatim.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use hdrhistogram::Histogram;
use parking_lot::Mutex;
use serde::Serialize;

use super::{ClientError, Connection, ServerArgs};
use crate::proto;
use crate::proto::ingest_service_client::IngestServiceClient;
use crate::proto::verbatim_service_client::VerbatimServiceClient;

/// `tideline bench` arguments.
#[derive(Debug, Clone, clap::Args)]
pub struct BenchArgs {
    #[command(flatten)]
    pub server: ServerArgs,
    /// Concurrent clients.
    #[arg(long, default_value_t = 32)]
    pub clients: usize,
    /// Seconds measured, after the warm-up.
    #[arg(long, default_value_t = 60)]
    pub seconds: u64,
    /// Seconds run before measuring.
    #[arg(long, default_value_t = 5)]
    pub warmup: u64,
    /// The operations' relative weights: `ingest=N,stream=N,search=N`.
    #[arg(long, default_value = "ingest=1", value_parser = parse_mix)]
    pub mix: Mix,
    /// Verbatims per ingest call, and per stream message.
    #[arg(long, default_value_t = 20)]
    pub batch: usize,
    /// Messages per streaming call.
    #[arg(long, default_value_t = 10)]
    pub stream_messages: usize,
    /// No call finishing for this long is a stall: reported, and the run stops.
    #[arg(long, default_value_t = 10)]
    pub stall_secs: u64,
    /// The server's process id, to sample its memory (Linux `/proc`).
    #[arg(long)]
    pub server_pid: Option<u32>,
    /// The server's data directory, to measure its disk bytes per verbatim.
    #[arg(long)]
    pub data_dir: Option<PathBuf>,
}

/// Relative weights of the operations.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Mix {
    pub ingest: u32,
    pub stream: u32,
    pub search: u32,
}

fn parse_mix(text: &str) -> Result<Mix, String> {
    let mut mix = Mix {
        ingest: 0,
        stream: 0,
        search: 0,
    };
    for part in text.split(',') {
        let (name, weight) = part
            .split_once('=')
            .ok_or_else(|| format!("{part:?} is not NAME=WEIGHT"))?;
        let weight: u32 = weight
            .trim()
            .parse()
            .map_err(|_| format!("{weight:?} is not a weight"))?;
        match name.trim() {
            "ingest" => mix.ingest = weight,
            "stream" => mix.stream = weight,
            "search" => mix.search = weight,
            other => {
                return Err(format!(
                    "unknown operation {other:?} (ingest, stream, search)"
                ))
            }
        }
    }
    if mix.ingest + mix.stream + mix.search == 0 {
        return Err("every weight is 0".into());
    }
    Ok(mix)
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Operation {
    Ingest,
    Stream,
    Search,
}

impl Operation {
    const ALL: [Operation; 3] = [Operation::Ingest, Operation::Stream, Operation::Search];

    fn name(self) -> &'static str {
        match self {
            Operation::Ingest => "ingest",
            Operation::Stream => "stream",
            Operation::Search => "search",
        }
    }

    /// The operation a client's `n`th call makes, following the mix's weights.
    fn nth(mix: Mix, n: u64) -> Operation {
        let total = u64::from(mix.ingest + mix.stream + mix.search);
        let slot = n % total;
        if slot < u64::from(mix.ingest) {
            Operation::Ingest
        } else if slot < u64::from(mix.ingest + mix.stream) {
            Operation::Stream
        } else {
            Operation::Search
        }
    }
}

/// Latencies and counts of one operation.
struct Tally {
    latency_us: Histogram<u64>,
    items: u64,
    errors: u64,
}

impl Tally {
    fn new() -> Tally {
        Tally {
            latency_us: Histogram::new_with_bounds(1, 600_000_000, 3).expect("valid bounds"),
            items: 0,
            errors: 0,
        }
    }
}

/// One operation's results, as reported.
#[derive(Debug, Clone, Serialize)]
pub struct OperationReport {
    pub operation: &'static str,
    pub calls: u64,
    pub errors: u64,
    pub calls_per_second: f64,
    pub verbatims_per_second: f64,
    pub p50_ms: f64,
    pub p95_ms: f64,
    pub p99_ms: f64,
    pub max_ms: f64,
}

/// What a run found.
#[derive(Debug, Clone, Serialize)]
pub struct BenchReport {
    pub clients: usize,
    pub seconds: f64,
    pub operations: Vec<OperationReport>,
    /// Set when no call finished for `--stall-secs`: the seconds into the run it was noticed.
    pub stalled_after_seconds: Option<f64>,
    pub server_rss_mib_start: Option<f64>,
    pub server_rss_mib_peak: Option<f64>,
    pub server_rss_mib_end: Option<f64>,
    pub disk_bytes: Option<u64>,
    pub disk_bytes_per_verbatim: Option<f64>,
}

struct Shared {
    tallies: Mutex<Vec<(Operation, Tally)>>,
    finished_calls: std::sync::atomic::AtomicU64,
    /// Time measuring began (after the warm-up).
    measuring_from: Instant,
}

/// Runs the load and returns the report.
pub async fn run(args: &BenchArgs) -> Result<BenchReport, ClientError> {
    let channel = args.server.connect().await?;
    let started = Instant::now();
    let measuring_from = started + Duration::from_secs(args.warmup);
    let until = measuring_from + Duration::from_secs(args.seconds);
    let shared = Arc::new(Shared {
        tallies: Mutex::new(
            Operation::ALL
                .iter()
                .map(|&op| (op, Tally::new()))
                .collect(),
        ),
        finished_calls: Default::default(),
        measuring_from,
    });
    let rss_start = args.server_pid.and_then(|pid| rss_mib(pid, "VmRSS"));
    let run_id = format!("{:x}", rand::random::<u32>());
    let clients: Vec<_> = (0..args.clients)
        .map(|client| {
            let (channel, shared, args) = (channel.clone(), shared.clone(), args.clone());
            let prefix = format!("bench-{run_id}-{client}");
            tokio::spawn(async move { client_loop(channel, &args, &prefix, until, &shared).await })
        })
        .collect();
    // The watchdog: a run with no call finishing for `stall_secs` stops and says so.
    let stall = Duration::from_secs(args.stall_secs);
    let mut stalled_after = None;
    let (mut last_calls, mut last_progress) = (0, Instant::now());
    while clients.iter().any(|c| !c.is_finished()) {
        tokio::time::sleep(Duration::from_millis(200)).await;
        let calls = shared
            .finished_calls
            .load(std::sync::atomic::Ordering::Relaxed);
        if calls != last_calls {
            (last_calls, last_progress) = (calls, Instant::now());
        } else if last_progress.elapsed() > stall {
            stalled_after = Some(started.elapsed().as_secs_f64());
            clients.iter().for_each(|c| c.abort());
            break;
        }
    }
    let measured = until
        .min(Instant::now())
        .saturating_duration_since(measuring_from)
        .as_secs_f64()
        .max(1e-9);
    let operations = shared
        .tallies
        .lock()
        .iter()
        .filter(|(_, t)| !t.latency_us.is_empty() || t.errors > 0)
        .map(|(op, t)| {
            let ms = |q: f64| t.latency_us.value_at_quantile(q) as f64 / 1000.0;
            OperationReport {
                operation: op.name(),
                calls: t.latency_us.len(),
                errors: t.errors,
                calls_per_second: t.latency_us.len() as f64 / measured,
                verbatims_per_second: t.items as f64 / measured,
                p50_ms: ms(0.50),
                p95_ms: ms(0.95),
                p99_ms: ms(0.99),
                max_ms: t.latency_us.max() as f64 / 1000.0,
            }
        })
        .collect();
    let disk_bytes = args.data_dir.as_deref().map(directory_bytes);
    let verbatims = match disk_bytes {
        Some(_) => Some(count(&channel, &args.server.workspace).await?),
        None => None,
    };
    Ok(BenchReport {
        clients: args.clients,
        seconds: measured,
        operations,
        stalled_after_seconds: stalled_after,
        server_rss_mib_start: rss_start,
        server_rss_mib_peak: args.server_pid.and_then(|pid| rss_mib(pid, "VmHWM")),
        server_rss_mib_end: args.server_pid.and_then(|pid| rss_mib(pid, "VmRSS")),
        disk_bytes,
        disk_bytes_per_verbatim: disk_bytes
            .zip(verbatims)
            .filter(|(_, n)| *n > 0)
            .map(|(bytes, n)| bytes as f64 / n as f64),
    })
}

/// One client: calls in the mix's proportions until `until`.
async fn client_loop(
    channel: Connection,
    args: &BenchArgs,
    prefix: &str,
    until: Instant,
    shared: &Shared,
) {
    let mut ingest = IngestServiceClient::new(channel.clone());
    let mut verbatims = VerbatimServiceClient::new(channel);
    let workspace = args.server.workspace.clone();
    let mut n = 0u64;
    while Instant::now() < until {
        let operation = Operation::nth(args.mix, n);
        let started = Instant::now();
        let outcome = match operation {
            Operation::Ingest => {
                let items = (0..args.batch)
                    .map(|i| bench_item(&format!("{prefix}-{n}-{i}"), n as usize + i))
                    .collect();
                ingest
                    .ingest_verbatims(proto::IngestVerbatimsRequest {
                        workspace: workspace.clone(),
                        items,
                        wait_for_index: false,
                    })
                    .await
                    .map(|_| args.batch as u64)
            }
            Operation::Stream => {
                let messages: Vec<_> = (0..args.stream_messages)
                    .map(|m| proto::StreamVerbatimsRequest {
                        workspace: workspace.clone(),
                        items: (0..args.batch)
                            .map(|i| bench_item(&format!("{prefix}-{n}-{m}-{i}"), n as usize + i))
                            .collect(),
                    })
                    .collect();
                ingest
                    .stream_verbatims(tokio_stream::iter(messages))
                    .await
                    .map(|r| r.into_inner().created)
            }
            Operation::Search => verbatims
                .search_verbatims(proto::SearchVerbatimsRequest {
                    workspace: workspace.clone(),
                    query: SEARCHES[n as usize % SEARCHES.len()].into(),
                    page_size: 20,
                    ..Default::default()
                })
                .await
                .map(|_| 0),
        };
        let elapsed = started.elapsed();
        shared
            .finished_calls
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        if started >= shared.measuring_from {
            let mut tallies = shared.tallies.lock();
            if let Some((_, tally)) = tallies.iter_mut().find(|(op, _)| *op == operation) {
                match outcome {
                    Ok(items) => {
                        tally.items += items;
                        let _ = tally.latency_us.record(elapsed.as_micros().max(1) as u64);
                    }
                    Err(_) => tally.errors += 1,
                }
            }
        }
        n += 1;
    }
}

const PHRASES: [&str; 8] = [
    "the app crashed when I exported my report",
    "I was charged twice this month and support never answered",
    "love the new dashboard, much faster",
    "password reset email never arrives",
    "sync between devices takes hours",
    "great onboarding call, thank you",
    "the invoice shows the wrong plan",
    "search returns nothing for last week's tickets",
];

const SEARCHES: [&str; 4] = [
    "crashed",
    "invoice AND plan",
    "password OR reset",
    "\"new dashboard\"",
];

/// The `n`th load item: a short ticket (one of eight phrases, with its external id so every text
/// differs) from one of 97 customers.
pub fn bench_item(external_id: &str, n: usize) -> proto::NewVerbatim {
    proto::NewVerbatim {
        source: proto::Source::Ticket as i32,
        external_id: external_id.to_string(),
        text: format!("{} ({external_id})", PHRASES[n % PHRASES.len()]),
        customer_id: format!("c{}", n % 97),
        ..Default::default()
    }
}

/// Verbatims in the workspace, as search counts them.
async fn count(channel: &Connection, workspace: &str) -> Result<u64, ClientError> {
    Ok(VerbatimServiceClient::new(channel.clone())
        .search_verbatims(proto::SearchVerbatimsRequest {
            workspace: workspace.to_string(),
            page_size: 1,
            ..Default::default()
        })
        .await?
        .into_inner()
        .total_size)
}

/// A line of `/proc/PID/status` in MiB (`VmRSS`, `VmHWM`).
fn rss_mib(pid: u32, field: &str) -> Option<f64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|l| l.starts_with(field))?;
    let kib: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib / 1024.0)
}

/// Bytes of every file under `dir`.
fn directory_bytes(dir: &std::path::Path) -> u64 {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return 0;
    };
    entries
        .flatten()
        .map(|e| match e.metadata() {
            Ok(m) if m.is_dir() => directory_bytes(&e.path()),
            Ok(m) => m.len(),
            Err(_) => 0,
        })
        .sum()
}

/// The report as a table.
pub fn render(report: &BenchReport) -> String {
    use std::fmt::Write;
    let mut out = format!(
        "{} clients, {:.1} s measured\noperation   calls  errors   calls/s  verbatims/s   p50 ms   p95 ms   p99 ms   max ms\n",
        report.clients, report.seconds
    );
    for op in &report.operations {
        let _ = writeln!(
            out,
            "{:<9} {:>7} {:>7} {:>9.1} {:>12.0} {:>8.1} {:>8.1} {:>8.1} {:>8.1}",
            op.operation,
            op.calls,
            op.errors,
            op.calls_per_second,
            op.verbatims_per_second,
            op.p50_ms,
            op.p95_ms,
            op.p99_ms,
            op.max_ms
        );
    }
    if let Some(at) = report.stalled_after_seconds {
        let _ = writeln!(
            out,
            "STALLED: no call finished for the stall limit ({at:.1} s into the run)"
        );
    }
    if let (Some(start), Some(peak), Some(end)) = (
        report.server_rss_mib_start,
        report.server_rss_mib_peak,
        report.server_rss_mib_end,
    ) {
        let _ = writeln!(
            out,
            "server RSS: start {start:.0} MiB, peak {peak:.0} MiB, end {end:.0} MiB"
        );
    }
    if let (Some(bytes), Some(per)) = (report.disk_bytes, report.disk_bytes_per_verbatim) {
        let _ = writeln!(out, "disk: {bytes} bytes, {per:.0} bytes per verbatim");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_mix_parses_and_spreads_calls_by_weight() {
        let mix = parse_mix("ingest=2,search=1").unwrap();
        let ops: Vec<_> = (0..6).map(|n| Operation::nth(mix, n)).collect();
        assert_eq!(
            ops,
            [
                Operation::Ingest,
                Operation::Ingest,
                Operation::Search,
                Operation::Ingest,
                Operation::Ingest,
                Operation::Search
            ]
        );
        assert!(parse_mix("ingest=0").is_err());
        assert!(parse_mix("delete=1").is_err());
    }
}
