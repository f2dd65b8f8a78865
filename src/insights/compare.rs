//! Segment comparison: which themes are over- or under-represented in segment A against segment
//! B, with the test and the false-discovery control the alerts use ([`crate::trends`]).
//!
//! B is the reference, as the baseline is for an alert: a theme's share in B, smoothed by half a
//! mention (`(b + 0.5) / (n_b + 1)`), is the share A is tested against with the one-sided
//! two-proportion tests [`share_increase_p_value`] (over-represented) and
//! [`share_decrease_p_value`] (under-represented), widened by B's overdispersion between its UTC
//! days ([`crate::trends::dispersion`]; 1 within a single day). Every theme's two p-values form one
//! family, cut by Benjamini–Hochberg at the configured false discovery rate.

use std::collections::{BTreeMap, BTreeSet};

use super::drivers::by_theme;
use crate::model::Verbatim;
use crate::time::{Granularity, Micros};
use crate::trends::{
    dispersion, false_discovery_cutoff, share_decrease_p_value, share_increase_p_value,
};

/// A theme on both sides.
#[derive(Debug, Clone, PartialEq)]
pub struct SegmentTheme {
    pub theme_id: String,
    pub a_count: u64,
    pub b_count: u64,
    /// Counts over each side's verbatims.
    pub a_share: f64,
    pub b_share: f64,
    /// One-sided p-values of A's share above and below B's.
    pub p_over: f64,
    pub p_under: f64,
}

impl SegmentTheme {
    /// A's share minus B's, in points of share.
    pub fn difference(&self) -> f64 {
        self.a_share - self.b_share
    }
}

/// Two segments compared theme by theme.
#[derive(Debug, Clone, PartialEq)]
pub struct Comparison {
    /// Verbatims on each side.
    pub a_total: u64,
    pub b_total: u64,
    /// B's overdispersion between days (at least 1).
    pub dispersion: f64,
    /// Themes tested (present on either side).
    pub tested: usize,
    /// The false discovery rate the tests were cut at.
    pub false_discovery_rate: f64,
    /// The largest p-value that passes the false-discovery control; `None` when none does.
    pub cutoff: Option<f64>,
    /// Significantly over-represented in A, largest difference first (at most `limit`).
    pub over: Vec<SegmentTheme>,
    /// Significantly under-represented in A, largest difference first (at most `limit`).
    pub under: Vec<SegmentTheme>,
}

/// Compares the themes of `a` with those of `b` at false discovery rate `q`.
pub fn compare(a: &[&Verbatim], b: &[&Verbatim], q: f64, limit: usize) -> Comparison {
    let (in_a, in_b) = (by_theme(a), by_theme(b));
    let (n_a, n_b) = (a.len() as u64, b.len() as u64);
    let dispersion = daily_dispersion(b);
    let count = |side: &BTreeMap<&str, Vec<&Verbatim>>, theme: &str| {
        side.get(theme).map_or(0, |m| m.len() as u64)
    };
    let themes: BTreeSet<&str> = in_a.keys().chain(in_b.keys()).copied().collect();
    let tested: Vec<SegmentTheme> = themes
        .into_iter()
        .map(|theme| {
            let (x, y) = (count(&in_a, theme), count(&in_b, theme));
            let p0 = (y as f64 + 0.5) / (n_b as f64 + 1.0);
            SegmentTheme {
                theme_id: theme.to_string(),
                a_count: x,
                b_count: y,
                a_share: x as f64 / n_a.max(1) as f64,
                b_share: y as f64 / n_b.max(1) as f64,
                p_over: share_increase_p_value(x, n_a, p0, n_b, dispersion),
                p_under: share_decrease_p_value(x, n_a, p0, n_b, dispersion),
            }
        })
        .collect();
    let family: Vec<f64> = tested.iter().flat_map(|t| [t.p_over, t.p_under]).collect();
    let cutoff = false_discovery_cutoff(&family, q);
    let pass = |p: f64| cutoff.is_some_and(|c| p <= c);
    let side = |over: bool| {
        let mut picked: Vec<SegmentTheme> = tested
            .iter()
            .filter(|t| pass(if over { t.p_over } else { t.p_under }))
            .cloned()
            .collect();
        picked.sort_by(|x, y| {
            let (dx, dy) = (x.difference(), y.difference());
            let order = if over {
                dy.total_cmp(&dx)
            } else {
                dx.total_cmp(&dy)
            };
            order.then_with(|| x.theme_id.cmp(&y.theme_id))
        });
        picked.truncate(limit);
        picked
    };
    Comparison {
        a_total: n_a,
        b_total: n_b,
        dispersion,
        tested: tested.len(),
        false_discovery_rate: q,
        cutoff,
        over: side(true),
        under: side(false),
    }
}

/// How much more the themes' shares of `verbatims` swing between UTC days than binomial noise.
fn daily_dispersion(verbatims: &[&Verbatim]) -> f64 {
    let mut days: BTreeMap<Micros, Vec<&Verbatim>> = BTreeMap::new();
    for v in verbatims {
        days.entry(Granularity::Day.bucket_start(v.created_at))
            .or_default()
            .push(v);
    }
    let totals: Vec<u64> = days.values().map(|d| d.len() as u64).collect();
    let per_day: Vec<BTreeMap<&str, Vec<&Verbatim>>> = days.values().map(|d| by_theme(d)).collect();
    let themes: BTreeSet<&str> = per_day.iter().flat_map(|d| d.keys().copied()).collect();
    let counts: Vec<Vec<u64>> = themes
        .into_iter()
        .map(|theme| {
            per_day
                .iter()
                .map(|d| d.get(theme).map_or(0, |m| m.len() as u64))
                .collect()
        })
        .collect();
    dispersion(&counts, &totals)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::insights::drivers::tests::scored;

    fn side(counts: &[(Option<&str>, usize)]) -> Vec<Verbatim> {
        counts
            .iter()
            .flat_map(|&(theme, n)| (0..n).map(move |_| scored(0, theme, None, 0.0)))
            .collect()
    }

    #[test]
    fn over_and_under_represented_themes_with_the_alerts_test_and_fdr() {
        let a = side(&[
            (Some("TH-X"), 30),
            (Some("TH-Y"), 5),
            (Some("TH-Z"), 5),
            (None, 60),
        ]);
        let b = side(&[
            (Some("TH-X"), 20),
            (Some("TH-Y"), 40),
            (Some("TH-Z"), 10),
            (None, 130),
        ]);
        let (a, b): (Vec<&Verbatim>, Vec<&Verbatim>) = (a.iter().collect(), b.iter().collect());
        let c = compare(&a, &b, 0.05, 10);
        // One day: no overdispersion to measure.
        assert_eq!(
            (c.a_total, c.b_total, c.dispersion, c.tested),
            (100, 200, 1.0, 3)
        );
        // TH-X: A 30%, B 10%. p0 = 20.5 / 201 = 0.10199; n p0 = 10.199; variance
        // 100 × 0.10199 × 0.89801 × (1 + 100/200) = 13.738, sd 3.7065;
        // z = (30 − 0.5 − 10.199) / 3.7065 = 5.2073, p_over = ½ erfc(5.2073/√2) = 9.58e-8.
        // TH-Y: A 5%, B 20%. p0 = 40.5 / 201 = 0.20149, n p0 = 20.149, sd 4.9126;
        // z = (5 + 0.5 − 20.149) / 4.9126 = −2.9820, p_under = 0.001432.
        // TH-Z: A 5%, B 5%: p_over 0.6047, p_under 0.5404.
        // Benjamini–Hochberg over the 6 p-values at q = 0.05: the 1st smallest (9.58e-8) is
        // under 1/6 × 0.05 = 0.00833, the 2nd (0.001432) under 2/6 × 0.05 = 0.01667, the 3rd
        // (0.5404) above 3/6 × 0.05: the cutoff is 0.001432.
        let x = &c.over[0];
        assert_eq!(
            (x.theme_id.as_str(), x.a_count, x.b_count),
            ("TH-X", 30, 20)
        );
        assert_eq!((x.a_share, x.b_share), (0.3, 0.1));
        assert!((x.difference() - 0.2).abs() < 1e-12);
        assert!((x.p_over - 9.579e-8).abs() < 1e-10, "{}", x.p_over);
        let y = &c.under[0];
        assert_eq!(
            (y.theme_id.as_str(), y.a_share, y.b_share),
            ("TH-Y", 0.05, 0.2)
        );
        assert!((y.p_under - 0.001432).abs() < 1e-6, "{}", y.p_under);
        assert!((c.cutoff.unwrap() - 0.001432).abs() < 1e-6);
        assert_eq!((c.over.len(), c.under.len()), (1, 1));
        // At q = 0.004, TH-Y's p-value is above 2/6 × 0.004 = 0.00133: only TH-X is left.
        let strict = compare(&a, &b, 0.004, 10);
        assert_eq!((strict.over.len(), strict.under.len()), (1, 0));
    }

    #[test]
    fn overdispersion_between_days_widens_the_test() {
        // B over two days with TH-X at 10% and then 40%: binomial noise cannot explain that.
        let mut b = side(&[(Some("TH-X"), 10), (None, 90)]);
        let mut second = side(&[(Some("TH-X"), 40), (None, 60)]);
        for v in &mut second {
            v.created_at += crate::time::DAY;
        }
        b.extend(second);
        let b: Vec<&Verbatim> = b.iter().collect();
        assert!(daily_dispersion(&b) > 10.0);
    }
}
