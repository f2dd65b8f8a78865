//! `tideline demo`: the whole service on the project's own corpus in one command. It starts a
//! server on a local data directory, imports `corpora/saas_feedback.csv` (embedded in the binary;
//! skipped when already imported) with its timeline moved so that it ends today, refreshes themes
//! (which evaluates the alert rules), prints the theme spotlight, the emerging alerts and the
//! sentiment summary, and keeps serving until Ctrl-C. Everything goes through the gRPC API.

use std::path::{Path, PathBuf};
use std::time::Duration;

use super::import::{
    ImportOptions, Input, Mapping, MetadataColumns, ProgressStyle, ReadOptions, Score, Summary,
};
use super::report;
use super::{authorized, ClientError, Connection};
use crate::config::{Config, Secret};
use crate::proto;
use crate::proto::alert_service_client::AlertServiceClient;
use crate::proto::ingest_service_client::IngestServiceClient;
use crate::proto::key_service_client::KeyServiceClient;
use crate::proto::theme_service_client::ThemeServiceClient;
use crate::proto::verbatim_service_client::VerbatimServiceClient;
use crate::server::RunningServer;
use crate::time::{format_rfc3339, Micros, DAY};

/// The demo corpus, as committed in `corpora/` (see its README for how it was generated).
pub const CORPUS: &[u8] = include_bytes!("../../corpora/saas_feedback.csv");
/// The workspace the demo uses.
pub const WORKSPACE: &str = "demo";
/// The corpus column holding each row's time.
const TIME_COLUMN: &str = "created_at";

/// Demo errors.
#[derive(Debug, thiserror::Error)]
pub enum DemoError {
    #[error(transparent)]
    Server(#[from] crate::Error),
    #[error(transparent)]
    Client(#[from] ClientError),
    #[error("cannot prepare the demo corpus in {path}: {message}")]
    Corpus { path: PathBuf, message: String },
}

/// What the demo found.
#[derive(Debug, Clone)]
pub struct DemoReport {
    /// The import, when this run imported the corpus.
    pub imported: Option<Summary>,
    pub refresh: proto::RefreshThemesResponse,
    pub themes: Vec<proto::Theme>,
    /// Open alerts, newest first.
    pub alerts: Vec<proto::Alert>,
    pub overall: proto::SearchVerbatimsResponse,
    pub by_source: Vec<(String, proto::SearchVerbatimsResponse)>,
}

/// How the corpus columns map to verbatim fields.
pub fn corpus_mapping() -> Mapping {
    Mapping {
        text: "text".into(),
        external_id: Some("id".into()),
        created_at: Some(TIME_COLUMN.into()),
        source_column: Some("source".into()),
        customer_id: Some("customer_id".into()),
        account_id: Some("account_id".into()),
        language: Some("language".into()),
        scores: vec![
            (Score::Nps, "nps".into()),
            (Score::Csat, "csat".into()),
            (Score::Ces, "ces".into()),
        ],
        metadata: MetadataColumns::Listed(vec![
            "plan".into(),
            "platform".into(),
            "app_version".into(),
            "topic".into(),
            "scenario".into(),
        ]),
        ..Default::default()
    }
}

/// Writes the corpus to `dir` with every `created_at` moved by whole days so that its newest row
/// falls within the day before `now` (weekdays and hours keep their pattern). Returns the path
/// and the shift.
pub fn write_shifted_corpus(dir: &Path, now: Micros) -> Result<(PathBuf, Micros), DemoError> {
    let path = dir.join("saas_feedback.csv");
    let fail = |message: String| DemoError::Corpus {
        path: path.clone(),
        message,
    };
    let mut reader = csv::Reader::from_reader(CORPUS);
    let header = reader.headers().map_err(|e| fail(e.to_string()))?.clone();
    let time_at = header
        .iter()
        .position(|h| h == TIME_COLUMN)
        .ok_or_else(|| fail(format!("no {TIME_COLUMN} column")))?;
    let records: Vec<csv::StringRecord> = reader
        .records()
        .collect::<Result<_, _>>()
        .map_err(|e| fail(e.to_string()))?;
    let time = |r: &csv::StringRecord| super::import::parse_timestamp(&r[time_at]);
    let newest = records
        .iter()
        .filter_map(time)
        .max()
        .ok_or_else(|| fail("no parseable created_at".into()))?;
    let shift = (now - newest).div_euclid(DAY) * DAY;
    std::fs::create_dir_all(dir).map_err(|e| fail(e.to_string()))?;
    let mut writer = csv::Writer::from_path(&path).map_err(|e| fail(e.to_string()))?;
    writer
        .write_record(&header)
        .map_err(|e| fail(e.to_string()))?;
    for record in &records {
        let moved = time(record).map(|t| format_rfc3339(t + shift));
        let row = record
            .iter()
            .enumerate()
            .map(|(i, cell)| match (&moved, i) {
                (Some(moved), i) if i == time_at => moved.as_str(),
                _ => cell,
            });
        writer.write_record(row).map_err(|e| fail(e.to_string()))?;
    }
    writer.flush().map_err(|e| fail(e.to_string()))?;
    Ok((path, shift))
}

fn corpus_rows() -> u64 {
    csv::Reader::from_reader(CORPUS).records().count() as u64
}

/// Imports the corpus into [`WORKSPACE`] unless it is there, refreshes themes (the refresh
/// evaluates the alert rules), and gathers what the demo prints. `scratch` holds the shifted
/// copy of the corpus.
pub async fn prepare(
    channel: Connection,
    scratch: &Path,
    now: Micros,
    progress: ProgressStyle,
) -> Result<DemoReport, DemoError> {
    let mut verbatims = VerbatimServiceClient::new(channel.clone());
    let count = |filter: Option<proto::SearchFilter>| proto::SearchVerbatimsRequest {
        workspace: WORKSPACE.into(),
        filter,
        page_size: 1,
        ..Default::default()
    };
    let stored = verbatims
        .search_verbatims(count(None))
        .await
        .map_err(ClientError::from)?
        .into_inner()
        .total_size;
    let imported = if stored < corpus_rows() {
        let (path, _) = write_shifted_corpus(scratch, now)?;
        let options = ImportOptions {
            inputs: vec![Input::from_arg(&path)],
            read: ReadOptions::default(),
            mapping: corpus_mapping(),
            batch_size: 500,
            strict: false,
            errors: None,
            progress,
        };
        let client = IngestServiceClient::new(channel.clone());
        Some(
            super::import::run(&options, client, WORKSPACE)
                .await
                .map_err(ClientError::from)?,
        )
    } else {
        None
    };

    let mut themes = ThemeServiceClient::new(channel.clone());
    let refresh = themes
        .refresh_themes(proto::RefreshThemesRequest {
            workspace: WORKSPACE.into(),
            k: 0,
        })
        .await
        .map_err(ClientError::from)?
        .into_inner();
    let listed = themes
        .list_themes(proto::ListThemesRequest {
            workspace: WORKSPACE.into(),
            page_size: 200,
            ..Default::default()
        })
        .await
        .map_err(ClientError::from)?
        .into_inner()
        .themes;
    let alerts = AlertServiceClient::new(channel.clone())
        .list_alerts(proto::ListAlertsRequest {
            workspace: WORKSPACE.into(),
            statuses: vec![proto::AlertStatus::Open as i32],
            page_size: 50,
            ..Default::default()
        })
        .await
        .map_err(ClientError::from)?
        .into_inner()
        .alerts;
    let overall = verbatims
        .search_verbatims(count(None))
        .await
        .map_err(ClientError::from)?
        .into_inner();
    let mut by_source = Vec::new();
    for (name, source) in [
        ("survey", proto::Source::Survey),
        ("ticket", proto::Source::Ticket),
        ("review", proto::Source::Review),
        ("chat", proto::Source::Chat),
    ] {
        let filter = proto::SearchFilter {
            sources: vec![source as i32],
            ..Default::default()
        };
        let response = verbatims
            .search_verbatims(count(Some(filter)))
            .await
            .map_err(ClientError::from)?
            .into_inner();
        by_source.push((name.to_string(), response));
    }
    Ok(DemoReport {
        imported,
        refresh,
        themes: listed,
        alerts,
        overall,
        by_source,
    })
}

/// The demo's printout: what was loaded, the spotlight, the alerts and the sentiment summary.
pub fn render(report: &DemoReport) -> String {
    let mut out = String::new();
    match &report.imported {
        Some(s) => out.push_str(&format!(
            "imported the demo corpus: {} rows, {} new, {} duplicates, {} rejected in {:.1} s ({:.0} rows/s)\n",
            s.read, s.imported, s.duplicates, s.rejected, s.elapsed_seconds, s.rows_per_second
        )),
        None => out.push_str("the demo corpus is already imported\n"),
    }
    let r = &report.refresh;
    out.push_str(&format!(
        "themes: {} verbatims into {} themes, {:.0}% covered, in {:.1} s\n\n",
        r.verbatims,
        r.themes,
        r.coverage * 100.0,
        r.elapsed_seconds
    ));
    out.push_str("== theme spotlight ==\n");
    out.push_str(&report::spotlight(&report.themes, 12));
    out.push_str("\n== emerging alerts ==\n");
    out.push_str(&report::alerts_table(&report.alerts));
    for alert in report.alerts.iter().take(2) {
        out.push('\n');
        out.push_str(&report::alert_detail(alert));
    }
    out.push_str("\n== sentiment ==\n");
    out.push_str(&report::sentiment_summary(
        &report.overall,
        &report.by_source,
        &report.themes,
    ));
    out
}

/// How to keep exploring, for a server at `addr`, with the demo's key (none under `--no-auth`).
pub fn next_steps(addr: std::net::SocketAddr, key: Option<&str>) -> String {
    let (api_key, bearer, key_line) = match key {
        Some(key) => (
            format!(" --api-key {key}"),
            format!(" -H 'authorization: Bearer {key}'"),
            format!(
                "the demo's api key (workspace \"{WORKSPACE}\"; scopes {}), shown once: {key}\n",
                DEMO_SCOPES.map(scope_name).join(", ")
            ),
        ),
        None => (String::new(), String::new(), String::new()),
    };
    let server = format!("--server http://{addr} --workspace {WORKSPACE}{api_key}");
    format!(
        "\ntideline is serving on {addr} (workspace \"{WORKSPACE}\"); Ctrl-C stops it.\n\
         {key_line}\
         try:\n\
         \x20 tideline alerts {server}\n\
         \x20 tideline themes {server}\n\
         \x20 tideline theme TH-0001 {server}\n\
         \x20 tideline drivers --metric nps {server}\n\
         \x20 tideline digest {server}\n\
         \x20 tideline owners {server}\n\
         \x20 tideline search 'app crash' {server}\n\
         \x20 tideline tag 'the app crashes every time I open a report' {server}\n\
         \x20 grpcurl -plaintext{bearer} -H 'x-tideline-workspace: {WORKSPACE}' -d '{{}}' {addr} tideline.v1.AlertService/ListAlerts\n\
         \x20 grpcurl -plaintext {addr} list\n"
    )
}

/// The scopes of the key the demo creates: what its next steps need (importing, reading, and
/// refreshing themes).
const DEMO_SCOPES: [proto::Scope; 3] = [
    proto::Scope::Ingest,
    proto::Scope::Read,
    proto::Scope::Curate,
];

/// `SCOPE_READ` → `read`, as `tideline keys create --scopes` takes it.
fn scope_name(scope: proto::Scope) -> String {
    scope
        .as_str_name()
        .trim_start_matches("SCOPE_")
        .to_lowercase()
}

/// A running demo server and a connection to it carrying the demo's key.
pub struct DemoServer {
    pub server: RunningServer,
    pub connection: Connection,
    /// The key the demo created (workspace [`WORKSPACE`], [`DEMO_SCOPES`]); none under `--no-auth`.
    pub key: Option<String>,
}

/// Starts the server (on any free port when the configured one is taken) and, unless `--no-auth`,
/// creates the demo's key with the bootstrap key — the configured one, or one made up for this
/// run when none is configured.
pub async fn start(mut config: Config) -> Result<DemoServer, DemoError> {
    let auth = config.auth.enabled();
    if auth && config.auth.bootstrap_key.is_none() {
        config.auth.bootstrap_key = Some(Secret(made_up_bootstrap_key()));
    }
    let bootstrap = config.auth.bootstrap_key.clone().filter(|_| auth);
    let server = match crate::server::start(config.clone()).await {
        Err(crate::Error::Io(e)) if e.kind() == std::io::ErrorKind::AddrInUse => {
            eprintln!(
                "{} or {} is taken; using free ports",
                config.listen, config.http_listen
            );
            config.listen.set_port(0);
            config.http_listen.set_port(0);
            crate::server::start(config).await?
        }
        other => other?,
    };
    let addr = server.local_addr();
    let channel = tonic::transport::Channel::from_shared(format!("http://{addr}"))
        .map_err(|_| ClientError::ServerAddress(addr.to_string()))?
        .connect()
        .await
        .map_err(|source| ClientError::Connect {
            server: addr.to_string(),
            source,
        })?;
    let key = match bootstrap {
        Some(bootstrap) => {
            let admin = authorized(channel.clone(), Some(&bootstrap.0))?;
            let created = KeyServiceClient::new(admin)
                .create_key(proto::CreateKeyRequest {
                    workspace: WORKSPACE.into(),
                    scopes: DEMO_SCOPES.map(|s| s as i32).to_vec(),
                    description: "tideline demo".into(),
                })
                .await
                .map_err(ClientError::from)?
                .into_inner();
            Some(created.secret)
        }
        None => None,
    };
    Ok(DemoServer {
        server,
        connection: authorized(channel, key.as_deref())?,
        key,
    })
}

/// A bootstrap key for one demo run: 256 random bits, never stored or shown.
fn made_up_bootstrap_key() -> String {
    use base64::Engine as _;
    let bits: [u8; 32] = rand::random();
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bits)
}

/// Runs the demo: serve, prepare, print, and keep serving until SIGINT/SIGTERM.
pub async fn run(config: Config) -> Result<(), DemoError> {
    let scratch = config.data_dir.join("corpus");
    let demo = start(config).await?;
    let addr = demo.server.local_addr();
    let progress = ProgressStyle::for_stderr(false, Duration::from_secs(2));
    let report = prepare(demo.connection, &scratch, crate::time::now(), progress).await?;
    print!("{}", render(&report));
    print!("{}", next_steps(addr, demo.key.as_deref()));
    crate::server::shutdown_signal().await;
    demo.server.shutdown().await?;
    Ok(())
}
