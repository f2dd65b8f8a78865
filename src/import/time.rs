//! Timestamps as exports write them: the common formats without configuration, and explicit
//! strftime-like patterns (`--time-format`). Everything becomes UTC microseconds.

use super::ImportError;
use crate::model::{days_from_civil, Micros};

const MICROS_PER_SECOND: i64 = 1_000_000;

/// Parses the timestamp formats exports commonly use, as UTC: RFC 3339
/// (`2015-02-24T11:35:52Z`, `+01:00` offsets), `YYYY-MM-DD HH:MM[:SS]` with an optional offset
/// (`-0800`, `+01:00`, `Z`), `YYYY-MM-DD`, `M/D/YYYY H:MM[:SS]`, and unix seconds.
pub fn parse_timestamp(raw: &str) -> Option<Micros> {
    let raw = raw.trim();
    if !raw.is_empty() && raw.bytes().all(|b| b.is_ascii_digit()) {
        return raw.parse::<i64>().ok()?.checked_mul(MICROS_PER_SECOND);
    }
    let (date, time) = match raw.find(['T', ' ']) {
        Some(at) => (&raw[..at], raw[at + 1..].trim()),
        None => (raw, ""),
    };
    let (year, month, day) = if date.contains('/') {
        let mut parts = date.split('/').map(|p| p.parse::<i64>().ok());
        let (m, d, y) = (parts.next()??, parts.next()??, parts.next()??);
        (y, m, d)
    } else {
        let mut parts = date.split('-').map(|p| p.parse::<i64>().ok());
        (parts.next()??, parts.next()??, parts.next()??)
    };
    let (clock, offset_seconds) = split_offset(time)?;
    let mut hms = clock.split(':');
    let hour: i64 = hms
        .next()
        .filter(|h| !h.is_empty())
        .map_or(Some(0), |h| h.parse().ok())?;
    let minute: i64 = hms.next().map_or(Some(0), |m| m.parse().ok())?;
    let (second, micros) = match hms.next() {
        None => (0, 0),
        Some(s) => {
            let (whole, fraction) = s.split_once('.').unwrap_or((s, ""));
            let digits: String = fraction.chars().chain("000000".chars()).take(6).collect();
            (whole.parse().ok()?, digits.parse::<i64>().ok()?)
        }
    };
    CivilTime {
        year,
        month,
        day,
        hour,
        minute,
        second,
        micros,
        offset_seconds,
    }
    .to_micros()
}

/// Splits `11:35:00+01:00` / `11:35Z` / `11:35:52 -0800` into the clock and the offset in seconds.
fn split_offset(time: &str) -> Option<(&str, i64)> {
    if let Some(clock) = time.strip_suffix(['Z', 'z']) {
        return Some((clock.trim_end(), 0));
    }
    match time.rfind(['+', '-']) {
        Some(at) => {
            let (clock, offset) = time.split_at(at);
            Some((clock.trim_end(), parse_offset(offset)?))
        }
        None => Some((time, 0)),
    }
}

/// Reads `+01:00`, `-0800`, `+01` as seconds east of UTC.
fn parse_offset(offset: &str) -> Option<i64> {
    let (sign, digits) = match offset.as_bytes().first()? {
        b'+' => (1, &offset[1..]),
        b'-' => (-1, &offset[1..]),
        _ => return None,
    };
    if !digits.is_ascii() {
        return None;
    }
    let (hours, minutes) = match digits.split_once(':') {
        Some(parts) => parts,
        None if digits.len() == 4 => digits.split_at(2),
        None => (digits, "0"),
    };
    if !(1..=2).contains(&hours.len()) || !hours.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let (hours, minutes) = (hours.parse::<i64>().ok()?, minutes.parse::<i64>().ok()?);
    (hours <= 23 && minutes <= 59).then_some(sign * (hours * 3600 + minutes * 60))
}

/// A date-time pattern from `--time-format`, e.g. `%d/%m/%Y %H:%M` or `%b %d %Y %H:%M:%S %z`.
///
/// Specifiers: `%Y` (4-digit year), `%y` (2-digit year: 69–99 → 1900s, 00–68 → 2000s), `%m`,
/// `%d`, `%H`, `%M`, `%S` (1 or 2 digits), `%b` (English month name, abbreviated or full, any
/// case), `%z` (`Z`, `+hh:mm`, `-hhmm`, `+hh`) and `%%`. A space in the pattern matches any run of
/// whitespace (including none); every other character matches itself. The whole value must match.
/// Fields the pattern lacks default to the start of their range (day 1, midnight, UTC).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TimeFormat {
    pattern: String,
    pieces: Vec<Piece>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Piece {
    Year,
    TwoDigitYear,
    Month,
    MonthName,
    Day,
    Hour,
    Minute,
    Second,
    Offset,
    Whitespace,
    Literal(char),
}

impl TimeFormat {
    /// Compiles a pattern; an unknown specifier or a pattern without a year, month and day is an error.
    pub fn new(pattern: &str) -> Result<TimeFormat, ImportError> {
        let invalid = |reason: String| ImportError::TimeFormat {
            pattern: pattern.to_string(),
            reason,
        };
        let mut pieces = Vec::new();
        let mut chars = pattern.chars();
        while let Some(c) = chars.next() {
            let piece = match c {
                '%' => match chars.next() {
                    Some('Y') => Piece::Year,
                    Some('y') => Piece::TwoDigitYear,
                    Some('m') => Piece::Month,
                    Some('b') => Piece::MonthName,
                    Some('d') => Piece::Day,
                    Some('H') => Piece::Hour,
                    Some('M') => Piece::Minute,
                    Some('S') => Piece::Second,
                    Some('z') => Piece::Offset,
                    Some('%') => Piece::Literal('%'),
                    Some(other) => return Err(invalid(format!("unsupported specifier %{other}"))),
                    None => return Err(invalid("ends with a lone %".into())),
                },
                c if c.is_whitespace() => Piece::Whitespace,
                c => Piece::Literal(c),
            };
            pieces.push(piece);
        }
        let has = |wanted: &[Piece]| pieces.iter().any(|p| wanted.contains(p));
        if !has(&[Piece::Year, Piece::TwoDigitYear])
            || !has(&[Piece::Month, Piece::MonthName])
            || !has(&[Piece::Day])
        {
            return Err(invalid("needs a year, a month and a day".into()));
        }
        Ok(TimeFormat {
            pattern: pattern.to_string(),
            pieces,
        })
    }

    /// The pattern as given.
    pub fn pattern(&self) -> &str {
        &self.pattern
    }

    /// Reads `raw` (trimmed) with this pattern as UTC microseconds; `None` when it does not match
    /// or names an impossible date or time.
    pub fn parse(&self, raw: &str) -> Option<Micros> {
        let mut rest = raw.trim();
        let mut time = CivilTime {
            day: 1,
            month: 1,
            ..CivilTime::default()
        };
        for piece in &self.pieces {
            rest = match piece {
                Piece::Year => take_number(rest, 4, 4, &mut time.year)?,
                Piece::TwoDigitYear => {
                    let rest = take_number(rest, 2, 2, &mut time.year)?;
                    time.year += if time.year < 69 { 2000 } else { 1900 };
                    rest
                }
                Piece::Month => take_number(rest, 1, 2, &mut time.month)?,
                Piece::MonthName => take_month_name(rest, &mut time.month)?,
                Piece::Day => take_number(rest, 1, 2, &mut time.day)?,
                Piece::Hour => take_number(rest, 1, 2, &mut time.hour)?,
                Piece::Minute => take_number(rest, 1, 2, &mut time.minute)?,
                Piece::Second => take_number(rest, 1, 2, &mut time.second)?,
                Piece::Offset => take_offset(rest, &mut time.offset_seconds)?,
                Piece::Whitespace => rest.trim_start(),
                Piece::Literal(c) => rest.strip_prefix(*c)?,
            };
        }
        if !rest.is_empty() {
            return None;
        }
        time.to_micros()
    }
}

/// Reads `min..=max` ASCII digits into `value` and returns what follows them.
fn take_number<'a>(input: &'a str, min: usize, max: usize, value: &mut i64) -> Option<&'a str> {
    let digits = input
        .bytes()
        .take(max)
        .take_while(u8::is_ascii_digit)
        .count();
    if digits < min {
        return None;
    }
    *value = input[..digits].parse().ok()?;
    Some(&input[digits..])
}

const MONTH_NAMES: [&str; 12] = [
    "january",
    "february",
    "march",
    "april",
    "may",
    "june",
    "july",
    "august",
    "september",
    "october",
    "november",
    "december",
];

/// Reads an English month name, full or abbreviated to three letters, in any case.
fn take_month_name<'a>(input: &'a str, month: &mut i64) -> Option<&'a str> {
    let letters = input.bytes().take_while(u8::is_ascii_alphabetic).count();
    let word = input[..letters].to_ascii_lowercase();
    let number = MONTH_NAMES
        .iter()
        .position(|name| word == *name || (word.len() == 3 && name.starts_with(&word)))?;
    *month = number as i64 + 1;
    Some(&input[letters..])
}

/// Reads a `%z` offset (`Z`, `+hh:mm`, `-hhmm`, `+hh`) and returns what follows it.
fn take_offset<'a>(input: &'a str, offset_seconds: &mut i64) -> Option<&'a str> {
    if let Some(rest) = input.strip_prefix(['Z', 'z']) {
        *offset_seconds = 0;
        return Some(rest);
    }
    if !input.starts_with(['+', '-']) {
        return None;
    }
    let length = 1 + input[1..]
        .bytes()
        .take(5)
        .take_while(|b| b.is_ascii_digit() || *b == b':')
        .count();
    *offset_seconds = parse_offset(&input[..length])?;
    Some(&input[length..])
}

/// A wall-clock date and time with its offset east of UTC.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
struct CivilTime {
    year: i64,
    month: i64,
    day: i64,
    hour: i64,
    minute: i64,
    second: i64,
    micros: i64,
    offset_seconds: i64,
}

impl CivilTime {
    /// UTC microseconds, or `None` for an impossible date or time (30 February, 25:00).
    /// A leap second (`:60`) is read as the next second.
    fn to_micros(self) -> Option<Micros> {
        let days_in_month = match self.month {
            2 if is_leap_year(self.year) => 29,
            2 => 28,
            4 | 6 | 9 | 11 => 30,
            1..=12 => 31,
            _ => return None,
        };
        let valid = (1..=9999).contains(&self.year)
            && (1..=days_in_month).contains(&self.day)
            && (0..=23).contains(&self.hour)
            && (0..=59).contains(&self.minute)
            && (0..=60).contains(&self.second)
            && (0..MICROS_PER_SECOND).contains(&self.micros);
        if !valid {
            return None;
        }
        let days = days_from_civil(self.year, self.month, self.day);
        let seconds =
            days * 86_400 + self.hour * 3600 + self.minute * 60 + self.second - self.offset_seconds;
        Some(seconds * MICROS_PER_SECOND + self.micros)
    }
}

fn is_leap_year(year: i64) -> bool {
    year % 4 == 0 && (year % 100 != 0 || year % 400 == 0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::format_rfc3339;

    const SECOND: i64 = MICROS_PER_SECOND;
    /// 2015-02-24T11:35:00Z
    const TUESDAY: i64 = 1_424_777_700 * SECOND;

    #[test]
    fn timestamps_in_common_export_formats() {
        assert_eq!(parse_timestamp("2/24/2015 11:35"), Some(TUESDAY));
        assert_eq!(parse_timestamp("2015-02-24 11:35"), Some(TUESDAY));
        assert_eq!(parse_timestamp("2015-02-24T11:35:00Z"), Some(TUESDAY));
        assert_eq!(parse_timestamp("2015-02-24T12:35:00+01:00"), Some(TUESDAY));
        assert_eq!(parse_timestamp("2015-02-24 03:35:00 -0800"), Some(TUESDAY));
        assert_eq!(
            parse_timestamp("2015-02-24T11:35:00.25Z"),
            Some(TUESDAY + SECOND / 4)
        );
        assert_eq!(parse_timestamp("1424777700"), Some(TUESDAY));
        assert_eq!(
            parse_timestamp("2015-02-24"),
            Some(TUESDAY - (11 * 3600 + 35 * 60) * SECOND)
        );
        assert_eq!(parse_timestamp("1970-01-01T00:00:00Z"), Some(0));
        assert_eq!(
            parse_timestamp("2024-02-29 00:00"),
            Some(1_709_164_800 * SECOND)
        );
        for bad in [
            "",
            "yesterday",
            "13/1/2015 10:00",
            "2015-02-30",
            "2015-02-30x",
            "2023-02-29",
            "2015-02-24 25:00",
            "2015-02-24 11:35 +2500",
        ] {
            assert_eq!(parse_timestamp(bad), None, "{bad:?}");
        }
    }

    fn parse_with(pattern: &str, raw: &str) -> Option<Micros> {
        TimeFormat::new(pattern).unwrap().parse(raw)
    }

    #[test]
    fn time_format_reads_every_specifier() {
        assert_eq!(
            parse_with("%d/%m/%Y %H:%M:%S", "24/02/2015 11:35:00"),
            Some(TUESDAY)
        );
        assert_eq!(parse_with("%d.%m.%y %H:%M", "24.2.15 11:35"), Some(TUESDAY));
        assert_eq!(
            parse_with("%b %d %Y %H:%M", "FEB 24 2015 11:35"),
            Some(TUESDAY)
        );
        assert_eq!(
            parse_with("%d %b %Y %H:%M", "24 february 2015 11:35"),
            Some(TUESDAY)
        );
        assert_eq!(
            parse_with("%Y-%m-%d %H:%M:%S %z", "2015-02-24 03:35:00 -0800"),
            Some(TUESDAY)
        );
        assert_eq!(
            parse_with("%Y-%m-%dT%H:%M:%S%z", "2015-02-24T12:35:00+01:00"),
            Some(TUESDAY)
        );
        assert_eq!(
            parse_with("%Y-%m-%dT%H:%M:%S%z", "2015-02-24T11:35:00Z"),
            Some(TUESDAY)
        );
        assert_eq!(
            parse_with("%Y%m%d", "20150224"),
            Some(TUESDAY - (11 * 3600 + 35 * 60) * SECOND)
        );
        assert_eq!(
            parse_with("%y-%m-%d", "69-01-01"),
            Some(-365 * 86_400 * SECOND)
        );
        assert_eq!(
            parse_with("100%% on %Y-%m-%d", "100% on 1970-01-02"),
            Some(86_400 * SECOND)
        );
        // A space matches any run of whitespace, including none.
        assert_eq!(
            parse_with("%b %d %Y %H:%M", "Feb  24 2015   11:35"),
            Some(TUESDAY)
        );
    }

    #[test]
    fn time_format_refuses_what_does_not_match() {
        for (pattern, raw) in [
            ("%d/%m/%Y", "2015-02-24"),
            ("%d/%m/%Y", "24/02/2015 11:35"),
            ("%d/%m/%Y", "30/02/2015"),
            ("%d/%m/%Y %H:%M", "24/02/2015 24:00"),
            ("%b %d %Y", "Fbr 24 2015"),
            ("%Y-%m-%d %z", "2015-02-24 0800"),
            ("%Y-%m-%d", "15-02-24"),
            ("%Y-%m-%d", ""),
        ] {
            assert_eq!(parse_with(pattern, raw), None, "{pattern} {raw:?}");
        }
        for pattern in ["%d/%m/%Y %Q", "%Y-%m-%d %", "%H:%M"] {
            assert!(
                matches!(
                    TimeFormat::new(pattern),
                    Err(ImportError::TimeFormat { .. })
                ),
                "{pattern}"
            );
        }
    }

    #[test]
    fn utc_formatting_inverts_parsing() {
        assert_eq!(format_rfc3339(TUESDAY), "2015-02-24T11:35:00Z");
        assert_eq!(format_rfc3339(0), "1970-01-01T00:00:00Z");
        assert_eq!(
            format_rfc3339(1_709_164_800 * SECOND + 250_000),
            "2024-02-29T00:00:00.250000Z"
        );
        for micros in [TUESDAY, 951_782_400 * SECOND, 4_102_444_799 * SECOND] {
            assert_eq!(parse_timestamp(&format_rfc3339(micros)), Some(micros));
        }
    }
}
