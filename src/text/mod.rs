//! Text analysis shared by tagging, the search index and theme detection: one analyzer, versioned.
//!
//! [`tokenize`] splits a text into tokens that keep what matters for customer feedback: negations
//! ("can't", "doesn't", "not"), numbers with units ("2 hours", "$50"), emoticons and emoji, mentions,
//! hashtags and URLs. Each token carries its byte span in the original text, its normalised form
//! (Unicode NFKC, lowercase, straight apostrophes) and, for words, its stem in the text's language.

pub mod pii;
mod stem;
mod stopwords;
pub mod tantivy_tokenizer;

use std::borrow::Cow;
use std::collections::HashMap;

use unicode_normalization::UnicodeNormalization;

pub use stem::{stem, StemLanguage};
pub use stopwords::is_stopword;

/// The analyzer's version. Indexes and derived data record it and rebuild when it changes.
pub const ANALYZER_VERSION: &str = "tideline-text-v2";

/// What a token is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TokenKind {
    /// Letters (and digits inside them), with internal apostrophes: "crashed", "can't", "ios16".
    Word,
    /// A bare number: "3", "4.5", "50%".
    Number,
    /// A number with a unit of time or count: "2 hours", "3 days", "5 times".
    Quantity,
    /// An amount of money: "$50", "€1,299.99".
    Money,
    /// A text emoticon: ":)", ":-(", "<3".
    Emoticon,
    /// A pictographic emoji.
    Emoji,
    /// "@name"; its text is the name without "@".
    Mention,
    /// "#tag"; its text is the tag without "#".
    Hashtag,
    Url,
    /// One of `. , ! ? ; :` — clause boundaries for negation and contrast.
    Punct,
}

/// One token of a text.
#[derive(Debug, Clone, PartialEq)]
pub struct Token {
    pub kind: TokenKind,
    /// Normalised form: NFKC, lowercase, straight apostrophes. For quantities "2 hours".
    pub text: String,
    /// Byte span in the original text.
    pub start: usize,
    pub end: usize,
    /// Written in capitals in the original (emphasis), for words of two letters or more.
    pub shouted: bool,
}

impl Token {
    /// A negation: "not", "no", "never", "can't", "doesn't", ...
    pub fn is_negation(&self) -> bool {
        self.kind == TokenKind::Word && is_negation_word(&self.text)
    }

    pub fn is_word(&self) -> bool {
        self.kind == TokenKind::Word
    }
}

/// Negation words (contractions ending in "n't" are negations too).
pub fn is_negation_word(word: &str) -> bool {
    matches!(
        word,
        "not"
            | "no"
            | "never"
            | "none"
            | "nobody"
            | "nothing"
            | "neither"
            | "nor"
            | "nowhere"
            | "cannot"
            | "cant"
            | "dont"
            | "doesnt"
            | "didnt"
            | "isnt"
            | "wasnt"
            | "arent"
            | "werent"
            | "wont"
            | "wouldnt"
            | "shouldnt"
            | "couldnt"
            | "havent"
            | "hasnt"
            | "hadnt"
            | "aint"
            | "without"
            | "nope"
            | "nah"
    ) || word.ends_with("n't")
}

/// Units that turn a number into a [`TokenKind::Quantity`].
fn is_unit(word: &str) -> bool {
    matches!(
        word,
        "second"
            | "seconds"
            | "sec"
            | "secs"
            | "minute"
            | "minutes"
            | "min"
            | "mins"
            | "hour"
            | "hours"
            | "hr"
            | "hrs"
            | "h"
            | "day"
            | "days"
            | "week"
            | "weeks"
            | "wk"
            | "wks"
            | "month"
            | "months"
            | "year"
            | "years"
            | "yr"
            | "yrs"
            | "time"
            | "times"
            | "calls"
            | "emails"
            | "tickets"
            | "attempts"
            | "tries"
    )
}

/// Emoticons, longest first so ":-)" wins over ":-".
const EMOTICONS: &[&str] = &[
    ":'-(", ":'-)", ">:-(", ":-))", ":'(", ":')", ">:(", ":-)", ":-(", ":-D", ":-P", ":-p", ":-/",
    ":-|", ":-O", ":-o", ";-)", "</3", ":)", ":(", ":D", ":P", ":p", ":/", ":|", ":O", ":o", ";)",
    "=)", "=(", "=D", "<3", "xD", "XD", ":]", ":[", "^^", "^_^", "-_-", "T_T", ":3",
];

fn is_emoji(c: char) -> bool {
    matches!(c as u32,
        0x1F300..=0x1F5FF | 0x1F600..=0x1F64F | 0x1F680..=0x1F6FF | 0x1F900..=0x1F9FF
        | 0x1FA70..=0x1FAFF | 0x2600..=0x26FF | 0x2700..=0x27BF | 0x1F1E6..=0x1F1FF)
}

/// Joiners and modifiers that belong to the emoji before them.
fn is_emoji_modifier(c: char) -> bool {
    matches!(
        c as u32,
        0xFE0F | 0xFE0E | 0x200D | 0x1F3FB..=0x1F3FF | 0x20E3
    )
}

fn is_word_char(c: char) -> bool {
    c.is_alphanumeric() || c == '_'
}

fn is_apostrophe(c: char) -> bool {
    matches!(c, '\'' | '\u{2019}' | '\u{2018}' | '`')
}

/// Lowercase, NFKC and straight apostrophes, without allocating twice for ASCII.
pub fn normalize(text: &str) -> String {
    if text.is_ascii() {
        let mut s = text.to_ascii_lowercase();
        if s.contains('`') {
            s = s.replace('`', "'");
        }
        s
    } else {
        text.nfkc()
            .flat_map(char::to_lowercase)
            .map(|c| if is_apostrophe(c) { '\'' } else { c })
            .collect()
    }
}

/// Splits `text` into tokens. Spans refer to `text` itself.
pub fn tokenize(text: &str) -> Vec<Token> {
    let mut tokens = Vec::with_capacity(text.len() / 5 + 1);
    let bytes = text.as_bytes();
    let mut chars = text.char_indices().peekable();
    while let Some(&(start, c)) = chars.peek() {
        let rest = &text[start..];
        // HTML entities left by exports ("&amp;", "&#39;") are not words.
        if c == '&' {
            if let Some(len) = html_entity_len(rest) {
                advance_to(&mut chars, start + len);
                continue;
            }
        }
        // URLs.
        if rest.starts_with("http://") || rest.starts_with("https://") || rest.starts_with("www.") {
            let end = rest
                .find(char::is_whitespace)
                .map_or(text.len(), |n| start + n);
            tokens.push(token(TokenKind::Url, &text[start..end], start, end));
            advance_to(&mut chars, end);
            continue;
        }
        // Emoticons, only at a token boundary.
        let at_boundary =
            start == 0 || !is_word_char(text[..start].chars().next_back().unwrap_or(' '));
        if at_boundary && (c.is_ascii_punctuation() || c == 'x' || c == 'X' || c == 'T') {
            if let Some(emoticon) = EMOTICONS.iter().find(|e| {
                rest.starts_with(**e)
                    && !rest[e.len()..]
                        .chars()
                        .next()
                        .is_some_and(|n| is_word_char(n) && e.ends_with(char::is_alphabetic))
            }) {
                let end = start + emoticon.len();
                tokens.push(Token {
                    kind: TokenKind::Emoticon,
                    text: emoticon.to_string(),
                    start,
                    end,
                    shouted: false,
                });
                advance_to(&mut chars, end);
                continue;
            }
        }
        if is_emoji(c) {
            let mut end = start + c.len_utf8();
            chars.next();
            while let Some(&(i, m)) = chars.peek() {
                if is_emoji_modifier(m) {
                    end = i + m.len_utf8();
                    chars.next();
                } else {
                    break;
                }
            }
            tokens.push(token(
                TokenKind::Emoji,
                &text[start..start + c.len_utf8()],
                start,
                end,
            ));
            continue;
        }
        if (c == '@' || c == '#') && rest[1..].starts_with(is_word_char) {
            let end = scan_word(text, start + 1);
            let kind = if c == '@' {
                TokenKind::Mention
            } else {
                TokenKind::Hashtag
            };
            tokens.push(token(kind, &text[start + 1..end], start, end));
            advance_to(&mut chars, end);
            continue;
        }
        if matches!(c, '$' | '€' | '£' | '¥')
            && rest[c.len_utf8()..].starts_with(|d: char| d.is_ascii_digit())
        {
            let end = scan_number(bytes, start + c.len_utf8());
            tokens.push(token(TokenKind::Money, &text[start..end], start, end));
            advance_to(&mut chars, end);
            continue;
        }
        if c.is_ascii_digit() {
            let number_end = scan_number(bytes, start);
            let word_end = scan_word(text, start);
            if word_end > number_end {
                // Digits running into letters: "2hrs", "3rd", "ios16" style.
                let suffix = &text[number_end..word_end];
                let kind = if is_unit(&suffix.to_ascii_lowercase()) {
                    TokenKind::Quantity
                } else {
                    TokenKind::Word
                };
                tokens.push(token(kind, &text[start..word_end], start, word_end));
                advance_to(&mut chars, word_end);
                continue;
            }
            let mut end = number_end;
            let mut kind = TokenKind::Number;
            if text[end..].starts_with('%') {
                end += 1;
            } else if text[end..].starts_with(' ') {
                let unit_end = scan_word(text, end + 1);
                if unit_end > end + 1 && is_unit(&text[end + 1..unit_end].to_ascii_lowercase()) {
                    end = unit_end;
                    kind = TokenKind::Quantity;
                }
            }
            tokens.push(token(kind, &text[start..end], start, end));
            advance_to(&mut chars, end);
            continue;
        }
        if is_word_char(c) {
            let end = scan_word(text, start);
            tokens.push(token(TokenKind::Word, &text[start..end], start, end));
            advance_to(&mut chars, end);
            continue;
        }
        if matches!(c, '.' | ',' | '!' | '?' | ';' | ':') {
            tokens.push(token(
                TokenKind::Punct,
                &text[start..start + 1],
                start,
                start + 1,
            ));
        }
        chars.next();
    }
    tokens
}

/// Length of an HTML entity at the start of `text` ("&amp;", "&#39;", "&#x27;"), if there is one.
fn html_entity_len(text: &str) -> Option<usize> {
    let body = text.strip_prefix('&')?;
    let end = body.find(';')?;
    let name = &body[..end];
    let valid = (1..=8).contains(&name.len())
        && (name.bytes().all(|b| b.is_ascii_alphabetic())
            || name.strip_prefix('#').is_some_and(|n| {
                !n.is_empty()
                    && n.trim_start_matches(['x', 'X'])
                        .bytes()
                        .all(|b| b.is_ascii_hexdigit())
            }));
    valid.then_some(end + 2)
}

fn token(kind: TokenKind, raw: &str, start: usize, end: usize) -> Token {
    let shouted = kind == TokenKind::Word
        && raw.chars().filter(|c| c.is_alphabetic()).count() >= 2
        && raw.chars().all(|c| !c.is_lowercase());
    Token {
        kind,
        text: normalize(raw),
        start,
        end,
        shouted,
    }
}

fn advance_to(chars: &mut std::iter::Peekable<std::str::CharIndices<'_>>, end: usize) {
    while chars.peek().is_some_and(|&(i, _)| i < end) {
        chars.next();
    }
}

/// End of a word starting at `start`: word characters, with single internal apostrophes.
fn scan_word(text: &str, start: usize) -> usize {
    let mut end = start;
    let mut iter = text[start..].char_indices().peekable();
    while let Some((i, c)) = iter.next() {
        if is_word_char(c) {
            end = start + i + c.len_utf8();
        } else if is_apostrophe(c)
            && end == start + i
            && iter.peek().is_some_and(|&(_, n)| n.is_alphabetic())
        {
            continue;
        } else {
            break;
        }
    }
    end
}

/// End of a number starting at `start`: digits with internal `,` or `.` groups.
fn scan_number(bytes: &[u8], start: usize) -> usize {
    let mut end = start;
    while end < bytes.len() {
        let b = bytes[end];
        let separator =
            (b == b',' || b == b'.') && bytes.get(end + 1).is_some_and(u8::is_ascii_digit);
        if b.is_ascii_digit() || separator {
            end += 1;
        } else {
            break;
        }
    }
    end
}

/// A word token's normalised text without its apostrophes ("can't" → "cant"), for lexicon lookups.
pub fn squash_apostrophes(word: &str) -> Cow<'_, str> {
    if word.contains('\'') {
        Cow::Owned(word.replace('\'', ""))
    } else {
        Cow::Borrowed(word)
    }
}

/// Stemmed content terms of a text: words and hashtags, stopwords removed, stemmed in `language`.
pub fn terms(tokens: &[Token], language: StemLanguage) -> Vec<String> {
    stemmed_words(tokens, language).map(|(s, _)| s).collect()
}

/// The content words of a text with their stems, in order: words and hashtags, stopwords
/// removed, each as `(stem in language, normalised word as written)`.
pub fn stemmed_words(
    tokens: &[Token],
    language: StemLanguage,
) -> impl Iterator<Item = (String, &str)> + '_ {
    tokens
        .iter()
        .filter(|t| matches!(t.kind, TokenKind::Word | TokenKind::Hashtag))
        .filter(|t| !is_stopword(&t.text))
        .map(move |t| (stem(&t.text, language).into_owned(), t.text.as_str()))
}

/// The most frequent surface word of each stem among `occurrences` of `(stem, surface word)`;
/// a tie goes to the alphabetically first word. What a stem is shown as.
pub fn surface_forms<'a>(
    occurrences: impl IntoIterator<Item = (&'a str, &'a str)>,
) -> HashMap<String, String> {
    let mut counts: HashMap<(&str, &str), usize> = HashMap::new();
    for pair in occurrences {
        *counts.entry(pair).or_default() += 1;
    }
    let mut best: HashMap<&str, (&str, usize)> = HashMap::new();
    for ((stem, surface), count) in counts {
        let entry = best.entry(stem).or_insert((surface, 0));
        if count > entry.1 || (count == entry.1 && surface < entry.0) {
            *entry = (surface, count);
        }
    }
    best.into_iter()
        .map(|(stem, (surface, _))| (stem.to_string(), surface.to_string()))
        .collect()
}

/// A stemmed phrase ("stem" or "stem stem") as written, word by word (see [`surface_forms`]); a
/// stem never seen written stays as it is.
pub fn surface_phrase(phrase: &str, surfaces: &HashMap<String, String>) -> String {
    phrase
        .split(' ')
        .map(|stem| surfaces.get(stem).map_or(stem, String::as_str))
        .collect::<Vec<_>>()
        .join(" ")
}

/// Contiguous n-grams of `terms`, joined by a space.
pub fn ngrams(terms: &[String], n: usize) -> Vec<String> {
    if n == 0 || terms.len() < n {
        return Vec::new();
    }
    terms.windows(n).map(|w| w.join(" ")).collect()
}

/// Character (not byte) offset of byte offset `byte` in `text`: the number of characters that
/// start before it (a `byte` inside a character counts that character; past the end, all).
pub fn char_offset(text: &str, byte: usize) -> usize {
    let mut byte = byte.min(text.len());
    while !text.is_char_boundary(byte) {
        byte += 1;
    }
    text[..byte].chars().count()
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    /// Text like feedback, dense in what the tokenizer treats specially: apostrophes, numbers
    /// with separators and units, currency, emoticons, emoji with modifiers, mentions, hashtags,
    /// URLs, HTML entities, combining marks and characters whose case mapping changes length.
    const FEEDBACK: &str = "([a-zA-Z]{1,6}|[0-9]{1,4}|[ '’`.,!?;:@#$€£¥%&/()<>^_=xXTD-]|\
        hours|min|https://|www\\.|&amp;|&#39;|:-\\)|<3|😀|👍🏽|\u{FE0F}|\u{200D}|\
        é|e\u{301}|İ|\u{212A}|ß|ﬁ|\u{3000}|\n){0,40}";

    /// Checks what every tokenization must satisfy.
    fn assert_token_invariants(text: &str) -> Result<(), TestCaseError> {
        let tokens = tokenize(text);
        let mut previous_end = 0;
        for t in &tokens {
            prop_assert!(
                t.start < t.end && t.end <= text.len(),
                "{t:?} outside {text:?}"
            );
            prop_assert!(
                text.is_char_boundary(t.start) && text.is_char_boundary(t.end),
                "{t:?} off a character boundary of {text:?}"
            );
            prop_assert!(t.start >= previous_end, "{t:?} overlaps the token before");
            previous_end = t.end;
            let raw = &text[t.start..t.end];
            match t.kind {
                TokenKind::Mention | TokenKind::Hashtag => {
                    prop_assert_eq!(&t.text, &normalize(&raw[1..]))
                }
                TokenKind::Emoji => prop_assert!(raw.starts_with(t.text.as_str())),
                TokenKind::Emoticon => prop_assert_eq!(&t.text, raw),
                _ => prop_assert_eq!(&t.text, &normalize(raw)),
            }
            prop_assert!(char_offset(text, t.start) < char_offset(text, t.end));
        }
        prop_assert_eq!(&tokens, &tokenize(text), "tokenizing is deterministic");
        let terms = terms(&tokens, StemLanguage::English);
        let _ = ngrams(&terms, 2);
        Ok(())
    }

    proptest! {
        #[test]
        fn tokens_of_arbitrary_unicode_keep_their_invariants(text in any::<String>()) {
            assert_token_invariants(&text)?;
        }

        #[test]
        fn tokens_of_feedback_like_text_keep_their_invariants(text in FEEDBACK) {
            assert_token_invariants(&text)?;
        }

        #[test]
        fn char_offsets_count_characters(
            text in any::<String>(),
            at in any::<prop::sample::Index>(),
        ) {
            let boundaries: Vec<usize> =
                text.char_indices().map(|(i, _)| i).chain([text.len()]).collect();
            let i = at.index(boundaries.len());
            prop_assert_eq!(char_offset(&text, boundaries[i]), i);
            prop_assert_eq!(char_offset(&text, usize::MAX), boundaries.len() - 1);
            // Inside a character: that character counts, and nothing panics.
            if i + 1 < boundaries.len() && boundaries[i + 1] - boundaries[i] > 1 {
                prop_assert_eq!(char_offset(&text, boundaries[i] + 1), i + 1);
            }
        }
    }

    fn kinds_and_texts(text: &str) -> Vec<(TokenKind, String)> {
        tokenize(text)
            .into_iter()
            .map(|t| (t.kind, t.text))
            .collect()
    }

    fn texts(text: &str) -> Vec<String> {
        tokenize(text).into_iter().map(|t| t.text).collect()
    }

    #[test]
    fn words_are_lowercased_and_keep_negations_whole() {
        assert_eq!(
            texts("I CAN'T log in, it doesn’t work"),
            ["i", "can't", "log", "in", ",", "it", "doesn't", "work"]
        );
        let tokens = tokenize("I can't and I won't, not today");
        let negations: Vec<_> = tokens
            .iter()
            .filter(|t| t.is_negation())
            .map(|t| t.text.as_str())
            .collect();
        assert_eq!(negations, ["can't", "won't", "not"]);
        assert!(tokenize("NEVER again")[0].shouted);
        assert!(!tokenize("I am fine")[0].shouted);
    }

    #[test]
    fn numbers_with_units_money_and_percentages() {
        use TokenKind::*;
        assert_eq!(
            kinds_and_texts("on hold for 2 hours, charged $1,299.99 and 50% more 3 times"),
            vec![
                (Word, "on".into()),
                (Word, "hold".into()),
                (Word, "for".into()),
                (Quantity, "2 hours".into()),
                (Punct, ",".into()),
                (Word, "charged".into()),
                (Money, "$1,299.99".into()),
                (Word, "and".into()),
                (Number, "50%".into()),
                (Word, "more".into()),
                (Quantity, "3 times".into()),
            ]
        );
        assert_eq!(
            kinds_and_texts("waited 45min")[1],
            (Quantity, "45min".into())
        );
        assert_eq!(
            kinds_and_texts("flight 1234 at 5")[1],
            (Number, "1234".into())
        );
    }

    #[test]
    fn emoticons_emoji_mentions_hashtags_and_urls() {
        use TokenKind::*;
        assert_eq!(
            kinds_and_texts("@Acme love it :) 😍 #fail see https://x.co/a?b=1 :-("),
            vec![
                (Mention, "acme".into()),
                (Word, "love".into()),
                (Word, "it".into()),
                (Emoticon, ":)".into()),
                (Emoji, "😍".into()),
                (Hashtag, "fail".into()),
                (Word, "see".into()),
                (Url, "https://x.co/a?b=1".into()),
                (Emoticon, ":-(".into()),
            ]
        );
        // A colon inside a time is not an emoticon; "xD" inside a word is not one either.
        assert!(tokenize("at 10:30 boxDrop")
            .iter()
            .all(|t| t.kind != Emoticon));
        assert_eq!(tokenize("👍🏽 ok")[0].kind, Emoji);
        assert_eq!(
            texts("fees &amp; taxes &#39;ok&#39;"),
            ["fees", "taxes", "ok"]
        );
    }

    #[test]
    fn spans_point_into_the_original_text() {
        let text = "Ünïcode café – can’t pay €50";
        for t in tokenize(text) {
            assert!(text.is_char_boundary(t.start) && text.is_char_boundary(t.end));
            assert!(!text[t.start..t.end].is_empty());
        }
        let cafe = tokenize(text)
            .into_iter()
            .find(|t| t.text == "café")
            .unwrap();
        assert_eq!(&text[cafe.start..cafe.end], "café");
        assert_eq!(char_offset(text, cafe.start), 8);
    }

    #[test]
    fn nfkc_normalisation() {
        assert_eq!(normalize("ﬁle Ｆｕｌｌ"), "file full");
    }

    #[test]
    fn terms_drop_stopwords_and_stem_by_language() {
        let tokens = tokenize("The app crashes when I am exporting reports");
        assert_eq!(
            terms(&tokens, StemLanguage::English),
            ["app", "crash", "export", "report"]
        );
        let tokens = tokenize("aplicaciones fallan");
        assert_eq!(
            terms(&tokens, StemLanguage::from_tag("es-MX")),
            ["aplic", "fall"]
        );
        assert_eq!(
            ngrams(
                &terms(&tokenize("lost luggage claim"), StemLanguage::English),
                2
            ),
            ["lost luggag", "luggag claim"]
        );
    }
}
