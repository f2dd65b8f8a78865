//! Byte helpers the detectors share. Every value is ASCII, so detectors scan bytes; a byte at or
//! above 0x80 is part of a multi-byte character and never part of a value (except letters in
//! email addresses).

pub(super) fn at(b: &[u8], i: usize) -> Option<u8> {
    b.get(i).copied()
}

pub(super) fn before(b: &[u8], i: usize) -> Option<u8> {
    i.checked_sub(1).and_then(|j| at(b, j))
}

pub(super) fn is_digit_at(b: &[u8], i: usize) -> bool {
    at(b, i).is_some_and(|c| c.is_ascii_digit())
}

/// ASCII letters, digits and underscore: a value glued to one of these is part of a longer word.
pub(super) fn is_word(c: u8) -> bool {
    c.is_ascii_alphanumeric() || c == b'_'
}

pub(super) fn is_hex_or_colon(c: u8) -> bool {
    c.is_ascii_hexdigit() || c == b':'
}

/// The end of the run of bytes satisfying `f` that starts at `i`.
pub(super) fn run_end(b: &[u8], mut i: usize, f: impl Fn(u8) -> bool) -> usize {
    while i < b.len() && f(b[i]) {
        i += 1;
    }
    i
}

pub(super) fn digits_end(b: &[u8], i: usize) -> usize {
    run_end(b, i, |c| c.is_ascii_digit())
}

/// Whether the number starting at `start` continues something before it: a word, or a decimal
/// or thousands separator after a digit (`1,299`, `3.5`).
pub(super) fn number_glued_before(b: &[u8], start: usize) -> bool {
    match before(b, start) {
        Some(c) if is_word(c) => true,
        Some(b'.' | b',') => start >= 2 && is_digit_at(b, start - 2),
        _ => false,
    }
}

/// Whether the number ending at `end` continues into something after it: a word, a percent
/// sign, or a separator followed by a digit (`.99`, `,000`, `/2015`, `:30`).
pub(super) fn number_glued_after(b: &[u8], end: usize) -> bool {
    match at(b, end) {
        Some(c) if is_word(c) => true,
        Some(b'%') => true,
        Some(b'.' | b',' | b'/' | b':') => is_digit_at(b, end + 1),
        _ => false,
    }
}
