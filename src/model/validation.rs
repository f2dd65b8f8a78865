//! The rules a new verbatim must satisfy before anything is written; each failure names its field.

use std::collections::BTreeMap;

use sha2::{Digest, Sha256};

use super::limits::{quoted, Limits};
use super::tags::{GivenTags, Tags};
use super::{ContentDigest, NewVerbatim, Scores, ValidationError, Verbatim};
use crate::time::{Micros, DAY};

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
            format!(
                "{} is not a workspace name (1-64 characters of a-z, 0-9, '-', '_')",
                quoted(name)
            ),
        ))
    }
}

/// A new verbatim that passed every rule: the verbatim (untagged, received at `now`), the tags
/// the caller gave, and the digest of the content as submitted.
#[derive(Debug, Clone, PartialEq)]
pub struct Validated {
    pub verbatim: Verbatim,
    pub given: GivenTags,
    pub digest: ContentDigest,
}

impl NewVerbatim {
    /// Checks every rule; the first broken one is the error, naming its field.
    pub fn validate(
        self,
        workspace: &str,
        now: Micros,
        limits: &Limits,
    ) -> Result<Validated, ValidationError> {
        let explicit_created_at = self.created_at;
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
            Some(t) if t > now + DAY => {
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
        limits.check_list("tags.product_areas", given.product_areas.len())?;
        let verbatim = Verbatim {
            number: 0,
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
        let digest = content_digest(&verbatim, explicit_created_at, &given);
        Ok(Validated {
            verbatim,
            given,
            digest,
        })
    }
}

/// The digest of what a caller submitted: every field it sent (the text before redaction, the
/// time only when it gave one), so that a retry with the same idempotency key is recognised and
/// a different submission under a reused key is not mistaken for one.
fn content_digest(
    verbatim: &Verbatim,
    created_at: Option<(i64, i32)>,
    given: &GivenTags,
) -> ContentDigest {
    let mut hasher = Sha256::new();
    let mut field = |bytes: &[u8]| {
        hasher.update((bytes.len() as u64).to_be_bytes());
        hasher.update(bytes);
    };
    field(&[verbatim.source.code()]);
    field(verbatim.text.as_bytes());
    match created_at {
        Some((seconds, nanos)) => {
            field(&seconds.to_be_bytes());
            field(&nanos.to_be_bytes());
        }
        None => field(b""),
    }
    for text in [
        &verbatim.customer_id,
        &verbatim.account_id,
        &verbatim.language,
    ] {
        field(text.as_deref().unwrap_or("").as_bytes());
    }
    field(&(verbatim.metadata.len() as u64).to_be_bytes());
    for (key, value) in &verbatim.metadata {
        field(key.as_bytes());
        field(value.as_bytes());
    }
    let scores = &verbatim.scores;
    for score in [scores.nps, scores.csat, scores.ces] {
        field(&score.map_or([0, 0], |s| [1, s]));
    }
    field(given.journey_stage.as_deref().unwrap_or("").as_bytes());
    field(given.driver.as_deref().unwrap_or("").as_bytes());
    field(&(given.product_areas.len() as u64).to_be_bytes());
    for area in &given.product_areas {
        field(area.as_bytes());
    }
    field(given.severity.map_or("", |s| s.as_str()).as_bytes());
    field(given.sentiment.map_or("", |s| s.as_str()).as_bytes());
    let full = hasher.finalize();
    let mut digest = [0; 16];
    digest.copy_from_slice(&full[..16]);
    digest
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

fn validate_text(text: String, limits: &Limits) -> Result<String, ValidationError> {
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
        .find(|&(_, c)| c.is_control() && !matches!(c, '\n' | '\t'))
    {
        let hint = if c == '\r' {
            " (end lines with \\n alone)"
        } else {
            ""
        };
        return Err(ValidationError::new(
            "text",
            format!(
                "contains control character U+{:04X} at byte {at}{hint}",
                c as u32
            ),
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
            format!("{} is not a BCP-47 language tag", quoted(tag)),
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
        let field = || format!("metadata[{}]", quoted(key));
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
    use crate::model::Source;

    fn limits() -> Limits {
        Limits {
            max_text_bytes: 100,
            ..Limits::default()
        }
    }
    const NOW: Micros = 1_700_000_000_000_000;

    fn new(text: &str) -> NewVerbatim {
        NewVerbatim {
            source: Ok(Source::Ticket),
            text: text.to_string(),
            ..Default::default()
        }
    }

    fn field_of(v: NewVerbatim) -> String {
        v.validate("default", NOW, &limits()).unwrap_err().field
    }

    #[test]
    fn a_plain_verbatim_is_accepted_and_defaults_created_at_to_now() {
        let v = new("the app crashed")
            .validate("default", NOW, &limits())
            .unwrap()
            .verbatim;
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
                created_at: Some(((NOW + DAY) / 1_000_000 + 1, 0)),
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
    fn newlines_and_tabs_are_the_only_control_characters_allowed() {
        assert!(new("line one\n\tline two\n")
            .validate("default", NOW, &limits())
            .is_ok());
        // The proto allows tab and newline only: a carriage return is refused, with a hint.
        let err = new("line one\r\nline two")
            .validate("default", NOW, &limits())
            .unwrap_err();
        assert_eq!(err.field, "text");
        assert!(err.message.contains("U+000D at byte 8"), "{err}");
    }

    #[test]
    fn the_digest_follows_the_content_not_the_arrival() {
        let digest = |v: NewVerbatim, now| v.validate("default", now, &limits()).unwrap().digest;
        let sent = NewVerbatim {
            external_id: "T-1".into(),
            ..new("the app crashed")
        };
        // A retry a minute later, without created_at, is the same submission.
        assert_eq!(
            digest(sent.clone(), NOW),
            digest(sent.clone(), NOW + 60_000_000)
        );
        let edited = NewVerbatim {
            text: "the app crashed twice".into(),
            ..sent.clone()
        };
        assert_ne!(digest(sent.clone(), NOW), digest(edited, NOW));
        let rescored = NewVerbatim {
            nps: Some(3),
            ..sent.clone()
        };
        assert_ne!(digest(sent, NOW), digest(rescored, NOW));
    }

    #[test]
    fn workspace_names_are_checked() {
        assert!(validate_workspace("acme-prod_1").is_ok());
        assert!(validate_workspace("").is_err());
        assert!(validate_workspace("Acme").is_err());
        assert!(validate_workspace("a\0b").is_err());
    }
}
