//! Journey health: for every journey stage tagged in a window, its volume, sentiment and scores
//! against the window before, a status from configured thresholds, and the theme dragging its
//! sentiment down the most.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::drivers::{theme_scores, ThemeScore};
use super::metric::{Measure, Metric, Tally};
use crate::model::Verbatim;

/// When a journey stage needs watching, or action. A stage is **Critical** when its average
/// sentiment is at or below `critical_sentiment`, or its NPS (from at least `insights.min_scored`
/// answers) at or below `critical_nps`; else **Watch** when its average sentiment is at or below
/// `watch_sentiment`, its NPS at or below `watch_nps`, or its average sentiment fell by at least
/// `watch_sentiment_drop` against the window before; else **OK**.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct JourneyThresholds {
    pub watch_sentiment: f64,
    pub critical_sentiment: f64,
    pub watch_nps: f64,
    pub critical_nps: f64,
    pub watch_sentiment_drop: f64,
}

impl Default for JourneyThresholds {
    fn default() -> Self {
        JourneyThresholds {
            watch_sentiment: -0.1,
            critical_sentiment: -0.3,
            watch_nps: 0.0,
            critical_nps: -30.0,
            watch_sentiment_drop: 0.15,
        }
    }
}

impl JourneyThresholds {
    /// The first field out of order or range, and why.
    pub fn invalid_field(&self) -> Option<(&'static str, &'static str)> {
        if !(-1.0..=1.0).contains(&self.watch_sentiment)
            || !(-1.0..=self.watch_sentiment).contains(&self.critical_sentiment)
        {
            return Some((
                "insights.journey.critical_sentiment",
                "must be at most watch_sentiment, both between -1 and 1",
            ));
        }
        if !(-100.0..=100.0).contains(&self.watch_nps)
            || !(-100.0..=self.watch_nps).contains(&self.critical_nps)
        {
            return Some((
                "insights.journey.critical_nps",
                "must be at most watch_nps, both between -100 and 100",
            ));
        }
        if self.watch_sentiment_drop.is_nan() || self.watch_sentiment_drop <= 0.0 {
            return Some(("insights.journey.watch_sentiment_drop", "must be positive"));
        }
        None
    }
}

/// A journey stage's status.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    Ok,
    Watch,
    Critical,
}

/// One journey stage in a window.
#[derive(Debug, Clone, PartialEq)]
pub struct StageHealth {
    /// The journey stage's category id.
    pub stage: String,
    pub volume: u64,
    pub previous_volume: u64,
    /// Relative change of volume; `None` when the stage had nothing before.
    pub volume_change: Option<f64>,
    pub sentiment: Tally,
    pub previous_sentiment: Tally,
    pub nps: Tally,
    pub csat: Tally,
    pub ces: Tally,
    pub status: Status,
    /// Which thresholds set the status, in words.
    pub reason: String,
    /// The team owning the stage (its taxonomy category's owner); empty until the service
    /// names it.
    pub owner: String,
    /// The theme with the most negative impact on the stage's average sentiment, if any theme
    /// (with at least the minimum of verbatims) lowers it.
    pub dragging: Option<ThemeScore>,
}

/// Every journey stage of a window, largest first, and how many verbatims carry no stage.
#[derive(Debug, Clone, PartialEq)]
pub struct JourneyHealth {
    pub stages: Vec<StageHealth>,
    pub unstaged: u64,
}

fn by_stage<'a>(verbatims: &[&'a Verbatim]) -> BTreeMap<&'a str, Vec<&'a Verbatim>> {
    let mut stages: BTreeMap<&str, Vec<&Verbatim>> = BTreeMap::new();
    for v in verbatims {
        if let Some(stage) = &v.tags.journey_stage {
            stages.entry(stage.value.as_str()).or_default().push(v);
        }
    }
    stages
}

/// The health of every stage in `current` against `previous`.
pub fn journey(
    current: &[&Verbatim],
    previous: &[&Verbatim],
    thresholds: &JourneyThresholds,
    min_scored: u64,
) -> JourneyHealth {
    let before = by_stage(previous);
    let now = by_stage(current);
    let staged: usize = now.values().map(Vec::len).sum();
    let mut stages: Vec<StageHealth> = now
        .into_iter()
        .map(|(stage, members)| {
            let earlier = before.get(stage).map_or(&[][..], Vec::as_slice);
            let tally =
                |measure, verbatims: &[&Verbatim]| Tally::of(measure, verbatims.iter().copied());
            let sentiment = tally(Measure::Sentiment, &members);
            let previous_sentiment = tally(Measure::Sentiment, earlier);
            let nps = tally(Measure::Metric(Metric::Nps), &members);
            let (status, reason) = status(
                thresholds,
                &sentiment,
                &previous_sentiment,
                (nps.n >= min_scored).then(|| nps.mean()).flatten(),
            );
            let dragging = theme_scores(Measure::Sentiment, &members, min_scored)
                .into_iter()
                .filter(|t| t.impact.is_some_and(|i| i.points < 0.0))
                .min_by(|a, b| {
                    let points = |t: &ThemeScore| t.impact.map_or(0.0, |i| i.points);
                    points(a)
                        .total_cmp(&points(b))
                        .then_with(|| a.theme_id.cmp(&b.theme_id))
                });
            StageHealth {
                stage: stage.to_string(),
                volume: members.len() as u64,
                previous_volume: earlier.len() as u64,
                volume_change: super::change(members.len() as f64, earlier.len() as f64),
                sentiment,
                previous_sentiment,
                nps,
                csat: tally(Measure::Metric(Metric::Csat), &members),
                ces: tally(Measure::Metric(Metric::Ces), &members),
                status,
                reason,
                owner: String::new(),
                dragging,
            }
        })
        .collect();
    stages.sort_by(|a, b| b.volume.cmp(&a.volume).then_with(|| a.stage.cmp(&b.stage)));
    JourneyHealth {
        stages,
        unstaged: (current.len() - staged) as u64,
    }
}

/// The status the thresholds give, and the reasons (the critical ones when critical).
fn status(
    t: &JourneyThresholds,
    sentiment: &Tally,
    previous: &Tally,
    nps: Option<f64>,
) -> (Status, String) {
    let average = sentiment.mean();
    let mut critical = Vec::new();
    let mut watch = Vec::new();
    if let Some(a) = average {
        if a <= t.critical_sentiment {
            critical.push(format!(
                "average sentiment {a:.2} at or below {:.2}",
                t.critical_sentiment
            ));
        } else if a <= t.watch_sentiment {
            watch.push(format!(
                "average sentiment {a:.2} at or below {:.2}",
                t.watch_sentiment
            ));
        }
    }
    if let Some(nps) = nps {
        if nps <= t.critical_nps {
            critical.push(format!("nps {nps:.1} at or below {:.1}", t.critical_nps));
        } else if nps <= t.watch_nps {
            watch.push(format!("nps {nps:.1} at or below {:.1}", t.watch_nps));
        }
    }
    if let (Some(now), Some(before)) = (average, previous.mean()) {
        if before - now >= t.watch_sentiment_drop {
            watch.push(format!(
                "average sentiment fell {:.2} (from {before:.2} to {now:.2})",
                before - now
            ));
        }
    }
    if !critical.is_empty() {
        (Status::Critical, critical.join("; "))
    } else if !watch.is_empty() {
        (Status::Watch, watch.join("; "))
    } else {
        (Status::Ok, "within thresholds".to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::insights::drivers::tests::scored;
    use crate::model::tags::Tag;

    fn at(stage: Option<&str>, theme: Option<&str>, nps: Option<u8>, sentiment: f32) -> Verbatim {
        let mut v = scored(0, theme, nps, sentiment);
        v.tags.journey_stage = stage.map(|s| Tag::given(s, Default::default()));
        v
    }

    #[test]
    fn stage_health_with_status_change_and_the_theme_dragging_it_down() {
        let (c, o, s) = (Some("checkout"), Some("onboarding"), Some("support"));
        let (a, b) = (Some("TH-A"), Some("TH-B"));
        let now = [
            at(c, a, Some(0), -0.6),
            at(c, a, Some(3), -0.4),
            at(c, a, None, -0.5),
            at(c, b, Some(9), 0.2),
            at(c, b, None, 0.1),
            at(c, None, None, 0.0),
            at(o, None, Some(10), 0.5),
            at(o, None, Some(9), 0.3),
            at(o, None, Some(10), 0.4),
            at(o, None, Some(2), 0.2),
            at(s, None, Some(0), 0.1),
            at(s, None, Some(1), 0.0),
            at(s, None, Some(2), -0.05),
            at(s, None, Some(9), 0.15),
            at(None, None, None, 0.0),
        ];
        let then = [
            at(c, None, None, 0.0),
            at(c, None, None, 0.1),
            at(c, None, None, -0.1),
            at(c, None, None, 0.0),
            at(s, None, None, 0.3),
            at(s, None, None, 0.3),
        ];
        let current: Vec<&Verbatim> = now.iter().collect();
        let previous: Vec<&Verbatim> = then.iter().collect();
        let h = journey(&current, &previous, &JourneyThresholds::default(), 2);
        assert_eq!(h.unstaged, 1);
        let names: Vec<&str> = h.stages.iter().map(|s| s.stage.as_str()).collect();
        assert_eq!(names, ["checkout", "onboarding", "support"]);
        let close = |x: Option<f64>, y: f64| (x.unwrap() - y).abs() < 1e-6;

        // Checkout: 6 now, 4 before: +50%. Sentiment (−0.6 − 0.4 − 0.5 + 0.2 + 0.1 + 0) / 6 =
        // −0.2, before 0: at or below −0.1 (Watch) and a fall of 0.2 ≥ 0.15 (Watch). Its NPS
        // answers 0, 3, 9: (1 − 2) / 3 = −33.3, at or below −30 from 3 ≥ 2 answers: Critical.
        let checkout = &h.stages[0];
        assert_eq!((checkout.volume, checkout.previous_volume), (6, 4));
        assert_eq!(checkout.volume_change, Some(0.5));
        assert!(close(checkout.sentiment.mean(), -0.2));
        assert!(close(checkout.previous_sentiment.mean(), 0.0));
        assert!(close(checkout.nps.mean(), -100.0 / 3.0));
        assert_eq!(checkout.status, Status::Critical);
        assert_eq!(checkout.reason, "nps -33.3 at or below -30.0");
        // TH-A drags it: without its 3 verbatims the mean is (0.2 + 0.1 + 0) / 3 = 0.1, so its
        // impact is −0.2 − 0.1 = −0.3. (TH-B: without it (−0.6 − 0.4 − 0.5 + 0) / 4 = −0.375,
        // impact +0.175.)
        let drag = checkout.dragging.as_ref().unwrap();
        assert_eq!(drag.theme_id, "TH-A");
        assert!((drag.impact.unwrap().points - -0.3).abs() < 1e-6);

        // Onboarding: sentiment 0.35, NPS (3 − 1) / 4 = 50: OK; nothing before.
        let onboarding = &h.stages[1];
        assert_eq!(
            (onboarding.status, onboarding.volume_change),
            (Status::Ok, None)
        );
        assert_eq!(onboarding.nps.mean(), Some(50.0));
        assert!(onboarding.dragging.is_none());

        // Support: sentiment (0.1 + 0 − 0.05 + 0.15) / 4 = 0.05, before 0.3: a fall of 0.25;
        // NPS (1 − 3) / 4 = −50: Critical (the critical reason only).
        let support = &h.stages[2];
        assert_eq!(support.status, Status::Critical);
        assert_eq!(support.reason, "nps -50.0 at or below -30.0");
        // With NPS needing 5 answers, only the fall counts: Watch.
        let h = journey(&current, &previous, &JourneyThresholds::default(), 5);
        assert_eq!(h.stages[2].status, Status::Watch);
        assert_eq!(
            h.stages[2].reason,
            "average sentiment fell 0.25 (from 0.30 to 0.05)"
        );
        assert_eq!(h.stages[0].status, Status::Watch);
    }
}
