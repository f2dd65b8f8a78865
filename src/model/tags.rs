//! The tags a verbatim carries, as stored and served. Every tag says what it is, how sure, why
//! (evidence and reason), and who set it. How tags are computed is `tagging`'s business.

use serde::{Deserialize, Serialize};

/// Who set a tag. Client and person tags survive re-tagging; rule tags are recomputed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum Origin {
    /// Computed by tideline's rules and scorers.
    #[default]
    Rule,
    /// Sent by the caller with the verbatim (e.g. a ticket's product area).
    Client,
    /// A person's correction through `UpdateVerbatimTags`.
    Person,
}

impl Origin {
    /// Whether re-tagging keeps this tag.
    pub fn is_sticky(self) -> bool {
        self != Origin::Rule
    }
}

/// Matched text that supports a tag, with its character (not byte) span in the verbatim's text.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Evidence {
    pub term: String,
    pub start: u32,
    pub end: u32,
}

/// One tag value.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Tag {
    /// A category id of the taxonomy, or a severity level name.
    pub value: String,
    /// In [0, 1].
    pub confidence: f32,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub evidence: Vec<Evidence>,
    #[serde(default)]
    pub origin: Origin,
    /// Why, in words: the rule or threshold that decided it.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub reason: String,
}

impl Tag {
    /// A tag set by a caller or a person: certain, no evidence.
    pub fn given(value: &str, origin: Origin) -> Tag {
        Tag {
            value: value.to_string(),
            confidence: 1.0,
            evidence: Vec::new(),
            origin,
            reason: match origin {
                Origin::Client => "sent by the client".into(),
                Origin::Person => "corrected by a person".into(),
                Origin::Rule => String::new(),
            },
        }
    }
}

/// Sentiment with its score.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Sentiment {
    /// In [-1, 1].
    pub score: f32,
    pub label: SentimentLabel,
    pub confidence: f32,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub evidence: Vec<Evidence>,
    #[serde(default)]
    pub origin: Origin,
}

/// Sentiment labels.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SentimentLabel {
    Positive,
    Neutral,
    Negative,
    Mixed,
}

impl SentimentLabel {
    pub const ALL: [SentimentLabel; 4] = [
        SentimentLabel::Positive,
        SentimentLabel::Neutral,
        SentimentLabel::Negative,
        SentimentLabel::Mixed,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            SentimentLabel::Positive => "positive",
            SentimentLabel::Neutral => "neutral",
            SentimentLabel::Negative => "negative",
            SentimentLabel::Mixed => "mixed",
        }
    }

    pub fn parse(name: &str) -> Option<SentimentLabel> {
        SentimentLabel::ALL.into_iter().find(|l| l.as_str() == name)
    }
}

/// Severity levels, most severe first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Severity {
    Critical,
    High,
    Medium,
    Low,
}

impl Severity {
    pub const ALL: [Severity; 4] = [
        Severity::Critical,
        Severity::High,
        Severity::Medium,
        Severity::Low,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Critical => "critical",
            Severity::High => "high",
            Severity::Medium => "medium",
            Severity::Low => "low",
        }
    }

    pub fn parse(name: &str) -> Option<Severity> {
        Severity::ALL.into_iter().find(|s| s.as_str() == name)
    }
}

/// All tags of a verbatim.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct Tags {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub journey_stage: Option<Tag>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub driver: Option<Tag>,
    /// Primary first.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub product_areas: Vec<Tag>,
    /// Value is a [`Severity`] name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub severity: Option<Tag>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sentiment: Option<Sentiment>,
    /// The taxonomy version the rule tags were computed with (0: none yet).
    #[serde(default)]
    pub taxonomy_version: u64,
}

/// The tag dimensions with facets, in display order (`theme` is the verbatim's theme).
pub const TAG_DIMENSIONS: [&str; 6] = [
    "journey_stage",
    "driver",
    "product_area",
    "severity",
    "sentiment",
    "theme",
];

impl Tags {
    /// The `(dimension, value)` pairs of these tags, and of the verbatim's theme when given: what
    /// search facets count and theme tag mixes sum.
    pub fn facets<'a>(&'a self, theme: Option<&'a str>) -> Vec<(&'static str, &'a str)> {
        let mut facets = Vec::new();
        if let Some(theme) = theme {
            facets.push(("theme", theme));
        }
        if let Some(t) = &self.journey_stage {
            facets.push(("journey_stage", t.value.as_str()));
        }
        if let Some(t) = &self.driver {
            facets.push(("driver", t.value.as_str()));
        }
        for t in &self.product_areas {
            facets.push(("product_area", t.value.as_str()));
        }
        if let Some(t) = &self.severity {
            facets.push(("severity", t.value.as_str()));
        }
        if let Some(s) = &self.sentiment {
            facets.push(("sentiment", s.label.as_str()));
        }
        facets
    }

    /// The severity level, if tagged.
    pub fn severity_level(&self) -> Option<Severity> {
        self.severity
            .as_ref()
            .and_then(|t| Severity::parse(&t.value))
    }
}

/// Tags a caller already knows, sent with a verbatim or as a correction. `None` / empty: not given.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct GivenTags {
    pub journey_stage: Option<String>,
    pub driver: Option<String>,
    pub product_areas: Vec<String>,
    pub severity: Option<Severity>,
    pub sentiment: Option<SentimentLabel>,
}

impl GivenTags {
    pub fn is_empty(&self) -> bool {
        *self == GivenTags::default()
    }
}
