//! `tideline.v1.ThemeService`: theme listing (scoped), details, verbatims, refresh, edits, merges.

use std::sync::Arc;

use tonic::{Request, Response, Status};

use super::access::caller_of;
use super::{audit, convert, workspace_of};
use crate::engine::{Engine, SearchRequest};
use crate::model::{ValidationError, Verbatim};
use crate::pagination;
use crate::proto;
use crate::proto::theme_service_server::ThemeService;
use crate::themes::accountability::{AccountabilityEdit, ActionStatus};
use crate::themes::record::{Theme, ThemeStatus};
use crate::time::{Granularity, Micros};
use crate::trends::Bucket;

pub struct ThemeApi {
    engine: Arc<Engine>,
}

impl ThemeApi {
    pub fn new(engine: Arc<Engine>) -> Self {
        ThemeApi { engine }
    }
}

/// A theme in an answer; `now` (the engine's clock) says whether it is past due.
fn theme_to_proto(
    t: Theme,
    volume: u64,
    in_scope: u64,
    quotes: Vec<Verbatim>,
    now: Micros,
) -> proto::Theme {
    let a = &t.accountability;
    let time = |t: Option<Micros>| t.map(convert::timestamp);
    let accountability = proto::Theme {
        action_status: action_status_to_proto(a.status) as i32,
        sla_days: a.sla_days.unwrap_or(0),
        assigned_at: time(a.assigned_at),
        due: time(a.due()),
        sla_breached: a.breached(now),
        next_action: a.next_action.clone(),
        ready_to_close: a.ready_to_close,
        reopened: a.reopened,
        resolved_at: time(a.resolved_at),
        ..Default::default()
    };
    proto::Theme {
        id: t.id,
        label: t.label,
        label_pinned: t.label_pinned,
        keywords: t
            .keywords
            .into_iter()
            .map(|(term, weight)| proto::Keyword { term, weight })
            .collect(),
        status: match t.status {
            ThemeStatus::Active => proto::ThemeStatus::Active,
            ThemeStatus::Retired => proto::ThemeStatus::Retired,
            ThemeStatus::Merged => proto::ThemeStatus::Merged,
        } as i32,
        merged_into: t.merged_into.unwrap_or_default(),
        volume,
        share: volume as f64 / in_scope.max(1) as f64,
        average_sentiment: t.average_sentiment,
        tag_mix: t
            .tag_mix
            .into_iter()
            .map(|(dimension, counts)| proto::DimensionFacets {
                dimension,
                counts: counts
                    .into_iter()
                    .map(|(value, count)| proto::FacetCount { value, count })
                    .collect(),
            })
            .collect(),
        owner: t.owner,
        first_seen: Some(convert::timestamp(t.first_seen)),
        refreshed_at: Some(convert::timestamp(t.refreshed_at)),
        quotes: quotes
            .into_iter()
            .map(|v| proto::Quote {
                verbatim_id: v.id(),
                text: v.text,
            })
            .collect(),
        history: t.history,
        frequency_class: t.frequency_class.map_or(
            proto::FrequencyClass::Unspecified,
            convert::frequency_class_to_proto,
        ) as i32,
        velocity: t.velocity,
        ..accountability
    }
}

/// A theme as its last refresh (plus live assignments and merges) left it, for answers to edits.
pub(super) fn stored_theme_to_proto(theme: Theme, now: Micros) -> proto::Theme {
    let (volume, share) = (theme.volume, theme.share as f64);
    let mut out = theme_to_proto(theme, volume, 0, Vec::new(), now);
    out.share = share;
    out
}

pub fn action_status_to_proto(status: ActionStatus) -> proto::ActionStatus {
    match status {
        ActionStatus::Open => proto::ActionStatus::Open,
        ActionStatus::Planned => proto::ActionStatus::Planned,
        ActionStatus::InProgress => proto::ActionStatus::InProgress,
        ActionStatus::Resolved => proto::ActionStatus::Resolved,
        ActionStatus::WontFix => proto::ActionStatus::WontFix,
    }
}

/// An action status to set: unspecified leaves it.
fn action_status(raw: i32) -> Result<Option<ActionStatus>, ValidationError> {
    Ok(match proto::ActionStatus::try_from(raw) {
        Ok(proto::ActionStatus::Unspecified) => None,
        Ok(proto::ActionStatus::Open) => Some(ActionStatus::Open),
        Ok(proto::ActionStatus::Planned) => Some(ActionStatus::Planned),
        Ok(proto::ActionStatus::InProgress) => Some(ActionStatus::InProgress),
        Ok(proto::ActionStatus::Resolved) => Some(ActionStatus::Resolved),
        Ok(proto::ActionStatus::WontFix) => Some(ActionStatus::WontFix),
        Err(_) => {
            return Err(ValidationError::new(
                "action_status",
                format!("unknown value {raw}"),
            ))
        }
    })
}

fn granularity(raw: i32) -> Result<Granularity, ValidationError> {
    match proto::Granularity::try_from(raw) {
        Ok(proto::Granularity::Hour) => Ok(Granularity::Hour),
        Ok(proto::Granularity::Day) | Ok(proto::Granularity::Unspecified) => Ok(Granularity::Day),
        Ok(proto::Granularity::Week) => Ok(Granularity::Week),
        Err(_) => Err(ValidationError::new(
            "granularity",
            format!("unknown value {raw}"),
        )),
    }
}

fn buckets_to_proto(buckets: Vec<(Micros, Bucket, u64)>) -> Vec<proto::TrendBucket> {
    buckets
        .into_iter()
        .map(|(start, bucket, total)| proto::TrendBucket {
            start: Some(convert::timestamp(start)),
            count: bucket.count,
            total,
            share: bucket.count as f64 / total.max(1) as f64,
            average_sentiment: bucket.sentiment_sum / bucket.count.max(1) as f64,
            severities: bucket.severities.into_iter().collect(),
            distinct_customers: bucket.customers.len() as u64,
        })
        .collect()
}

#[tonic::async_trait]
impl ThemeService for ThemeApi {
    async fn list_themes(
        &self,
        request: Request<proto::ListThemesRequest>,
    ) -> Result<Response<proto::ListThemesResponse>, Status> {
        let workspace = workspace_of(&self.engine, &request, &request.get_ref().workspace)?;
        let req = request.into_inner();
        let filter = convert::filter(req.filter)?;
        let fingerprint = pagination::fingerprint(&(&workspace, &filter, req.include_inactive));
        let (themes, in_scope) = self
            .engine
            .themes_in_scope(&workspace, filter, req.include_inactive)
            .await?;
        let themed: u64 = themes.iter().map(|(_, v)| v).sum();
        let now = self.engine.services().clock.now();
        let page =
            self.engine
                .pager()
                .paginate(themes, req.page_size, &req.page_token, fingerprint)?;
        Ok(Response::new(proto::ListThemesResponse {
            themes: page
                .items
                .into_iter()
                .map(|(t, volume)| theme_to_proto(t, volume, in_scope, Vec::new(), now))
                .collect(),
            next_page_token: page.next_page_token,
            total_size: page.total as u64,
            verbatims_in_scope: in_scope,
            coverage: themed as f64 / in_scope.max(1) as f64,
            refresh_phase: self
                .engine
                .services()
                .themes
                .phase(&workspace)
                .as_str()
                .to_string(),
            method: self.engine.theme_method(&workspace).await?.to_string(),
        }))
    }

    async fn get_theme(
        &self,
        request: Request<proto::GetThemeRequest>,
    ) -> Result<Response<proto::Theme>, Status> {
        let workspace = workspace_of(&self.engine, &request, &request.get_ref().workspace)?;
        let id = request.into_inner().id;
        let (ws, theme_id) = (workspace.clone(), id.clone());
        let (theme, quotes) = self
            .engine
            .run(move |s| s.themes.with_quotes(&ws, &theme_id))
            .await?;
        let (scoped, in_scope) = self
            .engine
            .themes_in_scope(&workspace, Default::default(), true)
            .await?;
        let volume = scoped
            .iter()
            .find(|(t, _)| t.id == id)
            .map_or(0, |(_, v)| *v);
        let now = self.engine.services().clock.now();
        Ok(Response::new(theme_to_proto(
            theme, volume, in_scope, quotes, now,
        )))
    }

    async fn list_theme_verbatims(
        &self,
        request: Request<proto::ListThemeVerbatimsRequest>,
    ) -> Result<Response<proto::SearchVerbatimsResponse>, Status> {
        let workspace = workspace_of(&self.engine, &request, &request.get_ref().workspace)?;
        let req = request.into_inner();
        let (ws, id) = (workspace.clone(), req.id.clone());
        self.engine.run(move |s| s.themes.get(&ws, &id)).await?;
        let filter = convert::filter(Some(proto::SearchFilter {
            theme_ids: vec![req.id],
            ..Default::default()
        }))?;
        let results = self
            .engine
            .search(SearchRequest {
                workspace,
                query: String::new(),
                filter,
                order: None,
                page_size: req.page_size,
                page_token: req.page_token,
            })
            .await?;
        Ok(Response::new(super::verbatims::results_to_proto(results)))
    }

    async fn refresh_themes(
        &self,
        request: Request<proto::RefreshThemesRequest>,
    ) -> Result<Response<proto::RefreshThemesResponse>, Status> {
        let (workspace, caller) = caller_of(&self.engine, &request, &request.get_ref().workspace)?;
        let k = request.into_inner().k;
        let s = self
            .engine
            .refresh_themes(&workspace, (k > 0).then_some(k as usize))
            .await?;
        let target = format!("{} themes", s.themes);
        audit(
            &self.engine,
            &caller,
            "ThemeService/RefreshThemes",
            &workspace,
            target,
        )
        .await;
        Ok(Response::new(proto::RefreshThemesResponse {
            verbatims: s.verbatims as u64,
            themes: s.themes as u64,
            created: s.created as u64,
            continued: s.continued as u64,
            retired: s.retired as u64,
            merged: s.merged as u64,
            coverage: s.coverage,
            reassigned: s.reassigned as u64,
            elapsed_seconds: s.seconds,
            method: s.method.to_string(),
        }))
    }

    async fn update_theme(
        &self,
        request: Request<proto::UpdateThemeRequest>,
    ) -> Result<Response<proto::Theme>, Status> {
        let (workspace, caller) = caller_of(&self.engine, &request, &request.get_ref().workspace)?;
        let req = request.into_inner();
        let nonempty = |s: String| (!s.trim().is_empty()).then(|| s.trim().to_string());
        let label = nonempty(req.label);
        let edit = AccountabilityEdit {
            owner: nonempty(req.owner),
            sla_days: req.sla_days,
            status: action_status(req.action_status)?,
            next_action: req.next_action.map(|n| n.trim().to_string()),
        };
        let ws = workspace.clone();
        let theme = self
            .engine
            .run(move |s| s.themes.update(&ws, &req.id, label, edit))
            .await?;
        audit(
            &self.engine,
            &caller,
            "ThemeService/UpdateTheme",
            &workspace,
            theme.id.clone(),
        )
        .await;
        Ok(Response::new(stored_theme_to_proto(
            theme,
            self.engine.services().clock.now(),
        )))
    }

    async fn get_theme_trend(
        &self,
        request: Request<proto::GetThemeTrendRequest>,
    ) -> Result<Response<proto::ThemeTrend>, Status> {
        let workspace = workspace_of(&self.engine, &request, &request.get_ref().workspace)?;
        let req = request.into_inner();
        let granularity = granularity(req.granularity)?;
        let id = req.id.clone();
        let buckets = self
            .engine
            .run(move |s| s.themes.trend(&workspace, &id, granularity))
            .await?;
        Ok(Response::new(proto::ThemeTrend {
            id: req.id,
            buckets: buckets_to_proto(buckets),
        }))
    }

    async fn get_tag_trend(
        &self,
        request: Request<proto::GetTagTrendRequest>,
    ) -> Result<Response<proto::TagTrend>, Status> {
        let workspace = workspace_of(&self.engine, &request, &request.get_ref().workspace)?;
        let req = request.into_inner();
        let granularity = granularity(req.granularity)?;
        if req.value.trim().is_empty() {
            return Err(ValidationError::new("value", "is required").into());
        }
        let (dimension, value) = (req.dimension.clone(), req.value.clone());
        let buckets = self
            .engine
            .run(move |s| {
                s.tagging
                    .tag_trend(&workspace, &dimension, &value, granularity)
            })
            .await?;
        Ok(Response::new(proto::TagTrend {
            dimension: req.dimension,
            value: req.value,
            buckets: buckets_to_proto(buckets),
        }))
    }

    async fn merge_themes(
        &self,
        request: Request<proto::MergeThemesRequest>,
    ) -> Result<Response<proto::Theme>, Status> {
        let (workspace, caller) = caller_of(&self.engine, &request, &request.get_ref().workspace)?;
        let req = request.into_inner();
        if req.theme_ids.is_empty() {
            return Err(ValidationError::new("theme_ids", "must name at least one theme").into());
        }
        let target = format!("{} into {}", req.theme_ids.join(","), req.into);
        let ws = workspace.clone();
        let theme = self
            .engine
            .run(move |s| s.themes.merge(&ws, &req.theme_ids, &req.into))
            .await?;
        audit(
            &self.engine,
            &caller,
            "ThemeService/MergeThemes",
            &workspace,
            target,
        )
        .await;
        Ok(Response::new(stored_theme_to_proto(
            theme,
            self.engine.services().clock.now(),
        )))
    }
}
