//! Emerging phrases: words and word pairs that customers start saying between theme refreshes.
//!
//! Themes are found by a refresh; until the next one, a new problem's verbatims are assigned to
//! the nearest old theme (spread over several, hidden in a broad one, or none). Its words still
//! rise. At each evaluation time every phrase (stemmed word or adjacent pair, as themes use them)
//! in at least the rule's minimum mentions is tested like a theme: its share of the window's
//! verbatims against its share of the baseline's, the same one-sided test scaled by the same
//! measured overdispersion, with false-discovery control across the phrases tested. Mentions in
//! the themes raised at the same evaluation, or within the cooldown, do not count (window and
//! baseline; the totals stay whole): what those alerts say is said already, so a phrase rises only if it rises **without**
//! them. The phrases that rise are grouped (phrases sharing at least half of their mentions are one
//! problem) and each group is an alert of its own kind ([`super::RuleKind::EmergingPhrase`]).

use std::collections::{HashMap, HashSet};

use crate::model::Verbatim;
use crate::text::StemLanguage;
use crate::themes::tfidf::features;
use crate::trends::{evaluate, false_discovery_cutoff, Standing, Thresholds};

/// A phrase is tested when it is said in at least this many times the rule's `min_mentions`
/// verbatims of the window: thousands of phrases are tested at every evaluation and each is weaker
/// evidence than a theme (a retweeted complaint, one conversation). On the airline backtest (1-day
/// windows) a floor of 1× raised 10 phrase alerts in 7 days, most on 10–14 mentions.
pub const PHRASE_MENTIONS_FACTOR: u64 = 2;
/// Two rising phrases are one problem when this share of the smaller one's mentions say both.
pub const SAME_PROBLEM_OVERLAP: f64 = 0.5;
/// A pair is shown instead of the group's leading word when it is in at least this share of the
/// word's mentions.
const PAIR_NAMES_WORD: f64 = 0.5;
/// Phrases an alert lists at most.
const PHRASES_LISTED: usize = 3;

/// The phrases of a run of verbatims, extracted once for every evaluation time of a call.
pub struct PhraseIndex {
    /// Per verbatim (same order as the slice indexed), its distinct phrase ids, sorted.
    docs: Vec<Vec<u32>>,
    /// Phrase id → stemmed phrase.
    stems: Vec<String>,
}

impl PhraseIndex {
    /// Extracts the phrases of `verbatims`.
    pub fn new(verbatims: &[Verbatim]) -> PhraseIndex {
        let mut ids: HashMap<String, u32> = HashMap::new();
        let mut stems: Vec<String> = Vec::new();
        let docs = verbatims
            .iter()
            .map(|v| {
                let language = StemLanguage::from_tag(v.language.as_deref().unwrap_or("en"));
                let mut doc: Vec<u32> = features(&v.text, language, true)
                    .features
                    .into_iter()
                    .map(|f| {
                        *ids.entry(f).or_insert_with_key(|f| {
                            stems.push(f.clone());
                            stems.len() as u32 - 1
                        })
                    })
                    .collect();
                doc.sort_unstable();
                doc.dedup();
                doc
            })
            .collect();
        PhraseIndex { docs, stems }
    }

    /// How many of the verbatims at `range` that `keep` keeps say each phrase.
    fn counts(
        &self,
        range: std::ops::Range<usize>,
        keep: impl Fn(usize) -> bool,
    ) -> HashMap<u32, u64> {
        let mut counts: HashMap<u32, u64> = HashMap::new();
        for doc in range.filter(|&i| keep(i)).map(|i| &self.docs[i]) {
            for &p in doc {
                *counts.entry(p).or_default() += 1;
            }
        }
        counts
    }

    fn says(&self, at: usize, phrase: u32) -> bool {
        self.docs[at].binary_search(&phrase).is_ok()
    }
}

/// One problem heard in new words: its leading phrase (the most significant), the phrases that
/// go with it, and the verbatims that say the leading one.
#[derive(Debug, Clone)]
pub struct EmergingPhrase<'a> {
    /// The stemmed leading phrase: the key an alert cools down on.
    pub key: String,
    /// The phrases, as customers write them, the one that names the problem first.
    pub phrases: Vec<String>,
    pub standing: Standing,
    /// Window and baseline verbatims saying the leading phrase, outside the themes alerting at
    /// the same evaluation.
    pub mentions: Vec<&'a Verbatim>,
    pub baseline: Vec<&'a Verbatim>,
    /// How many of `mentions` have no theme at all.
    pub unthemed: u64,
}

/// What [`emerging`] reads: the verbatims (sorted by time) and their phrases, the window and the
/// baseline as index ranges of them.
pub struct PhraseWindow<'a, 'i> {
    pub verbatims: &'a [Verbatim],
    pub index: &'i PhraseIndex,
    pub window: std::ops::Range<usize>,
    pub baseline: std::ops::Range<usize>,
}

/// The phrases that rose significantly in the window and that no theme explains, grouped into
/// problems, most significant first. `alerting` holds the themes raised at this evaluation or
/// within the cooldown.
pub fn emerging<'a>(
    at: &PhraseWindow<'a, '_>,
    alerting: &HashSet<&str>,
    dispersion: f64,
    thresholds: &Thresholds,
    significance: f64,
) -> Vec<EmergingPhrase<'a>> {
    let (n, baseline_n) = (at.window.len() as u64, at.baseline.len() as u64);
    // Only mentions outside the alerting themes count: what those themes say is said already.
    let unexplained = |i: usize| {
        at.verbatims[i]
            .theme
            .as_deref()
            .is_none_or(|t| !alerting.contains(t))
    };
    let now = at.index.counts(at.window.clone(), unexplained);
    let before = at.index.counts(at.baseline.clone(), unexplained);
    let mut tested: Vec<(u32, Standing)> = now
        .iter()
        .filter(|&(_, &x)| x >= PHRASE_MENTIONS_FACTOR * thresholds.min_mentions)
        .map(|(&p, &x)| {
            let b = before.get(&p).copied().unwrap_or(0);
            (p, evaluate(x, n, b, baseline_n, dispersion, thresholds))
        })
        .collect();
    let family: Vec<f64> = tested.iter().map(|(_, s)| s.p_value).collect();
    let Some(cutoff) = false_discovery_cutoff(&family, significance) else {
        return Vec::new();
    };
    tested.retain(|(_, s)| s.alert && s.p_value <= cutoff);
    let stem = |p: u32| at.index.stems[p as usize].as_str();
    tested.sort_by(|(p, a), (q, b)| {
        a.p_value
            .total_cmp(&b.p_value)
            .then_with(|| b.mentions.cmp(&a.mentions))
            .then_with(|| stem(*p).cmp(stem(*q)))
    });

    // The unexplained verbatims that say each rising phrase; phrases said together are one
    // problem.
    let saying = |p: u32, range: &std::ops::Range<usize>| -> Vec<usize> {
        range
            .clone()
            .filter(|&i| at.index.says(i, p) && unexplained(i))
            .collect()
    };
    let mut groups: Vec<(u32, Standing, Vec<usize>, Vec<u32>)> = Vec::new();
    for (p, standing) in tested {
        let mentions = saying(p, &at.window);
        let joined = groups.iter_mut().find(|(_, _, lead, _)| {
            let shared = overlap(lead, &mentions);
            shared as f64 >= SAME_PROBLEM_OVERLAP * lead.len().min(mentions.len()) as f64
        });
        match joined {
            Some((_, _, _, members)) => members.push(p),
            None => groups.push((p, standing, mentions, vec![p])),
        }
    }

    groups
        .into_iter()
        .map(|(lead, standing, mentions, members)| {
            let mentions: Vec<&Verbatim> = mentions.iter().map(|&i| &at.verbatims[i]).collect();
            let baseline = saying(lead, &at.baseline)
                .into_iter()
                .map(|i| &at.verbatims[i])
                .collect();
            let counts: HashMap<u32, u64> = members.iter().map(|&p| (p, now[&p])).collect();
            let named = naming_phrase(lead, &members, &counts, stem);
            // The naming phrase, then the others (each by its pair, as the group is named) that
            // add a word.
            let mut listed: Vec<&str> = vec![stem(named)];
            for &p in &members {
                let shown = stem(naming_phrase(p, &members, &counts, stem));
                let adds = shown
                    .split(' ')
                    .any(|w| !listed.iter().any(|l| l.split(' ').any(|x| x == w)));
                if adds && listed.len() < PHRASES_LISTED {
                    listed.push(shown);
                }
            }
            let surfaces = surface_forms(&mentions);
            EmergingPhrase {
                key: stem(lead).to_string(),
                phrases: listed
                    .iter()
                    .map(|p| crate::text::surface_phrase(p, &surfaces))
                    .collect(),
                unthemed: mentions.iter().filter(|v| v.theme.is_none()).count() as u64,
                standing,
                mentions,
                baseline,
            }
        })
        .collect()
}

/// How many entries two sorted lists share.
fn overlap(a: &[usize], b: &[usize]) -> usize {
    let (mut i, mut j, mut shared) = (0, 0, 0);
    while i < a.len() && j < b.len() {
        match a[i].cmp(&b[j]) {
            std::cmp::Ordering::Less => i += 1,
            std::cmp::Ordering::Greater => j += 1,
            std::cmp::Ordering::Equal => {
                shared += 1;
                i += 1;
                j += 1;
            }
        }
    }
    shared
}

/// The phrase that names a group: a pair containing the leading word when it is said in most of
/// the word's mentions (a pair says more than a word), else the leading phrase.
fn naming_phrase<'s>(
    lead: u32,
    members: &[u32],
    counts: &HashMap<u32, u64>,
    stem: impl Fn(u32) -> &'s str,
) -> u32 {
    let word = stem(lead);
    if word.contains(' ') {
        return lead;
    }
    members
        .iter()
        .copied()
        .filter(|&p| stem(p).split(' ').count() == 2 && stem(p).split(' ').any(|w| w == word))
        .filter(|p| counts[p] as f64 >= PAIR_NAMES_WORD * counts[&lead] as f64)
        .max_by(|a, b| {
            counts[a]
                .cmp(&counts[b])
                .then_with(|| stem(*b).cmp(stem(*a)))
        })
        .unwrap_or(lead)
}

/// Stem → the word customers write most for it (ties: the first alphabetically), over
/// `verbatims`.
pub fn surface_forms(verbatims: &[&Verbatim]) -> HashMap<String, String> {
    let docs: Vec<Vec<(String, String)>> = verbatims
        .iter()
        .map(|v| {
            let language = StemLanguage::from_tag(v.language.as_deref().unwrap_or("en"));
            features(&v.text, language, false).surfaces
        })
        .collect();
    crate::text::surface_forms(
        docs.iter()
            .flatten()
            .map(|(stem, word)| (stem.as_str(), word.as_str())),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn verbatim(text: &str, theme: Option<&str>) -> Verbatim {
        let mut v = Verbatim::example("ws", text);
        v.theme = theme.map(String::from);
        v
    }

    /// A baseline of 200 verbatims over four themes, then a window of 100 where 30 say a new
    /// problem ("… a blank pdf", two wordings) spread as the caller says; the themes' other words
    /// hold their shares.
    fn stream(problem_theme: impl Fn(usize) -> Option<&'static str>) -> Vec<Verbatim> {
        let topics = [
            ("login fails with my password", "TH-1"),
            ("checkout page is slow today", "TH-2"),
            ("great support from the agent", "TH-3"),
            ("please add a dark mode", "TH-4"),
        ];
        let mut out = Vec::new();
        for i in 0..200 {
            let (text, theme) = topics[i % 4];
            out.push(verbatim(text, Some(theme)));
        }
        for i in 0..70 {
            let (text, theme) = topics[i % 4];
            out.push(verbatim(text, Some(theme)));
        }
        for i in 0..30 {
            let text = if i % 2 == 0 {
                "the invoice comes out as a blank pdf"
            } else {
                "downloaded invoices show a blank pdf"
            };
            out.push(verbatim(text, problem_theme(i)));
        }
        out
    }

    fn run<'a>(verbatims: &'a [Verbatim], alerting: &HashSet<&str>) -> Vec<EmergingPhrase<'a>> {
        let index = PhraseIndex::new(verbatims);
        let window = PhraseWindow {
            verbatims,
            index: &index,
            window: 200..300,
            baseline: 0..200,
        };
        emerging(&window, alerting, 1.0, &Thresholds::default(), 0.01)
    }

    #[test]
    fn a_new_problem_spread_over_themes_is_one_emerging_phrase() {
        let verbatims = stream(|i| match i % 3 {
            0 => Some("TH-1"),
            1 => Some("TH-2"),
            _ => None,
        });
        let found = run(&verbatims, &HashSet::new());
        assert_eq!(found.len(), 1, "{found:#?}");
        let problem = &found[0];
        // "invoice", "pdf", "blank", "blank pdf" rise together (each in all 30): one problem,
        // named by its pair.
        assert!(
            problem.phrases[0].contains("pdf") && problem.phrases[0].contains(' '),
            "{:?}",
            problem.phrases
        );
        assert!(problem.phrases.iter().any(|p| p.starts_with("invoice")));
        assert_eq!(problem.standing.baseline_mentions, 0);
        assert!(problem.mentions.len() >= 15);
        assert_eq!(problem.unthemed, problem.mentions.len() as u64 / 3);
    }

    #[test]
    fn a_phrase_is_explained_only_by_the_themes_alerting_with_it() {
        // Hidden in one broad theme that is not alerting: still heard.
        let in_one_theme = stream(|_| Some("TH-2"));
        assert_eq!(run(&in_one_theme, &HashSet::new()).len(), 1);
        // That theme alerting says it already.
        assert!(run(&in_one_theme, &HashSet::from(["TH-2"])).is_empty());

        let thirds = stream(|i| match i % 3 {
            0 => Some("TH-1"),
            1 => Some("TH-2"),
            _ => Some("TH-3"),
        });
        // One of three themes alerting leaves 20 mentions of 100 verbatims against none before:
        // still a significant rise past the velocity threshold.
        assert_eq!(run(&thirds, &HashSet::from(["TH-1"])).len(), 1);
        // Two of three leave 10: under the phrases' floor of twice `min_mentions`.
        assert!(run(&thirds, &HashSet::from(["TH-1", "TH-2"])).is_empty());
        // All three alerting: nothing left to explain.
        assert!(run(&thirds, &HashSet::from(["TH-1", "TH-2", "TH-3"])).is_empty());
    }

    #[test]
    fn steady_words_do_not_emerge() {
        let mut verbatims = stream(|_| None);
        verbatims.truncate(270);
        let topics = verbatims[..30].to_vec();
        verbatims.extend(topics);
        assert!(run(&verbatims, &HashSet::new()).is_empty());
    }

    #[test]
    fn surface_forms_pick_the_most_written_word() {
        let a = verbatim("Invoices are blank. invoices again", None);
        let b = verbatim("one invoice", None);
        let forms = surface_forms(&[&a, &b]);
        assert_eq!(
            crate::text::surface_phrase("invoic blank", &forms),
            "invoices blank"
        );
    }
}
