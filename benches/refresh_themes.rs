//! Theme refresh over 100,000 stored verbatims: load from sled, TF-IDF, automatic k (fit on a
//! 20,000 sample), assign all, label, match ids, write every verbatim's theme. Reports wall time
//! of the first refresh (all themes new) and of a second one (ids continue), then of an alert
//! evaluation at the end of the 90 days and of a 30-day daily backtest, and peak memory.
//!
//! Run: `cargo bench --bench refresh_themes` (themes by meaning, with the model that
//! `scripts/fetch-model.sh` fetches) or `cargo bench --bench refresh_themes -- lexical` (TF-IDF
//! alone). Texts are `../shared/data/airline_tweets.csv` cycled to 100,000 rows (each copy is a
//! distinct verbatim).

use std::path::Path;
use std::time::Instant;

use std::sync::Arc;

use tideline::alerts::{AlertRule, Alerts, EvaluateOptions};
use tideline::model::tags::{GivenTags, Origin};
use tideline::model::{Limits, Source, Verbatim};
use tideline::store::{NewRecord, Store};
use tideline::tagging::tag_text;
use tideline::tagging::taxonomy::Taxonomy;
use tideline::themes::service::Themes;
use tideline::themes::ThemeParams;
use tideline::webhooks::{Webhooks, WebhooksConfig};

const ROWS: usize = 100_000;
const START: i64 = 1_424_000_000_000_000;
const SPACING: i64 = 90 * 86_400 * 1_000_000 / ROWS as i64;
const DAY: i64 = 86_400 * 1_000_000;

fn peak_rss_mib() -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM"))
                .map(|l| l.to_string())
        })
        .and_then(|l| {
            l.split_whitespace()
                .nth(1)
                .and_then(|kb| kb.parse::<f64>().ok())
        })
        .map_or(0.0, |kb| kb / 1024.0)
}

fn main() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/data/airline_tweets.csv");
    let Ok(mut reader) = csv::Reader::from_path(&path) else {
        eprintln!("skipping: {} not found", path.display());
        return;
    };
    let texts: Vec<String> = reader
        .records()
        .filter_map(|r| r.ok().and_then(|r| r.get(4).map(str::to_string)))
        .collect();
    let taxonomy = Taxonomy::default_saas();
    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(Store::open(dir.path()).unwrap());
    let verbatims: Vec<Verbatim> = (0..ROWS)
        .map(|i| {
            let text = texts[i % texts.len()].clone();
            Verbatim {
                number: 0,
                workspace: "bench".into(),
                source: Source::Social,
                external_id: None,
                tags: tag_text(&taxonomy, 0, &text, &GivenTags::default(), Origin::Rule),
                text,
                // Spread over 90 days.
                created_at: START + i as i64 * SPACING,
                received_at: 1_424_000_000_000_000,
                customer_id: None,
                account_id: None,
                language: None,
                metadata: Default::default(),
                scores: Default::default(),
                theme: None,
            }
        })
        .collect();
    for chunk in verbatims.chunks(5000) {
        let records = chunk
            .iter()
            .map(|v| NewRecord {
                verbatim: v.clone(),
                digest: [0; 16],
            })
            .collect();
        store.insert_blocking("bench", records).unwrap();
    }
    store.flush_blocking().unwrap();
    drop(verbatims);
    let before = peak_rss_mib();
    let encoder = if std::env::args().any(|a| a == "lexical") {
        Err("the lexical run was asked for".to_string())
    } else {
        tideline::embedding::open_default(Some(
            &Path::new(env!("CARGO_MANIFEST_DIR")).join("models"),
        ))
        .map(|e| Arc::new(e) as Arc<dyn tideline::embedding::Encoder>)
        .map_err(|e| e.to_string())
    };
    // Refreshes and backtests queue no events: the outbox is never used.
    let outbox = Arc::new(Webhooks::new(
        store.clone(),
        WebhooksConfig::default(),
        Limits::default(),
        tideline::alerts::EVENT_TYPES.to_vec(),
    ));
    let themes = Arc::new(Themes::new(
        store.clone(),
        Limits::default(),
        encoder,
        outbox.clone(),
        tideline::time::Clock::default(),
    ));
    let params = ThemeParams::default();
    println!("method: {}", themes.planned_method(&params));
    for run in ["first (all new)", "second (continuing)"] {
        let started = Instant::now();
        let summary = themes.refresh(&taxonomy, "bench", &params).unwrap();
        println!(
            "{run}: {} verbatims, {} themes ({} new, {} continued), coverage {:.3}, {} reassigned: {:.2} s\n  {}",
            summary.verbatims,
            summary.themes,
            summary.created,
            summary.continued,
            summary.coverage,
            summary.reassigned,
            started.elapsed().as_secs_f64(),
            summary.phases
        );
    }
    let alerting = Alerts::new(
        store.clone(),
        themes,
        outbox,
        AlertRule::default(),
        Limits::default(),
    );
    let end = START + ROWS as i64 * SPACING;
    let runs = [
        ("alert evaluation at the end", None),
        ("30-day daily backtest", Some(end - 29 * DAY)),
    ];
    for (run, since) in runs {
        let options = EvaluateOptions {
            as_of: Some(end),
            since,
            step_secs: 86_400,
            ..Default::default()
        };
        let started = Instant::now();
        let evaluation = alerting
            .evaluate(&taxonomy, "bench", &options, end)
            .unwrap();
        println!(
            "{run}: {} evaluations, {} alerts: {:.2} s",
            evaluation.evaluations,
            evaluation.alerts.len(),
            started.elapsed().as_secs_f64()
        );
    }
    println!(
        "peak RSS {:.0} MiB (after loading the store: {:.0} MiB); store on disk {:.0} MiB",
        peak_rss_mib(),
        before,
        store.size_on_disk().unwrap() as f64 / 1048576.0
    );
}
