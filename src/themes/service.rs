//! The theme service: refreshes, live assignment, theme edits and merges, each theme's trend and
//! its accountability loop (SLA breaches, readiness to close, reopenings, announced through a
//! [`ThemeOutbox`] in the same transaction as the change), one workspace at a time. It is the only
//! writer of theme documents and of verbatims' theme assignments. Blocking: the engine runs it on
//! blocking threads.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use parking_lot::{Mutex, RwLock};
use std::time::Instant;

use serde::{Deserialize, Serialize};

use super::accountability::{AccountabilityEdit, LoopChange, Measurement, ThemeEvent};
use super::detect::{detect, Laps, LiveModel, Meaning, PreviousTheme, ThemeDoc};
use super::record::{theme_id, Theme, ThemeStatus};
use super::{Method, ThemeParams};
use crate::embedding::Encoder;
use crate::error::{Error, Result};
use crate::model::{Limits, ValidationError, Verbatim};
use crate::store::{DocBatch, DocKind, Store};
use crate::tagging::taxonomy::{Dimension, Taxonomy};
use crate::text::StemLanguage;
use crate::time::{Clock, Granularity, Micros};
use crate::trends::{Bucket, FrequencyClass};

/// The live model's and the theme counter's document names.
const MODEL_NAME: &str = "current";
const COUNTER_NAME: &str = "next";
/// Verbatims read or rewritten per store call.
const CHUNK: usize = 1000;
/// The longest SLA a theme may be given, in days.
pub const MAX_SLA_DAYS: u32 = 3650;

/// The live-assignment model with the theme id of each centroid.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct StoredModel {
    pub model: LiveModel,
    pub theme_ids: Vec<String>,
}

/// A loaded model, ready to assign.
pub struct ReadyModel {
    stored: StoredModel,
    index: HashMap<String, u32>,
    /// The encoder the model's meaning centroids come from, when this process has it.
    encoder: Option<Arc<dyn Encoder>>,
}

impl ReadyModel {
    fn new(stored: StoredModel, encoder: Option<&Arc<dyn Encoder>>) -> ReadyModel {
        let encoder = encoder
            .filter(|e| stored.model.encoder() == Some(e.name()))
            .cloned();
        ReadyModel {
            index: stored.model.index(),
            stored,
            encoder,
        }
    }

    /// The theme of a new text, if it is close enough to one: by meaning and words when the
    /// themes were found by meaning, else by words.
    pub fn assign(&self, text: &str, language: StemLanguage) -> Option<String> {
        let embedding = self
            .encoder
            .as_ref()
            .and_then(|e| e.encode(&[text.to_string()]).pop());
        self.stored
            .model
            .assign(text, language, &self.index, embedding.as_deref())
            .map(|(t, _)| self.stored.theme_ids[t].clone())
    }

    /// Whether the model's themes were found by meaning, and with what.
    fn meaning(&self) -> Option<Method> {
        self.stored.model.meaning.as_ref().map(|m| Method::Meaning {
            encoder: m.encoder.clone(),
            weight: m.weight,
        })
    }
}

/// What a refresh did.
#[derive(Debug, Clone, Default)]
pub struct RefreshSummary {
    pub verbatims: usize,
    pub themes: usize,
    pub created: usize,
    pub continued: usize,
    pub retired: usize,
    pub merged: usize,
    pub coverage: f64,
    pub reassigned: usize,
    pub seconds: f64,
    /// Where the time went: load, encode, the detection's phases, write.
    pub phases: Laps,
    /// How the themes were found.
    pub method: Method,
}

/// Where a workspace's refresh is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum RefreshPhase {
    #[default]
    Idle,
    Loading,
    Clustering,
    Writing,
}

impl RefreshPhase {
    pub fn as_str(self) -> &'static str {
        match self {
            RefreshPhase::Idle => "idle",
            RefreshPhase::Loading => "loading verbatims",
            RefreshPhase::Clustering => "clustering",
            RefreshPhase::Writing => "writing themes and assignments",
        }
    }
}

/// Where the events of themes' accountability loops go: webhooks implement it.
pub trait ThemeOutbox: Send + Sync {
    /// Adds the deliveries `events` need to `batch`, which commits them with the theme changes.
    fn enqueue_theme_events(
        &self,
        batch: &mut DocBatch,
        workspace: &str,
        events: &[ThemeEvent],
        now: Micros,
    ) -> Result<()>;

    /// Tells the delivery worker that a committed batch queued deliveries.
    fn wake(&self);
}

/// Themes over the store, with per-workspace state: the cached live model, the refresh lock
/// and its progress.
pub struct Themes {
    store: Arc<Store>,
    limits: Limits,
    /// The sentence encoder themes are found with; none falls back to TF-IDF.
    encoder: Option<Arc<dyn Encoder>>,
    /// Why there is no encoder, when there is none.
    missing_encoder: String,
    models: RwLock<HashMap<String, Option<Arc<ReadyModel>>>>,
    refreshing: Mutex<HashMap<String, Arc<Mutex<()>>>>,
    phases: Mutex<HashMap<String, RefreshPhase>>,
    outbox: Arc<dyn ThemeOutbox>,
    /// What the accountability loop reads the time from (assignments, reopenings, breaches).
    clock: Clock,
}

impl Themes {
    /// Themes over `store`, found by meaning with `encoder`, or by words when it is an error
    /// (whose message says why); their loops run on `clock` and their events go to `outbox`.
    pub fn new(
        store: Arc<Store>,
        limits: Limits,
        encoder: std::result::Result<Arc<dyn Encoder>, String>,
        outbox: Arc<dyn ThemeOutbox>,
        clock: Clock,
    ) -> Themes {
        let (encoder, missing_encoder) = match encoder {
            Ok(e) => (Some(e), String::new()),
            Err(why) => (None, why),
        };
        Themes {
            store,
            limits,
            encoder,
            missing_encoder,
            models: RwLock::default(),
            refreshing: Mutex::default(),
            phases: Mutex::default(),
            outbox,
            clock,
        }
    }

    /// The live model of a workspace (none before its first refresh).
    pub fn model(&self, workspace: &str) -> Result<Option<Arc<ReadyModel>>> {
        if let Some(model) = self.models.read().get(workspace) {
            return Ok(model.clone());
        }
        let model = self
            .store
            .doc::<StoredModel>(workspace, DocKind::ThemeModel, MODEL_NAME)?
            .map(|stored| Arc::new(ReadyModel::new(stored, self.encoder.as_ref())));
        self.models
            .write()
            .insert(workspace.to_string(), model.clone());
        Ok(model)
    }

    /// How a refresh with `params` finds themes in this process.
    pub fn planned_method(&self, params: &ThemeParams) -> Method {
        match &self.encoder {
            Some(e) if params.meaning_weight > 0.0 => Method::Meaning {
                encoder: e.name().to_string(),
                weight: params.meaning_weight,
            },
            Some(_) => Method::Lexical {
                reason: "themes.meaning_weight is 0".into(),
            },
            None => Method::Lexical {
                reason: self.missing_encoder.clone(),
            },
        }
    }

    /// How the workspace's current themes were found, else how the next refresh will find them.
    pub fn method(&self, workspace: &str, params: &ThemeParams) -> Result<Method> {
        let planned = self.planned_method(params);
        Ok(match self.model(workspace)? {
            None => planned,
            Some(model) => match (model.meaning(), planned) {
                (Some(found), _) => found,
                (None, Method::Lexical { reason }) => Method::Lexical { reason },
                (None, Method::Meaning { .. }) => Method::Lexical {
                    reason:
                        "these themes were found by words; the next refresh finds them by meaning"
                            .into(),
                },
            },
        })
    }

    /// Where the workspace's refresh is.
    pub fn phase(&self, workspace: &str) -> RefreshPhase {
        self.phases
            .lock()
            .get(workspace)
            .copied()
            .unwrap_or_default()
    }

    fn set_phase(&self, workspace: &str, phase: RefreshPhase) {
        self.phases.lock().insert(workspace.to_string(), phase);
    }

    fn refresh_lock(&self, workspace: &str) -> Arc<Mutex<()>> {
        self.refreshing
            .lock()
            .entry(workspace.to_string())
            .or_default()
            .clone()
    }

    /// Re-clusters a workspace, keeps theme ids stable, writes themes, the model and every
    /// verbatim's theme. One refresh per workspace at a time (a second waits).
    pub fn refresh(
        &self,
        taxonomy: &Taxonomy,
        workspace: &str,
        params: &ThemeParams,
    ) -> Result<RefreshSummary> {
        let lock = self.refresh_lock(workspace);
        let _guard = lock.lock();
        self.set_phase(workspace, RefreshPhase::Loading);
        // A panic inside is a failed refresh, not a lost workspace: the lock and the phase are
        // released either way and the next refresh starts afresh.
        let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            self.refresh_locked(taxonomy, workspace, params)
        }))
        .unwrap_or_else(|_| Err(Error::Panicked("the theme refresh panicked")));
        self.set_phase(workspace, RefreshPhase::Idle);
        result
    }

    fn refresh_locked(
        &self,
        taxonomy: &Taxonomy,
        workspace: &str,
        params: &ThemeParams,
    ) -> Result<RefreshSummary> {
        let store = &self.store;
        let started = Instant::now();
        let mut laps = Laps::start();
        let now = crate::time::now();
        let mut verbatims = store.workspace_verbatims(workspace)?;
        #[cfg(test)]
        if PANIC_IN_NEXT_REFRESH.swap(false, std::sync::atomic::Ordering::SeqCst) {
            panic!("injected panic in a refresh");
        }
        // The same verbatims give the same themes whatever order they arrived in: cluster them in
        // an order of their own (time, then text).
        verbatims.sort_by(|a, b| (a.created_at, &a.text).cmp(&(b.created_at, &b.text)));
        self.set_phase(workspace, RefreshPhase::Clustering);
        laps.lap("load");
        let docs: Vec<ThemeDoc> = verbatims
            .iter()
            .map(|v| ThemeDoc {
                text: v.text.clone(),
                language: StemLanguage::from_tag(v.language.as_deref().unwrap_or("en")),
            })
            .collect();
        let mut existing: BTreeMap<String, Theme> = store
            .docs::<Theme>(workspace, DocKind::Theme)?
            .into_iter()
            .map(|t| (t.id.clone(), t))
            .collect();
        let previous: Vec<PreviousTheme> = existing
            .values()
            .filter(|t| t.status == ThemeStatus::Active)
            .map(|t| PreviousTheme {
                id: t.id.clone(),
                centroid: t.centroid.clone(),
                meaning: t.meaning.clone(),
            })
            .collect();
        let method = self.planned_method(params);
        let encoder = self
            .encoder
            .as_ref()
            .filter(|_| params.meaning_weight > 0.0);
        let meaning = encoder.map(|e| {
            let texts: Vec<String> = docs.iter().map(|d| d.text.clone()).collect();
            Meaning {
                encoder: e.name(),
                dims: e.dims(),
                vectors: e.encode(&texts),
            }
        });
        laps.lap("encode");
        let mut detection = detect(&docs, meaning, &previous, params);
        laps.extend(std::mem::take(&mut detection.phases));

        self.set_phase(workspace, RefreshPhase::Writing);
        let mut counter: u64 = store
            .doc(workspace, DocKind::ThemeCounter, COUNTER_NAME)?
            .unwrap_or(1);
        let mut summary = RefreshSummary {
            verbatims: verbatims.len(),
            coverage: detection.coverage(),
            method,
            ..Default::default()
        };
        let mut ids = Vec::with_capacity(detection.themes.len());
        for found in &detection.themes {
            let (id, continued) = match &found.continues {
                Some((id, _)) => (id.clone(), true),
                None => {
                    let id = theme_id(counter);
                    counter += 1;
                    (id, false)
                }
            };
            let members: Vec<&Verbatim> = found.members.iter().map(|&d| &verbatims[d]).collect();
            let previous = existing.get(&id);
            let owner = match previous {
                Some(p) if p.owner_pinned => p.owner.clone(),
                _ => owner_of(taxonomy, &members),
            };
            let theme = Theme {
                label: match previous {
                    Some(p) if p.label_pinned => p.label.clone(),
                    _ => found.label.clone(),
                },
                label_pinned: previous.is_some_and(|p| p.label_pinned),
                keywords: found.keywords.clone(),
                centroid: found.centroid.clone(),
                meaning: found.meaning.clone(),
                status: ThemeStatus::Active,
                merged_into: None,
                volume: members.len() as u64,
                share: members.len() as f32 / verbatims.len().max(1) as f32,
                quotes: found.quotes.iter().map(|&d| verbatims[d].number).collect(),
                average_sentiment: average_sentiment(&members),
                tag_mix: tag_mix(&members),
                owner,
                owner_pinned: previous.is_some_and(|p| p.owner_pinned),
                first_seen: previous.map_or_else(
                    || members.iter().map(|v| v.created_at).min().unwrap_or(now),
                    |p| p.first_seen,
                ),
                refreshed_at: now,
                history: {
                    let mut h = previous.map(|p| p.history.clone()).unwrap_or_default();
                    h.push(match (&found.split_from, continued) {
                        (_, true) => "continued".into(),
                        (Some(from), false) => format!("created, split from {from}"),
                        (None, false) => "created".into(),
                    });
                    if h.len() > 50 {
                        h.drain(..h.len() - 50);
                    }
                    h
                },
                frequency_class: previous.and_then(|p| p.frequency_class),
                velocity: previous.map_or(0.0, |p| p.velocity),
                measured: previous.and_then(|p| p.measured),
                accountability: previous
                    .map(|p| p.accountability.clone())
                    .unwrap_or_default(),
                id: id.clone(),
            };
            if continued {
                summary.continued += 1;
            } else {
                summary.created += 1;
            }
            existing.insert(id.clone(), theme);
            ids.push(id);
        }
        let merged: HashMap<&str, &str> = detection
            .merged
            .iter()
            .map(|(a, b)| (a.as_str(), b.as_str()))
            .collect();
        for theme in existing.values_mut() {
            if theme.status != ThemeStatus::Active || ids.contains(&theme.id) {
                continue;
            }
            if let Some(into) = merged.get(theme.id.as_str()) {
                theme.status = ThemeStatus::Merged;
                theme.merged_into = Some(into.to_string());
                theme.history.push(format!("merged into {into}"));
                summary.merged += 1;
            } else {
                theme.status = ThemeStatus::Retired;
                theme.history.push("retired".into());
                summary.retired += 1;
            }
            theme.volume = 0;
        }
        summary.themes = ids.len();

        let docs_out: Vec<(String, Theme)> = existing.into_iter().collect();
        store.put_docs(workspace, DocKind::Theme, &docs_out)?;
        store.put_docs(
            workspace,
            DocKind::ThemeCounter,
            &[(COUNTER_NAME.to_string(), counter)],
        )?;
        let stored = StoredModel {
            model: detection.model,
            theme_ids: ids.clone(),
        };
        store.put_docs(
            workspace,
            DocKind::ThemeModel,
            &[(MODEL_NAME.to_string(), &stored)],
        )?;

        // Write each verbatim's theme where it changed.
        let wanted: HashMap<u64, Option<String>> = verbatims
            .iter()
            .zip(&detection.assignment)
            .filter_map(|(v, a)| {
                let theme = a.map(|t| ids[t].clone());
                (v.theme != theme).then_some((v.number, theme))
            })
            .collect();
        let mut changed: Vec<u64> = wanted.keys().copied().collect();
        changed.sort_unstable();
        for chunk in changed.chunks(CHUNK) {
            store.update(workspace, chunk, |v| {
                let theme = wanted.get(&v.number).cloned().flatten();
                let differs = v.theme != theme;
                v.theme = theme;
                differs
            })?;
        }
        summary.reassigned = changed.len();
        store.flush_blocking()?;
        self.models.write().insert(
            workspace.to_string(),
            Some(Arc::new(ReadyModel::new(stored, self.encoder.as_ref()))),
        );
        laps.lap("write");
        summary.seconds = started.elapsed().as_secs_f64();
        summary.phases = laps;
        tracing::info!(
            workspace,
            themes = summary.themes,
            created = summary.created,
            continued = summary.continued,
            retired = summary.retired,
            coverage = summary.coverage,
            seconds = summary.seconds,
            method = %summary.method,
            phases = %summary.phases,
            "themes refreshed"
        );
        Ok(summary)
    }
}

/// An outbox that keeps the events it is given, for tests of the theme service and the services
/// above it that have no webhooks.
#[cfg(test)]
#[derive(Default)]
pub struct KeptEvents(pub Mutex<Vec<ThemeEvent>>);

#[cfg(test)]
impl ThemeOutbox for KeptEvents {
    fn enqueue_theme_events(
        &self,
        _batch: &mut DocBatch,
        _workspace: &str,
        events: &[ThemeEvent],
        _now: Micros,
    ) -> Result<()> {
        self.0.lock().extend_from_slice(events);
        Ok(())
    }

    fn wake(&self) {}
}

/// Set by a test to make the next refresh panic.
#[cfg(test)]
static PANIC_IN_NEXT_REFRESH: std::sync::atomic::AtomicBool =
    std::sync::atomic::AtomicBool::new(false);

/// A theme's class, velocity and shares at a live alert evaluation.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct MeasuredClass {
    pub class: FrequencyClass,
    pub velocity: f64,
    /// Its share of the window's verbatims, and of the baseline's.
    pub share: f64,
    pub baseline_share: f64,
}

impl Themes {
    /// Reads one theme.
    pub fn get(&self, workspace: &str, id: &str) -> Result<Theme> {
        self.store
            .doc(workspace, DocKind::Theme, id)?
            .ok_or_else(|| Error::not_found("theme", id))
    }

    /// One theme with its representative verbatims (those still stored).
    pub fn with_quotes(&self, workspace: &str, id: &str) -> Result<(Theme, Vec<Verbatim>)> {
        let theme = self.get(workspace, id)?;
        let mut quotes = Vec::with_capacity(theme.quotes.len());
        for &number in &theme.quotes {
            quotes.extend(self.store.get(workspace, number)?);
        }
        Ok((theme, quotes))
    }

    /// Every theme of a workspace (all statuses), in id order.
    pub fn list(&self, workspace: &str) -> Result<Vec<Theme>> {
        Ok(self.store.docs(workspace, DocKind::Theme)?)
    }

    /// The workspace's active themes.
    pub fn active(&self, workspace: &str) -> Result<Vec<Theme>> {
        let mut themes = self.list(workspace)?;
        themes.retain(|t| t.status == ThemeStatus::Active);
        Ok(themes)
    }

    /// Renames (and pins the label of) a theme, and/or changes its accountability loop: owner
    /// (pinned, and the SLA clock starts), SLA, status, next action (see
    /// [`Accountability::apply`](super::accountability::Accountability::apply)). Durable on
    /// return. Waits for a refresh of the workspace in progress: a refresh rewrites every theme
    /// from what it read when it started, and would otherwise write over the person's edit.
    pub fn update(
        &self,
        workspace: &str,
        id: &str,
        label: Option<String>,
        edit: AccountabilityEdit,
    ) -> Result<Theme> {
        if let Some(label) = &label {
            self.limits.check_name("label", label)?;
        }
        if let Some(owner) = &edit.owner {
            self.limits.check_name("owner", owner)?;
        }
        if let Some(next) = &edit.next_action {
            self.limits.check_note("next_action", next)?;
        }
        if let Some(days) = edit.sla_days.filter(|d| *d > MAX_SLA_DAYS) {
            return Err(ValidationError::new(
                "sla_days",
                format!("{days} exceeds {MAX_SLA_DAYS} days (0 removes the sla)"),
            )
            .into());
        }
        let lock = self.refresh_lock(workspace);
        let _guard = lock.lock();
        let mut theme = self.get(workspace, id)?;
        if let Some(label) = label {
            theme.label = label;
            theme.label_pinned = true;
            theme.history.push("label set by a person".into());
        }
        let owner_changed = edit
            .owner
            .as_ref()
            .is_some_and(|o| !theme.owner_pinned || *o != theme.owner);
        if let Some(owner) = &edit.owner {
            theme.owner = owner.clone();
            theme.owner_pinned = true;
        }
        let now = self.clock.now();
        let said = theme
            .accountability
            .apply(&edit, owner_changed, theme.measured, now);
        theme.history.extend(said);
        self.store
            .put_docs(workspace, DocKind::Theme, &[(id.to_string(), &theme)])?;
        self.store.flush_blocking()?;
        Ok(theme)
    }

    /// Records what a live alert evaluation measured for each theme, and what it means for
    /// resolved themes: ready to close, or reopened (a `theme.reopened` event, queued with the
    /// change). Durable on return.
    pub fn record_standings(
        &self,
        workspace: &str,
        standings: &HashMap<String, MeasuredClass>,
    ) -> Result<()> {
        self.change_active(workspace, |theme, now| {
            let standing = standings.get(&theme.id)?;
            let measurement = Measurement {
                class: standing.class,
                share: standing.share,
                baseline_share: standing.baseline_share,
            };
            let previous = theme.frequency_class;
            theme.frequency_class = Some(standing.class);
            theme.velocity = standing.velocity;
            theme.measured = Some(measurement);
            match theme.accountability.measured(previous, measurement, now) {
                Some(LoopChange::Reopened) => {
                    theme.history.push("reopened: growing again".into());
                    tracing::info!(workspace, theme = %theme.id, "resolved theme reopened");
                    Some(Some(ThemeEvent::reopened(theme.clone(), now)))
                }
                Some(LoopChange::ReadyToClose) => {
                    theme.history.push("ready to close".into());
                    Some(None)
                }
                None => Some(None),
            }
        })
        .map(|_| ())
    }

    /// Announces every theme of the workspace past its due date and not resolved, once per due
    /// date: a `theme.sla_breached` event queued with the mark that it was announced. Durable on
    /// return; returns the themes announced.
    pub fn announce_breaches(&self, workspace: &str) -> Result<Vec<Theme>> {
        let events = self.change_active(workspace, |theme, now| {
            let due = theme.accountability.announce_breach(now)?;
            theme.history.push("sla breached".into());
            tracing::warn!(workspace, theme = %theme.id, owner = %theme.owner, due, "theme sla breached");
            Some(Some(ThemeEvent::sla_breached(theme.clone(), due, now)))
        })?;
        Ok(events.into_iter().map(|e| e.theme).collect())
    }

    /// Applies `change` to every active theme of the workspace at the loop's time, under the
    /// refresh lock: `None` leaves a theme as it was, `Some(event)` writes it (and queues the
    /// event). Commits the changes with the events' deliveries, flushes, wakes the worker, and
    /// returns the events.
    fn change_active(
        &self,
        workspace: &str,
        mut change: impl FnMut(&mut Theme, Micros) -> Option<Option<ThemeEvent>>,
    ) -> Result<Vec<ThemeEvent>> {
        let now = self.clock.now();
        let lock = self.refresh_lock(workspace);
        let _guard = lock.lock();
        let mut batch = DocBatch::default();
        let mut events = Vec::new();
        for mut theme in self.active(workspace)? {
            if let Some(event) = change(&mut theme, now) {
                batch.put(workspace, DocKind::Theme, &theme.id, &theme);
                events.extend(event);
            }
        }
        self.commit_with_events(workspace, batch, &events)?;
        Ok(events)
    }

    /// Commits theme changes with the deliveries of their events (due now on the wall clock,
    /// whatever the loop's clock says), flushes, wakes the worker.
    fn commit_with_events(
        &self,
        workspace: &str,
        mut batch: DocBatch,
        events: &[ThemeEvent],
    ) -> Result<()> {
        if batch.is_empty() {
            return Ok(());
        }
        self.outbox
            .enqueue_theme_events(&mut batch, workspace, events, crate::time::now())?;
        self.store.commit(batch)?;
        self.store.flush_blocking()?;
        if !events.is_empty() {
            self.outbox.wake();
        }
        Ok(())
    }

    /// A theme's buckets with the workspace's total per bucket, every bucket from the first to
    /// the last verbatim of the workspace.
    pub fn trend(
        &self,
        workspace: &str,
        id: &str,
        granularity: Granularity,
    ) -> Result<Vec<(Micros, Bucket, u64)>> {
        self.get(workspace, id)?;
        let verbatims = self.store.workspace_verbatims(workspace)?;
        Ok(crate::trends::trend(&verbatims, granularity, |v| {
            v.theme.as_deref() == Some(id)
        }))
    }

    /// Merges `sources` into `into`: their verbatims move to `into`, they become Merged, and
    /// live assignment sends their new verbatims to `into`. Durable on return.
    pub fn merge(&self, workspace: &str, sources: &[String], into: &str) -> Result<Theme> {
        self.limits.check_list("theme_ids", sources.len())?;
        if sources.iter().any(|s| s == into) {
            return Err(
                ValidationError::new("theme_ids", "must not contain the target theme").into(),
            );
        }
        let store = &self.store;
        let lock = self.refresh_lock(workspace);
        let _guard = lock.lock();
        let mut target = self.get(workspace, into)?;
        let mut changed = Vec::new();
        for source in sources {
            let mut theme = self.get(workspace, source)?;
            theme.status = ThemeStatus::Merged;
            theme.merged_into = Some(into.to_string());
            theme
                .history
                .push(format!("merged into {into} by a person"));
            target.volume += theme.volume;
            target.history.push(format!("absorbed {source}"));
            theme.volume = 0;
            changed.push((source.clone(), theme));
        }
        let verbatims = store.workspace_verbatims(workspace)?;
        let moving: Vec<u64> = verbatims
            .iter()
            .filter(|v| v.theme.as_ref().is_some_and(|t| sources.contains(t)))
            .map(|v| v.number)
            .collect();
        for chunk in moving.chunks(CHUNK) {
            store.update(workspace, chunk, |v| {
                v.theme = Some(into.to_string());
                true
            })?;
        }
        changed.push((into.to_string(), target.clone()));
        store.put_docs(workspace, DocKind::Theme, &changed)?;
        if let Some(mut stored) =
            store.doc::<StoredModel>(workspace, DocKind::ThemeModel, MODEL_NAME)?
        {
            for id in stored.theme_ids.iter_mut() {
                if sources.contains(id) {
                    *id = into.to_string();
                }
            }
            store.put_docs(
                workspace,
                DocKind::ThemeModel,
                &[(MODEL_NAME.to_string(), &stored)],
            )?;
            self.models.write().insert(
                workspace.to_string(),
                Some(Arc::new(ReadyModel::new(stored, self.encoder.as_ref()))),
            );
        }
        store.flush_blocking()?;
        Ok(target)
    }
}

fn average_sentiment(members: &[&Verbatim]) -> f32 {
    let scores: Vec<f32> = members
        .iter()
        .filter_map(|v| v.tags.sentiment.as_ref().map(|s| s.score))
        .collect();
    scores.iter().sum::<f32>() / scores.len().max(1) as f32
}

fn tag_mix(members: &[&Verbatim]) -> BTreeMap<String, BTreeMap<String, u64>> {
    let mut mix: BTreeMap<String, BTreeMap<String, u64>> = BTreeMap::new();
    for v in members {
        for (dimension, value) in v.tags.facets(None) {
            *mix.entry(dimension.to_string())
                .or_default()
                .entry(value.to_string())
                .or_default() += 1;
        }
    }
    mix
}

/// The owner of the most common primary product area among the members.
fn owner_of(taxonomy: &Taxonomy, members: &[&Verbatim]) -> String {
    crate::tagging::most_common_area(members.iter().copied())
        .and_then(|area| taxonomy.category(Dimension::ProductArea, area))
        .map(|c| c.owner.clone())
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::Ordering;

    use super::*;
    use crate::model::Verbatim;
    use crate::store::NewRecord;

    fn verbatim(text: &str) -> NewRecord {
        NewRecord {
            verbatim: Verbatim {
                received_at: 1,
                ..Verbatim::example("ws", text)
            },
            digest: [0; 16],
        }
    }

    /// Themes over a store holding 60 verbatims of three topics in workspace `ws`, the default
    /// taxonomy, and parameters for three themes.
    fn three_topics() -> (tempfile::TempDir, Themes, Taxonomy, ThemeParams) {
        let dir = tempfile::tempdir().unwrap();
        let store = Arc::new(Store::open(dir.path()).unwrap());
        let texts = [
            "app crashes on launch",
            "charged twice this month",
            "slow sync",
        ];
        let records = (0..60).map(|i| verbatim(texts[i % 3])).collect();
        store.insert_blocking("ws", records).unwrap();
        let params = ThemeParams {
            k: Some(3),
            ..Default::default()
        };
        (
            dir,
            Themes::new(
                store,
                Limits::default(),
                Err("no encoder in this test".into()),
                Arc::new(KeptEvents::default()),
                Clock::default(),
            ),
            Taxonomy::default_saas(),
            params,
        )
    }

    #[test]
    fn a_refresh_that_panics_fails_alone_and_the_next_one_runs() {
        let (_dir, themes, taxonomy, params) = three_topics();
        PANIC_IN_NEXT_REFRESH.store(true, Ordering::SeqCst);
        let failed = themes.refresh(&taxonomy, "ws", &params);
        assert!(matches!(failed, Err(Error::Panicked(_))), "{failed:?}");
        assert_eq!(themes.phase("ws"), RefreshPhase::Idle);
        // Neither the refresh lock nor the phase is left behind.
        let summary = themes.refresh(&taxonomy, "ws", &params).unwrap();
        assert_eq!(summary.verbatims, 60);
        assert_eq!(themes.active("ws").unwrap().len(), summary.themes);
    }

    #[test]
    fn an_edit_waits_for_a_refresh_in_progress_and_survives_the_next() {
        let (_dir, themes, taxonomy, params) = three_topics();
        let themes = Arc::new(themes);
        themes.refresh(&taxonomy, "ws", &params).unwrap();
        let id = themes.active("ws").unwrap()[0].id.clone();
        let before = themes.get("ws", &id).unwrap().label;

        // While a refresh holds the workspace, the edit waits rather than being overwritten.
        let lock = themes.refresh_lock("ws");
        let refreshing = lock.lock();
        let (started, edit) = {
            let (themes, id) = (themes.clone(), id.clone());
            let (tell, started) = std::sync::mpsc::channel();
            let edit = std::thread::spawn(move || {
                tell.send(()).unwrap();
                themes.update(
                    "ws",
                    &id,
                    Some("Crash on launch".into()),
                    AccountabilityEdit::default(),
                )
            });
            (started, edit)
        };
        started.recv().unwrap();
        std::thread::sleep(std::time::Duration::from_millis(200));
        assert_eq!(
            themes.get("ws", &id).unwrap().label,
            before,
            "written during a refresh"
        );
        drop(refreshing);
        let edited = edit.join().unwrap().unwrap();
        assert_eq!(edited.label, "Crash on launch");

        // The next refresh keeps the pinned label.
        themes.refresh(&taxonomy, "ws", &params).unwrap();
        let kept = themes.get("ws", &id).unwrap();
        assert_eq!(
            (kept.label.as_str(), kept.label_pinned),
            ("Crash on launch", true)
        );
    }
}
