//! Shared test harness: a real server on an ephemeral loopback port, with real sled and tantivy
//! in a temporary directory, and real gRPC clients.
#![allow(dead_code)]

pub mod raw;
pub mod receiver;
pub mod synthetic;

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

use tideline::client::{authorized, Connection};
use tideline::config::Config;
use tideline::proto::ingest_service_client::IngestServiceClient;
use tideline::proto::verbatim_service_client::VerbatimServiceClient;
use tideline::proto::{self, NewVerbatim};
use tideline::server::RunningServer;
use tonic::transport::Channel;

pub struct TestServer {
    pub server: RunningServer,
    pub ingest: IngestServiceClient<Connection>,
    pub verbatims: VerbatimServiceClient<Connection>,
    /// A connection carrying the bootstrap admin key when the server needs keys.
    pub channel: Connection,
}

/// A config for tests: ephemeral port, the given data dir, fast index commits.
pub fn test_config(data_dir: &Path) -> Config {
    let mut config = Config {
        listen: "127.0.0.1:0".parse().unwrap(),
        http_listen: "127.0.0.1:0".parse().unwrap(),
        data_dir: data_dir.to_path_buf(),
        shutdown_grace_secs: 5,
        ..Default::default()
    };
    config.index.commit_interval_ms = 50;
    config.themes.refresh_interval_secs = 0;
    config.alerts.evaluate_interval_secs = 0;
    // Digests and SLA checks run on a schedule only in the tests about them.
    config.webhooks.digest_check_interval_secs = 0;
    config.themes.sla_check_interval_secs = 0;
    config.index.writer_memory_mb = 20;
    config.themes.models_dir = Some(models_dir());
    // Most tests are about something else than keys; tests/access.rs and the client tests
    // serve with keys (`keyed_config`).
    config.auth.disabled = true;
    config
}

/// The bootstrap admin key of [`keyed_config`] servers.
pub const ADMIN_KEY: &str = "test-bootstrap-admin-key-0123456789";

/// [`test_config`] with API keys required and [`ADMIN_KEY`] as the bootstrap key.
pub fn keyed_config(data_dir: &Path) -> Config {
    let mut config = test_config(data_dir);
    config.auth.disabled = false;
    config.auth.bootstrap_key = Some(tideline::config::Secret(ADMIN_KEY.into()));
    config
}

impl TestServer {
    pub async fn start(data_dir: &Path) -> TestServer {
        TestServer::start_with(test_config(data_dir)).await
    }

    pub async fn start_with(config: Config) -> TestServer {
        let admin = config
            .auth
            .enabled()
            .then(|| config.auth.bootstrap_key.clone())
            .flatten();
        let server = tideline::server::start(config)
            .await
            .expect("server starts");
        let channel = authorized(
            connect(server.local_addr()).await,
            admin.as_ref().map(|k| k.0.as_str()),
        )
        .unwrap();
        TestServer {
            ingest: IngestServiceClient::new(channel.clone()).max_decoding_message_size(64 << 20),
            verbatims: VerbatimServiceClient::new(channel.clone())
                .max_decoding_message_size(64 << 20),
            channel,
            server,
        }
    }

    pub async fn stop(self) {
        self.server.shutdown().await.expect("clean shutdown");
    }

    /// Ingests texts as tickets, waiting until they are searchable; returns their ids.
    pub async fn ingest_texts(&mut self, texts: &[&str]) -> Vec<String> {
        let items = texts.iter().map(|t| item(t)).collect();
        self.ingest_items(items).await
    }

    pub async fn ingest_items(&mut self, items: Vec<NewVerbatim>) -> Vec<String> {
        let response = self
            .ingest
            .ingest_verbatims(proto::IngestVerbatimsRequest {
                workspace: String::new(),
                items,
                wait_for_index: true,
            })
            .await
            .expect("ingest succeeds")
            .into_inner();
        response
            .results
            .into_iter()
            .map(|r| {
                assert_ne!(r.outcome, proto::ItemOutcome::Rejected as i32, "{r:?}");
                r.id
            })
            .collect()
    }

    /// Every verbatim matching `filter` (all of the default workspace's without one), read
    /// through `SearchVerbatims` pages.
    pub async fn all_verbatims(&self, filter: Option<proto::SearchFilter>) -> Vec<proto::Verbatim> {
        let mut verbatims = self.verbatims.clone();
        let mut all = Vec::new();
        let mut page_token = String::new();
        loop {
            let page = verbatims
                .search_verbatims(proto::SearchVerbatimsRequest {
                    filter: filter.clone(),
                    page_size: 1000,
                    page_token,
                    ..Default::default()
                })
                .await
                .expect("search succeeds")
                .into_inner();
            all.extend(page.hits.into_iter().filter_map(|hit| hit.verbatim));
            if page.next_page_token.is_empty() {
                return all;
            }
            page_token = page.next_page_token;
        }
    }

    /// How many verbatims of `workspace` match `filter`.
    pub async fn count(&self, workspace: &str, filter: proto::SearchFilter) -> u64 {
        self.verbatims
            .clone()
            .search_verbatims(proto::SearchVerbatimsRequest {
                workspace: workspace.to_string(),
                filter: Some(filter),
                page_size: 1,
                ..Default::default()
            })
            .await
            .expect("search succeeds")
            .into_inner()
            .total_size
    }

    /// Searches and returns (total, ids of the first page).
    /// `ThemeService/RefreshThemes` with automatic k in the default workspace.
    pub async fn refresh_themes(&self) -> proto::RefreshThemesResponse {
        tideline::proto::theme_service_client::ThemeServiceClient::new(self.channel.clone())
            .refresh_themes(proto::RefreshThemesRequest::default())
            .await
            .unwrap()
            .into_inner()
    }

    /// `AlertService/EvaluateAlerts` as a backtest of the default workspace: one evaluation a day
    /// from `since` to `as_of` (Unix seconds), 1-day windows against `baseline_days` days.
    pub async fn daily_backtest(
        &self,
        since: i64,
        as_of: i64,
        baseline_days: u64,
    ) -> proto::EvaluateAlertsResponse {
        const DAY: u64 = 86_400;
        let at = |seconds| Some(prost_types::Timestamp { seconds, nanos: 0 });
        tideline::proto::alert_service_client::AlertServiceClient::new(self.channel.clone())
            .evaluate_alerts(proto::EvaluateAlertsRequest {
                since: at(since),
                as_of: at(as_of),
                step_seconds: DAY,
                window_seconds: DAY,
                baseline_seconds: baseline_days * DAY,
                ..Default::default()
            })
            .await
            .unwrap()
            .into_inner()
    }

    /// `ThemeService/ListThemes` of the default workspace, up to 100 themes.
    pub async fn list_themes(&self) -> proto::ListThemesResponse {
        tideline::proto::theme_service_client::ThemeServiceClient::new(self.channel.clone())
            .list_themes(proto::ListThemesRequest {
                page_size: 100,
                ..Default::default()
            })
            .await
            .unwrap()
            .into_inner()
    }

    /// One verbatim by id.
    pub async fn verbatim(&mut self, id: &str) -> proto::Verbatim {
        self.verbatims
            .get_verbatim(proto::GetVerbatimRequest {
                id: id.to_string(),
                ..Default::default()
            })
            .await
            .unwrap()
            .into_inner()
    }

    pub async fn search(&mut self, query: &str) -> (u64, Vec<String>) {
        let response = self
            .verbatims
            .search_verbatims(proto::SearchVerbatimsRequest {
                query: query.to_string(),
                page_size: 100,
                ..Default::default()
            })
            .await
            .expect("search succeeds")
            .into_inner();
        let ids = response
            .hits
            .iter()
            .map(|h| h.verbatim.as_ref().unwrap().id.clone())
            .collect();
        (response.total_size, ids)
    }
}

/// Fails unless `status` has `code` and its message mentions `needle` (a field or a limit).
pub fn assert_status(status: &tonic::Status, code: tonic::Code, needle: &str) {
    assert_eq!(status.code(), code, "{status:?}");
    assert!(
        status.message().contains(needle),
        "{:?} should mention {needle:?}",
        status.message()
    );
}

pub async fn connect(addr: std::net::SocketAddr) -> Channel {
    Channel::from_shared(format!("http://{addr}"))
        .unwrap()
        .connect()
        .await
        .expect("connects")
}

/// A metadata filter map with one pair, or none.
pub fn metadata_pair(key: &str, value: Option<&str>) -> std::collections::HashMap<String, String> {
    value
        .map(|v| [(key.to_string(), v.to_string())].into())
        .unwrap_or_default()
}

/// A ticket with this text and nothing else.
pub fn item(text: &str) -> NewVerbatim {
    NewVerbatim {
        source: proto::Source::Ticket as i32,
        text: text.to_string(),
        ..Default::default()
    }
}

/// A timestamp `days` days after 2026-01-01T00:00:00Z.
pub fn day(days: i64) -> prost_types::Timestamp {
    prost_types::Timestamp {
        seconds: 1_767_225_600 + days * 86_400,
        nanos: 0,
    }
}

/// A shared data file beside the project, or `None` (printing why) when it is absent outside CI.
/// On CI (`CI=true`) a missing file fails the test.
pub fn shared_data(name: &str) -> Option<PathBuf> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../shared/data")
        .join(name);
    if path.exists() {
        return Some(path);
    }
    if std::env::var("CI").is_ok_and(|v| v == "true") {
        panic!(
            "{} is missing; CI needs ../shared/data beside the project",
            path.display()
        );
    }
    eprintln!("skipping: {} not found", path.display());
    None
}

/// The project's models folder (`scripts/fetch-model.sh` fills it).
pub fn models_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("models")
}

/// Whether the sentence encoder's files are there. On CI (which fetches them) their absence
/// fails the test; elsewhere it prints a skip.
pub fn embedding_model_present() -> bool {
    let path = models_dir().join("potion-base-8M/model.safetensors");
    if path.exists() {
        return true;
    }
    if std::env::var("CI").is_ok_and(|v| v == "true") {
        panic!(
            "{} is missing; .ci/run fetches it with scripts/fetch-model.sh",
            path.display()
        );
    }
    eprintln!(
        "skipping: {} not found (run scripts/fetch-model.sh)",
        path.display()
    );
    false
}

/// The rows of `../shared/data/airline_tweets.csv` as new verbatims (tweet id as external id,
/// airline and labels as metadata), or `None` when the file is absent outside CI.
pub fn airline_rows() -> Option<Vec<NewVerbatim>> {
    let path = shared_data("airline_tweets.csv")?;
    let mapping = tideline::client::import::CsvMapping {
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
    let rows = tideline::client::import::read_csv(&path, &mapping).expect("the airline file reads");
    assert!(
        rows.errors.is_empty(),
        "{:?}",
        &rows.errors[..rows.errors.len().min(5)]
    );
    Some(rows.items)
}

/// The `tideline` binary the process tests run: this build's, or the one `TIDELINE_TEST_BINARY`
/// names (to run them against a release build, or an older build to see a defect it had).
pub fn tideline_binary() -> PathBuf {
    std::env::var_os("TIDELINE_TEST_BINARY")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_BIN_EXE_tideline")))
}

/// A `tideline serve` child process, the address it announced, and its log (standard error).
#[derive(Debug)]
pub struct ServeProcess {
    pub child: Child,
    pub addr: std::net::SocketAddr,
    pub log: tempfile::NamedTempFile,
}

impl ServeProcess {
    /// The end of the server's log, for a failure message.
    pub fn log_tail(&self) -> String {
        tail(self.log.path())
    }
}

fn tail(path: &Path) -> String {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let lines: Vec<&str> = text.lines().filter(|l| !l.starts_with(' ')).collect();
    lines[lines.len().saturating_sub(15)..].join("\n")
}

impl Drop for ServeProcess {
    /// A test that fails midway must not leave its server running.
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub fn spawn_serve(data_dir: &Path, extra: &[&str]) -> ServeProcess {
    let log = tempfile::NamedTempFile::new().expect("a log file");
    let mut child = Command::new(tideline_binary())
        .arg("serve")
        .arg("--data-dir")
        .arg(data_dir)
        .args(["--listen", "127.0.0.1:0"])
        .args(["--http-listen", "127.0.0.1:0"])
        .arg("--no-auth")
        .args(extra)
        .stdout(Stdio::piped())
        .stderr(log.reopen().expect("the log file reopens"))
        .spawn()
        .expect("tideline serve starts");
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let addr = line
        .trim()
        .rsplit(' ')
        .next()
        .and_then(|a| a.parse().ok())
        .unwrap_or_else(|| {
            let _ = child.wait();
            panic!("unexpected first line {line:?}; log:\n{}", tail(log.path()))
        });
    ServeProcess { child, addr, log }
}
