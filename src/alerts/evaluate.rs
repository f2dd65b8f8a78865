//! Alert evaluation over a workspace's verbatims and themes in memory: at each evaluation time,
//! every active theme's standing (velocity and significance against the baseline, scaled by the
//! measured overdispersion), the false-discovery cutoff across themes, the cooldown, and the
//! content of each alert raised. Pure: the [`super::service`] loads the data and records what
//! this finds.

use std::collections::{HashMap, HashSet};

use super::content::{pick_quotes, recommended_action, severity, summary};
use super::rules::AlertRule;
use super::{Alert, AlertStatus, Evidence, RuleKind};
use crate::error::Result;
use crate::model::tags::{SentimentLabel, Severity};
use crate::model::{ValidationError, Verbatim, VerbatimId};
use crate::tagging::taxonomy::{Dimension, Taxonomy};
use crate::themes::record::Theme;
use crate::time::{Micros, SECOND};
use crate::trends::{
    evaluate, evaluate_negative_spike, false_discovery_cutoff, SentimentStanding, Standing,
};

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
    /// Whether this is a live evaluation (not a backtest).
    pub fn live(&self) -> bool {
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

/// When each theme and rule last raised an alert.
pub type LastRaised = HashMap<(String, RuleKind), Micros>;

/// The evaluation times: `as_of` alone, or every `step_secs` from `since` up to `as_of`.
pub fn evaluation_times(
    as_of: Micros,
    since: Option<Micros>,
    step_secs: i64,
) -> Result<Vec<Micros>> {
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
    let count = (as_of - since) / (step * SECOND) + 1;
    if count > 10_000 {
        return Err(ValidationError::new(
            "step_seconds",
            format!("{count} evaluation times; at most 10000 per call"),
        )
        .into());
    }
    Ok((0..count).map(|i| since + i * step * SECOND).collect())
}

/// Everything an evaluation needs, loaded.
pub struct Context<'a> {
    pub workspace: &'a str,
    pub taxonomy: &'a Taxonomy,
    pub themes: &'a [Theme],
    /// Sorted by `created_at`.
    pub verbatims: &'a [Verbatim],
    pub rule: &'a AlertRule,
    pub now: Micros,
    pub backtest: bool,
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
    /// Evaluates at each of `times` in order, holding back alerts within the cooldown of the
    /// last one for the same theme and rule (`last_raised`, updated as alerts are raised).
    pub fn evaluate(&self, times: &[Micros], mut last_raised: LastRaised) -> Evaluation {
        let mut evaluation = Evaluation::default();
        for &at in times {
            let step = self.evaluate_at(at);
            for alert in step.alerts {
                let key = (alert.theme_id.clone(), alert.rule);
                let cooling = last_raised.get(&key).is_some_and(|&last| {
                    last <= at && at - last < self.rule.cooldown_secs * SECOND
                });
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
        evaluation
    }

    fn evaluate_at(&self, at: Micros) -> Step {
        let window = self.rule.window_secs * SECOND;
        let baseline = self.rule.baseline_secs * SECOND;
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
        let thresholds = self.rule.thresholds();
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
                &thresholds,
            );
            let sentiment = evaluate_negative_spike(
                negatives(mentions),
                mentions.len() as u64,
                negatives(baseline_mentions),
                baseline_mentions.len() as u64,
                &thresholds,
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
        let window = self.rule.window_secs * SECOND;
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
        let window = self.rule.window_secs * SECOND;
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
            baseline_start: m.at - window - self.rule.baseline_secs * SECOND,
            first_seen: first_seen(self.verbatims, &m.theme.id).unwrap_or(m.theme.first_seen),
            dispersion: m.dispersion,
        };
        let product_area = crate::tagging::most_common_area(m.mentions.iter().copied())
            .unwrap_or_default()
            .to_string();
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
                    (VerbatimId(v.number).to_string(), v.text.as_str(), score)
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn evaluation_times_step_from_since_to_as_of() {
        let day = 86_400 * SECOND;
        assert_eq!(evaluation_times(5, None, 0).unwrap(), vec![5]);
        assert_eq!(
            evaluation_times(3 * day, Some(0), 0).unwrap(),
            vec![0, day, 2 * day, 3 * day]
        );
        assert!(evaluation_times(0, Some(day), 0).is_err());
        assert!(evaluation_times(day, Some(0), 1).is_err());
    }
}
