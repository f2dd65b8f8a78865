//! Distinctive keywords of one group of verbatims against another: the log-odds ratio with an
//! informative Dirichlet prior (Monroe, Colaresi & Quinn 2008, "Fightin' Words", §3.5), z-scored.
//!
//! Words are the shared analyzer's stems ([`crate::text::stemmed_words`]: words and hashtags,
//! stopwords removed), counted per occurrence. With `y` a stem's count in a group of `n` words and
//! the prior taken from the whole corpus in scope (`α_w` the stem's count there, `α₀` all its
//! words):
//!
//! ```text
//! δ_w = ln((y_a + α_w) / (n_a + α₀ − y_a − α_w)) − ln((y_b + α_w) / (n_b + α₀ − y_b − α_w))
//! z_w = δ_w / √(1 / (y_a + α_w) + 1 / (y_b + α_w))
//! ```
//!
//! A positive z leans to group a, a negative one to b. The prior shrinks rare words toward no
//! difference, so a word said twice does not outrank one said a hundred times. Each stem is shown
//! as its most frequent surface word in the corpus.

use std::collections::{BTreeSet, HashMap};

use crate::model::Verbatim;
use crate::text::{stemmed_words, surface_forms, tokenize, StemLanguage};

/// Fewest occurrences in its own group for a keyword to be listed.
pub const MIN_COUNT: u64 = 3;

/// A keyword distinctive of one group.
#[derive(Debug, Clone, PartialEq)]
pub struct Keyword {
    /// How it is shown: the stem's most frequent word as written (normalised).
    pub term: String,
    pub stem: String,
    /// Occurrences in its group and in the other.
    pub count: u64,
    pub other_count: u64,
    /// The z-scored log-odds ratio (positive: group a; negative: group b).
    pub z: f64,
    /// |z| over the largest |z| of its list: 1 for the most distinctive (for a word cloud).
    pub weight: f64,
}

/// The keywords distinctive of each side, most distinctive first.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Distinctive {
    pub a: Vec<Keyword>,
    pub b: Vec<Keyword>,
}

/// The z-scored log-odds ratio of a word said `y_a` times of `n_a` words in group a and `y_b` of
/// `n_b` in group b, under a prior of `alpha` for the word out of `alpha_0` (see the module
/// documentation); 0 when the word is every word of the corpus.
pub fn log_odds_z(y_a: u64, n_a: u64, y_b: u64, n_b: u64, alpha: f64, alpha_0: f64) -> f64 {
    let (y_a, n_a, y_b, n_b) = (y_a as f64, n_a as f64, y_b as f64, n_b as f64);
    let (others_a, others_b) = (n_a + alpha_0 - y_a - alpha, n_b + alpha_0 - y_b - alpha);
    if others_a <= 0.0 || others_b <= 0.0 {
        // The word is every word said: it cannot set one group apart.
        return 0.0;
    }
    let delta = ((y_a + alpha) / others_a).ln() - ((y_b + alpha) / others_b).ln();
    delta / (1.0 / (y_a + alpha) + 1.0 / (y_b + alpha)).sqrt()
}

/// Stem counts of some verbatims.
#[derive(Debug, Clone, Default)]
struct Counts {
    stems: HashMap<String, u64>,
    total: u64,
}

impl Counts {
    fn of<'a>(verbatims: impl IntoIterator<Item = &'a Verbatim>) -> Counts {
        let mut counts = Counts::default();
        for v in verbatims {
            let tokens = tokenize(&v.text);
            for (stem, _) in stemmed_words(&tokens, language(v)) {
                *counts.stems.entry(stem).or_default() += 1;
                counts.total += 1;
            }
        }
        counts
    }

    fn get(&self, stem: &str) -> u64 {
        self.stems.get(stem).copied().unwrap_or(0)
    }
}

fn language(v: &Verbatim) -> StemLanguage {
    StemLanguage::from_tag(v.language.as_deref().unwrap_or("en"))
}

/// Up to `limit` keywords distinctive of `a` against `b`, and of `b` against `a`, with the prior
/// from `corpus` (which holds both).
pub fn distinctive(
    a: &[&Verbatim],
    b: &[&Verbatim],
    corpus: &[&Verbatim],
    limit: usize,
) -> Distinctive {
    let (in_a, in_b) = (Counts::of(a.iter().copied()), Counts::of(b.iter().copied()));
    let prior = Counts::of(corpus.iter().copied());
    let alpha_0 = prior.total as f64;
    let stems: BTreeSet<&String> = in_a.stems.keys().chain(in_b.stems.keys()).collect();
    let mut scored: Vec<(String, f64)> = stems
        .into_iter()
        .filter(|stem| in_a.get(stem) >= MIN_COUNT || in_b.get(stem) >= MIN_COUNT)
        .map(|stem| {
            // Every stem of a or b is in the corpus; a corpus that does not hold them still
            // gives a finite z with the prior of one occurrence.
            let alpha = prior.get(stem).max(1) as f64;
            let z = log_odds_z(
                in_a.get(stem),
                in_a.total,
                in_b.get(stem),
                in_b.total,
                alpha,
                alpha_0.max(alpha),
            );
            (stem.clone(), z)
        })
        .collect();
    scored.sort_by(|x, y| y.1.total_cmp(&x.1).then_with(|| x.0.cmp(&y.0)));
    let texts: Vec<Vec<crate::text::Token>> = corpus.iter().map(|v| tokenize(&v.text)).collect();
    let words: Vec<(String, &str)> = corpus
        .iter()
        .zip(&texts)
        .flat_map(|(v, tokens)| stemmed_words(tokens, language(v)))
        .collect();
    let surfaces = surface_forms(words.iter().map(|(s, w)| (s.as_str(), *w)));
    let pick = |side: &mut dyn Iterator<Item = &(String, f64)>, own: &Counts, other: &Counts| {
        let picked: Vec<&(String, f64)> = side
            .filter(|(stem, _)| own.get(stem) >= MIN_COUNT)
            .take(limit)
            .collect();
        let largest = picked.first().map_or(1.0, |(_, z)| z.abs());
        picked
            .into_iter()
            .map(|(stem, z)| Keyword {
                term: surfaces.get(stem).cloned().unwrap_or_else(|| stem.clone()),
                stem: stem.clone(),
                count: own.get(stem),
                other_count: other.get(stem),
                z: *z,
                weight: z.abs() / largest,
            })
            .collect()
    };
    Distinctive {
        a: pick(&mut scored.iter().filter(|(_, z)| *z > 0.0), &in_a, &in_b),
        b: pick(
            &mut scored.iter().rev().filter(|(_, z)| *z < 0.0),
            &in_b,
            &in_a,
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn said(text: &str) -> Verbatim {
        Verbatim::example("ws", text)
    }

    #[test]
    fn distinctive_words_by_z_scored_log_odds_with_the_corpus_as_prior() {
        let positive = [
            said("Great crew"),
            said("great crew"),
            said("great crew, flight"),
        ];
        let negative = [
            said("delayed flight"),
            said("Delayed flight"),
            said("delayed bag"),
        ];
        let neutral = said("crew flight");
        let a: Vec<&Verbatim> = positive.iter().collect();
        let b: Vec<&Verbatim> = negative.iter().collect();
        let corpus: Vec<&Verbatim> = a.iter().chain(&b).copied().chain([&neutral]).collect();
        let d = distinctive(&a, &b, &corpus, 5);
        // Stems: a holds great 3, crew 3, flight 1 (n_a = 7); b delay 3, flight 2, bag 1
        // (n_b = 6); the corpus great 3, crew 4, flight 4, delay 3, bag 1 (α₀ = 15).
        // great (α = 3): δ = ln(6/16) − ln(3/18) = −0.98083 + 1.79176 = 0.81093,
        //   σ = √(1/6 + 1/3) = 0.70711, z = 1.14683.
        // crew (α = 4): δ = ln(7/15) − ln(4/17) = −0.76214 + 1.44692 = 0.68478,
        //   σ = √(1/7 + 1/4) = 0.62678, z = 1.09253; weight 1.09253 / 1.14683 = 0.95265.
        // delay (α = 3): δ = ln(3/19) − ln(6/15) = −1.84583 + 0.91629 = −0.92954,
        //   σ = 0.70711, z = −1.31456.
        // flight (z = −0.508) and bag are said fewer than 3 times on their side: not listed.
        let terms = |ks: &[Keyword]| ks.iter().map(|k| k.term.clone()).collect::<Vec<_>>();
        assert_eq!(terms(&d.a), ["great", "crew"]);
        assert_eq!(terms(&d.b), ["delayed"]);
        assert!((d.a[0].z - 1.14683).abs() < 1e-5, "{:?}", d.a);
        assert!((d.a[1].z - 1.09253).abs() < 1e-5);
        assert!((d.a[1].weight - 0.95265).abs() < 1e-5);
        assert_eq!(d.a[0].weight, 1.0);
        assert!((d.b[0].z - -1.31456).abs() < 1e-5);
        assert_eq!(
            (d.b[0].stem.as_str(), d.b[0].count, d.b[0].other_count),
            ("delay", 3, 0)
        );
        assert!((log_odds_z(1, 7, 2, 6, 4.0, 15.0) - -0.50779).abs() < 1e-5);
    }
}
