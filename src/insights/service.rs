//! The insights service: reads a workspace's verbatims from the store, keeps those of a request's
//! window (and of the window before) that pass its filter, and runs a view over them, with the
//! records of the themes it names. It writes nothing. Blocking: the engine runs it on blocking
//! threads.

use std::collections::HashMap;
use std::sync::Arc;

use super::compare::{compare, Comparison};
use super::digest::{digest, Digest};
use super::drivers::{drivers, Drivers};
use super::journey::{journey, JourneyHealth};
use super::sentiment::{summarize, SentimentSummary};
use super::spotlight::{spotlight, Rank, SpotlightEntry};
use super::{InsightsConfig, Metric, Window};
use crate::alerts::Alert;
use crate::error::Result;
use crate::index::search::Filter;
use crate::model::{Limits, ValidationError, Verbatim};
use crate::store::{DocKind, Store};
use crate::tagging::taxonomy::{Dimension, Taxonomy};
use crate::themes::record::Theme;
use crate::themes::service::Themes;
use crate::time::{Micros, DAY};

/// How many themes, stages' themes or keywords a list holds when a request does not say.
pub const DEFAULT_LIMIT: usize = 5;

/// What a view is asked for: a window, either end of which may be left to the defaults (the end
/// just after the workspace's newest verbatim, the start `insights.default_window_days` before
/// the end), a search filter without dates (the window is the time filter), and the length of
/// its lists.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Scope {
    pub start: Option<Micros>,
    pub end: Option<Micros>,
    pub filter: Filter,
    /// 0: [`DEFAULT_LIMIT`].
    pub limit: usize,
}

/// A view with the windows it covers and the workspace's themes (every status, by id), for
/// their labels and classes.
#[derive(Debug, Clone)]
pub struct View<T> {
    pub window: Window,
    pub previous: Window,
    pub themes: HashMap<String, Theme>,
    pub body: T,
}

/// The verbatims a view works on.
struct Loaded {
    window: Window,
    verbatims: Vec<Verbatim>,
}

impl Loaded {
    /// The verbatims that pass `filter` in the window, and in the window before.
    fn split(&self, filter: &Filter) -> (Vec<&Verbatim>, Vec<&Verbatim>) {
        let previous = self.window.previous();
        let passing = self.verbatims.iter().filter(|v| filter.matches(v));
        let (mut current, mut before) = (Vec::new(), Vec::new());
        for v in passing {
            if self.window.contains(v.created_at) {
                current.push(v);
            } else if previous.contains(v.created_at) {
                before.push(v);
            }
        }
        (current, before)
    }
}

/// The read-only insight views over the store.
pub struct Insights {
    store: Arc<Store>,
    themes: Arc<Themes>,
    config: InsightsConfig,
    limits: Limits,
}

impl Insights {
    pub fn new(
        store: Arc<Store>,
        themes: Arc<Themes>,
        config: InsightsConfig,
        limits: Limits,
    ) -> Insights {
        Insights {
            store,
            themes,
            config,
            limits,
        }
    }

    /// The drivers of `metric` in the scope.
    pub fn drivers(&self, workspace: &str, scope: &Scope, metric: Metric) -> Result<View<Drivers>> {
        let limit = self.limit(scope.limit)?;
        let (loaded, themes) = (
            self.scoped(workspace, scope)?,
            self.theme_records(workspace)?,
        );
        let representative: HashMap<String, Vec<u64>> = themes
            .values()
            .map(|t| (t.id.clone(), t.quotes.clone()))
            .collect();
        let (current, _) = loaded.split(&scope.filter);
        let min_scored = self.config.min_scored;
        let body = drivers(metric, &current, &representative, min_scored, limit);
        Ok(view(loaded.window, themes, body))
    }

    /// The most mentioned themes of the scope, with their impact on `metric`.
    pub fn spotlight(
        &self,
        workspace: &str,
        scope: &Scope,
        metric: Metric,
        rank: Rank,
    ) -> Result<View<Vec<SpotlightEntry>>> {
        let limit = self.limit(scope.limit)?;
        let loaded = self.scoped(workspace, scope)?;
        let (current, previous) = loaded.split(&scope.filter);
        let min_scored = self.config.min_scored;
        let body = spotlight(&current, &previous, metric, min_scored, rank, limit);
        Ok(view(loaded.window, self.theme_records(workspace)?, body))
    }

    /// The sentiment summary of the scope, segmented by the metadata key `segment` when given.
    pub fn sentiment(
        &self,
        workspace: &str,
        scope: &Scope,
        segment: Option<&str>,
    ) -> Result<View<SentimentSummary>> {
        let limit = self.limit(scope.limit)?;
        if let Some(key) = segment {
            self.limits.check_name("segment_key", key)?;
        }
        let loaded = self.scoped(workspace, scope)?;
        let (current, previous) = loaded.split(&scope.filter);
        let body = summarize(&current, &previous, loaded.window, segment, limit);
        Ok(view(loaded.window, HashMap::new(), body))
    }

    /// The health of every journey stage in the scope.
    pub fn journey(
        &self,
        workspace: &str,
        scope: &Scope,
        taxonomy: &Taxonomy,
    ) -> Result<View<JourneyHealth>> {
        let loaded = self.scoped(workspace, scope)?;
        let (current, previous) = loaded.split(&scope.filter);
        let (thresholds, min_scored) = (&self.config.journey, self.config.min_scored);
        let mut body = journey(&current, &previous, thresholds, min_scored);
        for stage in &mut body.stages {
            stage.owner = taxonomy
                .category(Dimension::JourneyStage, &stage.stage)
                .map(|c| c.owner.clone())
                .unwrap_or_default();
        }
        Ok(view(loaded.window, self.theme_records(workspace)?, body))
    }

    /// Segment `a` against segment `b` over one window (the scope's filter is not used: each side
    /// has its own).
    pub fn compare(
        &self,
        workspace: &str,
        scope: &Scope,
        a: &Filter,
        b: &Filter,
    ) -> Result<View<Comparison>> {
        let limit = self.limit(scope.limit)?;
        let loaded = self.load(workspace, scope.start, scope.end, &[("a", a), ("b", b)])?;
        let (in_a, in_b) = (loaded.split(a).0, loaded.split(b).0);
        let body = compare(&in_a, &in_b, self.config.false_discovery_rate, limit);
        Ok(view(loaded.window, self.theme_records(workspace)?, body))
    }

    /// The digest of the scope's window (see [`super::digest`]): its alerts, movers, SLA
    /// breaches, metrics and drivers against the window before, over the verbatims that pass
    /// the scope's filter.
    pub fn digest(&self, workspace: &str, scope: &Scope) -> Result<View<Digest>> {
        let limit = self.limit(scope.limit)?;
        let loaded = self.scoped(workspace, scope)?;
        let (current, previous) = loaded.split(&scope.filter);
        let themes = self.theme_records(workspace)?;
        let alerts: Vec<Alert> = self.store.docs(workspace, DocKind::Alert)?;
        let body = digest(
            loaded.window,
            &current,
            &previous,
            &themes,
            &alerts,
            self.config.min_scored,
            limit,
        );
        Ok(view(loaded.window, themes, body))
    }

    /// The verbatims of the scope's window and filter (see [`Insights::load`]).
    fn scoped(&self, workspace: &str, scope: &Scope) -> Result<Loaded> {
        self.load(
            workspace,
            scope.start,
            scope.end,
            &[("filter", &scope.filter)],
        )
    }

    /// A list length within `limits.max_list_items`; 0 is the default.
    fn limit(&self, limit: usize) -> std::result::Result<usize, ValidationError> {
        self.limits.check_list("limit", limit)?;
        Ok(if limit == 0 { DEFAULT_LIMIT } else { limit })
    }

    /// The workspace's verbatims after checking the filters (named by their fields) and
    /// resolving the window. A filter with dates is refused: the window says when.
    fn load(
        &self,
        workspace: &str,
        start: Option<Micros>,
        end: Option<Micros>,
        filters: &[(&str, &Filter)],
    ) -> Result<Loaded> {
        for (field, filter) in filters {
            filter.check(field, &self.limits)?;
            for (name, set) in [
                ("created_after", filter.created_after.is_some()),
                ("created_before", filter.created_before.is_some()),
            ] {
                if set {
                    return Err(ValidationError::new(
                        format!("{field}.{name}"),
                        "is not used by insights: set the window instead",
                    )
                    .into());
                }
            }
        }
        let verbatims = self.store.workspace_verbatims(workspace)?;
        let length = i64::from(self.config.default_window_days) * DAY;
        let end = end.unwrap_or_else(|| {
            let newest = verbatims.iter().map(|v| v.created_at).max();
            let after_newest = newest.map_or_else(crate::time::now, |t| t + 1);
            match start {
                Some(start) if after_newest <= start => start.saturating_add(length),
                _ => after_newest,
            }
        });
        let window = Window::new(start.unwrap_or(end.saturating_sub(length)), end)?;
        Ok(Loaded { window, verbatims })
    }

    fn theme_records(&self, workspace: &str) -> Result<HashMap<String, Theme>> {
        Ok(self
            .themes
            .list(workspace)?
            .into_iter()
            .map(|t| (t.id.clone(), t))
            .collect())
    }
}

fn view<T>(window: Window, themes: HashMap<String, Theme>, body: T) -> View<T> {
    View {
        window,
        previous: window.previous(),
        themes,
        body,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::Error;
    use crate::store::NewRecord;

    fn insights(created: &[Micros]) -> (tempfile::TempDir, Insights) {
        let dir = tempfile::tempdir().unwrap();
        let store = Arc::new(Store::open(dir.path()).unwrap());
        let records = created
            .iter()
            .map(|&at| NewRecord {
                verbatim: Verbatim {
                    created_at: at,
                    ..Verbatim::example("ws", "words")
                },
                digest: [0; 16],
            })
            .collect();
        store.insert_blocking("ws", records).unwrap();
        let themes = Arc::new(Themes::new(
            store.clone(),
            Limits::default(),
            Err("no encoder in this test".into()),
            Arc::new(crate::themes::service::KeptEvents::default()),
            crate::time::Clock::default(),
        ));
        let service = Insights::new(store, themes, InsightsConfig::default(), Limits::default());
        (dir, service)
    }

    #[test]
    fn windows_default_to_a_week_up_to_the_newest_verbatim() {
        let (_dir, service) = insights(&[DAY, 9 * DAY, 20 * DAY]);
        let view = service
            .journey("ws", &Scope::default(), &Taxonomy::default_saas())
            .unwrap();
        assert_eq!(
            view.window,
            Window::new(13 * DAY + 1, 20 * DAY + 1).unwrap()
        );
        assert_eq!(
            view.previous,
            Window::new(6 * DAY + 1, 13 * DAY + 1).unwrap()
        );
        // A start after the newest verbatim: a default-length window from it.
        let later = Scope {
            start: Some(30 * DAY),
            ..Default::default()
        };
        let view = service
            .journey("ws", &later, &Taxonomy::default_saas())
            .unwrap();
        assert_eq!(view.window, Window::new(30 * DAY, 37 * DAY).unwrap());
    }

    #[test]
    fn bad_scopes_are_refused_by_field() {
        let (_dir, service) = insights(&[DAY]);
        let field = |result: Result<View<JourneyHealth>>| match result {
            Err(Error::Validation(e)) => e.field,
            other => panic!("{other:?}"),
        };
        let inverted = Scope {
            start: Some(5 * DAY),
            end: Some(2 * DAY),
            ..Default::default()
        };
        assert_eq!(
            field(service.journey("ws", &inverted, &Taxonomy::default_saas())),
            "window.end"
        );
        let dated = Scope {
            filter: Filter {
                created_after: Some(0),
                ..Default::default()
            },
            ..Default::default()
        };
        assert_eq!(
            field(service.journey("ws", &dated, &Taxonomy::default_saas())),
            "filter.created_after"
        );
        let b = Filter {
            created_before: Some(0),
            ..Default::default()
        };
        let compared = service.compare("ws", &Scope::default(), &Filter::default(), &b);
        assert!(
            matches!(&compared, Err(Error::Validation(e)) if e.field == "b.created_before"),
            "{compared:?}"
        );
        let long = Scope {
            limit: 101,
            ..Default::default()
        };
        let listed = service.spotlight("ws", &long, Metric::Nps, Rank::Mentions);
        assert!(
            matches!(&listed, Err(Error::Validation(e)) if e.field == "limit"),
            "{listed:?}"
        );
    }
}
