//! Token ids of whitespace-separated chunks, each chunk tokenized once.
//!
//! A BERT word-piece tokenizer (what model2vec models ship) cleans each character on its own,
//! splits at whitespace, then splits each piece at punctuation and into word pieces: no token
//! crosses whitespace. So a text's token ids are its chunks' token ids in order, and a chunk seen
//! before need not be tokenized again. Customers repeat their words: on 100,000 airline tweets
//! the distinct chunks are a small fraction of all chunks.

use std::collections::HashMap;

use parking_lot::RwLock;

/// Distinct chunks remembered at most; past it the memory starts over (about 20 MB at most).
const CHUNKS_KEPT: usize = 200_000;

/// A tokenizer with a memory of the chunks it has tokenized.
pub struct ChunkTokens {
    tokenizer: tokenizers::Tokenizer,
    /// Left out of every text's tokens, as model2vec does.
    unknown: Option<u32>,
    known: RwLock<HashMap<Box<str>, Box<[u32]>>>,
}

impl ChunkTokens {
    pub fn new(tokenizer: tokenizers::Tokenizer, unknown: Option<u32>) -> ChunkTokens {
        ChunkTokens {
            tokenizer,
            unknown,
            known: RwLock::new(HashMap::new()),
        }
    }

    /// Appends `text`'s token ids (unknown tokens left out) to `out`, at most `max` of them.
    pub fn ids(&self, text: &str, max: usize, out: &mut Vec<u32>) {
        for chunk in text.split(splits_tokens).filter(|c| !c.is_empty()) {
            if out.len() >= max {
                break;
            }
            let room = max - out.len();
            if let Some(ids) = self.known.read().get(chunk) {
                out.extend(ids.iter().take(room));
                continue;
            }
            let ids = self.tokenize(chunk);
            out.extend(ids.iter().take(room));
            let mut known = self.known.write();
            if known.len() >= CHUNKS_KEPT {
                known.clear();
            }
            known.insert(chunk.into(), ids);
        }
    }

    fn tokenize(&self, chunk: &str) -> Box<[u32]> {
        match self.tokenizer.encode_fast(chunk, false) {
            Ok(encoding) => encoding
                .get_ids()
                .iter()
                .copied()
                .filter(|&id| Some(id) != self.unknown)
                .collect(),
            // A chunk the tokenizer refuses adds nothing to the text's meaning.
            Err(_) => Box::new([]),
        }
    }
}

/// Whether a character separates tokens the way the BERT normaliser and pre-tokenizer do:
/// whitespace, except the control characters among it (vertical tab, form feed, next line),
/// which the normaliser deletes instead.
fn splits_tokens(c: char) -> bool {
    c.is_whitespace() && !matches!(c, '\u{0B}' | '\u{0C}' | '\u{85}')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_whitespace_that_the_normaliser_keeps_splits() {
        assert!(splits_tokens(' ') && splits_tokens('\n') && splits_tokens('\u{3000}'));
        assert!(!splits_tokens('\u{85}') && !splits_tokens('a') && !splits_tokens('.'));
    }
}
