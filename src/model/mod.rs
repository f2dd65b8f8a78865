//! The domain model: verbatims as they arrive and as they are stored (with their scores and
//! [`tags`]), their public ids, and the rules a new verbatim must satisfy before anything is
//! written ([`ValidationError`] names the field that broke one).

pub mod limits;
pub mod tags;
mod validation;

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

pub use self::limits::{quoted, Limits};
pub use self::validation::{
    timestamp_micros, validate_language_tag, validate_workspace, Validated, MAX_ID_LEN,
    MAX_METADATA_ENTRIES, MAX_METADATA_KEY_LEN, MAX_METADATA_VALUE_LEN,
};

/// A digest of a verbatim's content as submitted (see [`Validated::digest`]).
pub type ContentDigest = [u8; 16];

use self::tags::{GivenTags, Tags};
use crate::time::Micros;

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

/// A stored verbatim. `number` is its position in its workspace's arrival order and the root of
/// its id.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Verbatim {
    /// Its workspace's own sequence number (each workspace counts from 1). Not serialised: the
    /// store keeps it in the key.
    #[serde(skip)]
    pub number: u64,
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

#[cfg(test)]
impl Verbatim {
    /// A ticket of `workspace` saying `text`, created at 1 and received at 2, with nothing else
    /// set: what unit tests start from.
    pub(crate) fn example(workspace: &str, text: &str) -> Verbatim {
        Verbatim {
            number: 0,
            workspace: workspace.into(),
            source: Source::Ticket,
            external_id: None,
            text: text.into(),
            created_at: 1,
            received_at: 2,
            customer_id: None,
            account_id: None,
            language: None,
            metadata: Default::default(),
            scores: Default::default(),
            tags: Default::default(),
            theme: None,
        }
    }
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
    /// The public id: sortable by arrival within the workspace, e.g. `vb_00000000002a`.
    pub fn id(&self) -> String {
        VerbatimId(self.number).to_string()
    }
}

/// The public form of a verbatim's number: its workspace's own sequence number, so an id says
/// nothing about other workspaces' traffic.
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
        let malformed =
            || ValidationError::new("id", format!("malformed verbatim id {}", quoted(s)));
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_round_trip_and_sort_by_arrival() {
        let a = VerbatimId(9).to_string();
        let b = VerbatimId(10).to_string();
        assert!(a < b);
        assert_eq!(b.parse::<VerbatimId>().unwrap(), VerbatimId(10));
        assert!("vb_xyz".parse::<VerbatimId>().is_err());
        assert!("00000000000a".parse::<VerbatimId>().is_err());
    }
}
