//! The human-facing client commands: import CSV or JSON Lines files, themes, one theme, search,
//! alerts, tagging a text. Tables for people, `--json` for scripts.

use std::path::PathBuf;
use std::time::Duration;

use super::import::mapping::parse_source;
use super::import::{
    Format, ImportOptions, Input, Mapping, MetadataColumns, ProgressStyle, ReadOptions, Score,
    TagDimension, TimeFormat,
};
use super::report::{self, truncate};
use super::{ClientError, ServerArgs};
use crate::proto;
use crate::proto::alert_service_client::AlertServiceClient;
use crate::proto::ingest_service_client::IngestServiceClient;
use crate::proto::taxonomy_service_client::TaxonomyServiceClient;
use crate::proto::theme_service_client::ThemeServiceClient;
use crate::proto::verbatim_service_client::VerbatimServiceClient;

/// `tideline import`: CSV or JSON Lines files to verbatims, streamed over `StreamVerbatims`.
#[derive(Debug, Clone, clap::Args)]
pub struct ImportArgs {
    /// Files to import, one after the other; `-` reads standard input.
    #[arg(required = true, value_name = "FILE")]
    pub files: Vec<PathBuf>,
    #[command(flatten)]
    pub server: ServerArgs,
    /// Input format; by default from the extension (.jsonl, .ndjson, .csv, .tsv), else sniffed
    /// (a first non-blank `{` means JSON Lines).
    #[arg(long, value_enum)]
    pub format: Option<Format>,
    /// CSV delimiter: `,` `;` `|` or `tab`; by default sniffed from the header line.
    #[arg(long, value_parser = parse_delimiter)]
    pub delimiter: Option<u8>,
    /// Column holding the customer's words.
    #[arg(long, default_value = "text")]
    pub text_col: String,
    /// Column holding the caller's id (the idempotency key). Without it (or for blank cells) ids
    /// are derived from the file name and the row's content, so a re-run imports only what is
    /// missing.
    #[arg(long)]
    pub id_col: Option<String>,
    /// Column holding when the customer said it.
    #[arg(long)]
    pub time_col: Option<String>,
    /// Pattern of the time column (%Y %y %m %b %d %H %M %S %z %%), e.g. `%d/%m/%Y %H:%M`. Without
    /// it RFC 3339, `YYYY-MM-DD HH:MM[:SS]`, `M/D/YYYY H:MM` and unix seconds are read.
    #[arg(long, value_parser = parse_time_format)]
    pub time_format: Option<TimeFormat>,
    /// Source of every row, or of rows whose --source-col is blank: survey, ticket, review, chat,
    /// social, email, other.
    #[arg(long, default_value = "other", value_parser = parse_source)]
    pub source: proto::Source,
    /// Column naming each row's source.
    #[arg(long)]
    pub source_col: Option<String>,
    /// Column holding the customer's id.
    #[arg(long)]
    pub customer_col: Option<String>,
    /// Column holding the customer's account id.
    #[arg(long)]
    pub account_col: Option<String>,
    /// Column holding a BCP-47 language tag (`en`, `pt-BR`).
    #[arg(long)]
    pub language_col: Option<String>,
    /// Column holding a Net Promoter Score answer (0-10).
    #[arg(long)]
    pub nps_col: Option<String>,
    /// Column holding a customer satisfaction score (1-5).
    #[arg(long)]
    pub csat_col: Option<String>,
    /// Column holding a customer effort score (1-7).
    #[arg(long)]
    pub ces_col: Option<String>,
    /// A column of tags the customer's own system already knows, as DIMENSION=COLUMN with a
    /// dimension of journey_stage, driver, product_area (several per cell, split on , ; |),
    /// severity or sentiment. Repeatable.
    #[arg(long = "tag-col", value_name = "DIMENSION=COLUMN", value_parser = TagDimension::parse_assignment)]
    pub tag_cols: Vec<(TagDimension, String)>,
    /// Columns copied into metadata, comma-separated; `*` copies every column not mapped above.
    #[arg(long, value_delimiter = ',')]
    pub metadata_cols: Vec<String>,
    /// Items per stream message (at most the server's limits.max_batch_items).
    #[arg(long, default_value_t = 500)]
    pub batch_size: usize,
    /// Write every refused row to this CSV file (line,column,reason,raw).
    #[arg(long, value_name = "FILE")]
    pub errors: Option<PathBuf>,
    /// Stop at the first refused row.
    #[arg(long)]
    pub strict: bool,
    /// Show how the first rows of every file map, field by field, without contacting the server.
    #[arg(long)]
    pub dry_run: bool,
    /// Rows per file shown by --dry-run.
    #[arg(long, default_value_t = 5)]
    pub dry_run_rows: usize,
    /// Show no progress.
    #[arg(long)]
    pub quiet: bool,
    /// Seconds between progress lines when standard error is not a terminal.
    #[arg(long, value_name = "SECONDS", default_value_t = 2)]
    pub progress_every: u64,
}

impl ImportArgs {
    /// The import these arguments describe.
    pub fn options(&self) -> ImportOptions {
        let scores = [
            (Score::Nps, &self.nps_col),
            (Score::Csat, &self.csat_col),
            (Score::Ces, &self.ces_col),
        ];
        ImportOptions {
            inputs: self.files.iter().map(|f| Input::from_arg(f)).collect(),
            read: ReadOptions {
                format: self.format,
                delimiter: self.delimiter,
            },
            mapping: Mapping {
                text: self.text_col.clone(),
                external_id: self.id_col.clone(),
                created_at: self.time_col.clone(),
                time_format: self.time_format.clone(),
                source: self.source,
                source_column: self.source_col.clone(),
                customer_id: self.customer_col.clone(),
                account_id: self.account_col.clone(),
                language: self.language_col.clone(),
                scores: scores
                    .into_iter()
                    .filter_map(|(score, column)| column.clone().map(|c| (score, c)))
                    .collect(),
                tags: self.tag_cols.clone(),
                metadata: MetadataColumns::from_list(self.metadata_cols.clone()),
            },
            batch_size: self.batch_size.max(1),
            strict: self.strict,
            errors: self.errors.clone(),
            progress: ProgressStyle::for_stderr(
                self.quiet,
                Duration::from_secs(self.progress_every),
            ),
        }
    }
}

fn parse_delimiter(value: &str) -> Result<u8, String> {
    match value {
        "tab" | "\\t" | "\t" => Ok(b'\t'),
        "," | ";" | "|" => Ok(value.as_bytes()[0]),
        other => Err(format!("{other:?} is not a delimiter (, ; | tab)")),
    }
}

fn parse_time_format(pattern: &str) -> Result<TimeFormat, String> {
    TimeFormat::new(pattern).map_err(|e| e.to_string())
}

/// Imports the files and prints the summary (or, with `--dry-run`, shows how their first rows
/// map). Returns whether every row was accepted.
pub async fn import(args: &ImportArgs) -> Result<bool, ClientError> {
    let options = args.options();
    if args.dry_run {
        let clean = super::import::dry_run(&options, args.dry_run_rows, &mut std::io::stdout())?;
        return Ok(clean);
    }
    let client = IngestServiceClient::new(args.server.connect().await?);
    let summary = super::import::run(&options, client, &args.server.workspace).await?;
    if args.server.json {
        println!("{}", summary.to_json());
    } else {
        println!("{summary}");
    }
    Ok(summary.is_clean())
}

/// `tideline themes`: optionally refresh, then list the top themes.
pub async fn themes(
    server: &ServerArgs,
    refresh: bool,
    k: Option<u32>,
    limit: usize,
) -> Result<(), ClientError> {
    let mut client = ThemeServiceClient::new(server.connect().await?);
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
    let mut client = VerbatimServiceClient::new(server.connect().await?);
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
    let mut client = ThemeServiceClient::new(server.connect().await?);
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
    let mut client = AlertServiceClient::new(server.connect().await?);
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
    let mut client = TaxonomyServiceClient::new(server.connect().await?);
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
