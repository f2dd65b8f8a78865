//! The analyzer and redaction on arbitrary text: tokens on character boundaries, in order and
//! deterministic; the tantivy view of them in bounds; redaction never panics and only replaces.
#![no_main]

use libfuzzer_sys::fuzz_target;
use tantivy::tokenizer::{TokenStream, Tokenizer};
use tideline::text::tantivy_tokenizer::TidelineTokenizer;
use tideline::text::{self, StemLanguage};

fuzz_target!(|data: &[u8]| {
    let Ok(input) = std::str::from_utf8(data) else {
        return;
    };
    let tokens = text::tokenize(input);
    tideline_fuzz::check_tokens(input, &tokens);
    assert_eq!(tokens, text::tokenize(input), "tokenizing is deterministic");
    for token in &tokens {
        assert!(text::char_offset(input, token.start) <= text::char_offset(input, token.end));
    }
    let terms = text::terms(&tokens, StemLanguage::English);
    let _ = text::ngrams(&terms, 2);
    let _ = text::terms(&tokens, StemLanguage::from_tag("de"));
    let _ = text::normalize(input);

    let mut tokenizer = TidelineTokenizer::default();
    let mut stream = tokenizer.token_stream(input);
    let mut position = None;
    while stream.advance() {
        let token = stream.token();
        assert!(token.offset_from < token.offset_to && token.offset_to <= input.len());
        assert!(
            input.is_char_boundary(token.offset_from) && input.is_char_boundary(token.offset_to)
        );
        assert!(!token.text.is_empty() && token.text.len() <= 40);
        assert!(position.is_none_or(|p| token.position > p));
        position = Some(token.position);
    }

    let redacted = text::pii::redact(input);
    tideline_fuzz::check_redaction(input, &redacted);
});
