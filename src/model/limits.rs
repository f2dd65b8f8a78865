//! Every bound on what a client can make the server hold or compute, in one place: the
//! `[limits]` section of the configuration (`tideline.example.toml` documents each). A request
//! beyond one is refused before it costs anything, with a status naming the field and the limit;
//! error messages quote client input only in excerpt ([`quoted`]).

use serde::{Deserialize, Serialize};

use super::ValidationError;

/// Request limits. Each is reported by name when exceeded.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Limits {
    /// Largest accepted verbatim text, in bytes (INVALID_ARGUMENT per item).
    pub max_text_bytes: usize,
    /// Most items in one IngestVerbatims call or one StreamVerbatims message (RESOURCE_EXHAUSTED).
    pub max_batch_items: usize,
    /// Largest gRPC message the server accepts or sends, in bytes (RESOURCE_EXHAUSTED).
    pub max_message_bytes: usize,
    /// Bytes of StreamVerbatims messages held before they are written; a stream sending faster
    /// waits (HTTP/2 flow control).
    pub max_stream_buffer_bytes: usize,
    /// Largest page_size; larger values are clamped to it.
    pub max_page_size: usize,
    /// Most per-item failures listed in a StreamVerbatims response (all are counted).
    pub max_reported_failures: usize,
    /// Longest search query, in bytes.
    pub max_query_bytes: usize,
    /// Deepest nesting of a search query (parentheses and chained unary operators).
    pub max_query_depth: usize,
    /// Most terms and operators in a search query.
    pub max_query_terms: usize,
    /// Most values in one list field of a request (filters, theme ids, statuses, event types,
    /// product areas).
    pub max_list_items: usize,
    /// Longest short text a person gives: theme labels and owners, assignees, category ids.
    pub max_name_bytes: usize,
    /// Longest free text a person gives: alert notes, webhook descriptions.
    pub max_note_bytes: usize,
    /// Notes kept per alert; the oldest beyond it are dropped.
    pub max_alert_notes: usize,
    /// Largest taxonomy TOML, in bytes.
    pub max_taxonomy_bytes: usize,
    /// Largest number of themes a refresh may be asked for.
    pub max_themes_k: usize,
    /// Most webhooks per workspace.
    pub max_webhooks: usize,
    /// Alert events held for one WatchAlerts client; a client further behind is cut off with
    /// DATA_LOSS and reconnects.
    pub watch_buffer_events: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_text_bytes: 32 * 1024,
            max_batch_items: 1000,
            max_message_bytes: 16 * 1024 * 1024,
            max_stream_buffer_bytes: 8 * 1024 * 1024,
            max_page_size: 1000,
            max_reported_failures: 1000,
            max_query_bytes: 2048,
            max_query_depth: 8,
            max_query_terms: 64,
            max_list_items: 100,
            max_name_bytes: 200,
            max_note_bytes: 4096,
            max_alert_notes: 100,
            max_taxonomy_bytes: 1024 * 1024,
            max_themes_k: 500,
            max_webhooks: 50,
            watch_buffer_events: 64,
        }
    }
}

impl Limits {
    /// The first limit that makes no sense, with why.
    pub fn invalid_field(&self) -> Option<(&'static str, &'static str)> {
        let positive = [
            ("limits.max_text_bytes", self.max_text_bytes),
            ("limits.max_batch_items", self.max_batch_items),
            (
                "limits.max_stream_buffer_bytes",
                self.max_stream_buffer_bytes,
            ),
            ("limits.max_page_size", self.max_page_size),
            ("limits.max_query_bytes", self.max_query_bytes),
            ("limits.max_query_depth", self.max_query_depth),
            ("limits.max_query_terms", self.max_query_terms),
            ("limits.max_list_items", self.max_list_items),
            ("limits.max_name_bytes", self.max_name_bytes),
            ("limits.max_note_bytes", self.max_note_bytes),
            ("limits.max_alert_notes", self.max_alert_notes),
            ("limits.max_taxonomy_bytes", self.max_taxonomy_bytes),
            ("limits.max_themes_k", self.max_themes_k),
            ("limits.max_webhooks", self.max_webhooks),
            ("limits.watch_buffer_events", self.watch_buffer_events),
        ];
        if let Some((field, _)) = positive.iter().find(|(_, value)| *value == 0) {
            return Some((field, "must be positive"));
        }
        if self.max_message_bytes < 1024 {
            return Some(("limits.max_message_bytes", "must be at least 1024"));
        }
        None
    }

    /// A list field with `len` values, at most `max_list_items`.
    pub fn check_list(&self, field: &str, len: usize) -> Result<(), ValidationError> {
        if len > self.max_list_items {
            return Err(ValidationError::new(
                field,
                format!(
                    "{len} values exceed the limit limits.max_list_items={}",
                    self.max_list_items
                ),
            ));
        }
        Ok(())
    }

    /// A short name a person gives (a label, an owner, an assignee): at most `max_name_bytes`,
    /// no control characters.
    pub fn check_name(&self, field: &str, text: &str) -> Result<(), ValidationError> {
        check_text(
            field,
            text,
            self.max_name_bytes,
            "limits.max_name_bytes",
            false,
        )
    }

    /// Free text a person gives (a note, a description): at most `max_note_bytes`, no control
    /// characters other than tab and newline.
    pub fn check_note(&self, field: &str, text: &str) -> Result<(), ValidationError> {
        check_text(
            field,
            text,
            self.max_note_bytes,
            "limits.max_note_bytes",
            true,
        )
    }
}

fn check_text(
    field: &str,
    text: &str,
    max: usize,
    limit: &str,
    lines: bool,
) -> Result<(), ValidationError> {
    if text.len() > max {
        return Err(ValidationError::new(
            field,
            format!("{} bytes exceed the limit {limit}={max}", text.len()),
        ));
    }
    let allowed = |c: char| lines && matches!(c, '\n' | '\t');
    if let Some((at, c)) = text
        .char_indices()
        .find(|&(_, c)| c.is_control() && !allowed(c))
    {
        return Err(ValidationError::new(
            field,
            format!("contains control character U+{:04X} at byte {at}", c as u32),
        ));
    }
    Ok(())
}

/// Client input as an error message may show it: quoted, and when longer than a few dozen
/// characters cut to its start with its length, so a huge input never becomes a huge status.
pub fn quoted(input: &str) -> String {
    const SHOWN: usize = 48;
    if input.chars().count() <= SHOWN + 16 {
        return format!("{input:?}");
    }
    let start: String = input.chars().take(SHOWN).collect();
    format!("{start:?}… ({} bytes)", input.len())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_input_is_quoted_in_excerpt_with_its_length() {
        assert_eq!(quoted("TH-0001"), "\"TH-0001\"");
        let long = "x".repeat(100_000);
        let shown = quoted(&long);
        assert!(shown.len() < 80, "{shown}");
        assert!(shown.ends_with("… (100000 bytes)"), "{shown}");
    }

    #[test]
    fn names_and_notes_are_bounded_and_free_of_control_characters() {
        let limits = Limits::default();
        assert!(limits.check_name("label", "Billing / refunds").is_ok());
        let err = limits.check_name("label", &"x".repeat(201)).unwrap_err();
        assert_eq!(
            err.to_string(),
            "label: 201 bytes exceed the limit limits.max_name_bytes=200"
        );
        assert!(limits.check_name("label", "nul\0here").is_err());
        assert!(limits.check_name("label", "two\nlines").is_err());
        assert!(limits.check_note("note", "two\nlines\tok").is_ok());
        assert!(limits.check_note("note", &"x".repeat(4097)).is_err());
        assert!(limits.check_list("theme_ids", 101).is_err());
        assert!(Limits::default().invalid_field().is_none());
    }
}
