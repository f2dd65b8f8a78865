//! `tideline.v1.InsightsService`: metric drivers, theme spotlight, sentiment summary, journey
//! health, segment comparison, digest.

use std::sync::Arc;

use tonic::{Request, Response, Status};

use super::alerts::alert_to_proto;
use super::themes::stored_theme_to_proto;
use super::{convert, workspace_of};
use crate::engine::{Engine, Services};
use crate::insights::digest::{Digest, Mover};
use crate::insights::drivers::ThemeScore;
use crate::insights::journey::Status as StageStatus;
use crate::insights::sentiment::Breakdown;
use crate::insights::service::{Scope, View};
use crate::insights::spotlight::Rank;
use crate::insights::{Metric, Tally, Window};
use crate::model::tags::SentimentLabel;
use crate::model::{ValidationError, VerbatimId};
use crate::proto;
use crate::proto::insights_service_server::InsightsService;

pub struct InsightsApi {
    engine: Arc<Engine>,
}

impl InsightsApi {
    pub fn new(engine: Arc<Engine>) -> Self {
        InsightsApi { engine }
    }
}

/// A growth spotlight's floor of mentions when the request sets none.
const DEFAULT_GROWTH_MIN_MENTIONS: u64 = 10;

/// What the intervals of drivers are, in words.
const INTERVAL_METHOD: &str = "analytic 95%: normal approximation of the difference between the \
     theme's mean and the rest's, scaled by the theme's share of the scored verbatims";

/// A request's window, filter and list length.
fn scope(
    window: Option<proto::TimeWindow>,
    filter: Option<proto::SearchFilter>,
    limit: i32,
) -> Result<Scope, ValidationError> {
    let window = window.unwrap_or_default();
    Ok(Scope {
        start: convert::micros("window.start", window.start)?,
        end: convert::micros("window.end", window.end)?,
        filter: convert::filter(filter)?,
        limit: usize::try_from(limit)
            .map_err(|_| ValidationError::new("limit", "must not be negative"))?,
    })
}

/// A request's scope and metric.
fn metric_scope(
    window: Option<proto::TimeWindow>,
    filter: Option<proto::SearchFilter>,
    limit: i32,
    raw_metric: i32,
) -> Result<(Scope, Metric), ValidationError> {
    Ok((scope(window, filter, limit)?, metric(raw_metric)?))
}

fn metric(raw: i32) -> Result<Metric, ValidationError> {
    match proto::Metric::try_from(raw) {
        Ok(proto::Metric::Unspecified) | Ok(proto::Metric::Nps) => Ok(Metric::Nps),
        Ok(proto::Metric::Csat) => Ok(Metric::Csat),
        Ok(proto::Metric::Ces) => Ok(Metric::Ces),
        Err(_) => Err(ValidationError::new(
            "metric",
            format!("unknown value {raw}"),
        )),
    }
}

fn metric_to_proto(metric: Metric) -> proto::Metric {
    match metric {
        Metric::Nps => proto::Metric::Nps,
        Metric::Csat => proto::Metric::Csat,
        Metric::Ces => proto::Metric::Ces,
    }
}

fn summary(metric: Metric, tally: &Tally) -> proto::MetricSummary {
    proto::MetricSummary {
        metric: metric_to_proto(metric) as i32,
        scored: tally.n,
        value: tally.mean().unwrap_or(0.0),
        top_share: tally.top_share(),
        bottom_share: tally.bottom_share(),
    }
}

fn window(w: Window) -> proto::TimeWindow {
    proto::TimeWindow {
        start: Some(convert::timestamp(w.start)),
        end: Some(convert::timestamp(w.end)),
    }
}

/// A theme's label in a view ("" when the theme is gone).
fn label<T>(view: &View<T>, id: &str) -> String {
    view.themes
        .get(id)
        .map(|t| t.label.clone())
        .unwrap_or_default()
}

fn driver<T>(view: &View<T>, metric: Metric, d: &ThemeScore) -> proto::Driver {
    proto::Driver {
        theme_id: d.theme_id.clone(),
        label: label(view, &d.theme_id),
        volume: d.volume,
        metric: Some(summary(metric, &d.tally)),
        impact: d.impact.map(|i| i.points),
        impact_low: d.impact.map_or(0.0, |i| i.low),
        impact_high: d.impact.map_or(0.0, |i| i.high),
        quote: d.quote.as_ref().map(|q| proto::Quote {
            verbatim_id: VerbatimId(q.number).to_string(),
            text: q.text.clone(),
        }),
    }
}

fn breakdown(b: &Breakdown) -> proto::SentimentBreakdown {
    proto::SentimentBreakdown {
        name: b.name.clone(),
        volume: b.volume,
        average_score: b.average.unwrap_or(0.0),
        positive_share: b.share(SentimentLabel::Positive),
        neutral_share: b.share(SentimentLabel::Neutral),
        negative_share: b.share(SentimentLabel::Negative),
        mixed_share: b.share(SentimentLabel::Mixed),
    }
}

fn keywords(list: &[crate::insights::keywords::Keyword]) -> Vec<proto::DistinctiveKeyword> {
    list.iter()
        .map(|k| proto::DistinctiveKeyword {
            term: k.term.clone(),
            stem: k.stem.clone(),
            count: k.count,
            other_count: k.other_count,
            z: k.z,
            weight: k.weight,
        })
        .collect()
}

fn segment_theme<T>(
    view: &View<T>,
    t: &crate::insights::compare::SegmentTheme,
    over: bool,
) -> proto::SegmentTheme {
    proto::SegmentTheme {
        theme_id: t.theme_id.clone(),
        label: label(view, &t.theme_id),
        a_count: t.a_count,
        a_share: t.a_share,
        b_count: t.b_count,
        b_share: t.b_share,
        difference: t.difference(),
        p_value: if over { t.p_over } else { t.p_under },
    }
}

#[tonic::async_trait]
impl InsightsService for InsightsApi {
    async fn get_metric_drivers(
        &self,
        request: Request<proto::GetMetricDriversRequest>,
    ) -> Result<Response<proto::MetricDrivers>, Status> {
        let workspace = workspace_of(&self.engine, &request, &request.get_ref().workspace)?;
        let req = request.into_inner();
        let (scope, metric) = metric_scope(req.window, req.filter, req.limit, req.metric)?;
        let drivers = move |s: &Services| s.insights.drivers(&workspace, &scope, metric);
        let view = self.engine.run(drivers).await?;
        let d = &view.body;
        let drivers = |list: &[ThemeScore]| -> Vec<proto::Driver> {
            list.iter().map(|t| driver(&view, metric, t)).collect()
        };
        Ok(Response::new(proto::MetricDrivers {
            window: Some(window(view.window)),
            verbatims: d.verbatims,
            overall: Some(summary(metric, &d.overall)),
            negative: drivers(&d.negative),
            positive: drivers(&d.positive),
            too_few: drivers(&d.too_few),
            min_scored: d.min_scored,
            interval_method: INTERVAL_METHOD.to_string(),
        }))
    }

    async fn get_theme_spotlight(
        &self,
        request: Request<proto::GetThemeSpotlightRequest>,
    ) -> Result<Response<proto::ThemeSpotlight>, Status> {
        let workspace = workspace_of(&self.engine, &request, &request.get_ref().workspace)?;
        let req = request.into_inner();
        let (scope, metric) = metric_scope(req.window, req.filter, req.limit, req.metric)?;
        let rank = match proto::SpotlightOrder::try_from(req.order) {
            Ok(proto::SpotlightOrder::Unspecified | proto::SpotlightOrder::Mentions) => {
                Rank::Mentions
            }
            Ok(proto::SpotlightOrder::Growth) => Rank::Growth {
                min_mentions: match req.min_mentions {
                    0 => DEFAULT_GROWTH_MIN_MENTIONS,
                    n => u64::from(n),
                },
            },
            Err(_) => {
                let message = format!("unknown value {}", req.order);
                return Err(ValidationError::new("order", message).into());
            }
        };
        let spotlight = move |s: &Services| s.insights.spotlight(&workspace, &scope, metric, rank);
        let view = self.engine.run(spotlight).await?;
        let theme = |id: &str| view.themes.get(id);
        let themes = view
            .body
            .iter()
            .map(|e| proto::SpotlightTheme {
                theme_id: e.theme_id.clone(),
                label: label(&view, &e.theme_id),
                mentions: e.mentions,
                previous_mentions: e.previous_mentions,
                change: e.change,
                share: e.share,
                average_sentiment: e.average_sentiment.unwrap_or(0.0),
                frequency_class: view
                    .themes
                    .get(&e.theme_id)
                    .and_then(|t| t.frequency_class)
                    .map_or(proto::FrequencyClass::Unspecified, |c| {
                        convert::frequency_class_to_proto(c)
                    }) as i32,
                owner: theme(&e.theme_id)
                    .map(|t| t.owner.clone())
                    .unwrap_or_default(),
                action_status: theme(&e.theme_id)
                    .map(|t| t.accountability.status.as_str().to_string())
                    .unwrap_or_default(),
                due: theme(&e.theme_id)
                    .and_then(|t| t.accountability.due())
                    .map(convert::timestamp),
                next_action: theme(&e.theme_id)
                    .map(|t| t.accountability.next_action.clone())
                    .unwrap_or_default(),
                metric: Some(summary(metric, &e.metric)),
                impact: e.impact.map(|i| i.points),
            })
            .collect();
        Ok(Response::new(proto::ThemeSpotlight {
            window: Some(window(view.window)),
            previous_window: Some(window(view.previous)),
            themes,
        }))
    }

    async fn get_sentiment_summary(
        &self,
        request: Request<proto::GetSentimentSummaryRequest>,
    ) -> Result<Response<proto::SentimentSummary>, Status> {
        let workspace = workspace_of(&self.engine, &request, &request.get_ref().workspace)?;
        let req = request.into_inner();
        let scope = scope(req.window, req.filter, req.limit)?;
        let segment = req.segment_key.trim().to_string();
        let key = segment.clone();
        let view = self
            .engine
            .run(move |s| {
                s.insights
                    .sentiment(&workspace, &scope, (!key.is_empty()).then_some(&*key))
            })
            .await?;
        let s = &view.body;
        let labels = s
            .labels
            .iter()
            .map(|l| proto::LabelShare {
                label: convert::sentiment_to_proto(l.label) as i32,
                count: l.count,
                share: l.share,
                previous_count: l.previous_count,
                previous_share: l.previous_share,
                change: l.change(s.previous_volume),
            })
            .collect();
        Ok(Response::new(proto::SentimentSummary {
            window: Some(window(view.window)),
            previous_window: Some(window(view.previous)),
            volume: s.volume,
            previous_volume: s.previous_volume,
            labels,
            average_score: s.average.unwrap_or(0.0),
            previous_average_score: s.previous_average,
            trend: s
                .trend
                .iter()
                .map(|day| proto::SentimentDay {
                    start: Some(convert::timestamp(day.start)),
                    sentiment: Some(breakdown(&day.sentiment)),
                })
                .collect(),
            by_source: s.by_source.iter().map(breakdown).collect(),
            segment_key: segment,
            by_segment: s.by_segment.iter().map(breakdown).collect(),
            positive_keywords: keywords(&s.keywords.a),
            negative_keywords: keywords(&s.keywords.b),
        }))
    }

    async fn get_journey_health(
        &self,
        request: Request<proto::GetJourneyHealthRequest>,
    ) -> Result<Response<proto::JourneyHealth>, Status> {
        let workspace = workspace_of(&self.engine, &request, &request.get_ref().workspace)?;
        let req = request.into_inner();
        let scope = scope(req.window, req.filter, 0)?;
        let view = self
            .engine
            .run(move |s| {
                let active = s.tagging.taxonomy(&workspace)?;
                s.insights.journey(&workspace, &scope, &active.taxonomy)
            })
            .await?;
        let stages = view
            .body
            .stages
            .iter()
            .map(|st| {
                let average = st.sentiment.mean().unwrap_or(0.0);
                let previous = st.previous_sentiment.mean().unwrap_or(0.0);
                let dragging = st.dragging.as_ref();
                proto::JourneyStage {
                    stage: st.stage.clone(),
                    volume: st.volume,
                    previous_volume: st.previous_volume,
                    volume_change: st.volume_change,
                    average_sentiment: average,
                    previous_average_sentiment: previous,
                    sentiment_change: if st.previous_volume > 0 {
                        average - previous
                    } else {
                        0.0
                    },
                    nps: Some(summary(Metric::Nps, &st.nps)),
                    csat: Some(summary(Metric::Csat, &st.csat)),
                    ces: Some(summary(Metric::Ces, &st.ces)),
                    status: match st.status {
                        StageStatus::Ok => proto::JourneyStatus::Ok,
                        StageStatus::Watch => proto::JourneyStatus::Watch,
                        StageStatus::Critical => proto::JourneyStatus::Critical,
                    } as i32,
                    status_reason: st.reason.clone(),
                    owner: st.owner.clone(),
                    dragging_theme_id: dragging.map(|d| d.theme_id.clone()).unwrap_or_default(),
                    dragging_theme_label: dragging
                        .map(|d| label(&view, &d.theme_id))
                        .unwrap_or_default(),
                    dragging_impact: dragging.and_then(|d| d.impact).map_or(0.0, |i| i.points),
                }
            })
            .collect();
        Ok(Response::new(proto::JourneyHealth {
            window: Some(window(view.window)),
            previous_window: Some(window(view.previous)),
            stages,
            unstaged: view.body.unstaged,
        }))
    }

    async fn compare_segments(
        &self,
        request: Request<proto::CompareSegmentsRequest>,
    ) -> Result<Response<proto::SegmentComparison>, Status> {
        let workspace = workspace_of(&self.engine, &request, &request.get_ref().workspace)?;
        let req = request.into_inner();
        let scope = scope(req.window, None, req.limit)?;
        let a = convert::filter_named("a", req.a)?;
        let b = convert::filter_named("b", req.b)?;
        let view = self
            .engine
            .run(move |s| s.insights.compare(&workspace, &scope, &a, &b))
            .await?;
        let c = &view.body;
        Ok(Response::new(proto::SegmentComparison {
            window: Some(window(view.window)),
            a_total: c.a_total,
            b_total: c.b_total,
            over: c
                .over
                .iter()
                .map(|t| segment_theme(&view, t, true))
                .collect(),
            under: c
                .under
                .iter()
                .map(|t| segment_theme(&view, t, false))
                .collect(),
            tested: c.tested as u64,
            false_discovery_rate: c.false_discovery_rate,
            p_value_cutoff: c.cutoff.unwrap_or(0.0),
            dispersion: c.dispersion,
        }))
    }

    async fn get_digest(
        &self,
        request: Request<proto::GetDigestRequest>,
    ) -> Result<Response<proto::Digest>, Status> {
        let workspace = workspace_of(&self.engine, &request, &request.get_ref().workspace)?;
        let req = request.into_inner();
        let scope = scope(req.window, req.filter, req.limit)?;
        let view = self
            .engine
            .run(move |s| s.insights.digest(&workspace, &scope))
            .await?;
        let now = self.engine.services().clock.now();
        Ok(Response::new(digest_to_proto(view, now)))
    }
}

/// A digest as an answer; `now` says which themes are past due.
fn digest_to_proto(view: View<Digest>, now: crate::time::Micros) -> proto::Digest {
    let d = &view.body;
    let mover = |m: &Mover| proto::DigestMover {
        theme_id: m.theme_id.clone(),
        label: label(&view, &m.theme_id),
        mentions: m.mentions,
        previous_mentions: m.previous_mentions,
        change: m.change,
    };
    proto::Digest {
        window: Some(window(view.window)),
        previous_window: Some(window(view.previous)),
        volume: d.volume,
        previous_volume: d.previous_volume,
        new_alerts: d.new_alerts.iter().cloned().map(alert_to_proto).collect(),
        open_alerts: d.open_alerts.iter().cloned().map(alert_to_proto).collect(),
        risers: d.risers.iter().map(mover).collect(),
        fallers: d.fallers.iter().map(mover).collect(),
        sla_breaches: d
            .sla_breaches
            .iter()
            .map(|t| stored_theme_to_proto(t.clone(), now))
            .collect(),
        metrics: d
            .metrics
            .iter()
            .map(|m| proto::MetricChange {
                current: Some(summary(m.metric, &m.now)),
                previous: Some(summary(m.metric, &m.before)),
                change: m.change(),
            })
            .collect(),
        nps_drivers: d
            .drivers
            .iter()
            .map(|c| proto::DigestDriver {
                theme_id: c.theme_id.clone(),
                label: label(&view, &c.theme_id),
                impact: c.impact.points,
                impact_low: c.impact.low,
                impact_high: c.impact.high,
                previous_impact: c.previous_impact.map(|i| i.points),
            })
            .collect(),
    }
}
