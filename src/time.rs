//! The one home of time: instants as microseconds since the Unix epoch (UTC), the units they are
//! counted in, the clock, RFC 3339 text, and UTC bucket sizes. Calendar arithmetic is the `time`
//! crate's.

use serde::{Deserialize, Serialize};

/// Microseconds since the Unix epoch, UTC.
pub type Micros = i64;

/// One second, in microseconds.
pub const SECOND: Micros = 1_000_000;
/// One hour, in microseconds.
pub const HOUR: Micros = 3_600 * SECOND;
/// One day, in microseconds.
pub const DAY: Micros = 24 * HOUR;

/// The current time (0 if the clock is before 1970).
pub fn now() -> Micros {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_micros() as Micros)
        .unwrap_or(0)
}

/// The clock the server's schedules read: the system clock shifted by a fixed offset (zero in
/// production; drills and tests move it forward to see what is due days ahead).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Clock {
    offset: Micros,
}

impl Clock {
    /// The system clock moved by `offset`.
    pub fn shifted(offset: Micros) -> Clock {
        Clock { offset }
    }

    /// The current time on this clock.
    pub fn now(&self) -> Micros {
        now().saturating_add(self.offset)
    }
}

/// Seconds as microseconds, saturating at the ends of the range.
pub fn from_secs(seconds: i64) -> Micros {
    seconds.saturating_mul(SECOND)
}

/// Formats a time as RFC 3339 in UTC: `2015-02-24T11:35:00Z`, with microseconds only when there
/// are any (`2015-02-24T11:35:00.250000Z`). Times outside the years -9999..=9999 are written as
/// the nearest end of that range.
pub fn format_rfc3339(micros: Micros) -> String {
    let at = datetime(micros);
    let fraction = match at.microsecond() {
        0 => String::new(),
        us => format!(".{us:06}"),
    };
    format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}{fraction}Z",
        at.year(),
        u8::from(at.month()),
        at.day(),
        at.hour(),
        at.minute(),
        at.second()
    )
}

/// The UTC calendar date of a time, `YYYY-MM-DD`.
pub fn format_date(micros: Micros) -> String {
    let at = datetime(micros);
    format!(
        "{:04}-{:02}-{:02}",
        at.year(),
        u8::from(at.month()),
        at.day()
    )
}

/// The UTC date and time of `micros`, clamped to what the `time` crate represents.
fn datetime(micros: Micros) -> time::OffsetDateTime {
    let nanos = i128::from(micros) * 1_000;
    let min = time::PrimitiveDateTime::MIN.assume_utc();
    let max = time::PrimitiveDateTime::MAX.assume_utc();
    time::OffsetDateTime::from_unix_timestamp_nanos(nanos).unwrap_or(if micros < 0 {
        min
    } else {
        max
    })
}

/// Bucket size of a time series.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Granularity {
    Hour,
    Day,
    /// Weeks start on Monday, UTC.
    Week,
}

impl Granularity {
    /// The length of one bucket (days and weeks have fixed lengths in UTC).
    pub fn length(self) -> Micros {
        match self {
            Granularity::Hour => HOUR,
            Granularity::Day => DAY,
            Granularity::Week => 7 * DAY,
        }
    }

    /// The start of the bucket holding `at`.
    pub fn bucket_start(self, at: Micros) -> Micros {
        match self {
            Granularity::Hour => at.div_euclid(HOUR) * HOUR,
            Granularity::Day => at.div_euclid(DAY) * DAY,
            // 1970-01-01 was a Thursday: shift by 3 days so weeks start on Monday.
            Granularity::Week => (at + 3 * DAY).div_euclid(7 * DAY) * 7 * DAY - 3 * DAY,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc3339_formats_utc_dates() {
        assert_eq!(format_rfc3339(0), "1970-01-01T00:00:00Z");
        assert_eq!(
            format_rfc3339(1_424_777_700 * 1_000_000),
            "2015-02-24T11:35:00Z"
        );
        assert_eq!(
            format_rfc3339(951_782_400 * 1_000_000),
            "2000-02-29T00:00:00Z"
        );
        assert_eq!(format_rfc3339(-1_000_000), "1969-12-31T23:59:59Z");
        assert_eq!(format_rfc3339(250_000), "1970-01-01T00:00:00.250000Z");
        assert_eq!(format_date(951_782_400 * 1_000_000 + 5), "2000-02-29");
        assert_eq!(format_rfc3339(i64::MAX), "9999-12-31T23:59:59.999999Z");
        assert_eq!(format_rfc3339(i64::MIN), "-9999-01-01T00:00:00Z");
    }

    #[test]
    fn buckets_are_utc_hours_days_and_monday_weeks() {
        // 2015-02-24 (a Tuesday) 11:35:00 UTC.
        let t = 1_424_777_700 * 1_000_000;
        assert_eq!(Granularity::Hour.bucket_start(t), 1_424_775_600 * 1_000_000);
        assert_eq!(Granularity::Day.bucket_start(t), 1_424_736_000 * 1_000_000);
        // Monday 2015-02-23.
        assert_eq!(Granularity::Week.bucket_start(t), 1_424_649_600 * 1_000_000);
        assert_eq!(Granularity::Week.length(), 7 * DAY);
    }
}
