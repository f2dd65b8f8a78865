//! A theme as stored and served: stable id, label, keywords, quotes, volume, tag mix, owner and
//! accountability loop, status.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::accountability::{Accountability, Measurement};
use crate::time::Micros;

/// Lifecycle of a theme id.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ThemeStatus {
    /// Found by the latest refresh.
    Active,
    /// Not found any more; kept so history and alerts still resolve.
    Retired,
    /// Absorbed by another theme (`merged_into`).
    Merged,
}

/// A theme.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Theme {
    /// `TH-0001`, per workspace, never reused.
    pub id: String,
    pub label: String,
    /// A person set the label; refreshes keep it.
    #[serde(default)]
    pub label_pinned: bool,
    /// Top keywords in surface form, with weights.
    pub keywords: Vec<(String, f32)>,
    /// Centroid over feature stems, for matching with the next refresh.
    pub centroid: Vec<(String, f32)>,
    /// Centroid in a sentence encoder's space, when themes were found by meaning.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub meaning: Option<MeaningCentroid>,
    pub status: ThemeStatus,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub merged_into: Option<String>,
    /// Verbatims in the theme at the last refresh plus those assigned live since.
    pub volume: u64,
    /// Share of the workspace's verbatims at the last refresh.
    pub share: f32,
    /// Representative verbatims (their numbers in the workspace).
    pub quotes: Vec<u64>,
    pub average_sentiment: f32,
    /// Per tag dimension, counts per value.
    pub tag_mix: BTreeMap<String, BTreeMap<String, u64>>,
    /// The owning team: set by a person, else the owner of the theme's most common product area.
    #[serde(default)]
    pub owner: String,
    #[serde(default)]
    pub owner_pinned: bool,
    pub first_seen: Micros,
    pub refreshed_at: Micros,
    /// What happened to it, oldest first ("created", "continued", "merged TH-0007", ...).
    #[serde(default)]
    pub history: Vec<String>,
    /// Class and velocity at the last live alert evaluation (none before the first).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub frequency_class: Option<crate::trends::FrequencyClass>,
    #[serde(default)]
    pub velocity: f64,
    /// The last live evaluation's measurement (none before the first).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub measured: Option<Measurement>,
    /// Owner team's loop: status, SLA and due date, next action, resolution.
    #[serde(default)]
    pub accountability: Accountability,
}

impl Theme {
    /// How close two themes are in what they are about: the cosine of their meaning centroids
    /// when both have one from the same encoder ([`Relatedness::Meaning`]), else of their
    /// lexical centroids ([`Relatedness::Words`]).
    pub fn relatedness(&self, other: &Theme) -> Relatedness {
        relatedness(
            (&self.centroid, self.meaning.as_ref()),
            (&other.centroid, other.meaning.as_ref()),
        )
    }
}

/// How close two centroids (lexical, and meaning when found by meaning) are: the meaning cosine
/// when both have one from the same encoder, else the lexical cosine.
pub fn relatedness(
    a: (&[(String, f32)], Option<&MeaningCentroid>),
    b: (&[(String, f32)], Option<&MeaningCentroid>),
) -> Relatedness {
    match a.1.zip(b.1).and_then(|(x, y)| x.similarity(y)) {
        Some(cosine) => Relatedness::Meaning(cosine),
        None => Relatedness::Words(super::detect::sparse_cosine(a.0, b.0)),
    }
}

/// A cosine similarity between two themes, and the space it was measured in.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Relatedness {
    Meaning(f32),
    Words(f32),
}

/// A theme's centroid in one sentence encoder's embedding space: comparable only with vectors
/// from the encoder of the same name.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MeaningCentroid {
    pub encoder: String,
    /// Unit length.
    pub vector: Vec<f32>,
}

impl MeaningCentroid {
    /// Cosine similarity with another centroid, if both come from the same encoder.
    pub fn similarity(&self, other: &MeaningCentroid) -> Option<f32> {
        (self.encoder == other.encoder && self.vector.len() == other.vector.len()).then(|| {
            self.vector
                .iter()
                .zip(&other.vector)
                .map(|(a, b)| a * b)
                .sum()
        })
    }
}

/// Formats a theme id.
pub fn theme_id(number: u64) -> String {
    format!("TH-{number:04}")
}
