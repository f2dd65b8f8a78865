//! Themes: TF-IDF over the shared analyzer's stemmed unigrams and bigrams, spherical k-means,
//! and the number of themes chosen automatically between bounds (or fixed) — pure computation in
//! [`tfidf`], [`kmeans`] and [`detect`] — plus the theme records ([`record`]) and the
//! [`service`] ([`service::Themes`]) that refreshes, assigns, edits and merges them over the store.

pub mod detect;
pub mod kmeans;
pub mod record;
pub mod service;
pub mod tfidf;

use self::kmeans::{cluster, simplified_silhouette, Clusters, KMeansParams};
use self::tfidf::{DocFeatures, SparseRow, TfidfParams, Vocabulary};

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
        }
    }
}

/// A fitted clustering of documents.
pub struct Fitted {
    pub vocabulary: Vocabulary,
    pub rows: Vec<SparseRow>,
    pub clusters: Clusters,
}

/// Vectorises documents and clusters them.
pub fn fit(docs: &[DocFeatures], params: &ThemeParams) -> Fitted {
    let vocabulary = Vocabulary::fit(docs, &params.tfidf);
    let rows: Vec<SparseRow> = docs.iter().map(|d| vocabulary.transform(d)).collect();
    let dims = vocabulary.len().max(1);
    let kmeans = |k: usize, restarts: usize| {
        cluster(
            &rows,
            dims,
            KMeansParams {
                k,
                restarts,
                max_iterations: params.max_iterations,
                seed: params.seed,
            },
        )
    };
    let clusters = match params.k {
        Some(k) => kmeans(k, params.restarts),
        None => {
            let k = choose_k(&rows, dims, params);
            kmeans(k, params.restarts)
        }
    };
    Fitted {
        vocabulary,
        rows,
        clusters,
    }
}

/// Picks k from a geometric grid between the bounds by the simplified silhouette of one quick
/// run each.
pub(crate) fn choose_k(rows: &[SparseRow], dims: usize, params: &ThemeParams) -> usize {
    // Clusters smaller than the minimum theme size would fall into "unthemed": allow only as
    // many clusters as the corpus can fill twice over.
    let fillable = rows.len() / (2 * params.min_theme_size.max(1));
    let min = params.min_k.max(2).min(fillable.max(2));
    let max = params.max_k.min(fillable).max(min);
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
