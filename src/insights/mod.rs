//! Insights: the read-only views a customer-experience team runs its week on, computed from every
//! stored verbatim that matches a request's window and search filter (never a sample).
//!
//! - [`drivers`]: which themes move NPS, CSAT or CES, by how many points, with a confidence
//!   interval; themes with too few scored verbatims are listed apart, never ranked.
//! - [`spotlight`]: the largest themes of a window with their change against the window before.
//! - [`sentiment`]: label shares and their change, the score and its daily trend, by source and
//!   segment, and distinctive positive and negative [`keywords`] (log-odds with an informative
//!   Dirichlet prior).
//! - [`journey`]: the health of each journey stage, with a status from configured thresholds.
//! - [`compare`]: themes over- and under-represented in one segment against another, with the
//!   alerts' significance test and false-discovery control.
//! - [`digest`]: the weekly review in one answer — new and open alerts, top movers, SLA
//!   breaches, metric and driver changes against the period before.
//!
//! The views are pure functions over verbatims ([`metric`] holds the scores they share); the
//! [`service`] reads the store, resolves windows and attaches theme records.

pub mod compare;
pub mod digest;
pub mod drivers;
pub mod journey;
pub mod keywords;
pub mod metric;
pub mod sentiment;
pub mod service;
pub mod spotlight;

use serde::{Deserialize, Serialize};

pub use self::journey::JourneyThresholds;
pub use self::metric::{Measure, Metric, Tally};
use crate::model::ValidationError;
use crate::time::Micros;

/// A half-open span of `created_at`: from `start` (inclusive) to `end` (exclusive).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Window {
    pub start: Micros,
    pub end: Micros,
}

impl Window {
    /// A window, or an error naming `window.end` when it does not end after it starts.
    pub fn new(start: Micros, end: Micros) -> Result<Window, ValidationError> {
        if end <= start {
            return Err(ValidationError::new(
                "window.end",
                "must be after window.start",
            ));
        }
        Ok(Window { start, end })
    }

    /// The window of equal length just before this one.
    pub fn previous(&self) -> Window {
        let length = self.end.saturating_sub(self.start);
        Window {
            start: self.start.saturating_sub(length),
            end: self.start,
        }
    }

    pub fn contains(&self, at: Micros) -> bool {
        self.start <= at && at < self.end
    }
}

/// Relative change from `previous` to `current` (0.5 is +50%); `None` when there was nothing
/// before to compare with.
pub fn change(current: f64, previous: f64) -> Option<f64> {
    (previous != 0.0).then(|| (current - previous) / previous.abs())
}

/// The `[insights]` configuration section.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct InsightsConfig {
    /// A request without a window start looks back this many days from its end (which defaults
    /// to just after the workspace's newest verbatim).
    pub default_window_days: u32,
    /// Fewest scored verbatims a theme needs to be ranked as a driver or given an impact (fewer
    /// are listed as too few); also what a journey stage's NPS needs to set its status.
    pub min_scored: u64,
    /// The false discovery rate of a segment comparison (Benjamini–Hochberg over every theme's
    /// over- and under-representation test).
    pub false_discovery_rate: f64,
    /// When a journey stage is Watch or Critical.
    pub journey: JourneyThresholds,
}

impl Default for InsightsConfig {
    fn default() -> Self {
        InsightsConfig {
            default_window_days: 7,
            min_scored: 30,
            false_discovery_rate: 0.05,
            journey: JourneyThresholds::default(),
        }
    }
}

impl InsightsConfig {
    /// The first field with a value the views cannot work with, and why.
    pub fn invalid_field(&self) -> Option<(&'static str, &'static str)> {
        if self.default_window_days == 0 {
            return Some(("insights.default_window_days", "must be positive"));
        }
        if self.min_scored == 0 {
            return Some(("insights.min_scored", "must be positive"));
        }
        if !(self.false_discovery_rate > 0.0 && self.false_discovery_rate < 1.0) {
            return Some((
                "insights.false_discovery_rate",
                "must be between 0 and 1 (exclusive)",
            ));
        }
        self.journey.invalid_field()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_previous_window_has_the_same_length_and_ends_where_this_one_starts() {
        let w = Window::new(100, 130).unwrap();
        assert_eq!(
            w.previous(),
            Window {
                start: 70,
                end: 100
            }
        );
        assert!(w.contains(100) && w.contains(129) && !w.contains(130));
        let err = Window::new(130, 100).unwrap_err();
        assert_eq!(err.field, "window.end");
        assert!(Window::new(5, 5).is_err());
    }

    #[test]
    fn change_is_relative_and_absent_without_a_before() {
        // 15 mentions after 10: (15 − 10) / 10 = +50%.
        assert_eq!(change(15.0, 10.0), Some(0.5));
        // 4 after 8: (4 − 8) / 8 = −50%.
        assert_eq!(change(4.0, 8.0), Some(-0.5));
        assert_eq!(change(3.0, 0.0), None);
    }

    #[test]
    fn the_defaults_are_valid_and_bad_values_are_named() {
        assert_eq!(InsightsConfig::default().invalid_field(), None);
        let bad = InsightsConfig {
            false_discovery_rate: 1.0,
            ..Default::default()
        };
        assert_eq!(
            bad.invalid_field().map(|(f, _)| f),
            Some("insights.false_discovery_rate")
        );
    }
}
