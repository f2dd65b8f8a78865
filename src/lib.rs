//! tideline: a gRPC service that listens to customers at scale.
//!
//! Module map (data flows top to bottom):
//! - [`server`]: assembles the gRPC server (services, health, reflection, limits, shutdown).
//! - [`api`]: tonic services, proto⇄domain conversion, the one error→status mapping.
//! - [`engine`]: what the service does: validate, store durably, keep the index following.
//! - [`model`]: verbatims and the rules a new one must satisfy.
//! - [`tagging`]: taxonomy, rule matcher, sentiment, severity.
//! - [`eval`]: evaluation commands against labelled corpora.
//! - [`text`]: the one versioned analyzer (tokens, negations, units, emoji, stems) and PII redaction.
//! - [`themes`]: TF-IDF, spherical k-means, theme labels and identity.
//! - [`trends`]: time buckets, share-of-voice velocity, frequency classes, the emerging-issue rule.
//! - [`alerts`]: alert records, their lifecycle and content (severity, summary, action, quotes).
//! - [`webhooks`]: subscriptions, Standard Webhooks signing, SSRF guard, the outbox worker.
//! - [`store`]: sled, the source of truth (records, idempotency keys, change log).
//! - [`index`]: tantivy, derived from the store (indexer task, search, rebuild).
//! - [`import`]: bulk import client (CSV and JSON Lines → `StreamVerbatims`; mapping, resume, error report).
//! - [`pagination`]: opaque page tokens.
//! - [`demo`]: `tideline demo`, the whole service on the project's own corpus in one command.
//! - [`cli`]: human-facing client commands (import, search, themes, theme, alerts, tag) over gRPC.
//! - [`config`]: the one typed configuration.
//! - [`error`]: the crate error and `Result`.

pub mod alerts;
pub mod api;
pub mod cli;
pub mod config;
pub mod demo;
pub mod engine;
pub mod error;
pub mod eval;
pub mod import;
pub mod index;
pub mod model;
pub mod pagination;
pub mod server;
pub mod store;
pub mod tagging;
pub mod text;
pub mod themes;
pub mod trends;
pub mod webhooks;

pub use error::{Error, Result};

/// Generated protobuf and gRPC code for `tideline.v1`.
pub mod proto {
    #![allow(clippy::all, missing_docs)]
    tonic::include_proto!("tideline.v1");

    /// The encoded descriptor set, for server reflection.
    pub const FILE_DESCRIPTOR_SET: &[u8] =
        tonic::include_file_descriptor_set!("tideline_descriptor");
}
