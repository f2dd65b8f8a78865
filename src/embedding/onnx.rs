//! all-MiniLM-L6-v2 (sentence-transformers, Apache-2.0; 384 dimensions) as an int8 ONNX model run
//! by ONNX Runtime, for builds with the `onnx` feature. `scripts/fetch-model.sh --onnx` fetches the
//! model (`model.onnx`, `tokenizer.json`) into `models/all-MiniLM-L6-v2/` and the runtime
//! (`libonnxruntime.so`, loaded when the encoder opens, never linked) into `models/onnxruntime/`.
//!
//! A text is cut to its first 256 word pieces, run through the transformer with the other texts of
//! its batch, and its token states are averaged under the attention mask and scaled to unit
//! length: the sentence-transformers recipe for this model. About three hundred texts a second on
//! two cores: for refreshes that can wait, or a machine with cores to spare.

use std::path::{Path, PathBuf};
use std::sync::Mutex;

use ort::environment::Environment;
use ort::session::builder::GraphOptimizationLevel;
use ort::session::{Session, SessionInputValue};
use ort::value::{Tensor, TensorElementType, ValueType};
use tokenizers::{Tokenizer, TruncationParams};

use super::{normalize, EmbeddingError, Encoder, ONNX_MODEL};

/// What fetches the model and its runtime.
const FETCH: &str = "scripts/fetch-model.sh --onnx";
/// The runtime under the models directory, unless `ORT_DYLIB_PATH` names another.
pub const RUNTIME: &str = "onnxruntime/libonnxruntime.so";
/// Word pieces read per text (with `[CLS]` and `[SEP]`): the length the model was tuned to.
const MAX_TOKENS: usize = 256;
/// Texts run through the model at once.
const BATCH: usize = 64;

/// ONNX Runtime allows one environment per process, and none after it is dropped: every encoder
/// shares the first.
static ENVIRONMENT: Mutex<Option<Environment>> = Mutex::new(None);

/// What a BERT-style model reads, by input name.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Input {
    /// `input_ids`: the word pieces.
    Ids,
    /// `attention_mask`: 1 for a word piece, 0 for padding.
    Mask,
    /// `token_type_ids`: all 0 (one sentence).
    Types,
}

/// The all-MiniLM-L6-v2 transformer, run on the CPU by ONNX Runtime: mean-pooled, unit-length
/// sentence vectors. One batch runs at a time; ONNX Runtime spreads it over the cores.
pub struct OnnxEncoder {
    dims: usize,
    tokenizer: Tokenizer,
    /// Running needs the session mutably.
    session: Mutex<Session>,
    /// The inputs the model declares, in its order.
    inputs: Vec<(String, Input)>,
    /// The output holding each token's state: `[batch, tokens, dims]`.
    output: String,
    pad_id: u32,
}

impl std::fmt::Debug for OnnxEncoder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OnnxEncoder")
            .field("name", &ONNX_MODEL)
            .field("dims", &self.dims)
            .field("inputs", &self.inputs)
            .field("output", &self.output)
            .finish()
    }
}

impl OnnxEncoder {
    /// Loads the model from `models/all-MiniLM-L6-v2/` (`model.onnx`, `tokenizer.json`) and ONNX
    /// Runtime from `ORT_DYLIB_PATH`, else `models/onnxruntime/libonnxruntime.so`; says which file
    /// is missing and what fetches it. The runtime is loaded once per process: a later encoder
    /// shares the first one's, wherever it came from.
    pub fn open(models: &Path) -> Result<OnnxEncoder, EmbeddingError> {
        let dir = models.join(ONNX_MODEL);
        let path = dir.display().to_string();
        if !dir.join("model.onnx").is_file() || !dir.join("tokenizer.json").is_file() {
            return Err(EmbeddingError::Missing { path, fetch: FETCH });
        }
        let runtime = std::env::var_os("ORT_DYLIB_PATH")
            .filter(|p| !p.is_empty())
            .map_or_else(|| models.join(RUNTIME), PathBuf::from);
        if !runtime.is_file() {
            return Err(EmbeddingError::MissingRuntime {
                path: runtime.display().to_string(),
            });
        }
        let load = |message: String| EmbeddingError::Load {
            path: path.clone(),
            message,
        };

        let mut tokenizer = Tokenizer::from_file(dir.join("tokenizer.json"))
            .map_err(|e| load(format!("tokenizer.json: {e}")))?;
        tokenizer
            .with_truncation(Some(TruncationParams {
                max_length: MAX_TOKENS,
                ..Default::default()
            }))
            .map_err(|e| load(format!("tokenizer.json: {e}")))?;
        let pad_id = tokenizer.get_padding().map_or(0, |p| p.pad_id);
        // Each batch is padded here, to its own longest text.
        tokenizer.with_padding(None);

        let environment = environment(&runtime).map_err(load)?;
        let session = Session::builder(&environment)
            .and_then(|b| Ok(b.with_optimization_level(GraphOptimizationLevel::Level3)?))
            .and_then(|mut b| b.commit_from_file(dir.join("model.onnx")))
            .map_err(|e| load(format!("model.onnx: {e}")))?;
        let inputs = session
            .inputs()
            .iter()
            .map(|outlet| {
                let input = match outlet.name() {
                    "input_ids" => Input::Ids,
                    "attention_mask" => Input::Mask,
                    "token_type_ids" => Input::Types,
                    other => {
                        return Err(load(format!("model.onnx wants an unknown input {other:?}")))
                    }
                };
                match outlet.dtype() {
                    ValueType::Tensor {
                        ty: TensorElementType::Int64,
                        ..
                    } => Ok((outlet.name().to_string(), input)),
                    other => Err(load(format!(
                        "model.onnx wants {} as {other}, not int64",
                        outlet.name()
                    ))),
                }
            })
            .collect::<Result<Vec<_>, _>>()?;
        if !inputs.iter().any(|(_, i)| *i == Input::Ids) {
            return Err(load("model.onnx takes no input_ids".into()));
        }
        let outputs = session.outputs();
        let output = outputs
            .iter()
            .find(|o| o.name() == "last_hidden_state")
            .or_else(|| outputs.first())
            .map(|o| o.name().to_string())
            .ok_or_else(|| load("model.onnx has no output".into()))?;
        let mut encoder = OnnxEncoder {
            dims: 0,
            tokenizer,
            session: Mutex::new(session),
            inputs,
            output,
            pad_id,
        };
        encoder.dims = encoder
            .run(&["probe".to_string()])
            .map_err(load)?
            .first()
            .map_or(0, Vec::len);
        if encoder.dims == 0 {
            return Err(load("the model gives empty vectors".into()));
        }
        Ok(encoder)
    }

    /// One unit vector per text, for one batch.
    fn run(&self, texts: &[String]) -> Result<Vec<Vec<f32>>, String> {
        let encodings = self
            .tokenizer
            .encode_batch(texts.to_vec(), true)
            .map_err(|e| format!("tokenizing: {e}"))?;
        let rows = encodings.len();
        let width = encodings.iter().map(|e| e.len()).max().unwrap_or(0).max(1);
        let mut ids = vec![i64::from(self.pad_id); rows * width];
        let mut mask = vec![0i64; rows * width];
        for (row, encoding) in encodings.iter().enumerate() {
            for (column, &id) in encoding.get_ids().iter().enumerate() {
                ids[row * width + column] = i64::from(id);
                mask[row * width + column] = 1;
            }
        }
        let tensor = |values: Vec<i64>| -> Result<SessionInputValue<'static>, String> {
            Tensor::from_array(([rows, width], values))
                .map(|t| t.into_dyn().into())
                .map_err(|e| format!("building an input: {e}"))
        };
        let mut inputs = Vec::with_capacity(self.inputs.len());
        for (name, input) in &self.inputs {
            let values = match input {
                Input::Ids => ids.clone(),
                Input::Mask => mask.clone(),
                Input::Types => vec![0; rows * width],
            };
            inputs.push((name.as_str(), tensor(values)?));
        }
        let mut session = self.session.lock().unwrap_or_else(|e| e.into_inner());
        let outputs = session
            .run(inputs)
            .map_err(|e| format!("running the model: {e}"))?;
        let (shape, states) = outputs[self.output.as_str()]
            .try_extract_tensor::<f32>()
            .map_err(|e| format!("reading {}: {e}", self.output))?;
        let &[batch, tokens, dims] = &shape[..] else {
            return Err(format!(
                "{} is {shape:?}, not [batch, tokens, dims]",
                self.output
            ));
        };
        let (tokens, dims) = (tokens as usize, dims as usize);
        if batch as usize != rows || tokens != width {
            return Err(format!(
                "{} is {shape:?} for {rows} texts of {width} tokens",
                self.output
            ));
        }
        Ok((0..rows)
            .map(|row| {
                let mut pooled = vec![0.0f32; dims];
                let mut counted = 0.0f32;
                for token in 0..tokens {
                    if mask[row * width + token] == 0 {
                        continue;
                    }
                    let state = &states[(row * tokens + token) * dims..][..dims];
                    pooled.iter_mut().zip(state).for_each(|(p, s)| *p += s);
                    counted += 1.0;
                }
                pooled.iter_mut().for_each(|p| *p /= counted.max(1.0));
                normalize(&mut pooled);
                pooled
            })
            .collect())
    }
}

/// The process's ONNX Runtime environment, loading the runtime from `runtime` the first time.
fn environment(runtime: &Path) -> Result<Environment, String> {
    let mut shared = ENVIRONMENT.lock().unwrap_or_else(|e| e.into_inner());
    if let Some(environment) = shared.as_ref() {
        return Ok(environment.clone());
    }
    let runtime =
        std::path::absolute(runtime).map_err(|e| format!("{}: {e}", runtime.display()))?;
    let environment = ort::init_from(&runtime)
        .map_err(|e| e.to_string())?
        .with_name("tideline")
        .build()
        .map_err(|e| format!("starting onnx runtime: {e}"))?;
    *shared = Some(environment.clone());
    Ok(environment)
}

impl Encoder for OnnxEncoder {
    fn name(&self) -> &str {
        ONNX_MODEL
    }

    fn dims(&self) -> usize {
        self.dims
    }

    /// Texts are run in batches of similar length (less padding); a batch the runtime fails on
    /// (it should not: inputs are checked when the encoder opens) is logged and comes back as
    /// zero vectors, which themes treat as texts without meaning.
    fn encode(&self, texts: &[String]) -> Vec<Vec<f32>> {
        let mut order: Vec<usize> = (0..texts.len()).collect();
        order.sort_by_key(|&i| texts[i].len());
        let mut vectors = vec![Vec::new(); texts.len()];
        for chunk in order.chunks(BATCH) {
            let batch: Vec<String> = chunk.iter().map(|&i| texts[i].clone()).collect();
            let encoded = self.run(&batch).unwrap_or_else(|error| {
                tracing::error!(encoder = ONNX_MODEL, %error, "cannot encode a batch");
                vec![vec![0.0; self.dims]; batch.len()]
            });
            for (&i, vector) in chunk.iter().zip(encoded) {
                vectors[i] = vector;
            }
        }
        vectors
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::embedding::{open, MODELS_DIR};

    /// The real model, when fetched: 384 unit-length dimensions, paraphrases closer than unrelated
    /// texts, and a text's vector does not depend on its batch.
    #[test]
    fn paraphrases_are_closer_than_unrelated_texts() {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join(MODELS_DIR);
        let encoder = match open(ONNX_MODEL, Some(&dir)) {
            Ok(encoder) => encoder,
            Err(EmbeddingError::Missing { .. } | EmbeddingError::MissingRuntime { .. })
                if std::env::var_os("CI").is_none() =>
            {
                eprintln!("skipped: no onnx model or runtime (run {FETCH})");
                return;
            }
            Err(err) => panic!("{err}"),
        };
        assert_eq!((encoder.name(), encoder.dims()), (ONNX_MODEL, 384));
        crate::embedding::tests::check_meaning(encoder.as_ref(), 384);
    }

    #[test]
    fn a_missing_model_is_named_with_what_to_run() {
        let dir = tempfile::tempdir().unwrap();
        let err = OnnxEncoder::open(dir.path()).unwrap_err();
        assert!(matches!(err, EmbeddingError::Missing { .. }));
        assert!(err.to_string().ends_with(FETCH), "{err}");
    }

    #[test]
    fn a_missing_runtime_is_named_with_what_to_run() {
        if std::env::var_os("ORT_DYLIB_PATH").is_some() {
            return;
        }
        let dir = tempfile::tempdir().unwrap();
        let model = dir.path().join(ONNX_MODEL);
        std::fs::create_dir(&model).unwrap();
        for file in ["model.onnx", "tokenizer.json"] {
            std::fs::write(model.join(file), "").unwrap();
        }
        let err = OnnxEncoder::open(dir.path()).unwrap_err();
        assert!(matches!(err, EmbeddingError::MissingRuntime { .. }));
        let message = err.to_string();
        assert!(message.contains(&dir.path().join(RUNTIME).display().to_string()));
        assert!(message.contains(FETCH), "{message}");
    }
}
