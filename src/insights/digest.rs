//! The digest: what a customer-experience team reviews each week, in one answer — the period's
//! volume, the alerts raised in it and those still open, the themes that moved most each way,
//! the themes past their SLA, each metric against the period before, and the top NPS drivers with
//! their impact then and now. Pure: composed from the other views over the period's verbatims
//! and the one before it.

use std::collections::{BTreeMap, HashMap};

use super::drivers::{by_theme, theme_scores, Impact};
use super::metric::{Measure, Metric, Tally};
use super::Window;
use crate::alerts::{Alert, AlertStatus};
use crate::model::Verbatim;
use crate::themes::record::{Theme, ThemeStatus};

/// A theme whose mentions moved between the periods.
#[derive(Debug, Clone, PartialEq)]
pub struct Mover {
    pub theme_id: String,
    pub mentions: u64,
    pub previous_mentions: u64,
    /// Relative change; `None` when it had no mentions before (new).
    pub change: Option<f64>,
}

impl Mover {
    /// Mentions gained (negative: lost).
    pub fn delta(&self) -> i64 {
        self.mentions as i64 - self.previous_mentions as i64
    }
}

/// A metric over the period and the one before.
#[derive(Debug, Clone, PartialEq)]
pub struct MetricChange {
    pub metric: Metric,
    pub now: Tally,
    pub before: Tally,
}

impl MetricChange {
    /// now − before (NPS points, or the mean's change); `None` unless both have answers.
    pub fn change(&self) -> Option<f64> {
        Some(self.now.mean()? - self.before.mean()?)
    }
}

/// One of the period's top negative NPS drivers, with its impact in the period before.
#[derive(Debug, Clone, PartialEq)]
pub struct DriverChange {
    pub theme_id: String,
    pub impact: Impact,
    /// `None` when the theme had too few scored verbatims before.
    pub previous_impact: Option<Impact>,
}

/// The digest of one period.
#[derive(Debug, Clone, PartialEq)]
pub struct Digest {
    pub volume: u64,
    pub previous_volume: u64,
    /// Live alerts raised in the period, newest first.
    pub new_alerts: Vec<Alert>,
    /// Live alerts raised before the period and still not resolved or dismissed at its end,
    /// newest first.
    pub open_alerts: Vec<Alert>,
    /// Themes that gained the most mentions, most first (at most `limit`), and lost the most.
    pub risers: Vec<Mover>,
    pub fallers: Vec<Mover>,
    /// Active themes past their due date and not resolved at the period's end, longest overdue
    /// first.
    pub sla_breaches: Vec<Theme>,
    /// NPS, CSAT and CES, those answered in either period.
    pub metrics: Vec<MetricChange>,
    /// The period's top negative NPS drivers (at most `limit`), most points taken first.
    pub drivers: Vec<DriverChange>,
}

/// The digest of `window` (`current` are its verbatims, `previous` those of the period before),
/// given the workspace's `themes` and `alerts`. Drivers need `min_scored` scored verbatims.
pub fn digest(
    window: Window,
    current: &[&Verbatim],
    previous: &[&Verbatim],
    themes: &HashMap<String, Theme>,
    alerts: &[Alert],
    min_scored: u64,
    limit: usize,
) -> Digest {
    let live = || alerts.iter().filter(|a| !a.backtest);
    let mut new_alerts: Vec<Alert> = live()
        .filter(|a| window.contains(a.raised_at))
        .cloned()
        .collect();
    let mut open_alerts: Vec<Alert> = live()
        .filter(|a| a.raised_at < window.start)
        .filter(|a| !matches!(a.status, AlertStatus::Resolved | AlertStatus::Dismissed))
        .cloned()
        .collect();
    for list in [&mut new_alerts, &mut open_alerts] {
        list.sort_by(|a, b| (b.raised_at, &b.id).cmp(&(a.raised_at, &a.id)));
    }

    let before = by_theme(previous);
    let now = by_theme(current);
    let mut ids: Vec<&str> = before.keys().chain(now.keys()).copied().collect();
    ids.sort_unstable();
    ids.dedup();
    let mut movers: Vec<Mover> = ids
        .into_iter()
        .map(|id| {
            let count = |of: &BTreeMap<&str, Vec<&Verbatim>>| of.get(id).map_or(0, Vec::len);
            let (mentions, previous_mentions) = (count(&now), count(&before));
            Mover {
                theme_id: id.to_string(),
                mentions: mentions as u64,
                previous_mentions: previous_mentions as u64,
                change: super::change(mentions as f64, previous_mentions as f64),
            }
        })
        .collect();
    movers.sort_by(|a, b| {
        b.delta()
            .cmp(&a.delta())
            .then_with(|| a.theme_id.cmp(&b.theme_id))
    });
    let risers: Vec<Mover> = movers
        .iter()
        .filter(|m| m.delta() > 0)
        .take(limit)
        .cloned()
        .collect();
    let fallers: Vec<Mover> = movers
        .iter()
        .rev()
        .filter(|m| m.delta() < 0)
        .take(limit)
        .cloned()
        .collect();

    let mut sla_breaches: Vec<Theme> = themes
        .values()
        .filter(|t| t.status == ThemeStatus::Active && t.accountability.breached(window.end))
        .cloned()
        .collect();
    sla_breaches.sort_by_key(|t| (t.accountability.due(), t.id.clone()));

    let metrics = [Metric::Nps, Metric::Csat, Metric::Ces]
        .into_iter()
        .map(|metric| MetricChange {
            metric,
            now: Tally::of(Measure::Metric(metric), current.iter().copied()),
            before: Tally::of(Measure::Metric(metric), previous.iter().copied()),
        })
        .filter(|m| m.now.n > 0 || m.before.n > 0)
        .collect();

    let nps = Measure::Metric(Metric::Nps);
    let then: HashMap<String, Impact> = theme_scores(nps, previous, min_scored)
        .into_iter()
        .filter_map(|s| Some((s.theme_id, s.impact?)))
        .collect();
    let mut drivers: Vec<DriverChange> = theme_scores(nps, current, min_scored)
        .into_iter()
        .filter_map(|s| {
            let impact = s.impact.filter(|i| i.points < 0.0)?;
            Some(DriverChange {
                previous_impact: then.get(&s.theme_id).copied(),
                theme_id: s.theme_id,
                impact,
            })
        })
        .collect();
    drivers.sort_by(|a, b| {
        a.impact
            .points
            .total_cmp(&b.impact.points)
            .then_with(|| a.theme_id.cmp(&b.theme_id))
    });
    drivers.truncate(limit);

    Digest {
        volume: current.len() as u64,
        previous_volume: previous.len() as u64,
        new_alerts,
        open_alerts,
        risers,
        fallers,
        sla_breaches,
        metrics,
        drivers,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Scores;
    use crate::themes::accountability::{AccountabilityEdit, ActionStatus};
    use crate::time::DAY;

    fn said(theme: &str, nps: Option<u8>, at: i64) -> Verbatim {
        Verbatim {
            theme: Some(theme.to_string()),
            created_at: at,
            scores: Scores {
                nps,
                ..Default::default()
            },
            ..Verbatim::example("ws", "words")
        }
    }

    fn theme(id: &str) -> Theme {
        let mut t: Theme = serde_json::from_value(serde_json::json!({
            "id": id, "label": id, "keywords": [], "centroid": [], "status": "active",
            "volume": 0, "share": 0.0, "quotes": [], "average_sentiment": 0.0, "tag_mix": {},
            "first_seen": 0, "refreshed_at": 0
        }))
        .unwrap();
        t.label = format!("label of {id}");
        t
    }

    fn alert(id: &str, raised_at: i64, status: AlertStatus, backtest: bool) -> Alert {
        let zero = 0.0;
        serde_json::from_value(serde_json::json!({
            "id": id, "workspace": "ws", "rule": "velocity", "status": status,
            "severity": "high", "theme_id": "A", "theme_label": "label of A", "keywords": [],
            "summary": "", "quotes": [], "product_area": "", "owner": "",
            "recommended_action": "", "raised_at": raised_at, "updated_at": raised_at,
            "backtest": backtest,
            "evidence": {
                "class": "growing", "mentions": 0, "baseline_mentions": 0, "share": zero,
                "baseline_share": zero, "velocity": zero, "p_value": zero,
                "average_sentiment": zero, "negative_share": zero,
                "baseline_negative_share": zero, "critical_share": zero, "high_share": zero,
                "affected_customers": 0, "affected_customer_share": zero, "window_start": 0,
                "window_end": 0, "baseline_start": 0, "first_seen": 0
            }
        }))
        .unwrap()
    }

    #[test]
    fn every_figure_of_a_hand_made_week() {
        let week = Window {
            start: 10 * DAY,
            end: 17 * DAY,
        };
        let before_at = 5 * DAY;
        let now_at = 12 * DAY;
        // Before: A 4 (NPS 10, 10, 0, 0), B 6 (all 9). Now: A 10 (2 × 10, 8 × 0), B 2 (9, 9),
        // C 3 (no scores).
        let mut previous: Vec<Verbatim> = Vec::new();
        for nps in [10, 10, 0, 0] {
            previous.push(said("A", Some(nps), before_at));
        }
        for _ in 0..6 {
            previous.push(said("B", Some(9), before_at));
        }
        let mut current: Vec<Verbatim> = Vec::new();
        for i in 0..10 {
            current.push(said("A", Some(if i < 2 { 10 } else { 0 }), now_at));
        }
        for _ in 0..2 {
            current.push(said("B", Some(9), now_at));
        }
        for _ in 0..3 {
            current.push(said("C", None, now_at));
        }
        let mut late = theme("A");
        late.accountability.apply(
            &AccountabilityEdit {
                sla_days: Some(2),
                ..Default::default()
            },
            true,
            None,
            12 * DAY,
        );
        let mut resolved = theme("B");
        resolved.accountability.apply(
            &AccountabilityEdit {
                sla_days: Some(1),
                status: Some(ActionStatus::Resolved),
                ..Default::default()
            },
            true,
            None,
            DAY,
        );
        let themes: HashMap<String, Theme> = [late, resolved, theme("C")]
            .into_iter()
            .map(|t| (t.id.clone(), t))
            .collect();
        let alerts = [
            alert("AL-1", 11 * DAY, AlertStatus::Open, false),
            alert("AL-2", 3 * DAY, AlertStatus::Assigned, false),
            alert("AL-3", 2 * DAY, AlertStatus::Resolved, false),
            alert("AL-4", 12 * DAY, AlertStatus::Open, true),
            alert("AL-5", 13 * DAY, AlertStatus::Dismissed, false),
        ];
        let (current, previous): (Vec<&Verbatim>, Vec<&Verbatim>) =
            (current.iter().collect(), previous.iter().collect());
        let d = digest(week, &current, &previous, &themes, &alerts, 3, 5);

        assert_eq!((d.volume, d.previous_volume), (15, 10));
        // New: raised in the week, live (the backtest is left out), newest first.
        let ids = |a: &[Alert]| a.iter().map(|a| a.id.clone()).collect::<Vec<_>>();
        assert_eq!(ids(&d.new_alerts), ["AL-5", "AL-1"]);
        // Open: raised before, not resolved or dismissed.
        assert_eq!(ids(&d.open_alerts), ["AL-2"]);
        // Movers: A +6 (4 → 10, +150%), C +3 (new); B −4 (6 → 2, −66.7%).
        let moved = |m: &[Mover]| {
            m.iter()
                .map(|m| (m.theme_id.clone(), m.delta(), m.change))
                .collect::<Vec<_>>()
        };
        assert_eq!(
            moved(&d.risers),
            [("A".to_string(), 6, Some(1.5)), ("C".to_string(), 3, None)]
        );
        assert_eq!(moved(&d.fallers), [("B".to_string(), -4, Some(-4.0 / 6.0))]);
        // A is due on day 14 and open at the week's end (day 17); B is resolved.
        assert_eq!(
            d.sla_breaches
                .iter()
                .map(|t| t.id.as_str())
                .collect::<Vec<_>>(),
            ["A"]
        );
        // NPS now: 12 answers, promoters 2 (A's 10s) + 2 (B's 9s) = 4, detractors 8:
        // (4 − 8) / 12 = −33.3. Before: 10 answers, promoters 2 + 6 = 8, detractors 2: +60.
        let nps = &d.metrics[0];
        assert_eq!(nps.metric, Metric::Nps);
        assert!((nps.now.mean().unwrap() - (-100.0 / 3.0)).abs() < 1e-9);
        assert!((nps.before.mean().unwrap() - 60.0).abs() < 1e-9);
        assert!((nps.change().unwrap() - (-100.0 / 3.0 - 60.0)).abs() < 1e-9);
        assert_eq!(d.metrics.len(), 1, "no csat or ces answered");
        // Drivers now: without A, NPS is B's alone: +100; with it −33.3: A takes 133.3 points.
        // Before: without A, +100; with it +60: A took 40.
        assert_eq!(d.drivers.len(), 1);
        let a = &d.drivers[0];
        assert_eq!(a.theme_id, "A");
        assert!((a.impact.points - (-100.0 / 3.0 - 100.0)).abs() < 1e-9);
        assert!((a.previous_impact.unwrap().points - (60.0 - 100.0)).abs() < 1e-9);
    }
}
