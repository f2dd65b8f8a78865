//! Invariants the fuzz targets share: what must hold of tokens, tags and redacted text whatever
//! the input.

use tideline::model::tags::{Evidence, Tags};
use tideline::text::pii::{PiiKind, Redacted};
use tideline::text::Token;

/// Every token's byte span is non-empty, on character boundaries, inside the text, and after the
/// previous token's.
pub fn check_tokens(text: &str, tokens: &[Token]) {
    let mut previous_end = 0;
    for token in tokens {
        assert!(
            token.start < token.end && token.end <= text.len(),
            "span {}..{} outside {text:?}",
            token.start,
            token.end
        );
        assert!(
            text.is_char_boundary(token.start) && text.is_char_boundary(token.end),
            "span {}..{} off a character boundary of {text:?}",
            token.start,
            token.end
        );
        assert!(
            token.start >= previous_end,
            "token {token:?} overlaps the one before in {text:?}"
        );
        previous_end = token.end;
    }
}

/// Every piece of evidence is a character span of the text whose term is exactly that span, and
/// every confidence is in [0, 1].
pub fn check_tags(text: &str, tags: &Tags) {
    let chars: Vec<char> = text.chars().collect();
    let check_evidence = |evidence: &Evidence| {
        let (start, end) = (evidence.start as usize, evidence.end as usize);
        assert!(
            start <= end && end <= chars.len(),
            "evidence {evidence:?} outside {text:?}"
        );
        let span: String = chars[start..end].iter().collect();
        assert_eq!(span, evidence.term, "evidence {evidence:?} of {text:?}");
    };
    let rule_tags = tags
        .journey_stage
        .iter()
        .chain(&tags.driver)
        .chain(&tags.product_areas)
        .chain(&tags.severity);
    for tag in rule_tags {
        assert!(
            (0.0..=1.0).contains(&tag.confidence),
            "confidence of {tag:?} for {text:?}"
        );
        tag.evidence.iter().for_each(check_evidence);
    }
    if let Some(sentiment) = &tags.sentiment {
        assert!(
            sentiment.score.is_finite() && (0.0..=1.0).contains(&sentiment.confidence),
            "sentiment {sentiment:?} of {text:?}"
        );
        sentiment.evidence.iter().for_each(check_evidence);
    }
}

const KINDS: [PiiKind; 5] = [
    PiiKind::Email,
    PiiKind::Phone,
    PiiKind::Card,
    PiiKind::Iban,
    PiiKind::Ip,
];

/// The redacted text is the input with some disjoint, non-empty ranges replaced by placeholders,
/// as many of each kind as `found` says, and everything else kept exactly. Checked for inputs
/// without `[`, where every `[` of the output starts a placeholder.
pub fn check_redaction(text: &str, redacted: &Redacted) {
    if redacted.found.is_empty() {
        assert_eq!(redacted.text, text, "nothing found but the text changed");
        return;
    }
    assert!(
        redacted.found.windows(2).all(|w| w[0].0 < w[1].0)
            && redacted.found.iter().all(|&(_, n)| n > 0),
        "found {:?} is not sorted by kind with counts",
        redacted.found
    );
    if text.contains('[') {
        return;
    }
    // Split the output into literal pieces and placeholders.
    let mut literals = Vec::new();
    let mut counts = [0usize; KINDS.len()];
    let mut rest = redacted.text.as_str();
    loop {
        let Some(open) = rest.find('[') else {
            literals.push(rest);
            break;
        };
        literals.push(&rest[..open]);
        let after = &rest[open..];
        let (i, kind) = KINDS
            .iter()
            .enumerate()
            .find(|(_, k)| after.starts_with(k.placeholder()))
            .unwrap_or_else(|| panic!("a stray '[' in {:?} from {text:?}", redacted.text));
        counts[i] += 1;
        rest = &after[kind.placeholder().len()..];
    }
    let expected: Vec<(PiiKind, usize)> = KINDS
        .iter()
        .zip(counts)
        .filter(|&(_, n)| n > 0)
        .map(|(&k, n)| (k, n))
        .collect();
    assert_eq!(
        expected, redacted.found,
        "{:?} from {text:?}",
        redacted.text
    );
    // The input must read literal, something, literal, ..., something, literal.
    let (first, last) = (literals[0], literals[literals.len() - 1]);
    assert!(
        text.starts_with(first),
        "{:?} does not keep the start of {text:?}",
        redacted.text
    );
    let mut at = first.len();
    for literal in &literals[1..literals.len() - 1] {
        // Each replaced value is at least one character.
        let from = at + text[at..].chars().next().map_or(1, char::len_utf8);
        let found = text
            .get(from..)
            .and_then(|tail| tail.find(literal))
            .unwrap_or_else(|| panic!("{:?} is not a redaction of {text:?}", redacted.text));
        at = from + found + literal.len();
    }
    let from = at + text[at..].chars().next().map_or(1, char::len_utf8);
    assert!(
        from + last.len() <= text.len() && text.ends_with(last),
        "{:?} does not keep the end of {text:?}",
        redacted.text
    );
}
