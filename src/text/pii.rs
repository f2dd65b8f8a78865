//! PII redaction, applied to every verbatim text before anything is stored or indexed.
//!
//! [`redact`] replaces email addresses, phone numbers, payment card numbers, IBANs and IP
//! addresses with fixed placeholders (`[EMAIL]`, `[PHONE]`, `[CARD]`, `[IBAN]`, `[IP]`) and keeps
//! every other character exactly as it was, Unicode and whitespace included.
//!
//! Detection is hand-written scanning, no regular expressions. A cheap pre-check first returns
//! texts that cannot hold any of these kinds: no `@`, no `.` between digits, no `:` between hex
//! digits or colons, and fewer than seven digits.
//!
//! Detectors run in a fixed priority order: email, IBAN, card, IPv6, IPv4, phone. Each one only
//! looks at text no earlier detector claimed, so every character is redacted at most once, a card
//! number is labelled `[CARD]` and never `[PHONE]`, and digits inside an email address stay part
//! of the email.
//!
//! The rules lean towards privacy where a value is ambiguous (a lone ten-digit number is taken as
//! a phone number) but keep what feedback commonly contains intact: prices, quantities, years,
//! dates, times, percentages, version numbers, and order or ticket numbers of up to nine digits.

use std::ops::Range;

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
        detect(text, &mut spans, PiiKind::Email, find_emails);
    }
    if profile.digits >= MIN_IBAN_DIGITS {
        detect(text, &mut spans, PiiKind::Iban, find_ibans);
    }
    if profile.digits >= MIN_CARD_DIGITS {
        detect(text, &mut spans, PiiKind::Card, find_cards);
    }
    if profile.hex_colon {
        detect(text, &mut spans, PiiKind::Ip, find_ipv6);
    }
    if profile.dotted_digits {
        detect(text, &mut spans, PiiKind::Ip, find_ipv4);
    }
    if profile.digits >= MIN_PHONE_DIGITS {
        detect(text, &mut spans, PiiKind::Phone, find_phones);
    }
    render(text, &spans)
}

const MIN_PHONE_DIGITS: usize = 7;
/// Every IBAN format in the ISO 13616 registry has at least this many digits.
const MIN_IBAN_DIGITS: usize = 7;
const MAX_PHONE_DIGITS: usize = 15;
const MIN_CARD_DIGITS: usize = 13;
const MAX_CARD_DIGITS: usize = 19;

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
        self.at_sign || self.dotted_digits || self.hex_colon || self.digits >= MIN_PHONE_DIGITS
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

// ---------------------------------------------------------------------------------------------
// Byte helpers. Every value is ASCII, so detectors scan bytes; a byte at or above 0x80 is part
// of a multi-byte character and never part of a value (except letters in email addresses).

fn at(b: &[u8], i: usize) -> Option<u8> {
    b.get(i).copied()
}

fn before(b: &[u8], i: usize) -> Option<u8> {
    i.checked_sub(1).and_then(|j| at(b, j))
}

fn is_digit_at(b: &[u8], i: usize) -> bool {
    at(b, i).is_some_and(|c| c.is_ascii_digit())
}

/// ASCII letters, digits and underscore: a value glued to one of these is part of a longer word.
fn is_word(c: u8) -> bool {
    c.is_ascii_alphanumeric() || c == b'_'
}

fn is_hex_or_colon(c: u8) -> bool {
    c.is_ascii_hexdigit() || c == b':'
}

/// The end of the run of bytes satisfying `f` that starts at `i`.
fn run_end(b: &[u8], mut i: usize, f: impl Fn(u8) -> bool) -> usize {
    while i < b.len() && f(b[i]) {
        i += 1;
    }
    i
}

fn digits_end(b: &[u8], i: usize) -> usize {
    run_end(b, i, |c| c.is_ascii_digit())
}

/// Whether the number starting at `start` continues something before it: a word, or a decimal
/// or thousands separator after a digit (`1,299`, `3.5`).
fn number_glued_before(b: &[u8], start: usize) -> bool {
    match before(b, start) {
        Some(c) if is_word(c) => true,
        Some(b'.' | b',') => start >= 2 && is_digit_at(b, start - 2),
        _ => false,
    }
}

/// Whether the number ending at `end` continues into something after it: a word, a percent
/// sign, or a separator followed by a digit (`.99`, `,000`, `/2015`, `:30`).
fn number_glued_after(b: &[u8], end: usize) -> bool {
    match at(b, end) {
        Some(c) if is_word(c) => true,
        Some(b'%') => true,
        Some(b'.' | b',' | b'/' | b':') => is_digit_at(b, end + 1),
        _ => false,
    }
}

// ---------------------------------------------------------------------------------------------
// Email: local@domain.tld.

/// Letters beyond ASCII that may appear in an address: Latin, Greek and Cyrillic (below
/// U+0530). Other scripts, such as CJK, are often written without spaces around an address
/// and so act as a boundary.
fn is_extended_letter(c: char) -> bool {
    !c.is_ascii() && (c as u32) < 0x0530 && c.is_alphabetic()
}

fn is_local_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '%' | '+' | '-') || is_extended_letter(c)
}

fn is_domain_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '.' || c == '-' || is_extended_letter(c)
}

fn find_emails(text: &str, from: usize, out: &mut Vec<Hit>) {
    let b = text.as_bytes();
    let mut search = from;
    while let Some(offset) = b
        .get(search..)
        .and_then(|rest| rest.iter().position(|&c| c == b'@'))
    {
        let at_sign = search + offset;
        search = at_sign + 1;
        let Some(start) = email_local_start(text, from, at_sign) else {
            continue;
        };
        let Some(end) = email_domain_end(text, at_sign + 1) else {
            continue;
        };
        out.push(Hit::value(start..end));
        search = end;
    }
}

/// Where the local part ending at `at_sign` starts, not before `from`; `None` if it is empty.
fn email_local_start(text: &str, from: usize, at_sign: usize) -> Option<usize> {
    let head = text.get(from..at_sign)?;
    let mut start = at_sign;
    for (i, c) in head.char_indices().rev() {
        if !is_local_char(c) {
            break;
        }
        start = from + i;
    }
    // A local part neither starts with a dot nor holds two in a row: dots before it are
    // punctuation ("wait...jo@example.org").
    if let Some(dots) = text[start..at_sign].rfind("..") {
        start += dots + 2;
    }
    while start < at_sign && at(text.as_bytes(), start) == Some(b'.') {
        start += 1;
    }
    (start < at_sign).then_some(start)
}

/// Where the domain starting at `start` ends, if it is a valid domain: labels of letters, digits
/// and inner hyphens, at least two of them, the last (the TLD) of two or more letters.
fn email_domain_end(text: &str, start: usize) -> Option<usize> {
    let tail = text.get(start..)?;
    let len = tail
        .char_indices()
        .find(|&(_, c)| !is_domain_char(c))
        .map_or(tail.len(), |(i, _)| i);
    // Trailing dots and hyphens end the sentence, not the domain ("mail jo@example.com.").
    let domain = tail[..len].trim_end_matches(['.', '-']);
    let mut labels = 0;
    let mut tld = "";
    for label in domain.split('.') {
        if label.is_empty() || label.starts_with('-') || label.ends_with('-') {
            return None;
        }
        labels += 1;
        tld = label;
    }
    let tld_ok = tld.chars().count() >= 2 && tld.chars().all(char::is_alphabetic);
    (labels >= 2 && tld_ok).then_some(start + domain.len())
}

// ---------------------------------------------------------------------------------------------
// IBAN: country code, check digits, 11 to 30 alphanumerics; compact or in blocks of four.

const IBAN_MIN: usize = 15;
const IBAN_MAX: usize = 34;

fn find_ibans(text: &str, from: usize, out: &mut Vec<Hit>) {
    let b = text.as_bytes();
    let mut i = from;
    while i + 4 <= b.len() {
        // An IBAN starts two letters before a digit: jump there.
        let Some(digit) = b[i + 2..].iter().position(u8::is_ascii_digit) else {
            break;
        };
        i += digit;
        let starts = matches!(b.get(i..i + 4), Some(&[c0, c1, d0, d1])
            if c0.is_ascii_alphabetic() && c1.is_ascii_alphabetic()
                && d0.is_ascii_digit() && d1.is_ascii_digit())
            && !before(b, i).is_some_and(is_word);
        if !starts {
            i += 1;
            continue;
        }
        let first_end = run_end(b, i, |c| c.is_ascii_alphanumeric());
        match iban_at(b, i, first_end) {
            IbanMatch::Valid(end) => {
                out.push(Hit::value(i..end));
                i = end;
            }
            IbanMatch::Shaped(end) => {
                out.push(Hit::keep(i..end));
                i = end;
            }
            IbanMatch::None => i = first_end,
        }
    }
}

/// What starts at a country code and check digits.
enum IbanMatch {
    /// An IBAN passing the checksum, ending here.
    Valid(usize),
    /// IBAN-shaped with letters after the check digits ("GB00 WEST 1234 ..."), ending here, but
    /// failing the checksum: an account or reference code, kept whole.
    Shaped(usize),
    None,
}

/// What the IBAN-like text starting at `start` is. `first_end` ends the first alphanumeric run:
/// the whole IBAN when compact, its first block of four when grouped.
fn iban_at(b: &[u8], start: usize, first_end: usize) -> IbanMatch {
    let shaped = |end: usize| {
        let has_letter = b[start + 4..end].iter().any(u8::is_ascii_alphabetic);
        if has_letter {
            IbanMatch::Shaped(end)
        } else {
            IbanMatch::None
        }
    };
    let first_len = first_end - start;
    if (IBAN_MIN..=IBAN_MAX).contains(&first_len) {
        return if iban_checksum_ok(&b[start..first_end]) {
            IbanMatch::Valid(first_end)
        } else {
            shaped(first_end)
        };
    }
    if first_len != 4 {
        return IbanMatch::None;
    }
    // Blocks of four separated by single spaces (or single hyphens throughout), the last block
    // may be shorter. Candidates are tried longest first so trailing words ("... 3000 and") do
    // not hide a valid IBAN.
    let mut ends = [(0usize, 0usize); (IBAN_MAX - 4).div_ceil(4)];
    let mut n = 0;
    let mut pos = first_end;
    let mut compact = 4;
    let sep = match at(b, pos) {
        Some(c @ (b' ' | b'-')) => c,
        _ => return IbanMatch::None,
    };
    while n < ends.len()
        && at(b, pos) == Some(sep)
        && at(b, pos + 1).is_some_and(|c| c.is_ascii_alphanumeric())
    {
        let end = run_end(b, pos + 1, |c| c.is_ascii_alphanumeric());
        let len = end - pos - 1;
        if len > 4 || compact + len > IBAN_MAX {
            break;
        }
        compact += len;
        ends[n] = (end, compact);
        n += 1;
        pos = end;
        if len < 4 {
            break;
        }
    }
    let mut candidates = ends[..n].iter().rev().filter(|&&(_, len)| len >= IBAN_MIN);
    match candidates
        .clone()
        .find(|&&(end, _)| iban_checksum_ok(&b[start..end]))
    {
        Some(&(end, _)) => IbanMatch::Valid(end),
        None => candidates
            .next()
            .map_or(IbanMatch::None, |&(end, _)| shaped(end)),
    }
}

/// ISO 13616 / ISO 7064 mod 97-10: with the first four characters moved to the end and letters
/// read as 10 to 35, the number is 1 modulo 97. Spaces and hyphens are skipped; letters in
/// either case.
fn iban_checksum_ok(iban: &[u8]) -> bool {
    let chars = || iban.iter().copied().filter(|&c| c != b' ' && c != b'-');
    let mut rem = 0u32;
    for c in chars().skip(4).chain(chars().take(4)) {
        rem = match c {
            b'0'..=b'9' => (rem * 10 + u32::from(c - b'0')) % 97,
            b'a'..=b'z' | b'A'..=b'Z' => {
                (rem * 100 + u32::from(c.to_ascii_uppercase() - b'A') + 10) % 97
            }
            _ => return false,
        };
    }
    rem == 1
}

// ---------------------------------------------------------------------------------------------
// Payment cards: 13 to 19 digits, compact or grouped by single spaces or hyphens, Luhn-checked.

const MAX_CARD_GROUPS: usize = 20;

fn find_cards(text: &str, from: usize, out: &mut Vec<Hit>) {
    let b = text.as_bytes();
    let mut i = from;
    while i < b.len() {
        if b[i].is_ascii_digit() {
            i = cards_in_chain(b, i, out);
        } else {
            i += 1;
        }
    }
}

/// Finds the cards in the chain of digit groups starting at `start` (groups joined by one kind
/// of single separator) and returns where the chain ends.
fn cards_in_chain(b: &[u8], start: usize, out: &mut Vec<Hit>) -> usize {
    // Most chains are short numbers: count first, collect groups only when a card fits.
    let mut digits = 0;
    let mut n = 0;
    let mut next = Some(start);
    let mut sep = None;
    let mut pos = start;
    while let Some(group_start) = next.filter(|_| n < MAX_CARD_GROUPS) {
        pos = digits_end(b, group_start);
        digits += pos - group_start;
        n += 1;
        next = next_card_group(b, pos, &mut sep);
    }
    if digits < MIN_CARD_DIGITS {
        return pos;
    }
    let mut groups = [(0usize, 0usize); MAX_CARD_GROUPS];
    let mut group_start = start;
    let mut sep = None;
    for group in groups.iter_mut().take(n) {
        let end = digits_end(b, group_start);
        *group = (group_start, end);
        group_start = next_card_group(b, end, &mut sep).unwrap_or(end);
    }
    // A group glued to a word or a decimal is not part of a card; a leading "+" makes the
    // chain a phone number.
    let first = usize::from(number_glued_before(b, start) || before(b, start) == Some(b'+'));
    let last = n - usize::from(number_glued_after(b, pos));
    let mut s = first;
    while s < last {
        match (s..last).rev().find(|&e| is_card(b, &groups[s..=e])) {
            Some(e) => {
                out.push(Hit::value(groups[s].0..groups[e].1));
                s = e + 1;
            }
            None => s += 1,
        }
    }
    pos
}

/// Where the next group of a card-like chain starts when the current one ends at `end`: after a
/// single space or hyphen, the same one throughout the chain (`sep` remembers it).
fn next_card_group(b: &[u8], end: usize, sep: &mut Option<u8>) -> Option<usize> {
    match at(b, end) {
        Some(c @ (b' ' | b'-')) if sep.is_none_or(|s| s == c) && is_digit_at(b, end + 1) => {
            *sep = Some(c);
            Some(end + 1)
        }
        _ => None,
    }
}

/// Whether these digit groups form a card number: 13 to 19 digits passing the Luhn check, not
/// all zeros; when grouped, blocks of three to eight digits, the first of at least four.
fn is_card(b: &[u8], groups: &[(usize, usize)]) -> bool {
    let len = |&(s, e): &(usize, usize)| e - s;
    let digits: usize = groups.iter().map(len).sum();
    if !(MIN_CARD_DIGITS..=MAX_CARD_DIGITS).contains(&digits) {
        return false;
    }
    if groups.len() > 1
        && (len(&groups[0]) < 4 || groups.iter().any(|g| !(3..=8).contains(&len(g))))
    {
        return false;
    }
    let number = || groups.iter().flat_map(|&(s, e)| b[s..e].iter().copied());
    number().any(|c| c != b'0') && luhn_ok(number().rev())
}

/// The Luhn check over digits given from the last to the first.
fn luhn_ok(digits_reversed: impl Iterator<Item = u8>) -> bool {
    let sum: u32 = digits_reversed
        .enumerate()
        .map(|(i, c)| {
            let d = u32::from(c - b'0');
            match (i % 2 == 1, d * 2) {
                (false, _) => d,
                (true, doubled) if doubled > 9 => doubled - 9,
                (true, doubled) => doubled,
            }
        })
        .sum();
    sum % 10 == 0
}

// ---------------------------------------------------------------------------------------------
// IP addresses.

fn is_v6_char(c: u8) -> bool {
    c.is_ascii_hexdigit() || c == b':' || c == b'.'
}

fn find_ipv6(text: &str, from: usize, out: &mut Vec<Hit>) {
    let b = text.as_bytes();
    let mut i = from;
    while i < b.len() {
        if !is_v6_char(b[i]) {
            i += 1;
            continue;
        }
        let end = run_end(b, i, is_v6_char);
        if let Some(range) = ipv6_in(b, i, end) {
            out.push(Hit::value(range));
        }
        i = end;
    }
}

/// The IPv6 address in the run of hex digits, colons and dots `start..end`, if there is one,
/// after trimming punctuation ("ip:fe80::1", "fe80::1.", "at fe80::1:").
fn ipv6_in(b: &[u8], start: usize, end: usize) -> Option<Range<usize>> {
    let run = &b[start..end];
    if run.iter().filter(|&&c| c == b':').count() < 2 {
        return None;
    }
    let mut s = start;
    let mut e = end;
    while s < e && b[s] == b'.' {
        s += 1;
    }
    if s < e && b[s] == b':' && at(b, s + 1) != Some(b':') {
        s += 1;
    } else if s == start && before(b, s).is_some_and(is_word) {
        // Glued to a word, as in "Time:10:30" or "Note:fe80::1": only what follows a single
        // colon can be an address.
        let colon = s + run.iter().position(|&c| c == b':')?;
        if at(b, colon + 1) == Some(b':') {
            return None;
        }
        s = colon + 1;
    }
    while e > s && b[e - 1] == b'.' {
        e -= 1;
    }
    if e > s && b[e - 1] == b':' && (e - 1 == s || b[e - 2] != b':') {
        e -= 1;
    }
    if e == end && at(b, e).is_some_and(is_word) {
        return None;
    }
    (s < e && is_ipv6(&b[s..e])).then_some(s..e)
}

/// A full (eight groups) or compressed (`::`) IPv6 address with at least one group, the last
/// group possibly an embedded IPv4 address. Times such as "10:30" or "12:00:00" are not: they
/// have neither eight groups nor `::`.
fn is_ipv6(s: &[u8]) -> bool {
    let double = |s: &[u8]| s.windows(2).position(|w| w == b"::");
    match double(s) {
        None => v6_groups(s, true) == Some(8),
        Some(p) => {
            let (head, tail) = (&s[..p], &s[p + 2..]);
            if double(tail).is_some() {
                return false;
            }
            match (v6_groups(head, false), v6_groups(tail, true)) {
                (Some(h), Some(t)) => (1..=7).contains(&(h + t)),
                _ => false,
            }
        }
    }
}

/// How many 16-bit groups the colon-separated `part` holds (an embedded IPv4 counts as two,
/// allowed last only when `v4_last`), or `None` if a piece is not a group.
fn v6_groups(part: &[u8], v4_last: bool) -> Option<usize> {
    if part.is_empty() {
        return Some(0);
    }
    let mut count = 0;
    let mut pieces = part.split(|&c| c == b':').peekable();
    while let Some(piece) = pieces.next() {
        if v4_last && pieces.peek().is_none() && piece.contains(&b'.') {
            if !is_ipv4(piece) {
                return None;
            }
            count += 2;
        } else if (1..=4).contains(&piece.len()) && piece.iter().all(u8::is_ascii_hexdigit) {
            count += 1;
        } else {
            return None;
        }
    }
    Some(count)
}

/// Exactly four dot-separated decimal octets of one to three digits, each 0 to 255.
fn is_ipv4(s: &[u8]) -> bool {
    let mut octets = 0;
    for piece in s.split(|&c| c == b'.') {
        let ok = (1..=3).contains(&piece.len())
            && piece.iter().all(u8::is_ascii_digit)
            && piece
                .iter()
                .fold(0u32, |v, &c| v * 10 + u32::from(c - b'0'))
                <= 255;
        if !ok {
            return false;
        }
        octets += 1;
    }
    octets == 4
}

fn find_ipv4(text: &str, from: usize, out: &mut Vec<Hit>) {
    let b = text.as_bytes();
    let mut i = from;
    while i < b.len() {
        if !b[i].is_ascii_digit() {
            i += 1;
            continue;
        }
        // The whole dotted run, so "1.2.3.4.5" is judged as one number and not as "1.2.3.4".
        let end = run_end(b, i, |c| c.is_ascii_digit() || c == b'.');
        let mut e = end;
        while b[e - 1] == b'.' {
            e -= 1;
        }
        let glued_before = match before(b, i) {
            Some(c) if is_word(c) => true,
            Some(b'.') => i >= 2 && is_word(b[i - 2]),
            _ => false,
        };
        // "1.2.3.4." ends a sentence; "1.2.3.4.example" is a name.
        let glued_after = at(b, end).is_some_and(is_word);
        if !glued_before && !glued_after && is_ipv4(&b[i..e]) {
            out.push(Hit::value(i..e));
        }
        i = end;
    }
}

// ---------------------------------------------------------------------------------------------
// Phone numbers.

/// A group of digits in a phone number, bare or in parentheses.
#[derive(Debug, Clone, Copy, Default)]
struct PhoneGroup {
    /// Digits in the group.
    len: usize,
    paren: bool,
    first_digit: u8,
    /// The value of the first six digits, enough to recognise years and "000".
    value: u32,
}

const MAX_PHONE_GROUPS: usize = 12;

fn find_phones(text: &str, from: usize, out: &mut Vec<Hit>) {
    let b = text.as_bytes();
    let mut i = from;
    while i < b.len() {
        let starts = match b[i] {
            b'+' => matches!(at(b, i + 1), Some(b'0'..=b'9' | b'(')),
            b'(' => is_digit_at(b, i + 1),
            c => c.is_ascii_digit(),
        };
        if !starts {
            i += 1;
            continue;
        }
        if b[i].is_ascii_digit() {
            // Fast path for the common lone short number ("2015", "12345,").
            let end = digits_end(b, i);
            let joined = matches!(at(b, end), Some(b' ' | b'-' | b'.' | b'('))
                && matches!(at(b, end + 1), Some(b'0'..=b'9' | b'('));
            if !joined && end - i < 10 {
                i = end;
                continue;
            }
        }
        let (end, shape_ok) = phone_chain(b, i);
        if shape_ok && !phone_glued_before(text, i) && !number_glued_after(b, end) {
            out.push(Hit::value(i..end));
        }
        i = end.max(i + 1);
    }
}

/// The digit group at `pos`, bare or in parentheses, and where it ends.
fn phone_group(b: &[u8], pos: usize) -> Option<(PhoneGroup, usize)> {
    let paren = at(b, pos) == Some(b'(');
    let digits = pos + usize::from(paren);
    let end = digits_end(b, digits);
    let len = end - digits;
    if len == 0 || (paren && (len > 4 || at(b, end) != Some(b')'))) {
        return None;
    }
    let value = b[digits..end]
        .iter()
        .take(6)
        .fold(0u32, |v, &c| v * 10 + u32::from(c - b'0'));
    let group = PhoneGroup {
        len,
        paren,
        first_digit: b[digits],
        value,
    };
    Some((group, end + usize::from(paren)))
}

/// Reads the phone-number-like chain starting at `start` (an optional "+", then digit groups
/// joined by spaces, then by at most one kind of "-" or "."), returning where it ends and
/// whether it has the shape of a phone number.
fn phone_chain(b: &[u8], start: usize) -> (usize, bool) {
    let plus = b[start] == b'+';
    let mut groups = [PhoneGroup::default(); MAX_PHONE_GROUPS];
    let mut n = 0;
    let mut total = 0;
    let mut pos = start + usize::from(plus);
    let mut end = start + 1;
    let mut sep: Option<u8> = None;
    while let Some((group, group_end)) = phone_group(b, pos) {
        total += group.len;
        end = group_end;
        if total > MAX_PHONE_DIGITS || n == MAX_PHONE_GROUPS {
            // Too long for a phone number (E.164 allows 15 digits): a card that failed Luhn,
            // an order number or a list; none of it is a phone number.
            return (end, false);
        }
        groups[n] = group;
        n += 1;
        pos = group_end;
        if group.len >= MIN_PHONE_DIGITS {
            // A long block ends a number ("+49 30 12345678"); what follows is another one.
            break;
        }
        let next = at(b, pos + 1);
        match at(b, pos) {
            Some(c @ (b' ' | b'-' | b'.')) if matches!(next, Some(b'0'..=b'9' | b'(')) => {
                // Separators after a country code or an area code in parentheses are free;
                // elsewhere spaces may come first, then one kind of "-" or "." to the end, so
                // "555-123-4567 12" stops before "12".
                let free = group.paren || (plus && n == 1);
                if c == b' ' {
                    if !free && sep.is_some() {
                        break;
                    }
                } else if sep.is_some_and(|s| s != c) {
                    break;
                } else if !free {
                    sep = Some(c);
                }
                pos += 1;
            }
            Some(b'0'..=b'9') if group.paren => {}
            _ => break,
        }
    }
    if n == 0 {
        return (start + 1, false);
    }
    (end, phone_shape_ok(&groups[..n], plus, sep == Some(b'.')))
}

/// Whether digit groups read as a phone number rather than a quantity, date, year list, decimal
/// or order number. 7 to 15 digits; after a "+", a country code of one to three digits (or the
/// whole number in one run); otherwise groups of two or more digits, a lone run of 10 to 15.
fn phone_shape_ok(groups: &[PhoneGroup], plus: bool, dotted: bool) -> bool {
    let total: usize = groups.iter().map(|g| g.len).sum();
    if !(MIN_PHONE_DIGITS..=MAX_PHONE_DIGITS).contains(&total) {
        return false;
    }
    let n = groups.len();
    let first = groups[0];
    if plus {
        return n == 1 || (!first.paren && first.len <= 3);
    }
    if n == 1 {
        // Plain runs of 7 to 9 digits are more often order or account numbers.
        return total >= 10;
    }
    if groups[1..].iter().any(|g| g.len < 2) {
        return false;
    }
    let first_ok = match first.len {
        // A leading country or trunk code, as in "1-800-555-0199".
        1 => n >= 3 && total >= 11,
        // Two-digit blocks throughout start with a trunk zero ("06 12 34 56 78"); "10 20 30 40"
        // is a list.
        2 => n == 2 || first.first_digit == b'0',
        _ => true,
    };
    if !first_ok {
        return false;
    }
    let year = |g: &PhoneGroup| g.len == 4 && !g.paren && (1900..=2099).contains(&g.value);
    if n == 2
        && (dotted || year(&first) || !(total >= 10 || (first.len == 3 && groups[1].len == 4)))
    {
        // "555-1234" is a local number; "1234.5678" a decimal, "2015-2016" a range,
        // "2024-123456" an order number.
        return false;
    }
    if n == 3 {
        let (a, b, c) = (groups[0].len, groups[1].len, groups[2].len);
        if (a == 4 && b <= 2 && c <= 2) || (c == 4 && a <= 2 && b <= 2) {
            // A date: 2015-02-24, 24.02.2015, 02 24 2015.
            return false;
        }
    }
    let years = groups.iter().all(year);
    // "120 000 000" is a round amount written with thousands spaces.
    let last = groups[n - 1];
    let thousands = last.len == 3 && last.value == 0;
    !years && !thousands
}

/// Whether a phone-like chain at `start` continues something before it: a word, a currency
/// sign or "#", or a number it is the decimal, thousands, date or time part of.
fn phone_glued_before(text: &str, start: usize) -> bool {
    let b = text.as_bytes();
    match before(b, start) {
        None => false,
        Some(c) if is_word(c) => true,
        Some(b'$' | b'#') => true,
        Some(b'.' | b',' | b'/' | b':') => start >= 2 && is_digit_at(b, start - 2),
        Some(c) if c >= 0x80 => text
            .get(..start)
            .is_some_and(|head| head.ends_with(['€', '£', '¥', '₹', '₽', '₩', '₺', '₪'])),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn r(text: &str) -> String {
        redact(text).text
    }

    /// Asserts each example is redacted whole, as the only value, of `kind`.
    fn assert_whole(kind: PiiKind, examples: &[&str]) {
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

    fn assert_untouched(examples: &[&str]) {
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
    fn emails() {
        assert_whole(
            PiiKind::Email,
            &[
                "jane.doe@example.com",
                "j+news@mail.example.co.uk",
                "first-last_99@sub-domain.example.org",
                "UPPER.CASE@EXAMPLE.COM",
                "obrien.x%y@example.io",
                "renée@exemple.fr",
            ],
        );
        assert_eq!(r("mail jo@example.com."), "mail [EMAIL].");
        assert_eq!(r("<jo@example.com>"), "<[EMAIL]>");
        assert_eq!(r("mailto:jo@example.com"), "mailto:[EMAIL]");
        assert_eq!(r("wait...jo@example.com"), "wait...[EMAIL]");
        // Digits in an address stay part of the address.
        assert_eq!(
            redact("john5551234567@example.com").found,
            vec![(PiiKind::Email, 1)]
        );
    }

    #[test]
    fn not_emails() {
        assert_untouched(&[
            "@handle",
            "a@b",
            "me@localhost",
            "x@y.c",
            "x@y.c0m",
            "email@",
            "user@-bad.com",
            "user@bad..com",
            "price @ 5",
        ]);
    }

    #[test]
    fn phones() {
        assert_whole(
            PiiKind::Phone,
            &[
                "+44 20 7946 0958",
                "+1 (555) 123-4567",
                "(555) 123-4567",
                "555-123-4567",
                "555.123.4567",
                "555 123 4567",
                "555 123-4567",
                "5551234567",
                "+447911123456",
                "1-800-555-0199",
                "+44 (0)20 7946 0958",
                "+33 1 23 45 67 89",
                "06 12 34 56 78",
                "+49 30 12345678",
                "555-1234",
                "+1-555-123-4567",
            ],
        );
        assert_eq!(r("call 555-123-4567 12 times"), "call [PHONE] 12 times");
        assert_eq!(r("请联系13800138000谢谢"), "请联系[PHONE]谢谢");
    }

    #[test]
    fn cards() {
        assert_whole(
            PiiKind::Card,
            &[
                "4111 1111 1111 1111",
                "4111-1111-1111-1111",
                "4111111111111111",
                "5555555555554444",
                "378282246310005",
                "3782 822463 10005",
                "6011 0009 9013 9424",
                "4222222222222",
            ],
        );
        // Labelled as a card, never as a phone number.
        assert_eq!(
            redact("card: 4111 1111 1111 1111").found,
            vec![(PiiKind::Card, 1)]
        );
    }

    #[test]
    fn luhn_failures_are_not_cards() {
        assert_untouched(&[
            "4111111111111112",
            "4111 1111 1111 1112",
            "order 4111-1111-1111-1112 shipped",
            "0000 0000 0000 0000",
            "1234567890123456",
        ]);
    }

    #[test]
    fn ibans() {
        assert_whole(
            PiiKind::Iban,
            &[
                "GB82 WEST 1234 5698 7654 32",
                "GB82WEST12345698765432",
                "DE89370400440532013000",
                "DE89 3704 0044 0532 0130 00",
                "de89 3704 0044 0532 0130 00",
                "gb82west12345698765432",
                "FR14 2004 1010 0505 0001 3M02 606",
                "NL91ABNA0417164300",
                "NO9386011117947",
                "MT84 MALT 0110 0001 2345 MTLC AST0 01S",
                "GB82-WEST-1234-5698-7654-32",
            ],
        );
        assert_eq!(
            r("IBAN DE89 3704 0044 0532 0130 00 and thanks"),
            "IBAN [IBAN] and thanks"
        );
        assert_eq!(
            r("IBAN DE89 3704 0044 0532 0130 00 abcd"),
            "IBAN [IBAN] abcd"
        );
    }

    #[test]
    fn invalid_iban_checksums_are_not_ibans() {
        for text in [
            "GB83 WEST 1234 5698 7654 32",
            "GB82WEST12345698765433",
            "DE89370400440532013001",
        ] {
            assert!(
                !redact(text).found.iter().any(|&(k, _)| k == PiiKind::Iban),
                "{text:?}"
            );
        }
        assert_untouched(&["GB83 WEST 1234 5698 7654 32", "XDE89370400440532013000"]);
    }

    #[test]
    fn ipv4() {
        assert_whole(
            PiiKind::Ip,
            &[
                "192.168.1.1",
                "10.0.0.255",
                "8.8.8.8",
                "255.255.255.255",
                "0.0.0.0",
            ],
        );
        assert_eq!(r("from 10.1.2.3."), "from [IP].");
        assert_eq!(r("host 10.1.2.3:8080"), "host [IP]:8080");
        assert_untouched(&[
            "1.2.3.4.5",
            "256.1.1.1",
            "v1.2.3.4",
            "1.2.3",
            "10.1.2.3.example",
        ]);
    }

    #[test]
    fn ipv6() {
        assert_whole(
            PiiKind::Ip,
            &[
                "2001:db8::1",
                "fe80::1ff:fe23:4567:890a",
                "2001:0db8:85a3:0000:0000:8a2e:0370:7334",
                "2001:DB8:0:0:8:800:200C:417A",
                "::1",
                "::ffff:192.168.1.1",
                "fe80::",
            ],
        );
        assert_eq!(r("ip:fe80::1 failed"), "ip:[IP] failed");
        assert_eq!(r("Note:2001:db8::1"), "Note:[IP]");
        assert_eq!(r("at 2001:db8::1: timeout"), "at [IP]: timeout");
        assert_untouched(&[
            "10:30",
            "12:00:00",
            "at 10:30:45 today",
            "std::vector",
            "Foo::bar",
            "00:1A:2B:3C:4D:5E",
            "1:2:3:4:5:6:7",
            "1::2::3",
            "2015-02-24T12:00:00Z",
            "Time:10:30",
        ]);
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
