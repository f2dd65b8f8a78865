//! The theme spotlight: the most mentioned (or the fastest growing) themes of a window, each with
//! its change against the window of equal length before, its sentiment, and its impact on a
//! metric.

use std::collections::BTreeMap;

use super::drivers::{by_theme, theme_scores, Impact};
use super::metric::{Measure, Metric, Tally};
use crate::model::Verbatim;

/// One theme in the spotlight.
#[derive(Debug, Clone, PartialEq)]
pub struct SpotlightEntry {
    pub theme_id: String,
    /// Its verbatims in the window, and in the window before.
    pub mentions: u64,
    pub previous_mentions: u64,
    /// Relative change of mentions (0.5 is +50%); `None` when it had none before.
    pub change: Option<f64>,
    /// Mentions over the window's verbatims.
    pub share: f64,
    /// Mean sentiment score of its verbatims in the window.
    pub average_sentiment: Option<f64>,
    /// The metric among its scored verbatims in the window.
    pub metric: Tally,
    /// Its impact on the metric over the window (see [`super::drivers`]); `None` with fewer
    /// scored verbatims than the minimum.
    pub impact: Option<Impact>,
}

/// What the spotlight puts first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Rank {
    /// The most mentioned themes.
    #[default]
    Mentions,
    /// The themes whose mentions grew most against the window before (new ones first), among
    /// those with at least `min_mentions` in the window: growth on a handful is noise.
    Growth { min_mentions: u64 },
}

/// The first `limit` themes of `current` by `rank` (then by mentions, then id), against
/// `previous`.
pub fn spotlight(
    current: &[&Verbatim],
    previous: &[&Verbatim],
    metric: Metric,
    min_scored: u64,
    rank: Rank,
    limit: usize,
) -> Vec<SpotlightEntry> {
    let before: BTreeMap<&str, u64> = by_theme(previous)
        .into_iter()
        .map(|(theme, members)| (theme, members.len() as u64))
        .collect();
    let members = by_theme(current);
    let mut entries: Vec<SpotlightEntry> =
        theme_scores(Measure::Metric(metric), current, min_scored)
            .into_iter()
            .map(|score| {
                let previous_mentions = before.get(score.theme_id.as_str()).copied().unwrap_or(0);
                let sentiment = Tally::of(
                    Measure::Sentiment,
                    members[score.theme_id.as_str()].iter().copied(),
                );
                SpotlightEntry {
                    mentions: score.volume,
                    previous_mentions,
                    change: super::change(score.volume as f64, previous_mentions as f64),
                    share: score.volume as f64 / current.len().max(1) as f64,
                    average_sentiment: sentiment.mean(),
                    metric: score.tally,
                    impact: score.impact,
                    theme_id: score.theme_id,
                }
            })
            .collect();
    let by_mentions = |a: &SpotlightEntry, b: &SpotlightEntry| {
        b.mentions
            .cmp(&a.mentions)
            .then_with(|| a.theme_id.cmp(&b.theme_id))
    };
    match rank {
        Rank::Mentions => entries.sort_by(by_mentions),
        Rank::Growth { min_mentions } => {
            entries.retain(|e| e.mentions >= min_mentions);
            // A theme new in the window (no change to compute) grew the most.
            let growth = |e: &SpotlightEntry| e.change.unwrap_or(f64::INFINITY);
            entries.sort_by(|a, b| {
                growth(b)
                    .total_cmp(&growth(a))
                    .then_with(|| by_mentions(a, b))
            });
        }
    }
    entries.truncate(limit);
    entries
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::insights::drivers::tests::{corpus, scored};

    #[test]
    fn themes_rank_by_mentions_with_change_sentiment_and_impact() {
        let now = corpus();
        let current: Vec<&Verbatim> = now.iter().collect();
        // Before: TH-A twice, TH-B four times, TH-C never.
        let then = [
            scored(20, Some("TH-A"), None, 0.0),
            scored(21, Some("TH-A"), None, 0.0),
            scored(22, Some("TH-B"), None, 0.0),
            scored(23, Some("TH-B"), None, 0.0),
            scored(24, Some("TH-B"), None, 0.0),
            scored(25, Some("TH-B"), None, 0.0),
        ];
        let previous: Vec<&Verbatim> = then.iter().collect();
        let top = spotlight(&current, &previous, Metric::Nps, 2, Rank::Mentions, 2);
        // TH-A: 5 mentions (of 13 verbatims: 38.46%), 2 before: (5 − 2)/2 = +150%;
        // sentiment (−0.8 − 0.5 − 0.9 + 0.2 − 0.1)/5 = −0.42; NPS −50, impact −33.766.
        let a = &top[0];
        assert_eq!(
            (a.theme_id.as_str(), a.mentions, a.previous_mentions),
            ("TH-A", 5, 2)
        );
        assert_eq!(a.change, Some(1.5));
        assert!((a.share - 5.0 / 13.0).abs() < 1e-12);
        assert!((a.average_sentiment.unwrap() - -0.42).abs() < 1e-6);
        assert_eq!(a.metric.mean(), Some(-50.0));
        assert!((a.impact.unwrap().points - -33.766).abs() < 1e-3);
        // TH-B: 4 mentions, 4 before: 0%. TH-C (2 mentions) is cut by the limit of 2.
        assert_eq!(
            (top[1].theme_id.as_str(), top[1].change),
            ("TH-B", Some(0.0))
        );
        assert_eq!(top.len(), 2);
        // With room for it, TH-C: new (nothing before), one NPS answer: no impact.
        let all = spotlight(&current, &previous, Metric::Nps, 2, Rank::Mentions, 10);
        assert_eq!((all[2].theme_id.as_str(), all[2].change), ("TH-C", None));
        assert_eq!(all[2].impact, None);

        // By growth: TH-C is new (first), TH-A +150%, TH-B 0%; with a floor of 3 mentions TH-C
        // (2) is left out.
        let ids = |entries: Vec<SpotlightEntry>| {
            entries.into_iter().map(|e| e.theme_id).collect::<Vec<_>>()
        };
        let growth = |min_mentions| Rank::Growth { min_mentions };
        let grown = spotlight(&current, &previous, Metric::Nps, 2, growth(1), 10);
        assert_eq!(ids(grown), ["TH-C", "TH-A", "TH-B"]);
        let floored = spotlight(&current, &previous, Metric::Nps, 2, growth(3), 10);
        assert_eq!(ids(floored), ["TH-A", "TH-B"]);
    }
}
