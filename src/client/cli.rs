//! The human-facing client commands: import CSV or JSON Lines files, themes, one theme, search,
//! alerts, tagging a text, and the insight views (drivers, spotlight, sentiment, journey,
//! compare). Tables for people, `--json` for scripts.

use std::path::PathBuf;
use std::time::Duration;

use super::import::mapping::{parse_sentiment, parse_severity, parse_source};
use super::import::{
    Format, ImportOptions, Input, Mapping, MetadataColumns, ProgressStyle, ReadOptions, Score,
    TagDimension, TimeFormat,
};
use super::report::{self, truncate};
use super::views;
use super::{ClientError, ServerArgs};
use crate::proto;
use crate::proto::alert_service_client::AlertServiceClient;
use crate::proto::ingest_service_client::IngestServiceClient;
use crate::proto::insights_service_client::InsightsServiceClient;
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

/// The window of an insight command.
#[derive(Debug, Clone, Default, clap::Args)]
pub struct WindowArgs {
    /// Window start (UTC): RFC 3339, `YYYY-MM-DD[ HH:MM[:SS]]` or unix seconds. Default: the
    /// server's insights.default_window_days (7) before the end.
    #[arg(long, value_parser = parse_time)]
    pub since: Option<prost_types::Timestamp>,
    /// Window end, exclusive. Default: just after the newest verbatim.
    #[arg(long, value_parser = parse_time)]
    pub until: Option<prost_types::Timestamp>,
    /// Rows per list (themes, drivers on each side, keywords on each side).
    #[arg(long, default_value_t = 5)]
    pub limit: i32,
}

impl WindowArgs {
    pub(super) fn window(&self) -> Option<proto::TimeWindow> {
        Some(proto::TimeWindow {
            start: self.since,
            end: self.until,
        })
    }
}

/// The window, filter and list length of an insight command.
#[derive(Debug, Clone, Default, clap::Args)]
pub struct ScopeArgs {
    #[command(flatten)]
    pub window: WindowArgs,
    /// Only verbatims matching FILTER: comma-separated KEY=VALUE pairs, all of which hold. Keys:
    /// source, journey_stage, driver, product_area, theme, severity, sentiment, customer,
    /// account; meta.KEY or any other key is a metadata key (airline=United). A tag key given
    /// twice matches either value.
    #[arg(long, value_parser = parse_filter)]
    pub filter: Option<NamedFilter>,
}

impl ScopeArgs {
    pub(super) fn filter(&self) -> Option<proto::SearchFilter> {
        self.filter.as_ref().map(|f| f.filter.clone())
    }
}

/// The two segments of `tideline compare` and their window.
#[derive(Debug, Clone, clap::Args)]
pub struct CompareArgs {
    #[command(flatten)]
    pub window: WindowArgs,
    /// Segment A, in the form of --filter (e.g. airline=United).
    #[arg(long, value_parser = parse_filter)]
    pub a: NamedFilter,
    /// Segment B, the reference A is compared with, in the same form.
    #[arg(long, value_parser = parse_filter)]
    pub b: NamedFilter,
}

/// A filter as written on the command line, and as read.
#[derive(Debug, Clone, PartialEq)]
pub struct NamedFilter {
    pub text: String,
    pub filter: proto::SearchFilter,
}

/// The scope and metric of `tideline drivers` and `tideline spotlight`.
#[derive(Debug, Clone, clap::Args)]
pub struct MetricArgs {
    #[command(flatten)]
    pub scope: ScopeArgs,
    #[arg(long, value_enum, default_value = "nps")]
    pub metric: MetricArg,
}

/// A view ranked by a metric.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MetricView {
    /// The themes that move the metric most, each way.
    Drivers,
    /// The most mentioned (or, with `growth`, the fastest growing among those with at least
    /// `min_mentions`) themes, with their change and impact on the metric.
    Spotlight { growth: bool, min_mentions: u32 },
}

/// A metric the insight commands rank by.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum MetricArg {
    Nps,
    Csat,
    Ces,
}

impl MetricArg {
    fn to_proto(self) -> i32 {
        let metric = match self {
            MetricArg::Nps => proto::Metric::Nps,
            MetricArg::Csat => proto::Metric::Csat,
            MetricArg::Ces => proto::Metric::Ces,
        };
        metric as i32
    }
}

fn parse_time(value: &str) -> Result<prost_types::Timestamp, String> {
    super::import::parse_timestamp(value)
        .map(proto::timestamp)
        .ok_or_else(|| {
            format!("{value:?} is not a time (RFC 3339, YYYY-MM-DD[ HH:MM] or unix seconds)")
        })
}

/// Reads a filter: comma-separated `KEY=VALUE` pairs, all of which must hold. Keys: `source`,
/// `journey_stage`, `driver`, `product_area`, `theme`, `severity`, `sentiment`, `customer`,
/// `account`; `meta.KEY` or any other key is a metadata key. A tag key given twice matches either
/// value (`sentiment=negative,sentiment=mixed`).
pub fn parse_filter(text: &str) -> Result<NamedFilter, String> {
    let mut f = proto::SearchFilter::default();
    for pair in text.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        let (key, value) = pair
            .split_once('=')
            .map(|(k, v)| (k.trim(), v.trim().to_string()))
            .ok_or_else(|| format!("expected KEY=VALUE, got {pair:?}"))?;
        match key {
            "source" => f.sources.push(parse_source(&value)? as i32),
            "journey_stage" => f.journey_stages.push(value),
            "driver" => f.drivers.push(value),
            "product_area" => f.product_areas.push(value),
            "theme" => f.theme_ids.push(value),
            "severity" => f.severities.push(parse_severity(&value)? as i32),
            "sentiment" => f.sentiments.push(parse_sentiment(&value)? as i32),
            "customer" => f.customer_id = value,
            "account" => f.account_id = value,
            _ => {
                let key = key.strip_prefix("meta.").unwrap_or(key);
                if key.is_empty() {
                    return Err(format!("no key in {pair:?}"));
                }
                f.metadata.insert(key.to_string(), value);
            }
        }
    }
    Ok(NamedFilter {
        text: text.to_string(),
        filter: f,
    })
}

/// Prints a view as JSON or as its table.
fn show<T>(
    server: &ServerArgs,
    view: &T,
    json: fn(&T) -> serde_json::Value,
    table: impl Fn(&T) -> String,
) {
    if server.json {
        println!("{}", json(view));
    } else {
        print!("{}", table(view));
    }
}

/// `tideline drivers` and `tideline spotlight`.
pub async fn metric_view(
    server: &ServerArgs,
    args: &MetricArgs,
    view: MetricView,
) -> Result<(), ClientError> {
    let mut client = InsightsServiceClient::new(server.connect().await?);
    let (workspace, scope) = (server.workspace.clone(), &args.scope);
    let (window, filter, limit) = (scope.window.window(), scope.filter(), scope.window.limit);
    let metric = args.metric.to_proto();
    match view {
        MetricView::Drivers => {
            let request = proto::GetMetricDriversRequest {
                workspace,
                window,
                filter,
                metric,
                limit,
            };
            let response = client.get_metric_drivers(request).await?.into_inner();
            show(server, &response, views::drivers_json, views::drivers);
        }
        MetricView::Spotlight {
            growth,
            min_mentions,
        } => {
            let order = match growth {
                true => proto::SpotlightOrder::Growth,
                false => proto::SpotlightOrder::Mentions,
            };
            let request = proto::GetThemeSpotlightRequest {
                workspace,
                window,
                filter,
                metric,
                limit,
                order: order as i32,
                min_mentions,
            };
            let response = client.get_theme_spotlight(request).await?.into_inner();
            show(server, &response, views::spotlight_json, views::spotlight);
        }
    }
    Ok(())
}

/// `tideline sentiment`: shares, score, trend, breakdowns and distinctive keywords.
pub async fn sentiment(
    server: &ServerArgs,
    scope: &ScopeArgs,
    segment: Option<&str>,
) -> Result<(), ClientError> {
    let response = InsightsServiceClient::new(server.connect().await?)
        .get_sentiment_summary(proto::GetSentimentSummaryRequest {
            workspace: server.workspace.clone(),
            window: scope.window.window(),
            filter: scope.filter(),
            segment_key: segment.unwrap_or_default().to_string(),
            limit: scope.window.limit,
        })
        .await?
        .into_inner();
    show(server, &response, views::sentiment_json, views::sentiment);
    Ok(())
}

/// `tideline journey`: the health of every journey stage.
pub async fn journey(server: &ServerArgs, scope: &ScopeArgs) -> Result<(), ClientError> {
    let response = InsightsServiceClient::new(server.connect().await?)
        .get_journey_health(proto::GetJourneyHealthRequest {
            workspace: server.workspace.clone(),
            window: scope.window.window(),
            filter: scope.filter(),
        })
        .await?
        .into_inner();
    show(server, &response, views::journey_json, views::journey);
    Ok(())
}

/// `tideline compare`: themes over- and under-represented in segment A against B.
pub async fn compare(server: &ServerArgs, args: &CompareArgs) -> Result<(), ClientError> {
    let response = InsightsServiceClient::new(server.connect().await?)
        .compare_segments(proto::CompareSegmentsRequest {
            workspace: server.workspace.clone(),
            window: args.window.window(),
            a: Some(args.a.filter.clone()),
            b: Some(args.b.filter.clone()),
            limit: args.window.limit,
        })
        .await?
        .into_inner();
    show(server, &response, views::comparison_json, |r| {
        views::comparison(r, &args.a.text, &args.b.text)
    });
    Ok(())
}
