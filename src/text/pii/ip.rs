//! IP addresses. The scanning (which runs of text are candidates, where they start and end) is
//! the project's own; whether a candidate is an address is up to `std::net`'s parsers.

use std::borrow::Cow;
use std::net::{Ipv4Addr, Ipv6Addr};
use std::ops::Range;

use super::scan::{at, before, is_word, run_end};
use super::Hit;

fn is_v6_char(c: u8) -> bool {
    c.is_ascii_hexdigit() || c == b':' || c == b'.'
}

/// Finds IPv6 addresses: runs of hex digits, colons and dots, trimmed of punctuation.
pub(super) fn find_v6(text: &str, from: usize, out: &mut Vec<Hit>) {
    let b = text.as_bytes();
    let mut i = from;
    while i < b.len() {
        if !is_v6_char(b[i]) {
            i += 1;
            continue;
        }
        let end = run_end(b, i, is_v6_char);
        if let Some(range) = ipv6_in(text, i, end) {
            out.push(Hit::value(range));
        }
        i = end;
    }
}

/// The IPv6 address in the run of hex digits, colons and dots `start..end`, if there is one,
/// after trimming punctuation ("ip:fe80::1", "fe80::1.", "at fe80::1:").
fn ipv6_in(text: &str, start: usize, end: usize) -> Option<Range<usize>> {
    let b = text.as_bytes();
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
    (s < e && text.get(s..e).is_some_and(is_ipv6)).then_some(s..e)
}

/// Whether `candidate` is an IPv6 address as [`Ipv6Addr`] reads it: eight groups, or fewer
/// with one `::`, the last two possibly an embedded IPv4 address. Times such as "10:30" or
/// "12:00:00" are not: they have neither eight groups nor `::`.
///
/// A bare `::` (the unspecified address to std) is punctuation in prose and stays text.
fn is_ipv6(candidate: &str) -> bool {
    candidate != "::" && unpad_octets(candidate).parse::<Ipv6Addr>().is_ok()
}

/// Whether `candidate` is an IPv4 address as [`Ipv4Addr`] reads it: four dot-separated decimal
/// octets, each 0 to 255.
fn is_ipv4(candidate: &str) -> bool {
    unpad_octets(candidate).parse::<Ipv4Addr>().is_ok()
}

/// `candidate` with the zero padding taken off the octets of its dotted (IPv4) tail, so
/// "192.168.001.010" reads as "192.168.1.10". std refuses padded octets, which could be meant as
/// octal; people pad addresses, and redaction has always read them as decimal. Octets of more
/// than three digits are left for the parser to refuse.
fn unpad_octets(candidate: &str) -> Cow<'_, str> {
    let (head, dotted) = candidate.split_at(candidate.rfind(':').map_or(0, |colon| colon + 1));
    let padded = |octet: &str| (2..=3).contains(&octet.len()) && octet.starts_with('0');
    if !dotted.contains('.') || !dotted.split('.').any(padded) {
        return Cow::Borrowed(candidate);
    }
    let octets: Vec<&str> = dotted
        .split('.')
        .map(|octet| match octet.trim_start_matches('0') {
            "" if padded(octet) => "0",
            unpadded if padded(octet) => unpadded,
            _ => octet,
        })
        .collect();
    Cow::Owned(format!("{head}{}", octets.join(".")))
}

/// Finds IPv4 addresses: runs of digits and dots not glued to a word.
pub(super) fn find_v4(text: &str, from: usize, out: &mut Vec<Hit>) {
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
        if !glued_before && !glued_after && text.get(i..e).is_some_and(is_ipv4) {
            out.push(Hit::value(i..e));
        }
        i = end;
    }
}

#[cfg(test)]
mod tests {
    use crate::text::pii::tests::{assert_untouched, assert_whole, r};
    use crate::text::pii::PiiKind;

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

    /// Where std's parsers and the scanner's long-standing reading differ, the scanner's holds:
    /// zero-padded octets are decimal, and a bare "::" is punctuation.
    #[test]
    fn padded_octets_and_bare_double_colons() {
        assert_whole(
            PiiKind::Ip,
            &["192.168.001.010", "010.0.0.1", "::ffff:192.168.01.1"],
        );
        assert_untouched(&["a :: b", "::", "0001.1.1.1"]);
    }
}
