//! Phone numbers, international (`+44 20 7946 0958`) or national (`(555) 123-4567`), told apart
//! from the quantities, dates, years, decimals and order numbers feedback is full of.

use super::scan::{at, before, digits_end, is_digit_at, is_word, number_glued_after};
use super::Hit;

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

pub(super) const MIN_DIGITS: usize = 7;
/// E.164 allows 15 digits.
const MAX_DIGITS: usize = 15;
const MAX_PHONE_GROUPS: usize = 12;

pub(super) fn find(text: &str, from: usize, out: &mut Vec<Hit>) {
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
        if total > MAX_DIGITS || n == MAX_PHONE_GROUPS {
            // Too long for a phone number (E.164 allows 15 digits): a card that failed Luhn,
            // an order number or a list; none of it is a phone number.
            return (end, false);
        }
        groups[n] = group;
        n += 1;
        pos = group_end;
        if group.len >= MIN_DIGITS {
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
    if !(MIN_DIGITS..=MAX_DIGITS).contains(&total) {
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
    use crate::text::pii::tests::{assert_whole, r};
    use crate::text::pii::PiiKind;

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
}
