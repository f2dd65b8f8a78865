//! Payment card numbers: 13 to 19 digits, compact or grouped by single spaces or hyphens,
//! passing the Luhn check.

use super::scan::{at, before, digits_end, is_digit_at, number_glued_after, number_glued_before};
use super::Hit;

pub(super) const MIN_DIGITS: usize = 13;
const MAX_DIGITS: usize = 19;
const MAX_CARD_GROUPS: usize = 20;

pub(super) fn find(text: &str, from: usize, out: &mut Vec<Hit>) {
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
    if digits < MIN_DIGITS {
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
    if !(MIN_DIGITS..=MAX_DIGITS).contains(&digits) {
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

#[cfg(test)]
mod tests {
    use crate::text::pii::tests::{assert_untouched, assert_whole};
    use crate::text::pii::{redact, PiiKind};

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
}
