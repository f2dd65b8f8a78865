//! Alert evaluation over the store, the alert log, and per-workspace rules. An alert, its
//! webhook event and its pending deliveries are committed in one store transaction. Blocking
//! functions run on blocking threads; [`Alerting`] publishes what they produce.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};

use tokio::sync::{broadcast, Notify};

use super::themes::{load_all, THEMES};
use crate::alerts::content::{pick_quotes, recommended_action, severity, summary};
use crate::alerts::{
    alert_id, Alert, AlertEvent, AlertNote, AlertStatus, Evidence, RuleKind, EVENT_CREATED,
    EVENT_UPDATED,
};
use crate::error::{Error, Result};
use crate::model::{Micros, ValidationError, Verbatim, VerbatimId};
use crate::store::{DocBatch, Store};
use crate::tagging::sentiment::SentimentLabel;
use crate::tagging::tags::Severity;
use crate::tagging::taxonomy::{Dimension, Taxonomy};
use crate::themes::record::{Theme, ThemeStatus};
use crate::trends::{
    evaluate, evaluate_negative_spike, false_discovery_cutoff, AlertRule, SentimentStanding,
    Standing,
};
use crate::webhooks::{self, Event, Webhook, WEBHOOK};

/// Store document kinds.
pub const ALERT: &str = "alert";
const COUNTER: &str = "alert_counter";
const RULES: &str = "alert_rules";
const CURRENT: &str = "current";

const MICROS: i64 = 1_000_000;

/// How to evaluate.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct EvaluateOptions {
    /// Evaluate as of this time, counting verbatims created up to it (a backtest). `None`: now,
    /// live: alerts are recorded, delivered and set the themes' classes.
    pub as_of: Option<Micros>,
    /// With `as_of`: evaluate every `step_secs` from here up to `as_of`.
    pub since: Option<Micros>,
    pub step_secs: i64,
    /// Overrides of the workspace's rules.
    pub window_secs: Option<i64>,
    pub baseline_secs: Option<i64>,
    pub cooldown_secs: Option<i64>,
    /// Backtests: record the alerts in the log, and deliver them.
    pub record: bool,
    pub deliver: bool,
}

impl EvaluateOptions {
    fn live(&self) -> bool {
        self.as_of.is_none()
    }
}

/// A theme's standing at the last evaluation time.
#[derive(Debug, Clone, PartialEq)]
pub struct ThemeStanding {
    pub theme_id: String,
    pub label: String,
    pub standing: Standing,
}

/// What an evaluation found.
#[derive(Debug, Clone, Default)]
pub struct Evaluation {
    /// Alerts raised, in time order (with ids when recorded).
    pub alerts: Vec<Alert>,
    pub standings: Vec<ThemeStanding>,
    pub evaluations: u32,
    pub suppressed_by_cooldown: u32,
    /// The baseline overdispersion at the last evaluation time.
    pub dispersion: f64,
}

/// Alert log filters.
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct AlertFilter {
    pub statuses: Vec<AlertStatus>,
    pub min_severity: Option<crate::alerts::AlertSeverity>,
    pub raised_after: Option<Micros>,
    pub raised_before: Option<Micros>,
    pub theme_id: Option<String>,
    pub include_backtests: bool,
}

impl AlertFilter {
    fn matches(&self, alert: &Alert) -> bool {
        (self.statuses.is_empty() || self.statuses.contains(&alert.status))
            && self.min_severity.is_none_or(|s| alert.severity >= s)
            && self.raised_after.is_none_or(|t| alert.raised_at >= t)
            && self.raised_before.is_none_or(|t| alert.raised_at < t)
            && self.theme_id.as_ref().is_none_or(|t| *t == alert.theme_id)
            && (self.include_backtests || !alert.backtest)
    }
}

/// Evaluation, the alert log and live watchers for all workspaces.
pub struct Alerting {
    store: Arc<Store>,
    defaults: AlertRule,
    events: broadcast::Sender<(String, AlertEvent)>,
    /// Woken when deliveries enter the outbox.
    pub(crate) outbox: Arc<Notify>,
    /// Serialises writes to the alert log (ids, cooldowns).
    writing: Mutex<()>,
    /// Flips to true when the server shuts down, ending live watches.
    closing: tokio::sync::watch::Sender<bool>,
}

impl Alerting {
    pub fn new(store: Arc<Store>, defaults: AlertRule) -> Alerting {
        Alerting {
            store,
            defaults,
            events: broadcast::channel(1024).0,
            outbox: Arc::new(Notify::new()),
            writing: Mutex::new(()),
            closing: tokio::sync::watch::Sender::new(false),
        }
    }

    /// Ends every live watch (on shutdown).
    pub fn close_watchers(&self) {
        self.closing.send_replace(true);
    }

    /// Resolves once watches should end.
    pub fn closing(&self) -> tokio::sync::watch::Receiver<bool> {
        self.closing.subscribe()
    }

    /// New alerts and alert changes of every workspace, as they are committed.
    pub fn subscribe(&self) -> broadcast::Receiver<(String, AlertEvent)> {
        self.events.subscribe()
    }

    /// The workspace's rules: its own, or the configured defaults.
    pub fn rules(&self, workspace: &str) -> Result<AlertRule> {
        Ok(self
            .store
            .doc(workspace, RULES, CURRENT)?
            .unwrap_or(self.defaults))
    }

    /// Replaces the workspace's rules (`None`: back to the defaults). Blocking; flushes.
    pub fn set_rules(&self, workspace: &str, rules: Option<AlertRule>) -> Result<AlertRule> {
        let mut batch = DocBatch::default();
        match &rules {
            Some(rules) => {
                if let Some((field, message)) = rules.invalid_field() {
                    return Err(ValidationError::new(format!("rules.{field}"), message).into());
                }
                batch.put(workspace, RULES, CURRENT, rules);
            }
            None => batch.remove(workspace, RULES, CURRENT),
        }
        self.store.commit(batch)?;
        self.store.flush_blocking()?;
        Ok(rules.unwrap_or(self.defaults))
    }

    /// Evaluates a workspace's rules (see [`EvaluateOptions`]); recorded alerts are committed
    /// with their deliveries and flushed, then published. Blocking.
    pub fn evaluate(
        &self,
        taxonomy: &Taxonomy,
        workspace: &str,
        options: &EvaluateOptions,
        now: Micros,
    ) -> Result<Evaluation> {
        let mut rule = self.rules(workspace)?;
        if let Some(w) = options.window_secs {
            rule.window_secs = w;
        }
        if let Some(b) = options.baseline_secs {
            rule.baseline_secs = b;
        }
        if let Some(c) = options.cooldown_secs {
            rule.cooldown_secs = c;
        }
        if let Some((field, message)) = rule.invalid_field() {
            return Err(ValidationError::new(field, message).into());
        }
        let as_of = options.as_of.unwrap_or(now);
        let times = evaluation_times(as_of, options.since, options.step_secs)?;
        let record = options.live() || options.record;
        let _writing = self.writing.lock().expect("alert log lock");

        let themes: Vec<Theme> = self
            .store
            .docs::<Theme>(workspace, THEMES)?
            .into_iter()
            .filter(|t| t.status == ThemeStatus::Active)
            .collect();
        let mut verbatims = load_all(&self.store, workspace)?;
        verbatims.sort_by_key(|v| v.created_at);
        let mut last_raised: HashMap<(String, RuleKind), Micros> = HashMap::new();
        if record {
            for alert in self.store.docs::<Alert>(workspace, ALERT)? {
                // Live evaluations cool down on live alerts, recorded backtests on backtests.
                if alert.backtest != options.live() {
                    let key = (alert.theme_id.clone(), alert.rule);
                    let at = last_raised.entry(key).or_insert(alert.raised_at);
                    *at = (*at).max(alert.raised_at);
                }
            }
        }
        let context = Context {
            workspace,
            taxonomy,
            themes: &themes,
            verbatims: &verbatims,
            rule: &rule,
            now,
            backtest: !options.live(),
        };
        let mut evaluation = Evaluation::default();
        for &at in &times {
            let step = context.evaluate_at(at);
            for alert in step.alerts {
                let key = (alert.theme_id.clone(), alert.rule);
                let cooling = last_raised
                    .get(&key)
                    .is_some_and(|&last| last <= at && at - last < rule.cooldown_secs * MICROS);
                if cooling {
                    evaluation.suppressed_by_cooldown += 1;
                    continue;
                }
                last_raised.insert(key, at);
                evaluation.alerts.push(alert);
            }
            evaluation.standings = step.standings;
            evaluation.dispersion = step.dispersion;
            evaluation.evaluations += 1;
        }
        evaluation.standings.sort_by(|a, b| {
            b.standing
                .velocity
                .total_cmp(&a.standing.velocity)
                .then_with(|| a.theme_id.cmp(&b.theme_id))
        });

        if record {
            let deliver = options.live() || options.deliver;
            let events = self.record(
                workspace,
                &mut evaluation,
                &themes,
                options.live(),
                deliver,
                now,
            )?;
            self.publish(workspace, events, deliver);
        }
        Ok(evaluation)
    }

    /// Gives recorded alerts their ids and commits them with their deliveries (and, when live,
    /// the themes' classes). Returns the events to publish.
    fn record(
        &self,
        workspace: &str,
        evaluation: &mut Evaluation,
        themes: &[Theme],
        live: bool,
        deliver: bool,
        now: Micros,
    ) -> Result<Vec<AlertEvent>> {
        let mut batch = DocBatch::default();
        let mut counter: u64 = self.store.doc(workspace, COUNTER, "next")?.unwrap_or(1);
        let webhooks: Vec<Webhook> = if deliver {
            self.store.docs(workspace, WEBHOOK)?
        } else {
            Vec::new()
        };
        let mut events = Vec::with_capacity(evaluation.alerts.len());
        for alert in &mut evaluation.alerts {
            alert.id = alert_id(counter);
            counter += 1;
            batch.put(workspace, ALERT, &alert.id, alert);
            let change = AlertEvent {
                event_type: EVENT_CREATED,
                alert: alert.clone(),
            };
            webhooks::enqueue(
                &mut batch,
                workspace,
                &webhooks,
                &Event::new(workspace, &change, now),
            );
            events.push(change);
        }
        batch.put(workspace, COUNTER, "next", &counter);
        if live {
            let standings: HashMap<&str, &Standing> = evaluation
                .standings
                .iter()
                .map(|s| (s.theme_id.as_str(), &s.standing))
                .collect();
            for theme in themes {
                if let Some(standing) = standings.get(theme.id.as_str()) {
                    let mut theme = theme.clone();
                    theme.frequency_class = Some(standing.class);
                    theme.velocity = standing.velocity;
                    batch.put(workspace, THEMES, &theme.id, &theme);
                }
            }
        }
        self.store.commit(batch)?;
        self.store.flush_blocking()?;
        Ok(events)
    }

    fn publish(&self, workspace: &str, events: Vec<AlertEvent>, deliver: bool) {
        if events.is_empty() {
            return;
        }
        if deliver {
            self.outbox.notify_one();
        }
        for event in events {
            // No receivers is fine: nobody is watching.
            let _ = self.events.send((workspace.to_string(), event));
        }
    }

    /// Alerts matching `filter`, newest first.
    pub fn list(&self, workspace: &str, filter: &AlertFilter) -> Result<Vec<Alert>> {
        let mut alerts: Vec<Alert> = self
            .store
            .docs::<Alert>(workspace, ALERT)?
            .into_iter()
            .filter(|a| filter.matches(a))
            .collect();
        alerts.reverse();
        Ok(alerts)
    }

    pub fn get(&self, workspace: &str, id: &str) -> Result<Alert> {
        self.store
            .doc(workspace, ALERT, id)?
            .ok_or_else(|| Error::NotFound {
                what: format!("alert {id}"),
            })
    }

    /// Moves an alert to `status` with an optional assignee and note; emits `alert.updated` to
    /// watchers and webhooks. Blocking; flushes.
    pub fn update(
        &self,
        workspace: &str,
        id: &str,
        status: AlertStatus,
        assignee: String,
        note: String,
        now: Micros,
    ) -> Result<Alert> {
        let _writing = self.writing.lock().expect("alert log lock");
        let mut alert = self.get(workspace, id)?;
        if !alert.status.can_move_to(status) {
            return Err(Error::FailedPrecondition(format!(
                "status: alert {id} is {} and cannot become {}",
                alert.status.as_str(),
                status.as_str()
            )));
        }
        if status == AlertStatus::Assigned && assignee.trim().is_empty() {
            return Err(ValidationError::new("assignee", "is required to assign an alert").into());
        }
        alert.status = status;
        if !assignee.trim().is_empty() {
            alert.assignee = assignee.trim().to_string();
        }
        alert.updated_at = now;
        alert.notes.push(AlertNote {
            at: now,
            status,
            assignee: alert.assignee.clone(),
            note,
        });
        let mut batch = DocBatch::default();
        batch.put(workspace, ALERT, &alert.id, &alert);
        let change = AlertEvent {
            event_type: EVENT_UPDATED,
            alert: alert.clone(),
        };
        if !alert.backtest {
            let webhooks: Vec<Webhook> = self.store.docs(workspace, WEBHOOK)?;
            webhooks::enqueue(
                &mut batch,
                workspace,
                &webhooks,
                &Event::new(workspace, &change, now),
            );
        }
        self.store.commit(batch)?;
        self.store.flush_blocking()?;
        let deliver = !alert.backtest;
        self.publish(workspace, vec![change], deliver);
        Ok(alert)
    }
}

/// The evaluation times: `as_of` alone, or every `step_secs` from `since` up to `as_of`.
fn evaluation_times(as_of: Micros, since: Option<Micros>, step_secs: i64) -> Result<Vec<Micros>> {
    let Some(since) = since else {
        return Ok(vec![as_of]);
    };
    if since > as_of {
        return Err(ValidationError::new("since", "must not be after as_of").into());
    }
    let step = if step_secs == 0 { 86_400 } else { step_secs };
    if step < 60 {
        return Err(ValidationError::new("step_seconds", "must be at least 60").into());
    }
    let count = (as_of - since) / (step * MICROS) + 1;
    if count > 10_000 {
        return Err(ValidationError::new(
            "step_seconds",
            format!("{count} evaluation times; at most 10000 per call"),
        )
        .into());
    }
    Ok((0..count).map(|i| since + i * step * MICROS).collect())
}

/// Everything one evaluation time needs.
struct Context<'a> {
    workspace: &'a str,
    taxonomy: &'a Taxonomy,
    themes: &'a [Theme],
    /// Sorted by `created_at`.
    verbatims: &'a [Verbatim],
    rule: &'a AlertRule,
    now: Micros,
    backtest: bool,
}

struct Step {
    alerts: Vec<Alert>,
    standings: Vec<ThemeStanding>,
    dispersion: f64,
}

/// The verbatims created in `(from, to]`.
fn created_between(sorted: &[Verbatim], from: Micros, to: Micros) -> &[Verbatim] {
    let start = sorted.partition_point(|v| v.created_at <= from);
    let end = sorted.partition_point(|v| v.created_at <= to);
    &sorted[start..end.max(start)]
}

fn by_theme(verbatims: &[Verbatim]) -> HashMap<&str, Vec<&Verbatim>> {
    let mut groups: HashMap<&str, Vec<&Verbatim>> = HashMap::new();
    for v in verbatims {
        if let Some(theme) = &v.theme {
            groups.entry(theme.as_str()).or_default().push(v);
        }
    }
    groups
}

fn negatives(mentions: &[&Verbatim]) -> u64 {
    mentions
        .iter()
        .filter(|v| {
            v.tags
                .sentiment
                .as_ref()
                .is_some_and(|s| s.label == SentimentLabel::Negative)
        })
        .count() as u64
}

impl Context<'_> {
    fn evaluate_at(&self, at: Micros) -> Step {
        let window = self.rule.window_secs * MICROS;
        let baseline = self.rule.baseline_secs * MICROS;
        let current = created_between(self.verbatims, at - window, at);
        let before = created_between(self.verbatims, at - window - baseline, at - window);
        let (current_groups, before_groups) = (by_theme(current), by_theme(before));
        let customers_heard: HashSet<&str> = current
            .iter()
            .filter_map(|v| v.customer_id.as_deref())
            .collect();
        let dispersion = self.dispersion_before(at - window);
        let empty = Vec::new();
        let mut step = Step {
            alerts: Vec::new(),
            standings: Vec::new(),
            dispersion,
        };
        let mut measured = Vec::with_capacity(self.themes.len());
        for theme in self.themes {
            let mentions = current_groups.get(theme.id.as_str()).unwrap_or(&empty);
            let baseline_mentions = before_groups.get(theme.id.as_str()).unwrap_or(&empty);
            let standing = evaluate(
                mentions.len() as u64,
                current.len() as u64,
                baseline_mentions.len() as u64,
                before.len() as u64,
                dispersion,
                self.rule,
            );
            let sentiment = evaluate_negative_spike(
                negatives(mentions),
                mentions.len() as u64,
                negatives(baseline_mentions),
                baseline_mentions.len() as u64,
                self.rule,
            );
            measured.push((theme, mentions, standing, sentiment));
        }
        // Every theme is a test: control the false discovery rate across them, per rule.
        let cutoff = |p: &dyn Fn(&Standing, &SentimentStanding) -> f64| {
            let family: Vec<f64> = measured.iter().map(|(_, _, st, se)| p(st, se)).collect();
            false_discovery_cutoff(&family, self.rule.significance).unwrap_or(-1.0)
        };
        let velocity_cutoff = cutoff(&|st, _| st.p_value);
        let spike_cutoff = cutoff(&|_, se| se.p_value);
        for (theme, mentions, standing, sentiment) in measured {
            let fires = [
                (
                    RuleKind::Velocity,
                    standing.alert && standing.p_value <= velocity_cutoff,
                ),
                (
                    RuleKind::NegativeSentimentSpike,
                    sentiment.alert && sentiment.p_value <= spike_cutoff,
                ),
            ];
            for (kind, fired) in fires {
                if fired {
                    let m = Measured {
                        theme,
                        standing: &standing,
                        sentiment: &sentiment,
                        mentions,
                        customers_heard: customers_heard.len(),
                        dispersion,
                        at,
                    };
                    step.alerts.push(self.alert(kind, &m));
                }
            }
            step.standings.push(ThemeStanding {
                theme_id: theme.id.clone(),
                label: theme.label.clone(),
                standing,
            });
        }
        step
    }

    /// The baseline's overdispersion (see [`crate::trends::dispersion`]), from sub-windows as long
    /// as the current window.
    fn dispersion_before(&self, baseline_end: Micros) -> f64 {
        let window = self.rule.window_secs * MICROS;
        let parts = (self.rule.baseline_secs / self.rule.window_secs) as usize;
        let start = baseline_end - parts as i64 * window;
        let mut totals = Vec::with_capacity(parts);
        let mut counts: HashMap<&str, Vec<u64>> = HashMap::new();
        for part in 0..parts {
            let from = start + part as i64 * window;
            let verbatims = created_between(self.verbatims, from, from + window);
            totals.push(verbatims.len() as u64);
            for (theme, mentions) in by_theme(verbatims) {
                counts.entry(theme).or_insert_with(|| vec![0; parts])[part] = mentions.len() as u64;
            }
        }
        let counts: Vec<Vec<u64>> = counts.into_values().collect();
        crate::trends::dispersion(&counts, &totals)
    }

    fn alert(&self, rule: RuleKind, m: &Measured) -> Alert {
        let window = self.rule.window_secs * MICROS;
        let count = m.mentions.len().max(1) as f64;
        let share_of = |keep: &dyn Fn(&Verbatim) -> bool| {
            m.mentions.iter().filter(|v| keep(v)).count() as f64 / count
        };
        let level = |v: &Verbatim| v.tags.severity_level();
        let customers: HashSet<&str> = m
            .mentions
            .iter()
            .filter_map(|v| v.customer_id.as_deref())
            .collect();
        let evidence = Evidence {
            class: m.standing.class,
            mentions: m.standing.mentions,
            baseline_mentions: m.standing.baseline_mentions,
            share: m.standing.share,
            baseline_share: m.standing.baseline_share,
            velocity: m.standing.velocity,
            p_value: match rule {
                RuleKind::Velocity => m.standing.p_value,
                RuleKind::NegativeSentimentSpike => m.sentiment.p_value,
            },
            average_sentiment: m
                .mentions
                .iter()
                .map(|v| v.tags.sentiment.as_ref().map_or(0.0, |s| s.score as f64))
                .sum::<f64>()
                / count,
            negative_share: m.sentiment.negative_share,
            baseline_negative_share: m.sentiment.baseline_negative_share,
            critical_share: share_of(&|v| level(v) == Some(Severity::Critical)),
            high_share: share_of(&|v| {
                matches!(level(v), Some(Severity::Critical | Severity::High))
            }),
            affected_customers: customers.len() as u64,
            affected_customer_share: customers.len() as f64 / m.customers_heard.max(1) as f64,
            window_start: m.at - window,
            window_end: m.at,
            baseline_start: m.at - window - self.rule.baseline_secs * MICROS,
            first_seen: first_seen(self.verbatims, &m.theme.id).unwrap_or(m.theme.first_seen),
            dispersion: m.dispersion,
        };
        let product_area = most_common_area(m.mentions);
        let owner = if m.theme.owner.is_empty() {
            self.taxonomy
                .category(Dimension::ProductArea, &product_area)
                .map(|c| c.owner.clone())
                .unwrap_or_default()
        } else {
            m.theme.owner.clone()
        };
        let severity = severity(&evidence);
        let quotes = pick_quotes(
            m.mentions
                .iter()
                .map(|v| {
                    let score = v.tags.sentiment.as_ref().map_or(0.0, |s| s.score);
                    (VerbatimId(v.seq).to_string(), v.text.as_str(), score)
                })
                .collect(),
            3,
        );
        Alert {
            id: String::new(),
            workspace: self.workspace.to_string(),
            rule,
            status: AlertStatus::Open,
            severity,
            theme_id: m.theme.id.clone(),
            theme_label: m.theme.label.clone(),
            keywords: m
                .theme
                .keywords
                .iter()
                .take(6)
                .map(|(k, _)| k.clone())
                .collect(),
            summary: summary(rule, &evidence),
            recommended_action: recommended_action(
                rule,
                severity,
                &m.theme.label,
                &owner,
                &product_area,
                &evidence,
            ),
            evidence,
            quotes,
            product_area,
            owner,
            raised_at: m.at,
            updated_at: self.now,
            assignee: String::new(),
            notes: Vec::new(),
            backtest: self.backtest,
        }
    }
}

/// One theme measured at one evaluation time.
struct Measured<'a> {
    theme: &'a Theme,
    standing: &'a Standing,
    sentiment: &'a SentimentStanding,
    mentions: &'a [&'a Verbatim],
    customers_heard: usize,
    dispersion: f64,
    at: Micros,
}

fn first_seen(sorted: &[Verbatim], theme: &str) -> Option<Micros> {
    sorted
        .iter()
        .find(|v| v.theme.as_deref() == Some(theme))
        .map(|v| v.created_at)
}

fn most_common_area(mentions: &[&Verbatim]) -> String {
    let mut counts: HashMap<&str, usize> = HashMap::new();
    for v in mentions {
        if let Some(area) = v.tags.product_areas.first() {
            *counts.entry(area.value.as_str()).or_default() += 1;
        }
    }
    counts
        .into_iter()
        .max_by(|a, b| a.1.cmp(&b.1).then(b.0.cmp(a.0)))
        .map(|(area, _)| area.to_string())
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn evaluation_times_step_from_since_to_as_of() {
        let day = 86_400 * MICROS;
        assert_eq!(evaluation_times(5, None, 0).unwrap(), vec![5]);
        assert_eq!(
            evaluation_times(3 * day, Some(0), 0).unwrap(),
            vec![0, day, 2 * day, 3 * day]
        );
        assert!(evaluation_times(0, Some(day), 0).is_err());
        assert!(evaluation_times(day, Some(0), 1).is_err());
    }
}
