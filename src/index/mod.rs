//! The search index: tantivy, derived from the store and rebuildable from it at any time.
//!
//! Every commit carries a payload naming the last store change sequence it covers (the watermark),
//! the analyzer and the schema format. On open, an index whose payload does not match this build
//! is rebuilt from the store; otherwise the [`writer::Indexer`] replays the store's change log
//! past the watermark, so a crash between a store write and an index commit loses nothing.
//!
//! A document is a verbatim, identified by its workspace and its number in the workspace (`key`:
//! `{workspace}/{number}`); numbers repeat across workspaces.

pub mod search;
pub mod writer;

use std::path::Path;
use std::sync::Arc;

use serde::{Deserialize, Serialize};
use tantivy::schema::{
    DateOptions, DateTimePrecision, FacetOptions, Field, IndexRecordOption, Schema,
    TextFieldIndexing, TextOptions, FAST, INDEXED, STRING,
};
use tantivy::tokenizer::TextAnalyzer;
use tantivy::{
    doc, DateTime, Index, IndexReader, IndexWriter, ReloadPolicy, TantivyDocument, Term,
};
use tokio::sync::watch;

use crate::model::Verbatim;
use crate::store::StoreError;
use crate::text::tantivy_tokenizer::TidelineTokenizer;

/// The text analyzer's name and version: the shared analyzer's. Changing the analysis changes
/// this name, which makes every existing index rebuild itself on next open.
pub const ANALYZER: &str = crate::text::ANALYZER_VERSION;
/// The index schema's version; bump it when fields change. 4: documents are identified by
/// workspace and per-workspace number (`key`), no longer by a store-wide number.
pub const FORMAT: u32 = 4;

/// Index errors.
#[derive(Debug, thiserror::Error)]
pub enum IndexError {
    #[error("index error: {0}")]
    Tantivy(#[from] tantivy::TantivyError),
    #[error("cannot open index directory: {0}")]
    Directory(#[from] tantivy::directory::error::OpenDirectoryError),
    #[error("index i/o error: {0}")]
    Io(#[from] std::io::Error),
    #[error("invalid query: {0}")]
    Query(String),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("index task failed: {0}")]
    Task(String),
}

pub type IndexResult<T> = std::result::Result<T, IndexError>;

/// What each commit records.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
struct CommitPayload {
    watermark: u64,
    analyzer: String,
    format: u32,
}

impl CommitPayload {
    fn current(watermark: u64) -> CommitPayload {
        CommitPayload {
            watermark,
            analyzer: ANALYZER.to_string(),
            format: FORMAT,
        }
    }
}

/// The schema's fields.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Fields {
    /// The verbatim's number in its workspace (fast: ties and page snapshots).
    pub number: Field,
    /// `{workspace}/{number}`: what replaces and deletes a document.
    pub key: Field,
    pub workspace: Field,
    pub text: Field,
    pub source: Field,
    pub created_at: Field,
    pub customer_id: Field,
    pub account_id: Field,
    pub metadata: Field,
    /// Facets `/{dimension}/{value}` for every tag.
    pub tags: Field,
}

/// The fast field holding a verbatim's number.
const NUMBER: &str = "number";

fn schema() -> (Schema, Fields) {
    let mut builder = Schema::builder();
    let text_options = TextOptions::default().set_indexing_options(
        TextFieldIndexing::default()
            .set_tokenizer(ANALYZER)
            .set_index_option(IndexRecordOption::WithFreqsAndPositions),
    );
    let fields = Fields {
        number: builder.add_u64_field(NUMBER, INDEXED | FAST),
        key: builder.add_text_field("key", STRING),
        workspace: builder.add_text_field("workspace", STRING),
        text: builder.add_text_field("text", text_options),
        source: builder.add_facet_field("source", FacetOptions::default()),
        created_at: builder.add_date_field(
            "created_at",
            DateOptions::from(INDEXED | FAST).set_precision(DateTimePrecision::Microseconds),
        ),
        customer_id: builder.add_text_field("customer_id", STRING),
        account_id: builder.add_text_field("account_id", STRING),
        metadata: builder.add_text_field("metadata", STRING),
        tags: builder.add_facet_field("tags", FacetOptions::default()),
    };
    (builder.build(), fields)
}

fn analyzer() -> TextAnalyzer {
    TextAnalyzer::from(TidelineTokenizer::default())
}

/// The searchable side of the index, shared by request handlers.
pub struct SearchIndex {
    index: Index,
    reader: IndexReader,
    fields: Fields,
    indexed: watch::Sender<u64>,
}

/// An opened index: the shared searcher, its single writer, and where the writer must resume.
pub struct OpenedIndex {
    pub index: Arc<SearchIndex>,
    pub writer: IndexWriter,
    /// Last store change sequence the index covers; `None` means it must be rebuilt from the
    /// store.
    pub watermark: Option<u64>,
}

impl SearchIndex {
    /// Opens the index in `dir`, creating it (or recreating it, when its analyzer or format is
    /// not this build's) as needed.
    pub fn open(dir: &Path, writer_memory_mb: usize) -> IndexResult<OpenedIndex> {
        let (schema, fields) = schema();
        std::fs::create_dir_all(dir)?;
        let existing = tantivy::directory::MmapDirectory::open(dir)?;
        let exists = Index::exists(&existing).map_err(tantivy::TantivyError::from)?;
        let (index, watermark) = if exists {
            let index = Index::open_in_dir(dir)?;
            let payload = index
                .load_metas()?
                .payload
                .and_then(|p| serde_json::from_str::<CommitPayload>(&p).ok());
            match payload {
                Some(p) if p == CommitPayload::current(p.watermark) && index.schema() == schema => {
                    (index, Some(p.watermark))
                }
                other => {
                    tracing::warn!(payload = ?other, analyzer = ANALYZER, format = FORMAT,
                        "index was built by another analyzer or format; rebuilding from the store");
                    drop(index);
                    std::fs::remove_dir_all(dir)?;
                    std::fs::create_dir_all(dir)?;
                    (Index::create_in_dir(dir, schema)?, None)
                }
            }
        } else {
            (Index::create_in_dir(dir, schema)?, None)
        };
        index.tokenizers().register(ANALYZER, analyzer());
        let writer = index.writer(writer_memory_mb * 1024 * 1024)?;
        let reader = index
            .reader_builder()
            .reload_policy(ReloadPolicy::Manual)
            .try_into()?;
        Ok(OpenedIndex {
            index: Arc::new(SearchIndex {
                index,
                reader,
                fields,
                indexed: watch::Sender::new(watermark.unwrap_or(0)),
            }),
            writer,
            watermark,
        })
    }

    /// The last store change sequence visible to search.
    pub fn indexed_seq(&self) -> u64 {
        *self.indexed.borrow()
    }

    /// Waits until every change up to `seq` is visible to search.
    pub async fn wait_indexed(&self, seq: u64) {
        let mut rx = self.indexed.subscribe();
        // The sender lives as long as `self`, so this cannot fail.
        let _ = rx.wait_for(|indexed| *indexed >= seq).await;
    }

    /// Number of searchable documents, across workspaces.
    pub fn num_docs(&self) -> u64 {
        self.reader.searcher().num_docs()
    }

    fn document(&self, v: &Verbatim) -> TantivyDocument {
        let f = &self.fields;
        let mut doc = doc!(
            f.number => v.number,
            f.key => document_key(&v.workspace, v.number),
            f.workspace => v.workspace.as_str(),
            f.text => v.text.as_str(),
            f.source => tantivy::schema::Facet::from_path([v.source.as_str()]),
            f.created_at => DateTime::from_timestamp_micros(v.created_at),
        );
        if let Some(c) = &v.customer_id {
            doc.add_text(f.customer_id, c);
        }
        if let Some(a) = &v.account_id {
            doc.add_text(f.account_id, a);
        }
        for (key, value) in &v.metadata {
            doc.add_text(f.metadata, metadata_term(key, value));
        }
        for (dimension, value) in v.tags.facets(v.theme.as_deref()) {
            doc.add_facet(
                f.tags,
                tantivy::schema::Facet::from_path([dimension, value]),
            );
        }
        doc
    }

    /// The term naming one workspace's verbatim: what a re-index or a deletion replaces, never
    /// another workspace's verbatim with the same number.
    fn key_term(&self, workspace: &str, number: u64) -> Term {
        Term::from_field_text(self.fields.key, &document_key(workspace, number))
    }

    /// Commits what the writer holds, recording `watermark`, and makes it visible to search.
    fn commit(&self, writer: &mut IndexWriter, watermark: u64) -> IndexResult<()> {
        let mut prepared = writer.prepare_commit()?;
        let payload =
            serde_json::to_string(&CommitPayload::current(watermark)).expect("payload serialises");
        prepared.set_payload(&payload);
        prepared.commit()?;
        self.reader.reload()?;
        self.indexed.send_replace(watermark);
        Ok(())
    }
}

/// A document's key: `{workspace}/{number}` (workspace names hold no `/`).
fn document_key(workspace: &str, number: u64) -> String {
    format!("{workspace}/{number}")
}

/// How a metadata pair is indexed: one exact term `key=value` (keys never contain `=`).
fn metadata_term(key: &str, value: &str) -> String {
    format!("{key}={value}")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn commit_payload(dir: &Path, payload: &str) {
        let mut opened = SearchIndex::open(dir, 20).unwrap();
        let mut prepared = opened.writer.prepare_commit().unwrap();
        prepared.set_payload(payload);
        prepared.commit().unwrap();
        opened.writer.wait_merging_threads().unwrap();
    }

    #[test]
    fn an_index_from_another_analyzer_is_rebuilt() {
        let dir = tempfile::tempdir().unwrap();
        let current = serde_json::to_string(&CommitPayload::current(7)).unwrap();
        commit_payload(dir.path(), &current);
        assert_eq!(
            SearchIndex::open(dir.path(), 20).unwrap().watermark,
            Some(7)
        );

        let mut old = CommitPayload::current(7);
        old.analyzer = "tideline-en-v0".into();
        commit_payload(dir.path(), &serde_json::to_string(&old).unwrap());
        assert_eq!(SearchIndex::open(dir.path(), 20).unwrap().watermark, None);

        // Format 3 identified documents by a store-wide number.
        commit_payload(dir.path(), &current);
        let mut old = CommitPayload::current(7);
        old.format = 3;
        commit_payload(dir.path(), &serde_json::to_string(&old).unwrap());
        assert_eq!(SearchIndex::open(dir.path(), 20).unwrap().watermark, None);
    }

    #[test]
    fn a_fresh_index_asks_for_a_rebuild() {
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(SearchIndex::open(dir.path(), 20).unwrap().watermark, None);
    }
}
