//! Themes: TF-IDF over the shared analyzer's stemmed unigrams and bigrams, spherical k-means,
//! and the number of themes chosen automatically between bounds (or fixed) — pure computation in
//! [`tfidf`], [`kmeans`] and [`detect`] — plus the theme records ([`record`]) and the
//! [`service`] ([`service::Themes`]) that refreshes, assigns, edits and merges them over the store.
//! With a sentence encoder ([`crate::embedding`]) themes are found by meaning joined with TF-IDF
//! ([`Method::Meaning`]); without one, by TF-IDF alone, and [`Method::Lexical`] says why.

pub mod accountability;
pub mod detect;
pub mod kmeans;
pub mod record;
pub mod service;
pub mod tfidf;

use self::kmeans::{cluster, simplified_silhouette, KMeansParams};
use self::tfidf::{SparseRow, TfidfParams};

/// How a workspace's themes are found.
#[derive(Debug, Clone, PartialEq)]
pub enum Method {
    /// Sentence embeddings from `encoder` joined with TF-IDF, meaning weighing `weight`.
    Meaning { encoder: String, weight: f32 },
    /// TF-IDF alone, and why.
    Lexical { reason: String },
}

impl Default for Method {
    fn default() -> Self {
        Method::Lexical {
            reason: String::new(),
        }
    }
}

impl std::fmt::Display for Method {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Method::Meaning { encoder, weight } => {
                write!(
                    f,
                    "meaning: {encoder} sentence embeddings (weight {weight:.2}) with tf-idf"
                )
            }
            Method::Lexical { reason } if reason.is_empty() => write!(f, "tf-idf"),
            Method::Lexical { reason } => write!(f, "tf-idf: {reason}"),
        }
    }
}

/// How themes are found.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ThemeParams {
    pub tfidf: TfidfParams,
    /// Fixed number of clusters; `None` chooses between `min_k` and `max_k`.
    pub k: Option<usize>,
    pub min_k: usize,
    pub max_k: usize,
    pub restarts: usize,
    pub max_iterations: usize,
    pub seed: u64,
    /// Fit on at most this many documents (evenly spread), then assign all.
    pub fit_sample: usize,
    /// Clusters smaller than this (or 0.2% of documents) fall into "unthemed".
    pub min_theme_size: usize,
    /// Clusters whose members' mean similarity to the centroid is below this are "unthemed".
    pub min_coherence: f32,
    /// A document less similar than this to its nearest theme is "unthemed".
    pub similarity_floor: f32,
    /// When documents come with sentence embeddings: the share of a similarity that is meaning
    /// (the rest is TF-IDF). 0 clusters on words alone.
    pub meaning_weight: f32,
}

impl Default for ThemeParams {
    fn default() -> Self {
        ThemeParams {
            tfidf: TfidfParams::default(),
            k: None,
            min_k: 5,
            max_k: 80,
            restarts: 4,
            max_iterations: 40,
            seed: 42,
            fit_sample: 20_000,
            min_theme_size: 5,
            min_coherence: 0.2,
            similarity_floor: 0.1,
            meaning_weight: 0.9,
        }
    }
}

/// Clustering rows from sentence embeddings (unit vectors of `dims` numbers), optionally joined
/// with lexical rows: the embedding part scaled by √`weight` and the lexical part (its features
/// numbered after the embedding's) by √(1 − `weight`), so a row stays unit length and the
/// cosine of two rows is `weight` × their meaning similarity + (1 − `weight`) × their lexical
/// one. Returns the rows and their number of features.
pub fn embedding_rows(
    embeddings: &[Vec<f32>],
    dims: usize,
    lexical: Option<(&[SparseRow], usize, f32)>,
) -> (Vec<SparseRow>, usize) {
    let (meaning_scale, lexical_scale) = match lexical {
        Some((_, _, weight)) => {
            let weight = weight.clamp(0.0, 1.0);
            (weight.sqrt(), (1.0 - weight).sqrt())
        }
        None => (1.0, 0.0),
    };
    let rows = embeddings
        .iter()
        .enumerate()
        .map(|(i, vector)| {
            let mut row: SparseRow = vector
                .iter()
                .enumerate()
                .filter(|(_, &x)| x != 0.0)
                .map(|(d, &x)| (d as u32, x * meaning_scale))
                .collect();
            if let Some((lexical_rows, _, _)) = lexical {
                row.extend(
                    lexical_rows[i]
                        .iter()
                        .map(|&(f, w)| (f + dims as u32, w * lexical_scale)),
                );
            }
            row
        })
        .collect();
    let features = dims + lexical.map_or(0, |(_, lexical_dims, _)| lexical_dims);
    (rows, features)
}

/// Picks k by the simplified silhouette of one quick run each, from a geometric grid between
/// the bounds, narrowed around √(n/2) for `corpus` = n distinct documents (Mardia's rule of
/// thumb): from half of it to twice it. The silhouette alone is no guide at the ends: on TF-IDF
/// it keeps rising with k (it chose the upper bound, 80, on BANKING77 and the airline tweets), on
/// sentence embeddings it peaks at the coarsest split (it chose 5 on the airline tweets).
pub(crate) fn choose_k(
    rows: &[SparseRow],
    dims: usize,
    corpus: usize,
    params: &ThemeParams,
) -> usize {
    // Clusters smaller than the minimum theme size would fall into "unthemed": allow only as
    // many clusters as the corpus can fill twice over.
    let fillable = corpus / (2 * params.min_theme_size.max(1));
    let rule_of_thumb = (corpus as f64 / 2.0).sqrt();
    let min = params
        .min_k
        .max((rule_of_thumb / 2.0) as usize)
        .max(2)
        .min(fillable.max(2))
        .min(params.max_k);
    let max = params
        .max_k
        .min(fillable)
        .min((2.0 * rule_of_thumb).ceil() as usize)
        .max(min);
    let mut candidates = Vec::new();
    let mut k = min as f32;
    while (k as usize) <= max {
        candidates.push(k as usize);
        k = (k * 1.35).max(k + 1.0);
    }
    if candidates.last() != Some(&max) {
        candidates.push(max);
    }
    candidates
        .into_iter()
        .map(|k| {
            let c = cluster(
                rows,
                dims,
                KMeansParams {
                    k,
                    restarts: 1,
                    max_iterations: 15,
                    seed: params.seed,
                },
            );
            (k, simplified_silhouette(rows, &c))
        })
        .max_by(|a, b| a.1.total_cmp(&b.1))
        .map_or(min, |(k, _)| k)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cosine(a: &SparseRow, b: &SparseRow) -> f32 {
        a.iter()
            .map(|&(i, x)| {
                b.iter()
                    .find(|&&(j, _)| j == i)
                    .map_or(0.0, |&(_, y)| x * y)
            })
            .sum()
    }

    #[test]
    fn joined_rows_are_unit_length_and_mix_the_two_cosines_by_weight() {
        let embeddings = vec![vec![0.6, 0.8, 0.0], vec![1.0, 0.0, 0.0]];
        let lexical: Vec<SparseRow> = vec![vec![(0, 1.0)], vec![(4, 1.0)]];
        let (rows, dims) = embedding_rows(&embeddings, 3, Some((&lexical, 5, 0.7)));
        assert_eq!(dims, 8);
        for row in &rows {
            assert!((cosine(row, row) - 1.0).abs() < 1e-5);
            assert!(row.iter().all(|&(i, _)| (i as usize) < dims));
        }
        // Meaning cosine 0.6, no word in common: 0.7 × 0.6 + 0.3 × 0.
        assert!((cosine(&rows[0], &rows[1]) - 0.42).abs() < 1e-5);
        let (alone, dims) = embedding_rows(&embeddings, 3, None);
        assert_eq!(dims, 3);
        assert_eq!(alone[1], vec![(0, 1.0)]);
        assert!((cosine(&alone[0], &alone[1]) - 0.6).abs() < 1e-5);
    }

    #[test]
    fn embedding_rows_cluster_by_meaning() {
        // Two directions with noise: k-means on the rows finds them.
        let embeddings: Vec<Vec<f32>> = (0..40)
            .map(|i| {
                let noise = (i % 5) as f32 * 0.02;
                let mut v = if i % 2 == 0 {
                    vec![1.0, noise, 0.0]
                } else {
                    vec![0.0, noise, 1.0]
                };
                crate::embedding::normalize(&mut v);
                v
            })
            .collect();
        let (rows, dims) = embedding_rows(&embeddings, 3, None);
        let clusters = cluster(
            &rows,
            dims,
            KMeansParams {
                k: 2,
                restarts: 2,
                max_iterations: 20,
                seed: 42,
            },
        );
        for (i, &c) in clusters.assignment.iter().enumerate() {
            assert_eq!(c, clusters.assignment[i % 2], "row {i}");
        }
        assert_ne!(clusters.assignment[0], clusters.assignment[1]);
    }
}
