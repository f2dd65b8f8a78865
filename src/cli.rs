//! Human-facing client commands over gRPC: import a CSV file, refresh and list themes, search.
//! Tables for people, `--json` for scripts. Nothing here touches storage directly.

pub mod report;

use std::path::PathBuf;
use std::time::Instant;

use tonic::transport::Channel;

use crate::import::{read_csv, stream_items, CsvMapping, ImportError};
use crate::proto;
use crate::proto::alert_service_client::AlertServiceClient;
use crate::proto::ingest_service_client::IngestServiceClient;
use crate::proto::taxonomy_service_client::TaxonomyServiceClient;
use crate::proto::theme_service_client::ThemeServiceClient;
use crate::proto::verbatim_service_client::VerbatimServiceClient;
use report::truncate;

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

/// `tideline theme ID`: one theme with its quotes and daily trend.
pub async fn theme(server: &ServerArgs, id: &str) -> Result<(), ClientError> {
    let mut client = ThemeServiceClient::new(server.channel().await?);
    let theme = client
        .get_theme(proto::GetThemeRequest {
            workspace: server.workspace.clone(),
            id: id.to_string(),
        })
        .await?
        .into_inner();
    let trend = client
        .get_theme_trend(proto::GetThemeTrendRequest {
            workspace: server.workspace.clone(),
            id: id.to_string(),
            granularity: proto::Granularity::Day as i32,
        })
        .await?
        .into_inner();
    if server.json {
        let days: Vec<serde_json::Value> = trend
            .buckets
            .iter()
            .map(|b| serde_json::json!({"start": b.start.map(|t| t.seconds), "count": b.count, "share": b.share}))
            .collect();
        let quotes: Vec<&str> = theme.quotes.iter().map(|q| q.text.as_str()).collect();
        println!(
            "{}",
            serde_json::json!({"id": theme.id, "label": theme.label, "volume": theme.volume, "share": theme.share,
                "average_sentiment": theme.average_sentiment, "owner": theme.owner, "velocity": theme.velocity,
                "quotes": quotes, "days": days})
        );
        return Ok(());
    }
    print!("{}", report::theme_detail(&theme, &trend));
    Ok(())
}

/// `tideline alerts`: the alert log (open ones unless `all`), the newest in detail.
pub async fn alerts(server: &ServerArgs, all: bool, limit: i32) -> Result<(), ClientError> {
    let mut client = AlertServiceClient::new(server.channel().await?);
    let statuses = if all {
        Vec::new()
    } else {
        vec![
            proto::AlertStatus::Open as i32,
            proto::AlertStatus::Acknowledged as i32,
            proto::AlertStatus::Assigned as i32,
        ]
    };
    let alerts = client
        .list_alerts(proto::ListAlertsRequest {
            workspace: server.workspace.clone(),
            statuses,
            page_size: limit,
            ..Default::default()
        })
        .await?
        .into_inner()
        .alerts;
    if server.json {
        let rows: Vec<serde_json::Value> = alerts
            .iter()
            .map(|a| serde_json::json!({"id": a.id, "severity": a.severity, "status": a.status, "theme_id": a.theme_id,
                "theme_label": a.theme_label, "summary": a.summary, "owner": a.owner,
                "affected_customers": a.affected_customers, "recommended_action": a.recommended_action}))
            .collect();
        println!("{}", serde_json::Value::Array(rows));
        return Ok(());
    }
    print!("{}", report::alerts_table(&alerts));
    if let Some(newest) = alerts.first() {
        println!();
        print!("{}", report::alert_detail(newest));
    }
    Ok(())
}

/// `tideline tag TEXT`: how the workspace's taxonomy tags a text (nothing is stored).
pub async fn tag(server: &ServerArgs, text: &str) -> Result<(), ClientError> {
    let mut client = TaxonomyServiceClient::new(server.channel().await?);
    let response = client
        .tag_text(proto::TagTextRequest {
            workspace: server.workspace.clone(),
            text: text.to_string(),
            ..Default::default()
        })
        .await?
        .into_inner();
    if server.json {
        let tags = response.tags.clone().unwrap_or_default();
        let value = |t: &Option<proto::Tag>| t.as_ref().map(|t| t.value.clone());
        println!(
            "{}",
            serde_json::json!({"text": response.text, "redacted": response.redacted,
                "sentiment": tags.sentiment.as_ref().map(|s| s.score),
                "severity": value(&tags.severity), "journey_stage": value(&tags.journey_stage),
                "driver": value(&tags.driver),
                "product_areas": tags.product_areas.iter().map(|a| a.value.clone()).collect::<Vec<_>>()})
        );
        return Ok(());
    }
    print!("{}", report::tags(&response));
    Ok(())
}
