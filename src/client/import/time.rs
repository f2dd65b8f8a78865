//! Timestamps as exports write them: the common formats without configuration, and explicit
//! strftime-like patterns (`--time-format`). Everything becomes UTC microseconds.
//!
//! The `time` crate does the reading: each format is a list of its format items, read into a
//! [`Parsed`], and [`UtcDateTime`] checks the calendar and does the arithmetic. What is ours is
//! which formats there are, the defaults for the fields a value leaves out, and three readings
//! the crate does not make: two-digit years, leap seconds, and offsets of at most ±23:59.

use std::borrow::Cow;
use std::sync::LazyLock;

use time::format_description::modifier::{self, Padding};
use time::format_description::{Component, OwnedFormatItem};
use time::parsing::Parsed;
use time::UtcDateTime;

use super::ImportError;
use crate::time::{Micros, SECOND};

/// Parses the timestamp formats exports commonly use, as UTC: RFC 3339
/// (`2015-02-24T11:35:52Z`, `+01:00` offsets), `YYYY-MM-DD HH:MM[:SS]` with an optional offset
/// (`-0800`, `+01:00`, `Z`), `YYYY-MM-DD`, `M/D/YYYY H:MM[:SS]`, and unix seconds.
pub fn parse_timestamp(raw: &str) -> Option<Micros> {
    static COMMON: LazyLock<Vec<OwnedFormatItem>> = LazyLock::new(common_formats);
    let raw = raw.trim();
    if !raw.is_empty() && raw.bytes().all(|b| b.is_ascii_digit()) {
        return raw.parse::<i64>().ok()?.checked_mul(SECOND);
    }
    // The date ends at a `T` or a space; a tab or another whitespace is no separator.
    let date = raw.split(['T', ' ']).next().unwrap_or(raw);
    if date.contains(char::is_whitespace) {
        return None;
    }
    read(&COMMON, raw)
}

/// What [`parse_timestamp`] reads besides unix seconds: a date (`YYYY-MM-DD` or `M/D/YYYY`),
/// then optionally `T` or a space followed by a clock `H[:MM[:SS[.fraction]]]` and an offset,
/// either of which may be missing (`2015-02-24T` is midnight, as it always was).
fn common_formats() -> Vec<OwnedFormatItem> {
    let date = first([
        seq([year(Padding::None), lit("-"), month(), lit("-"), day()]),
        seq([month(), lit("/"), day(), lit("/"), year(Padding::None)]),
    ]);
    let subsecond = Component::Subsecond(modifier::Subsecond::default()).into();
    let seconds = seq([
        lit(":"),
        second(),
        optional(seq([lit("."), optional(subsecond)])),
    ]);
    let clock = seq([
        hour(),
        optional(seq([lit(":"), minute(), optional(seconds)])),
    ]);
    let time_of_day = seq([
        first([lit("T"), lit(" ")]),
        optional(lit(" ")),
        optional(clock),
        optional(lit(" ")),
        optional(offset()),
    ]);
    vec![date, optional(time_of_day)]
}

/// A date-time pattern from `--time-format`, e.g. `%d/%m/%Y %H:%M` or `%b %d %Y %H:%M:%S %z`.
///
/// Specifiers: `%Y` (4-digit year), `%y` (2-digit year: 69–99 → 1900s, 00–68 → 2000s), `%m`,
/// `%d`, `%H`, `%M`, `%S` (1 or 2 digits), `%b` (English month name, abbreviated or full, any
/// case), `%z` (`Z`, `+hh:mm`, `-hhmm`, `+hh`) and `%%`. A space in the pattern matches any run of
/// whitespace (including none); every other character matches itself. The whole value must match.
/// Fields the pattern lacks default to the start of their range (day 1, midnight, UTC).
///
/// The `time` crate's own strftime reader (`parse_strftime_owned`) is not used: its numbers want
/// two digits, its `%b` only the abbreviation in title case, its `%z` only `±hhmm`, and it
/// takes some thirty specifiers this tool has always refused. The ten specifiers map directly to
/// the crate's format items instead.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TimeFormat {
    pattern: String,
    items: Vec<OwnedFormatItem>,
}

impl TimeFormat {
    /// Compiles a pattern; an unknown specifier or a pattern without a year, month and day is an error.
    pub fn new(pattern: &str) -> Result<TimeFormat, ImportError> {
        let invalid = |reason: String| ImportError::TimeFormat {
            pattern: pattern.to_string(),
            reason,
        };
        let mut items = Vec::new();
        let (mut has_year, mut has_month, mut has_day) = (false, false, false);
        let mut chars = pattern.chars();
        while let Some(c) = chars.next() {
            let item = match c {
                '%' => match chars.next() {
                    Some('Y') => {
                        has_year = true;
                        year(Padding::Zero)
                    }
                    Some('y') => {
                        has_year = true;
                        Component::CalendarYearLastTwo(modifier::CalendarYearLastTwo::default())
                            .into()
                    }
                    Some('m') => {
                        has_month = true;
                        month()
                    }
                    Some('b') => {
                        has_month = true;
                        month_name()
                    }
                    Some('d') => {
                        has_day = true;
                        day()
                    }
                    Some('H') => hour(),
                    Some('M') => minute(),
                    Some('S') => second(),
                    Some('z') => offset(),
                    Some('%') => lit("%"),
                    Some(other) => return Err(invalid(format!("unsupported specifier %{other}"))),
                    None => return Err(invalid("ends with a lone %".into())),
                },
                // Values are read with each whitespace run squeezed to one space.
                c if c.is_whitespace() => optional(lit(" ")),
                c => lit(c.encode_utf8(&mut [0; 4])),
            };
            items.push(item);
        }
        if !(has_year && has_month && has_day) {
            return Err(invalid("needs a year, a month and a day".into()));
        }
        Ok(TimeFormat {
            pattern: pattern.to_string(),
            items,
        })
    }

    /// The pattern as given.
    pub fn pattern(&self) -> &str {
        &self.pattern
    }

    /// Reads `raw` (trimmed) with this pattern as UTC microseconds; `None` when it does not match
    /// or names an impossible date or time.
    pub fn parse(&self, raw: &str) -> Option<Micros> {
        read(&self.items, raw)
    }
}

/// Reads all of `raw`, trimmed and with each run of whitespace squeezed to one space, with
/// `items`, as UTC microseconds.
fn read(items: &[OwnedFormatItem], raw: &str) -> Option<Micros> {
    let raw = squeeze_whitespace(raw);
    let mut parsed = Parsed::new();
    let rest = parsed.parse_items(raw.as_bytes(), items).ok()?;
    if !rest.is_empty() {
        return None;
    }
    utc_micros(parsed)
}

/// `raw` trimmed, with every run of whitespace in it replaced by one space. Only whitespace
/// items (an optional space) read whitespace, so a pattern's space matches any run, none
/// included.
fn squeeze_whitespace(raw: &str) -> Cow<'_, str> {
    let raw = raw.trim();
    let mut after_space = false;
    let squeezed = raw.chars().all(|c| {
        let single = !c.is_whitespace() || (c == ' ' && !after_space);
        after_space = c.is_whitespace();
        single
    });
    if squeezed {
        Cow::Borrowed(raw)
    } else {
        Cow::Owned(raw.split_whitespace().collect::<Vec<_>>().join(" "))
    }
}

/// UTC microseconds from what a format read, or `None` for an impossible date or time
/// (30 February, 25:00). Fields it lacks default to midnight, UTC; a two-digit year is 1969 to
/// 2068; a leap second (`:60`) is read as the next second; an offset is at most ±23:59.
fn utc_micros(mut parsed: Parsed) -> Option<Micros> {
    if parsed.year().is_none() {
        let two_digits = i32::from(parsed.year_last_two()?);
        parsed.set_year(two_digits + if two_digits < 69 { 2000 } else { 1900 })?;
    }
    if parsed.year()? < 1 || parsed.offset_hour().is_some_and(|h| h.unsigned_abs() > 23) {
        return None;
    }
    if parsed.hour_24().is_none() {
        parsed.set_hour_24(0)?;
    }
    if parsed.minute().is_none() {
        parsed.set_minute(0)?;
    }
    let leap_second = parsed.second() == Some(60);
    match parsed.second() {
        Some(60) => parsed.set_second(59)?,
        None => parsed.set_second(0)?,
        Some(_) => {}
    }
    let utc = UtcDateTime::try_from(parsed).ok()?;
    let micros = utc.unix_timestamp() * SECOND + i64::from(utc.microsecond());
    Some(micros + i64::from(leap_second) * SECOND)
}

// The format items the formats above are made of.

fn lit(text: &str) -> OwnedFormatItem {
    OwnedFormatItem::StringLiteral(text.into())
}

fn seq<const N: usize>(items: [OwnedFormatItem; N]) -> OwnedFormatItem {
    OwnedFormatItem::Compound(items.into())
}

/// The first of `items` that matches.
fn first<const N: usize>(items: [OwnedFormatItem; N]) -> OwnedFormatItem {
    OwnedFormatItem::First(items.into())
}

fn optional(item: OwnedFormatItem) -> OwnedFormatItem {
    OwnedFormatItem::Optional(Box::new(item))
}

/// A year of four digits (`Padding::Zero`) or one to four (`Padding::None`).
fn year(padding: Padding) -> OwnedFormatItem {
    let year = modifier::CalendarYearFullStandardRange::default().with_padding(padding);
    Component::CalendarYearFullStandardRange(year).into()
}

// Month, day, hour, minute and second numbers have one or two digits.

fn month() -> OwnedFormatItem {
    Component::MonthNumerical(modifier::MonthNumerical::default().with_padding(Padding::None))
        .into()
}

fn day() -> OwnedFormatItem {
    Component::Day(modifier::Day::default().with_padding(Padding::None)).into()
}

fn hour() -> OwnedFormatItem {
    Component::Hour24(modifier::Hour24::default().with_padding(Padding::None)).into()
}

fn minute() -> OwnedFormatItem {
    Component::Minute(modifier::Minute::default().with_padding(Padding::None)).into()
}

fn second() -> OwnedFormatItem {
    Component::Second(modifier::Second::default().with_padding(Padding::None)).into()
}

/// An English month name, full or abbreviated to three letters, in any case.
fn month_name() -> OwnedFormatItem {
    first([
        Component::MonthLong(modifier::MonthLong::default().with_case_sensitive(false)).into(),
        Component::MonthShort(modifier::MonthShort::default().with_case_sensitive(false)).into(),
    ])
}

/// A UTC offset: `Z`, or a sign and hours, then minutes: `-0800` (two digits each), `+01:00` or
/// `+1:30` (one or two each side of the colon), `+01` or `+1` (hours only).
fn offset() -> OwnedFormatItem {
    let hours = |padding| {
        let hours = modifier::OffsetHour::default().with_sign_is_mandatory(true);
        OwnedFormatItem::from(Component::OffsetHour(hours.with_padding(padding)))
    };
    let minutes = |padding| {
        let minutes = modifier::OffsetMinute::default().with_padding(padding);
        OwnedFormatItem::from(Component::OffsetMinute(minutes))
    };
    first([
        lit("Z"),
        lit("z"),
        seq([hours(Padding::Zero), minutes(Padding::Zero)]),
        seq([hours(Padding::None), lit(":"), minutes(Padding::None)]),
        hours(Padding::None),
    ])
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::time::format_rfc3339;

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

    /// Readings the hand-written parser made that the `time` crate does not make by itself.
    #[test]
    fn readings_kept_from_the_hand_written_parser() {
        // A leap second is the next second.
        assert_eq!(
            parse_timestamp("2015-02-24T23:59:60Z"),
            Some(1_424_822_400 * SECOND)
        );
        assert_eq!(
            parse_with("%d/%m/%Y %H:%M:%S", "31/12/2016 23:59:60"),
            Some(1_483_228_800 * SECOND)
        );
        // A date with an empty clock is midnight.
        assert_eq!(
            parse_timestamp("2015-02-24T"),
            Some(TUESDAY - (11 * 3600 + 35 * 60) * SECOND)
        );
        // One-digit offset hours or minutes around a colon.
        assert_eq!(
            parse_timestamp("2015-02-24 11:35 +1:30"),
            Some(TUESDAY - 5400 * SECOND)
        );
        assert_eq!(
            parse_timestamp("2015-02-24 11:35 +01:0"),
            Some(TUESDAY - 3600 * SECOND)
        );
        assert_eq!(
            parse_with("%Y-%m-%d %H:%M %z", "2015-02-24 12:35 +1"),
            Some(TUESDAY)
        );
        // Three offset digits and a tab after the date are not read.
        assert_eq!(parse_timestamp("2015-02-24 11:35 +100"), None);
        assert_eq!(parse_timestamp("2015-02-24\t11:35"), None);
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
