//! Calendar dates in UTC for the generator (integer arithmetic only, via the model's
//! `days_from_civil` / `civil_from_days`), and RFC 3339 formatting.

use std::fmt;
use std::str::FromStr;

use crate::model::{civil_from_days, days_from_civil, format_rfc3339};

/// A calendar date (proleptic Gregorian, UTC).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Date {
    pub year: i64,
    pub month: u32,
    pub day: u32,
}

/// A string that is not a `YYYY-MM-DD` date.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("not a YYYY-MM-DD date: {0:?}")]
pub struct DateError(pub String);

const MONTH_NAMES: [&str; 12] = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
];

impl Date {
    /// Days since 1970-01-01.
    pub fn days_since_epoch(self) -> i64 {
        days_from_civil(self.year, i64::from(self.month), i64::from(self.day))
    }

    /// The date `days` after 1970-01-01.
    pub fn from_days_since_epoch(days: i64) -> Date {
        let (year, month, day) = civil_from_days(days);
        Date {
            year,
            month: month as u32,
            day: day as u32,
        }
    }

    /// Monday is 0, Sunday is 6.
    pub fn weekday(self) -> usize {
        // 1970-01-01 was a Thursday.
        (self.days_since_epoch() + 3).rem_euclid(7) as usize
    }

    /// The English month name: "January".
    pub fn month_name(self) -> &'static str {
        MONTH_NAMES[(self.month as usize).clamp(1, 12) - 1]
    }
}

impl fmt::Display for Date {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:04}-{:02}-{:02}", self.year, self.month, self.day)
    }
}

impl FromStr for Date {
    type Err = DateError;

    fn from_str(s: &str) -> Result<Date, DateError> {
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
        let date = Date {
            year,
            month: u32::try_from(month).map_err(|_| invalid())?,
            day: u32::try_from(day).map_err(|_| invalid())?,
        };
        // Rejects 2026-02-30 and friends: a valid date survives the round trip.
        if Date::from_days_since_epoch(date.days_since_epoch()) != date {
            return Err(invalid());
        }
        Ok(date)
    }
}

/// RFC 3339 in UTC with second precision: `2026-10-26T14:03:27Z`.
pub fn rfc3339(unix_seconds: i64) -> String {
    format_rfc3339(unix_seconds * 1_000_000)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_round_trip_and_know_their_weekday() {
        let end: Date = "2026-11-01".parse().unwrap();
        assert_eq!(end.to_string(), "2026-11-01");
        assert_eq!(end.weekday(), 6, "2026-11-01 is a Sunday");
        assert_eq!(Date::from_days_since_epoch(0).to_string(), "1970-01-01");
        for days in [-1, 0, 59, 365, 10_957, 20_000, 20_758] {
            let date = Date::from_days_since_epoch(days);
            assert_eq!(date.days_since_epoch(), days);
        }
        assert_eq!(rfc3339(1_791_923_200), "2026-10-13T20:26:40Z");
        for bad in [
            "2026-02-30",
            "2026-13-01",
            "26-11-01",
            "2026/11/01",
            "2026-11-01-2",
        ] {
            assert!(bad.parse::<Date>().is_err(), "{bad}");
        }
    }
}
