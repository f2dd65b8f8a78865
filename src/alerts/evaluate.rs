//! Alert evaluation over a workspace's verbatims and themes in memory: at each evaluation time,
//! every active theme's standing (velocity and significance against the baseline, scaled by the
//! measured overdispersion), the false-discovery cutoff across themes, incidents (rising themes
//! about the same thing, joined and tested as one; both signals of a theme in one alert), the
//! cooldown, and the content of each alert raised. Pure: the [`super::service`] loads the data
//! and records what this finds.

use std::collections::{HashMap, HashSet};

use super::content::{
    phrase_summary, pick_quotes, recommended_action, rising_phrases, severity, summary,
};
use super::phrases::{emerging, EmergingPhrase, PhraseIndex, PhraseWindow};
use super::rules::AlertRule;
use super::{Alert, AlertStatus, AlertTheme, Evidence, RuleKind, PHRASE_SUBJECT};
use crate::error::Result;
use crate::model::tags::{SentimentLabel, Severity};
use crate::model::{ValidationError, Verbatim, VerbatimId};
use crate::tagging::taxonomy::{Dimension, Taxonomy};
use crate::themes::record::{Relatedness, Theme};
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

/// When each cooldown subject (a theme id, or a phrase: see [`Alert::cooldown_subjects`]) and
/// rule last raised an alert.
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
    &sorted[span(sorted, from, to)]
}

/// Where the verbatims created in `(from, to]` are.
fn span(sorted: &[Verbatim], from: Micros, to: Micros) -> std::ops::Range<usize> {
    let start = sorted.partition_point(|v| v.created_at <= from);
    let end = sorted.partition_point(|v| v.created_at <= to);
    start..end.max(start)
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
        // The phrases of every verbatim any evaluation time reads, extracted once.
        let reach = (self.rule.window_secs + self.rule.baseline_secs) * SECOND;
        let first = times.iter().min().map_or(0, |&t| t - reach);
        let last = times.iter().max().copied().unwrap_or(0);
        let read = span(self.verbatims, first, last);
        let phrases = PhraseIndex::new(&self.verbatims[read.clone()]);
        for &at in times {
            // Themes that alerted within the cooldown speak for their words still.
            let cooling: HashSet<String> = last_raised
                .iter()
                .filter(|((subject, _), &last)| {
                    !subject.starts_with(PHRASE_SUBJECT)
                        && last <= at
                        && at - last < self.rule.cooldown_secs * SECOND
                })
                .map(|((subject, _), _)| subject.clone())
                .collect();
            let step = self.evaluate_at(at, (&phrases, read.start), &cooling);
            for alert in step.alerts {
                // An incident cools down when any of its themes (or its phrase) raised its rule
                // lately.
                let subjects = alert.cooldown_subjects();
                let cooling = subjects.iter().any(|subject| {
                    last_raised
                        .get(&(subject.clone(), alert.rule))
                        .is_some_and(|&last| {
                            last <= at && at - last < self.rule.cooldown_secs * SECOND
                        })
                });
                if cooling {
                    evaluation.suppressed_by_cooldown += 1;
                    continue;
                }
                for subject in subjects {
                    for signal in alert.fired() {
                        last_raised.insert((subject.clone(), signal), at);
                    }
                }
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

    /// Evaluates at `at`; `phrases` are the phrases of the verbatims from the given position on.
    /// `cooling` holds the themes that alerted within the cooldown.
    fn evaluate_at(
        &self,
        at: Micros,
        (phrases, offset): (&PhraseIndex, usize),
        cooling: &HashSet<String>,
    ) -> Step {
        let window = self.rule.window_secs * SECOND;
        let baseline = self.rule.baseline_secs * SECOND;
        let current_span = span(self.verbatims, at - window, at);
        let before_span = span(self.verbatims, at - window - baseline, at - window);
        let current = &self.verbatims[current_span.clone()];
        let before = &self.verbatims[before_span.clone()];
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
            measured.push(MeasuredTheme {
                theme,
                mentions,
                baseline_mentions,
                standing,
                sentiment,
            });
        }
        // Rising themes about the same thing are one incident, tested as one on their mentions
        // together: a problem said in five wordings may be five small themes, none significant
        // alone. Every other theme is an incident of its own.
        let rising: Vec<bool> = measured
            .iter()
            .map(|m| !m.mentions.is_empty() && m.standing.velocity >= thresholds.velocity)
            .collect();
        let themes: Vec<&Theme> = measured.iter().map(|m| m.theme).collect();
        let totals = (current.len() as u64, before.len() as u64);
        let candidates: Vec<Incident> = incidents(&themes, &rising)
            .iter()
            .map(|members| self.join(&measured, members, totals, dispersion, &thresholds))
            .collect();
        // Every incident is a test (the incidents partition the themes): control the false
        // discovery rate across them; sentiment spikes across themes.
        let velocity_cutoff = {
            let family: Vec<f64> = candidates.iter().map(|i| i.standing.p_value).collect();
            false_discovery_cutoff(&family, self.rule.significance).unwrap_or(-1.0)
        };
        let spike_cutoff = {
            let family: Vec<f64> = measured.iter().map(|m| m.sentiment.p_value).collect();
            false_discovery_cutoff(&family, self.rule.significance).unwrap_or(-1.0)
        };
        let fires = |standing: &Standing| standing.alert && standing.p_value <= velocity_cutoff;
        let mut spike: Vec<bool> = measured
            .iter()
            .map(|m| m.sentiment.alert && m.sentiment.p_value <= spike_cutoff)
            .collect();
        let mut raised: Vec<Incident> = Vec::new();
        for incident in candidates {
            let incident = if fires(&incident.standing) {
                vec![incident]
            } else if incident.members.len() > 1 {
                // The union did not rise significantly (a large, flat companion can dilute
                // it): a member that does alone alerts alone.
                incident
                    .members
                    .iter()
                    .filter(|&&t| fires(&measured[t].standing))
                    .map(|&t| self.join(&measured, &[t], totals, dispersion, &thresholds))
                    .collect()
            } else {
                Vec::new()
            };
            for mut incident in incident {
                incident.signals.push(RuleKind::Velocity);
                if incident.members.iter().any(|&t| spike[t]) {
                    incident.signals.push(RuleKind::NegativeSentimentSpike);
                    incident.members.iter().for_each(|&t| spike[t] = false);
                }
                raised.push(incident);
            }
        }
        // Sentiment spikes on themes that are not rising alert alone.
        for t in (0..measured.len()).filter(|&t| spike[t]) {
            let mut incident = self.join(&measured, &[t], totals, dispersion, &thresholds);
            incident.signals.push(RuleKind::NegativeSentimentSpike);
            raised.push(incident);
        }
        // Phrases that rose without the mentions of the themes alerting now or lately.
        let alerting: HashSet<&str> = raised
            .iter()
            .flat_map(|i| i.themes.iter().map(|t| t.id.as_str()))
            .chain(cooling.iter().map(String::as_str))
            .collect();
        let shifted = |r: std::ops::Range<usize>| r.start - offset..r.end - offset;
        let heard = PhraseWindow {
            verbatims: &self.verbatims[offset..],
            index: phrases,
            window: shifted(current_span),
            baseline: shifted(before_span),
        };
        let new_phrases = emerging(
            &heard,
            &alerting,
            dispersion,
            &thresholds,
            self.rule.significance,
        );
        raised.extend(
            new_phrases
                .into_iter()
                .map(|p| Incident::of_phrase(p, &thresholds)),
        );
        for incident in &raised {
            step.alerts
                .push(self.alert(incident, customers_heard.len(), dispersion, at));
        }
        for m in measured {
            step.standings.push(ThemeStanding {
                theme_id: m.theme.id.clone(),
                label: m.theme.label.clone(),
                standing: m.standing,
            });
        }
        step
    }

    /// One incident from measured themes (largest first once joined): their mentions together,
    /// tested as one.
    fn join<'a>(
        &self,
        measured: &[MeasuredTheme<'a>],
        members: &[usize],
        (total, baseline_total): (u64, u64),
        dispersion: f64,
        thresholds: &crate::trends::Thresholds,
    ) -> Incident<'a> {
        let mut members = members.to_vec();
        members.sort_by(|&a, &b| {
            measured[b]
                .mentions
                .len()
                .cmp(&measured[a].mentions.len())
                .then_with(|| measured[a].theme.id.cmp(&measured[b].theme.id))
        });
        let mentions: Vec<&'a Verbatim> = members
            .iter()
            .flat_map(|&t| measured[t].mentions.iter().copied())
            .collect();
        let baseline: Vec<&'a Verbatim> = members
            .iter()
            .flat_map(|&t| measured[t].baseline_mentions.iter().copied())
            .collect();
        let (standing, sentiment) = if let [only] = members[..] {
            (
                measured[only].standing.clone(),
                measured[only].sentiment.clone(),
            )
        } else {
            let standing = evaluate(
                mentions.len() as u64,
                total,
                baseline.len() as u64,
                baseline_total,
                dispersion,
                thresholds,
            );
            let sentiment = evaluate_negative_spike(
                negatives(&mentions),
                mentions.len() as u64,
                negatives(&baseline),
                baseline.len() as u64,
                thresholds,
            );
            (standing, sentiment)
        };
        Incident {
            themes: members
                .iter()
                .map(|&t| AlertTheme {
                    id: measured[t].theme.id.clone(),
                    label: measured[t].theme.label.clone(),
                    mentions: measured[t].mentions.len() as u64,
                    baseline_mentions: measured[t].baseline_mentions.len() as u64,
                })
                .collect(),
            lead: Some(measured[members[0]].theme),
            phrase: None,
            members,
            standing,
            sentiment,
            mentions,
            baseline,
            signals: Vec::new(),
        }
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

    fn alert(&self, m: &Incident, customers_heard: usize, dispersion: f64, at: Micros) -> Alert {
        let rule = m.signals[0];
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
                RuleKind::Velocity | RuleKind::EmergingPhrase => m.standing.p_value,
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
            affected_customer_share: customers.len() as f64 / customers_heard.max(1) as f64,
            window_start: at - window,
            window_end: at,
            baseline_start: at - window - self.rule.baseline_secs * SECOND,
            first_seen: match m.lead {
                Some(lead) => m
                    .themes
                    .iter()
                    .filter_map(|t| first_seen(self.verbatims, &t.id))
                    .min()
                    .unwrap_or(lead.first_seen),
                // A phrase: its first mention in the baseline, else in the window.
                None => m
                    .baseline
                    .first()
                    .or(m.mentions.first())
                    .map_or(at, |v| v.created_at),
            },
            dispersion,
        };
        let product_area = crate::tagging::most_common_area(m.mentions.iter().copied())
            .unwrap_or_default()
            .to_string();
        let owner = match m.lead {
            Some(lead) if !lead.owner.is_empty() => lead.owner.clone(),
            _ => self
                .taxonomy
                .category(Dimension::ProductArea, &product_area)
                .map(|c| c.owner.clone())
                .unwrap_or_default(),
        };
        let (theme_id, theme_label, keywords) = match m.lead {
            Some(lead) => (
                lead.id.clone(),
                lead.label.clone(),
                lead.keywords
                    .iter()
                    .take(6)
                    .map(|(k, _)| k.clone())
                    .collect(),
            ),
            None => Default::default(),
        };
        let (phrase, phrase_key, summary, rising, named) = match &m.phrase {
            Some(p) => (
                p.phrases[0].clone(),
                p.key.clone(),
                phrase_summary(&p.phrases[0], &evidence, p.unthemed),
                p.phrases.clone(),
                p.phrases[0].clone(),
            ),
            None => (
                String::new(),
                String::new(),
                summary(&m.signals, &evidence, m.themes.len()),
                rising_phrases(&m.mentions, &m.baseline, 3),
                theme_label.clone(),
            ),
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
            theme_id,
            theme_label,
            keywords,
            summary,
            recommended_action: recommended_action(
                rule,
                severity,
                &named,
                &owner,
                &product_area,
                &evidence,
            ),
            evidence,
            quotes,
            product_area,
            owner,
            raised_at: at,
            updated_at: self.now,
            assignee: String::new(),
            notes: Vec::new(),
            backtest: self.backtest,
            themes: m.themes.clone(),
            signals: m.signals.clone(),
            rising_phrases: rising,
            phrase,
            phrase_key,
        }
    }
}

/// One theme measured at one evaluation time.
struct MeasuredTheme<'a> {
    theme: &'a Theme,
    mentions: &'a [&'a Verbatim],
    baseline_mentions: &'a [&'a Verbatim],
    standing: Standing,
    sentiment: SentimentStanding,
}

/// What one alert is about: one or more themes measured together, or a phrase no theme
/// explains.
struct Incident<'a> {
    /// The largest theme: the alert's own (none for a phrase).
    lead: Option<&'a Theme>,
    phrase: Option<PhraseFacts>,
    /// Indices of the measured themes, largest first.
    members: Vec<usize>,
    themes: Vec<AlertTheme>,
    standing: Standing,
    sentiment: SentimentStanding,
    /// All members' mentions in the window, and in the baseline.
    mentions: Vec<&'a Verbatim>,
    baseline: Vec<&'a Verbatim>,
    signals: Vec<RuleKind>,
}

/// What an emerging-phrase alert says of its phrase.
struct PhraseFacts {
    key: String,
    phrases: Vec<String>,
    unthemed: u64,
}

impl<'a> Incident<'a> {
    /// An incident of a phrase no theme explains: its mentions tested like a theme's.
    fn of_phrase(p: EmergingPhrase<'a>, thresholds: &crate::trends::Thresholds) -> Incident<'a> {
        let sentiment = evaluate_negative_spike(
            negatives(&p.mentions),
            p.mentions.len() as u64,
            negatives(&p.baseline),
            p.baseline.len() as u64,
            thresholds,
        );
        Incident {
            lead: None,
            phrase: Some(PhraseFacts {
                key: p.key,
                phrases: p.phrases,
                unthemed: p.unthemed,
            }),
            members: Vec::new(),
            themes: Vec::new(),
            standing: p.standing,
            sentiment,
            mentions: p.mentions,
            baseline: p.baseline,
            signals: vec![RuleKind::EmergingPhrase],
        }
    }
}

/// Two rising themes whose meaning centroids (sentence embeddings, centred on the corpus's mean)
/// are at least this similar are one incident: one problem said in different words. Measured on
/// BANKING77 clustered at k=77 (`tideline eval clusters ../shared/data/banking77_train.csv
/// --label-col category --k 77`): of theme pairs whose majority intent differs, the median cosine
/// is −0.03, the 95th percentile 0.33 and the 99th 0.50; of pairs with the same intent (an intent
/// split in two) the median is 0.45. Both themes must also be rising in the same window, which
/// unrelated themes seldom are.
pub const SAME_INCIDENT_MEANING: f32 = 0.50;
/// The same for themes found by words alone: the cosine of their TF-IDF centroids.
pub const SAME_INCIDENT_WORDS: f32 = 0.35;

/// Whether two themes this related are about the same thing, as far as an incident goes.
pub fn same_incident(relatedness: Relatedness) -> bool {
    match relatedness {
        Relatedness::Meaning(cosine) => cosine >= SAME_INCIDENT_MEANING,
        Relatedness::Words(cosine) => cosine >= SAME_INCIDENT_WORDS,
    }
}

/// The themes partitioned into incidents: rising themes about the same thing (transitively)
/// together, every other theme alone. Returns each incident's theme indices.
fn incidents(themes: &[&Theme], rising: &[bool]) -> Vec<Vec<usize>> {
    let candidates: Vec<usize> = (0..themes.len()).filter(|&t| rising[t]).collect();
    let mut parent: Vec<usize> = (0..themes.len()).collect();
    fn root(parent: &mut [usize], mut t: usize) -> usize {
        while parent[t] != t {
            parent[t] = parent[parent[t]];
            t = parent[t];
        }
        t
    }
    for (i, &a) in candidates.iter().enumerate() {
        for &b in &candidates[i + 1..] {
            if same_incident(themes[a].relatedness(themes[b])) {
                let (ra, rb) = (root(&mut parent, a), root(&mut parent, b));
                parent[ra.max(rb)] = ra.min(rb);
            }
        }
    }
    let mut groups: std::collections::BTreeMap<usize, Vec<usize>> = Default::default();
    for t in 0..themes.len() {
        let r = root(&mut parent, t);
        groups.entry(r).or_default().push(t);
    }
    groups.into_values().collect()
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

    use crate::model::tags::{Origin, Sentiment};
    use crate::themes::record::{MeaningCentroid, ThemeStatus};

    const DAY: Micros = 86_400 * SECOND;

    fn theme(id: &str, words: &str, meaning: Option<[f32; 3]>) -> Theme {
        Theme {
            id: id.into(),
            label: words.into(),
            label_pinned: false,
            keywords: vec![(words.into(), 1.0)],
            centroid: vec![(words.into(), 1.0)],
            meaning: meaning.map(|v| {
                let mut vector = v.to_vec();
                crate::embedding::normalize(&mut vector);
                MeaningCentroid {
                    encoder: "test".into(),
                    vector,
                }
            }),
            status: ThemeStatus::Active,
            merged_into: None,
            volume: 0,
            share: 0.0,
            quotes: Vec::new(),
            average_sentiment: 0.0,
            tag_mix: Default::default(),
            owner: String::new(),
            owner_pinned: false,
            first_seen: 0,
            refreshed_at: 0,
            history: Vec::new(),
            frequency_class: None,
            velocity: 0.0,
            measured: None,
            accountability: Default::default(),
        }
    }

    /// Per theme, mentions per day for 15 days (the last day is the window) and whether the
    /// last day's mentions are negative.
    fn stream(per_day: &[(&Theme, [u64; 2], bool)]) -> Vec<Verbatim> {
        let mut out = Vec::new();
        for day in 0..15 {
            for (theme, [steady, last], angry) in per_day {
                let n = if day == 14 { *last } else { *steady };
                for i in 0..n {
                    let mut v = Verbatim::example("ws", &format!("{} {i}", theme.label));
                    v.number = out.len() as u64 + 1;
                    v.created_at = day * DAY + 1 + i as i64;
                    v.theme = Some(theme.id.clone());
                    let negative = day == 14 && *angry;
                    v.tags.sentiment = Some(Sentiment {
                        score: if negative { -0.8 } else { 0.3 },
                        label: if negative {
                            SentimentLabel::Negative
                        } else {
                            SentimentLabel::Positive
                        },
                        confidence: 1.0,
                        evidence: Vec::new(),
                        origin: Origin::Rule,
                    });
                    out.push(v);
                }
            }
        }
        out.sort_by_key(|v| v.created_at);
        out
    }

    fn evaluate_last_day(themes: &[Theme], verbatims: &[Verbatim]) -> Vec<Alert> {
        let taxonomy = Taxonomy::default_saas();
        let rule = AlertRule {
            window_secs: 86_400,
            baseline_secs: 7 * 86_400,
            ..Default::default()
        };
        let context = Context {
            workspace: "ws",
            taxonomy: &taxonomy,
            themes,
            verbatims,
            rule: &rule,
            now: 15 * DAY,
            backtest: true,
        };
        context.evaluate(&[15 * DAY], LastRaised::new()).alerts
    }

    #[test]
    fn themes_rising_together_about_one_thing_are_one_alert() {
        let refund = theme("TH-1", "refund", Some([1.0, 0.05, 0.0]));
        let money_back = theme("TH-2", "money back", Some([0.97, 0.0, 0.1]));
        let login = theme("TH-3", "login", Some([0.0, 1.0, 0.0]));
        let export = theme("TH-4", "export", Some([0.0, 0.1, 1.0]));
        let verbatims = stream(&[
            (&refund, [10, 40], false),
            (&money_back, [10, 40], false),
            (&login, [10, 10], false),
            (&export, [10, 10], false),
        ]);
        let themes = [refund, money_back, login, export];
        let alerts = evaluate_last_day(&themes, &verbatims);
        assert_eq!(alerts.len(), 1, "{alerts:#?}");
        let alert = &alerts[0];
        assert_eq!(alert.theme_id, "TH-1");
        assert_eq!(alert.theme_ids(), ["TH-1", "TH-2"]);
        assert_eq!(alert.evidence.mentions, 80);
        assert_eq!(alert.themes[1].mentions, 40);
        assert!(
            alert.summary.contains("80 mentions in 2 related themes"),
            "{}",
            alert.summary
        );

        // The same counts on themes that are not about one thing: two alerts.
        let unrelated = [
            themes[0].clone(),
            theme("TH-2", "dark mode", Some([0.0, 0.0, 1.0])),
            themes[2].clone(),
            themes[3].clone(),
        ];
        let alerts = evaluate_last_day(&unrelated, &verbatims);
        assert_eq!(alerts.len(), 2, "{alerts:#?}");
        assert!(alerts.iter().all(|a| a.themes.len() == 1));
    }

    #[test]
    fn a_rise_and_a_sentiment_jump_on_one_theme_are_one_alert_with_two_signals() {
        let outage = theme("TH-1", "outage", None);
        let login = theme("TH-2", "login", None);
        let export = theme("TH-3", "export", None);
        let verbatims = stream(&[
            (&outage, [10, 40], true),
            (&login, [10, 10], false),
            (&export, [10, 10], false),
        ]);
        let alerts = evaluate_last_day(&[outage, login, export], &verbatims);
        assert_eq!(alerts.len(), 1, "{alerts:#?}");
        assert_eq!(
            alerts[0].signals,
            [RuleKind::Velocity, RuleKind::NegativeSentimentSpike]
        );
        assert_eq!(alerts[0].rule, RuleKind::Velocity);
        assert!(
            alerts[0]
                .summary
                .contains("share of voice; negative mentions 0% → 100%"),
            "{}",
            alerts[0].summary
        );
    }

    #[test]
    fn a_new_phrase_spread_over_themes_is_an_alert_of_its_own_once() {
        let login = theme("TH-1", "login", None);
        let export = theme("TH-2", "export", None);
        let billing = theme("TH-3", "billing", None);
        let mut verbatims = stream(&[
            (&login, [10, 10], false),
            (&export, [10, 10], false),
            (&billing, [10, 10], false),
        ]);
        // On the last day, 21 customers say a new problem that live assignment spread over the
        // three themes; two more days of it follow.
        let ids = ["TH-1", "TH-2", "TH-3"];
        for day in 14..17 {
            for i in 0..21 {
                let mut v = Verbatim::example("ws", "the invoice pdf is blank");
                v.created_at = day * DAY + 100 + i;
                v.theme = Some(ids[i as usize % 3].to_string());
                verbatims.push(v);
            }
        }
        verbatims.sort_by_key(|v| v.created_at);
        for (n, v) in verbatims.iter_mut().enumerate() {
            v.number = n as u64 + 1;
        }
        let alerts = evaluate_last_day(&[login, export, billing], &verbatims);
        assert_eq!(alerts.len(), 1, "{alerts:#?}");
        let alert = &alerts[0];
        assert_eq!(alert.rule, RuleKind::EmergingPhrase);
        assert_eq!((alert.theme_id.as_str(), alert.themes.len()), ("", 0));
        assert!(alert.theme_ids().is_empty());
        assert!(
            alert.phrase.contains("pdf") || alert.phrase.contains("blank"),
            "{alert:#?}"
        );
        assert_eq!(alert.evidence.mentions, 21);
        assert!(
            alert.summary.contains("no theme covers it yet") && alert.summary.contains("21"),
            "{}",
            alert.summary
        );
        assert_eq!(
            alert.cooldown_subjects(),
            [format!("phrase:{}", alert.phrase_key)]
        );

        // Evaluated day by day, the phrase alerts on its first day only (the cooldown holds).
        let taxonomy = Taxonomy::default_saas();
        let rule = AlertRule {
            window_secs: 86_400,
            baseline_secs: 7 * 86_400,
            ..Default::default()
        };
        let themes = [
            theme("TH-1", "login", None),
            theme("TH-2", "export", None),
            theme("TH-3", "billing", None),
        ];
        let context = Context {
            workspace: "ws",
            taxonomy: &taxonomy,
            themes: &themes,
            verbatims: &verbatims,
            rule: &rule,
            now: 17 * DAY,
            backtest: true,
        };
        let evaluation = context.evaluate(&[15 * DAY, 16 * DAY, 17 * DAY], LastRaised::new());
        assert_eq!(evaluation.alerts.len(), 1, "{:#?}", evaluation.alerts);
        assert_eq!(evaluation.alerts[0].raised_at, 15 * DAY);
        assert!(evaluation.suppressed_by_cooldown >= 1);
    }

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
