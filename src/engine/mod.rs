//! The engine: what the service does, independent of gRPC. Validates, redacts and tags, writes to
//! the store, makes writes durable before answering, and keeps the search index following the store.

pub mod alerts;
pub mod taxonomies;
pub mod themes;
pub mod webhooks;

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
use crate::tagging::tags::{GivenTags, Origin, Tags};
use crate::tagging::taxonomy::Taxonomy;
use crate::tagging::{apply_given, tag_text, validate_given};
use crate::text::pii;

use self::alerts::{AlertFilter, Alerting, EvaluateOptions, Evaluation};
use self::taxonomies::{retag_workspace, ActiveTaxonomy, RetagJob, Taxonomies};
use self::themes::{RefreshSummary, ThemeState};
use crate::text::StemLanguage;
use crate::themes::record::Theme;
use crate::themes::ThemeParams;

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
    pub tag_counts: Vec<(&'static str, Vec<(String, u64)>)>,
}

/// The running service's state: one store, one index, one indexer.
pub struct Engine {
    config: Config,
    store: Arc<Store>,
    index: Arc<SearchIndex>,
    indexer: tokio::sync::Mutex<Option<IndexerHandle>>,
    taxonomies: Arc<Taxonomies>,
    themes: Arc<ThemeState>,
    alerting: Arc<Alerting>,
    /// Scheduled theme refreshes, alert evaluations, and the webhook worker.
    background: Vec<tokio::task::JoinHandle<()>>,
}

/// Every `interval`, refreshes each workspace's themes (when `refresh` is given) and evaluates its
/// alerts, off the async runtime.
async fn scheduled(
    store: Arc<Store>,
    taxonomies: Arc<Taxonomies>,
    themes: Arc<ThemeState>,
    alerting: Arc<Alerting>,
    interval: Duration,
    refresh: Option<ThemeParams>,
) {
    let mut ticker = tokio::time::interval_at(tokio::time::Instant::now() + interval, interval);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let task = if refresh.is_some() {
        "scheduled theme refresh"
    } else {
        "scheduled alert evaluation"
    };
    loop {
        ticker.tick().await;
        let (store, taxonomies, themes, alerting, params) = (
            store.clone(),
            taxonomies.clone(),
            themes.clone(),
            alerting.clone(),
            refresh,
        );
        let outcome = tokio::task::spawn_blocking(move || -> Result<usize> {
            let workspaces = store.workspaces()?;
            for ws in &workspaces {
                let active = taxonomies.get(&store, ws)?;
                if let Some(params) = &params {
                    themes.refresh(&store, &active.taxonomy, ws, params)?;
                }
                let live = alerts::EvaluateOptions::default();
                alerting.evaluate(&active.taxonomy, ws, &live, now_micros())?;
            }
            Ok(workspaces.len())
        })
        .await;
        match outcome {
            Ok(Ok(count)) => tracing::info!(workspaces = count, "{task} done"),
            Ok(Err(err)) => tracing::error!(error = %err, "{task} failed"),
            Err(err) => tracing::error!(error = %err, "{task} panicked"),
        }
    }
}

/// A text tagged without being stored.
#[derive(Debug, Clone)]
pub struct TaggedText {
    /// The text as it would be stored (redacted when redaction is on).
    pub text: String,
    pub tags: Tags,
    pub redacted: Vec<pii::PiiKind>,
}

/// Which tag dimensions a correction hands back to the rules.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ClearTags {
    pub journey_stage: bool,
    pub driver: bool,
    pub product_areas: bool,
    pub severity: bool,
    pub sentiment: bool,
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
        let taxonomies = Arc::new(Taxonomies::default());
        let themes = Arc::new(ThemeState::default());
        let alerting = Arc::new(Alerting::new(store.clone(), config.alerts.rules));
        let mut background = vec![crate::webhooks::worker::spawn(
            store.clone(),
            config.webhooks.clone(),
            alerting.outbox.clone(),
        )];
        let schedules = [
            (
                config.themes.refresh_interval_secs,
                Some(config.themes.params(None)),
            ),
            (config.alerts.evaluate_interval_secs, None),
        ];
        for (secs, refresh) in schedules {
            if secs > 0 {
                background.push(tokio::spawn(scheduled(
                    store.clone(),
                    taxonomies.clone(),
                    themes.clone(),
                    alerting.clone(),
                    Duration::from_secs(secs),
                    refresh,
                )));
            }
        }
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
            background,
            taxonomies,
            themes,
            alerting,
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
        let mut accepted = Vec::with_capacity(items.len());
        for (position, item) in items.into_iter().enumerate() {
            match item.validate(workspace, now, limits) {
                Ok((verbatim, given)) => {
                    accepted.push((position, verbatim, given));
                    results.push(None);
                }
                Err(err) => results.push(Some(Err(err))),
            }
        }
        if !accepted.is_empty() {
            let store = self.store.clone();
            let taxonomies = self.taxonomies.clone();
            let themes = self.themes.clone();
            let redact = self.config.tagging.redact_pii;
            let ws = workspace.to_string();
            let (written, rejected) = tokio::task::spawn_blocking(move || -> Result<_> {
                let active = taxonomies.get(&store, &ws)?;
                let model = themes.model(&store, &ws)?;
                let mut ready = Vec::with_capacity(accepted.len());
                let mut positions = Vec::with_capacity(accepted.len());
                let mut rejected = Vec::new();
                let mut known = Vec::new();
                for (position, mut verbatim, given) in accepted {
                    // A retry of a stored verbatim (a resumed import) costs a lookup, not tagging.
                    if let Some(ext) = &verbatim.external_id {
                        if let Some(seq) = store.existing(&ws, verbatim.source, ext)? {
                            known.push((position, Inserted::Duplicate(seq)));
                            continue;
                        }
                    }
                    if let Err(err) = validate_given(&active.taxonomy, &given) {
                        rejected.push((position, err));
                        continue;
                    }
                    if redact {
                        verbatim.text = pii::redact(&verbatim.text).text;
                    }
                    verbatim.tags = tag_text(
                        &active.taxonomy,
                        active.version,
                        &verbatim.text,
                        &given,
                        Origin::Client,
                    );
                    if let Some(model) = &model {
                        let language =
                            StemLanguage::from_tag(verbatim.language.as_deref().unwrap_or("en"));
                        verbatim.theme = model.assign(&verbatim.text, language);
                    }
                    ready.push(verbatim);
                    positions.push(position);
                }
                let inserted = store.insert_batch(&ws, &ready)?;
                let mut written: Vec<_> = positions.into_iter().zip(inserted).collect();
                written.extend(known);
                Ok((written, rejected))
            })
            .await??;
            self.store.flush().await?;
            let newest = written
                .iter()
                .map(|(_, i)| match i {
                    Inserted::Created(seq) | Inserted::Duplicate(seq) => *seq,
                })
                .max()
                .unwrap_or(0);
            for (position, inserted) in written {
                results[position] = Some(Ok(inserted));
            }
            for (position, err) in rejected {
                results[position] = Some(Err(err));
            }
            if wait_for_index && newest > 0 {
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
            tag_counts: page.tag_counts,
        })
    }

    /// Tags a text as ingest would, without storing it.
    pub async fn tag_text(
        &self,
        workspace: &str,
        text: String,
        language: String,
        given: GivenTags,
    ) -> Result<TaggedText> {
        let item = NewVerbatim {
            text,
            language,
            tags: Ok(given),
            ..Default::default()
        };
        let (verbatim, given) =
            item.validate(workspace, now_micros(), self.config.verbatim_limits())?;
        let store = self.store.clone();
        let taxonomies = self.taxonomies.clone();
        let redact = self.config.tagging.redact_pii;
        let ws = workspace.to_string();
        tokio::task::spawn_blocking(move || -> Result<TaggedText> {
            let active = taxonomies.get(&store, &ws)?;
            validate_given(&active.taxonomy, &given)?;
            let (text, redacted) = if redact {
                let r = pii::redact(&verbatim.text);
                (r.text, r.found.into_iter().map(|(kind, _)| kind).collect())
            } else {
                (verbatim.text, Vec::new())
            };
            let tags = tag_text(
                &active.taxonomy,
                active.version,
                &text,
                &given,
                Origin::Client,
            );
            Ok(TaggedText {
                text,
                tags,
                redacted,
            })
        })
        .await?
    }

    /// A person's correction of a verbatim's tags; `clear` hands dimensions back to the rules.
    pub async fn update_tags(
        &self,
        workspace: &str,
        id: VerbatimId,
        given: GivenTags,
        clear: ClearTags,
    ) -> Result<Verbatim> {
        let store = self.store.clone();
        let taxonomies = self.taxonomies.clone();
        let ws = workspace.to_string();
        let updated = tokio::task::spawn_blocking(move || -> Result<Option<Verbatim>> {
            let active = taxonomies.get(&store, &ws)?;
            validate_given(&active.taxonomy, &given)?;
            let mut out = store.update(&ws, &[id.0], |verbatim| {
                let fresh = tag_text(
                    &active.taxonomy,
                    active.version,
                    &verbatim.text,
                    &GivenTags::default(),
                    Origin::Rule,
                );
                let mut tags = verbatim.tags.clone();
                if clear.journey_stage {
                    tags.journey_stage = fresh.journey_stage.clone();
                }
                if clear.driver {
                    tags.driver = fresh.driver.clone();
                }
                if clear.product_areas {
                    tags.product_areas = fresh.product_areas.clone();
                }
                if clear.severity {
                    tags.severity = fresh.severity.clone();
                }
                if clear.sentiment {
                    tags.sentiment = fresh.sentiment.clone();
                }
                apply_given(&mut tags, &given, Origin::Person);
                let changed = tags != verbatim.tags;
                verbatim.tags = tags;
                changed
            })?;
            Ok(out.pop().flatten())
        })
        .await??
        .ok_or_else(|| Error::NotFound {
            what: format!("verbatim {id}"),
        })?;
        self.store.flush().await?;
        Ok(updated)
    }

    /// The workspace's taxonomy in force and the latest re-tagging job.
    pub async fn taxonomy(
        &self,
        workspace: &str,
    ) -> Result<(Arc<ActiveTaxonomy>, Option<Arc<RetagJob>>)> {
        let store = self.store.clone();
        let taxonomies = self.taxonomies.clone();
        let ws = workspace.to_string();
        let active = tokio::task::spawn_blocking(move || taxonomies.get(&store, &ws)).await??;
        Ok((active, self.taxonomies.job(workspace)))
    }

    /// Validates and stores a new taxonomy version, then re-tags the workspace in the background.
    /// A refused taxonomy changes nothing.
    pub async fn update_taxonomy(
        &self,
        workspace: &str,
        toml: String,
    ) -> Result<(Arc<ActiveTaxonomy>, Arc<RetagJob>)> {
        let taxonomy =
            Taxonomy::parse(&toml).map_err(|e| ValidationError::new("toml", e.to_string()))?;
        let store = self.store.clone();
        let taxonomies = self.taxonomies.clone();
        let ws = workspace.to_string();
        let active =
            tokio::task::spawn_blocking(move || taxonomies.replace(&store, &ws, taxonomy, toml))
                .await??;
        self.store.flush().await?;
        let job = self.taxonomies.start_job(workspace, active.version);
        tracing::info!(
            workspace,
            version = active.version,
            "taxonomy updated; re-tagging"
        );
        let (store, ws, running_job, running_active) = (
            self.store.clone(),
            workspace.to_string(),
            job.clone(),
            active.clone(),
        );
        tokio::task::spawn_blocking(move || {
            retag_workspace(&store, &ws, &running_active, &running_job)
        });
        Ok((active, job))
    }

    /// Re-detects the workspace's themes (ids kept stable) and reassigns every verbatim. Runs
    /// off the async runtime; one refresh per workspace at a time.
    pub async fn refresh_themes(
        &self,
        workspace: &str,
        k: Option<usize>,
    ) -> Result<RefreshSummary> {
        let (store, taxonomies, themes, alerting) = (
            self.store.clone(),
            self.taxonomies.clone(),
            self.themes.clone(),
            self.alerting.clone(),
        );
        let ws = workspace.to_string();
        let params = self.config.themes.params(k);
        let summary = tokio::task::spawn_blocking(move || -> Result<RefreshSummary> {
            let active = taxonomies.get(&store, &ws)?;
            let summary = themes.refresh(&store, &active.taxonomy, &ws, &params)?;
            // New themes, new standings: evaluate the alert rules on them.
            let live = EvaluateOptions::default();
            if let Err(err) = alerting.evaluate(&active.taxonomy, &ws, &live, now_micros()) {
                tracing::error!(workspace = %ws, error = %err, "alert evaluation after refresh failed");
            }
            Ok(summary)
        })
        .await??;
        self.store.flush().await?;
        // Listings read volumes from the index: answer once it has the new assignments.
        self.wait_searchable(self.store.last_seq()).await?;
        Ok(summary)
    }

    /// Every theme of a workspace (all statuses).
    pub async fn themes(&self, workspace: &str) -> Result<Vec<Theme>> {
        let (store, ws) = (self.store.clone(), workspace.to_string());
        tokio::task::spawn_blocking(move || themes::list_themes(&store, &ws)).await?
    }

    /// Themes with their current volume in a scope (verbatims matching `filter`), largest first,
    /// and the number of verbatims in the scope. Inactive themes only when asked.
    pub async fn themes_in_scope(
        &self,
        workspace: &str,
        filter: Filter,
        include_inactive: bool,
    ) -> Result<(Vec<(Theme, u64)>, u64)> {
        let scoped = !filter.is_empty();
        let query = SearchQuery {
            workspace: workspace.to_string(),
            text: String::new(),
            filter,
            order: Order::Newest,
            offset: 0,
            limit: 0,
            max_seq: self.index.indexed_seq(),
        };
        let index = self.index.clone();
        let page = tokio::task::spawn_blocking(move || index.search(&query)).await??;
        let counts: std::collections::HashMap<String, u64> = page
            .tag_counts
            .into_iter()
            .find(|(dimension, _)| *dimension == "theme")
            .map(|(_, counts)| counts.into_iter().collect())
            .unwrap_or_default();
        let mut themes: Vec<(Theme, u64)> = self
            .themes(workspace)
            .await?
            .into_iter()
            .filter(|t| include_inactive || t.status == crate::themes::record::ThemeStatus::Active)
            .map(|t| {
                let volume = counts.get(&t.id).copied().unwrap_or(0);
                (t, volume)
            })
            .filter(|(_, volume)| !scoped || *volume > 0)
            .collect();
        themes.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.id.cmp(&b.0.id)));
        Ok((themes, page.total))
    }

    /// One theme, with its representative verbatims.
    pub async fn theme(&self, workspace: &str, id: &str) -> Result<(Theme, Vec<Verbatim>)> {
        let (store, ws, id) = (self.store.clone(), workspace.to_string(), id.to_string());
        tokio::task::spawn_blocking(move || -> Result<_> {
            let theme = themes::get_theme(&store, &ws, &id)?;
            let quotes = theme
                .quotes
                .iter()
                .map(|&seq| store.get(&ws, seq))
                .collect::<std::result::Result<Vec<_>, _>>()?
                .into_iter()
                .flatten()
                .collect();
            Ok((theme, quotes))
        })
        .await?
    }

    /// A theme's volume, share of voice, sentiment, severities and customers per time bucket.
    pub async fn theme_trend(
        &self,
        workspace: &str,
        id: &str,
        granularity: crate::trends::Granularity,
    ) -> Result<Vec<(Micros, crate::trends::Bucket, u64)>> {
        let (store, ws, id) = (self.store.clone(), workspace.to_string(), id.to_string());
        tokio::task::spawn_blocking(move || themes::theme_trend(&store, &ws, &id, granularity))
            .await?
    }

    /// Renames (pinning the label) and/or sets the owner of a theme.
    pub async fn update_theme(
        &self,
        workspace: &str,
        id: &str,
        label: Option<String>,
        owner: Option<String>,
    ) -> Result<Theme> {
        let (store, ws, id) = (self.store.clone(), workspace.to_string(), id.to_string());
        tokio::task::spawn_blocking(move || themes::update_theme(&store, &ws, &id, label, owner))
            .await?
    }

    /// Merges themes into one; their verbatims move with them.
    pub async fn merge_themes(
        &self,
        workspace: &str,
        sources: Vec<String>,
        into: &str,
    ) -> Result<Theme> {
        if sources.iter().any(|s| s == into) {
            return Err(
                ValidationError::new("theme_ids", "must not contain the target theme").into(),
            );
        }
        let (store, state, ws, into) = (
            self.store.clone(),
            self.themes.clone(),
            workspace.to_string(),
            into.to_string(),
        );
        let theme = tokio::task::spawn_blocking(move || state.merge(&store, &ws, &sources, &into))
            .await??;
        self.store.flush().await?;
        Ok(theme)
    }

    /// Buckets for the verbatims carrying one tag value, with the workspace total per bucket.
    pub async fn tag_trend(
        &self,
        workspace: &str,
        dimension: &str,
        value: &str,
        granularity: crate::trends::Granularity,
    ) -> Result<Vec<(Micros, crate::trends::Bucket, u64)>> {
        if !crate::index::TAG_DIMENSIONS.contains(&dimension) || dimension == "theme" {
            return Err(ValidationError::new(
                "dimension",
                format!(
                    "{dimension:?} is not a tag dimension (journey_stage, driver, product_area, severity, sentiment)"
                ),
            )
            .into());
        }
        let (store, ws) = (self.store.clone(), workspace.to_string());
        let (dimension, value) = (dimension.to_string(), value.to_string());
        tokio::task::spawn_blocking(move || {
            themes::trend(&store, &ws, granularity, |v| {
                crate::index::tag_facets(&v.tags, None)
                    .into_iter()
                    .any(|(d, x)| d == dimension && x == value)
            })
        })
        .await?
    }

    /// Evaluates a workspace's alert rules (live, or a backtest with `as_of`).
    pub async fn evaluate_alerts(
        &self,
        workspace: &str,
        options: EvaluateOptions,
    ) -> Result<Evaluation> {
        let (store, taxonomies, alerting) = (
            self.store.clone(),
            self.taxonomies.clone(),
            self.alerting.clone(),
        );
        let ws = workspace.to_string();
        tokio::task::spawn_blocking(move || {
            let active = taxonomies.get(&store, &ws)?;
            alerting.evaluate(&active.taxonomy, &ws, &options, now_micros())
        })
        .await?
    }

    /// The alert log, newest first.
    pub async fn alerts(
        &self,
        workspace: &str,
        filter: AlertFilter,
    ) -> Result<Vec<crate::alerts::Alert>> {
        let (alerting, ws) = (self.alerting.clone(), workspace.to_string());
        tokio::task::spawn_blocking(move || alerting.list(&ws, &filter)).await?
    }

    pub async fn alert(&self, workspace: &str, id: &str) -> Result<crate::alerts::Alert> {
        let (alerting, ws, id) = (self.alerting.clone(), workspace.to_string(), id.to_string());
        tokio::task::spawn_blocking(move || alerting.get(&ws, &id)).await?
    }

    /// Moves an alert through its lifecycle.
    pub async fn update_alert(
        &self,
        workspace: &str,
        id: &str,
        status: crate::alerts::AlertStatus,
        assignee: String,
        note: String,
    ) -> Result<crate::alerts::Alert> {
        let (alerting, ws, id) = (self.alerting.clone(), workspace.to_string(), id.to_string());
        tokio::task::spawn_blocking(move || {
            alerting.update(&ws, &id, status, assignee, note, now_micros())
        })
        .await?
    }

    /// New alerts and alert changes of every workspace, from now on, and a signal that flips
    /// when the server shuts down.
    pub fn watch_alerts(
        &self,
    ) -> (
        tokio::sync::broadcast::Receiver<(String, crate::alerts::AlertEvent)>,
        tokio::sync::watch::Receiver<bool>,
    ) {
        (self.alerting.subscribe(), self.alerting.closing())
    }

    /// Ends live alert watches so a shutdown can drain.
    pub fn close_watchers(&self) {
        self.alerting.close_watchers();
    }

    pub async fn alert_rules(&self, workspace: &str) -> Result<crate::trends::AlertRule> {
        let (alerting, ws) = (self.alerting.clone(), workspace.to_string());
        tokio::task::spawn_blocking(move || alerting.rules(&ws)).await?
    }

    /// Replaces the workspace's alert rules; `None` goes back to the configured defaults.
    pub async fn update_alert_rules(
        &self,
        workspace: &str,
        rules: Option<crate::trends::AlertRule>,
    ) -> Result<crate::trends::AlertRule> {
        let (alerting, ws) = (self.alerting.clone(), workspace.to_string());
        tokio::task::spawn_blocking(move || alerting.set_rules(&ws, rules)).await?
    }

    /// Runs a blocking webhook-store function with the store, off the async runtime, and wakes
    /// the delivery worker afterwards (it may have queued deliveries).
    async fn with_webhooks<T: Send + 'static>(
        &self,
        f: impl FnOnce(&Store, Micros) -> Result<T> + Send + 'static,
    ) -> Result<T> {
        let store = self.store.clone();
        let out = tokio::task::spawn_blocking(move || f(&store, now_micros())).await??;
        self.alerting.outbox.notify_one();
        Ok(out)
    }

    pub async fn create_webhook(
        &self,
        workspace: &str,
        new: webhooks::NewWebhook,
    ) -> Result<(crate::webhooks::Webhook, String)> {
        let ws = workspace.to_string();
        let allow_private = self.config.webhooks.allow_private_urls;
        self.with_webhooks(move |store, now| webhooks::create(store, &ws, new, allow_private, now))
            .await
    }

    pub async fn webhooks(&self, workspace: &str) -> Result<Vec<crate::webhooks::Webhook>> {
        let ws = workspace.to_string();
        self.with_webhooks(move |store, _| webhooks::list(store, &ws))
            .await
    }

    /// Deletes a webhook and cancels its pending deliveries; returns how many.
    pub async fn delete_webhook(&self, workspace: &str, id: &str) -> Result<usize> {
        let (ws, id) = (workspace.to_string(), id.to_string());
        self.with_webhooks(move |store, now| webhooks::delete(store, &ws, &id, now))
            .await
    }

    pub async fn rotate_webhook_secret(
        &self,
        workspace: &str,
        id: &str,
    ) -> Result<(crate::webhooks::Webhook, String)> {
        let (ws, id) = (workspace.to_string(), id.to_string());
        self.with_webhooks(move |store, now| webhooks::rotate_secret(store, &ws, &id, now))
            .await
    }

    pub async fn deliveries(
        &self,
        workspace: &str,
        filter: webhooks::DeliveryFilter,
    ) -> Result<Vec<crate::webhooks::Delivery>> {
        let ws = workspace.to_string();
        self.with_webhooks(move |store, _| webhooks::deliveries(store, &ws, &filter))
            .await
    }

    /// Sends an alert's events again, now.
    pub async fn redeliver_alert(
        &self,
        workspace: &str,
        alert_id: &str,
        webhook_id: Option<String>,
    ) -> Result<Vec<crate::webhooks::Delivery>> {
        let (ws, alert) = (workspace.to_string(), alert_id.to_string());
        self.with_webhooks(move |store, now| {
            webhooks::redeliver(store, &ws, &alert, webhook_id.as_deref(), now)
        })
        .await
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

    /// Where the workspace's theme refresh is.
    pub fn refresh_phase(&self, workspace: &str) -> themes::RefreshPhase {
        self.themes.phase(workspace)
    }

    /// Final index commit, then a store flush. Idempotent.
    pub async fn shutdown(&self) -> Result<()> {
        for task in &self.background {
            task.abort();
        }
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
