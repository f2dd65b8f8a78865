//! Metric drivers: which themes move a score, and by how much.
//!
//! A theme's **impact** is the score over every scored verbatim in scope minus the score over
//! those outside the theme: the points the theme adds (positive) or takes (negative). With `n`
//! scored verbatims, `k` of them in the theme, it equals `k/n × (mean in the theme − mean
//! outside)`, which gives its interval: **analytic**, a normal approximation (95%) of that
//! difference of two independent means, each with its sample variance, scaled by the theme's
//! share `k/n` (taken as fixed). Themes with fewer than the configured minimum of scored
//! verbatims get no impact and are listed as too few, never ranked.

use std::collections::{BTreeMap, HashMap};

use super::metric::{Measure, Metric, Tally};
use crate::model::Verbatim;

/// The two-sided 95% quantile of the standard normal distribution.
const Z_95: f64 = 1.959_963_984_540_054;

/// What a group of verbatims does to a score, with a 95% interval.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Impact {
    /// Score over all − score without the group.
    pub points: f64,
    pub low: f64,
    pub high: f64,
}

/// The impact of `group` (some of `all`'s verbatims) on the mean of `all`; `None` when the group
/// or the rest has no scored verbatim.
pub fn impact(all: &Tally, group: &Tally) -> Option<Impact> {
    let rest = all.without(group);
    let (overall, without) = (all.mean()?, rest.mean()?);
    group.mean()?;
    let points = overall - without;
    let weight = group.n as f64 / all.n as f64;
    let error = weight * (group.mean_variance() + rest.mean_variance()).sqrt();
    Some(Impact {
        points,
        low: points - Z_95 * error,
        high: points + Z_95 * error,
    })
}

/// One theme's standing on a measure in a scope.
#[derive(Debug, Clone, PartialEq)]
pub struct ThemeScore {
    pub theme_id: String,
    /// The theme's verbatims in scope, scored or not.
    pub volume: u64,
    /// The measure among the theme's own scored verbatims.
    pub tally: Tally,
    /// `None` when the theme has fewer scored verbatims than the minimum.
    pub impact: Option<Impact>,
    /// A verbatim that shows what the theme does to the score (drivers only).
    pub quote: Option<Quote>,
}

/// A verbatim quoted for a driver.
#[derive(Debug, Clone, PartialEq)]
pub struct Quote {
    /// Its number in the workspace.
    pub number: u64,
    pub text: String,
}

/// Every theme's verbatims in `verbatims`, by theme id.
pub fn by_theme<'a>(verbatims: &[&'a Verbatim]) -> BTreeMap<&'a str, Vec<&'a Verbatim>> {
    let mut themes: BTreeMap<&str, Vec<&Verbatim>> = BTreeMap::new();
    for v in verbatims {
        if let Some(theme) = v.theme.as_deref() {
            themes.entry(theme).or_default().push(v);
        }
    }
    themes
}

/// Every theme present in `verbatims`, in id order, with its volume, its tally of `measure`
/// and, when it has at least `min_scored` scored verbatims, its impact on the measure over all
/// of `verbatims`. No quotes.
pub fn theme_scores(measure: Measure, verbatims: &[&Verbatim], min_scored: u64) -> Vec<ThemeScore> {
    let all = Tally::of(measure, verbatims.iter().copied());
    by_theme(verbatims)
        .into_iter()
        .map(|(theme, members)| {
            let tally = Tally::of(measure, members.iter().copied());
            ThemeScore {
                theme_id: theme.to_string(),
                volume: members.len() as u64,
                impact: (tally.n >= min_scored)
                    .then(|| impact(&all, &tally))
                    .flatten(),
                tally,
                quote: None,
            }
        })
        .collect()
}

/// The drivers of a metric in a scope.
#[derive(Debug, Clone, PartialEq)]
pub struct Drivers {
    pub metric: Metric,
    /// Verbatims in scope, scored or not.
    pub verbatims: u64,
    /// The metric over every scored verbatim in scope.
    pub overall: Tally,
    /// Themes taking points, the most first (at most `limit`).
    pub negative: Vec<ThemeScore>,
    /// Themes adding points, the most first (at most `limit`).
    pub positive: Vec<ThemeScore>,
    /// Themes with fewer scored verbatims than the minimum, largest first: not ranked.
    pub too_few: Vec<ThemeScore>,
    /// The minimum of scored verbatims a theme needs to be ranked.
    pub min_scored: u64,
}

/// The top `limit` negative and positive drivers of `metric` among `verbatims`, each with a
/// quote. `representative` holds each theme's representative verbatims (numbers, best first),
/// which a quote is taken from when one of them is on the driver's side.
pub fn drivers(
    metric: Metric,
    verbatims: &[&Verbatim],
    representative: &HashMap<String, Vec<u64>>,
    min_scored: u64,
    limit: usize,
) -> Drivers {
    let measure = Measure::Metric(metric);
    let overall = Tally::of(measure, verbatims.iter().copied());
    let members = by_theme(verbatims);
    let (mut ranked, mut too_few): (Vec<ThemeScore>, Vec<ThemeScore>) =
        theme_scores(measure, verbatims, min_scored)
            .into_iter()
            .filter(|t| t.tally.n > 0)
            .partition(|t| t.impact.is_some());
    let points = |t: &ThemeScore| t.impact.map_or(0.0, |i| i.points);
    ranked.sort_by(|a, b| {
        points(a)
            .total_cmp(&points(b))
            .then_with(|| a.theme_id.cmp(&b.theme_id))
    });
    let negative: Vec<ThemeScore> = ranked
        .iter()
        .filter(|t| points(t) < 0.0)
        .take(limit)
        .cloned()
        .collect();
    let positive: Vec<ThemeScore> = ranked
        .iter()
        .rev()
        .filter(|t| points(t) > 0.0)
        .take(limit)
        .cloned()
        .collect();
    too_few.sort_by(|a, b| {
        (b.tally.n, b.volume)
            .cmp(&(a.tally.n, a.volume))
            .then_with(|| a.theme_id.cmp(&b.theme_id))
    });
    let mean = overall.mean().unwrap_or(0.0);
    let quoted = |mut drivers: Vec<ThemeScore>, below: bool| {
        for d in &mut drivers {
            let empty = Vec::new();
            let best = representative.get(&d.theme_id).unwrap_or(&empty);
            d.quote = quote(measure, &members[d.theme_id.as_str()], mean, below, best);
        }
        drivers
    };
    Drivers {
        metric,
        verbatims: verbatims.len() as u64,
        overall,
        negative: quoted(negative, true),
        positive: quoted(positive, false),
        too_few,
        min_scored,
    }
}

/// A quote for a driver: one of the theme's scored verbatims on the side it pushes the score
/// (below the overall mean for a negative driver, above it for a positive one) — the first of
/// the theme's representative verbatims that is, else the one whose sentiment leans furthest
/// that way (the earliest on a tie).
fn quote(
    measure: Measure,
    members: &[&Verbatim],
    mean: f64,
    below: bool,
    representative: &[u64],
) -> Option<Quote> {
    let side: Vec<&Verbatim> = members
        .iter()
        .copied()
        .filter(|v| {
            measure
                .read(v)
                .is_some_and(|(value, _)| if below { value < mean } else { value > mean })
        })
        .collect();
    let chosen = representative
        .iter()
        .find_map(|&n| side.iter().copied().find(|v| v.number == n));
    let lean = |v: &Verbatim| {
        let score = Measure::Sentiment.read(v).map_or(0.0, |(s, _)| s);
        if below {
            score
        } else {
            -score
        }
    };
    chosen
        .or_else(|| {
            side.iter()
                .copied()
                .min_by(|a, b| lean(a).total_cmp(&lean(b)).then(a.number.cmp(&b.number)))
        })
        .map(|v| Quote {
            number: v.number,
            text: v.text.clone(),
        })
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::model::tags::{Sentiment, SentimentLabel};

    /// A verbatim numbered `number` in `theme` (none: unthemed) with an NPS answer and a
    /// sentiment score.
    pub(crate) fn scored(
        number: u64,
        theme: Option<&str>,
        nps: Option<u8>,
        sentiment: f32,
    ) -> Verbatim {
        let mut v = Verbatim::example("ws", &format!("verbatim {number}"));
        v.number = number;
        v.theme = theme.map(str::to_string);
        v.scores.nps = nps;
        v.tags.sentiment = Some(Sentiment {
            score: sentiment,
            label: if sentiment < 0.0 {
                SentimentLabel::Negative
            } else {
                SentimentLabel::Positive
            },
            confidence: 1.0,
            evidence: Vec::new(),
            origin: Default::default(),
        });
        v
    }

    /// 13 verbatims, 11 with an NPS answer:
    /// - TH-A (billing): 0, 2, 5, 9 and one without a score;
    /// - TH-B (app): 10, 10, 9, 8;
    /// - TH-C: 3 and one without a score;
    /// - unthemed: 7, 10.
    pub(crate) fn corpus() -> Vec<Verbatim> {
        vec![
            scored(1, Some("TH-A"), Some(0), -0.8),
            scored(2, Some("TH-A"), Some(2), -0.5),
            scored(3, Some("TH-A"), Some(5), -0.9),
            scored(4, Some("TH-A"), Some(9), 0.2),
            scored(5, Some("TH-A"), None, -0.1),
            scored(6, Some("TH-B"), Some(10), 0.9),
            scored(7, Some("TH-B"), Some(10), 0.6),
            scored(8, Some("TH-B"), Some(9), 0.4),
            scored(9, Some("TH-B"), Some(8), 0.1),
            scored(10, Some("TH-C"), Some(3), -0.3),
            scored(11, Some("TH-C"), None, 0.0),
            scored(12, None, Some(7), 0.0),
            scored(13, None, Some(10), 0.5),
        ]
    }

    #[test]
    fn impact_is_the_score_minus_the_score_without_the_theme() {
        let corpus = corpus();
        let all: Vec<&Verbatim> = corpus.iter().collect();
        let representative: HashMap<String, Vec<u64>> = [("TH-A".to_string(), vec![4, 2])].into();
        let d = drivers(Metric::Nps, &all, &representative, 2, 5);
        // 11 answers: promoters 9, 10, 10, 9, 10 (5), detractors 0, 2, 5, 3 (4):
        // NPS = (5 − 4) / 11 × 100 = 9.0909.
        assert_eq!((d.verbatims, d.overall.n), (13, 11));
        assert!((d.overall.mean().unwrap() - 9.0909).abs() < 1e-4);

        // TH-A: NPS among its own 4 answers = (1 − 3) / 4 = −50. Without it, 7 answers with
        // promoters 10, 10, 9, 10 (4) and detractor 3 (1): (4 − 1) / 7 = 42.857.
        // Impact = 9.0909 − 42.857 = −33.766 (= 4/11 × (−50 − 42.857)).
        // Interval: its values −100, −100, −100, +100: sample variance (40,000 − 200²/4)/3 =
        // 10,000, over 4: 2,500. The rest's values 100, 100, 100, 0, −100, 0, 100: sum 300,
        // squares 50,000, variance (50,000 − 300²/7)/6 = 6,190.48, over 7: 884.35.
        // Error 4/11 × √(2,500 + 884.35) = 21.155; ±1.96 × 21.155 = ±41.462: [−75.229, 7.696].
        let a = &d.negative[0];
        assert_eq!((a.theme_id.as_str(), a.volume, a.tally.n), ("TH-A", 5, 4));
        assert_eq!(a.tally.mean(), Some(-50.0));
        let i = a.impact.unwrap();
        assert!((i.points - -33.766).abs() < 1e-3, "{i:?}");
        assert!(
            (i.low - -75.229).abs() < 1e-3 && (i.high - 7.696).abs() < 1e-3,
            "{i:?}"
        );
        // Its representative verbatims are 4 (a 9: above the mean, the wrong side) and 2 (a 2).
        assert_eq!(a.quote.as_ref().map(|q| q.number), Some(2));

        // TH-B: NPS 3/4 = 75. Without it: promoters 9, 10 (2), detractors 0, 2, 5, 3 (4) of 7:
        // −28.571. Impact = 9.0909 + 28.571 = +37.662.
        let b = &d.positive[0];
        assert_eq!(b.theme_id, "TH-B");
        assert!((b.impact.unwrap().points - 37.662).abs() < 1e-3);
        // No representative verbatims: of those above the mean (all four), the most positive.
        assert_eq!(
            b.quote.as_ref().map(|q| (q.number, q.text.as_str())),
            Some((6, "verbatim 6"))
        );
        assert_eq!((d.negative.len(), d.positive.len()), (1, 1));

        // TH-C has one answer, under the minimum of 2: listed, not ranked.
        assert_eq!(d.too_few.len(), 1);
        assert_eq!(
            (d.too_few[0].theme_id.as_str(), d.too_few[0].volume),
            ("TH-C", 2)
        );
        assert_eq!(d.too_few[0].impact, None);
    }

    #[test]
    fn a_theme_holding_every_answer_has_no_impact() {
        let corpus = corpus();
        let b: Vec<&Verbatim> = corpus[5..9].iter().collect();
        let scores = theme_scores(Measure::Metric(Metric::Nps), &b, 1);
        assert_eq!(scores.len(), 1);
        assert_eq!(scores[0].impact, None);
    }
}
