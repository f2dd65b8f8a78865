//! Evaluation commands: score the analysers against labelled corpora and print what a reviewer
//! needs (accuracy, macro-F1, the confusion matrix).

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::time::Instant;

use pathfinding::prelude::{kuhn_munkres, Matrix};

use crate::model::tags::SentimentLabel;
use crate::tagging::sentiment;
use crate::text::tokenize;

/// Evaluation errors.
#[derive(Debug, thiserror::Error)]
pub enum EvalError {
    #[error("cannot read {path}: {source}")]
    Read { path: PathBuf, source: csv::Error },
    #[error("column {0:?} is not in the header")]
    MissingColumn(String),
    #[error("no labelled rows in {0}")]
    Empty(PathBuf),
    #[error(transparent)]
    Embedding(#[from] crate::embedding::EmbeddingError),
}

/// What texts are clustered on.
#[derive(Debug, Clone, Copy, PartialEq, clap::ValueEnum)]
pub enum ClusterMethod {
    /// TF-IDF of stemmed words and phrases (what themes use today).
    Tfidf,
    /// Sentence embeddings of the chosen encoder (`--encoder`).
    Embedding,
    /// Embeddings joined with TF-IDF (`--meaning-weight` of the cosine from the embeddings).
    Joint,
}

/// Gold and predicted labels for a classification task.
#[derive(Debug, Clone, Default)]
pub struct Confusion {
    /// (gold, predicted) → count.
    pub counts: BTreeMap<(String, String), usize>,
    pub labels: Vec<String>,
}

impl Confusion {
    pub fn add(&mut self, gold: &str, predicted: &str) {
        *self
            .counts
            .entry((gold.to_string(), predicted.to_string()))
            .or_default() += 1;
        for label in [gold, predicted] {
            if !self.labels.iter().any(|l| l == label) {
                self.labels.push(label.to_string());
                self.labels.sort();
            }
        }
    }

    fn count(&self, gold: &str, predicted: &str) -> usize {
        self.counts
            .get(&(gold.to_string(), predicted.to_string()))
            .copied()
            .unwrap_or(0)
    }

    pub fn total(&self) -> usize {
        self.counts.values().sum()
    }

    pub fn accuracy(&self) -> f64 {
        let correct: usize = self.labels.iter().map(|l| self.count(l, l)).sum();
        correct as f64 / self.total().max(1) as f64
    }

    /// (precision, recall, F1) of one label.
    pub fn scores(&self, label: &str) -> (f64, f64, f64) {
        let tp = self.count(label, label) as f64;
        let predicted: usize = self.labels.iter().map(|g| self.count(g, label)).sum();
        let gold: usize = self.labels.iter().map(|p| self.count(label, p)).sum();
        let precision = if predicted == 0 {
            0.0
        } else {
            tp / predicted as f64
        };
        let recall = if gold == 0 { 0.0 } else { tp / gold as f64 };
        let f1 = if precision + recall == 0.0 {
            0.0
        } else {
            2.0 * precision * recall / (precision + recall)
        };
        (precision, recall, f1)
    }

    /// Mean F1 over the gold labels.
    pub fn macro_f1(&self, gold_labels: &[String]) -> f64 {
        gold_labels.iter().map(|l| self.scores(l).2).sum::<f64>() / gold_labels.len().max(1) as f64
    }

    /// A printable report: per-label scores and the matrix (rows gold, columns predicted).
    pub fn report(&self, gold_labels: &[String]) -> String {
        let mut out = String::new();
        out.push_str(&format!(
            "rows {}  accuracy {:.3}  macro-F1 {:.3}\n\n",
            self.total(),
            self.accuracy(),
            self.macro_f1(gold_labels)
        ));
        out.push_str(&format!(
            "{:<12} {:>9} {:>9} {:>9}\n",
            "label", "precision", "recall", "f1"
        ));
        for label in gold_labels {
            let (p, r, f) = self.scores(label);
            out.push_str(&format!("{label:<12} {p:>9.3} {r:>9.3} {f:>9.3}\n"));
        }
        out.push_str(&format!(
            "\nconfusion (rows gold, columns predicted)\n{:<12}",
            ""
        ));
        for label in &self.labels {
            out.push_str(&format!(" {label:>9}"));
        }
        out.push('\n');
        for gold in gold_labels {
            out.push_str(&format!("{gold:<12}"));
            for predicted in &self.labels {
                out.push_str(&format!(" {:>9}", self.count(gold, predicted)));
            }
            out.push('\n');
        }
        out
    }
}

/// Reads `(text, label)` pairs from a CSV file with a header.
pub fn read_labelled(
    path: &Path,
    text_col: &str,
    label_col: &str,
) -> Result<Vec<(String, String)>, EvalError> {
    let read_error = |source| EvalError::Read {
        path: path.to_path_buf(),
        source,
    };
    let mut reader = csv::Reader::from_path(path).map_err(read_error)?;
    let header = reader.headers().map_err(read_error)?.clone();
    let column = |name: &str| {
        header
            .iter()
            .position(|h| h == name)
            .ok_or_else(|| EvalError::MissingColumn(name.to_string()))
    };
    let (text_at, label_at) = (column(text_col)?, column(label_col)?);
    let mut rows = Vec::new();
    for record in reader.records() {
        let record = record.map_err(read_error)?;
        let (text, label) = (
            record.get(text_at).unwrap_or_default(),
            record.get(label_at).unwrap_or_default(),
        );
        if !label.trim().is_empty() {
            rows.push((text.to_string(), label.trim().to_lowercase()));
        }
    }
    if rows.is_empty() {
        return Err(EvalError::Empty(path.to_path_buf()));
    }
    Ok(rows)
}

/// The sentiment evaluation's outcome.
pub struct SentimentEval {
    pub confusion: Confusion,
    pub gold_labels: Vec<String>,
    pub seconds: f64,
}

/// How a label column reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LabelKind {
    /// "positive" / "neutral" / "negative".
    Names,
    /// Star ratings 1–5: 1–2 negative, 3 neutral, 4–5 positive.
    Rating,
}

fn rating_label(rating: &str) -> Option<&'static str> {
    match rating.trim().parse::<f64>().ok()? {
        r if r <= 2.0 => Some("negative"),
        r if r < 4.0 => Some("neutral"),
        _ => Some("positive"),
    }
}

/// Scores every row's text and compares with its label (a Mixed prediction counts as negative).
pub fn sentiment(
    path: &Path,
    text_col: &str,
    label_col: &str,
    kind: LabelKind,
) -> Result<SentimentEval, EvalError> {
    let mut rows = read_labelled(path, text_col, label_col)?;
    if kind == LabelKind::Rating {
        rows.retain_mut(|(_, label)| match rating_label(label) {
            Some(name) => {
                *label = name.to_string();
                true
            }
            None => false,
        });
    }
    rows.retain(|(text, _)| !text.trim().is_empty());
    let started = Instant::now();
    let mut confusion = Confusion::default();
    for (text, gold) in &rows {
        let predicted = match sentiment::score(&tokenize(text)).label {
            SentimentLabel::Mixed => SentimentLabel::Negative,
            other => other,
        };
        confusion.add(gold, predicted.as_str());
    }
    let mut gold_labels: Vec<String> = rows.iter().map(|(_, l)| l.clone()).collect();
    gold_labels.sort();
    gold_labels.dedup();
    Ok(SentimentEval {
        confusion,
        gold_labels,
        seconds: started.elapsed().as_secs_f64(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn metrics_match_a_hand_computed_example() {
        let mut c = Confusion::default();
        for (g, p, n) in [("a", "a", 3), ("a", "b", 1), ("b", "b", 2), ("b", "a", 2)] {
            for _ in 0..n {
                c.add(g, p);
            }
        }
        assert!((c.accuracy() - 5.0 / 8.0).abs() < 1e-9);
        let (p, r, f) = c.scores("a");
        assert!(
            (p - 0.6).abs() < 1e-9
                && (r - 0.75).abs() < 1e-9
                && (f - 2.0 * 0.45 / 1.35).abs() < 1e-9
        );
        let labels = vec!["a".to_string(), "b".to_string()];
        let f_b = c.scores("b").2;
        assert!((c.macro_f1(&labels) - (f + f_b) / 2.0).abs() < 1e-9);
        assert!(c.report(&labels).contains("accuracy 0.625"));
    }
}

/// Normalised mutual information (arithmetic mean of entropies, as scikit-learn's default).
pub fn nmi(gold: &[usize], predicted: &[usize]) -> f64 {
    let n = gold.len() as f64;
    if gold.is_empty() {
        return 0.0;
    }
    let mut joint: HashMap<(usize, usize), f64> = HashMap::new();
    let mut g: HashMap<usize, f64> = HashMap::new();
    let mut p: HashMap<usize, f64> = HashMap::new();
    for (&a, &b) in gold.iter().zip(predicted) {
        *joint.entry((a, b)).or_default() += 1.0;
        *g.entry(a).or_default() += 1.0;
        *p.entry(b).or_default() += 1.0;
    }
    let entropy =
        |m: &HashMap<usize, f64>| -m.values().map(|&c| (c / n) * (c / n).ln()).sum::<f64>();
    let mi: f64 = joint
        .iter()
        .map(|(&(a, b), &c)| (c / n) * ((c * n) / (g[&a] * p[&b])).ln())
        .sum();
    let (hg, hp) = (entropy(&g), entropy(&p));
    if hg + hp == 0.0 {
        1.0
    } else {
        (2.0 * mi / (hg + hp)).max(0.0)
    }
}

/// Adjusted Rand index.
pub fn ari(gold: &[usize], predicted: &[usize]) -> f64 {
    let comb2 = |x: f64| x * (x - 1.0) / 2.0;
    let mut joint: HashMap<(usize, usize), f64> = HashMap::new();
    let mut g: HashMap<usize, f64> = HashMap::new();
    let mut p: HashMap<usize, f64> = HashMap::new();
    for (&a, &b) in gold.iter().zip(predicted) {
        *joint.entry((a, b)).or_default() += 1.0;
        *g.entry(a).or_default() += 1.0;
        *p.entry(b).or_default() += 1.0;
    }
    let index: f64 = joint.values().map(|&c| comb2(c)).sum();
    let sum_g: f64 = g.values().map(|&c| comb2(c)).sum();
    let sum_p: f64 = p.values().map(|&c| comb2(c)).sum();
    let expected = sum_g * sum_p / comb2(gold.len() as f64);
    let max = (sum_g + sum_p) / 2.0;
    if max == expected {
        1.0
    } else {
        (index - expected) / (max - expected)
    }
}

/// Accuracy under the best one-to-one matching of predicted to gold clusters (Kuhn–Munkres).
pub fn matched_accuracy(gold: &[usize], predicted: &[usize]) -> f64 {
    let gold_ids: Vec<usize> = {
        let mut v = gold.to_vec();
        v.sort_unstable();
        v.dedup();
        v
    };
    let pred_ids: Vec<usize> = {
        let mut v = predicted.to_vec();
        v.sort_unstable();
        v.dedup();
        v
    };
    let size = gold_ids.len().max(pred_ids.len());
    let mut counts = vec![vec![0i64; size]; size];
    for (a, b) in gold.iter().zip(predicted) {
        let i = pred_ids.binary_search(b).expect("present");
        let j = gold_ids.binary_search(a).expect("present");
        counts[i][j] += 1;
    }
    let (matched, _) = kuhn_munkres(&Matrix::from_rows(counts).expect("a square matrix"));
    matched as f64 / gold.len().max(1) as f64
}

/// The sentiment evaluation as printed: the confusion report and the throughput.
pub fn sentiment_report(file: &Path, result: &SentimentEval) -> String {
    format!(
        "sentiment on {}\n{}\n{:.0} texts/s ({:.3} s)\n",
        file.display(),
        result.confusion.report(&result.gold_labels),
        result.confusion.total() as f64 / result.seconds,
        result.seconds
    )
}

/// The clustering evaluation as printed, on one line.
pub fn cluster_report(
    file: &Path,
    k: Option<usize>,
    method: ClusterMethod,
    e: &ClusterEval,
) -> String {
    format!(
        "clusters on {} ({method:?}{}, k {}): rows {} themes {} NMI {:.3} ARI {:.3} ACC {:.3} coverage {:.3} labels matching {:.3} of {} pure themes; incident rule joins {} of {} same-label theme pairs and {} of {} different-label pairs ({}); elapsed {:.2} s (encoding {:.2} s{})",
        file.display(),
        e.encoder
            .as_ref()
            .map_or(String::new(), |name| format!(" with {name}")),
        k.map_or("auto".to_string(), |k| k.to_string()),
        e.rows,
        e.themes,
        e.nmi,
        e.ari,
        e.accuracy,
        e.coverage,
        e.label_match,
        e.pure_themes,
        e.related.same_label_joined,
        e.related.same_label_pairs,
        e.related.different_label_joined,
        e.related.different_label_pairs,
        e.related.quantiles(),
        e.seconds,
        e.encoding_seconds,
        if e.encoding_seconds > 0.0 {
            format!(", {:.0} texts/s", e.rows as f64 / e.encoding_seconds)
        } else {
            String::new()
        }
    )
}

/// The clustering evaluation's outcome.
pub struct ClusterEval {
    pub rows: usize,
    pub nmi: f64,
    pub ari: f64,
    pub accuracy: f64,
    pub coverage: f64,
    pub themes: usize,
    pub seconds: f64,
    /// The sentence encoder the texts were embedded with (none for TF-IDF alone).
    pub encoder: Option<String>,
    /// Of `seconds`, the time spent encoding texts into embeddings.
    pub encoding_seconds: f64,
    /// Themes at least half of one label (purity ≥ 0.5), and the share of them whose theme label
    /// shares a content word (by stem) with that label's name (`card_arrival` → card, arrival).
    pub pure_themes: usize,
    pub label_match: f64,
    pub related: RelatedThemes,
}

/// Clusters every row's text (fixed `k`, or chosen automatically) and compares with the labels.
/// The embedding and joint methods embed with the encoder called `encoder` (one of
/// [`crate::embedding::ENCODERS`]). Timing covers analysis, encoding, TF-IDF and clustering, not
/// reading the file or loading the model.
pub fn clusters(
    path: &Path,
    text_col: &str,
    label_col: &str,
    k: Option<usize>,
    method: ClusterMethod,
    meaning_weight: f32,
    encoder: &str,
) -> Result<ClusterEval, EvalError> {
    let rows = read_labelled(path, text_col, label_col)?;
    let mut label_ids: HashMap<String, usize> = HashMap::new();
    let gold: Vec<usize> = rows
        .iter()
        .map(|(_, l)| {
            let next = label_ids.len();
            *label_ids.entry(l.clone()).or_insert(next)
        })
        .collect();
    let encoder = match method {
        ClusterMethod::Tfidf => None,
        ClusterMethod::Embedding | ClusterMethod::Joint => {
            Some(crate::embedding::open(encoder, None)?)
        }
    };
    let started = Instant::now();
    let docs: Vec<crate::themes::detect::ThemeDoc> = rows
        .iter()
        .map(|(t, _)| crate::themes::detect::ThemeDoc {
            text: t.clone(),
            language: crate::text::StemLanguage::English,
        })
        .collect();
    // The refresh's own detection: fit on a sample, assign all, drop small or incoherent
    // clusters into "unthemed", label.
    let params = crate::themes::ThemeParams {
        k,
        meaning_weight: match method {
            ClusterMethod::Tfidf => 0.0,
            ClusterMethod::Embedding => 1.0,
            ClusterMethod::Joint => meaning_weight,
        },
        ..Default::default()
    };
    let mut encoding_seconds = 0.0;
    let meaning = encoder.as_ref().map(|encoder| {
        let texts: Vec<String> = rows.iter().map(|(t, _)| t.clone()).collect();
        let encoding = Instant::now();
        let vectors = encoder.encode(&texts);
        encoding_seconds = encoding.elapsed().as_secs_f64();
        crate::themes::detect::Meaning {
            encoder: encoder.name(),
            dims: encoder.dims(),
            vectors,
        }
    });
    let detection = crate::themes::detect::detect(&docs, meaning, &[], &params);
    let seconds = started.elapsed().as_secs_f64();
    // Unthemed documents count as one more cluster.
    let unthemed = detection.themes.len();
    let predicted: Vec<usize> = detection
        .assignment
        .iter()
        .map(|a| a.unwrap_or(unthemed))
        .collect();
    let names: Vec<&str> = {
        let mut names = vec![""; label_ids.len()];
        for (name, &id) in &label_ids {
            names[id] = name;
        }
        names
    };
    let labels: Vec<String> = detection.themes.iter().map(|t| t.label.clone()).collect();
    let (pure_themes, label_match) = label_agreement(&gold, &predicted, &labels, &names);
    let related = related_themes(&gold, &detection);
    Ok(ClusterEval {
        rows: rows.len(),
        nmi: nmi(&gold, &predicted),
        ari: ari(&gold, &predicted),
        accuracy: matched_accuracy(&gold, &predicted),
        coverage: detection.coverage(),
        themes: detection.themes.len(),
        seconds,
        encoder: encoder.map(|e| e.name().to_string()),
        encoding_seconds,
        pure_themes,
        label_match,
        related,
    })
}

/// How well "about the same thing" (the incident rule, [`crate::alerts::evaluate::same_incident`]) separates
/// themes: over pairs of pure themes (purity ≥ 0.5), those whose majority label is the same and
/// those whose majority labels differ, and how many of each the rule would join.
#[derive(Debug, Clone, Default)]
pub struct RelatedThemes {
    pub same_label_pairs: usize,
    pub same_label_joined: usize,
    pub different_label_pairs: usize,
    pub different_label_joined: usize,
    /// The meaning cosines of the pairs (when themes have meaning centroids), sorted.
    pub same_label_cosines: Vec<f32>,
    pub different_label_cosines: Vec<f32>,
}

impl RelatedThemes {
    /// "same label: p10 0.81 p50 0.88; different: p50 0.52 p95 0.71 p99 0.79".
    pub fn quantiles(&self) -> String {
        let q = |v: &[f32], p: f64| {
            if v.is_empty() {
                f32::NAN
            } else {
                v[((v.len() - 1) as f64 * p).round() as usize]
            }
        };
        let (same, different) = (&self.same_label_cosines, &self.different_label_cosines);
        format!(
            "meaning cosine of same-label theme pairs p10 {:.2} p50 {:.2}; different-label p50 {:.2} p95 {:.2} p99 {:.2}",
            q(same, 0.1),
            q(same, 0.5),
            q(different, 0.5),
            q(different, 0.95),
            q(different, 0.99)
        )
    }
}

fn related_themes(gold: &[usize], detection: &crate::themes::detect::Detection) -> RelatedThemes {
    let majority: Vec<Option<usize>> = detection
        .themes
        .iter()
        .map(|t| {
            let mut counts: HashMap<usize, usize> = HashMap::new();
            for &d in &t.members {
                *counts.entry(gold[d]).or_default() += 1;
            }
            counts
                .into_iter()
                .max_by_key(|&(g, n)| (n, std::cmp::Reverse(g)))
                .filter(|&(_, n)| n * 2 >= t.members.len())
                .map(|(g, _)| g)
        })
        .collect();
    let mut related = RelatedThemes::default();
    for a in 0..detection.themes.len() {
        for b in a + 1..detection.themes.len() {
            let (Some(ga), Some(gb)) = (majority[a], majority[b]) else {
                continue;
            };
            let (ta, tb) = (&detection.themes[a], &detection.themes[b]);
            let joined =
                crate::alerts::evaluate::same_incident(crate::themes::record::relatedness(
                    (&ta.centroid, ta.meaning.as_ref()),
                    (&tb.centroid, tb.meaning.as_ref()),
                ));
            let cosine = ta
                .meaning
                .as_ref()
                .zip(tb.meaning.as_ref())
                .and_then(|(x, y)| x.similarity(y));
            if ga == gb {
                related.same_label_pairs += 1;
                related.same_label_joined += joined as usize;
                related.same_label_cosines.extend(cosine);
            } else {
                related.different_label_pairs += 1;
                related.different_label_joined += joined as usize;
                related.different_label_cosines.extend(cosine);
            }
        }
    }
    related.same_label_cosines.sort_by(f32::total_cmp);
    related.different_label_cosines.sort_by(f32::total_cmp);
    related
}

/// Of the themes whose members are at least half one gold label, how many there are and the share
/// whose theme label shares a content word (compared by stem) with that gold label's name.
pub fn label_agreement(
    gold: &[usize],
    predicted: &[usize],
    labels: &[String],
    names: &[&str],
) -> (usize, f64) {
    let stems = |text: &str| -> std::collections::HashSet<String> {
        crate::themes::tfidf::features(
            &text.replace(['_', '-'], " "),
            crate::text::StemLanguage::English,
            false,
        )
        .features
        .into_iter()
        .collect()
    };
    let mut counts: HashMap<usize, HashMap<usize, usize>> = HashMap::new();
    for (&g, &p) in gold.iter().zip(predicted) {
        *counts.entry(p).or_default().entry(g).or_default() += 1;
    }
    let mut pure = 0;
    let mut matching = 0;
    for (theme, by_gold) in &counts {
        let size: usize = by_gold.values().sum();
        let (&majority, &count) = by_gold
            .iter()
            .max_by_key(|&(g, n)| (*n, std::cmp::Reverse(*g)))
            .expect("a theme has members");
        if count * 2 < size {
            continue;
        }
        pure += 1;
        // Unthemed documents have no label and are not a theme.
        let Some(label) = labels.get(*theme) else {
            continue;
        };
        if !stems(label).is_disjoint(&stems(names[majority])) {
            matching += 1;
        }
    }
    (pure, matching as f64 / pure.max(1) as f64)
}

#[cfg(test)]
mod cluster_metric_tests {
    use super::*;

    #[test]
    fn labels_match_when_they_share_a_content_word_with_the_majority_name() {
        let gold = [0, 0, 0, 1, 1, 1, 2, 2, 0, 1, 2];
        let predicted = [0, 0, 0, 1, 1, 1, 2, 3, 4, 4, 4];
        let names = ["card_arrival", "refund_request", "exchange_rate"];
        let labels = [
            "cards arrived / late",
            "money back",
            "exchange rates",
            "the",
            "card refund",
        ]
        .map(String::from);
        // Themes 0-3 are pure (theme 4 is a third of each); 0 and 2 share a stem with their
        // label's name, 1 says it in other words, 3 only has a stopword.
        let (pure, share) = label_agreement(&gold, &predicted, &labels, &names);
        assert_eq!(pure, 4);
        assert!((share - 0.5).abs() < 1e-9, "{share}");
    }

    #[test]
    fn metrics_on_known_partitions() {
        let gold = [0, 0, 0, 1, 1, 1];
        assert!((nmi(&gold, &[5, 5, 5, 9, 9, 9]) - 1.0).abs() < 1e-9);
        assert!((ari(&gold, &[1, 1, 1, 0, 0, 0]) - 1.0).abs() < 1e-9);
        assert!((matched_accuracy(&gold, &[1, 1, 0, 0, 0, 0]) - 5.0 / 6.0).abs() < 1e-9);
        // scikit-learn: normalized_mutual_info_score([0,0,0,1,1,1],[0,0,1,1,2,2]) = 0.5158...
        assert!((nmi(&gold, &[0, 0, 1, 1, 2, 2]) - 0.515_803).abs() < 1e-4);
        // adjusted_rand_score([0,0,0,1,1,1],[0,0,1,1,2,2]) = 0.2424...
        assert!((ari(&gold, &[0, 0, 1, 1, 2, 2]) - 0.242_424).abs() < 1e-4);
    }
}
