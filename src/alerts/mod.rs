//! Emerging-issue alerts: the records as stored and served (what fired, the evidence, what a
//! person needs to act — owner, customers, quotes, a recommended action — and the lifecycle),
//! their [`content`], the [`rules`], the [`evaluate`]ion over verbatims and themes, and the
//! [`service`] that keeps the alert log over the store. Webhooks deliver their events.

pub mod content;
pub mod evaluate;
pub mod phrases;
pub mod rules;
pub mod service;

use serde::{Deserialize, Serialize};

pub use self::evaluate::{EvaluateOptions, Evaluation, ThemeStanding};
pub use self::rules::AlertRule;
pub use self::service::{AlertFilter, AlertOutbox, Alerts, Watched};
use crate::time::Micros;
use crate::trends::FrequencyClass;

/// Which rule raised an alert.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RuleKind {
    /// The theme's share of voice grew past the velocity threshold.
    Velocity,
    /// The share of negative verbatims within the theme jumped.
    NegativeSentimentSpike,
    /// Customers started saying a phrase that no theme explains yet (see [`phrases`]).
    EmergingPhrase,
}

impl RuleKind {
    /// Its name, as stored and as metrics label it.
    pub fn as_str(self) -> &'static str {
        match self {
            RuleKind::Velocity => "velocity",
            RuleKind::NegativeSentimentSpike => "negative_sentiment_spike",
            RuleKind::EmergingPhrase => "emerging_phrase",
        }
    }
}

/// Where an alert is in its lifecycle.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AlertStatus {
    Open,
    Acknowledged,
    Assigned,
    Resolved,
    Dismissed,
}

impl AlertStatus {
    /// Whether a person may move an alert from `self` to `to`: open → acknowledged or assigned
    /// → resolved or dismissed; any status may be reassigned or reopened; closed stays closed
    /// except by reopening.
    pub fn can_move_to(self, to: AlertStatus) -> bool {
        use AlertStatus::*;
        match (self, to) {
            (_, Open) => self != Open,
            (Open, _) => true,
            (Acknowledged, Assigned | Resolved | Dismissed) => true,
            (Assigned, Assigned | Acknowledged | Resolved | Dismissed) => true,
            _ => false,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            AlertStatus::Open => "open",
            AlertStatus::Acknowledged => "acknowledged",
            AlertStatus::Assigned => "assigned",
            AlertStatus::Resolved => "resolved",
            AlertStatus::Dismissed => "dismissed",
        }
    }
}

/// How urgent an alert is, least first (so `>=` means "at least as severe").
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AlertSeverity {
    Low,
    Medium,
    High,
    Critical,
}

impl AlertSeverity {
    pub fn as_str(self) -> &'static str {
        match self {
            AlertSeverity::Low => "low",
            AlertSeverity::Medium => "medium",
            AlertSeverity::High => "high",
            AlertSeverity::Critical => "critical",
        }
    }
}

/// A representative verbatim.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Quote {
    pub verbatim_id: String,
    pub text: String,
}

/// One status change.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AlertNote {
    pub at: Micros,
    pub status: AlertStatus,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub assignee: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub note: String,
}

/// The evidence behind an alert, measured over its window and baseline.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Evidence {
    pub class: FrequencyClass,
    pub mentions: u64,
    pub baseline_mentions: u64,
    pub share: f64,
    pub baseline_share: f64,
    pub velocity: f64,
    pub p_value: f64,
    pub average_sentiment: f64,
    pub negative_share: f64,
    pub baseline_negative_share: f64,
    /// Share of the mentions tagged critical, and high or critical.
    pub critical_share: f64,
    pub high_share: f64,
    pub affected_customers: u64,
    pub affected_customer_share: f64,
    pub window_start: Micros,
    pub window_end: Micros,
    pub baseline_start: Micros,
    pub first_seen: Micros,
    /// The baseline overdispersion the significance test was scaled by (at least 1).
    #[serde(default = "one")]
    pub dispersion: f64,
}

fn one() -> f64 {
    1.0
}

/// A theme an alert's incident spans, with its own mentions.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AlertTheme {
    pub id: String,
    pub label: String,
    pub mentions: u64,
    pub baseline_mentions: u64,
}

/// An emerging-issue alert: one per incident. Themes that rise together and are about the same
/// thing are one alert (`themes`), and a rise in volume and a jump in negative sentiment on it
/// are one alert with two `signals`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Alert {
    /// `AL-000001`, per workspace, never reused.
    pub id: String,
    pub workspace: String,
    pub rule: RuleKind,
    pub status: AlertStatus,
    pub severity: AlertSeverity,
    pub theme_id: String,
    pub theme_label: String,
    pub keywords: Vec<String>,
    /// "+340% share of voice, last 7 days (57 mentions)".
    pub summary: String,
    pub evidence: Evidence,
    pub quotes: Vec<Quote>,
    pub product_area: String,
    pub owner: String,
    pub recommended_action: String,
    /// The evaluation time (`as_of` for backtests).
    pub raised_at: Micros,
    pub updated_at: Micros,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub assignee: String,
    #[serde(default)]
    pub notes: Vec<AlertNote>,
    #[serde(default)]
    pub backtest: bool,
    /// Every theme of the incident, the alert's own `theme_id` first; the evidence counts their
    /// mentions together.
    #[serde(default)]
    pub themes: Vec<AlertTheme>,
    /// What fired, `rule` first.
    #[serde(default)]
    pub signals: Vec<RuleKind>,
    /// What customers say more of in the window than in the baseline (see
    /// [`content::rising_phrases`]).
    #[serde(default)]
    pub rising_phrases: Vec<String>,
    /// An emerging-phrase alert's phrase as customers write it (`theme_id` is then empty and
    /// `rising_phrases` lists the phrases that go with it).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub phrase: String,
    /// The phrase stemmed: what its cooldown is kept by.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub phrase_key: String,
}

impl Alert {
    /// The ids of the incident's themes (the alert's own theme for alerts recorded before
    /// incidents spanned themes).
    pub fn theme_ids(&self) -> Vec<&str> {
        if !self.themes.is_empty() {
            self.themes.iter().map(|t| t.id.as_str()).collect()
        } else if self.theme_id.is_empty() {
            Vec::new()
        } else {
            vec![self.theme_id.as_str()]
        }
    }

    /// What the alert's cooldown is kept by: its themes, or its phrase (`phrase:` and the stems).
    pub fn cooldown_subjects(&self) -> Vec<String> {
        if self.phrase_key.is_empty() {
            self.theme_ids().into_iter().map(String::from).collect()
        } else {
            vec![phrase_subject(&self.phrase_key)]
        }
    }

    /// The signals that fired (the rule alone for alerts recorded before signals were joined).
    pub fn fired(&self) -> Vec<RuleKind> {
        if self.signals.is_empty() {
            vec![self.rule]
        } else {
            self.signals.clone()
        }
    }
}

/// How a phrase's cooldown subject starts.
pub const PHRASE_SUBJECT: &str = "phrase:";

/// The cooldown subject of a stemmed phrase.
pub fn phrase_subject(key: &str) -> String {
    format!("{PHRASE_SUBJECT}{key}")
}

/// Formats an alert id.
pub fn alert_id(number: u64) -> String {
    format!("AL-{number:06}")
}

/// The event types webhooks can subscribe to.
pub const EVENT_CREATED: &str = "alert.created";
pub const EVENT_UPDATED: &str = "alert.updated";
pub const EVENT_TYPES: [&str; 2] = [EVENT_CREATED, EVENT_UPDATED];

/// A change to the alert log, as watchers and webhooks see it.
#[derive(Debug, Clone, PartialEq)]
pub struct AlertEvent {
    /// [`EVENT_CREATED`] or [`EVENT_UPDATED`].
    pub event_type: &'static str,
    pub alert: Alert,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lifecycle_moves_forward_and_can_reopen() {
        use AlertStatus::*;
        assert!(Open.can_move_to(Acknowledged));
        assert!(Open.can_move_to(Assigned));
        assert!(Acknowledged.can_move_to(Resolved));
        assert!(Assigned.can_move_to(Assigned));
        assert!(Resolved.can_move_to(Open));
        assert!(!Open.can_move_to(Open));
        assert!(!Resolved.can_move_to(Acknowledged));
        assert!(!Dismissed.can_move_to(Resolved));
        assert!(AlertSeverity::Critical > AlertSeverity::High);
        assert_eq!(alert_id(7), "AL-000007");
    }
}
