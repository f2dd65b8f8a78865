//! Trends: counts in UTC time buckets by `created_at`, velocity on *share of voice* (a theme's share
//! of all verbatims in the current window against its baseline window), frequency classes, and the
//! emerging-issue test. Pure computation: no I/O, no HTTP.
//!
//! Because velocity compares shares, a day on which every theme doubles raises nothing: a theme
//! alerts only when it grows faster than the whole.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::model::Verbatim;
use crate::time::{Granularity, Micros};

/// One bucket of a series.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Bucket {
    pub count: u64,
    pub sentiment_sum: f64,
    /// Counts per severity level name.
    pub severities: BTreeMap<String, u64>,
    pub customers: std::collections::BTreeSet<String>,
}

/// A verbatim as trends see it.
#[derive(Debug, Clone)]
pub struct Point<'a> {
    pub created_at: Micros,
    pub sentiment: f32,
    pub severity: Option<&'a str>,
    pub customer: Option<&'a str>,
}

/// Buckets points by `created_at`.
pub fn series<'a>(
    points: impl IntoIterator<Item = Point<'a>>,
    granularity: Granularity,
) -> BTreeMap<Micros, Bucket> {
    let mut out: BTreeMap<Micros, Bucket> = BTreeMap::new();
    for p in points {
        let bucket = out
            .entry(granularity.bucket_start(p.created_at))
            .or_default();
        bucket.count += 1;
        bucket.sentiment_sum += p.sentiment as f64;
        if let Some(level) = p.severity {
            *bucket.severities.entry(level.to_string()).or_default() += 1;
        }
        if let Some(customer) = p.customer {
            bucket.customers.insert(customer.to_string());
        }
    }
    out
}

/// A verbatim as a trend point.
fn point(v: &Verbatim) -> Point<'_> {
    Point {
        created_at: v.created_at,
        sentiment: v.tags.sentiment.as_ref().map_or(0.0, |s| s.score),
        severity: v.tags.severity.as_ref().map(|s| s.value.as_str()),
        customer: v.customer_id.as_deref(),
    }
}

/// The buckets of the verbatims `selected` picks, each with the total of all `verbatims` in it,
/// for every bucket from the first to the last of `verbatims` (empty buckets included).
pub fn trend(
    verbatims: &[Verbatim],
    granularity: Granularity,
    selected: impl Fn(&Verbatim) -> bool,
) -> Vec<(Micros, Bucket, u64)> {
    let totals = series(verbatims.iter().map(point), granularity);
    let picked = series(
        verbatims.iter().filter(|v| selected(v)).map(point),
        granularity,
    );
    let (Some(&first), Some(&last)) = (totals.keys().next(), totals.keys().next_back()) else {
        return Vec::new();
    };
    let mut out = Vec::new();
    let mut at = first;
    while at <= last {
        let total = totals.get(&at).map_or(0, |b| b.count);
        out.push((at, picked.get(&at).cloned().unwrap_or_default(), total));
        at = granularity.bucket_start(at + granularity.length());
    }
    out
}

/// The thresholds that classify a theme and decide whether its rise is an emerging issue (the
/// alert rules hold them; see `alerts::AlertRule`).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Thresholds {
    /// Velocity (relative growth of share) above which a theme grows.
    pub velocity: f64,
    /// Mentions needed in the current window.
    pub min_mentions: u64,
    /// One-sided significance of a share change.
    pub significance: f64,
    /// Baseline share under which a theme counts as new (Emerging).
    pub new_share: f64,
    /// The rise, in points, of a theme's negative share that counts as a spike.
    pub negative_share_increase: f64,
}

impl Default for Thresholds {
    fn default() -> Self {
        Thresholds {
            velocity: 0.30,
            min_mentions: 10,
            significance: 0.01,
            new_share: 0.002,
            negative_share_increase: 0.25,
        }
    }
}

/// How a theme's volume behaves.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FrequencyClass {
    /// New, or near-zero baseline and rising with enough mentions.
    Emerging,
    /// Share up by more than the velocity threshold.
    Growing,
    /// Share within the threshold either way.
    Persistent,
    /// Share down by more than the threshold (relative to 1 + threshold), significantly.
    Declining,
}

/// A theme's standing in one evaluation.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Standing {
    pub mentions: u64,
    pub baseline_mentions: u64,
    pub share: f64,
    pub baseline_share: f64,
    /// share / baseline share − 1 (baseline smoothed so a zero baseline is finite).
    pub velocity: f64,
    /// One-sided p-value of the share increase.
    pub p_value: f64,
    pub class: FrequencyClass,
    /// Whether the emerging-issue rule fires (before cooldown).
    pub alert: bool,
}

/// Evaluates one theme: `mentions` of `total` verbatims in the current window against
/// `baseline_mentions` of `baseline_total` in the baseline window. `dispersion` (at least 1; see
/// [`dispersion`]) widens the test for day-to-day swings in topic mix that a binomial ignores.
pub fn evaluate(
    mentions: u64,
    total: u64,
    baseline_mentions: u64,
    baseline_total: u64,
    dispersion: f64,
    thresholds: &Thresholds,
) -> Standing {
    let share = mentions as f64 / total.max(1) as f64;
    let raw_baseline = baseline_mentions as f64 / baseline_total.max(1) as f64;
    // Smoothed baseline share: half a mention added, so a new theme has a small, finite baseline.
    let baseline_share = (baseline_mentions as f64 + 0.5) / (baseline_total as f64 + 1.0);
    let velocity = share / baseline_share - 1.0;
    let p_value =
        share_increase_p_value(mentions, total, baseline_share, baseline_total, dispersion);
    let significant = p_value < thresholds.significance;
    let enough = mentions >= thresholds.min_mentions;
    let class = if raw_baseline < thresholds.new_share && enough && significant {
        FrequencyClass::Emerging
    } else if velocity > thresholds.velocity && significant {
        FrequencyClass::Growing
    } else if velocity < -thresholds.velocity / (1.0 + thresholds.velocity)
        && baseline_mentions >= thresholds.min_mentions
        && share_decrease_p_value(mentions, total, baseline_share, baseline_total, dispersion)
            < thresholds.significance
    {
        FrequencyClass::Declining
    } else {
        FrequencyClass::Persistent
    };
    Standing {
        mentions,
        baseline_mentions,
        share,
        baseline_share: raw_baseline,
        velocity,
        p_value,
        class,
        alert: velocity > thresholds.velocity && enough && significant,
    }
}

/// A theme's negative-sentiment standing: of its `mentions` in the current window, `negative`
/// were negative, against `baseline_negative` of `baseline_mentions` before.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SentimentStanding {
    pub negative_share: f64,
    pub baseline_negative_share: f64,
    pub p_value: f64,
    /// Whether the negative-sentiment spike rule fires (before cooldown): enough negative
    /// mentions, a rise of at least `negative_share_increase` points, and significance.
    pub alert: bool,
}

/// Evaluates the negative-sentiment spike rule for one theme. It catches a theme whose volume
/// is steady but whose customers turn angry (a broken workaround, a policy change).
pub fn evaluate_negative_spike(
    negative: u64,
    mentions: u64,
    baseline_negative: u64,
    baseline_mentions: u64,
    thresholds: &Thresholds,
) -> SentimentStanding {
    let negative_share = negative as f64 / mentions.max(1) as f64;
    let baseline_negative_share = baseline_negative as f64 / baseline_mentions.max(1) as f64;
    // Smoothed toward one half so a tiny baseline is not taken at its word.
    let expected = (baseline_negative as f64 + 0.5) / (baseline_mentions as f64 + 1.0);
    let p_value = share_increase_p_value(negative, mentions, expected, baseline_mentions, 1.0);
    let alert = negative >= thresholds.min_mentions
        && baseline_mentions >= thresholds.min_mentions
        && negative_share - baseline_negative_share >= thresholds.negative_share_increase
        && p_value < thresholds.significance;
    SentimentStanding {
        negative_share,
        baseline_negative_share,
        p_value,
        alert,
    }
}

/// One-sided p-value that `x` of `n` exceeds the share `p0` measured on `baseline_n` items: a
/// two-proportion normal approximation with continuity correction, its variance covering both the
/// window's binomial noise and the baseline estimate's (`n·p0(1−p0)·(1 + n/baseline_n)`), scaled by
/// `dispersion` (values under 1 count as 1).
pub fn share_increase_p_value(x: u64, n: u64, p0: f64, baseline_n: u64, dispersion: f64) -> f64 {
    match share_z(x as f64 - 0.5, n, p0, baseline_n, dispersion) {
        Some(z) => 0.5 * libm::erfc(z / std::f64::consts::SQRT_2),
        None => 1.0,
    }
}

/// The mirror of [`share_increase_p_value`]: the one-sided p-value that `x` of `n` fell below
/// the share `p0`.
pub fn share_decrease_p_value(x: u64, n: u64, p0: f64, baseline_n: u64, dispersion: f64) -> f64 {
    match share_z(x as f64 + 0.5, n, p0, baseline_n, dispersion) {
        Some(z) => 0.5 * libm::erfc(-z / std::f64::consts::SQRT_2),
        None => 1.0,
    }
}

/// The z-score of a (continuity-corrected) count against `n·p0`, or `None` for an empty window.
fn share_z(corrected: f64, n: u64, p0: f64, baseline_n: u64, dispersion: f64) -> Option<f64> {
    if n == 0 {
        return None;
    }
    let n = n as f64;
    let variance = dispersion.max(1.0) * n * p0 * (1.0 - p0) * (1.0 + n / baseline_n.max(1) as f64);
    Some((corrected - n * p0) / variance.sqrt().max(1e-12))
}

/// The Benjamini–Hochberg cutoff for a family of tests (one per theme at one evaluation): the
/// largest p-value `p(k)` with `p(k) ≤ k/m · q`, so that accepting every p-value up to it keeps
/// the expected share of false alerts among the alerts at `q`. `None` when nothing passes.
pub fn false_discovery_cutoff(p_values: &[f64], q: f64) -> Option<f64> {
    let mut sorted: Vec<f64> = p_values.iter().copied().filter(|p| p.is_finite()).collect();
    sorted.sort_by(f64::total_cmp);
    let m = sorted.len() as f64;
    sorted
        .iter()
        .enumerate()
        .rev()
        .find(|(i, &p)| p <= (*i as f64 + 1.0) / m * q)
        .map(|(_, &p)| p)
}

/// How much more theme shares swing between windows than binomial sampling explains: the Pearson
/// chi-square of each theme's counts across equal sub-windows of the baseline against its pooled
/// share, summed over themes and divided by the degrees of freedom (quasi-binomial dispersion).
/// `counts[theme][sub-window]`, `totals[sub-window]`. Themes expecting fewer than 5 mentions per
/// sub-window are left out; the result is at least 1 (1 when nothing can be estimated).
pub fn dispersion(counts: &[Vec<u64>], totals: &[u64]) -> f64 {
    let windows = totals.len();
    let all: u64 = totals.iter().sum();
    if windows < 2 || all == 0 {
        return 1.0;
    }
    let (mut chi_square, mut freedom) = (0.0, 0usize);
    for theme in counts {
        let pooled = theme.iter().sum::<u64>() as f64 / all as f64;
        let smallest_expected = totals
            .iter()
            .map(|&n| n as f64 * pooled)
            .fold(f64::MAX, f64::min);
        if smallest_expected < 5.0 || pooled >= 1.0 {
            continue;
        }
        for (&x, &n) in theme.iter().zip(totals) {
            let expected = n as f64 * pooled;
            chi_square += (x as f64 - expected).powi(2) / (expected * (1.0 - pooled));
        }
        freedom += windows - 1;
    }
    if freedom == 0 {
        return 1.0;
    }
    (chi_square / freedom as f64).max(1.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn series_count_per_utc_bucket() {
        let t = 1_424_777_700 * 1_000_000; // Tue 2015-02-24 11:35 UTC
        let s = series(
            [
                Point {
                    created_at: t,
                    sentiment: -0.5,
                    severity: Some("high"),
                    customer: Some("c1"),
                },
                Point {
                    created_at: t + crate::time::HOUR,
                    sentiment: 0.5,
                    severity: Some("low"),
                    customer: Some("c1"),
                },
            ],
            Granularity::Day,
        );
        let bucket = &s[&Granularity::Day.bucket_start(t)];
        assert_eq!(
            (bucket.count, bucket.sentiment_sum, bucket.customers.len()),
            (2, 0.0, 1)
        );
    }

    #[test]
    fn p_values_behave() {
        assert!(share_increase_p_value(30, 1000, 0.01, 4000, 1.0) < 1e-6);
        assert!(share_increase_p_value(10, 1000, 0.01, 4000, 1.0) > 0.4);
        // Overdispersion and a small baseline both weaken the evidence.
        let plain = share_increase_p_value(20, 1000, 0.01, 100_000, 1.0);
        assert!(share_increase_p_value(20, 1000, 0.01, 1000, 1.0) > plain);
        assert!(share_increase_p_value(20, 1000, 0.01, 100_000, 3.0) > plain);
        assert!(share_decrease_p_value(2, 1000, 0.01, 100_000, 1.0) < 0.01);
        assert!(share_decrease_p_value(8, 1000, 0.01, 100_000, 1.0) > 0.2);
        assert!((libm::erfc(0.0) - 1.0).abs() < 1e-6);
        assert!((libm::erfc(1.0) - 0.157_299_2).abs() < 1e-6);
    }

    /// 10 steady themes with noise, one tripling its share over the last 3 days, one day on which
    /// all volume doubles: exactly the tripling theme alerts, and nothing alerts on the doubling day.
    #[test]
    fn synthetic_stream_with_known_truth() {
        let rule = Thresholds::default();
        let (window, baseline) = (3usize, 14usize);
        let days = 30usize;
        let doubling_day = 20usize;
        // counts[day][theme]; theme 0 triples its share over the last 3 days.
        let mut rng_state = 7u64;
        let mut noise = || {
            rng_state = rng_state
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1);
            ((rng_state >> 33) % 11) as i64 - 5
        };
        let counts: Vec<Vec<u64>> = (0..days)
            .map(|day| {
                (0..10)
                    .map(|theme| {
                        let base = 100 + noise();
                        let base = if day == doubling_day { base * 2 } else { base };
                        let tripled = theme == 0 && day >= days - 3;
                        (if tripled { base * 3 } else { base }) as u64
                    })
                    .collect()
            })
            .collect();
        let evaluate_on = |day: usize| -> Vec<usize> {
            let now = (day + 1 - window)..=day;
            let base = (day + 1 - window - baseline)..(day + 1 - window);
            let total = |range: &mut dyn Iterator<Item = usize>| -> (Vec<u64>, u64) {
                let mut per = vec![0u64; 10];
                for d in range {
                    for (t, c) in counts[d].iter().enumerate() {
                        per[t] += c;
                    }
                }
                let sum = per.iter().sum();
                (per, sum)
            };
            let (now_per, now_total) = total(&mut now.clone());
            let (base_per, base_total) = total(&mut base.clone());
            (0..10)
                .filter(|&t| {
                    evaluate(now_per[t], now_total, base_per[t], base_total, 1.0, &rule).alert
                })
                .collect()
        };
        for day in 17..days {
            let alerting = evaluate_on(day);
            if day >= days - 2 {
                assert_eq!(alerting, vec![0], "day {day}");
            } else if day < days - 3 {
                assert!(alerting.is_empty(), "day {day}: {alerting:?}");
            }
        }
        assert!(evaluate_on(doubling_day).is_empty());
    }

    #[test]
    fn negative_spike_needs_a_real_rise_with_evidence() {
        let rule = Thresholds::default();
        // 30% negative before, 70% now, plenty of mentions: fires.
        assert!(evaluate_negative_spike(70, 100, 120, 400, &rule).alert);
        // Same rise on a handful of mentions: no evidence.
        assert!(!evaluate_negative_spike(5, 7, 3, 10, &rule).alert);
        // Steady anger: nothing new.
        assert!(!evaluate_negative_spike(70, 100, 270, 400, &rule).alert);
        // A rise smaller than the threshold, however significant.
        assert!(!evaluate_negative_spike(450, 1000, 1200, 4000, &rule).alert);
    }

    #[test]
    fn false_discovery_cutoff_needs_more_evidence_in_a_large_family() {
        // One strong signal among 80 themes passes; a lone p = 0.004 does not.
        let mut family = vec![0.5; 78];
        family.extend([1e-9, 0.004]);
        assert_eq!(false_discovery_cutoff(&family, 0.01), Some(1e-9));
        // Several moderate signals support each other.
        let family = [0.001, 0.002, 0.003, 0.004, 0.9];
        assert_eq!(false_discovery_cutoff(&family, 0.01), Some(0.004));
        assert_eq!(false_discovery_cutoff(&[0.5, 0.2], 0.01), None);
        assert_eq!(false_discovery_cutoff(&[], 0.01), None);
    }

    #[test]
    fn dispersion_is_one_for_binomial_counts_and_more_for_swings() {
        let totals = [1000, 1000, 1000];
        let steady = [vec![100, 101, 99], vec![50, 49, 51]];
        assert_eq!(dispersion(&steady, &totals), 1.0);
        let swinging = [vec![60, 140, 100], vec![20, 80, 50]];
        assert!(dispersion(&swinging, &totals) > 10.0);
        assert_eq!(
            dispersion(&[vec![1, 0, 2]], &totals),
            1.0,
            "too small to judge"
        );
        assert_eq!(dispersion(&steady, &[1000]), 1.0);
    }

    #[test]
    fn classes_follow_share_not_volume() {
        let rule = Thresholds::default();
        assert_eq!(
            evaluate(0, 1000, 0, 4000, 1.0, &rule).class,
            FrequencyClass::Persistent
        );
        assert_eq!(
            evaluate(40, 1000, 0, 4000, 1.0, &rule).class,
            FrequencyClass::Emerging
        );
        assert_eq!(
            evaluate(100, 1000, 200, 4000, 1.0, &rule).class,
            FrequencyClass::Growing
        );
        assert_eq!(
            evaluate(50, 1000, 200, 4000, 1.0, &rule).class,
            FrequencyClass::Persistent
        );
        assert_eq!(
            evaluate(20, 1000, 200, 4000, 1.0, &rule).class,
            FrequencyClass::Declining
        );
        // Everything doubles: share unchanged, no alert.
        assert!(!evaluate(100, 2000, 200, 4000, 1.0, &rule).alert);
    }
}
