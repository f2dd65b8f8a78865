//! Column mapping: which columns of a row become which fields of a `NewVerbatim` (the
//! [`RowMapper`] applies it to rows), and which column a server's field error points back to.

use super::readers::{Header, Input};
use super::time::TimeFormat;
use super::ImportError;
use crate::proto;
use crate::time::format_rfc3339;

pub use super::row_mapper::RowMapper;

/// Which columns become which verbatim fields. Column names are CSV header names or JSON keys.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Mapping {
    /// The customer's words (required in every row).
    pub text: String,
    /// The caller's id, the idempotency key. Without it (or when a row's cell is blank) the id is
    /// derived from the file name and the row's content, so a re-run skips what is stored.
    pub external_id: Option<String>,
    pub created_at: Option<String>,
    /// How `created_at` is written; the common export formats are read without one.
    pub time_format: Option<TimeFormat>,
    /// The source of rows whose source column is absent or blank.
    pub source: proto::Source,
    /// A column naming each row's source (`survey`, `ticket`, ...).
    pub source_column: Option<String>,
    pub customer_id: Option<String>,
    pub account_id: Option<String>,
    pub language: Option<String>,
    /// Score columns (NPS 0–10, CSAT 1–5, CES 1–7).
    pub scores: Vec<(Score, String)>,
    /// Columns holding tags the customer's own system already knows.
    pub tags: Vec<(TagDimension, String)>,
    pub metadata: MetadataColumns,
}

/// Columns copied into metadata under their own names.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum MetadataColumns {
    #[default]
    None,
    Listed(Vec<String>),
    /// Every column the mapping does not use otherwise (`--metadata-cols '*'`).
    AllUnmapped,
}

impl MetadataColumns {
    /// From the `--metadata-cols` list: `*` alone means every unmapped column.
    pub fn from_list(columns: Vec<String>) -> MetadataColumns {
        let columns: Vec<String> = columns
            .into_iter()
            .map(|c| c.trim().to_string())
            .filter(|c| !c.is_empty())
            .collect();
        match columns.as_slice() {
            [] => MetadataColumns::None,
            [star] if star == "*" => MetadataColumns::AllUnmapped,
            _ => MetadataColumns::Listed(columns),
        }
    }
}

/// A customer-experience score and its valid range.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Score {
    Nps,
    Csat,
    Ces,
}

impl Score {
    /// The proto field name (`nps`).
    pub fn name(self) -> &'static str {
        match self {
            Score::Nps => "nps",
            Score::Csat => "csat",
            Score::Ces => "ces",
        }
    }

    /// The inclusive valid range.
    pub fn range(self) -> std::ops::RangeInclusive<i32> {
        match self {
            Score::Nps => 0..=10,
            Score::Csat => 1..=5,
            Score::Ces => 1..=7,
        }
    }

    pub(super) fn slot(self, scores: &mut proto::Scores) -> &mut Option<i32> {
        match self {
            Score::Nps => &mut scores.nps,
            Score::Csat => &mut scores.csat,
            Score::Ces => &mut scores.ces,
        }
    }
}

/// A kind of tag a caller can give with a verbatim (`GivenTags`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TagDimension {
    JourneyStage,
    Driver,
    /// A cell may list several areas separated by `,`, `;` or `|`.
    ProductArea,
    /// `critical`, `high`, `medium` or `low`.
    Severity,
    /// `positive`, `neutral`, `negative` or `mixed`.
    Sentiment,
}

impl TagDimension {
    /// Every dimension name `--tag-col` accepts.
    pub const NAMES: &'static str = "journey_stage, driver, product_area, severity, sentiment";

    /// Reads a dimension name (`product_areas` is accepted for `product_area`).
    pub fn parse(name: &str) -> Option<TagDimension> {
        match name.trim() {
            "journey_stage" => Some(TagDimension::JourneyStage),
            "driver" => Some(TagDimension::Driver),
            "product_area" | "product_areas" => Some(TagDimension::ProductArea),
            "severity" => Some(TagDimension::Severity),
            "sentiment" => Some(TagDimension::Sentiment),
            _ => None,
        }
    }

    /// Reads `DIMENSION=COLUMN` as given to `--tag-col`.
    pub fn parse_assignment(assignment: &str) -> Result<(TagDimension, String), String> {
        let (dimension, column) = assignment
            .split_once('=')
            .ok_or_else(|| format!("expected DIMENSION=COLUMN, got {assignment:?}"))?;
        let dimension = TagDimension::parse(dimension).ok_or_else(|| {
            format!(
                "unknown tag dimension {dimension:?} ({})",
                TagDimension::NAMES
            )
        })?;
        if column.trim().is_empty() {
            return Err(format!("no column in {assignment:?}"));
        }
        Ok((dimension, column.trim().to_string()))
    }

    pub(super) fn apply(self, value: &str, tags: &mut proto::GivenTags) -> Result<(), String> {
        match self {
            TagDimension::JourneyStage => tags.journey_stage = value.to_string(),
            TagDimension::Driver => tags.driver = value.to_string(),
            TagDimension::ProductArea => tags.product_areas.extend(
                value
                    .split([',', ';', '|'])
                    .map(str::trim)
                    .filter(|area| !area.is_empty())
                    .map(str::to_string),
            ),
            TagDimension::Severity => tags.severity = parse_severity(value)? as i32,
            TagDimension::Sentiment => tags.sentiment = parse_sentiment(value)? as i32,
        }
        Ok(())
    }
}

/// Reads a severity level name (`critical`, `high`, `medium`, `low`).
pub fn parse_severity(name: &str) -> Result<proto::Severity, String> {
    proto_enum("SEVERITY_", name, proto::Severity::from_str_name)
        .ok_or_else(|| format!("unknown severity {name:?} (critical, high, medium, low)"))
}

/// Reads a sentiment label name (`positive`, `neutral`, `negative`, `mixed`).
pub fn parse_sentiment(name: &str) -> Result<proto::SentimentLabel, String> {
    proto_enum(
        "SENTIMENT_LABEL_",
        name,
        proto::SentimentLabel::from_str_name,
    )
    .ok_or_else(|| format!("unknown sentiment {name:?} (positive, neutral, negative, mixed)"))
}

/// Reads an enum value name such as `survey` (any case) as the proto value `SOURCE_SURVEY`;
/// `unspecified` is not a value a row can give.
fn proto_enum<T>(prefix: &str, value: &str, from_name: fn(&str) -> Option<T>) -> Option<T> {
    let value = value.trim();
    if value.eq_ignore_ascii_case("unspecified") {
        return None;
    }
    from_name(&format!("{prefix}{}", value.to_ascii_uppercase()))
}

/// The lowercase name of a proto enum value (`SOURCE_SURVEY` → `survey`); empty when unspecified.
fn lowercase_name(proto_name: &str, prefix: &str) -> String {
    match proto_name.strip_prefix(prefix) {
        Some("UNSPECIFIED") | None => String::new(),
        Some(name) => name.to_lowercase(),
    }
}

/// Reads a source name (`survey`, `ticket`, `review`, `chat`, `social`, `email`, `other`).
pub fn parse_source(name: &str) -> Result<proto::Source, String> {
    proto_enum("SOURCE_", name, proto::Source::from_str_name).ok_or_else(|| {
        format!("unknown source {name:?} (survey, ticket, review, chat, social, email, other)")
    })
}

impl Mapping {
    /// Every column the mapping reads for a field other than metadata.
    pub(super) fn field_columns(&self) -> impl Iterator<Item = &str> {
        std::iter::once(self.text.as_str())
            .chain(self.external_id.as_deref())
            .chain(self.created_at.as_deref())
            .chain(self.source_column.as_deref())
            .chain(self.customer_id.as_deref())
            .chain(self.account_id.as_deref())
            .chain(self.language.as_deref())
            .chain(self.scores.iter().map(|(_, column)| column.as_str()))
            .chain(self.tags.iter().map(|(_, column)| column.as_str()))
    }

    /// Fails with the first mapped column a (CSV) header lacks.
    pub fn check_columns(&self, header: &Header, input: &Input) -> Result<(), ImportError> {
        let listed_metadata = match &self.metadata {
            MetadataColumns::Listed(columns) => columns.as_slice(),
            MetadataColumns::None | MetadataColumns::AllUnmapped => &[],
        };
        let missing = self
            .field_columns()
            .chain(listed_metadata.iter().map(String::as_str))
            .find(|column| header.position(column).is_none());
        match missing {
            None => Ok(()),
            Some(column) => Err(ImportError::MissingColumn {
                column: column.to_string(),
                input: input.display(),
                found: header.names().join(", "),
            }),
        }
    }

    /// The column behind a server's field name (`scores.nps`, `tags.product_areas[0]`,
    /// `metadata["team"]`), or the field name when no column maps to it.
    pub fn column_for_field(&self, field: &str) -> String {
        let tag_column = |wanted: TagDimension| {
            self.tags
                .iter()
                .find(|(dimension, _)| *dimension == wanted)
                .map(|(_, column)| column.clone())
        };
        let score_column = |wanted: Score| {
            self.scores
                .iter()
                .find(|(score, _)| *score == wanted)
                .map(|(_, column)| column.clone())
        };
        let column = match field {
            "text" => Some(self.text.clone()),
            "external_id" => self.external_id.clone(),
            "created_at" => self.created_at.clone(),
            "source" => self.source_column.clone(),
            "customer_id" => self.customer_id.clone(),
            "account_id" => self.account_id.clone(),
            "language" => self.language.clone(),
            "scores.nps" => score_column(Score::Nps),
            "scores.csat" => score_column(Score::Csat),
            "scores.ces" => score_column(Score::Ces),
            "tags.journey_stage" => tag_column(TagDimension::JourneyStage),
            "tags.driver" => tag_column(TagDimension::Driver),
            "tags.severity" => tag_column(TagDimension::Severity),
            "tags.sentiment" => tag_column(TagDimension::Sentiment),
            f if f.starts_with("tags.product_areas") => tag_column(TagDimension::ProductArea),
            f => f
                .strip_prefix("metadata[\"")
                .and_then(|rest| rest.strip_suffix("\"]"))
                .map(str::to_string),
        };
        column.unwrap_or_else(|| field.to_string())
    }
}

/// How a mapped row reads, field by field, for `--dry-run`: only fields that are set.
pub fn describe(item: &proto::NewVerbatim) -> Vec<(String, String)> {
    let mut fields = vec![("text".to_string(), item.text.clone())];
    let mut add = |name: &str, value: String| {
        if !value.is_empty() {
            fields.push((name.to_string(), value));
        }
    };
    add("external_id", item.external_id.clone());
    let created_at = item
        .created_at
        .as_ref()
        .map(|t| format_rfc3339(crate::time::from_secs(t.seconds) + i64::from(t.nanos) / 1000));
    add("created_at", created_at.unwrap_or_default());
    add(
        "source",
        proto::Source::try_from(item.source).map_or(String::new(), |s| {
            lowercase_name(s.as_str_name(), "SOURCE_")
        }),
    );
    add("customer_id", item.customer_id.clone());
    add("account_id", item.account_id.clone());
    add("language", item.language.clone());
    if let Some(scores) = &item.scores {
        for (name, value) in [
            ("nps", scores.nps),
            ("csat", scores.csat),
            ("ces", scores.ces),
        ] {
            add(
                &format!("scores.{name}"),
                value.map(|v| v.to_string()).unwrap_or_default(),
            );
        }
    }
    if let Some(tags) = &item.tags {
        add("tags.journey_stage", tags.journey_stage.clone());
        add("tags.driver", tags.driver.clone());
        add("tags.product_areas", tags.product_areas.join(", "));
        add(
            "tags.severity",
            proto::Severity::try_from(tags.severity).map_or(String::new(), |s| {
                lowercase_name(s.as_str_name(), "SEVERITY_")
            }),
        );
        add(
            "tags.sentiment",
            proto::SentimentLabel::try_from(tags.sentiment).map_or(String::new(), |l| {
                lowercase_name(l.as_str_name(), "SENTIMENT_LABEL_")
            }),
        );
    }
    let mut metadata: Vec<_> = item.metadata.iter().collect();
    metadata.sort();
    for (key, value) in metadata {
        add(&format!("metadata.{key}"), value.clone());
    }
    fields
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn server_fields_lead_back_to_columns() {
        let mapping = Mapping {
            text: "body".into(),
            scores: vec![(Score::Ces, "effort".into())],
            tags: vec![(TagDimension::ProductArea, "area".into())],
            ..Mapping::default()
        };
        assert_eq!(mapping.column_for_field("text"), "body");
        assert_eq!(mapping.column_for_field("scores.ces"), "effort");
        assert_eq!(mapping.column_for_field("tags.product_areas[1]"), "area");
        assert_eq!(mapping.column_for_field("metadata[\"team\"]"), "team");
        assert_eq!(mapping.column_for_field("created_at"), "created_at");
    }

    #[test]
    fn flag_values_parse() {
        assert_eq!(parse_source("Ticket"), Ok(proto::Source::Ticket));
        assert!(parse_source("unspecified").is_err());
        assert_eq!(
            TagDimension::parse_assignment("product_area=Area"),
            Ok((TagDimension::ProductArea, "Area".into()))
        );
        assert!(TagDimension::parse_assignment("colour=Area").is_err());
        assert!(TagDimension::parse_assignment("driver").is_err());
        assert_eq!(
            MetadataColumns::from_list(vec!["*".into()]),
            MetadataColumns::AllUnmapped
        );
        assert_eq!(
            MetadataColumns::from_list(vec!["a".into(), " b".into()]),
            MetadataColumns::Listed(vec!["a".into(), "b".into()])
        );
    }
}
