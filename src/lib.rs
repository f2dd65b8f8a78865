//! tideline: a gRPC service that listens to customers at scale.
//!
//! Module map, in layering order: each module uses only modules listed below it (the layering
//! test in `tests/layering.rs` reads this list and holds the code to it; `ARCHITECTURE.md` draws
//! the same map). A concept lives entirely in its own module: its pure logic and its service over
//! the store.
//!
//! - [`client`]: the CLI, the bulk import tool, the demo and the evaluation commands; talks gRPC
//!   like any other client (never the engine, store, index or API).
//! - [`server`]: assembles the gRPC server (services, health, reflection, limits, shutdown).
//! - [`api`]: tonic services; translates proto ⇄ domain and errors → statuses, nothing more.
//! - [`proto`]: the generated `tideline.v1` messages and services.
//! - [`engine`]: composes the services: open and shutdown, the blocking-work helper, the ingest
//!   pipeline, search pages, the scheduler.
//! - [`config`]: the one typed configuration.
//! - [`webhooks`]: subscriptions, the durable outbox (alert, theme and digest events), Standard
//!   Webhooks signing, SSRF guard, the delivery worker, digest schedules.
//! - [`insights`]: the read-only views over the store: metric drivers, theme spotlight,
//!   sentiment summary, journey health, segment comparison, digest.
//! - [`alerts`]: alert records and content, rules, evaluation, the alert log.
//! - [`themes`]: TF-IDF, clustering, labels, theme identity, the accountability loop (owners,
//!   SLAs, status); refreshes, edits and SLA checks over the store.
//! - [`tagging`]: taxonomy, rule matcher, sentiment, severity; the taxonomy service and
//!   re-tagging.
//! - [`audit`]: the audit log of admin and curate actions.
//! - [`auth`]: API keys, scopes, the bootstrap key, per-key quotas.
//! - [`error`]: the crate error and `Result`.
//! - [`index`]: tantivy, derived from the store (schema, indexer, queries, rebuild).
//! - [`store`]: sled, the source of truth (verbatims, idempotency keys, change log, documents,
//!   outbox).
//! - [`trends`]: time series, share-of-voice velocity, significance, frequency classes.
//! - [`pagination`]: opaque page tokens.
//! - [`model`]: verbatims, their tags and scores, and their validation.
//! - [`embedding`]: sentence embeddings (the `Encoder` seam, the static model2vec model read
//!   from local files).
//! - [`text`]: the one versioned analyzer (tokens, negations, units, emoji, stems) and PII
//!   redaction.
//! - [`time`]: instants, RFC 3339, UTC buckets, the clock.

pub mod alerts;
pub mod api;
pub mod audit;
pub mod auth;
pub mod client;
pub mod config;
pub mod embedding;
pub mod engine;
pub mod error;
pub mod index;
pub mod insights;
pub mod model;
pub mod pagination;
pub mod proto;
pub mod server;
pub mod store;
pub mod tagging;
pub mod text;
pub mod themes;
pub mod time;
pub mod trends;
pub mod webhooks;

pub use error::{Error, Result};
