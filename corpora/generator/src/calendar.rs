//! The few calendar operations the generator needs, on top of the `time` crate: the `--end` date
//! as the command line takes it, weekdays, UTC midnights and days of Unix times, and RFC 3339
//! output.

use time::format_description::well_known::Rfc3339;
use time::{Date, Month, OffsetDateTime};

/// A string that is not a `YYYY-MM-DD` date.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("not a YYYY-MM-DD date: {0:?}")]
pub struct DateError(pub String);

/// Parses a `YYYY-MM-DD` date with a year from 1970 to 9999 (surrounding blanks are ignored; the
/// month and day may go without their leading zero). Rejects dates that do not exist
/// (`2026-02-30`).
pub fn parse_date(s: &str) -> Result<Date, DateError> {
    let invalid = || DateError(s.to_string());
    let mut parts = s.trim().split('-');
    let mut number = || parts.next().and_then(|p| p.parse::<i64>().ok());
    let (year, month, day) = (
        number().ok_or_else(invalid)?,
        number().ok_or_else(invalid)?,
        number().ok_or_else(invalid)?,
    );
    if parts.next().is_some() || !(1970..=9999).contains(&year) {
        return Err(invalid());
    }
    let year = i32::try_from(year).map_err(|_| invalid())?;
    let month = u8::try_from(month)
        .ok()
        .and_then(|m| Month::try_from(m).ok())
        .ok_or_else(invalid)?;
    let day = u8::try_from(day).map_err(|_| invalid())?;
    Date::from_calendar_date(year, month, day).map_err(|_| invalid())
}

/// The date's day of the week: Monday is 0, Sunday is 6.
pub(crate) fn weekday_index(date: Date) -> usize {
    usize::from(date.weekday().number_days_from_monday())
}

/// The Unix time (seconds) of the date's UTC midnight.
pub(crate) fn unix_midnight(date: Date) -> i64 {
    date.midnight().assume_utc().unix_timestamp()
}

/// The UTC day of a Unix time in seconds.
///
/// # Panics
/// When the time lies outside the years -9999 to 9999, which no generated row does.
pub(crate) fn utc_date(unix_seconds: i64) -> Date {
    OffsetDateTime::from_unix_timestamp(unix_seconds)
        .expect("generated times lie within the years -9999 to 9999")
        .date()
}

/// RFC 3339 in UTC with second precision: `2026-10-26T14:03:27Z`.
///
/// # Panics
/// When the time lies outside the years 0 to 9999 (RFC 3339 has four-digit years), which no
/// generated row does.
pub(crate) fn rfc3339(unix_seconds: i64) -> String {
    OffsetDateTime::from_unix_timestamp(unix_seconds)
        .ok()
        .and_then(|time| time.format(&Rfc3339).ok())
        .expect("generated times lie within the years 0 to 9999")
}

#[cfg(test)]
mod tests {
    use time::Weekday;

    use super::*;

    #[test]
    fn dates_parse_round_trip_and_know_their_weekday() {
        let end = parse_date("2026-11-01").unwrap();
        assert_eq!(end.to_string(), "2026-11-01");
        assert_eq!(end.weekday(), Weekday::Sunday, "2026-11-01 is a Sunday");
        assert_eq!(weekday_index(end), 6);
        assert_eq!(parse_date(" 2026-1-5 ").unwrap().to_string(), "2026-01-05");
        assert_eq!(utc_date(0).to_string(), "1970-01-01");
        for days in [-1, 0, 59, 365, 10_957, 20_000, 20_758] {
            let date = utc_date(days * 86_400 + 3_600);
            assert_eq!(unix_midnight(date), days * 86_400);
        }
        assert_eq!(rfc3339(1_791_923_200), "2026-10-13T20:26:40Z");
        for bad in [
            "2026-02-30",
            "2026-13-01",
            "26-11-01",
            "2026/11/01",
            "2026-11-01-2",
            "1969-12-31",
            "2026-11-256",
        ] {
            assert!(parse_date(bad).is_err(), "{bad}");
        }
    }
}
