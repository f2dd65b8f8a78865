//! The taxonomy service: each workspace's taxonomy in force (cached, loaded from the store, the
//! built-in default until a workspace stores its own), new versions, and the re-tagging of a
//! workspace's verbatims a new version starts.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, AtomicU8, Ordering};
use std::sync::Arc;

use parking_lot::{Mutex, RwLock};

use super::taxonomy::{Taxonomy, DEFAULT_TAXONOMY};
use super::{keep_sticky, tag_text};
use crate::error::Result;
use crate::model::tags::{GivenTags, Origin, Tags, TAG_DIMENSIONS};
use crate::model::{quoted, Limits, ValidationError};
use crate::store::{Store, StoreError, StoredTaxonomy};
use crate::time::{Granularity, Micros};
use crate::trends::Bucket;

/// Verbatims re-tagged per store transaction.
const RETAG_CHUNK: usize = 500;

/// A taxonomy in force and its version (0 = the built-in default).
pub struct ActiveTaxonomy {
    pub version: u64,
    pub toml: String,
    pub taxonomy: Taxonomy,
}

impl ActiveTaxonomy {
    /// Tags a text: the rules of this version, then the `given` tags with `origin`.
    pub fn tag(&self, text: &str, given: &GivenTags, origin: Origin) -> Tags {
        tag_text(&self.taxonomy, self.version, text, given, origin)
    }

    /// The rule tags of a text alone: what re-tagging and corrections recompute.
    pub fn rule_tags(&self, text: &str) -> Tags {
        self.tag(text, &GivenTags::default(), Origin::Rule)
    }
}

/// Where a re-tagging job is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RetagState {
    Running,
    Done,
    Failed,
    Superseded,
}

/// Progress of the re-tagging started by one taxonomy version.
pub struct RetagJob {
    pub version: u64,
    state: AtomicU8,
    pub done: AtomicU64,
    pub total: AtomicU64,
    error: Mutex<String>,
}

impl RetagJob {
    pub fn state(&self) -> RetagState {
        match self.state.load(Ordering::Acquire) {
            0 => RetagState::Running,
            1 => RetagState::Done,
            2 => RetagState::Failed,
            _ => RetagState::Superseded,
        }
    }

    fn set_state(&self, state: RetagState) {
        let code = match state {
            RetagState::Running => 0,
            RetagState::Done => 1,
            RetagState::Failed => 2,
            RetagState::Superseded => 3,
        };
        self.state.store(code, Ordering::Release);
    }

    pub fn error(&self) -> String {
        self.error.lock().clone()
    }
}

/// The tagging service: each workspace's taxonomy over the store's `taxonomies` tree (its only
/// writer), the re-tagging jobs, and tag trends.
pub struct Tagging {
    store: Arc<Store>,
    limits: Limits,
    active: RwLock<HashMap<String, Arc<ActiveTaxonomy>>>,
    jobs: Mutex<HashMap<String, Arc<RetagJob>>>,
    default: std::sync::OnceLock<Arc<ActiveTaxonomy>>,
}

impl Tagging {
    pub fn new(store: Arc<Store>, limits: Limits) -> Tagging {
        Tagging {
            store,
            limits,
            active: RwLock::default(),
            jobs: Mutex::default(),
            default: std::sync::OnceLock::new(),
        }
    }

    /// The taxonomy in force for a workspace. Blocking on first use per workspace (a store read).
    pub fn taxonomy(&self, workspace: &str) -> Result<Arc<ActiveTaxonomy>> {
        if let Some(active) = self.active.read().get(workspace) {
            return Ok(active.clone());
        }
        let active = match self.store.taxonomy(workspace)? {
            Some(stored) => Arc::new(ActiveTaxonomy {
                taxonomy: Taxonomy::parse(&stored.toml).map_err(|e| StoreError::Corrupt {
                    key: format!("taxonomies/{workspace}"),
                    message: format!("stored taxonomy does not parse: {e}"),
                })?,
                version: stored.version,
                toml: stored.toml,
            }),
            None => self.default().clone(),
        };
        self.active
            .write()
            .insert(workspace.to_string(), active.clone());
        Ok(active)
    }

    fn default(&self) -> &Arc<ActiveTaxonomy> {
        self.default.get_or_init(|| {
            Arc::new(ActiveTaxonomy {
                version: 0,
                toml: DEFAULT_TAXONOMY.to_string(),
                taxonomy: Taxonomy::default_saas(),
            })
        })
    }

    /// Validates a taxonomy, stores it durably as the workspace's next version, puts it in
    /// force, and registers the re-tagging job it needs (run it with [`Tagging::retag`]). A
    /// refused taxonomy changes nothing. Blocking.
    pub fn replace(
        &self,
        workspace: &str,
        toml: String,
    ) -> Result<(Arc<ActiveTaxonomy>, Arc<RetagJob>)> {
        if toml.len() > self.limits.max_taxonomy_bytes {
            return Err(ValidationError::new(
                "toml",
                format!(
                    "{} bytes exceed the limit limits.max_taxonomy_bytes={}",
                    toml.len(),
                    self.limits.max_taxonomy_bytes
                ),
            )
            .into());
        }
        let taxonomy =
            Taxonomy::parse(&toml).map_err(|e| ValidationError::new("toml", e.to_string()))?;
        let next = self.put(workspace, taxonomy, toml)?;
        self.store.flush_blocking()?;
        let job = self.start_job(workspace, next.version);
        tracing::info!(workspace, version = next.version, "taxonomy updated");
        Ok((next, job))
    }

    fn put(
        &self,
        workspace: &str,
        taxonomy: Taxonomy,
        toml: String,
    ) -> Result<Arc<ActiveTaxonomy>> {
        let mut active = self.active.write();
        let current = match active.get(workspace) {
            Some(a) => a.version,
            None => self.store.taxonomy(workspace)?.map_or(0, |s| s.version),
        };
        let version = current + 1;
        self.store.put_taxonomy(
            workspace,
            &StoredTaxonomy {
                version,
                toml: toml.clone(),
            },
        )?;
        let next = Arc::new(ActiveTaxonomy {
            version,
            toml,
            taxonomy,
        });
        active.insert(workspace.to_string(), next.clone());
        Ok(next)
    }

    /// The buckets of the verbatims carrying one tag value (`dimension` as in
    /// [`TAG_DIMENSIONS`], but not `theme`), each with the workspace's total.
    pub fn tag_trend(
        &self,
        workspace: &str,
        dimension: &str,
        value: &str,
        granularity: Granularity,
    ) -> Result<Vec<(Micros, Bucket, u64)>> {
        if !TAG_DIMENSIONS.contains(&dimension) || dimension == "theme" {
            return Err(ValidationError::new(
                "dimension",
                format!(
                    "{} is not a tag dimension (journey_stage, driver, product_area, severity, sentiment)",
                    quoted(dimension)
                ),
            )
            .into());
        }
        let verbatims = self.store.workspace_verbatims(workspace)?;
        Ok(crate::trends::trend(&verbatims, granularity, |v| {
            v.tags
                .facets(None)
                .into_iter()
                .any(|(d, x)| d == dimension && x == value)
        }))
    }

    /// The latest re-tagging job of a workspace, if one ran since start.
    pub fn job(&self, workspace: &str) -> Option<Arc<RetagJob>> {
        self.jobs.lock().get(workspace).cloned()
    }

    /// Registers a re-tagging job for `version`, superseding a running one.
    fn start_job(&self, workspace: &str, version: u64) -> Arc<RetagJob> {
        let job = Arc::new(RetagJob {
            version,
            state: AtomicU8::new(0),
            done: AtomicU64::new(0),
            total: AtomicU64::new(0),
            error: Mutex::new(String::new()),
        });
        let previous = self.jobs.lock().insert(workspace.to_string(), job.clone());
        if let Some(previous) = previous {
            if previous.state() == RetagState::Running {
                previous.set_state(RetagState::Superseded);
            }
        }
        job
    }
}

impl Tagging {
    /// Re-tags every verbatim of a workspace with `active`, keeping client and person tags.
    /// Stops early when a newer version supersedes `job`. Blocking: run on a blocking thread.
    pub fn retag(&self, workspace: &str, active: &ActiveTaxonomy, job: &RetagJob) {
        let store = &self.store;
        // A panic fails the job (it does not leave it running forever).
        let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| -> Result<()> {
            job.total
                .store(store.count(workspace) as u64, Ordering::Relaxed);
            let mut after = 0;
            loop {
                if job.state() != RetagState::Running {
                    return Ok(());
                }
                let numbers = store.workspace_numbers(workspace, after, RETAG_CHUNK)?;
                let Some(&last) = numbers.last() else { break };
                store.update(workspace, &numbers, |verbatim| {
                    let tags = keep_sticky(&verbatim.tags, active.rule_tags(&verbatim.text));
                    let changed = tags != verbatim.tags;
                    verbatim.tags = tags;
                    changed
                })?;
                store.flush_blocking()?;
                job.done.fetch_add(numbers.len() as u64, Ordering::Relaxed);
                after = last;
            }
            Ok(())
        }))
        .unwrap_or_else(|_| Err(crate::Error::Panicked("re-tagging panicked")));
        match result {
            Ok(()) if job.state() == RetagState::Running => {
                job.set_state(RetagState::Done);
                tracing::info!(
                    workspace,
                    version = job.version,
                    done = job.done.load(Ordering::Relaxed),
                    "re-tagging finished"
                );
            }
            Ok(()) => tracing::info!(workspace, version = job.version, "re-tagging superseded"),
            Err(err) => {
                tracing::error!(workspace, version = job.version, error = %err, "re-tagging failed");
                *job.error.lock() = err.to_string();
                job.set_state(RetagState::Failed);
            }
        }
    }
}
