//! The emerging-issue rule: its windows, thresholds and cooldown, as configured
//! (`[alerts.rules]`) and as each workspace may replace them.

use serde::{Deserialize, Serialize};

use crate::trends::Thresholds;

/// Windows and thresholds of the emerging-issue rule.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct AlertRule {
    /// Current window length, in seconds (default 7 days).
    pub window_secs: i64,
    /// Baseline window, just before the current one, in seconds (default 28 days).
    pub baseline_secs: i64,
    /// Velocity (relative growth of share) above which a theme may alert.
    pub velocity_threshold: f64,
    /// Mentions needed in the current window.
    pub min_mentions: u64,
    /// One-sided significance of the share increase; the engine applies it as a false discovery
    /// rate across a workspace's themes at each evaluation.
    pub significance: f64,
    /// Baseline share under which a theme counts as new (Emerging).
    pub new_share: f64,
    /// No second alert for the same theme and rule within this many seconds.
    pub cooldown_secs: i64,
    /// Negative-sentiment spike: the rise, in points, of the share of a theme's mentions that
    /// are negative (0.25 = from 30% to 55%).
    pub negative_share_increase: f64,
}

impl Default for AlertRule {
    fn default() -> Self {
        let thresholds = Thresholds::default();
        AlertRule {
            window_secs: 7 * 86_400,
            baseline_secs: 28 * 86_400,
            velocity_threshold: thresholds.velocity,
            min_mentions: thresholds.min_mentions,
            significance: thresholds.significance,
            new_share: thresholds.new_share,
            cooldown_secs: 7 * 86_400,
            negative_share_increase: thresholds.negative_share_increase,
        }
    }
}

impl AlertRule {
    /// The thresholds the trend tests apply.
    pub fn thresholds(&self) -> Thresholds {
        Thresholds {
            velocity: self.velocity_threshold,
            min_mentions: self.min_mentions,
            significance: self.significance,
            new_share: self.new_share,
            negative_share_increase: self.negative_share_increase,
        }
    }

    /// The first field that makes no sense, with why.
    pub fn invalid_field(&self) -> Option<(&'static str, &'static str)> {
        if self.window_secs <= 0 {
            return Some(("window_seconds", "must be positive"));
        }
        if self.baseline_secs <= 0 {
            return Some(("baseline_seconds", "must be positive"));
        }
        if !(self.velocity_threshold > 0.0 && self.velocity_threshold.is_finite()) {
            return Some(("velocity_threshold", "must be positive"));
        }
        if !(self.significance > 0.0 && self.significance < 1.0) {
            return Some(("significance", "must be between 0 and 1"));
        }
        if !(0.0..1.0).contains(&self.new_share) {
            return Some(("new_share", "must be in [0, 1)"));
        }
        if self.cooldown_secs < 0 {
            return Some(("cooldown_seconds", "must not be negative"));
        }
        if !(self.negative_share_increase > 0.0 && self.negative_share_increase < 1.0) {
            return Some(("negative_share_increase", "must be between 0 and 1"));
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rules_name_their_bad_field() {
        let rule = AlertRule {
            significance: 1.5,
            ..Default::default()
        };
        assert_eq!(rule.invalid_field().unwrap().0, "significance");
        assert!(AlertRule::default().invalid_field().is_none());
    }
}
