//! Human-facing client commands over gRPC: import a CSV file, refresh and list themes, search.
//! Tables for people, `--json` for scripts. Nothing here touches storage directly.

use std::path::PathBuf;
use std::time::Instant;

use tonic::transport::Channel;

use crate::import::{read_csv, stream_items, CsvMapping, ImportError};
use crate::proto;
use crate::proto::ingest_service_client::IngestServiceClient;
use crate::proto::theme_service_client::ThemeServiceClient;
use crate::proto::verbatim_service_client::VerbatimServiceClient;

/// Client errors.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    #[error("cannot connect to {server}: {source}")]
    Connect {
        server: String,
        source: tonic::transport::Error,
    },
    #[error("server answered: {0}")]
    Status(#[from] tonic::Status),
    #[error(transparent)]
    Import(#[from] ImportError),
    #[error("invalid source {0:?} (survey, ticket, review, chat, social, email, other)")]
    Source(String),
}

/// Where the server is.
#[derive(Debug, Clone, clap::Args)]
pub struct ServerArgs {
    /// gRPC address of a running tideline server.
    #[arg(
        long,
        env = "TIDELINE_SERVER",
        default_value = "http://127.0.0.1:50051"
    )]
    pub server: String,
    /// Workspace to address.
    #[arg(long, env = "TIDELINE_WORKSPACE", default_value = "default")]
    pub workspace: String,
    /// Print JSON instead of tables.
    #[arg(long)]
    pub json: bool,
}

impl ServerArgs {
    async fn channel(&self) -> Result<Channel, ClientError> {
        Channel::from_shared(self.server.clone())
            .map_err(|_| ClientError::Source(self.server.clone()))?
            .connect()
            .await
            .map_err(|source| ClientError::Connect {
                server: self.server.clone(),
                source,
            })
    }
}

/// `tideline import`: CSV columns to verbatim fields.
#[derive(Debug, Clone, clap::Args)]
pub struct ImportArgs {
    pub file: PathBuf,
    #[command(flatten)]
    pub server: ServerArgs,
    #[arg(long, default_value = "text")]
    pub text_col: String,
    /// Column holding the caller's id (idempotency key).
    #[arg(long)]
    pub id_col: Option<String>,
    /// Column holding when the customer said it.
    #[arg(long)]
    pub time_col: Option<String>,
    /// Source of every row: survey, ticket, review, chat, social, email, other.
    #[arg(long, default_value = "other")]
    pub source: String,
    /// Columns copied into metadata, comma-separated.
    #[arg(long, value_delimiter = ',')]
    pub metadata_cols: Vec<String>,
    /// Items per stream message.
    #[arg(long, default_value_t = 500)]
    pub batch_size: usize,
}

/// Imports a CSV file and prints the summary. Returns whether every row was accepted.
pub async fn import(args: &ImportArgs) -> Result<bool, ClientError> {
    let source = match args.source.as_str() {
        "survey" => proto::Source::Survey,
        "ticket" => proto::Source::Ticket,
        "review" => proto::Source::Review,
        "chat" => proto::Source::Chat,
        "social" => proto::Source::Social,
        "email" => proto::Source::Email,
        "other" => proto::Source::Other,
        other => return Err(ClientError::Source(other.to_string())),
    };
    let mapping = CsvMapping {
        text: args.text_col.clone(),
        external_id: args.id_col.clone(),
        created_at: args.time_col.clone(),
        source,
        metadata: args.metadata_cols.clone(),
    };
    let started = Instant::now();
    let rows = read_csv(&args.file, &mapping)?;
    let read = rows.items.len() + rows.errors.len();
    for error in &rows.errors {
        eprintln!("line {}: {}: {}", error.line, error.column, error.reason);
    }
    let mut client = IngestServiceClient::new(args.server.channel().await?);
    let summary = stream_items(
        &mut client,
        &args.server.workspace,
        rows.items,
        args.batch_size,
    )
    .await?;
    let elapsed = started.elapsed().as_secs_f64();
    for failure in &summary.failures {
        eprintln!("item {}: {}", failure.index, failure.message);
    }
    let rejected = rows.errors.len() as u64 + summary.rejected;
    println!(
        "read {read}, imported {}, duplicates {}, rejected {rejected}, elapsed {elapsed:.2} s, {:.0} rows/s",
        summary.created,
        summary.duplicates,
        read as f64 / elapsed.max(1e-9)
    );
    Ok(rejected == 0)
}

/// `tideline themes`: optionally refresh, then list the top themes.
pub async fn themes(
    server: &ServerArgs,
    refresh: bool,
    k: Option<u32>,
    limit: usize,
) -> Result<(), ClientError> {
    let mut client = ThemeServiceClient::new(server.channel().await?);
    if refresh {
        let s = client
            .refresh_themes(proto::RefreshThemesRequest {
                workspace: server.workspace.clone(),
                k: k.unwrap_or(0),
            })
            .await?
            .into_inner();
        eprintln!(
            "refreshed: {} verbatims, {} themes ({} new, {} continued, {} retired), coverage {:.1}%, {:.2} s",
            s.verbatims, s.themes, s.created, s.continued, s.retired, s.coverage * 100.0, s.elapsed_seconds
        );
    }
    let list = client
        .list_themes(proto::ListThemesRequest {
            workspace: server.workspace.clone(),
            page_size: limit as i32,
            ..Default::default()
        })
        .await?
        .into_inner();
    if server.json {
        let rows: Vec<serde_json::Value> = list
            .themes
            .iter()
            .map(|t| serde_json::json!({"id": t.id, "label": t.label, "volume": t.volume, "share": t.share, "average_sentiment": t.average_sentiment, "owner": t.owner}))
            .collect();
        println!("{}", serde_json::Value::Array(rows));
        return Ok(());
    }
    println!(
        "{:<8} {:<40} {:>7} {:>6} {:>9}  owner",
        "theme", "label", "volume", "share", "sentiment"
    );
    for t in &list.themes {
        println!(
            "{:<8} {:<40} {:>7} {:>5.1}% {:>9.2}  {}",
            t.id,
            truncate(&t.label, 40),
            t.volume,
            t.share * 100.0,
            t.average_sentiment,
            t.owner
        );
    }
    println!(
        "{} themes; {:.1}% of {} verbatims are in a theme",
        list.total_size,
        list.coverage * 100.0,
        list.verbatims_in_scope
    );
    Ok(())
}

/// `tideline search`: full-text search with a results table.
pub async fn search(server: &ServerArgs, query: &str, limit: i32) -> Result<(), ClientError> {
    let mut client = VerbatimServiceClient::new(server.channel().await?);
    let response = client
        .search_verbatims(proto::SearchVerbatimsRequest {
            workspace: server.workspace.clone(),
            query: query.to_string(),
            page_size: limit,
            ..Default::default()
        })
        .await?
        .into_inner();
    if server.json {
        let rows: Vec<serde_json::Value> = response
            .hits
            .iter()
            .filter_map(|h| h.verbatim.as_ref().map(|v| (h, v)))
            .map(|(h, v)| serde_json::json!({"id": v.id, "score": h.score, "text": v.text, "theme": v.theme_id}))
            .collect();
        println!("{}", serde_json::Value::Array(rows));
        return Ok(());
    }
    for hit in &response.hits {
        if let Some(v) = &hit.verbatim {
            println!(
                "{:<16} {:>6.2}  {}",
                v.id,
                hit.score,
                truncate(&v.text.replace('\n', " "), 100)
            );
        }
    }
    println!("{} matching", response.total_size);
    Ok(())
}

fn truncate(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        text.to_string()
    } else {
        let mut cut: String = text.chars().take(max - 1).collect();
        cut.push('…');
        cut
    }
}
