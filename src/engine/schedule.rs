//! When themes are refreshed, alert rules evaluated, SLAs checked and digests sent, and how often
//! free disk space is looked up: every `themes.refresh_interval_secs`,
//! `alerts.evaluate_interval_secs`, `themes.sla_check_interval_secs` and
//! `webhooks.digest_check_interval_secs` (the last two also at start) for every workspace, and on
//! demand. A refresh is always
//! followed by a live evaluation, so alerts speak of the themes just found.

use std::sync::Arc;
use std::time::Duration;

use super::{Engine, Services};
use crate::alerts::{EvaluateOptions, Evaluation};
use crate::config::Config;
use crate::error::Result;
use crate::insights::service::Scope;
use crate::model::ValidationError;
use crate::themes::service::RefreshSummary;
use crate::themes::ThemeParams;

/// Starts the configured schedules (an interval of 0 turns one off).
pub(super) fn spawn(config: &Config, services: &Arc<Services>) -> Vec<tokio::task::JoinHandle<()>> {
    let mut tasks = Vec::new();
    let refresh = config.themes.params(None);
    let mut every = |secs: u64, at_start: bool, task: &'static str, job: Job| {
        if secs > 0 {
            let interval = Duration::from_secs(secs);
            tasks.push(tokio::spawn(scheduled(
                services.clone(),
                interval,
                at_start,
                task,
                job,
            )));
        }
    };
    every(
        config.themes.refresh_interval_secs,
        false,
        "scheduled theme refresh",
        Arc::new(move |s, ws| {
            refresh_themes(s, ws, &refresh)?;
            evaluate_alerts(s, ws, &EvaluateOptions::default()).map(|_| ())
        }),
    );
    every(
        config.alerts.evaluate_interval_secs,
        false,
        "scheduled alert evaluation",
        Arc::new(|s, ws| evaluate_alerts(s, ws, &EvaluateOptions::default()).map(|_| ())),
    );
    // At start too: a breach that fell due while the server was down is announced at once.
    every(
        config.themes.sla_check_interval_secs,
        true,
        "sla check",
        Arc::new(|s, ws| s.themes.announce_breaches(ws).map(|_| ())),
    );
    every(
        config.webhooks.digest_check_interval_secs,
        true,
        "digest check",
        Arc::new(send_due_digest),
    );
    // Free disk space, every second (a statvfs call): writes stop under the mark, resume above.
    let store = services.store.clone();
    tasks.push(tokio::spawn(async move {
        let mut ticker = tokio::time::interval(Duration::from_secs(1));
        loop {
            ticker.tick().await;
            store.check_space();
        }
    }));
    tasks
}

/// A scheduled job, run for one workspace at a time.
type Job = Arc<dyn Fn(&Services, &str) -> Result<()> + Send + Sync>;

/// Every `interval` (and first at start when `at_start`), runs `job` for each workspace, off the
/// async runtime.
async fn scheduled(
    services: Arc<Services>,
    interval: Duration,
    at_start: bool,
    task: &'static str,
    job: Job,
) {
    let first = tokio::time::Instant::now() + if at_start { Duration::ZERO } else { interval };
    let mut ticker = tokio::time::interval_at(first, interval);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        ticker.tick().await;
        let (services, job) = (services.clone(), job.clone());
        let outcome = tokio::task::spawn_blocking(move || -> Result<usize> {
            let workspaces = services.store.workspaces()?;
            for ws in &workspaces {
                job(&services, ws)?;
            }
            Ok(workspaces.len())
        })
        .await;
        match outcome {
            Ok(Ok(count)) => tracing::debug!(workspaces = count, "{task} done"),
            Ok(Err(err)) => tracing::error!(error = %err, "{task} failed"),
            Err(err) => tracing::error!(error = %err, "{task} panicked"),
        }
    }
}

/// Sends a workspace's digest when a period of its cadence is due (on the engine's clock) and
/// somebody subscribes to it; its deliveries are due now on the wall clock. Blocking.
fn send_due_digest(services: &Services, workspace: &str) -> Result<()> {
    let due = services
        .webhooks
        .digest_due(workspace, services.clock.now())?;
    let Some((period, event_type)) = due else {
        return Ok(());
    };
    let scope = Scope {
        start: Some(period.start),
        end: Some(period.end),
        ..Default::default()
    };
    let digest = services.insights.digest(workspace, &scope)?;
    let now = crate::time::now();
    services
        .webhooks
        .send_digest(workspace, event_type, &digest, now)?;
    Ok(())
}

/// Re-detects a workspace's themes with its taxonomy in force. Blocking.
fn refresh_themes(
    services: &Services,
    workspace: &str,
    params: &ThemeParams,
) -> Result<RefreshSummary> {
    let active = services.tagging.taxonomy(workspace)?;
    let summary = services
        .themes
        .refresh(&active.taxonomy, workspace, params)?;
    metrics::histogram!("tideline_theme_refresh_seconds").record(summary.seconds);
    Ok(summary)
}

/// Evaluates a workspace's alert rules with its taxonomy in force. Blocking.
fn evaluate_alerts(
    services: &Services,
    workspace: &str,
    options: &EvaluateOptions,
) -> Result<Evaluation> {
    let active = services.tagging.taxonomy(workspace)?;
    let started = std::time::Instant::now();
    let evaluation =
        services
            .alerts
            .evaluate(&active.taxonomy, workspace, options, crate::time::now())?;
    if options.live() {
        metrics::histogram!("tideline_alert_evaluation_seconds")
            .record(started.elapsed().as_secs_f64());
        for alert in &evaluation.alerts {
            metrics::counter!("tideline_alerts_raised_total", "rule" => alert.rule.as_str())
                .increment(1);
        }
    }
    Ok(evaluation)
}

impl Engine {
    /// Re-detects the workspace's themes (ids kept stable), reassigns every verbatim, evaluates
    /// the alert rules on the new themes, and answers once the index has the new assignments.
    /// One refresh per workspace at a time.
    pub async fn refresh_themes(
        &self,
        workspace: &str,
        k: Option<usize>,
    ) -> Result<RefreshSummary> {
        let max_k = self.config.limits.max_themes_k;
        if k.is_some_and(|k| k == 1 || k > max_k) {
            return Err(ValidationError::new(
                "k",
                format!("must be 0 (automatic) or 2 to limits.max_themes_k={max_k}"),
            )
            .into());
        }
        let params = self.config.themes.params(k);
        let ws = workspace.to_string();
        let summary = self
            .run(move |s| {
                let summary = refresh_themes(s, &ws, &params)?;
                let live = EvaluateOptions::default();
                if let Err(err) = evaluate_alerts(s, &ws, &live) {
                    tracing::error!(workspace = %ws, error = %err, "alert evaluation after refresh failed");
                }
                Ok(summary)
            })
            .await?;
        // Listings read volumes from the index: answer once it has the new assignments.
        self.wait_searchable(self.services.store.last_seq()).await?;
        Ok(summary)
    }

    /// How the workspace's themes were found (else how its next refresh will find them).
    pub async fn theme_method(&self, workspace: &str) -> Result<crate::themes::Method> {
        let params = self.config.themes.params(None);
        let ws = workspace.to_string();
        self.run(move |s| s.themes.method(&ws, &params)).await
    }

    /// Evaluates a workspace's alert rules (live, or a backtest with `as_of`).
    pub async fn evaluate_alerts(
        &self,
        workspace: &str,
        options: EvaluateOptions,
    ) -> Result<Evaluation> {
        let ws = workspace.to_string();
        self.run(move |s| evaluate_alerts(s, &ws, &options)).await
    }
}
