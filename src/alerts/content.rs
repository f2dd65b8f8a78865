//! What an alert says: its severity, a one-line summary, a recommended action and sample quotes,
//! all derived from the evidence by documented rules.

use std::collections::{HashMap, HashSet};

use super::{AlertSeverity, Evidence, Quote, RuleKind};
use crate::model::Verbatim;
use crate::text::StemLanguage;
use crate::themes::tfidf::{features, DocFeatures};
use crate::time::SECOND;

/// Longest quote text, in characters.
const QUOTE_CHARS: usize = 280;

/// Severity of an alert:
/// - **critical**: at least 20% of the mentions are tagged critical, or the share of voice at
///   least tripled (velocity ≥ 2) while the average sentiment is at or below −0.4;
/// - **high**: at least 20% of the mentions are high or critical, or the average sentiment is at
///   or below −0.4, or the share tripled;
/// - **medium**: negative on average (below −0.1), or the share doubled;
/// - **low**: anything else (e.g. a growing feature request).
pub fn severity(evidence: &Evidence) -> AlertSeverity {
    let angry = evidence.average_sentiment <= -0.4;
    let tripled = evidence.velocity >= 2.0;
    if evidence.critical_share >= 0.2 || (tripled && angry) {
        AlertSeverity::Critical
    } else if evidence.high_share >= 0.2 || angry || tripled {
        AlertSeverity::High
    } else if evidence.average_sentiment < -0.1 || evidence.velocity >= 1.0 {
        AlertSeverity::Medium
    } else {
        AlertSeverity::Low
    }
}

/// "+340% share of voice, last 7 days (57 mentions)", or for a sentiment spike
/// "negative mentions 31% → 72%, last 7 days (57 mentions)". An incident over several themes
/// says so ("57 mentions in 3 related themes"), and a rise with a sentiment jump says both,
/// in the order of `signals`.
pub fn summary(signals: &[RuleKind], evidence: &Evidence, themes: usize) -> String {
    let window = describe_duration((evidence.window_end - evidence.window_start) / SECOND);
    let mentions = match themes {
        0 | 1 => format!("{} mentions", evidence.mentions),
        n => format!("{} mentions in {n} related themes", evidence.mentions),
    };
    let parts: Vec<String> = signals
        .iter()
        .map(|signal| match signal {
            RuleKind::Velocity | RuleKind::EmergingPhrase => rise(evidence),
            RuleKind::NegativeSentimentSpike => format!(
                "negative mentions {:.0}% → {:.0}%",
                evidence.baseline_negative_share * 100.0,
                evidence.negative_share * 100.0
            ),
        })
        .collect();
    format!("{}, last {window} ({mentions})", parts.join("; "))
}

/// How a share rose: "+340% share of voice", or "new: 1.2% of voice (none before)".
fn rise(evidence: &Evidence) -> String {
    if evidence.baseline_mentions == 0 {
        format!("new: {:.1}% of voice (none before)", evidence.share * 100.0)
    } else {
        format!("{:+.0}% share of voice", evidence.velocity * 100.0)
    }
}

/// An emerging phrase's line: "\"blank pdf\": new: 3.0% of voice (none before), last 1 day
/// (30 mentions, 10 without a theme); no theme covers it yet".
pub fn phrase_summary(phrase: &str, evidence: &Evidence, unthemed: u64) -> String {
    let window = describe_duration((evidence.window_end - evidence.window_start) / SECOND);
    format!(
        "\"{phrase}\": {}, last {window} ({} mentions, {unthemed} without a theme); no theme \
         covers it yet",
        rise(evidence),
        evidence.mentions
    )
}

/// What customers say more of now: up to `limit` phrases (stemmed words and word pairs, shown
/// as written) whose share of the `window`'s mentions rose most over their share of the
/// `baseline`'s, each in at least 3 mentions and a tenth of the window. A pair is preferred to
/// its words; most distinctive first. This names the new problem even when it landed in an older,
/// broader theme ("charged twice" rising as "still waiting / refund").
pub fn rising_phrases(window: &[&Verbatim], baseline: &[&Verbatim], limit: usize) -> Vec<String> {
    // Shares are estimated on at most `PHRASE_SAMPLE` evenly spread mentions of each side, so an
    // incident with a huge baseline costs no more than a large one.
    let (window, baseline) = (&spread(window)[..], &spread(baseline)[..]);
    let extract = |verbatims: &[&Verbatim]| -> Vec<DocFeatures> {
        verbatims
            .iter()
            .map(|v| {
                let language = StemLanguage::from_tag(v.language.as_deref().unwrap_or("en"));
                features(&v.text, language, true)
            })
            .collect()
    };
    let (window_docs, baseline_docs) = (extract(window), extract(baseline));
    fn count(docs: &[DocFeatures]) -> HashMap<&str, usize> {
        let mut df: HashMap<&str, usize> = HashMap::new();
        for doc in docs {
            let unique: HashSet<&str> = doc.features.iter().map(String::as_str).collect();
            for f in unique {
                *df.entry(f).or_default() += 1;
            }
        }
        df
    }
    let now = count(&window_docs);
    let before = count(&baseline_docs);
    let (n, m) = (window.len().max(1) as f64, baseline.len().max(1) as f64);
    let support = 3.max(window.len() / 10);
    let mut scored: Vec<(f64, &str)> = now
        .iter()
        .filter(|&(_, &df)| df >= support)
        .map(|(f, &df)| {
            let share_before = before.get(f).map_or(0.0, |&b| b as f64 / m);
            (df as f64 / n - share_before, *f)
        })
        .filter(|&(rise, _)| rise > 0.0)
        .collect();
    scored.sort_by(|a, b| b.0.total_cmp(&a.0).then_with(|| a.1.cmp(b.1)));
    let mut picked: Vec<&str> = Vec::new();
    for &(rise, feature) in &scored {
        if picked.len() == limit {
            break;
        }
        // A word is shown in its strongest pair when that pair rose nearly as much.
        let chosen = if feature.contains(' ') {
            feature
        } else {
            scored
                .iter()
                .find(|(r, g)| {
                    g.contains(' ') && g.split(' ').any(|w| w == feature) && *r >= 0.6 * rise
                })
                .map_or(feature, |&(_, g)| g)
        };
        // No two phrases share a word.
        let overlaps = chosen
            .split(' ')
            .any(|w| picked.iter().any(|p| p.split(' ').any(|q| q == w)));
        if !overlaps {
            picked.push(chosen);
        }
    }
    // Shown as the window writes them, from the features already extracted.
    let surfaces = crate::text::surface_forms(window_docs.iter().flat_map(|d| {
        d.surfaces
            .iter()
            .map(|(stem, word)| (stem.as_str(), word.as_str()))
    }));
    picked
        .into_iter()
        .map(|f| crate::text::surface_phrase(f, &surfaces))
        .collect()
}

/// Mentions [`rising_phrases`] reads per side at most.
const PHRASE_SAMPLE: usize = 2000;

/// At most [`PHRASE_SAMPLE`] of `mentions`, evenly spread.
fn spread<'a>(mentions: &[&'a Verbatim]) -> Vec<&'a Verbatim> {
    let step = mentions.len().div_ceil(PHRASE_SAMPLE).max(1);
    mentions.iter().step_by(step).copied().collect()
}

/// A next step for the owning team, by rule and severity.
pub fn recommended_action(
    rule: RuleKind,
    severity: AlertSeverity,
    label: &str,
    owner: &str,
    product_area: &str,
    evidence: &Evidence,
) -> String {
    let team = if owner.is_empty() {
        "the owning team".to_string()
    } else {
        owner.to_string()
    };
    let area = if product_area.is_empty() {
        "this area".to_string()
    } else {
        product_area.replace('_', " ")
    };
    let window = describe_duration((evidence.window_end - evidence.window_start) / SECOND);
    let customers = match evidence.affected_customers {
        0 => String::new(),
        n => format!(" {n} customers are affected;"),
    };
    match (rule, severity) {
        (RuleKind::NegativeSentimentSpike, _) => format!(
            "Ask {team} to read the latest \"{label}\" verbatims: {}; look for a broken \
             workaround, a policy change or a missed promise.{customers} reply to the quoted \
             customers once the cause is known.",
            volume_and_mood(evidence.velocity)
        ),
        (RuleKind::Velocity, AlertSeverity::Critical | AlertSeverity::High) => format!(
            "Page {team}: check releases, incidents and config changes touching {area} in the \
             last {window};{customers} open an incident if it is confirmed and point support \
             at a known-issue reply."
        ),
        (RuleKind::Velocity, AlertSeverity::Medium) => format!(
            "Ask {team} to triage \"{label}\" this week: confirm whether the growth in {area} \
             is expected (a launch, a campaign) or a defect, and tag a ticket.{customers}"
        ),
        (RuleKind::EmergingPhrase, _) => format!(
            "Ask {team} to read the verbatims saying \"{label}\": customers started saying it in \
             the last {window} and no theme covers it yet;{customers} refresh themes to track it \
             as one, and open an incident if it is a defect."
        ),
        (RuleKind::Velocity, AlertSeverity::Low) => format!(
            "Share \"{label}\" with {team} at the next review: demand is growing; consider it \
             for the roadmap or the help centre."
        ),
    }
    .trim_end_matches(';')
    .trim()
    .to_string()
}

/// How a sentiment spike's volume moved: within ±25% of its baseline share it is steady;
/// beyond that the change is said, so a theme at +3,868% is not called steady.
fn volume_and_mood(velocity: f64) -> String {
    if velocity >= 0.25 {
        format!(
            "more customers raise it ({:+.0}% share of voice) and they are angrier",
            velocity * 100.0
        )
    } else if velocity <= -0.25 {
        format!(
            "fewer customers raise it ({:+.0}% share of voice) but they are angrier",
            velocity * 100.0
        )
    } else {
        "volume is steady but customers are angrier".to_string()
    }
}

/// Up to `n` quotes: the most negative first (they say what hurts), no two sharing half their
/// words (near-duplicates say nothing new), each cut to a readable length.
pub fn pick_quotes(mut candidates: Vec<(String, &str, f32)>, n: usize) -> Vec<Quote> {
    candidates.sort_by(|a, b| a.2.total_cmp(&b.2).then_with(|| a.0.cmp(&b.0)));
    let words = |text: &str| -> HashSet<String> {
        text.split(|c: char| !c.is_alphanumeric())
            .filter(|w| !w.is_empty())
            .map(str::to_lowercase)
            .collect()
    };
    let mut seen: Vec<HashSet<String>> = Vec::new();
    let mut quotes = Vec::new();
    for (verbatim_id, text, _) in candidates {
        let these = words(text);
        let alike = |other: &HashSet<String>| {
            let shared = these.intersection(other).count();
            shared * 2 >= these.union(other).count()
        };
        if seen.iter().any(alike) {
            continue;
        }
        seen.push(these);
        quotes.push(Quote {
            verbatim_id,
            text: shorten(text, QUOTE_CHARS),
        });
        if quotes.len() == n {
            break;
        }
    }
    quotes
}

fn shorten(text: &str, max_chars: usize) -> String {
    if text.chars().count() <= max_chars {
        return text.to_string();
    }
    let cut: String = text.chars().take(max_chars - 1).collect();
    format!("{}…", cut.trim_end())
}

/// "7 days", "1 day", "12 hours", "90 minutes".
pub fn describe_duration(secs: i64) -> String {
    let plural = |n: i64, unit: &str| {
        if n == 1 {
            format!("1 {unit}")
        } else {
            format!("{n} {unit}s")
        }
    };
    if secs % 86_400 == 0 && secs > 0 {
        plural(secs / 86_400, "day")
    } else if secs % 3_600 == 0 && secs > 0 {
        plural(secs / 3_600, "hour")
    } else {
        plural(secs / 60, "minute")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::trends::FrequencyClass;

    fn evidence(velocity: f64, sentiment: f64, critical: f64, high: f64) -> Evidence {
        Evidence {
            class: FrequencyClass::Growing,
            mentions: 57,
            baseline_mentions: 40,
            share: 0.05,
            baseline_share: 0.0114,
            velocity,
            p_value: 1e-9,
            average_sentiment: sentiment,
            negative_share: 0.72,
            baseline_negative_share: 0.31,
            critical_share: critical,
            high_share: high,
            affected_customers: 12,
            affected_customer_share: 0.1,
            window_start: 0,
            window_end: 7 * 86_400 * 1_000_000,
            baseline_start: -28 * 86_400 * 1_000_000,
            first_seen: 0,
            dispersion: 1.0,
        }
    }

    #[test]
    fn severity_follows_the_documented_rules() {
        assert_eq!(
            severity(&evidence(0.5, 0.2, 0.25, 0.3)),
            AlertSeverity::Critical
        );
        assert_eq!(
            severity(&evidence(2.5, -0.5, 0.0, 0.0)),
            AlertSeverity::Critical
        );
        assert_eq!(severity(&evidence(2.5, 0.3, 0.0, 0.0)), AlertSeverity::High);
        assert_eq!(
            severity(&evidence(0.5, -0.2, 0.0, 0.1)),
            AlertSeverity::Medium
        );
        assert_eq!(severity(&evidence(0.5, 0.4, 0.0, 0.0)), AlertSeverity::Low);
    }

    #[test]
    fn rising_phrases_name_what_is_new_in_the_window() {
        let verbatim = |text: &str| Verbatim::example("ws", text);
        let baseline: Vec<Verbatim> = (0..20)
            .map(|i| verbatim(&format!("charged twice on invoice {i}")))
            .collect();
        let mut window: Vec<Verbatim> = (0..5)
            .map(|i| verbatim(&format!("charged twice on invoice {i}")))
            .collect();
        window.extend((0..10).map(|_| verbatim("still waiting for my refund")));
        let phrases = rising_phrases(
            &window.iter().collect::<Vec<_>>(),
            &baseline.iter().collect::<Vec<_>>(),
            3,
        );
        assert!(!phrases.is_empty());
        assert!(
            phrases[0].contains("refund") || phrases[0].contains("waiting"),
            "{phrases:?}"
        );
        assert!(
            phrases.iter().all(|p| !p.contains("invoice")),
            "{phrases:?}"
        );
    }

    #[test]
    fn summaries_and_actions_read_well() {
        let e = evidence(3.4, -0.5, 0.0, 0.0);
        assert_eq!(
            summary(&[RuleKind::Velocity], &e, 1),
            "+340% share of voice, last 7 days (57 mentions)"
        );
        assert_eq!(
            summary(
                &[RuleKind::Velocity, RuleKind::NegativeSentimentSpike],
                &e,
                3
            ),
            "+340% share of voice; negative mentions 31% → 72%, last 7 days \
             (57 mentions in 3 related themes)"
        );
        let new = Evidence {
            baseline_mentions: 0,
            ..e.clone()
        };
        assert_eq!(
            summary(&[RuleKind::Velocity], &new, 1),
            "new: 5.0% of voice (none before), last 7 days (57 mentions)"
        );
        assert_eq!(
            summary(&[RuleKind::NegativeSentimentSpike], &e, 1),
            "negative mentions 31% → 72%, last 7 days (57 mentions)"
        );
        let action = recommended_action(
            RuleKind::Velocity,
            AlertSeverity::Critical,
            "app crash",
            "mobile-team",
            "mobile_app",
            &e,
        );
        assert!(action.starts_with("Page mobile-team"), "{action}");
        assert!(action.contains("mobile app") && action.contains("12 customers"));
        // A sentiment spike on a theme whose share also soared is not "steady".
        let spike = |velocity| {
            recommended_action(
                RuleKind::NegativeSentimentSpike,
                AlertSeverity::High,
                "refund delays",
                "",
                "",
                &evidence(velocity, -0.5, 0.0, 0.0),
            )
        };
        let soaring = spike(38.68);
        assert!(
            soaring.contains("(+3868% share of voice) and they are angrier"),
            "{soaring}"
        );
        assert!(!soaring.contains("steady"), "{soaring}");
        assert!(spike(0.1).contains("volume is steady but customers are angrier"));
        assert!(spike(-0.6).contains("fewer customers raise it (-60% share of voice)"));
        assert_eq!(describe_duration(3_600), "1 hour");
        assert_eq!(describe_duration(5_400), "90 minutes");
    }

    #[test]
    fn quotes_are_negative_first_and_distinct() {
        let long = "x".repeat(400);
        let quotes = pick_quotes(
            vec![
                (
                    "a".into(),
                    "Disappointed. The app crashes on launch every time",
                    -0.6,
                ),
                ("b".into(), "The app crashes on launch every time!!", -0.9),
                ("c".into(), "fine otherwise", 0.2),
                ("d".into(), long.as_str(), -0.1),
            ],
            3,
        );
        let ids: Vec<&str> = quotes.iter().map(|q| q.verbatim_id.as_str()).collect();
        assert_eq!(ids, ["b", "d", "c"]);
        assert_eq!(quotes[1].text.chars().count(), QUOTE_CHARS);
    }
}
