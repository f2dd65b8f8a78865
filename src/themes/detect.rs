//! From documents to themes: fit (on a sample when the corpus is large), assign every document,
//! drop small or incoherent clusters into "unthemed", label each theme with its most distinctive
//! phrases in their surface form, pick representative quotes, and match the new themes to the
//! previous ones so ids survive refreshes.

use std::collections::HashMap;

use ndarray::Array2;

use super::kmeans::{cluster_from, nearest, Clusters, KMeansParams};
use super::tfidf::{features, DocFeatures, SparseRow, TfidfParams, Vocabulary};
use super::{choose_k, ThemeParams};
use crate::text::StemLanguage;

/// A document to theme.
#[derive(Debug, Clone)]
pub struct ThemeDoc {
    pub text: String,
    pub language: StemLanguage,
}

/// A theme from an earlier refresh: its id and centroid over feature stems.
#[derive(Debug, Clone)]
pub struct PreviousTheme {
    pub id: String,
    pub centroid: Vec<(String, f32)>,
}

/// A theme found by this run.
#[derive(Debug, Clone)]
pub struct FoundTheme {
    /// 2–4 words in surface form, e.g. "lost luggage".
    pub label: String,
    /// Top keywords (surface form) with their centroid weights.
    pub keywords: Vec<(String, f32)>,
    /// Centroid over feature stems (top features), for matching with later runs.
    pub centroid: Vec<(String, f32)>,
    /// Indices of member documents.
    pub members: Vec<usize>,
    /// Indices of up to 3 representative documents: close to the centroid, not near-duplicates.
    pub quotes: Vec<usize>,
    /// Mean similarity of members to the centroid.
    pub coherence: f32,
    /// The previous theme this one continues, with the centroid similarity.
    pub continues: Option<(String, f32)>,
    /// A previous theme this new one split off from (its closest match continued elsewhere).
    pub split_from: Option<String>,
}

/// The outcome of a detection run.
pub struct Detection {
    pub themes: Vec<FoundTheme>,
    /// Theme index per document (`None`: unthemed).
    pub assignment: Vec<Option<usize>>,
    /// Previous themes whose best match went to another previous theme's continuation:
    /// (previous id, id it merged into).
    pub merged: Vec<(String, String)>,
    pub model: LiveModel,
}

impl Detection {
    /// Share of documents in a theme.
    pub fn coverage(&self) -> f64 {
        let themed = self.assignment.iter().filter(|a| a.is_some()).count();
        themed as f64 / self.assignment.len().max(1) as f64
    }
}

/// What live assignment at ingest needs: the vocabulary and one centroid per theme.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct LiveModel {
    pub terms: Vec<String>,
    pub idf: Vec<f32>,
    /// Per theme index: sparse centroid over `terms`.
    pub centroids: Vec<SparseRow>,
    pub bigrams: bool,
    pub floor: f32,
}

/// Features kept per centroid for identity matching and live assignment.
const CENTROID_FEATURES: usize = 300;
/// Two themes whose centroids are at least this similar are the same theme.
pub const SAME_THEME: f32 = 0.5;
/// Quotes more similar than this to an already chosen quote are near-duplicates.
const NEAR_DUPLICATE: f32 = 0.8;

/// A label for each of `k` clusters of `docs` (given by `assignment`), made the way themes are
/// labelled (strongest phrases of the members' TF-IDF centroid, in surface form), whatever the
/// clusters were found on.
pub fn label_clusters(
    docs: &[DocFeatures],
    assignment: &[usize],
    k: usize,
    params: &TfidfParams,
) -> Vec<String> {
    let vocabulary = Vocabulary::fit(docs, params);
    let mut centroids = Array2::<f32>::zeros((k, vocabulary.len().max(1)));
    for (doc, &c) in docs.iter().zip(assignment) {
        for (i, w) in vocabulary.transform(doc) {
            centroids[[c, i as usize]] += w;
        }
    }
    let surfaces = surface_forms(docs);
    centroids
        .rows()
        .into_iter()
        .map(|centroid| {
            let centroid = centroid.to_vec();
            label(&top_features(&centroid, &vocabulary), &surfaces)
        })
        .collect()
}

/// Finds themes in `docs`, continuing `previous` where they still exist.
pub fn detect(docs: &[ThemeDoc], previous: &[PreviousTheme], params: &ThemeParams) -> Detection {
    let all: Vec<DocFeatures> = docs
        .iter()
        .map(|d| features(&d.text, d.language, params.tfidf.bigrams))
        .collect();
    // Fit on an evenly spread sample when the corpus is large, then assign everything.
    let step = all.len().div_ceil(params.fit_sample.max(1)).max(1);
    let sample: Vec<DocFeatures> = all.iter().step_by(step).cloned().collect();
    let vocabulary = Vocabulary::fit(&sample, &params.tfidf);
    let dims = vocabulary.len().max(1);
    let sample_rows: Vec<SparseRow> = sample.iter().map(|d| vocabulary.transform(d)).collect();

    let warm = warm_start(previous, &vocabulary);
    let k = match (params.k, &warm) {
        (Some(k), _) => k,
        (None, Some(w)) => w.nrows(),
        (None, None) => choose_k(&sample_rows, dims, params),
    };
    // A warm start is kept as the only run: a random restart with a slightly better objective
    // would reshuffle themes people already work with.
    let restarts = if warm.is_some() { 1 } else { params.restarts };
    let clusters: Clusters = cluster_from(
        &sample_rows,
        dims,
        KMeansParams {
            k,
            restarts,
            max_iterations: params.max_iterations,
            seed: params.seed,
        },
        warm.as_ref(),
    );

    let rows: Vec<SparseRow> = all.iter().map(|d| vocabulary.transform(d)).collect();
    let raw: Vec<Option<(usize, f32)>> = rows
        .iter()
        .map(|r| {
            if r.is_empty() {
                None
            } else {
                nearest(r, &clusters.centroids)
            }
        })
        .collect();
    let min_size = params
        .min_theme_size
        .max((docs.len() as f32 * 0.002) as usize);
    let mut members: Vec<Vec<usize>> = vec![Vec::new(); k];
    for (d, a) in raw.iter().enumerate() {
        if let Some((c, sim)) = a {
            if *sim >= params.similarity_floor {
                members[*c].push(d);
            }
        }
    }
    let surfaces = surface_forms(&all);
    let mut themes = Vec::new();
    let mut theme_of_cluster = vec![None; k];
    for (c, m) in members.iter().enumerate() {
        if m.len() < min_size {
            continue;
        }
        let coherence = m
            .iter()
            .map(|&d| raw[d].map_or(0.0, |(_, s)| s))
            .sum::<f32>()
            / m.len() as f32;
        if coherence < params.min_coherence {
            continue;
        }
        let centroid = top_features(
            clusters
                .centroids
                .row(c)
                .as_slice()
                .expect("standard layout"),
            &vocabulary,
        );
        theme_of_cluster[c] = Some(themes.len());
        themes.push(FoundTheme {
            label: label(&centroid, &surfaces),
            keywords: centroid
                .iter()
                .take(10)
                .map(|(f, w)| (surface_phrase(f, &surfaces), *w))
                .collect(),
            quotes: quotes(m, &rows, &raw),
            members: m.clone(),
            coherence,
            centroid,
            continues: None,
            split_from: None,
        });
    }
    let assignment = raw
        .iter()
        .map(|a| {
            a.filter(|(_, s)| *s >= params.similarity_floor)
                .and_then(|(c, _)| theme_of_cluster[c])
        })
        .collect();
    let merged = match_previous(&mut themes, previous);
    let model = LiveModel {
        terms: vocabulary.terms.clone(),
        idf: vocabulary.idf.clone(),
        centroids: themes
            .iter()
            .map(|t| {
                let mut row: SparseRow = t
                    .centroid
                    .iter()
                    .filter_map(|(f, w)| vocabulary.index_of(f).map(|i| (i, *w)))
                    .collect();
                row.sort_unstable_by_key(|&(i, _)| i);
                super::tfidf::normalize(&mut row);
                row
            })
            .collect(),
        bigrams: params.tfidf.bigrams,
        floor: params.similarity_floor,
    };
    Detection {
        themes,
        assignment,
        merged,
        model,
    }
}

/// Previous centroids projected on the new vocabulary, as k-means starting points.
fn warm_start(previous: &[PreviousTheme], vocabulary: &Vocabulary) -> Option<Array2<f32>> {
    if previous.is_empty() {
        return None;
    }
    let mut centroids = Array2::<f32>::zeros((previous.len(), vocabulary.len().max(1)));
    for (c, theme) in previous.iter().enumerate() {
        for (feature, weight) in &theme.centroid {
            if let Some(i) = vocabulary.index_of(feature) {
                centroids[[c, i as usize]] = *weight;
            }
        }
        let mut row = centroids.row_mut(c);
        let norm = row.dot(&row).sqrt();
        if norm > 0.0 {
            row /= norm;
        }
    }
    Some(centroids)
}

/// Greedy one-to-one matching of new themes to previous ones by centroid similarity. Returns the
/// previous themes absorbed by a continuing one (merges).
fn match_previous(themes: &mut [FoundTheme], previous: &[PreviousTheme]) -> Vec<(String, String)> {
    let mut pairs: Vec<(f32, usize, usize)> = Vec::new();
    for (t, theme) in themes.iter().enumerate() {
        for (p, prev) in previous.iter().enumerate() {
            let sim = sparse_cosine(&theme.centroid, &prev.centroid);
            if sim >= SAME_THEME {
                pairs.push((sim, t, p));
            }
        }
    }
    pairs.sort_by(|a, b| b.0.total_cmp(&a.0));
    let mut used_theme = vec![false; themes.len()];
    let mut used_previous = vec![false; previous.len()];
    let mut merged = Vec::new();
    for &(sim, t, p) in &pairs {
        if !used_theme[t] && !used_previous[p] {
            used_theme[t] = true;
            used_previous[p] = true;
            themes[t].continues = Some((previous[p].id.clone(), sim));
        }
    }
    for &(_, t, p) in &pairs {
        if !used_previous[p] {
            if let Some((into, _)) = &themes[t].continues {
                used_previous[p] = true;
                merged.push((previous[p].id.clone(), into.clone()));
            }
        }
    }
    // A new theme whose closest previous theme continued in another one split off from it.
    for &(_, t, p) in &pairs {
        if !used_theme[t] && themes[t].split_from.is_none() {
            themes[t].split_from = Some(previous[p].id.clone());
        }
    }
    merged
}

/// Cosine similarity of two feature→weight lists.
pub fn sparse_cosine(a: &[(String, f32)], b: &[(String, f32)]) -> f32 {
    let index: HashMap<&str, f32> = b.iter().map(|(f, w)| (f.as_str(), *w)).collect();
    let dot: f32 = a
        .iter()
        .filter_map(|(f, w)| index.get(f.as_str()).map(|v| v * w))
        .sum();
    let na = a.iter().map(|(_, w)| w * w).sum::<f32>().sqrt();
    let nb = b.iter().map(|(_, w)| w * w).sum::<f32>().sqrt();
    if na == 0.0 || nb == 0.0 {
        0.0
    } else {
        dot / (na * nb)
    }
}

/// The strongest features of a dense centroid, by weight.
fn top_features(centroid: &[f32], vocabulary: &Vocabulary) -> Vec<(String, f32)> {
    let mut top: Vec<(usize, f32)> = centroid
        .iter()
        .copied()
        .enumerate()
        .filter(|&(_, w)| w > 0.0)
        .collect();
    top.sort_by(|a, b| b.1.total_cmp(&a.1));
    top.truncate(CENTROID_FEATURES);
    top.into_iter()
        .map(|(i, w)| (vocabulary.term(i as u32).to_string(), w))
        .collect()
}

/// The most frequent surface word of each stem.
fn surface_forms(docs: &[DocFeatures]) -> HashMap<String, String> {
    let mut counts: HashMap<(&str, &str), usize> = HashMap::new();
    for doc in docs {
        for (stem, surface) in &doc.surfaces {
            *counts.entry((stem.as_str(), surface.as_str())).or_default() += 1;
        }
    }
    let mut best: HashMap<String, (String, usize)> = HashMap::new();
    for ((stem, surface), count) in counts {
        let entry = best
            .entry(stem.to_string())
            .or_insert_with(|| (surface.to_string(), 0));
        if count > entry.1 || (count == entry.1 && surface < entry.0.as_str()) {
            *entry = (surface.to_string(), count);
        }
    }
    best.into_iter()
        .map(|(stem, (surface, _))| (stem, surface))
        .collect()
}

/// A feature (stem or "stem stem") in surface form.
fn surface_phrase(feature: &str, surfaces: &HashMap<String, String>) -> String {
    feature
        .split(' ')
        .map(|stem| surfaces.get(stem).map_or(stem, String::as_str))
        .collect::<Vec<_>>()
        .join(" ")
}

/// A 2–4 word label: the strongest bigram when it is nearly as strong as the strongest feature,
/// otherwise the two strongest words; a further distinct word when it is strong too.
fn label(centroid: &[(String, f32)], surfaces: &HashMap<String, String>) -> String {
    let Some((top_feature, top)) = centroid.first() else {
        return "unlabelled".to_string();
    };
    let bigram = centroid
        .iter()
        .take(12)
        .find(|(f, w)| f.contains(' ') && *w >= 0.5 * top);
    let mut words: Vec<String> = match bigram {
        Some((f, _)) => f.split(' ').map(str::to_string).collect(),
        None => vec![top_feature.clone()],
    };
    for (feature, weight) in centroid.iter().take(8) {
        if words.len() >= 4 || *weight < 0.45 * top {
            break;
        }
        let parts: Vec<&str> = feature.split(' ').collect();
        if parts.iter().all(|p| !words.iter().any(|w| w == p)) && words.len() + parts.len() <= 4 {
            if words.len() >= 2 {
                words.push("/".to_string());
            }
            words.extend(parts.into_iter().map(str::to_string));
            if words.len() >= 3 {
                break;
            }
        }
    }
    if words.len() == 1 {
        // One word is not a label: take the strongest phrase around it, else the runner-up word.
        let top_word = words[0].clone();
        let phrase = centroid.iter().take(20).find(|(f, w)| {
            f.contains(' ') && f.split(' ').any(|p| p == top_word) && *w >= 0.2 * top
        });
        match phrase {
            Some((f, _)) => words = f.split(' ').map(str::to_string).collect(),
            None => {
                if let Some((second, _)) = centroid.iter().skip(1).find(|(f, _)| !f.contains(' ')) {
                    words.push("/".to_string());
                    words.push(second.clone());
                }
            }
        }
    }
    words
        .iter()
        .map(|w| {
            if w == "/" {
                w.clone()
            } else {
                surfaces.get(w).cloned().unwrap_or_else(|| w.clone())
            }
        })
        .collect::<Vec<_>>()
        .join(" ")
}

/// Up to three members closest to the centroid that are not near-duplicates of each other.
fn quotes(members: &[usize], rows: &[SparseRow], raw: &[Option<(usize, f32)>]) -> Vec<usize> {
    let mut ranked: Vec<usize> = members.to_vec();
    ranked.sort_by(|&a, &b| {
        let sa = raw[a].map_or(0.0, |(_, s)| s);
        let sb = raw[b].map_or(0.0, |(_, s)| s);
        sb.total_cmp(&sa).then(a.cmp(&b))
    });
    let mut chosen: Vec<usize> = Vec::new();
    for d in ranked {
        if chosen.len() == 3 {
            break;
        }
        let duplicate = chosen
            .iter()
            .any(|&c| row_cosine(&rows[c], &rows[d]) > NEAR_DUPLICATE);
        if !duplicate {
            chosen.push(d);
        }
    }
    chosen
}

fn row_cosine(a: &SparseRow, b: &SparseRow) -> f32 {
    let (mut i, mut j, mut sum) = (0, 0, 0.0);
    while i < a.len() && j < b.len() {
        match a[i].0.cmp(&b[j].0) {
            std::cmp::Ordering::Less => i += 1,
            std::cmp::Ordering::Greater => j += 1,
            std::cmp::Ordering::Equal => {
                sum += a[i].1 * b[j].1;
                i += 1;
                j += 1;
            }
        }
    }
    sum
}

impl LiveModel {
    /// The theme index a new text belongs to, if it is close enough to one.
    pub fn assign(
        &self,
        text: &str,
        language: StemLanguage,
        index: &HashMap<String, u32>,
    ) -> Option<(usize, f32)> {
        let doc = features(text, language, self.bigrams);
        let mut counts: HashMap<u32, f32> = HashMap::new();
        for f in &doc.features {
            if let Some(&i) = index.get(f) {
                *counts.entry(i).or_default() += 1.0;
            }
        }
        let mut row: SparseRow = counts
            .into_iter()
            .map(|(i, tf)| (i, (1.0 + tf.ln()) * self.idf[i as usize]))
            .collect();
        row.sort_unstable_by_key(|&(i, _)| i);
        super::tfidf::normalize(&mut row);
        if row.is_empty() {
            return None;
        }
        self.centroids
            .iter()
            .enumerate()
            .map(|(t, c)| (t, row_cosine(&row, c)))
            .max_by(|a, b| a.1.total_cmp(&b.1))
            .filter(|(_, s)| *s >= self.floor)
    }

    /// The term → index map `assign` needs.
    pub fn index(&self) -> HashMap<String, u32> {
        self.terms
            .iter()
            .enumerate()
            .map(|(i, t)| (t.clone(), i as u32))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn corpus() -> Vec<ThemeDoc> {
        let groups = [
            [
                "my luggage was lost",
                "lost luggage at the airport",
                "they lost my luggage again",
                "still no news about my lost luggage",
            ],
            [
                "flight cancelled due to weather",
                "my flight was cancelled",
                "cancelled flight and no rebooking",
                "another cancelled flight today",
            ],
            [
                "on hold for two hours",
                "been on hold forever",
                "on hold for an hour with support",
                "hold music for hours",
            ],
        ];
        let mut docs = Vec::new();
        for round in 0..10 {
            for group in &groups {
                for text in group {
                    docs.push(ThemeDoc {
                        text: format!("{text} {}", ["", "today", "again", "please"][round % 4]),
                        language: StemLanguage::English,
                    });
                }
            }
        }
        docs
    }

    fn params() -> ThemeParams {
        ThemeParams {
            k: Some(3),
            min_theme_size: 3,
            ..Default::default()
        }
    }

    #[test]
    fn finds_labelled_themes_with_distinct_quotes() {
        let detection = detect(&corpus(), &[], &params());
        let mut labels: Vec<&str> = detection.themes.iter().map(|t| t.label.as_str()).collect();
        labels.sort();
        assert!(
            labels.iter().any(|l| l.contains("lost luggage")),
            "{labels:?}"
        );
        assert!(
            labels
                .iter()
                .any(|l| l.contains("cancelled flight") || l.contains("flight cancelled")),
            "{labels:?}"
        );
        assert!(labels.iter().any(|l| l.contains("hold")), "{labels:?}");
        for theme in &detection.themes {
            assert_eq!(theme.quotes.len(), 3);
            assert!(theme.label.split(' ').filter(|w| *w != "/").count() <= 4);
        }
        assert!(detection.coverage() > 0.9);
    }

    #[test]
    fn a_second_run_continues_the_previous_themes() {
        let docs = corpus();
        let first = detect(&docs, &[], &params());
        let previous: Vec<PreviousTheme> = first
            .themes
            .iter()
            .enumerate()
            .map(|(i, t)| PreviousTheme {
                id: format!("TH-{i}"),
                centroid: t.centroid.clone(),
            })
            .collect();
        let second = detect(
            &docs,
            &previous,
            &ThemeParams {
                k: None,
                ..params()
            },
        );
        for (i, theme) in second.themes.iter().enumerate() {
            let (id, sim) = theme.continues.clone().expect("continued");
            assert!(sim > 0.9, "{id} {sim}");
            let before = first
                .themes
                .iter()
                .position(|t| t.label == theme.label)
                .unwrap();
            assert_eq!(id, format!("TH-{before}"), "theme {i}");
        }
    }

    #[test]
    fn live_assignment_follows_the_model() {
        let detection = detect(&corpus(), &[], &params());
        let index = detection.model.index();
        let (theme, _) = detection
            .model
            .assign(
                "they lost my luggage in Denver",
                StemLanguage::English,
                &index,
            )
            .unwrap();
        assert!(detection.themes[theme].label.contains("luggage"));
        assert!(detection
            .model
            .assign("quantum chromodynamics", StemLanguage::English, &index)
            .is_none());
    }
}
