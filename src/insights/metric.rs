//! The scores the views compute with: NPS, CSAT and CES answers and the sentiment score, each read
//! from a verbatim as one number per verbatim ([`Measure::value`]), and their running sums
//! ([`Tally`]) from which a metric, its top and bottom shares and its standard error follow.

use crate::model::{Scores, Verbatim};

/// A customer-experience score verbatims may carry.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Metric {
    /// Net Promoter Score: % promoters (9–10) − % detractors (0–6) of the answers, in points
    /// from −100 to 100.
    Nps,
    /// Customer satisfaction, 1–5: the mean answer; the top share is the % answering 4–5.
    Csat,
    /// Customer effort, 1–7 on the agreement scale ("the company made it easy": 7 is easiest):
    /// the mean answer, higher is better.
    Ces,
}

impl Metric {
    pub const ALL: [Metric; 3] = [Metric::Nps, Metric::Csat, Metric::Ces];

    pub fn as_str(self) -> &'static str {
        match self {
            Metric::Nps => "nps",
            Metric::Csat => "csat",
            Metric::Ces => "ces",
        }
    }

    /// The verbatim's answer, if it gave one.
    pub fn answer(self, scores: &Scores) -> Option<u8> {
        match self {
            Metric::Nps => scores.nps,
            Metric::Csat => scores.csat,
            Metric::Ces => scores.ces,
        }
    }

    /// Where an answer falls: the top band (NPS promoters 9–10, CSAT 4–5, CES 5–7), the bottom
    /// band (NPS detractors 0–6, CSAT 1–2, CES 1–3), or neither.
    pub fn band(self, answer: u8) -> Option<Band> {
        let (bottom, top) = match self {
            Metric::Nps => (6, 9),
            Metric::Csat => (2, 4),
            Metric::Ces => (3, 5),
        };
        if answer >= top {
            Some(Band::Top)
        } else if answer <= bottom {
            Some(Band::Bottom)
        } else {
            None
        }
    }

    /// The number an answer contributes to the metric's mean: for NPS +100 for a promoter, 0 for
    /// a passive and −100 for a detractor (so the mean of these is the NPS); for CSAT and CES
    /// the answer itself.
    pub fn value(self, answer: u8) -> f64 {
        match (self, self.band(answer)) {
            (Metric::Nps, Some(Band::Top)) => 100.0,
            (Metric::Nps, Some(Band::Bottom)) => -100.0,
            (Metric::Nps, None) => 0.0,
            _ => f64::from(answer),
        }
    }
}

/// The top or bottom answers of a metric.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Band {
    Top,
    Bottom,
}

/// What a view averages over verbatims: a metric's answers, or the sentiment score.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Measure {
    Metric(Metric),
    /// The sentiment score, −1 to 1 (every tagged verbatim has one).
    Sentiment,
}

impl Measure {
    /// The verbatim's number for this measure and its band, or `None` when it has none (no
    /// answer to the metric, or no sentiment tag).
    pub fn read(self, v: &Verbatim) -> Option<(f64, Option<Band>)> {
        match self {
            Measure::Metric(metric) => metric
                .answer(&v.scores)
                .map(|a| (metric.value(a), metric.band(a))),
            Measure::Sentiment => v
                .tags
                .sentiment
                .as_ref()
                .map(|s| (f64::from(s.score), None)),
        }
    }

    /// Whether the verbatim has a number for this measure.
    pub fn scored(self, v: &Verbatim) -> bool {
        self.read(v).is_some()
    }
}

/// Running sums of one measure over a group of verbatims.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Tally {
    /// Verbatims with a number for the measure.
    pub n: u64,
    pub sum: f64,
    pub sum_squares: f64,
    /// Answers in the top and the bottom band.
    pub top: u64,
    pub bottom: u64,
}

impl Tally {
    /// The tally of `measure` over `verbatims` (those without a number are skipped).
    pub fn of<'a>(measure: Measure, verbatims: impl IntoIterator<Item = &'a Verbatim>) -> Tally {
        let mut tally = Tally::default();
        for v in verbatims {
            if let Some((value, band)) = measure.read(v) {
                tally.add(value, band);
            }
        }
        tally
    }

    pub fn add(&mut self, value: f64, band: Option<Band>) {
        self.n += 1;
        self.sum += value;
        self.sum_squares += value * value;
        match band {
            Some(Band::Top) => self.top += 1,
            Some(Band::Bottom) => self.bottom += 1,
            None => {}
        }
    }

    /// What is left of this tally without `part` (a subgroup of it).
    pub fn without(&self, part: &Tally) -> Tally {
        Tally {
            n: self.n - part.n,
            sum: self.sum - part.sum,
            sum_squares: self.sum_squares - part.sum_squares,
            top: self.top - part.top,
            bottom: self.bottom - part.bottom,
        }
    }

    /// The mean: the NPS itself for [`Metric::Nps`]. `None` over nothing.
    pub fn mean(&self) -> Option<f64> {
        (self.n > 0).then(|| self.sum / self.n as f64)
    }

    /// Share of the answers in the top band (NPS promoters, CSAT 4–5, CES 5–7).
    pub fn top_share(&self) -> f64 {
        self.top as f64 / self.n.max(1) as f64
    }

    /// Share of the answers in the bottom band (NPS detractors, CSAT 1–2, CES 1–3).
    pub fn bottom_share(&self) -> f64 {
        self.bottom as f64 / self.n.max(1) as f64
    }

    /// The squared standard error of the mean: the sample variance (n − 1 in the denominator)
    /// over n; 0 with fewer than two values.
    pub fn mean_variance(&self) -> f64 {
        if self.n < 2 {
            return 0.0;
        }
        let n = self.n as f64;
        let variance = (self.sum_squares - self.sum * self.sum / n) / (n - 1.0);
        variance.max(0.0) / n
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn answered(nps: &[u8]) -> Vec<Verbatim> {
        nps.iter()
            .map(|&a| {
                let mut v = Verbatim::example("ws", "x");
                v.scores.nps = Some(a);
                v
            })
            .collect()
    }

    #[test]
    fn nps_is_promoters_minus_detractors_in_points() {
        // Answers 10, 9, 8, 7, 6, 0 and one verbatim without a score: 6 answers, 2 promoters
        // (10, 9), 2 passives (8, 7), 2 detractors (6, 0): NPS = 2/6 − 2/6 = 0.
        let mut verbatims = answered(&[10, 9, 8, 7, 6, 0]);
        verbatims.push(Verbatim::example("ws", "no score"));
        let t = Tally::of(Measure::Metric(Metric::Nps), &verbatims);
        assert_eq!((t.n, t.top, t.bottom), (6, 2, 2));
        assert_eq!(t.mean(), Some(0.0));
        // 9, 9, 9, 3: 3 promoters, 1 detractor of 4: 75% − 25% = 50 points.
        let t = Tally::of(Measure::Metric(Metric::Nps), &answered(&[9, 9, 9, 3]));
        assert_eq!(t.mean(), Some(50.0));
        assert_eq!((t.top_share(), t.bottom_share()), (0.75, 0.25));
        // Values +100 ×3, −100: sum 200, squares 40,000; variance (40,000 − 200²/4)/3 = 10,000,
        // over n = 4: 2,500 (a standard error of 50 points).
        assert_eq!(t.mean_variance(), 2500.0);
    }

    #[test]
    fn csat_is_the_mean_with_the_share_answering_4_or_5() {
        let verbatims: Vec<Verbatim> = [5u8, 4, 2, 1]
            .iter()
            .map(|&a| {
                let mut v = Verbatim::example("ws", "x");
                v.scores.csat = Some(a);
                v
            })
            .collect();
        let t = Tally::of(Measure::Metric(Metric::Csat), &verbatims);
        // (5 + 4 + 2 + 1) / 4 = 3; 2 of 4 answered 4–5.
        assert_eq!(t.mean(), Some(3.0));
        assert_eq!(t.top_share(), 0.5);
        // Without the 5 and the 4: (2 + 1) / 2 = 1.5.
        let top = Tally::of(Measure::Metric(Metric::Csat), &verbatims[..2]);
        assert_eq!(t.without(&top).mean(), Some(1.5));
    }
}
