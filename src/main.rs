//! The `tideline` command: parses arguments, sets up tracing, and makes one library call per
//! command (the demo-corpus generator crate `tideline_corpus` for `gen-corpus`).

use anyhow::Context;
use clap::{Parser, Subcommand};
use tideline::client::cli::{self, MetricView};
use tideline::client::eval::{self, LabelKind};
use tideline::client::owners;
use tideline::config::{Config, ConfigArgs};

#[derive(Parser)]
#[command(
    name = "tideline",
    version,
    about = "Listens to customers: stores, searches and analyses verbatims over gRPC."
)]
struct Cli {
    /// Log lines as text (colours only on a terminal) or as JSON objects, one per line.
    #[arg(
        long,
        global = true,
        value_enum,
        default_value = "text",
        env = "TIDELINE_LOG_FORMAT"
    )]
    log_format: LogFormat,
    #[command(subcommand)]
    command: Command,
}

/// How log lines are written to standard error.
#[derive(Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
enum LogFormat {
    Text,
    Json,
}

/// Logs to standard error at `RUST_LOG` (default `info,tantivy=warn`): text with colours only
/// when standard error is a terminal, or one JSON object per line.
fn init_logs(format: LogFormat) {
    use std::io::IsTerminal;
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| "info,tantivy=warn".into());
    let logs = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    match format {
        LogFormat::Text => logs.with_ansi(std::io::stderr().is_terminal()).init(),
        LogFormat::Json => logs.json().with_current_span(false).init(),
    }
}

#[derive(Subcommand)]
enum Command {
    /// The whole service on the demo corpus: serve on ./tideline-demo, import, find themes and
    /// alerts, print them, keep serving until Ctrl-C.
    Demo(ConfigArgs),
    /// Run the gRPC server until SIGINT/SIGTERM.
    Serve(ConfigArgs),
    /// Rebuild the search index from the store (run while the server is stopped).
    Reindex(ConfigArgs),
    /// Import CSV or JSON Lines files into a running server over StreamVerbatims (resumable).
    Import(Box<tideline::client::cli::ImportArgs>),
    /// List themes (optionally refreshing them first) on a running server.
    Themes {
        #[command(flatten)]
        server: tideline::client::ServerArgs,
        /// Refresh themes before listing.
        #[arg(long)]
        refresh: bool,
        /// Number of themes for the refresh (automatic when absent).
        #[arg(long)]
        k: Option<u32>,
        #[arg(long, default_value_t = 20)]
        limit: usize,
    },
    /// Full-text search on a running server.
    Search {
        query: String,
        #[command(flatten)]
        server: tideline::client::ServerArgs,
        #[arg(long, default_value_t = 20)]
        limit: i32,
    },
    /// One theme of a running server: numbers, keywords, quotes, daily trend.
    Theme {
        id: String,
        #[command(flatten)]
        server: tideline::client::ServerArgs,
    },
    /// The alert log of a running server: open alerts (all with --all), the newest in detail.
    Alerts {
        #[command(flatten)]
        server: tideline::client::ServerArgs,
        /// Include resolved and dismissed alerts.
        #[arg(long)]
        all: bool,
        #[arg(long, default_value_t = 20)]
        limit: i32,
    },
    /// Which themes move NPS, CSAT or CES on a running server: each theme's impact in points
    /// (the score minus the score without the theme), with a 95% interval and a quote.
    Drivers {
        #[command(flatten)]
        server: tideline::client::ServerArgs,
        #[command(flatten)]
        args: Box<tideline::client::cli::MetricArgs>,
    },
    /// The most mentioned themes of a window on a running server, with their change against the
    /// window before, sentiment, class and impact on a metric.
    Spotlight {
        #[command(flatten)]
        server: tideline::client::ServerArgs,
        #[command(flatten)]
        args: Box<tideline::client::cli::MetricArgs>,
        /// Fastest growing first (new themes first of all) instead of most mentioned.
        #[arg(long)]
        growth: bool,
        /// With --growth: only themes with at least this many mentions (0: the server's 10).
        #[arg(long, default_value_t = 0)]
        min_mentions: u32,
    },
    /// The sentiment summary of a window on a running server: shares and their change, score and
    /// daily trend, by source and segment, distinctive positive and negative keywords.
    Sentiment {
        #[command(flatten)]
        server: tideline::client::ServerArgs,
        #[command(flatten)]
        scope: Box<tideline::client::cli::ScopeArgs>,
        /// A metadata key to break the summary down by (e.g. plan).
        #[arg(long)]
        segment: Option<String>,
    },
    /// The health of every journey stage of a window on a running server.
    Journey {
        #[command(flatten)]
        server: tideline::client::ServerArgs,
        #[command(flatten)]
        scope: Box<tideline::client::cli::ScopeArgs>,
    },
    /// Themes over- and under-represented in segment A against segment B on a running server.
    Compare {
        #[command(flatten)]
        server: tideline::client::ServerArgs,
        #[command(flatten)]
        segments: Box<tideline::client::cli::CompareArgs>,
    },
    /// Who owns which theme on a running server: owner team, status, SLA and due date (overdue
    /// first), next action, ready to close, reopened. Themes a person put in the loop, or all.
    Owners {
        #[command(flatten)]
        server: tideline::client::ServerArgs,
        /// Every active theme, with the owner its product area gives it.
        #[arg(long)]
        all: bool,
    },
    /// Change a theme's owner, SLA, status, next action or label on a running server.
    UpdateTheme {
        #[command(flatten)]
        server: tideline::client::ServerArgs,
        #[command(flatten)]
        args: Box<tideline::client::owners::UpdateThemeArgs>,
    },
    /// The digest of a window on a running server: new and open alerts, top movers, SLA
    /// breaches, metric and NPS driver changes against the window before.
    Digest {
        #[command(flatten)]
        server: tideline::client::ServerArgs,
        #[command(flatten)]
        scope: Box<tideline::client::cli::ScopeArgs>,
    },
    /// How often a running server sends the workspace's digest to webhooks (set with --cadence).
    DigestSchedule {
        #[command(flatten)]
        server: tideline::client::ServerArgs,
        #[arg(long, value_enum)]
        cadence: Option<tideline::client::owners::CadenceArg>,
    },
    /// Show how a running server's taxonomy tags a text (nothing is stored).
    Tag {
        text: String,
        #[command(flatten)]
        server: tideline::client::ServerArgs,
    },
    /// API keys of a running server (needs an admin key).
    #[command(subcommand)]
    Keys(KeysCommand),
    /// The audit log of a running server, newest first (needs an admin key).
    Audit {
        #[command(flatten)]
        server: tideline::client::ServerArgs,
        /// Only this RPC, e.g. ThemeService/UpdateTheme.
        #[arg(long)]
        rpc: Option<String>,
        /// Only the --workspace's events (default: every workspace, and key management).
        #[arg(long)]
        this_workspace: bool,
        #[arg(long, default_value_t = 50)]
        limit: i32,
    },
    /// Load a running server with concurrent clients (batch ingest, streaming ingest, searches)
    /// and report throughput, latency percentiles, stalls, server memory and disk per verbatim.
    Bench(Box<tideline::client::bench::BenchArgs>),
    /// Evaluate an analyser against a labelled CSV file.
    #[command(subcommand)]
    Eval(EvalCommand),
    /// Write the demo corpus: SaaS feedback with planted scenarios (same arguments, same bytes).
    GenCorpus {
        /// The CSV file to write (replaced if it exists).
        #[arg(long, default_value = "corpora/saas_feedback.csv")]
        out: std::path::PathBuf,
        /// Seed of the generator; the default gives the committed corpus.
        #[arg(long, default_value_t = tideline_corpus::DEFAULT_SEED)]
        seed: u64,
        /// Whole UTC days covered, ending just before --end.
        #[arg(long, default_value_t = tideline_corpus::DEFAULT_DAYS,
              value_parser = clap::value_parser!(u32).range(1..=3650))]
        days: u32,
        /// Exact number of rows.
        #[arg(long, default_value_t = tideline_corpus::DEFAULT_ROWS)]
        rows: usize,
        /// First day after the corpus (YYYY-MM-DD, UTC); scenario dates count back from it.
        #[arg(long, default_value_t = tideline_corpus::DEFAULT_END,
              value_parser = tideline_corpus::parse_date)]
        end: tideline_corpus::Date,
    },
}

#[derive(Subcommand)]
enum KeysCommand {
    /// Create a key bound to --workspace (admin keys: every workspace) and print it, once.
    Create {
        #[command(flatten)]
        server: tideline::client::ServerArgs,
        /// Comma-separated: ingest, read, curate, admin.
        #[arg(long, value_parser = tideline::client::access::parse_scopes)]
        scopes: std::vec::Vec<tideline::proto::Scope>,
        /// What the key is for (shown in `keys list`).
        #[arg(long, default_value = "")]
        description: String,
    },
    /// List keys: every workspace's, or only --workspace's with --this-workspace.
    List {
        #[command(flatten)]
        server: tideline::client::ServerArgs,
        #[arg(long)]
        this_workspace: bool,
        /// Include revoked keys.
        #[arg(long)]
        revoked: bool,
    },
    /// Revoke a key by id: it stops working on its next call.
    Revoke {
        id: String,
        #[command(flatten)]
        server: tideline::client::ServerArgs,
    },
}

#[derive(Subcommand)]
enum EvalCommand {
    /// Sentiment: accuracy, macro-F1 and the confusion matrix (labels positive / neutral /
    /// negative; a Mixed prediction counts as negative).
    Sentiment {
        file: std::path::PathBuf,
        #[arg(long, default_value = "text")]
        text_col: String,
        #[arg(long, default_value = "label")]
        label_col: String,
        /// The label column holds 1-5 star ratings (1-2 negative, 3 neutral, 4-5 positive).
        #[arg(long)]
        rating: bool,
    },
    /// Themes: NMI, ARI, matched accuracy, coverage, number of themes, elapsed time.
    Clusters {
        file: std::path::PathBuf,
        #[arg(long, default_value = "text")]
        text_col: String,
        #[arg(long, default_value = "label")]
        label_col: String,
        /// Number of themes; chosen automatically when absent.
        #[arg(long)]
        k: Option<usize>,
        /// What texts are clustered on: joint (the service's default: embeddings with TF-IDF),
        /// embedding, or tfidf (the fallback without the model). Embedding and joint need
        /// scripts/fetch-model.sh.
        #[arg(long, value_enum, default_value = "joint")]
        method: eval::ClusterMethod,
        /// With --method joint: the share of the cosine that comes from the embeddings (the
        /// service's default, themes.meaning_weight, is 0.9).
        #[arg(long, default_value_t = 0.9)]
        meaning_weight: f32,
        /// With --method embedding or joint: the sentence encoder, potion-base-8M (the
        /// service's default, themes.encoder) or all-MiniLM-L6-v2 (a build with --features onnx
        /// and scripts/fetch-model.sh --onnx).
        #[arg(long, default_value = tideline::embedding::DEFAULT_MODEL)]
        encoder: String,
    },
}

fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    init_logs(cli.log_format);
    let runtime = tokio::runtime::Runtime::new().context("starting the async runtime")?;
    match cli.command {
        Command::Demo(args) => {
            let mut config = Config::load(&args)?;
            if args.data_dir.is_none() {
                config.data_dir = "tideline-demo".into();
            }
            runtime.block_on(tideline::client::demo::run(config))?;
        }
        Command::Serve(args) => {
            let config = Config::load(&args)?;
            // One line, the gRPC address last (scripts read it); the operations address is in
            // the log's "serving" line. A closed standard output must not stop the server.
            runtime.block_on(tideline::server::serve_until_signal(
                config,
                |addr, _http| {
                    use std::io::Write;
                    let mut out = std::io::stdout();
                    let _ = writeln!(out, "tideline serving on {addr}");
                    let _ = out.flush();
                },
            ))?;
        }
        Command::Reindex(args) => {
            let config = Config::load(&args)?;
            let count = tideline::engine::reindex(&config)?;
            println!("index rebuilt up to store sequence {count}");
        }
        Command::Import(args) => {
            let clean = runtime.block_on(tideline::client::cli::import(&args))?;
            if !clean {
                std::process::exit(1);
            }
        }
        Command::Themes {
            server,
            refresh,
            k,
            limit,
        } => {
            runtime.block_on(tideline::client::cli::themes(&server, refresh, k, limit))?;
        }
        Command::Search {
            query,
            server,
            limit,
        } => {
            runtime.block_on(tideline::client::cli::search(&server, &query, limit))?;
        }
        Command::Theme { id, server } => {
            runtime.block_on(tideline::client::cli::theme(&server, &id))?
        }
        Command::Alerts { server, all, limit } => {
            runtime.block_on(tideline::client::cli::alerts(&server, all, limit))?
        }
        Command::Drivers { server, args } => {
            runtime.block_on(cli::metric_view(&server, &args, MetricView::Drivers))?
        }
        Command::Spotlight {
            server,
            args,
            growth,
            min_mentions,
        } => {
            let view = MetricView::Spotlight {
                growth,
                min_mentions,
            };
            runtime.block_on(cli::metric_view(&server, &args, view))?
        }
        Command::Sentiment {
            server,
            scope,
            segment,
        } => runtime.block_on(tideline::client::cli::sentiment(
            &server,
            &scope,
            segment.as_deref(),
        ))?,
        Command::Journey { server, scope } => {
            runtime.block_on(tideline::client::cli::journey(&server, &scope))?
        }
        Command::Compare { server, segments } => {
            runtime.block_on(tideline::client::cli::compare(&server, &segments))?
        }
        Command::Owners { server, all } => runtime.block_on(owners::list_owners(&server, all))?,
        Command::UpdateTheme { server, args } => {
            runtime.block_on(owners::update_theme(&server, &args))?
        }
        Command::Digest { server, scope } => {
            runtime.block_on(owners::show_digest(&server, &scope))?
        }
        Command::DigestSchedule { server, cadence } => {
            runtime.block_on(owners::digest_schedule(&server, cadence))?
        }
        Command::Tag { text, server } => {
            runtime.block_on(tideline::client::cli::tag(&server, &text))?
        }
        Command::Keys(KeysCommand::Create {
            server,
            scopes,
            description,
        }) => runtime.block_on(tideline::client::access::create_key(
            &server,
            &scopes,
            &description,
        ))?,
        Command::Keys(KeysCommand::List {
            server,
            this_workspace,
            revoked,
        }) => runtime.block_on(tideline::client::access::list_keys(
            &server,
            this_workspace,
            revoked,
        ))?,
        Command::Keys(KeysCommand::Revoke { id, server }) => {
            runtime.block_on(tideline::client::access::revoke_key(&server, &id))?
        }
        Command::Audit {
            server,
            rpc,
            this_workspace,
            limit,
        } => runtime.block_on(tideline::client::access::audit(
            &server,
            rpc.as_deref(),
            this_workspace,
            limit,
        ))?,
        Command::Bench(args) => {
            let report = runtime.block_on(tideline::client::bench::run(&args))?;
            if args.server.json {
                println!("{}", serde_json::to_string(&report)?);
            } else {
                print!("{}", tideline::client::bench::render(&report));
            }
            if report.stalled_after_seconds.is_some() {
                std::process::exit(1);
            }
        }
        Command::Eval(EvalCommand::Clusters {
            file,
            text_col,
            label_col,
            k,
            method,
            meaning_weight,
            encoder,
        }) => {
            let result = eval::clusters(
                &file,
                &text_col,
                &label_col,
                k,
                method,
                meaning_weight,
                &encoder,
            )?;
            println!("{}", eval::cluster_report(&file, k, method, &result));
        }
        Command::Eval(EvalCommand::Sentiment {
            file,
            text_col,
            label_col,
            rating,
        }) => {
            let kind = if rating {
                LabelKind::Rating
            } else {
                LabelKind::Names
            };
            let result = eval::sentiment(&file, &text_col, &label_col, kind)?;
            print!("{}", eval::sentiment_report(&file, &result));
        }
        Command::GenCorpus {
            out,
            seed,
            days,
            rows,
            end,
        } => {
            let params = tideline_corpus::CorpusParams {
                seed,
                days,
                rows,
                end,
            };
            let corpus = tideline_corpus::generate(&params);
            let file = std::fs::File::create(&out)
                .with_context(|| format!("creating {}", out.display()))?;
            tideline_corpus::write_csv(&corpus, std::io::BufWriter::new(file))
                .with_context(|| format!("writing {}", out.display()))?;
            let bytes = std::fs::metadata(&out)?.len();
            print!(
                "{}",
                tideline_corpus::summary(&params, &corpus, &out, bytes)
            );
        }
    }
    Ok(())
}
