//! Sentence embeddings: an [`Encoder`] turns texts into unit vectors whose cosine similarity
//! follows meaning, so that verbatims saying one thing in different words land together.
//!
//! The default encoder is [`StaticEncoder`]: a model2vec static model (potion-base-8M, 256
//! dimensions) read from local files that `scripts/fetch-model.sh` fetches, pinned by sha256, into
//! `models/` (never into git). Encoding is a table lookup of each token's vector and a mean, so it
//! is cheap enough for the ingest path. Nothing here reaches the network. Without the files,
//! [`open_default`] and [`open`] say so and callers fall back to lexical features.
//!
//! `StaticEncoder` gives model2vec-rs's vectors (a test holds it to them) about ten times faster:
//! model2vec-rs runs every text through the whole tokenizer pipeline, which is most of the cost
//! of a static model. A word-piece tokenizer splits words at whitespace before anything else, so
//! a text's tokens are its whitespace-separated chunks' tokens in order: `StaticEncoder`
//! tokenizes each distinct chunk once, keeps its token ids, and pools the embedding rows itself.
//!
//! A build with the `onnx` feature also has `OnnxEncoder` (in `onnx.rs`): the all-MiniLM-L6-v2
//! transformer (384 dimensions, int8 ONNX) run by ONNX Runtime, fetched by
//! `scripts/fetch-model.sh --onnx`. It clusters better and encodes a few hundred times slower.
//! [`open`] opens either by name.

mod cache;
#[cfg(feature = "onnx")]
mod onnx;

use std::path::{Path, PathBuf};
use std::sync::Arc;

#[cfg(feature = "onnx")]
pub use self::onnx::OnnxEncoder;

use self::cache::ChunkTokens;

/// The model tideline encodes with by default, as a folder name under the models directory.
pub const DEFAULT_MODEL: &str = "potion-base-8M";
/// The transformer encoder of a build with the `onnx` feature, as a folder name under the models
/// directory.
pub const ONNX_MODEL: &str = "all-MiniLM-L6-v2";
/// Every encoder name [`open`] knows (whether or not this build has it).
pub const ENCODERS: [&str; 2] = [DEFAULT_MODEL, ONNX_MODEL];
/// Where the models are unless `TIDELINE_MODELS_DIR` says otherwise.
pub const MODELS_DIR: &str = "models";
/// What fetches the default model.
const FETCH: &str = "scripts/fetch-model.sh";

/// Embedding errors.
#[derive(Debug, thiserror::Error)]
pub enum EmbeddingError {
    #[error("no embedding model in {path}: run {fetch}")]
    Missing { path: String, fetch: &'static str },
    #[error("cannot load the embedding model in {path}: {message}")]
    Load { path: String, message: String },
    #[error(
        "no onnx runtime at {path}: run scripts/fetch-model.sh --onnx, or set ORT_DYLIB_PATH to \
         a libonnxruntime.so"
    )]
    MissingRuntime { path: String },
    #[error("the {name} encoder needs tideline built with `--features onnx`")]
    NotBuilt { name: String },
    #[error("unknown encoder {name:?}: {DEFAULT_MODEL} or {ONNX_MODEL}")]
    Unknown { name: String },
}

/// Turns texts into vectors of [`Encoder::dims`] numbers, each of unit length (or all zero for a
/// text with no known token), comparable by dot product.
pub trait Encoder: Send + Sync {
    /// What the vectors come from, e.g. `potion-base-8M`: two vectors are comparable only when
    /// their encoders have the same name.
    fn name(&self) -> &str;
    /// Length of every vector.
    fn dims(&self) -> usize;
    /// One vector per text, in order.
    fn encode(&self, texts: &[String]) -> Vec<Vec<f32>>;
}

/// A model2vec static model: a vector per token, averaged over a text's tokens (unknown tokens
/// left out, at most [`MAX_TOKENS`]), scaled to unit length.
pub struct StaticEncoder {
    name: String,
    dims: usize,
    /// `rows × dims`, row-major: one vector per token id.
    embeddings: Vec<f32>,
    tokens: ChunkTokens,
    /// Characters read per text: model2vec-rs cuts a text at `MAX_TOKENS` × the vocabulary's
    /// median token length before tokenizing, and so does this encoder.
    max_chars: usize,
}

impl std::fmt::Debug for StaticEncoder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StaticEncoder")
            .field("name", &self.name)
            .field("dims", &self.dims)
            .finish()
    }
}

/// Tokens read per text: feedback past this length says nothing new about its topic.
pub const MAX_TOKENS: usize = 512;

impl StaticEncoder {
    /// Loads the model in `dir` (`model.safetensors`, `tokenizer.json`, `config.json`).
    pub fn open(dir: &Path) -> Result<StaticEncoder, EmbeddingError> {
        let path = dir.display().to_string();
        if !dir.join("model.safetensors").is_file() {
            return Err(EmbeddingError::Missing { path, fetch: FETCH });
        }
        let fail = |message: String| EmbeddingError::Load {
            path: path.clone(),
            message,
        };
        let tokenizer = tokenizers::Tokenizer::from_file(dir.join("tokenizer.json"))
            .map_err(|e| fail(format!("tokenizer.json: {e}")))?;
        let config: serde_json::Value = std::fs::read(dir.join("config.json"))
            .map_err(|e| e.to_string())
            .and_then(|b| serde_json::from_slice(&b).map_err(|e| e.to_string()))
            .map_err(|e| fail(format!("config.json: {e}")))?;
        if config.get("normalize").and_then(serde_json::Value::as_bool) == Some(false) {
            return Err(fail(
                "models that do not normalise their vectors are not supported".into(),
            ));
        }
        let bytes = std::fs::read(dir.join("model.safetensors"))
            .map_err(|e| fail(format!("model.safetensors: {e}")))?;
        let tensors = safetensors::SafeTensors::deserialize(&bytes)
            .map_err(|e| fail(format!("model.safetensors: {e}")))?;
        if tensors
            .names()
            .iter()
            .any(|n| *n == "weights" || *n == "mapping")
        {
            return Err(fail(
                "quantised models (weights, mapping) are not supported".into(),
            ));
        }
        let table = tensors
            .tensor("embeddings")
            .map_err(|e| fail(format!("model.safetensors: {e}")))?;
        let [rows, dims] = <[usize; 2]>::try_from(table.shape())
            .map_err(|_| fail("the embeddings are not a matrix".into()))?;
        if table.dtype() != safetensors::Dtype::F32 || dims == 0 {
            return Err(fail(format!(
                "embeddings of {:?} × {dims} are not supported (f32 only)",
                table.dtype()
            )));
        }
        let embeddings: Vec<f32> = table
            .data()
            .chunks_exact(4)
            .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
            .collect();
        let vocabulary = tokenizer.get_vocab(false);
        if vocabulary.values().any(|&id| id as usize >= rows) {
            return Err(fail("the tokenizer has ids past the embeddings".into()));
        }
        let mut lengths: Vec<usize> = vocabulary.keys().map(String::len).collect();
        lengths.sort_unstable();
        let median = lengths.get(lengths.len() / 2).copied().unwrap_or(1);
        let unknown = unknown_token(&tokenizer);
        let name = dir
            .file_name()
            .map_or_else(|| path.clone(), |n| n.to_string_lossy().into_owned());
        Ok(StaticEncoder {
            name,
            dims,
            embeddings,
            tokens: ChunkTokens::new(tokenizer, unknown),
            max_chars: MAX_TOKENS * median,
        })
    }

    /// The mean of a text's token vectors, unit length (all zero without a known token).
    fn encode_one(&self, text: &str, ids: &mut Vec<u32>) -> Vec<f32> {
        let text = match text.char_indices().nth(self.max_chars) {
            Some((end, _)) => &text[..end],
            None => text,
        };
        ids.clear();
        self.tokens.ids(text, MAX_TOKENS, ids);
        let mut sum = vec![0.0f32; self.dims];
        for &id in ids.iter() {
            let row = &self.embeddings[id as usize * self.dims..][..self.dims];
            sum.iter_mut().zip(row).for_each(|(s, x)| *s += x);
        }
        // The mean's direction is the sum's.
        normalize(&mut sum);
        sum
    }
}

/// The model's unknown token, as the tokenizer describes its model.
fn unknown_token(tokenizer: &tokenizers::Tokenizer) -> Option<u32> {
    let spec = serde_json::to_value(tokenizer).ok()?;
    let unk = spec.get("model")?.get("unk_token")?.as_str()?;
    tokenizer.token_to_id(unk)
}

impl Encoder for StaticEncoder {
    fn name(&self) -> &str {
        &self.name
    }

    fn dims(&self) -> usize {
        self.dims
    }

    fn encode(&self, texts: &[String]) -> Vec<Vec<f32>> {
        let mut ids = Vec::new();
        texts.iter().map(|t| self.encode_one(t, &mut ids)).collect()
    }
}

/// Scales `v` to unit length; a zero vector stays zero.
pub fn normalize(v: &mut [f32]) {
    let norm = v.iter().map(|x| x * x).sum::<f32>().sqrt();
    if norm > 0.0 {
        v.iter_mut().for_each(|x| *x /= norm);
    }
}

/// Centres a corpus's vectors: subtracts their mean (over the non-zero ones) and scales each back
/// to unit length; a zero vector stays zero. Returns the mean, for [`recentre`]ing new vectors.
///
/// Static embeddings share a common direction (every text is a little like every other): without
/// it, cosines spread over more of their range and clusters separate better (BANKING77 at k = 77:
/// NMI 0.719 → 0.731 for themes by meaning; see BENCHMARKS.md).
pub fn centre(vectors: &mut [Vec<f32>]) -> Vec<f32> {
    let dims = vectors.iter().map(Vec::len).max().unwrap_or(0);
    let mut mean = vec![0.0f32; dims];
    let mut counted = 0usize;
    for v in vectors
        .iter()
        .filter(|v| v.len() == dims && v.iter().any(|&x| x != 0.0))
    {
        mean.iter_mut().zip(v).for_each(|(m, x)| *m += x);
        counted += 1;
    }
    mean.iter_mut().for_each(|m| *m /= counted.max(1) as f32);
    for v in vectors.iter_mut() {
        recentre(v, &mean);
    }
    mean
}

/// Centres one vector on a corpus's `mean` (from [`centre`]) and scales it to unit length; a
/// zero vector, or one of another length, stays as it is.
pub fn recentre(v: &mut [f32], mean: &[f32]) {
    if v.len() != mean.len() || v.iter().all(|&x| x == 0.0) {
        return;
    }
    v.iter_mut().zip(mean).for_each(|(x, m)| *x -= m);
    normalize(v);
}

/// The models directory: `TIDELINE_MODELS_DIR`, else `models` in the working directory.
pub fn models_dir() -> PathBuf {
    std::env::var_os("TIDELINE_MODELS_DIR").map_or_else(|| PathBuf::from(MODELS_DIR), PathBuf::from)
}

/// The default model from `models_dir` (or the given directory).
pub fn open_default(models: Option<&Path>) -> Result<StaticEncoder, EmbeddingError> {
    let dir = models.map_or_else(models_dir, Path::to_path_buf);
    StaticEncoder::open(&dir.join(DEFAULT_MODEL))
}

/// The encoder called `name` (one of [`ENCODERS`]) from `models_dir` (or the given directory):
/// [`DEFAULT_MODEL`] is [`open_default`]; [`ONNX_MODEL`] needs a build with the `onnx` feature
/// ([`EmbeddingError::NotBuilt`] otherwise). Each says which files are missing and what fetches
/// them.
pub fn open(name: &str, models: Option<&Path>) -> Result<Arc<dyn Encoder>, EmbeddingError> {
    match name {
        DEFAULT_MODEL => Ok(Arc::new(open_default(models)?)),
        #[cfg(feature = "onnx")]
        ONNX_MODEL => {
            let dir = models.map_or_else(models_dir, Path::to_path_buf);
            Ok(Arc::new(OnnxEncoder::open(&dir)?))
        }
        #[cfg(not(feature = "onnx"))]
        ONNX_MODEL => Err(EmbeddingError::NotBuilt { name: name.into() }),
        _ => Err(EmbeddingError::Unknown { name: name.into() }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_missing_model_is_named_with_what_to_run() {
        let dir = tempfile::tempdir().unwrap();
        let err = open_default(Some(dir.path())).unwrap_err();
        assert!(matches!(err, EmbeddingError::Missing { .. }));
        assert!(err.to_string().contains("scripts/fetch-model.sh"), "{err}");
    }

    #[test]
    fn encoders_are_opened_by_name() {
        let dir = tempfile::tempdir().unwrap();
        let missing = open(DEFAULT_MODEL, Some(dir.path())).err().unwrap();
        assert!(
            matches!(missing, EmbeddingError::Missing { .. }),
            "{missing}"
        );
        let unknown = open("bert", Some(dir.path())).err().unwrap();
        assert_eq!(
            unknown.to_string(),
            "unknown encoder \"bert\": potion-base-8M or all-MiniLM-L6-v2"
        );
    }

    /// Without the `onnx` feature, asking for the transformer says how to build for it.
    #[cfg(not(feature = "onnx"))]
    #[test]
    fn the_onnx_encoder_needs_the_feature() {
        let dir = tempfile::tempdir().unwrap();
        let err = open(ONNX_MODEL, Some(dir.path())).err().unwrap();
        assert!(matches!(err, EmbeddingError::NotBuilt { .. }));
        assert_eq!(
            err.to_string(),
            "the all-MiniLM-L6-v2 encoder needs tideline built with `--features onnx`"
        );
    }

    #[test]
    fn normalising_gives_unit_length_and_keeps_zero() {
        let mut v = vec![3.0, 4.0];
        normalize(&mut v);
        assert_eq!(v, [0.6, 0.8]);
        let mut zero = vec![0.0; 3];
        normalize(&mut zero);
        assert_eq!(zero, [0.0; 3]);
    }

    /// The real model, when fetched.
    fn real_model() -> Option<StaticEncoder> {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join(MODELS_DIR);
        match open_default(Some(&dir)) {
            Ok(encoder) => Some(encoder),
            Err(EmbeddingError::Missing { .. }) if std::env::var_os("CI").is_none() => {
                eprintln!("skipped: no model (run scripts/fetch-model.sh)");
                None
            }
            Err(err) => panic!("{err}"),
        }
    }

    /// Tokenizing chunk by chunk (and remembering chunks) gives model2vec-rs's own vectors,
    /// whatever the text: punctuation, accents, CJK, emoji, control characters, odd whitespace,
    /// unknown words, texts past the token and character limits, repeated calls.
    #[test]
    fn vectors_are_model2vecs_own() {
        let Some(encoder) = real_model() else {
            return;
        };
        let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join(MODELS_DIR)
            .join(DEFAULT_MODEL);
        let reference =
            model2vec_rs::model::StaticModel::from_pretrained(&dir, None, None, None).unwrap();
        let long_words = "refund ".repeat(700);
        let long_chars = "x".repeat(5000) + " refund please";
        let texts: Vec<String> = [
            "The app crashes when I open it!!! @support #fail http://t.co/abc",
            "Café déjà vu — naïve façade, Zürich",
            "退款 还没有到账 please help 😡😡",
            "tabs\tand\nnewlines\r\nand\u{85}next\u{0B}line\u{3000}wide\u{2028}sep",
            "nul\u{0}in the\u{7}middle and \u{FFFD} replacement",
            "",
            "   ",
            "ok",
            "OK ok Ok oK",
            "qwzxv blorptastic unfathomablenesses 12345.678,90",
            long_words.as_str(),
            long_chars.as_str(),
        ]
        .map(String::from)
        .to_vec();
        let expected = reference.encode_with_args(&texts, Some(MAX_TOKENS), 64);
        for round in 0..2 {
            let got = encoder.encode(&texts);
            for ((text, a), b) in texts.iter().zip(&got).zip(&expected) {
                let worst = a
                    .iter()
                    .zip(b)
                    .map(|(x, y)| (x - y).abs())
                    .fold(0.0f32, f32::max);
                assert!(
                    worst < 1e-5,
                    "round {round}: {text:.40?} differs by {worst}"
                );
            }
        }
    }

    /// What every real encoder promises: `dims` unit-length numbers per text (a text without
    /// content stays finite), paraphrases closer than unrelated texts, and a text's vector the
    /// same alone as in a batch.
    pub(super) fn check_meaning(encoder: &dyn Encoder, dims: usize) {
        let texts: Vec<String> = [
            "the app crashes when I open it",
            "application keeps closing on startup",
            "I was charged twice for my subscription",
            "",
        ]
        .map(String::from)
        .to_vec();
        let v = encoder.encode(&texts);
        let dot = |a: &[f32], b: &[f32]| a.iter().zip(b).map(|(x, y)| x * y).sum::<f32>();
        for vector in &v[..3] {
            assert_eq!(vector.len(), dims);
            assert!((dot(vector, vector) - 1.0).abs() < 1e-4);
        }
        assert!(
            dot(&v[0], &v[1]) > dot(&v[0], &v[2]) + 0.1,
            "crash~closing {} vs crash~charged {}",
            dot(&v[0], &v[1]),
            dot(&v[0], &v[2])
        );
        assert!(v[3].iter().all(|x| x.is_finite()));
        let alone = encoder.encode(&texts[2..3]);
        assert!(dot(&alone[0], &v[2]) > 0.999, "the batch changed a vector");
    }

    /// The real model, when fetched: paraphrases are closer than unrelated texts.
    #[test]
    fn paraphrases_are_closer_than_unrelated_texts() {
        let Some(encoder) = real_model() else {
            return;
        };
        assert_eq!((encoder.name(), encoder.dims()), (DEFAULT_MODEL, 256));
        check_meaning(&encoder, 256);
    }
}
