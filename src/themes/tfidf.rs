//! TF-IDF over the shared analyzer's stemmed unigrams and bigrams: sublinear term frequency,
//! minimum and maximum document frequency, a vocabulary cap, L2-normalised sparse rows.

use std::collections::HashMap;

use crate::text::{is_negation_word, is_stopword, stem, tokenize, StemLanguage, TokenKind};

/// Words that say nothing about a topic on their own: conversational fillers and generic verbs.
/// They still join bigrams ("no one", "not working"), but are not themes by themselves.
const NOT_A_TOPIC: &[&str] = &[
    "also",
    "amp",
    "anyone",
    "anything",
    "back",
    "come",
    "could",
    "day",
    "even",
    "every",
    "everything",
    "get",
    "getting",
    "go",
    "going",
    "gonna",
    "got",
    "guys",
    "hey",
    "hi",
    "know",
    "like",
    "lol",
    "lot",
    "make",
    "made",
    "many",
    "much",
    "need",
    "now",
    "ok",
    "okay",
    "one",
    "please",
    "really",
    "right",
    "said",
    "say",
    "says",
    "someone",
    "something",
    "still",
    "thing",
    "things",
    "think",
    "time",
    "today",
    "want",
    "way",
    "well",
    "will",
    "yes",
    "yet",
];

/// Vocabulary and weighting parameters.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct TfidfParams {
    /// A feature must occur in at least this many documents.
    pub min_df: usize,
    /// A feature in more than this share of documents is dropped.
    pub max_df: f32,
    /// Keep at most this many features (the most frequent).
    pub max_features: usize,
    /// Bigrams are features too.
    pub bigrams: bool,
}

impl Default for TfidfParams {
    fn default() -> Self {
        TfidfParams {
            min_df: 2,
            max_df: 0.5,
            max_features: 50_000,
            bigrams: true,
        }
    }
}

/// A sparse, L2-normalised row: (feature index, weight), sorted by index.
pub type SparseRow = Vec<(u32, f32)>;

/// One document's features: its stemmed unigrams and bigrams, and the surface word of each stem.
#[derive(Debug, Clone, Default)]
pub struct DocFeatures {
    pub features: Vec<String>,
    /// (stem, surface word as written, normalised).
    pub surfaces: Vec<(String, String)>,
}

/// Stemmed content features of a text. Stopwords are dropped, negations kept; bigrams join
/// adjacent content words within a clause.
pub fn features(text: &str, language: StemLanguage, bigrams: bool) -> DocFeatures {
    let tokens = tokenize(text);
    let mut features = Vec::with_capacity(tokens.len() * 2);
    let mut surfaces = Vec::with_capacity(tokens.len());
    let mut previous: Option<String> = None;
    for token in &tokens {
        match token.kind {
            TokenKind::Word | TokenKind::Hashtag if token.text.chars().any(char::is_alphabetic) => {
                if is_stopword(&token.text) {
                    continue;
                }
                let stemmed = stem(&token.text, language).into_owned();
                if bigrams {
                    if let Some(prev) = &previous {
                        features.push(format!("{prev} {stemmed}"));
                    }
                }
                let topical =
                    !is_negation_word(&token.text) && !NOT_A_TOPIC.contains(&token.text.as_str());
                if topical {
                    features.push(stemmed.clone());
                }
                surfaces.push((stemmed.clone(), token.text.clone()));
                previous = Some(stemmed);
            }
            TokenKind::Punct | TokenKind::Url => previous = None,
            _ => {}
        }
    }
    DocFeatures { features, surfaces }
}

/// A fitted vocabulary with inverse document frequencies.
#[derive(Debug, Clone)]
pub struct Vocabulary {
    pub terms: Vec<String>,
    pub idf: Vec<f32>,
    index: HashMap<String, u32>,
}

impl Vocabulary {
    /// Fits the vocabulary on documents.
    pub fn fit(docs: &[DocFeatures], params: &TfidfParams) -> Vocabulary {
        let mut df: HashMap<&str, usize> = HashMap::new();
        for doc in docs {
            let mut seen: Vec<&str> = doc.features.iter().map(String::as_str).collect();
            seen.sort_unstable();
            seen.dedup();
            for f in seen {
                *df.entry(f).or_default() += 1;
            }
        }
        let n = docs.len().max(1);
        let max_df = ((params.max_df * n as f32).ceil() as usize).max(params.min_df);
        let mut kept: Vec<(&str, usize)> = df
            .into_iter()
            .filter(|&(_, d)| d >= params.min_df && d <= max_df)
            .collect();
        kept.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(b.0)));
        kept.truncate(params.max_features);
        kept.sort_by(|a, b| a.0.cmp(b.0));
        let terms: Vec<String> = kept.iter().map(|(t, _)| t.to_string()).collect();
        let idf = kept
            .iter()
            .map(|&(_, d)| ((1.0 + n as f32) / (1.0 + d as f32)).ln() + 1.0)
            .collect();
        let index = terms
            .iter()
            .enumerate()
            .map(|(i, t)| (t.clone(), i as u32))
            .collect();
        Vocabulary { terms, idf, index }
    }

    pub fn len(&self) -> usize {
        self.terms.len()
    }

    pub fn is_empty(&self) -> bool {
        self.terms.is_empty()
    }

    /// The TF-IDF row of a document (empty when it has no known feature).
    pub fn transform(&self, doc: &DocFeatures) -> SparseRow {
        let mut counts: HashMap<u32, f32> = HashMap::new();
        for f in &doc.features {
            if let Some(&i) = self.index.get(f) {
                *counts.entry(i).or_default() += 1.0;
            }
        }
        let mut row: SparseRow = counts
            .into_iter()
            .map(|(i, tf)| (i, (1.0 + tf.ln()) * self.idf[i as usize]))
            .collect();
        row.sort_unstable_by_key(|&(i, _)| i);
        normalize(&mut row);
        row
    }

    pub fn term(&self, index: u32) -> &str {
        &self.terms[index as usize]
    }

    pub fn index_of(&self, term: &str) -> Option<u32> {
        self.index.get(term).copied()
    }
}

/// Scales a row to unit length (leaves an all-zero row alone).
pub fn normalize(row: &mut SparseRow) {
    let norm = row.iter().map(|(_, w)| w * w).sum::<f32>().sqrt();
    if norm > 0.0 {
        for (_, w) in row.iter_mut() {
            *w /= norm;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn features_are_stemmed_content_unigrams_and_bigrams() {
        let f = features(
            "My luggage was lost, again! Lost luggage",
            StemLanguage::English,
            true,
        );
        assert_eq!(
            f.features,
            [
                "luggag",
                "luggag lost",
                "lost",
                "lost",
                "lost luggag",
                "luggag"
            ]
        );
    }

    #[test]
    fn rows_are_unit_length_and_rare_or_ubiquitous_features_drop() {
        let docs: Vec<DocFeatures> = [
            "lost bag",
            "lost bag found",
            "late flight",
            "late flight again",
            "unique words",
        ]
        .iter()
        .map(|t| features(t, StemLanguage::English, false))
        .collect();
        let vocab = Vocabulary::fit(
            &docs,
            &TfidfParams {
                min_df: 2,
                max_df: 0.5,
                max_features: 100,
                bigrams: false,
            },
        );
        assert_eq!(vocab.terms, ["bag", "flight", "late", "lost"]);
        let row = vocab.transform(&docs[0]);
        let norm: f32 = row.iter().map(|(_, w)| w * w).sum();
        assert!((norm - 1.0).abs() < 1e-5);
        assert!(vocab.transform(&docs[4]).is_empty());
    }
}
