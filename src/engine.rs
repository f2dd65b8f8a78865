//! The engine: what the service does, independent of gRPC. Validates, writes to the store, makes
//! writes durable before answering, and keeps the search index following the store.

use std::sync::Arc;
use std::time::Duration;

use serde::Serialize;

use crate::config::Config;
use crate::error::{Error, Result};
use crate::index::search::{Filter, Order, SearchQuery};
use crate::index::writer::{self, IndexerHandle};
use crate::index::SearchIndex;
use crate::model::{Micros, NewVerbatim, ValidationError, Verbatim, VerbatimId};
use crate::pagination::{self, PageToken};
use crate::store::{Inserted, Store};

/// How long a `wait_for_index` ingest or a deletion waits for the index before giving up.
const INDEX_WAIT: Duration = Duration::from_secs(30);

/// The outcome of one item of an ingest batch.
pub type ItemResult = std::result::Result<Inserted, ValidationError>;

/// A search request, as the engine understands it.
#[derive(Debug, Clone, Serialize)]
pub struct SearchRequest {
    pub workspace: String,
    pub query: String,
    pub filter: Filter,
    /// `None`: relevance with a query, newest first without.
    pub order: Option<Order>,
    #[serde(skip)]
    pub page_size: i32,
    #[serde(skip)]
    pub page_token: String,
}

/// A search hit with its stored verbatim.
#[derive(Debug, Clone)]
pub struct SearchHit {
    pub verbatim: Verbatim,
    pub score: f32,
    pub snippet: String,
}

/// One page of search results.
#[derive(Debug, Clone)]
pub struct SearchResults {
    pub hits: Vec<SearchHit>,
    pub next_page_token: String,
    pub total: u64,
    pub source_counts: Vec<(crate::model::Source, u64)>,
}

/// The running service's state: one store, one index, one indexer.
pub struct Engine {
    config: Config,
    store: Arc<Store>,
    index: Arc<SearchIndex>,
    indexer: tokio::sync::Mutex<Option<IndexerHandle>>,
}

impl Engine {
    /// Opens the store and index in the configured data directory and starts the indexer, which
    /// first replays whatever the index missed.
    pub async fn open(config: Config) -> Result<Engine> {
        let store_dir = config.store_dir();
        let index_dir = config.index_dir();
        let memory = config.index.writer_memory_mb;
        let (store, opened) = tokio::task::spawn_blocking(move || -> Result<_> {
            let store = Store::open(&store_dir)?;
            let opened = SearchIndex::open(&index_dir, memory)?;
            Ok((store, opened))
        })
        .await??;
        let store = Arc::new(store);
        tracing::info!(
            data_dir = %config.data_dir.display(),
            last_seq = store.last_seq(),
            index_watermark = ?opened.watermark,
            "engine opened"
        );
        let indexer = writer::spawn(
            opened.index.clone(),
            opened.writer,
            opened.watermark,
            store.clone(),
            config.commit_interval(),
        );
        Ok(Engine {
            config,
            store,
            index: opened.index,
            indexer: tokio::sync::Mutex::new(Some(indexer)),
        })
    }

    pub fn config(&self) -> &Config {
        &self.config
    }

    /// Validates and stores a batch of one workspace. Returns one result per item, in order, once
    /// every stored item is durable (and, with `wait_for_index`, searchable).
    pub async fn ingest(
        &self,
        workspace: &str,
        items: Vec<NewVerbatim>,
        wait_for_index: bool,
    ) -> Result<Vec<ItemResult>> {
        let limit = self.config.limits.max_batch_items;
        if items.len() > limit {
            return Err(Error::LimitExceeded {
                limit: "limits.max_batch_items",
                value: limit,
                message: format!("items: {} items in one batch", items.len()),
            });
        }
        self.store_batch(workspace, items, wait_for_index).await
    }

    /// [`Engine::ingest`] without the per-call batch limit, for groups of stream messages.
    pub async fn store_batch(
        &self,
        workspace: &str,
        items: Vec<NewVerbatim>,
        wait_for_index: bool,
    ) -> Result<Vec<ItemResult>> {
        let now = now_micros();
        let limits = self.config.verbatim_limits();
        let mut results: Vec<Option<ItemResult>> = Vec::with_capacity(items.len());
        let mut valid = Vec::with_capacity(items.len());
        for item in items {
            match item.validate(workspace, now, limits) {
                Ok(verbatim) => {
                    valid.push(verbatim);
                    results.push(None);
                }
                Err(err) => results.push(Some(Err(err))),
            }
        }
        if !valid.is_empty() {
            let store = self.store.clone();
            let ws = workspace.to_string();
            let inserted =
                tokio::task::spawn_blocking(move || store.insert_batch(&ws, &valid)).await??;
            self.store.flush().await?;
            let newest = inserted
                .iter()
                .map(|i| match i {
                    Inserted::Created(seq) | Inserted::Duplicate(seq) => *seq,
                })
                .max()
                .unwrap_or(0);
            let mut inserted = inserted.into_iter();
            for slot in results.iter_mut().filter(|r| r.is_none()) {
                *slot = inserted.next().map(Ok);
            }
            if wait_for_index {
                self.wait_searchable(newest).await?;
            }
        }
        Ok(results
            .into_iter()
            .map(|r| r.expect("every item has a result"))
            .collect())
    }

    /// Reads one verbatim.
    pub async fn get(&self, workspace: &str, id: VerbatimId) -> Result<Verbatim> {
        let store = self.store.clone();
        let ws = workspace.to_string();
        tokio::task::spawn_blocking(move || store.get(&ws, id.0))
            .await??
            .ok_or_else(|| Error::NotFound {
                what: format!("verbatim {id}"),
            })
    }

    /// Erases a verbatim from the store and the index; returns once both are done.
    pub async fn delete(&self, workspace: &str, id: VerbatimId) -> Result<()> {
        let store = self.store.clone();
        let ws = workspace.to_string();
        let change = tokio::task::spawn_blocking(move || store.delete(&ws, id.0))
            .await??
            .ok_or_else(|| Error::NotFound {
                what: format!("verbatim {id}"),
            })?;
        self.store.flush().await?;
        self.wait_searchable(change).await?;
        tracing::info!(workspace, id = %id, "verbatim erased");
        Ok(())
    }

    /// Searches one workspace, one page at a time.
    pub async fn search(&self, request: SearchRequest) -> Result<SearchResults> {
        let page_size = pagination::page_size(request.page_size, self.config.limits.max_page_size)?;
        let fingerprint = pagination::fingerprint(&request);
        let (offset, max_seq) = if request.page_token.is_empty() {
            (0, self.index.indexed_seq())
        } else {
            let token = PageToken::decode(&request.page_token, fingerprint)?;
            (token.offset, token.max_seq)
        };
        let order = request.order.unwrap_or(if request.query.trim().is_empty() {
            Order::Newest
        } else {
            Order::Relevance
        });
        let query = SearchQuery {
            workspace: request.workspace.clone(),
            text: request.query,
            filter: request.filter,
            order,
            offset,
            limit: page_size,
            max_seq,
        };
        let index = self.index.clone();
        let store = self.store.clone();
        let (page, verbatims) = tokio::task::spawn_blocking(move || -> Result<_> {
            let page = index.search(&query)?;
            let verbatims = page
                .hits
                .iter()
                .map(|hit| store.get(&query.workspace, hit.seq))
                .collect::<std::result::Result<Vec<_>, _>>()?;
            Ok((page, verbatims))
        })
        .await??;
        let returned = page.hits.len();
        let hits = page
            .hits
            .iter()
            .zip(verbatims)
            // A verbatim erased after the last commit may still be in the index for a moment.
            .filter_map(|(hit, verbatim)| {
                let verbatim = verbatim?;
                Some(SearchHit {
                    snippet: page.snippet(&verbatim.text),
                    score: hit.score,
                    verbatim,
                })
            })
            .collect();
        let next_offset = offset + returned;
        let next_page_token = if returned > 0 && (next_offset as u64) < page.total {
            PageToken {
                offset: next_offset,
                max_seq,
                fingerprint,
            }
            .encode()
        } else {
            String::new()
        };
        Ok(SearchResults {
            hits,
            next_page_token,
            total: page.total,
            source_counts: page.source_counts,
        })
    }

    /// Number of verbatims stored in a workspace.
    pub async fn count(&self, workspace: &str) -> Result<usize> {
        let store = self.store.clone();
        let ws = workspace.to_string();
        Ok(tokio::task::spawn_blocking(move || store.count(&ws)).await?)
    }

    /// Waits until the index covers store sequence `seq`, asking the indexer to commit early.
    async fn wait_searchable(&self, seq: u64) -> Result<()> {
        if let Some(indexer) = self.indexer.lock().await.as_ref() {
            indexer.nudge();
        }
        tokio::time::timeout(INDEX_WAIT, self.index.wait_indexed(seq))
            .await
            .map_err(|_| Error::Timeout("waiting for the search index"))
    }

    /// Final index commit, then a store flush. Idempotent.
    pub async fn shutdown(&self) -> Result<()> {
        if let Some(indexer) = self.indexer.lock().await.take() {
            indexer.shutdown().await?;
        }
        self.store.flush().await?;
        tracing::info!(last_seq = self.store.last_seq(), "engine stopped");
        Ok(())
    }
}

/// The current time in microseconds since the Unix epoch.
pub fn now_micros() -> Micros {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_micros() as Micros)
        .unwrap_or(0)
}
