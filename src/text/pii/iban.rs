//! IBANs: country code, check digits, 11 to 30 alphanumerics; compact or in blocks of four, and
//! passing the ISO 7064 mod-97 check.

use super::scan::{at, before, is_word, run_end};
use super::Hit;

/// Every IBAN format in the ISO 13616 registry has at least this many digits.
pub(super) const MIN_DIGITS: usize = 7;
const IBAN_MIN: usize = 15;
const IBAN_MAX: usize = 34;

pub(super) fn find(text: &str, from: usize, out: &mut Vec<Hit>) {
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

#[cfg(test)]
mod tests {
    use crate::text::pii::tests::{assert_untouched, assert_whole, r};
    use crate::text::pii::{redact, PiiKind};

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
}
