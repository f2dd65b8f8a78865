//! When themes are refreshed and alert rules evaluated, and how often free disk space is looked
//! up: every `themes.refresh_interval_secs` and
//! `alerts.evaluate_interval_secs` for every workspace, and on demand. A refresh is always
//! followed by a live evaluation, so alerts speak of the themes just found.

use std::sync::Arc;
use std::time::Duration;

use super::{Engine, Services};
use crate::alerts::{EvaluateOptions, Evaluation};
use crate::config::Config;
use crate::error::Result;
use crate::model::ValidationError;
use crate::themes::service::RefreshSummary;
use crate::themes::ThemeParams;

/// Starts the configured schedules (an interval of 0 turns one off).
pub(super) fn spawn(config: &Config, services: &Arc<Services>) -> Vec<tokio::task::JoinHandle<()>> {
    let schedules = [
        (
            config.themes.refresh_interval_secs,
            Some(config.themes.params(None)),
        ),
        (config.alerts.evaluate_interval_secs, None),
    ];
    let mut tasks: Vec<_> = schedules
        .into_iter()
        .filter(|(secs, _)| *secs > 0)
        .map(|(secs, refresh)| {
            tokio::spawn(scheduled(
                services.clone(),
                Duration::from_secs(secs),
                refresh,
            ))
        })
        .collect();
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

/// Every `interval`, refreshes each workspace's themes (when `refresh` is given) and evaluates
/// its alert rules, off the async runtime.
async fn scheduled(services: Arc<Services>, interval: Duration, refresh: Option<ThemeParams>) {
    let mut ticker = tokio::time::interval_at(tokio::time::Instant::now() + interval, interval);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let task = if refresh.is_some() {
        "scheduled theme refresh"
    } else {
        "scheduled alert evaluation"
    };
    loop {
        ticker.tick().await;
        let services = services.clone();
        let outcome = tokio::task::spawn_blocking(move || -> Result<usize> {
            let workspaces = services.store.workspaces()?;
            for ws in &workspaces {
                if let Some(params) = &refresh {
                    refresh_themes(&services, ws, params)?;
                }
                evaluate_alerts(&services, ws, &EvaluateOptions::default())?;
            }
            Ok(workspaces.len())
        })
        .await;
        match outcome {
            Ok(Ok(count)) => tracing::info!(workspaces = count, "{task} done"),
            Ok(Err(err)) => tracing::error!(error = %err, "{task} failed"),
            Err(err) => tracing::error!(error = %err, "{task} panicked"),
        }
    }
}

/// Re-detects a workspace's themes with its taxonomy in force. Blocking.
fn refresh_themes(
    services: &Services,
    workspace: &str,
    params: &ThemeParams,
) -> Result<RefreshSummary> {
    let active = services.tagging.taxonomy(workspace)?;
    services.themes.refresh(&active.taxonomy, workspace, params)
}

/// Evaluates a workspace's alert rules with its taxonomy in force. Blocking.
fn evaluate_alerts(
    services: &Services,
    workspace: &str,
    options: &EvaluateOptions,
) -> Result<Evaluation> {
    let active = services.tagging.taxonomy(workspace)?;
    services
        .alerts
        .evaluate(&active.taxonomy, workspace, options, crate::time::now())
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
