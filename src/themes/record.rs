//! A theme as stored and served: stable id, label, keywords, quotes, volume, tag mix, owner, status.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

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
}

/// Formats a theme id.
pub fn theme_id(number: u64) -> String {
    format!("TH-{number:04}")
}
