//! Email addresses: `local@domain.tld`, with Latin, Greek and Cyrillic letters allowed.

use super::scan::at;
use super::Hit;

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

pub(super) fn find(text: &str, from: usize, out: &mut Vec<Hit>) {
    let b = text.as_bytes();
    let mut search = from;
    // A local part starts after the address found before it, never inside it.
    let mut floor = from;
    while let Some(offset) = b
        .get(search..)
        .and_then(|rest| rest.iter().position(|&c| c == b'@'))
    {
        let at_sign = search + offset;
        search = at_sign + 1;
        let Some(start) = email_local_start(text, floor, at_sign) else {
            continue;
        };
        let Some(end) = email_domain_end(text, at_sign + 1) else {
            continue;
        };
        out.push(Hit::value(start..end));
        search = end;
        floor = end;
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

#[cfg(test)]
mod tests {
    use crate::text::pii::tests::{assert_untouched, assert_whole, r};
    use crate::text::pii::{redact, PiiKind};

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
    fn addresses_glued_together_are_each_redacted() {
        // Found by fuzzing (fuzz/fuzz_targets/analyzer.rs): the second address's local part was
        // read back into the first address, the overlapping hit was dropped, and the second
        // address was left in the text.
        assert_eq!(
            r("x@example.com_john@example.com"),
            "[EMAIL][EMAIL]",
            "an underscore ends a domain and may start a local part"
        );
        assert_eq!(r("a@b.cc+jo@example.org"), "[EMAIL][EMAIL]");
        let got = redact(
            "Contact jane@exampxample.coUUUUUane@example.com or +44 20 1 :-( I C0for $0,299.99.",
        );
        assert_eq!(
            got.text,
            "Contact [EMAIL]@example.com or +44 20 1 :-( I C0for $0,299.99."
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
}
