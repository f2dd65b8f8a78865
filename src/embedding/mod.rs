//! Sentence embeddings: an [`Encoder`] turns texts into unit vectors whose cosine similarity
//! follows meaning, so that verbatims saying one thing in different words land together.
//!
//! The default encoder is [`StaticEncoder`]: a model2vec static model (potion-base-8M, 256
//! dimensions) read from local files that `scripts/fetch-model.sh` fetches, pinned by sha256, into
//! `models/` (never into git). Encoding is a table lookup of each token's vector and a mean, so it
//! is cheap enough for the ingest path. Nothing here reaches the network. Without the files,
//! [`open_default`] and [`open`] say so and callers fall back to lexical features.
//!
//! A build with the `onnx` feature also has `OnnxEncoder` (in `onnx.rs`): the all-MiniLM-L6-v2
//! transformer (384 dimensions, int8 ONNX) run by ONNX Runtime, fetched by
//! `scripts/fetch-model.sh --onnx`. It clusters better and encodes a few hundred times slower.
//! [`open`] opens either by name.

#[cfg(feature = "onnx")]
mod onnx;

use std::path::{Path, PathBuf};
use std::sync::Arc;

#[cfg(feature = "onnx")]
pub use self::onnx::OnnxEncoder;

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

/// A model2vec static model: a vector per token, averaged over a text's tokens.
pub struct StaticEncoder {
    name: String,
    dims: usize,
    model: model2vec_rs::model::StaticModel,
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
const MAX_TOKENS: usize = 512;
/// Texts handed to the model at once.
const BATCH: usize = 1024;

impl StaticEncoder {
    /// Loads the model in `dir` (`model.safetensors`, `tokenizer.json`, `config.json`).
    pub fn open(dir: &Path) -> Result<StaticEncoder, EmbeddingError> {
        let path = dir.display().to_string();
        if !dir.join("model.safetensors").is_file() {
            return Err(EmbeddingError::Missing { path, fetch: FETCH });
        }
        let model = model2vec_rs::model::StaticModel::from_pretrained(dir, None, Some(true), None)
            .map_err(|e| EmbeddingError::Load {
                path: path.clone(),
                message: format!("{e:#}"),
            })?;
        let dims = model.encode_single("probe").len();
        if dims == 0 {
            return Err(EmbeddingError::Load {
                path,
                message: "the model gives empty vectors".into(),
            });
        }
        let name = dir
            .file_name()
            .map_or_else(|| path.clone(), |n| n.to_string_lossy().into_owned());
        Ok(StaticEncoder { name, dims, model })
    }
}

impl Encoder for StaticEncoder {
    fn name(&self) -> &str {
        &self.name
    }

    fn dims(&self) -> usize {
        self.dims
    }

    fn encode(&self, texts: &[String]) -> Vec<Vec<f32>> {
        let mut vectors = self.model.encode_with_args(texts, Some(MAX_TOKENS), BATCH);
        for v in &mut vectors {
            normalize(v);
        }
        vectors
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

    /// The real model, when fetched: paraphrases are closer than unrelated texts.
    #[test]
    fn paraphrases_are_closer_than_unrelated_texts() {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join(MODELS_DIR);
        let encoder = match open_default(Some(&dir)) {
            Ok(encoder) => encoder,
            Err(EmbeddingError::Missing { .. }) if std::env::var_os("CI").is_none() => {
                eprintln!("skipped: no model (run scripts/fetch-model.sh)");
                return;
            }
            Err(err) => panic!("{err}"),
        };
        assert_eq!((encoder.name(), encoder.dims()), (DEFAULT_MODEL, 256));
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
            assert!((dot(vector, vector) - 1.0).abs() < 1e-4);
        }
        assert!(
            dot(&v[0], &v[1]) > dot(&v[0], &v[2]) + 0.1,
            "crash~closing {} vs crash~charged {}",
            dot(&v[0], &v[1]),
            dot(&v[0], &v[2])
        );
        assert!(v[3].iter().all(|x| x.is_finite()));
    }
}
