//! The engine composes the concept services into the running service. It opens the store, the
//! search index and every service over them ([`Services`]), runs their blocking work off the
//! async runtime ([`Engine::run`]), keeps the index following the store, and shuts everything
//! down in order. Everything else it does is composition across concepts: the named ingest
//! pipeline ([`ingest`]), search pages with their records ([`search`]), and the scheduled and
//! on-demand theme refreshes and alert evaluations ([`schedule`]).

mod ingest;
mod schedule;
mod search;

use std::sync::Arc;
use std::time::Duration;

pub use self::ingest::{ClearTags, ItemResult, TaggedText};
pub use self::search::{SearchHit, SearchRequest, SearchResults};
use crate::alerts::Alerts;
use crate::audit::Audit;
use crate::auth::service::Keys;
use crate::config::{Config, BOOTSTRAP_KEY_ENV};
use crate::error::{Error, Result};
use crate::index::writer::{self, IndexerHandle};
use crate::index::SearchIndex;
use crate::insights::service::Insights;
use crate::model::{Verbatim, VerbatimId};
use crate::pagination::Pager;
use crate::store::Store;
use crate::tagging::service::{ActiveTaxonomy, RetagJob, Tagging};
use crate::themes::service::Themes;
use crate::time::Clock;
use crate::webhooks::{Delivery, Webhooks};

/// How long a `wait_for_index` ingest or a deletion waits for the index before giving up.
const INDEX_WAIT: Duration = Duration::from_secs(30);

/// The concept services over one store, and the search index that follows it; shared by the
/// engine's tasks and the API.
pub struct Services {
    pub store: Arc<Store>,
    pub index: Arc<SearchIndex>,
    pub tagging: Tagging,
    pub themes: Arc<Themes>,
    pub alerts: Alerts,
    pub insights: Insights,
    pub webhooks: Arc<Webhooks>,
    pub keys: Keys,
    pub audit: Audit,
    /// The clock the accountability loop and digests read (`clock_offset_secs`).
    pub clock: Clock,
}

/// The running service: the services, the search index and its indexer, and the background
/// tasks (schedules and the webhook worker).
pub struct Engine {
    config: Config,
    services: Arc<Services>,
    pager: Pager,
    indexer: tokio::sync::Mutex<Option<IndexerHandle>>,
    background: std::sync::Mutex<Vec<tokio::task::JoinHandle<()>>>,
    /// The store's change sequence when it was opened: the index has caught up (any replay
    /// after a crash is done) once its watermark reaches it.
    start_seq: u64,
}

/// Whether the engine can serve what it holds, for `/readyz`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Readiness {
    /// The store is open and the index has caught up with what the store held at start.
    pub ready: bool,
    /// The store takes writes (it stops under `min_free_disk_mb`; reads go on).
    pub writable: bool,
    pub indexed_seq: u64,
    pub start_seq: u64,
    /// Store changes not yet searchable.
    pub lag: u64,
}

impl Engine {
    /// Opens the store and index in the configured data directory, starts the indexer (which
    /// first replays whatever the index missed), the webhook worker and the schedules.
    pub async fn open(config: Config) -> Result<Engine> {
        let store_dir = config.store_dir();
        let index_dir = config.index_dir();
        let memory = config.index.writer_memory_mb;
        let min_free = config.min_free_disk_mb.saturating_mul(1024 * 1024);
        let models_dir = config.themes.models_dir.clone();
        let encoder_name = config.themes.encoder.clone();
        let (store, opened, encoder) = tokio::task::spawn_blocking(move || -> Result<_> {
            let store = Store::open_keeping_free(&store_dir, min_free)?;
            let opened = SearchIndex::open(&index_dir, memory)?;
            let encoder = crate::embedding::open(&encoder_name, models_dir.as_deref());
            Ok((store, opened, encoder))
        })
        .await??;
        let encoder = match encoder {
            Ok(encoder) => {
                tracing::info!(
                    encoder = encoder.name(),
                    dims = encoder.dims(),
                    "themes are found by meaning"
                );
                Ok(encoder)
            }
            Err(e) => {
                tracing::warn!(error = %e, "themes fall back to tf-idf");
                Err(e.to_string())
            }
        };
        let store = Arc::new(store);
        let start_seq = store.last_seq();
        let pager = Pager::new(store.page_key()?, config.limits.max_page_size);
        tracing::info!(
            data_dir = %config.data_dir.display(),
            last_seq = store.last_seq(),
            index_watermark = ?opened.watermark,
            "engine opened"
        );
        let limits = &config.limits;
        let keys = Keys::open(
            store.clone(),
            limits.clone(),
            config.auth.bootstrap_key.as_ref().map(|k| k.0.as_str()),
            config.auth.quotas(),
        )?;
        if config.auth.enabled() && !keys.any() {
            return Err(Error::FailedPrecondition(format!(
                "no api key: set {BOOTSTRAP_KEY_ENV} (or auth.bootstrap_key_file) to an admin key \
                 of at least 16 characters, or serve a loopback address with --no-auth"
            )));
        }
        let event_types = crate::alerts::EVENT_TYPES
            .into_iter()
            .chain(crate::themes::accountability::EVENT_TYPES)
            .chain(crate::webhooks::digest::EVENT_TYPES)
            .collect();
        let webhooks = Arc::new(Webhooks::new(
            store.clone(),
            config.webhooks.clone(),
            limits.clone(),
            event_types,
        ));
        let clock = Clock::shifted(crate::time::from_secs(config.clock_offset_secs));
        let themes = Arc::new(Themes::new(
            store.clone(),
            limits.clone(),
            encoder,
            webhooks.clone(),
            clock,
        ));
        let services = Arc::new(Services {
            tagging: Tagging::new(store.clone(), limits.clone()),
            alerts: Alerts::new(
                store.clone(),
                themes.clone(),
                webhooks.clone(),
                config.alerts.rules,
                limits.clone(),
            ),
            insights: Insights::new(
                store.clone(),
                themes.clone(),
                config.insights.clone(),
                limits.clone(),
            ),
            themes,
            webhooks,
            keys,
            audit: Audit::new(store.clone()),
            clock,
            store: store.clone(),
            index: opened.index.clone(),
        });
        let mut background = vec![services.webhooks.spawn_worker()?];
        background.extend(schedule::spawn(&config, &services));
        let indexer = writer::spawn(
            opened.index.clone(),
            opened.writer,
            opened.watermark,
            store,
            config.commit_interval(),
        );
        Ok(Engine {
            config,
            services,
            pager,
            indexer: tokio::sync::Mutex::new(Some(indexer)),
            background: std::sync::Mutex::new(background),
            start_seq,
        })
    }

    /// Whether the store is open and the index caught up (see [`Readiness`]).
    pub fn readiness(&self) -> Readiness {
        let indexed_seq = self.services.index.indexed_seq();
        let store = &self.services.store;
        Readiness {
            ready: indexed_seq >= self.start_seq,
            writable: store.watch_writes().borrow().is_none(),
            indexed_seq,
            start_seq: self.start_seq,
            lag: store.last_seq().saturating_sub(indexed_seq),
        }
    }

    /// Bytes on disk of the store and of the index (0 for a side that cannot be read).
    pub async fn disk_bytes(&self) -> (u64, u64) {
        let index_dir = self.config.index_dir();
        self.run(move |s| {
            let store = s.store.size_on_disk().unwrap_or(0);
            Ok((store, directory_bytes(&index_dir)))
        })
        .await
        .unwrap_or((0, 0))
    }

    pub fn config(&self) -> &Config {
        &self.config
    }

    /// Signs and reads page tokens, sizes pages.
    pub fn pager(&self) -> &Pager {
        &self.pager
    }

    /// The services, for what needs no blocking work (watching alerts, refresh phases, jobs).
    pub fn services(&self) -> &Services {
        &self.services
    }

    /// Runs blocking work on the services off the async runtime: the one way requests reach the
    /// store.
    pub async fn run<T: Send + 'static>(
        &self,
        work: impl FnOnce(&Services) -> Result<T> + Send + 'static,
    ) -> Result<T> {
        let services = self.services.clone();
        tokio::task::spawn_blocking(move || work(&services)).await?
    }

    /// Reads one verbatim.
    pub async fn verbatim(&self, workspace: &str, id: VerbatimId) -> Result<Verbatim> {
        let ws = workspace.to_string();
        self.run(move |s| s.store.get(&ws, id.0)?.ok_or_else(|| not_found(id)))
            .await
    }

    /// Erases a verbatim from the store and the index; returns once both are done.
    pub async fn delete(&self, workspace: &str, id: VerbatimId) -> Result<()> {
        let ws = workspace.to_string();
        let change = self
            .run(move |s| s.store.delete(&ws, id.0)?.ok_or_else(|| not_found(id)))
            .await?;
        self.services.store.flush().await?;
        self.wait_searchable(change).await?;
        tracing::info!(workspace, id = %id, "verbatim erased");
        Ok(())
    }

    /// Number of verbatims stored in a workspace.
    pub async fn count(&self, workspace: &str) -> Result<usize> {
        let ws = workspace.to_string();
        self.run(move |s| Ok(s.store.count(&ws))).await
    }

    /// Stores a new taxonomy version durably and re-tags the workspace in the background.
    pub async fn update_taxonomy(
        &self,
        workspace: &str,
        toml: String,
    ) -> Result<(Arc<ActiveTaxonomy>, Arc<RetagJob>)> {
        let ws = workspace.to_string();
        let (active, job) = self.run(move |s| s.tagging.replace(&ws, toml)).await?;
        let (ws, running_active, running_job) =
            (workspace.to_string(), active.clone(), job.clone());
        let services = self.services.clone();
        tokio::task::spawn_blocking(move || {
            services.tagging.retag(&ws, &running_active, &running_job)
        });
        Ok((active, job))
    }

    /// Sends an alert's events again, now (see [`Webhooks::redeliver`]).
    pub async fn redeliver_alert(
        &self,
        workspace: &str,
        alert_id: String,
        webhook_id: Option<String>,
    ) -> Result<Vec<Delivery>> {
        let ws = workspace.to_string();
        self.run(move |s| {
            let alert = s.alerts.get(&ws, &alert_id)?;
            let now = crate::time::now();
            s.webhooks.redeliver(&ws, alert, webhook_id.as_deref(), now)
        })
        .await
    }

    /// Waits until the index covers store change sequence `seq`, asking the indexer to commit
    /// early.
    async fn wait_searchable(&self, seq: u64) -> Result<()> {
        if let Some(indexer) = self.indexer.lock().await.as_ref() {
            indexer.nudge();
        }
        tokio::time::timeout(INDEX_WAIT, self.services.index.wait_indexed(seq))
            .await
            .map_err(|_| Error::Timeout("waiting for the search index"))
    }

    /// Ends live alert watches, so that a shutdown can drain.
    pub fn close_watchers(&self) {
        self.services.alerts.close_watchers();
    }

    /// Stops the background tasks, commits the index and flushes the store. Idempotent.
    pub async fn shutdown(&self) -> Result<()> {
        let background = std::mem::take(&mut *self.background.lock().expect("background tasks"));
        for task in &background {
            task.abort();
        }
        // An aborted task lets go of the store only once it is dropped: wait for that.
        for task in background {
            let _ = task.await;
        }
        let read_only = self.services.store.watch_writes().borrow().clone();
        if let Some(indexer) = self.indexer.lock().await.take() {
            match (indexer.shutdown().await, &read_only) {
                (Err(err), Some(reason)) => {
                    tracing::warn!(error = %err, reason, "no final index commit: the store is read-only")
                }
                (result, _) => result?,
            }
        }
        match (self.services.store.flush().await, &read_only) {
            (Err(err), Some(reason)) => {
                tracing::warn!(error = %err, reason, "no final flush: the store is read-only")
            }
            (result, _) => result?,
        }
        tracing::info!(last_seq = self.services.store.last_seq(), "engine stopped");
        Ok(())
    }
}

/// Bytes of the files below `dir` (0 where it cannot be read).
fn directory_bytes(dir: &std::path::Path) -> u64 {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return 0;
    };
    entries
        .filter_map(|e| e.ok())
        .map(|e| match e.metadata() {
            Ok(m) if m.is_dir() => directory_bytes(&e.path()),
            Ok(m) => m.len(),
            Err(_) => 0,
        })
        .sum()
}

/// Rebuilds the search index from the store, with the server stopped. Returns the store
/// sequence the index now covers.
pub fn reindex(config: &Config) -> Result<u64> {
    let store = Store::open(&config.store_dir())?;
    Ok(writer::reindex_offline(
        &store,
        &config.index_dir(),
        config.index.writer_memory_mb,
    )?)
}

fn not_found(id: VerbatimId) -> Error {
    Error::not_found("verbatim", &id.to_string())
}
