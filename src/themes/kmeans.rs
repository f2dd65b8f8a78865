//! Spherical k-means on sparse unit rows: k-means++ seeding, several restarts (the best total
//! cosine similarity wins), dense centroids in `ndarray`. Deterministic for a given seed.

use ndarray::{Array2, ArrayView1, Axis};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

use super::tfidf::SparseRow;

/// Clustering parameters.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct KMeansParams {
    pub k: usize,
    pub restarts: usize,
    pub max_iterations: usize,
    pub seed: u64,
}

/// A clustering: an assignment per row, unit centroids (k × features), and each row's cosine
/// similarity to its centroid.
#[derive(Debug, Clone)]
pub struct Clusters {
    pub assignment: Vec<usize>,
    pub similarity: Vec<f32>,
    /// Row-major k × features, each row unit length.
    pub centroids: Array2<f32>,
    /// Sum of similarities: higher is better.
    pub objective: f32,
}

/// Cosine similarity of a sparse unit row with a dense unit vector.
pub fn dot(row: &SparseRow, dense: ArrayView1<'_, f32>) -> f32 {
    row.iter().map(|&(i, w)| w * dense[i as usize]).sum()
}

/// Similarity of a row to every centroid, using the transposed centroid matrix (features × k) so
/// each feature touches k contiguous values.
fn similarities(row: &SparseRow, transposed: &Array2<f32>, out: &mut [f32]) {
    out.iter_mut().for_each(|v| *v = 0.0);
    for &(i, w) in row {
        let column = transposed.row(i as usize);
        let column = column.as_slice().expect("standard layout");
        for (o, c) in out.iter_mut().zip(column) {
            *o += w * c;
        }
    }
}

/// Every row's similarity to every centroid: row by row for sparse rows (TF-IDF), as matrix
/// products for rows that are mostly non-zero (sentence embeddings), which is several times
/// faster for them, and both for rows that are a dense block followed by sparse features
/// (embeddings joined with TF-IDF).
enum Scorer<'a> {
    Sparse(&'a [SparseRow]),
    /// The rows' first `prefix` features as one n × prefix matrix; the rest row by row.
    Dense {
        matrix: Array2<f32>,
        prefix: usize,
        rows: &'a [SparseRow],
    },
}

/// Features (from the first) non-zero in at least this share of rows form the dense block.
const DENSE_FILL: f64 = 0.25;
/// Largest row matrix built for them (floats): 100,000 rows of 256 numbers is 25.6 million.
const DENSE_MAX_CELLS: usize = 64 << 20;
/// Rows scored per matrix product, so the n × k scores stay small.
const DENSE_CHUNK: usize = 4096;

impl<'a> Scorer<'a> {
    fn new(rows: &'a [SparseRow], dims: usize) -> Scorer<'a> {
        // The dense block: the longest run of leading features each non-zero in enough rows.
        let mut filled = vec![0usize; dims];
        for row in rows {
            for &(i, _) in row {
                filled[i as usize] += 1;
            }
        }
        let needed = (DENSE_FILL * rows.len() as f64).max(1.0);
        let prefix = filled
            .iter()
            .position(|&f| (f as f64) < needed)
            .unwrap_or(dims);
        if prefix < 16 || rows.len().saturating_mul(prefix) > DENSE_MAX_CELLS {
            return Scorer::Sparse(rows);
        }
        let mut matrix = Array2::<f32>::zeros((rows.len(), prefix));
        for (mut out, row) in matrix.rows_mut().into_iter().zip(rows) {
            for &(i, w) in row.iter().take_while(|&&(i, _)| (i as usize) < prefix) {
                out[i as usize] = w;
            }
        }
        Scorer::Dense {
            matrix,
            prefix,
            rows,
        }
    }

    /// Calls `visit` with each row's index and its similarity to each centroid (k × dims).
    fn for_each(&self, centroids: &Array2<f32>, mut visit: impl FnMut(usize, &[f32])) {
        let transposed = centroids.t().as_standard_layout().into_owned();
        match self {
            Scorer::Sparse(rows) => {
                let mut scores = vec![0.0f32; centroids.nrows()];
                for (r, row) in rows.iter().enumerate() {
                    similarities(row, &transposed, &mut scores);
                    visit(r, &scores);
                }
            }
            Scorer::Dense {
                matrix,
                prefix,
                rows,
            } => {
                let block = centroids.slice(ndarray::s![.., ..*prefix]);
                for (chunk, part) in matrix.axis_chunks_iter(Axis(0), DENSE_CHUNK).enumerate() {
                    let mut scores = part.dot(&block.t());
                    for (i, mut row_scores) in scores.rows_mut().into_iter().enumerate() {
                        let r = chunk * DENSE_CHUNK + i;
                        let row_scores = row_scores.as_slice_mut().expect("standard layout");
                        for &(f, w) in rows[r].iter().skip_while(|&&(f, _)| (f as usize) < *prefix)
                        {
                            let column = transposed.row(f as usize);
                            let column = column.as_slice().expect("standard layout");
                            for (o, c) in row_scores.iter_mut().zip(column) {
                                *o += w * c;
                            }
                        }
                        visit(r, row_scores);
                    }
                }
            }
        }
    }
}

fn argmax(values: &[f32]) -> (usize, f32) {
    values.iter().enumerate().fold(
        (0, f32::MIN),
        |best, (i, &v)| if v > best.1 { (i, v) } else { best },
    )
}

/// Runs spherical k-means `params.restarts` times (in parallel on up to two threads) and keeps
/// the best. `rows` must be unit length; empty rows are assigned but do not move centroids.
pub fn cluster(rows: &[SparseRow], dims: usize, params: KMeansParams) -> Clusters {
    cluster_from(rows, dims, params, None)
}

/// Like [`cluster`], but the first restart starts from `initial` centroids (k × dims) when given:
/// a refresh starts from the previous themes, so themes that still exist come back as themselves.
pub fn cluster_from(
    rows: &[SparseRow],
    dims: usize,
    params: KMeansParams,
    initial: Option<&Array2<f32>>,
) -> Clusters {
    let k = params.k.clamp(1, rows.len().max(1));
    let restarts = params.restarts.max(1);
    let scorer = &Scorer::new(rows, dims);
    let threads = std::thread::available_parallelism()
        .map_or(1, |n| n.get())
        .min(2)
        .min(restarts);
    let runs: Vec<Clusters> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..threads)
            .map(|t| {
                scope.spawn(move || {
                    (t..restarts)
                        .step_by(threads)
                        .map(|r| {
                            let start = if r == 0 {
                                initial.filter(|c| c.nrows() == k)
                            } else {
                                None
                            };
                            run_once(
                                rows,
                                scorer,
                                dims,
                                k,
                                params.max_iterations,
                                params.seed.wrapping_add(r as u64 * 7919),
                                start,
                            )
                        })
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        handles
            .into_iter()
            .flat_map(|h| h.join().expect("k-means thread"))
            .collect()
    });
    runs.into_iter()
        .max_by(|a, b| a.objective.total_cmp(&b.objective))
        .expect("at least one run")
}

fn run_once(
    rows: &[SparseRow],
    scorer: &Scorer<'_>,
    dims: usize,
    k: usize,
    max_iterations: usize,
    seed: u64,
    start: Option<&Array2<f32>>,
) -> Clusters {
    let mut rng = StdRng::seed_from_u64(seed);
    let mut centroids = match start {
        Some(start) => start.clone(),
        None => seed_plus_plus(rows, dims, k, &mut rng),
    };
    let n = rows.len();
    let mut assignment = vec![usize::MAX; n];
    let mut similarity = vec![0.0f32; n];
    for _ in 0..max_iterations.max(1) {
        let mut changed = 0usize;
        scorer.for_each(&centroids, |r, scores| {
            let (best, sim) = argmax(scores);
            if assignment[r] != best {
                changed += 1;
                assignment[r] = best;
            }
            similarity[r] = sim;
        });
        centroids = recompute(rows, dims, k, &assignment, &similarity);
        if changed * 1000 <= n {
            break;
        }
    }
    let objective = similarity.iter().sum();
    Clusters {
        assignment,
        similarity,
        centroids,
        objective,
    }
}

/// Mean of each cluster's rows, normalised. An empty cluster takes the worst-fitting row.
fn recompute(
    rows: &[SparseRow],
    dims: usize,
    k: usize,
    assignment: &[usize],
    similarity: &[f32],
) -> Array2<f32> {
    let mut centroids = Array2::<f32>::zeros((k, dims));
    let mut sizes = vec![0usize; k];
    for (row, &c) in rows.iter().zip(assignment) {
        sizes[c] += 1;
        let mut centroid = centroids.row_mut(c);
        for &(i, w) in row {
            centroid[i as usize] += w;
        }
    }
    let mut worst: Vec<usize> = (0..rows.len()).filter(|&r| !rows[r].is_empty()).collect();
    worst.sort_by(|&a, &b| similarity[a].total_cmp(&similarity[b]));
    let mut donors = worst.into_iter();
    for (c, &size) in sizes.iter().enumerate() {
        if size == 0 {
            if let Some(r) = donors.next() {
                let mut centroid = centroids.row_mut(c);
                for &(i, w) in &rows[r] {
                    centroid[i as usize] = w;
                }
            }
        }
        let mut centroid = centroids.row_mut(c);
        let norm = centroid.dot(&centroid).sqrt();
        if norm > 0.0 {
            centroid /= norm;
        }
    }
    centroids
}

/// Rows k-means++ seeding considers: all of them up to this many, else a random sample of this
/// many (or 20 per cluster when that is more). Seeding touches every candidate for every try of
/// every centroid, so on large samples it cost more than the iterations that follow.
const SEED_CANDIDATES: usize = 4096;

/// k-means++ seeding with cosine distance.
fn seed_plus_plus(rows: &[SparseRow], dims: usize, k: usize, rng: &mut StdRng) -> Array2<f32> {
    let mut candidates: Vec<usize> = (0..rows.len()).filter(|&r| !rows[r].is_empty()).collect();
    let limit = SEED_CANDIDATES.max(20 * k);
    if candidates.len() > limit {
        let mut picked: Vec<usize> = rand::seq::index::sample(rng, candidates.len(), limit)
            .into_iter()
            .map(|i| candidates[i])
            .collect();
        picked.sort_unstable();
        candidates = picked;
    }
    let mut centroids = Array2::<f32>::zeros((k, dims));
    if candidates.is_empty() {
        return centroids;
    }
    let set = |centroids: &mut Array2<f32>, c: usize, r: usize| {
        for &(i, w) in &rows[r] {
            centroids[[c, i as usize]] = w;
        }
    };
    let first = candidates[rng.gen_range(0..candidates.len())];
    set(&mut centroids, 0, first);
    let mut distance: Vec<f32> = candidates
        .iter()
        .map(|&r| (1.0 - dot(&rows[r], centroids.row(0))).max(0.0))
        .collect();
    // Greedy k-means++: sample a few candidates per step and keep the one that lowers the
    // potential most (as scikit-learn does), which gives markedly better starts.
    let tries = 2 + (k as f32).ln().floor() as usize;
    let mut dense = vec![0.0f32; dims];
    let mut trial = vec![0.0f32; candidates.len()];
    let mut best_distance = vec![0.0f32; candidates.len()];
    for c in 1..k {
        let total: f32 = distance.iter().map(|d| d * d).sum();
        let mut best: Option<(f32, usize)> = None;
        for _ in 0..tries {
            let pick = if total <= 0.0 {
                rng.gen_range(0..candidates.len())
            } else {
                let mut target = rng.gen::<f32>() * total;
                distance
                    .iter()
                    .position(|d| {
                        target -= d * d;
                        target <= 0.0
                    })
                    .unwrap_or(candidates.len() - 1)
            };
            let row = &rows[candidates[pick]];
            for &(i, w) in row {
                dense[i as usize] = w;
            }
            let mut potential = 0.0;
            for ((t, d), &r) in trial.iter_mut().zip(&distance).zip(&candidates) {
                let sim: f32 = rows[r].iter().map(|&(i, w)| w * dense[i as usize]).sum();
                *t = d.min((1.0 - sim).max(0.0));
                potential += *t * *t;
            }
            for &(i, _) in row {
                dense[i as usize] = 0.0;
            }
            if best.is_none_or(|b| potential < b.0) {
                best = Some((potential, pick));
                std::mem::swap(&mut trial, &mut best_distance);
            }
        }
        let (_, pick) = best.expect("at least one try");
        set(&mut centroids, c, candidates[pick]);
        std::mem::swap(&mut distance, &mut best_distance);
    }
    centroids
}

/// Simplified silhouette (each row against its own and its nearest other centroid), averaged;
/// a cheap guide for choosing k. In [-1, 1]; higher is better.
pub fn simplified_silhouette(rows: &[SparseRow], clusters: &Clusters) -> f32 {
    let k = clusters.centroids.nrows();
    if k < 2 {
        return 0.0;
    }
    let dims = clusters.centroids.ncols();
    let mut total = 0.0;
    let mut counted = 0usize;
    Scorer::new(rows, dims).for_each(&clusters.centroids, |r, scores| {
        if rows[r].is_empty() {
            return;
        }
        let own = clusters.assignment[r];
        let a = 1.0 - scores[own];
        let b = scores
            .iter()
            .enumerate()
            .filter(|&(c, _)| c != own)
            .map(|(_, s)| 1.0 - s)
            .fold(f32::MAX, f32::min);
        let denominator = a.max(b);
        if denominator > 0.0 {
            total += (b - a) / denominator;
        }
        counted += 1;
    });
    total / counted.max(1) as f32
}

/// The nearest centroid of every row and its similarity (`None` for an empty row), scored the
/// way k-means scores them (matrix products for dense rows).
pub fn nearest_all(
    rows: &[SparseRow],
    dims: usize,
    centroids: &Array2<f32>,
) -> Vec<Option<(usize, f32)>> {
    let mut out = vec![None; rows.len()];
    if centroids.nrows() == 0 {
        return out;
    }
    Scorer::new(rows, dims).for_each(centroids, |r, scores| {
        if !rows[r].is_empty() {
            out[r] = Some(argmax(scores));
        }
    });
    out
}

/// The nearest centroid of a row and its similarity.
pub fn nearest(row: &SparseRow, centroids: &Array2<f32>) -> Option<(usize, f32)> {
    (0..centroids.nrows())
        .map(|c| (c, dot(row, centroids.row(c))))
        .max_by(|a, b| a.1.total_cmp(&b.1))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(entries: &[(u32, f32)]) -> SparseRow {
        let mut r = entries.to_vec();
        super::super::tfidf::normalize(&mut r);
        r
    }

    #[test]
    fn separates_obvious_groups_and_is_deterministic() {
        let mut rows = Vec::new();
        for i in 0..30 {
            let jitter = (i % 5) as f32 * 0.05;
            rows.push(row(&[(0, 1.0), (1, 0.5 + jitter)]));
            rows.push(row(&[(2, 1.0), (3, 0.5 + jitter)]));
            rows.push(row(&[(4, 1.0), (5, 0.5 + jitter)]));
        }
        let params = KMeansParams {
            k: 3,
            restarts: 3,
            max_iterations: 20,
            seed: 1,
        };
        let a = cluster(&rows, 6, params);
        let b = cluster(&rows, 6, params);
        assert_eq!(a.assignment, b.assignment);
        for group in 0..3 {
            let first = a.assignment[group];
            assert!((0..30).all(|i| a.assignment[i * 3 + group] == first));
        }
        let distinct: std::collections::HashSet<_> = a.assignment.iter().collect();
        assert_eq!(distinct.len(), 3);
        assert!(simplified_silhouette(&rows, &a) > 0.8);
    }

    #[test]
    fn dense_rows_are_scored_by_matrix_products_the_same_as_row_by_row() {
        // 5,000 rows (two chunks of the matrix path) of 24 mostly non-zero numbers followed by
        // two sparse features of 76 (an embedding joined with TF-IDF).
        let rows: Vec<SparseRow> = (0..5_000u32)
            .map(|r| {
                let mut entries: Vec<(u32, f32)> = (0..24)
                    .map(|i| (i, 1.0 + ((r * 7 + i * 3) % 11) as f32))
                    .collect();
                entries.push((24 + r % 76, 2.0));
                entries.push((24 + (r * 13 + 5) % 76, 1.5));
                entries.sort_by_key(|&(i, _)| i);
                entries.dedup_by_key(|&mut (i, _)| i);
                row(&entries)
            })
            .collect();
        let dense = Scorer::new(&rows, 100);
        assert!(matches!(dense, Scorer::Dense { prefix: 24, .. }));
        let mut centroids = Array2::<f32>::zeros((3, 100));
        for c in 0..3 {
            centroids[[c, c]] = 1.0;
            centroids[[c, 23 - c]] = 0.5;
            centroids[[c, 30 + c]] = 0.7;
            centroids[[c, 50 + 2 * c]] = 0.3;
        }
        let mut by_row = Vec::new();
        Scorer::Sparse(&rows).for_each(&centroids, |r, s| by_row.push((r, s.to_vec())));
        let mut by_matrix = Vec::new();
        dense.for_each(&centroids, |r, s| by_matrix.push((r, s.to_vec())));
        assert_eq!(by_row.len(), 5_000);
        for ((r, a), (q, b)) in by_row.iter().zip(&by_matrix) {
            assert_eq!(r, q);
            for (x, y) in a.iter().zip(b) {
                assert!((x - y).abs() < 1e-5, "row {r}: {a:?} vs {b:?}");
            }
        }
        // TF-IDF-like rows (a few words of many) stay sparse.
        let sparse: Vec<SparseRow> = (0..100u32).map(|r| row(&[(r, 1.0)])).collect();
        assert!(matches!(Scorer::new(&sparse, 100), Scorer::Sparse(_)));
    }
}
