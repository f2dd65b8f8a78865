//! The domain model: verbatims as they arrive and as they are stored, and the rules a new verbatim
//! must satisfy before anything is written.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::tagging::tags::{GivenTags, Tags};

/// Microseconds since the Unix epoch, UTC.
pub type Micros = i64;

/// One day in microseconds.
pub const DAY_MICROS: Micros = 86_400 * 1_000_000;

/// Where a verbatim came from.
#[derive(
    Debug, Clone, Copy, Default, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize,
)]
#[serde(rename_all = "snake_case")]
pub enum Source {
    Survey,
    Ticket,
    Review,
    Chat,
    Social,
    Email,
    #[default]
    Other,
}

impl Source {
    /// Every source, in a fixed order.
    pub const ALL: [Source; 7] = [
        Source::Survey,
        Source::Ticket,
        Source::Review,
        Source::Chat,
        Source::Social,
        Source::Email,
        Source::Other,
    ];

    /// A short lowercase name, used in index terms and on the command line.
    pub fn as_str(self) -> &'static str {
        match self {
            Source::Survey => "survey",
            Source::Ticket => "ticket",
            Source::Review => "review",
            Source::Chat => "chat",
            Source::Social => "social",
            Source::Email => "email",
            Source::Other => "other",
        }
    }

    /// The inverse of [`Source::as_str`].
    pub fn parse(name: &str) -> Option<Source> {
        Source::ALL.into_iter().find(|s| s.as_str() == name)
    }

    /// A stable one-byte code, used in store keys.
    pub fn code(self) -> u8 {
        self as u8
    }
}

/// Optional customer-experience scores.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Scores {
    /// Net Promoter Score answer, 0–10.
    pub nps: Option<u8>,
    /// Customer satisfaction, 1–5.
    pub csat: Option<u8>,
    /// Customer effort score, 1–7.
    pub ces: Option<u8>,
}

/// A verbatim as a caller submits it, before validation and tagging.
#[derive(Debug, Clone, PartialEq)]
pub struct NewVerbatim {
    /// `Err(raw)` when the caller sent a value that is not a known source (the raw value is kept for the error).
    pub source: Result<Source, i32>,
    pub external_id: String,
    pub text: String,
    /// `(seconds, nanos)` since the epoch, as sent.
    pub created_at: Option<(i64, i32)>,
    pub customer_id: String,
    pub account_id: String,
    pub language: String,
    pub metadata: BTreeMap<String, String>,
    /// Raw scores as sent; validated into [`Scores`].
    pub nps: Option<i32>,
    pub csat: Option<i32>,
    pub ces: Option<i32>,
    /// Tags the caller already knows, or the reason they could not be read.
    pub tags: Result<GivenTags, ValidationError>,
}

/// A stored verbatim. `seq` is its position in the store's arrival order and the root of its id.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Verbatim {
    /// Not serialised: the store keeps it in the key.
    #[serde(skip)]
    pub seq: u64,
    pub workspace: String,
    pub source: Source,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub external_id: Option<String>,
    pub text: String,
    pub created_at: Micros,
    pub received_at: Micros,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub customer_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub account_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub language: Option<String>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub metadata: BTreeMap<String, String>,
    #[serde(default)]
    pub scores: Scores,
    #[serde(default)]
    pub tags: Tags,
    /// The theme it belongs to (`TH-0001`), if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub theme: Option<String>,
}

impl Default for NewVerbatim {
    fn default() -> Self {
        NewVerbatim {
            source: Ok(Source::Other),
            external_id: String::new(),
            text: String::new(),
            created_at: None,
            customer_id: String::new(),
            account_id: String::new(),
            language: String::new(),
            metadata: BTreeMap::new(),
            nps: None,
            csat: None,
            ces: None,
            tags: Ok(GivenTags::default()),
        }
    }
}

impl Verbatim {
    /// The public id: sortable by arrival, e.g. `vb_00000000002a`.
    pub fn id(&self) -> String {
        VerbatimId(self.seq).to_string()
    }
}

/// The public form of a verbatim's sequence number.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct VerbatimId(pub u64);

impl std::fmt::Display for VerbatimId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "vb_{:012x}", self.0)
    }
}

impl std::str::FromStr for VerbatimId {
    type Err = ValidationError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let malformed = || ValidationError::new("id", format!("malformed verbatim id {s:?}"));
        let hex = s.strip_prefix("vb_").ok_or_else(malformed)?;
        if hex.len() != 12 {
            return Err(malformed());
        }
        u64::from_str_radix(hex, 16)
            .map(VerbatimId)
            .map_err(|_| malformed())
    }
}

/// A field that failed validation, with a lowercase message naming the rule.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {message}")]
pub struct ValidationError {
    pub field: String,
    pub message: String,
}

impl ValidationError {
    pub fn new(field: impl Into<String>, message: impl Into<String>) -> Self {
        ValidationError {
            field: field.into(),
            message: message.into(),
        }
    }
}

/// Limits a new verbatim is checked against.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Maximum text size in bytes (config `limits.max_text_bytes`).
    pub max_text_bytes: usize,
}

/// Longest accepted external id, customer id or account id.
pub const MAX_ID_LEN: usize = 256;
/// Most metadata entries per verbatim.
pub const MAX_METADATA_ENTRIES: usize = 64;
/// Longest metadata key.
pub const MAX_METADATA_KEY_LEN: usize = 128;
/// Longest metadata value.
pub const MAX_METADATA_VALUE_LEN: usize = 1024;

/// A workspace name: 1–64 characters of `a-z`, `0-9`, `-`, `_`.
pub fn validate_workspace(name: &str) -> Result<(), ValidationError> {
    let ok = !name.is_empty()
        && name.len() <= 64
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'_');
    if ok {
        Ok(())
    } else {
        Err(ValidationError::new(
            "workspace",
            format!("{name:?} is not a workspace name (1-64 characters of a-z, 0-9, '-', '_')"),
        ))
    }
}

impl NewVerbatim {
    /// Checks every rule and returns the verbatim (untagged) and the tags the caller gave,
    /// received at `now`.
    pub fn validate(
        self,
        workspace: &str,
        now: Micros,
        limits: Limits,
    ) -> Result<(Verbatim, GivenTags), ValidationError> {
        let source = self
            .source
            .map_err(|raw| ValidationError::new("source", format!("unknown value {raw}")))?;
        let text = validate_text(self.text, limits)?;
        let created_at = self
            .created_at
            .map(|(seconds, nanos)| timestamp_micros("created_at", seconds, nanos))
            .transpose()?;
        let created_at = match created_at {
            None => now,
            Some(t) if t < 0 => {
                return Err(ValidationError::new(
                    "created_at",
                    "must not be before 1970-01-01",
                ))
            }
            Some(t) if t > now + DAY_MICROS => {
                return Err(ValidationError::new(
                    "created_at",
                    "must not be more than a day in the future",
                ))
            }
            Some(t) => t,
        };
        let scores = Scores {
            nps: validate_score("scores.nps", self.nps, 0, 10)?,
            csat: validate_score("scores.csat", self.csat, 1, 5)?,
            ces: validate_score("scores.ces", self.ces, 1, 7)?,
        };
        let language = optional(self.language);
        if let Some(tag) = &language {
            validate_language_tag(tag)?;
        }
        validate_metadata(&self.metadata)?;
        let given = self.tags?;
        let verbatim = Verbatim {
            seq: 0,
            workspace: workspace.to_string(),
            source,
            external_id: optional_id("external_id", self.external_id)?,
            text,
            created_at,
            received_at: now,
            customer_id: optional_id("customer_id", self.customer_id)?,
            account_id: optional_id("account_id", self.account_id)?,
            language,
            metadata: self.metadata,
            scores,
            tags: Tags::default(),
            theme: None,
        };
        Ok((verbatim, given))
    }
}

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's algorithm; integers
/// only).
pub fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (month + 9) % 12;
    let doy = (153 * mp + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// The proleptic Gregorian (year, month, day) of a day count since 1970-01-01 (inverse of
/// [`days_from_civil`]).
pub fn civil_from_days(days: i64) -> (i64, i64, i64) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

/// Formats a time as RFC 3339 in UTC: `2015-02-24T11:35:00Z`, with microseconds only when there
/// are any (`2015-02-24T11:35:00.250000Z`).
pub fn format_rfc3339(micros: Micros) -> String {
    let seconds = micros.div_euclid(1_000_000);
    let fraction = micros.rem_euclid(1_000_000);
    let (year, month, day) = civil_from_days(seconds.div_euclid(86_400));
    let clock = seconds.rem_euclid(86_400);
    let (hour, minute, second) = (clock / 3600, clock / 60 % 60, clock % 60);
    let fraction = if fraction == 0 {
        String::new()
    } else {
        format!(".{fraction:06}")
    };
    format!("{year:04}-{month:02}-{day:02}T{hour:02}:{minute:02}:{second:02}{fraction}Z")
}

/// Converts a `(seconds, nanos)` timestamp to microseconds, naming `field` when it is malformed.
pub fn timestamp_micros(field: &str, seconds: i64, nanos: i32) -> Result<Micros, ValidationError> {
    if !(0..1_000_000_000).contains(&nanos) {
        return Err(ValidationError::new(
            field,
            format!("nanos {nanos} out of range"),
        ));
    }
    seconds
        .checked_mul(1_000_000)
        .and_then(|us| us.checked_add(nanos as i64 / 1000))
        .ok_or_else(|| ValidationError::new(field, "out of range"))
}

fn validate_text(text: String, limits: Limits) -> Result<String, ValidationError> {
    if text.len() > limits.max_text_bytes {
        return Err(ValidationError::new(
            "text",
            format!(
                "{} bytes exceeds the limit max_text_bytes={}",
                text.len(),
                limits.max_text_bytes
            ),
        ));
    }
    if text.trim().is_empty() {
        return Err(ValidationError::new("text", "must not be empty"));
    }
    if let Some((at, c)) = text
        .char_indices()
        .find(|&(_, c)| c.is_control() && !matches!(c, '\n' | '\t' | '\r'))
    {
        return Err(ValidationError::new(
            "text",
            format!("contains control character U+{:04X} at byte {at}", c as u32),
        ));
    }
    Ok(text)
}

fn validate_score(
    field: &str,
    value: Option<i32>,
    min: i32,
    max: i32,
) -> Result<Option<u8>, ValidationError> {
    match value {
        None => Ok(None),
        Some(v) if (min..=max).contains(&v) => Ok(Some(v as u8)),
        Some(v) => Err(ValidationError::new(
            field,
            format!("{v} is outside {min}-{max}"),
        )),
    }
}

pub fn validate_language_tag(tag: &str) -> Result<(), ValidationError> {
    let mut parts = tag.split('-');
    let primary = parts.next().unwrap_or_default();
    let primary_ok =
        (2..=3).contains(&primary.len()) && primary.bytes().all(|b| b.is_ascii_alphabetic());
    let rest_ok =
        parts.all(|p| (1..=8).contains(&p.len()) && p.bytes().all(|b| b.is_ascii_alphanumeric()));
    if primary_ok && rest_ok {
        Ok(())
    } else {
        Err(ValidationError::new(
            "language",
            format!("{tag:?} is not a BCP-47 language tag"),
        ))
    }
}

fn validate_metadata(metadata: &BTreeMap<String, String>) -> Result<(), ValidationError> {
    if metadata.len() > MAX_METADATA_ENTRIES {
        return Err(ValidationError::new(
            "metadata",
            format!(
                "{} entries exceeds the limit of {MAX_METADATA_ENTRIES}",
                metadata.len()
            ),
        ));
    }
    for (key, value) in metadata {
        let field = || format!("metadata[{key:?}]");
        if key.is_empty() || key.len() > MAX_METADATA_KEY_LEN || key.contains('=') {
            return Err(ValidationError::new(
                field(),
                format!("key must be 1-{MAX_METADATA_KEY_LEN} bytes without '='"),
            ));
        }
        if value.len() > MAX_METADATA_VALUE_LEN {
            return Err(ValidationError::new(
                field(),
                format!("value exceeds {MAX_METADATA_VALUE_LEN} bytes"),
            ));
        }
        if key.chars().chain(value.chars()).any(char::is_control) {
            return Err(ValidationError::new(
                field(),
                "contains a control character",
            ));
        }
    }
    Ok(())
}

fn optional(value: String) -> Option<String> {
    let trimmed = value.trim();
    (!trimmed.is_empty()).then(|| trimmed.to_string())
}

fn optional_id(field: &str, value: String) -> Result<Option<String>, ValidationError> {
    let value = optional(value);
    if let Some(v) = &value {
        if v.len() > MAX_ID_LEN {
            return Err(ValidationError::new(
                field,
                format!("exceeds {MAX_ID_LEN} bytes"),
            ));
        }
        if v.chars().any(char::is_control) {
            return Err(ValidationError::new(field, "contains a control character"));
        }
    }
    Ok(value)
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
        assert_eq!(civil_from_days(days_from_civil(2024, 2, 29)), (2024, 2, 29));
    }

    const LIMITS: Limits = Limits {
        max_text_bytes: 100,
    };
    const NOW: Micros = 1_700_000_000_000_000;

    fn new(text: &str) -> NewVerbatim {
        NewVerbatim {
            source: Ok(Source::Ticket),
            text: text.to_string(),
            ..Default::default()
        }
    }

    fn field_of(v: NewVerbatim) -> String {
        v.validate("default", NOW, LIMITS).unwrap_err().field
    }

    #[test]
    fn a_plain_verbatim_is_accepted_and_defaults_created_at_to_now() {
        let (v, _) = new("the app crashed")
            .validate("default", NOW, LIMITS)
            .unwrap();
        assert_eq!(v.created_at, NOW);
        assert_eq!(v.received_at, NOW);
        assert_eq!(v.external_id, None);
    }

    #[test]
    fn each_bad_field_is_named() {
        assert_eq!(field_of(new("  \n ")), "text");
        assert_eq!(field_of(new(&"x".repeat(101))), "text");
        assert_eq!(field_of(new("bell \u{7} rings")), "text");
        assert_eq!(
            field_of(NewVerbatim {
                source: Err(42),
                ..new("ok")
            }),
            "source"
        );
        assert_eq!(
            field_of(NewVerbatim {
                created_at: Some((-1, 0)),
                ..new("ok")
            }),
            "created_at"
        );
        assert_eq!(
            field_of(NewVerbatim {
                created_at: Some(((NOW + DAY_MICROS) / 1_000_000 + 1, 0)),
                ..new("ok")
            }),
            "created_at"
        );
        assert_eq!(
            field_of(NewVerbatim {
                nps: Some(11),
                ..new("ok")
            }),
            "scores.nps"
        );
        assert_eq!(
            field_of(NewVerbatim {
                csat: Some(0),
                ..new("ok")
            }),
            "scores.csat"
        );
        assert_eq!(
            field_of(NewVerbatim {
                ces: Some(8),
                ..new("ok")
            }),
            "scores.ces"
        );
        assert_eq!(
            field_of(NewVerbatim {
                language: "english!".into(),
                ..new("ok")
            }),
            "language"
        );
    }

    #[test]
    fn newlines_and_tabs_are_not_control_characters_here() {
        assert!(new("line one\n\tline two\r\n")
            .validate("default", NOW, LIMITS)
            .is_ok());
    }

    #[test]
    fn ids_round_trip_and_sort_by_arrival() {
        let a = VerbatimId(9).to_string();
        let b = VerbatimId(10).to_string();
        assert!(a < b);
        assert_eq!(b.parse::<VerbatimId>().unwrap(), VerbatimId(10));
        assert!("vb_xyz".parse::<VerbatimId>().is_err());
        assert!("00000000000a".parse::<VerbatimId>().is_err());
    }

    #[test]
    fn workspace_names_are_checked() {
        assert!(validate_workspace("acme-prod_1").is_ok());
        assert!(validate_workspace("").is_err());
        assert!(validate_workspace("Acme").is_err());
        assert!(validate_workspace("a\0b").is_err());
    }
}
