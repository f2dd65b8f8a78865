//! PII redaction, applied to every verbatim text before anything is stored or indexed.
//!
//! [`redact`] replaces email addresses, phone numbers, payment card numbers, IBANs and IP
//! addresses with fixed placeholders (`[EMAIL]`, `[PHONE]`, `[CARD]`, `[IBAN]`, `[IP]`) and keeps
//! every other character exactly as it was, Unicode and whitespace included.
//!
//! Detection is the project's own scanning, no regular expressions; IP address candidates are
//! validated by `std::net`'s parsers. A cheap pre-check first returns texts that cannot hold any
//! of these kinds: no `@`, no `.` between digits, no `:` between hex digits or colons, and fewer
//! than seven digits.
//!
//! Detectors run in a fixed priority order: email, IBAN, card, IPv6, IPv4, phone. Each one only
//! looks at text no earlier detector claimed, so every character is redacted at most once, a card
//! number is labelled `[CARD]` and never `[PHONE]`, and digits inside an email address stay part
//! of the email.
//!
//! The rules lean towards privacy where a value is ambiguous (a lone ten-digit number is taken as
//! a phone number) but keep what feedback commonly contains intact: prices, quantities, years,
//! dates, times, percentages, version numbers, and order or ticket numbers of up to nine digits.
//!
//! This module holds the public API, the pre-check and the plumbing every detector shares: the
//! claimed spans, the gaps between them a later detector may scan, and the rendering. Each
//! detector lives in its own file (`email.rs`, `iban.rs`, `card.rs`, `ip.rs`, `phone.rs`), with
//! the byte helpers they share in `scan.rs`.

mod card;
mod email;
mod iban;
mod ip;
mod phone;
mod scan;

use std::ops::Range;

use scan::{at, before, is_digit_at, is_hex_or_colon};

/// Kinds of personal data that are redacted, each replaced by its placeholder.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum PiiKind {
    /// An email address such as `jane.doe+news@example.co.uk`.
    Email,
    /// A phone number, international (`+44 20 7946 0958`) or national (`(555) 123-4567`).
    Phone,
    /// A payment card number of 13 to 19 digits that passes the Luhn check.
    Card,
    /// An IBAN that passes the ISO 7064 mod-97 check.
    Iban,
    /// An IPv4 or IPv6 address.
    Ip,
}

/// Every kind, in `Ord` order; a kind's index here is its discriminant.
const KINDS: [PiiKind; 5] = [
    PiiKind::Email,
    PiiKind::Phone,
    PiiKind::Card,
    PiiKind::Iban,
    PiiKind::Ip,
];

impl PiiKind {
    /// The text that replaces a redacted value of this kind: `[EMAIL]`, `[PHONE]`, `[CARD]`,
    /// `[IBAN]` or `[IP]`.
    pub fn placeholder(self) -> &'static str {
        match self {
            PiiKind::Email => "[EMAIL]",
            PiiKind::Phone => "[PHONE]",
            PiiKind::Card => "[CARD]",
            PiiKind::Iban => "[IBAN]",
            PiiKind::Ip => "[IP]",
        }
    }

    /// A stable lowercase name for this kind: `email`, `phone`, `card`, `iban` or `ip`.
    pub fn as_str(self) -> &'static str {
        match self {
            PiiKind::Email => "email",
            PiiKind::Phone => "phone",
            PiiKind::Card => "card",
            PiiKind::Iban => "iban",
            PiiKind::Ip => "ip",
        }
    }
}

/// The redacted text and what was found (kind and count, sorted by kind).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Redacted {
    /// The input with every detected value replaced by its kind's placeholder and everything
    /// else unchanged.
    pub text: String,
    /// Each kind found at least once with how many values of it were replaced, sorted by kind;
    /// empty when nothing was redacted (and then `text` equals the input).
    pub found: Vec<(PiiKind, usize)>,
}

/// Replaces every email, phone number, payment card number (Luhn-checked), IBAN (mod-97
/// checked) and IP address (v4 and v6) with its placeholder.
///
/// Characters outside the redacted values are kept exactly, and no character is part of more
/// than one redacted value. Never panics, whatever the input.
pub fn redact(text: &str) -> Redacted {
    let profile = Profile::of(text.as_bytes());
    if !profile.may_contain_pii() {
        return Redacted {
            text: text.to_owned(),
            found: Vec::new(),
        };
    }
    let mut spans = Vec::new();
    if profile.at_sign {
        detect(text, &mut spans, PiiKind::Email, email::find);
    }
    if profile.digits >= iban::MIN_DIGITS {
        detect(text, &mut spans, PiiKind::Iban, iban::find);
    }
    if profile.digits >= card::MIN_DIGITS {
        detect(text, &mut spans, PiiKind::Card, card::find);
    }
    if profile.hex_colon {
        detect(text, &mut spans, PiiKind::Ip, ip::find_v6);
    }
    if profile.dotted_digits {
        detect(text, &mut spans, PiiKind::Ip, ip::find_v4);
    }
    if profile.digits >= phone::MIN_DIGITS {
        detect(text, &mut spans, PiiKind::Phone, phone::find);
    }
    render(text, &spans)
}

/// What one cheap pass over a text tells about which kinds it could hold.
#[derive(Debug, Default, Clone, Copy)]
struct Profile {
    /// Has an `@` (emails).
    at_sign: bool,
    /// How many ASCII digits it has (phones need 7, cards 13, IBANs 7).
    digits: usize,
    /// Has a `.` between two digits (IPv4 addresses).
    dotted_digits: bool,
    /// Has a `:` between hex digits or colons (IPv6 addresses).
    hex_colon: bool,
}

impl Profile {
    fn of(b: &[u8]) -> Profile {
        let mut profile = Profile::default();
        for (i, &c) in b.iter().enumerate() {
            match c {
                b'0'..=b'9' => profile.digits += 1,
                b'@' => profile.at_sign = true,
                b'.' => {
                    profile.dotted_digits |=
                        before(b, i).is_some_and(|p| p.is_ascii_digit()) && is_digit_at(b, i + 1);
                }
                b':' => {
                    profile.hex_colon |= before(b, i).is_some_and(is_hex_or_colon)
                        && at(b, i + 1).is_some_and(is_hex_or_colon);
                }
                _ => {}
            }
        }
        profile
    }

    /// False only when no kind can match: no `@`, no `.` between digits, no `:` between hex
    /// digits or colons, and fewer than seven digits.
    fn may_contain_pii(&self) -> bool {
        self.at_sign || self.dotted_digits || self.hex_colon || self.digits >= phone::MIN_DIGITS
    }
}

/// A claimed byte range of the input: a value of `kind` to redact, or with no kind, text kept
/// verbatim and claimed only so later detectors leave it whole (an IBAN-shaped code whose
/// checksum fails must not have its digits taken for a phone number).
#[derive(Debug, Clone)]
struct Span {
    range: Range<usize>,
    kind: Option<PiiKind>,
}

/// What a detector found: a value to redact, or text to keep and shield from later detectors.
#[derive(Debug, Clone)]
struct Hit {
    range: Range<usize>,
    redact: bool,
}

impl Hit {
    fn value(range: Range<usize>) -> Hit {
        Hit {
            range,
            redact: true,
        }
    }

    fn keep(range: Range<usize>) -> Hit {
        Hit {
            range,
            redact: false,
        }
    }
}

/// A detector: given the text up to the end of a free gap and the gap's start, it appends what
/// it finds inside the gap, in order and without overlaps. It may look at bytes before the gap
/// to judge a boundary.
type Finder = fn(&str, usize, &mut Vec<Hit>);

/// Runs `find` over every gap between the spans found so far and adds what it finds as `kind`.
/// Keeps `spans` sorted and free of overlaps.
fn detect(text: &str, spans: &mut Vec<Span>, kind: PiiKind, find: Finder) {
    let mut found = Vec::new();
    let mut from = 0;
    for i in 0..=spans.len() {
        let (gap_end, next_from) = match spans.get(i) {
            Some(span) => (span.range.start, span.range.end),
            None => (text.len(), text.len()),
        };
        if from < gap_end {
            if let Some(gap) = text.get(..gap_end) {
                let first_new = found.len();
                find(gap, from, &mut found);
                // Defensive: a range outside its gap or off a character boundary is dropped
                // rather than risking a panic or a double redaction when rendering.
                let mut last_end = from;
                let mut k = first_new;
                while k < found.len() {
                    let r = &found[k].range;
                    let ok = r.start >= last_end
                        && r.start < r.end
                        && r.end <= gap_end
                        && text.is_char_boundary(r.start)
                        && text.is_char_boundary(r.end);
                    debug_assert!(
                        ok,
                        "detector returned a bad range {r:?} in gap {from}..{gap_end}"
                    );
                    if ok {
                        last_end = r.end;
                        k += 1;
                    } else {
                        found.remove(k);
                    }
                }
            }
        }
        from = next_from;
    }
    if found.is_empty() {
        return;
    }
    spans.extend(found.into_iter().map(|hit| Span {
        range: hit.range,
        kind: hit.redact.then_some(kind),
    }));
    spans.sort_unstable_by_key(|span| span.range.start);
}

/// Builds the redacted text from sorted, non-overlapping spans on character boundaries.
fn render(text: &str, spans: &[Span]) -> Redacted {
    let mut out = String::with_capacity(text.len());
    let mut counts = [0usize; KINDS.len()];
    let mut at = 0;
    for span in spans {
        let Some(kind) = span.kind else {
            continue;
        };
        // `detect` only admits ranges on character boundaries that do not overlap.
        out.push_str(&text[at..span.range.start]);
        out.push_str(kind.placeholder());
        counts[kind as usize] += 1;
        at = span.range.end;
    }
    out.push_str(&text[at..]);
    let found = KINDS
        .iter()
        .zip(counts)
        .filter(|&(_, count)| count > 0)
        .map(|(&kind, count)| (kind, count))
        .collect();
    Redacted { text: out, found }
}

#[cfg(test)]
mod tests {
    use super::*;

    // `r`, `assert_whole` and `assert_untouched` are shared with the detectors' tests.

    pub(super) fn r(text: &str) -> String {
        redact(text).text
    }

    /// Asserts each example is redacted whole, as the only value, of `kind`.
    pub(super) fn assert_whole(kind: PiiKind, examples: &[&str]) {
        for example in examples {
            let got = redact(example);
            assert_eq!(got.text, kind.placeholder(), "{example:?}");
            assert_eq!(got.found, vec![(kind, 1)], "{example:?}");
            let framed = format!("see {example}, thanks");
            assert_eq!(
                r(&framed),
                format!("see {}, thanks", kind.placeholder()),
                "{framed:?}"
            );
        }
    }

    pub(super) fn assert_untouched(examples: &[&str]) {
        for example in examples {
            let got = redact(example);
            assert_eq!(got.text, *example, "{example:?} should survive");
            assert!(got.found.is_empty(), "{example:?} found {:?}", got.found);
        }
    }

    #[test]
    fn placeholders_and_names() {
        let table: Vec<_> = KINDS
            .iter()
            .map(|k| (k.placeholder(), k.as_str()))
            .collect();
        assert_eq!(
            table,
            [
                ("[EMAIL]", "email"),
                ("[PHONE]", "phone"),
                ("[CARD]", "card"),
                ("[IBAN]", "iban"),
                ("[IP]", "ip"),
            ]
        );
        assert!(KINDS.windows(2).all(|w| w[0] < w[1]));
        for (i, kind) in KINDS.iter().enumerate() {
            assert_eq!(*kind as usize, i);
        }
    }

    #[test]
    fn everyday_numbers_survive() {
        assert_untouched(&[
            "$50",
            "$1,299.99",
            "€1.299,99",
            "2 hours",
            "order 12345",
            "flight 1234",
            "2015",
            "2/24/2015",
            "2015-02-24",
            "24.02.2015",
            "11:35",
            "50%",
            "12.5%",
            "v2.3.1",
            "version 10.12.13",
            "ticket 123456",
            "order #654321",
            "order #1234567890",
            "Bestellnummer 2024-123456 vom 01.02.2024",
            "ref 1234567",
            "from 2015-2016",
            "in 1999 2005 2015",
            "rated 10 20 30 40 50",
            "$1,234,567.89",
            "1234567.89",
            "12:00:00",
            "I waited 2 hours for flight 1234 on 2/24/2015 at 11:35, 50% late, $1,299.99",
            "3 of 4 bags, 100-200 people, 1 000 000 users, 120 000 000 views",
        ]);
    }

    #[test]
    fn mixed_text_counts_each_kind() {
        let text = "Contact jane@example.com or bob@example.org, call +44 20 7946 0958 or \
                    (555) 123-4567. Card 4111 1111 1111 1111, IBAN GB82 WEST 1234 5698 7654 32, \
                    from 192.168.0.1 and 2001:db8::1. Order 12345 on 2015-02-24 at 11:35 for $1,299.99.";
        let got = redact(text);
        assert_eq!(
            got.text,
            "Contact [EMAIL] or [EMAIL], call [PHONE] or \
             [PHONE]. Card [CARD], IBAN [IBAN], \
             from [IP] and [IP]. Order 12345 on 2015-02-24 at 11:35 for $1,299.99."
        );
        assert_eq!(
            got.found,
            vec![
                (PiiKind::Email, 2),
                (PiiKind::Phone, 2),
                (PiiKind::Card, 1),
                (PiiKind::Iban, 1),
                (PiiKind::Ip, 2),
            ]
        );
    }

    #[test]
    fn adjacent_values_are_each_redacted_once() {
        let got = redact("5551234567 4111111111111111");
        assert_eq!(got.text, "[PHONE] [CARD]");
        assert_eq!(got.found, vec![(PiiKind::Phone, 1), (PiiKind::Card, 1)]);
        let got = redact("4111 1111 1111 1111 555-123-4567");
        assert_eq!(got.text, "[CARD] [PHONE]");
        assert_eq!(r("5551234567 5559876543"), "[PHONE] [PHONE]");
        assert_eq!(r("555-123-4567 (555) 987-6543"), "[PHONE] [PHONE]");
        assert_eq!(r("jo@example.com 192.168.0.1"), "[EMAIL] [IP]");
    }

    #[test]
    fn unicode_around_values_is_preserved() {
        let text = "Café ☕ — écrivez à jean@exemple.fr 🙂 ou au +33 1 23 45 67 89.\n\tMerci «beaucoup» 👍🏽";
        assert_eq!(
            r(text),
            "Café ☕ — écrivez à [EMAIL] 🙂 ou au [PHONE].\n\tMerci «beaucoup» 👍🏽"
        );
        assert_eq!(r("電郵：jo@example.jp。"), "電郵：[EMAIL]。");
        assert_eq!(r("IP地址192.168.1.1无法访问"), "IP地址[IP]无法访问");
        assert_eq!(r("Ёлки 4111 1111 1111 1111 ёлки"), "Ёлки [CARD] ёлки");
    }

    #[test]
    fn text_without_values_is_returned_unchanged() {
        assert_untouched(&[
            "",
            "Great service, thanks!",
            "  spaces\tand\nnewlines  ",
            "日本語のテキスト 🙂",
            "Note: the app crashed twice",
        ]);
        assert!(!Profile::of(b"Great service, 2 hours, flight 1234").may_contain_pii());
        assert!(Profile::of(b"a@b").may_contain_pii());
        assert!(Profile::of(b"1.2").may_contain_pii());
        assert!(Profile::of(b"::1").may_contain_pii());
        assert!(Profile::of(b"1234567").may_contain_pii());
    }

    #[test]
    fn arbitrary_input_never_panics_and_keeps_text_when_nothing_is_found() {
        let alphabet: Vec<char> = "0123456789 -.:@+()$#%,/abcdefXYZé€☕日\n".chars().collect();
        let mut state = 0x2545_f491_4f6c_dd1du64;
        for _ in 0..20_000 {
            let len = (state % 40) as usize;
            let text: String = (0..len)
                .map(|_| {
                    state ^= state << 13;
                    state ^= state >> 7;
                    state ^= state << 17;
                    alphabet[(state % alphabet.len() as u64) as usize]
                })
                .collect();
            let got = redact(&text);
            if got.found.is_empty() {
                assert_eq!(got.text, text);
            }
            let placeholders: usize = got.found.iter().map(|&(_, n)| n).sum();
            assert!(placeholders <= text.len());
        }
    }
}
