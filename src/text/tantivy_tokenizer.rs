//! The shared analyzer as a tantivy tokenizer, so the search index analyses text exactly as
//! tagging and themes do: same tokens, English stems. Quantities index as their number and unit.

use tantivy::tokenizer::{Token as TantivyToken, TokenStream, Tokenizer};

use super::{stem, tokenize, StemLanguage, TokenKind};

/// Tokens longer than this (in bytes) are not indexed.
const MAX_TOKEN_BYTES: usize = 40;

/// tantivy's view of [`super::tokenize`] plus English stemming.
#[derive(Clone, Default)]
pub struct TidelineTokenizer {
    tokens: Vec<TantivyToken>,
}

pub struct TidelineTokenStream<'a> {
    tokens: &'a mut [TantivyToken],
    next: usize,
}

impl Tokenizer for TidelineTokenizer {
    type TokenStream<'a> = TidelineTokenStream<'a>;

    fn token_stream<'a>(&'a mut self, text: &'a str) -> TidelineTokenStream<'a> {
        self.tokens.clear();
        let mut push = |text: String, from: usize, to: usize| {
            if !text.is_empty() && text.len() <= MAX_TOKEN_BYTES {
                let position = self.tokens.len();
                self.tokens.push(TantivyToken {
                    offset_from: from,
                    offset_to: to,
                    position,
                    text,
                    position_length: 1,
                });
            }
        };
        for token in tokenize(text) {
            match token.kind {
                TokenKind::Word | TokenKind::Hashtag | TokenKind::Mention => {
                    let stemmed = stem(&token.text, StemLanguage::English).into_owned();
                    push(stemmed, token.start, token.end);
                }
                TokenKind::Quantity => {
                    let split = token
                        .text
                        .find(|c: char| !c.is_ascii_digit() && c != '.' && c != ',')
                        .unwrap_or(token.text.len());
                    let (number, unit) = token.text.split_at(split);
                    push(number.to_string(), token.start, token.end);
                    push(
                        stem(unit.trim(), StemLanguage::English).into_owned(),
                        token.start,
                        token.end,
                    );
                }
                TokenKind::Number | TokenKind::Money => {
                    push(
                        token
                            .text
                            .trim_start_matches(['$', '€', '£', '¥'])
                            .to_string(),
                        token.start,
                        token.end,
                    );
                }
                TokenKind::Emoji => push(token.text, token.start, token.end),
                TokenKind::Emoticon | TokenKind::Url | TokenKind::Punct => {}
            }
        }
        TidelineTokenStream {
            tokens: &mut self.tokens,
            next: 0,
        }
    }
}

impl TokenStream for TidelineTokenStream<'_> {
    fn advance(&mut self) -> bool {
        self.next += 1;
        self.next <= self.tokens.len()
    }

    fn token(&self) -> &TantivyToken {
        &self.tokens[self.next - 1]
    }

    fn token_mut(&mut self) -> &mut TantivyToken {
        &mut self.tokens[self.next - 1]
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    proptest! {
        #[test]
        fn indexed_tokens_are_short_in_order_and_point_into_the_text(
            text in prop_oneof![
                any::<String>(),
                "([a-z]{1,50}|[0-9]{1,3}|[ ,.$€]|hours| |😀|İ|é){0,30}",
            ],
        ) {
            let mut tokenizer = TidelineTokenizer::default();
            let mut stream = tokenizer.token_stream(&text);
            let mut position = 0;
            while stream.advance() {
                let t = stream.token();
                prop_assert!(!t.text.is_empty() && t.text.len() <= MAX_TOKEN_BYTES);
                prop_assert!(t.offset_from < t.offset_to && t.offset_to <= text.len());
                prop_assert!(
                    text.is_char_boundary(t.offset_from) && text.is_char_boundary(t.offset_to)
                );
                prop_assert_eq!(t.position, position);
                position += 1;
            }
        }
    }

    #[test]
    fn indexes_stems_numbers_and_units() {
        let mut tokenizer = TidelineTokenizer::default();
        let mut stream = tokenizer.token_stream("Crashed twice, on hold 2 hours :( #Fail");
        let mut seen = Vec::new();
        while stream.advance() {
            seen.push(stream.token().text.clone());
        }
        assert_eq!(seen, ["crash", "twice", "on", "hold", "2", "hour", "fail"]);
    }
}
