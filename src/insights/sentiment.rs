//! The sentiment summary of a window: volume, label shares and their change against the window
//! before, the mean score and its daily trend, the same by source and by a metadata segment, and
//! the keywords that set positive verbatims apart from negative ones ([`super::keywords`]).

use std::collections::BTreeMap;

use super::keywords::{distinctive, Distinctive};
use super::metric::{Measure, Tally};
use super::Window;
use crate::model::tags::SentimentLabel;
use crate::model::Verbatim;
use crate::time::{Granularity, Micros};

/// Most groups listed by source or by segment: the largest.
pub const MAX_GROUPS: usize = 50;

/// One label's share of the verbatims, now and in the window before.
#[derive(Debug, Clone, PartialEq)]
pub struct LabelShare {
    pub label: SentimentLabel,
    pub count: u64,
    pub share: f64,
    pub previous_count: u64,
    pub previous_share: f64,
}

impl LabelShare {
    /// The change of the share, in points of share (0.125 is +12.5 points); `None` when the
    /// window before had no verbatims (there is nothing to change from).
    pub fn change(&self, previous_volume: u64) -> Option<f64> {
        (previous_volume > 0).then_some(self.share - self.previous_share)
    }
}

/// Sentiment of a group of verbatims (a source, a segment, a day).
#[derive(Debug, Clone, PartialEq)]
pub struct Breakdown {
    /// The source's or the segment's name; for a day, its start in RFC 3339.
    pub name: String,
    pub volume: u64,
    /// Mean sentiment score; `None` when no verbatim has one.
    pub average: Option<f64>,
    /// Share of each label, in [`SentimentLabel::ALL`] order.
    pub shares: [f64; 4],
}

impl Breakdown {
    /// The sentiment of `verbatims`, under `name`.
    pub fn of(name: String, verbatims: &[&Verbatim]) -> Breakdown {
        let counts = label_counts(verbatims);
        let volume = verbatims.len() as u64;
        Breakdown {
            name,
            volume,
            average: Tally::of(Measure::Sentiment, verbatims.iter().copied()).mean(),
            shares: counts.map(|c| c as f64 / volume.max(1) as f64),
        }
    }

    /// The share of one label.
    pub fn share(&self, label: SentimentLabel) -> f64 {
        self.shares[label_index(label)]
    }
}

/// A day of the trend.
#[derive(Debug, Clone, PartialEq)]
pub struct TrendPoint {
    pub start: Micros,
    pub sentiment: Breakdown,
}

/// The sentiment summary of a window.
#[derive(Debug, Clone, PartialEq)]
pub struct SentimentSummary {
    pub volume: u64,
    pub previous_volume: u64,
    /// Positive, neutral, negative, mixed.
    pub labels: Vec<LabelShare>,
    pub average: Option<f64>,
    pub previous_average: Option<f64>,
    /// Every UTC day from the first to the last holding a verbatim of the window, empty ones
    /// included.
    pub trend: Vec<TrendPoint>,
    /// Largest first (at most [`MAX_GROUPS`]).
    pub by_source: Vec<Breakdown>,
    /// By the value of the segment key, largest first (at most [`MAX_GROUPS`]); verbatims
    /// without the key are left out.
    pub by_segment: Vec<Breakdown>,
    /// Keywords of positive verbatims (`a`) against negative ones (`b`).
    pub keywords: Distinctive,
}

fn label_index(label: SentimentLabel) -> usize {
    SentimentLabel::ALL
        .iter()
        .position(|&l| l == label)
        .expect("every label is in ALL")
}

fn label_counts(verbatims: &[&Verbatim]) -> [u64; 4] {
    let mut counts = [0u64; 4];
    for v in verbatims {
        if let Some(s) = &v.tags.sentiment {
            counts[label_index(s.label)] += 1;
        }
    }
    counts
}

fn labelled<'a>(verbatims: &[&'a Verbatim], label: SentimentLabel) -> Vec<&'a Verbatim> {
    verbatims
        .iter()
        .copied()
        .filter(|v| v.tags.sentiment.as_ref().is_some_and(|s| s.label == label))
        .collect()
}

/// Groups by `key`, largest first (ties by name), at most [`MAX_GROUPS`].
fn grouped(verbatims: &[&Verbatim], key: impl Fn(&Verbatim) -> Option<String>) -> Vec<Breakdown> {
    let mut groups: BTreeMap<String, Vec<&Verbatim>> = BTreeMap::new();
    for v in verbatims {
        if let Some(name) = key(v) {
            groups.entry(name).or_default().push(v);
        }
    }
    let mut out: Vec<Breakdown> = groups
        .into_iter()
        .map(|(name, members)| Breakdown::of(name, &members))
        .collect();
    out.sort_by(|a, b| b.volume.cmp(&a.volume).then_with(|| a.name.cmp(&b.name)));
    out.truncate(MAX_GROUPS);
    out
}

/// The summary of `current` (the verbatims of `window`) against `previous` (those of the window
/// before), segmented by the metadata key `segment` when given, with up to `keywords` keywords a
/// side.
pub fn summarize(
    current: &[&Verbatim],
    previous: &[&Verbatim],
    window: Window,
    segment: Option<&str>,
    keywords: usize,
) -> SentimentSummary {
    let (now, before) = (label_counts(current), label_counts(previous));
    let (volume, previous_volume) = (current.len() as u64, previous.len() as u64);
    let labels = SentimentLabel::ALL
        .iter()
        .enumerate()
        .map(|(i, &label)| LabelShare {
            label,
            count: now[i],
            share: now[i] as f64 / volume.max(1) as f64,
            previous_count: before[i],
            previous_share: before[i] as f64 / previous_volume.max(1) as f64,
        })
        .collect();
    let day = Granularity::Day;
    let mut by_day: BTreeMap<Micros, Vec<&Verbatim>> = BTreeMap::new();
    for v in current.iter().filter(|v| window.contains(v.created_at)) {
        by_day
            .entry(day.bucket_start(v.created_at))
            .or_default()
            .push(v);
    }
    // The days between the first and the last that hold a verbatim, empty ones included.
    let days: Vec<Micros> = by_day.keys().copied().collect();
    if let (Some(&first), Some(&last)) = (days.first(), days.last()) {
        let mut at = first;
        while at < last {
            by_day.entry(at).or_default();
            at += day.length();
        }
    }
    SentimentSummary {
        volume,
        previous_volume,
        labels,
        average: Tally::of(Measure::Sentiment, current.iter().copied()).mean(),
        previous_average: Tally::of(Measure::Sentiment, previous.iter().copied()).mean(),
        trend: by_day
            .into_iter()
            .map(|(start, members)| TrendPoint {
                start,
                sentiment: Breakdown::of(crate::time::format_rfc3339(start), &members),
            })
            .collect(),
        by_source: grouped(current, |v| Some(v.source.as_str().to_string())),
        by_segment: segment.map_or_else(Vec::new, |key| {
            grouped(current, |v| v.metadata.get(key).cloned())
        }),
        keywords: distinctive(
            &labelled(current, SentimentLabel::Positive),
            &labelled(current, SentimentLabel::Negative),
            current,
            keywords,
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::tags::Sentiment;
    use crate::model::Source;
    use crate::time::DAY;

    fn felt(
        label: SentimentLabel,
        score: f32,
        day: i64,
        source: Source,
        plan: Option<&str>,
    ) -> Verbatim {
        let mut v = Verbatim::example("ws", "words");
        v.created_at = day * DAY + crate::time::HOUR;
        v.source = source;
        if let Some(plan) = plan {
            v.metadata.insert("plan".into(), plan.into());
        }
        v.tags.sentiment = Some(Sentiment {
            score,
            label,
            confidence: 1.0,
            evidence: Vec::new(),
            origin: Default::default(),
        });
        v
    }

    #[test]
    fn no_change_is_claimed_against_an_empty_window() {
        let share = LabelShare {
            label: SentimentLabel::Negative,
            count: 4,
            share: 0.4,
            previous_count: 0,
            previous_share: 0.0,
        };
        assert_eq!(share.change(0), None);
        assert_eq!(share.change(10), Some(0.4));
    }

    #[test]
    fn shares_change_trend_and_breakdowns_by_hand() {
        use SentimentLabel::*;
        use Source::{Survey, Ticket};
        let now = [
            felt(Positive, 0.8, 10, Survey, Some("pro")),
            felt(Positive, 0.4, 10, Ticket, Some("free")),
            felt(Negative, -0.6, 10, Ticket, Some("free")),
            felt(Neutral, 0.0, 12, Ticket, Some("pro")),
            felt(Negative, -0.8, 12, Survey, None),
            felt(Mixed, -0.1, 12, Ticket, Some("free")),
            felt(Negative, -0.5, 12, Ticket, Some("free")),
            felt(Positive, 0.6, 12, Survey, Some("pro")),
        ];
        let then = [
            felt(Positive, 0.5, 8, Ticket, None),
            felt(Positive, 0.3, 8, Ticket, None),
            felt(Neutral, 0.0, 9, Ticket, None),
            felt(Negative, -0.4, 9, Ticket, None),
        ];
        let current: Vec<&Verbatim> = now.iter().collect();
        let previous: Vec<&Verbatim> = then.iter().collect();
        let window = Window::new(10 * DAY, 13 * DAY).unwrap();
        let s = summarize(&current, &previous, window, Some("plan"), 5);
        assert_eq!((s.volume, s.previous_volume), (8, 4));
        // Now 3 positive, 1 neutral, 3 negative, 1 mixed of 8: 37.5%, 12.5%, 37.5%, 12.5%.
        // Before 2, 1, 1, 0 of 4: 50%, 25%, 25%, 0%. Changes −12.5, −12.5, +12.5, +12.5 points.
        let shares: Vec<(f64, f64, f64)> = s
            .labels
            .iter()
            .map(|l| (l.share, l.previous_share, l.change(4).unwrap()))
            .collect();
        assert_eq!(
            shares,
            [
                (0.375, 0.5, -0.125),
                (0.125, 0.25, -0.125),
                (0.375, 0.25, 0.125),
                (0.125, 0.0, 0.125)
            ]
        );
        // Mean score now (0.8 + 0.4 − 0.6 + 0 − 0.8 − 0.1 − 0.5 + 0.6) / 8 = −0.2 / 8 = −0.025;
        // before (0.5 + 0.3 + 0 − 0.4) / 4 = 0.1.
        let close = |x: Option<f64>, y: f64| (x.unwrap() - y).abs() < 1e-6;
        assert!(close(s.average, -0.025) && close(s.previous_average, 0.1));
        // Day 10: 3 verbatims, mean (0.8 + 0.4 − 0.6) / 3 = 0.2, 1 of 3 negative. Day 11: none.
        // Day 12: 5 verbatims, mean (0 − 0.8 − 0.1 − 0.5 + 0.6) / 5 = −0.16, 2 of 5 negative.
        let days: Vec<(Micros, u64)> = s
            .trend
            .iter()
            .map(|d| (d.start, d.sentiment.volume))
            .collect();
        assert_eq!(days, [(10 * DAY, 3), (11 * DAY, 0), (12 * DAY, 5)]);
        assert!(close(s.trend[0].sentiment.average, 0.2));
        assert!((s.trend[0].sentiment.share(Negative) - 1.0 / 3.0).abs() < 1e-12);
        assert_eq!(s.trend[1].sentiment.average, None);
        assert!(close(s.trend[2].sentiment.average, -0.16));
        assert_eq!(s.trend[2].sentiment.share(Negative), 0.4);
        // Tickets: 5, mean (0.4 − 0.6 + 0 − 0.1 − 0.5) / 5 = −0.16; surveys: 3, mean
        // (0.8 − 0.8 + 0.6) / 3 = 0.2.
        let sources: Vec<(&str, u64)> = s
            .by_source
            .iter()
            .map(|b| (b.name.as_str(), b.volume))
            .collect();
        assert_eq!(sources, [("ticket", 5), ("survey", 3)]);
        assert!(close(s.by_source[0].average, -0.16) && close(s.by_source[1].average, 0.2));
        // Plan free: 4, mean (0.4 − 0.6 − 0.1 − 0.5) / 4 = −0.2, half negative; pro: 3, mean
        // (0.8 + 0 + 0.6) / 3 = 0.4667; the verbatim without a plan is left out.
        let plans: Vec<(&str, u64)> = s
            .by_segment
            .iter()
            .map(|b| (b.name.as_str(), b.volume))
            .collect();
        assert_eq!(plans, [("free", 4), ("pro", 3)]);
        assert!(close(s.by_segment[0].average, -0.2));
        assert_eq!(s.by_segment[0].share(Negative), 0.5);
        assert!(close(s.by_segment[1].average, 1.4 / 3.0));
        // One word, said by everyone: nothing is distinctive.
        assert_eq!(s.keywords, Distinctive::default());
    }
}
