//! From documents to themes: fit (on a sample when the corpus is large), assign every document,
//! drop small or incoherent clusters into "unthemed", label each theme with its most distinctive
//! phrases in their surface form, pick representative quotes, and match the new themes to the
//! previous ones so ids survive refreshes.
//!
//! Documents are clustered by meaning when their sentence embeddings are given ([`Meaning`]):
//! each row is the embedding scaled by √w joined with the TF-IDF row scaled by √(1 − w)
//! (`ThemeParams::meaning_weight` = w), so the cosine of two rows is w × their meaning
//! similarity + (1 − w) × their lexical one. Without embeddings w is 0 and themes are lexical.
//! Labels and keywords always come from the lexical part of a theme's centroid.

use std::collections::HashMap;

use ndarray::Array2;

use super::kmeans::{cluster_from, nearest_all, Clusters, KMeansParams};
use super::record::MeaningCentroid;
use super::tfidf::{features, DocFeatures, SparseRow, Vocabulary};
use super::{choose_k, embedding_rows, ThemeParams};
use crate::text::StemLanguage;

/// A document to theme.
#[derive(Debug, Clone)]
pub struct ThemeDoc {
    pub text: String,
    pub language: StemLanguage,
}

/// A theme from an earlier refresh: its id, its centroid over feature stems and, when it was
/// found by meaning, its centroid in the encoder's space.
#[derive(Debug, Clone)]
pub struct PreviousTheme {
    pub id: String,
    pub centroid: Vec<(String, f32)>,
    pub meaning: Option<MeaningCentroid>,
}

/// The documents' sentence embeddings: one unit vector (or all zeros) of `dims` numbers per
/// document, in order, from the encoder named `encoder`. Detection centres them on their mean
/// ([`crate::embedding::centre`]) and keeps the mean in the live model for new texts.
#[derive(Debug, Clone)]
pub struct Meaning<'a> {
    pub encoder: &'a str,
    pub dims: usize,
    pub vectors: Vec<Vec<f32>>,
}

/// A theme found by this run.
#[derive(Debug, Clone)]
pub struct FoundTheme {
    /// 2–4 words in surface form, e.g. "lost luggage".
    pub label: String,
    /// Top keywords (surface form) with their class-based TF-IDF weights: what sets the theme's
    /// verbatims apart from the other themes' (see [`distinctive_terms`]).
    pub keywords: Vec<(String, f32)>,
    /// Centroid over feature stems (top features), for matching with later runs.
    pub centroid: Vec<(String, f32)>,
    /// Centroid in the encoder's space, when found by meaning.
    pub meaning: Option<MeaningCentroid>,
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
    /// Seconds spent in each phase, in order (see [`Laps`]).
    pub phases: Laps,
}

/// Seconds spent in each named phase of a piece of work, in order: where a refresh's time goes.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Laps {
    pub phases: Vec<(&'static str, f64)>,
    last: Option<std::time::Instant>,
}

impl Laps {
    /// Starts timing the first phase now.
    pub fn start() -> Laps {
        Laps {
            phases: Vec::new(),
            last: Some(std::time::Instant::now()),
        }
    }

    /// Ends the current phase as `name` and starts the next.
    pub fn lap(&mut self, name: &'static str) {
        let now = std::time::Instant::now();
        let since = self.last.map_or(0.0, |t| (now - t).as_secs_f64());
        self.phases.push((name, since));
        self.last = Some(now);
    }

    /// Appends another run's phases (timed inside this one's current phase) and restarts the
    /// current phase's clock after them.
    pub fn extend(&mut self, other: Laps) {
        self.phases.extend(other.phases);
        self.last = Some(std::time::Instant::now());
    }
}

impl std::fmt::Display for Laps {
    /// "features 1.20 s, cluster 3.40 s".
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        for (i, (name, secs)) in self.phases.iter().enumerate() {
            let sep = if i == 0 { "" } else { ", " };
            write!(f, "{sep}{name} {secs:.2} s")?;
        }
        Ok(())
    }
}

impl Detection {
    /// Share of documents in a theme.
    pub fn coverage(&self) -> f64 {
        let themed = self.assignment.iter().filter(|a| a.is_some()).count();
        themed as f64 / self.assignment.len().max(1) as f64
    }
}

/// What live assignment at ingest needs: the vocabulary and one centroid per theme, and when
/// themes were found by meaning, the meaning part of each centroid.
///
/// A centroid of the joint space is stored as its two parts (each as long as it is in the unit
/// joint centroid), so a new text scores exactly as k-means scored the refreshed ones:
/// √(1 − w) × (its TF-IDF row · lexical part) + √w × (its embedding · meaning part).
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct LiveModel {
    pub terms: Vec<String>,
    pub idf: Vec<f32>,
    /// Per theme index: the lexical part of its centroid over `terms`.
    pub centroids: Vec<SparseRow>,
    pub bigrams: bool,
    pub floor: f32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub meaning: Option<LiveMeaning>,
}

/// The meaning part of a live model.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct LiveMeaning {
    /// The encoder new texts must be embedded with.
    pub encoder: String,
    /// w: the meaning part's share of a similarity.
    pub weight: f32,
    /// Per theme index: the meaning part of its centroid.
    pub centroids: Vec<Vec<f32>>,
    /// The mean embedding of the refreshed texts, which new texts are centred on.
    #[serde(default)]
    pub mean: Vec<f32>,
}

/// Distinct documents the automatic choice of k clusters at most.
const CHOOSE_K_SAMPLE: usize = 5000;
/// Features kept per centroid for identity matching and live assignment.
const CENTROID_FEATURES: usize = 300;
/// Two lexical themes whose centroids are at least this similar are the same theme.
pub const SAME_THEME: f32 = 0.5;
/// Two themes whose meaning centroids are at least this similar are the same theme, as far as
/// meaning goes (sentence embeddings of unrelated texts are already far from orthogonal).
pub const SAME_MEANING: f32 = 0.85;
/// Quotes more similar than this to an already chosen quote are near-duplicates.
const NEAR_DUPLICATE: f32 = 0.8;

/// How rows are laid out: `meaning_dims` embedding numbers first, then the lexical features.
#[derive(Debug, Clone, Copy)]
struct Space {
    meaning_dims: usize,
    lexical_dims: usize,
    /// w; 0 when there are no embeddings.
    weight: f32,
}

impl Space {
    fn dims(&self) -> usize {
        self.meaning_dims + self.lexical_dims
    }

    /// How similar two themes are: w × meaning cosine + (1 − w) × lexical cosine when both have
    /// a meaning centroid from the same encoder, else the lexical cosine; and the threshold at
    /// which that makes them the same theme.
    fn theme_similarity(
        &self,
        a: (&[(String, f32)], Option<&MeaningCentroid>),
        b: (&[(String, f32)], Option<&MeaningCentroid>),
    ) -> (f32, f32) {
        let lexical = sparse_cosine(a.0, b.0);
        match a.1.zip(b.1).and_then(|(x, y)| x.similarity(y)) {
            Some(meaning) if self.weight > 0.0 => {
                let w = self.weight;
                (
                    w * meaning + (1.0 - w) * lexical,
                    w * SAME_MEANING + (1.0 - w) * SAME_THEME,
                )
            }
            _ => (lexical, SAME_THEME),
        }
    }
}

/// Finds themes in `docs`, continuing `previous` where they still exist; by meaning when the
/// documents' embeddings are given.
pub fn detect(
    docs: &[ThemeDoc],
    meaning: Option<Meaning<'_>>,
    previous: &[PreviousTheme],
    params: &ThemeParams,
) -> Detection {
    let mut laps = Laps::start();
    let all: Vec<DocFeatures> = docs
        .iter()
        .map(|d| features(&d.text, d.language, params.tfidf.bigrams))
        .collect();
    // Fit on an evenly spread sample when the corpus is large, then assign everything.
    let step = all.len().div_ceil(params.fit_sample.max(1)).max(1);
    let sample: Vec<DocFeatures> = all.iter().step_by(step).cloned().collect();
    let vocabulary = Vocabulary::fit(&sample, &params.tfidf);
    let lexical: Vec<SparseRow> = all.iter().map(|d| vocabulary.transform(d)).collect();
    laps.lap("words");
    let mut meaning = meaning.filter(|m| m.vectors.len() == docs.len() && m.dims > 0);
    let mean = meaning
        .as_mut()
        .map(|m| crate::embedding::centre(&mut m.vectors));
    let encoder = meaning.as_ref().map(|m| m.encoder);
    let space = Space {
        meaning_dims: meaning.as_ref().map_or(0, |m| m.dims),
        lexical_dims: vocabulary.len().max(1),
        weight: meaning
            .as_ref()
            .map_or(0.0, |_| params.meaning_weight.clamp(0.0, 1.0)),
    };
    // The embeddings are copied into the rows; their vectors are dropped here.
    let joined = meaning.take().map(|m| {
        embedding_rows(
            &m.vectors,
            m.dims,
            Some((&lexical, space.lexical_dims, space.weight)),
        )
        .0
    });
    let rows: &[SparseRow] = joined.as_deref().unwrap_or(&lexical);
    let dims = space.dims();
    laps.lap("join");
    let sample_rows: Vec<SparseRow> = rows.iter().step_by(step).cloned().collect();

    let warm = warm_start(previous, &vocabulary, &space, encoder);
    let k = match (params.k, &warm) {
        (Some(k), _) => k,
        (None, Some(w)) => w.nrows(),
        (None, None) => {
            // k is chosen on distinct texts: many copies of one sentence are one thing said,
            // not a reason to give each wording its own theme. An evenly spread sample of them
            // is enough to compare the candidate k's.
            let mut seen = std::collections::HashSet::new();
            let distinct: Vec<usize> = (0..docs.len())
                .step_by(step)
                .filter(|&d| seen.insert(docs[d].text.as_str()))
                .collect();
            let corpus = distinct.len() * step;
            let stride = distinct.len().div_ceil(CHOOSE_K_SAMPLE).max(1);
            let distinct: Vec<SparseRow> = distinct
                .into_iter()
                .step_by(stride)
                .map(|d| rows[d].clone())
                .collect();
            choose_k(&distinct, dims, corpus, params)
        }
    };
    laps.lap("choose k");
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
    drop(sample_rows);
    laps.lap("cluster");

    let raw: Vec<Option<(usize, f32)>> = nearest_all(rows, dims, &clusters.centroids);
    laps.lap("assign");
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
    let mut live_parts: Vec<(SparseRow, Vec<f32>)> = Vec::new();
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
        let joint = clusters.centroids.row(c);
        let joint = joint.as_slice().expect("standard layout");
        let (meaning_part, lexical_part) = joint.split_at(space.meaning_dims);
        let lexical_norm = lexical_part.iter().map(|x| x * x).sum::<f32>().sqrt();
        // Words come from the members' own TF-IDF rows, whatever share words had in finding
        // them (with meaning alone the centroid has no lexical part).
        let mut words = vec![0.0f32; space.lexical_dims];
        for &d in m {
            for &(i, w) in &lexical[d] {
                words[i as usize] += w;
            }
        }
        crate::embedding::normalize(&mut words);
        let centroid = top_features(&words, &vocabulary);
        live_parts.push((
            live_lexical(&centroid, &vocabulary, lexical_norm),
            meaning_part.to_vec(),
        ));
        theme_of_cluster[c] = Some(themes.len());
        themes.push(FoundTheme {
            // Named below, once every theme's words are known.
            label: String::new(),
            keywords: Vec::new(),
            quotes: quotes(m, &lexical, &raw),
            members: m.clone(),
            coherence,
            meaning: encoder.map(|encoder| {
                let mut vector = meaning_part.to_vec();
                crate::embedding::normalize(&mut vector);
                MeaningCentroid {
                    encoder: encoder.to_string(),
                    vector,
                }
            }),
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
    let distinctive = distinctive_terms(&themes, &lexical, &vocabulary);
    for (theme, terms) in themes.iter_mut().zip(&distinctive) {
        theme.label = label(terms, &surfaces);
        theme.keywords = terms
            .iter()
            .take(10)
            .map(|(f, w)| (crate::text::surface_phrase(f, &surfaces), *w))
            .collect();
    }
    distinct_labels(&mut themes, &distinctive, &surfaces);
    let merged = match_previous(&mut themes, previous, &space);
    let (lexical_centroids, meaning_centroids): (Vec<SparseRow>, Vec<Vec<f32>>) =
        live_parts.into_iter().unzip();
    let model = LiveModel {
        terms: vocabulary.terms.clone(),
        idf: vocabulary.idf.clone(),
        centroids: lexical_centroids,
        bigrams: params.tfidf.bigrams,
        floor: params.similarity_floor,
        meaning: encoder.zip(mean).map(|(encoder, mean)| LiveMeaning {
            encoder: encoder.to_string(),
            weight: space.weight,
            centroids: meaning_centroids,
            mean,
        }),
    };
    laps.lap("name");
    Detection {
        themes,
        assignment,
        merged,
        model,
        phases: laps,
    }
}

/// A theme's lexical centroid as a sparse row over the vocabulary, as long as the lexical part
/// of its joint centroid (`norm`; 1 for lexical themes).
fn live_lexical(centroid: &[(String, f32)], vocabulary: &Vocabulary, norm: f32) -> SparseRow {
    let mut row: SparseRow = centroid
        .iter()
        .filter_map(|(f, w)| vocabulary.index_of(f).map(|i| (i, *w)))
        .collect();
    row.sort_unstable_by_key(|&(i, _)| i);
    super::tfidf::normalize(&mut row);
    row.iter_mut().for_each(|(_, w)| *w *= norm);
    row
}

/// Previous centroids in the new space, as k-means starting points: the lexical centroid
/// projected on the new vocabulary, joined with the meaning centroid when it comes from the same
/// encoder.
fn warm_start(
    previous: &[PreviousTheme],
    vocabulary: &Vocabulary,
    space: &Space,
    encoder: Option<&str>,
) -> Option<Array2<f32>> {
    if previous.is_empty() {
        return None;
    }
    let offset = space.meaning_dims;
    let mut centroids = Array2::<f32>::zeros((previous.len(), space.dims()));
    for (c, theme) in previous.iter().enumerate() {
        let mut lexical = vec![0.0f32; space.lexical_dims];
        for (feature, weight) in &theme.centroid {
            if let Some(i) = vocabulary.index_of(feature) {
                lexical[i as usize] = *weight;
            }
        }
        crate::embedding::normalize(&mut lexical);
        let lexical_scale = (1.0 - space.weight).sqrt();
        for (i, w) in lexical.into_iter().enumerate() {
            centroids[[c, offset + i]] = w * lexical_scale;
        }
        if let Some(meaning) = theme
            .meaning
            .as_ref()
            .filter(|m| Some(m.encoder.as_str()) == encoder && m.vector.len() == offset)
        {
            let meaning_scale = space.weight.sqrt();
            for (i, w) in meaning.vector.iter().enumerate() {
                centroids[[c, i]] = w * meaning_scale;
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
fn match_previous(
    themes: &mut [FoundTheme],
    previous: &[PreviousTheme],
    space: &Space,
) -> Vec<(String, String)> {
    let mut pairs: Vec<(f32, usize, usize)> = Vec::new();
    for (t, theme) in themes.iter().enumerate() {
        for (p, prev) in previous.iter().enumerate() {
            let (sim, same) = space.theme_similarity(
                (&theme.centroid, theme.meaning.as_ref()),
                (&prev.centroid, prev.meaning.as_ref()),
            );
            if sim >= same {
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

/// Terms a theme's label and keywords are drawn from, per theme, strongest first: class-based
/// TF-IDF (as BERTopic names topics) over document frequencies. A term's weight in a theme is
/// the share of the theme's members that say it, times `ln(1 + A / n)` where `n` is how many
/// members of all themes say it and `A` the average theme size: what most of a theme says and
/// few other themes do. Words every theme uses ("need", "help", "please") weigh little however
/// often a theme says them.
fn distinctive_terms(
    themes: &[FoundTheme],
    rows: &[SparseRow],
    vocabulary: &Vocabulary,
) -> Vec<Vec<(String, f32)>> {
    let mut said: Vec<HashMap<u32, u32>> = Vec::with_capacity(themes.len());
    let mut overall: HashMap<u32, u32> = HashMap::new();
    for theme in themes {
        let mut counts: HashMap<u32, u32> = HashMap::new();
        for &d in &theme.members {
            for &(term, _) in &rows[d] {
                *counts.entry(term).or_default() += 1;
            }
        }
        for (&term, &c) in &counts {
            *overall.entry(term).or_default() += c;
        }
        said.push(counts);
    }
    let average =
        themes.iter().map(|t| t.members.len()).sum::<usize>() as f32 / themes.len().max(1) as f32;
    themes
        .iter()
        .zip(said)
        .map(|(theme, counts)| {
            let size = theme.members.len().max(1) as f32;
            let mut terms: Vec<(u32, f32)> = counts
                .into_iter()
                .map(|(term, c)| {
                    let spread = overall[&term] as f32;
                    (term, c as f32 / size * (1.0 + average / spread).ln())
                })
                .collect();
            terms.sort_by(|a, b| {
                b.1.total_cmp(&a.1)
                    .then_with(|| vocabulary.term(a.0).cmp(vocabulary.term(b.0)))
            });
            terms.truncate(CENTROID_FEATURES);
            terms
                .into_iter()
                .map(|(term, w)| (vocabulary.term(term).to_string(), w))
                .collect()
        })
        .collect()
}

/// The most frequent surface word of each stem.
fn surface_forms(docs: &[DocFeatures]) -> HashMap<String, String> {
    crate::text::surface_forms(
        docs.iter()
            .flat_map(|d| d.surfaces.iter().map(|(s, w)| (s.as_str(), w.as_str()))),
    )
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

/// Gives every theme a label of its own: a theme (smaller first) whose label has the same words
/// as a larger theme's is labelled again from its strongest phrases (`terms`, per theme) that are
/// not all made of that label's words, so two themes never read alike.
fn distinct_labels(
    themes: &mut [FoundTheme],
    terms: &[Vec<(String, f32)>],
    surfaces: &HashMap<String, String>,
) {
    let words = |label: &str| -> Vec<String> {
        let mut w: Vec<String> = label
            .split(' ')
            .filter(|w| *w != "/")
            .map(str::to_string)
            .collect();
        w.sort();
        w
    };
    let mut order: Vec<usize> = (0..themes.len()).collect();
    order.sort_by(|&a, &b| {
        themes[b]
            .members
            .len()
            .cmp(&themes[a].members.len())
            .then(a.cmp(&b))
    });
    let mut taken: Vec<Vec<String>> = Vec::new();
    for t in order {
        let current = words(&themes[t].label);
        if let Some(clash) = taken.iter().find(|w| **w == current).cloned() {
            // Stems of the clashing label's words, to skip phrases made only of them.
            let clash_stems: Vec<&str> = terms[t]
                .iter()
                .flat_map(|(f, _)| f.split(' '))
                .filter(|stem| {
                    let surface = surfaces.get(*stem).map_or(*stem, String::as_str);
                    clash.iter().any(|w| w == surface)
                })
                .collect();
            let fresh: Vec<(String, f32)> = terms[t]
                .iter()
                .filter(|(f, _)| f.split(' ').any(|stem| !clash_stems.contains(&stem)))
                .cloned()
                .collect();
            let relabelled = label(&fresh, surfaces);
            if !fresh.is_empty() && !taken.contains(&words(&relabelled)) {
                themes[t].label = relabelled;
            }
        }
        taken.push(words(&themes[t].label));
    }
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
    /// The theme index a new text belongs to, if it is close enough to one, and its
    /// similarity. `embedding` is the text's vector from the model's encoder; without it (or for
    /// a lexical model) only the words count.
    pub fn assign(
        &self,
        text: &str,
        language: StemLanguage,
        index: &HashMap<String, u32>,
        embedding: Option<&[f32]>,
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
        let centred = self.meaning.as_ref().zip(embedding).map(|(m, e)| {
            let mut e = e.to_vec();
            crate::embedding::recentre(&mut e, &m.mean);
            e
        });
        let meaning = self
            .meaning
            .as_ref()
            .zip(centred.as_deref())
            .filter(|(m, e)| m.centroids.first().is_none_or(|c| c.len() == e.len()));
        let weight = self.meaning.as_ref().map_or(0.0, |m| m.weight);
        if row.is_empty() && meaning.is_none() {
            return None;
        }
        let (lexical_scale, meaning_scale) = ((1.0 - weight).sqrt(), weight.sqrt());
        self.centroids
            .iter()
            .enumerate()
            .map(|(t, c)| {
                let lexical = row_cosine(&row, c);
                let meaning = meaning.map_or(0.0, |(m, e)| {
                    m.centroids[t].iter().zip(e).map(|(a, b)| a * b).sum()
                });
                (t, lexical_scale * lexical + meaning_scale * meaning)
            })
            .max_by(|a, b| a.1.total_cmp(&b.1))
            .filter(|(_, s)| *s >= self.floor)
    }

    /// The encoder new texts must be embedded with before [`LiveModel::assign`], if any.
    pub fn encoder(&self) -> Option<&str> {
        self.meaning.as_ref().map(|m| m.encoder.as_str())
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
        let detection = detect(&corpus(), None, &[], &params());
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

    /// A run's themes as the previous themes of the next, with ids `TH-{index}`.
    fn as_previous(run: &Detection) -> Vec<PreviousTheme> {
        run.themes
            .iter()
            .enumerate()
            .map(|(i, t)| PreviousTheme {
                id: format!("TH-{i}"),
                centroid: t.centroid.clone(),
                meaning: t.meaning.clone(),
            })
            .collect()
    }

    #[test]
    fn a_second_run_continues_the_previous_themes() {
        let docs = corpus();
        let first = detect(&docs, None, &[], &params());
        let previous = as_previous(&first);
        let second = detect(
            &docs,
            None,
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

    /// Two problems, each said in two wordings that share no word with the other wording; the
    /// vectors (as a sentence encoder would give them) say which problem a text is about.
    fn reworded() -> (Vec<ThemeDoc>, Vec<Vec<f32>>) {
        let wordings = [
            ("refund never arrived", [1.0, 0.1, 0.0]),
            ("still waiting for my money back", [0.95, 0.0, 0.15]),
            ("card declined at checkout", [0.0, 1.0, 0.1]),
            ("payment refused by the terminal", [0.1, 0.95, 0.0]),
        ];
        let mut docs = Vec::new();
        let mut vectors = Vec::new();
        for round in 0..12 {
            for (text, vector) in &wordings {
                docs.push(ThemeDoc {
                    text: format!("{text} {}", ["", "today", "again"][round % 3]),
                    language: StemLanguage::English,
                });
                let mut v = vector.to_vec();
                v[2] += (round % 4) as f32 * 0.03;
                crate::embedding::normalize(&mut v);
                vectors.push(v);
            }
        }
        (docs, vectors)
    }

    /// [`reworded`] as detection input, with two themes asked for.
    fn reworded_meaning() -> (Vec<ThemeDoc>, Meaning<'static>, ThemeParams) {
        let (docs, vectors) = reworded();
        let meaning = Meaning {
            encoder: "test-encoder",
            dims: 3,
            vectors,
        };
        let params = ThemeParams {
            k: Some(2),
            min_theme_size: 3,
            ..Default::default()
        };
        (docs, meaning, params)
    }

    #[test]
    fn with_embeddings_each_problem_is_one_theme_whatever_its_wording() {
        let (docs, meaning, params) = reworded_meaning();
        let detection = detect(&docs, Some(meaning), &[], &params);
        assert_eq!(detection.themes.len(), 2);
        // Wordings 0 and 1 together, 2 and 3 together.
        let theme_of = |d: usize| detection.assignment[d].expect("themed");
        for (d, doc) in docs.iter().enumerate() {
            assert_eq!(theme_of(d), theme_of(d - d % 2), "{}", doc.text);
        }
        assert_ne!(theme_of(0), theme_of(2));
        // Words alone keep the four wordings apart (so meaning made the difference).
        let lexical = detect(
            &docs,
            None,
            &[],
            &ThemeParams {
                k: Some(4),
                ..params
            },
        );
        assert_eq!(lexical.themes.len(), 4);
        // Labels still come from the words; centroids carry the encoder's name.
        let refunds = &detection.themes[theme_of(0)];
        assert!(
            ["refund", "money", "waiting", "arrived"]
                .iter()
                .any(|w| refunds.label.contains(w)),
            "{}",
            refunds.label
        );
        let centroid = refunds.meaning.as_ref().expect("meaning centroid");
        assert_eq!(centroid.encoder, "test-encoder");
        // Centred on the corpus's mean, it points to refunds and away from card payments.
        assert!(
            centroid.vector[0] > 0.5 && centroid.vector[1] < -0.5,
            "{:?}",
            centroid.vector
        );
        // A new text in a third wording goes to its problem by meaning alone.
        let index = detection.model.index();
        let (theme, _) = detection
            .model
            .assign(
                "where are my funds",
                StemLanguage::English,
                &index,
                Some(&[0.97, 0.05, 0.05]),
            )
            .expect("assigned by meaning");
        assert_eq!(theme, theme_of(0));
        assert_eq!(detection.model.encoder(), Some("test-encoder"));
    }

    #[test]
    fn a_refresh_by_meaning_continues_the_themes_by_meaning() {
        let (docs, meaning, params) = reworded_meaning();
        let vectors = meaning.vectors.clone();
        let first = detect(&docs, Some(meaning.clone()), &[], &params);
        let previous = as_previous(&first);
        // Half the texts are gone and the rest reordered: the same two problems continue.
        let kept: Vec<usize> = (0..docs.len()).rev().step_by(2).collect();
        let docs2: Vec<ThemeDoc> = kept.iter().map(|&d| docs[d].clone()).collect();
        let vectors2: Vec<Vec<f32>> = kept.iter().map(|&d| vectors[d].clone()).collect();
        let second = detect(
            &docs2,
            Some(Meaning {
                vectors: vectors2,
                ..meaning
            }),
            &previous,
            &ThemeParams { k: None, ..params },
        );
        assert_eq!(second.themes.len(), 2);
        for theme in &second.themes {
            let (id, sim) = theme.continues.clone().expect("continued");
            let before = &first.themes[id[3..].parse::<usize>().unwrap()];
            assert!(sim > 0.9, "{id} {sim}");
            assert!(
                before
                    .meaning
                    .as_ref()
                    .unwrap()
                    .similarity(theme.meaning.as_ref().unwrap())
                    > Some(0.99)
            );
        }
    }

    #[test]
    fn no_two_themes_share_a_label() {
        let theme = |size: usize| FoundTheme {
            label: "lost luggage".into(),
            keywords: Vec::new(),
            centroid: Vec::new(),
            meaning: None,
            members: (0..size).collect(),
            quotes: Vec::new(),
            coherence: 1.0,
            continues: None,
            split_from: None,
        };
        let terms = |t: &[(&str, f32)]| -> Vec<(String, f32)> {
            t.iter().map(|(f, w)| (f.to_string(), *w)).collect()
        };
        let mut themes = vec![theme(5), theme(10)];
        let distinctive = [
            terms(&[
                ("lost luggag", 1.0),
                ("lost", 0.9),
                ("luggag", 0.9),
                ("delay", 0.5),
            ]),
            terms(&[
                ("lost luggag", 1.0),
                ("lost", 0.9),
                ("luggag", 0.9),
                ("airport", 0.6),
            ]),
        ];
        let surfaces: HashMap<String, String> = [("luggag", "luggage"), ("delay", "delayed")]
            .into_iter()
            .map(|(a, b)| (a.to_string(), b.to_string()))
            .collect();
        distinct_labels(&mut themes, &distinctive, &surfaces);
        // The larger theme keeps the label; the smaller is named by what sets it apart.
        assert_eq!(themes[1].label, "lost luggage");
        assert_ne!(themes[0].label, themes[1].label);
        assert!(themes[0].label.contains("delayed"), "{}", themes[0].label);
    }

    /// Words every theme says do not name a theme, however often one says them.
    #[test]
    fn labels_are_what_sets_a_theme_apart() {
        let docs: Vec<ThemeDoc> = (0..40)
            .map(|i| {
                let text = if i % 2 == 0 {
                    "please help, my luggage was lost at the airport"
                } else {
                    "please help, the refund for my cancelled flight never came"
                };
                ThemeDoc {
                    text: text.to_string(),
                    language: StemLanguage::English,
                }
            })
            .collect();
        let detection = detect(
            &docs,
            None,
            &[],
            &ThemeParams {
                k: Some(2),
                ..params()
            },
        );
        assert_eq!(detection.themes.len(), 2);
        let shared = ["please", "help"];
        for theme in &detection.themes {
            assert!(
                theme.label.split(' ').all(|w| !shared.contains(&w)),
                "{}",
                theme.label
            );
            assert!(theme.keywords[0].1 > 0.0);
            // The words both themes say come after every word of the theme's own.
            let own = theme
                .keywords
                .iter()
                .position(|(k, _)| shared.iter().any(|s| k.contains(s)));
            assert!(own.is_none_or(|p| p >= 5), "{:?}", theme.keywords);
        }
    }

    #[test]
    fn live_assignment_follows_the_model() {
        let detection = detect(&corpus(), None, &[], &params());
        let index = detection.model.index();
        let (theme, _) = detection
            .model
            .assign(
                "they lost my luggage in Denver",
                StemLanguage::English,
                &index,
                None,
            )
            .unwrap();
        assert!(detection.themes[theme].label.contains("luggage"));
        assert!(detection
            .model
            .assign(
                "quantum chromodynamics",
                StemLanguage::English,
                &index,
                None
            )
            .is_none());
    }
}
