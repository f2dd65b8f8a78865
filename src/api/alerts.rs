//! `tideline.v1.AlertService`: evaluation (live and backtests), the alert log, live watching and
//! per-workspace rules.

use std::pin::Pin;
use std::sync::Arc;

use futures::Stream;
use tokio_stream::wrappers::ReceiverStream;
use tokio_stream::StreamExt;
use tonic::{Request, Response, Status};

use super::access::{caller_of, check_scope, deadline_of};
use super::{audit, convert, workspace_of};
use crate::alerts::{
    Alert, AlertFilter, AlertRule, AlertSeverity, AlertStatus, EvaluateOptions, RuleKind, Watched,
};
use crate::auth::Scope;
use crate::engine::Engine;
use crate::model::ValidationError;
use crate::pagination;
use crate::proto;
use crate::proto::alert_service_server::AlertService;

pub struct AlertApi {
    engine: Arc<Engine>,
}

impl AlertApi {
    pub fn new(engine: Arc<Engine>) -> Self {
        AlertApi { engine }
    }
}

pub fn severity_to_proto(s: AlertSeverity) -> proto::AlertSeverity {
    match s {
        AlertSeverity::Low => proto::AlertSeverity::Low,
        AlertSeverity::Medium => proto::AlertSeverity::Medium,
        AlertSeverity::High => proto::AlertSeverity::High,
        AlertSeverity::Critical => proto::AlertSeverity::Critical,
    }
}

/// A minimum severity filter: unspecified means none.
pub fn min_severity(field: &str, raw: i32) -> Result<Option<AlertSeverity>, ValidationError> {
    match proto::AlertSeverity::try_from(raw) {
        Ok(proto::AlertSeverity::Unspecified) => Ok(None),
        Ok(proto::AlertSeverity::Low) => Ok(Some(AlertSeverity::Low)),
        Ok(proto::AlertSeverity::Medium) => Ok(Some(AlertSeverity::Medium)),
        Ok(proto::AlertSeverity::High) => Ok(Some(AlertSeverity::High)),
        Ok(proto::AlertSeverity::Critical) => Ok(Some(AlertSeverity::Critical)),
        Err(_) => Err(ValidationError::new(field, format!("unknown value {raw}"))),
    }
}

fn status_to_proto(s: AlertStatus) -> proto::AlertStatus {
    match s {
        AlertStatus::Open => proto::AlertStatus::Open,
        AlertStatus::Acknowledged => proto::AlertStatus::Acknowledged,
        AlertStatus::Assigned => proto::AlertStatus::Assigned,
        AlertStatus::Resolved => proto::AlertStatus::Resolved,
        AlertStatus::Dismissed => proto::AlertStatus::Dismissed,
    }
}

fn status_from_proto(field: &str, raw: i32) -> Result<AlertStatus, ValidationError> {
    match proto::AlertStatus::try_from(raw) {
        Ok(proto::AlertStatus::Open) => Ok(AlertStatus::Open),
        Ok(proto::AlertStatus::Acknowledged) => Ok(AlertStatus::Acknowledged),
        Ok(proto::AlertStatus::Assigned) => Ok(AlertStatus::Assigned),
        Ok(proto::AlertStatus::Resolved) => Ok(AlertStatus::Resolved),
        Ok(proto::AlertStatus::Dismissed) => Ok(AlertStatus::Dismissed),
        Ok(proto::AlertStatus::Unspecified) => Err(ValidationError::new(field, "is required")),
        Err(_) => Err(ValidationError::new(field, format!("unknown value {raw}"))),
    }
}

fn rule_to_proto(rule: RuleKind) -> proto::AlertRuleKind {
    match rule {
        RuleKind::Velocity => proto::AlertRuleKind::Velocity,
        RuleKind::NegativeSentimentSpike => proto::AlertRuleKind::NegativeSentimentSpike,
        RuleKind::EmergingPhrase => proto::AlertRuleKind::EmergingPhrase,
    }
}

pub fn alert_to_proto(a: Alert) -> proto::Alert {
    let signals = a
        .fired()
        .into_iter()
        .map(|s| rule_to_proto(s) as i32)
        .collect();
    let themes = if a.themes.is_empty() && a.theme_id.is_empty() {
        Vec::new()
    } else if a.themes.is_empty() {
        vec![proto::AlertTheme {
            id: a.theme_id.clone(),
            label: a.theme_label.clone(),
            mentions: a.evidence.mentions,
            baseline_mentions: a.evidence.baseline_mentions,
        }]
    } else {
        a.themes
            .into_iter()
            .map(|t| proto::AlertTheme {
                id: t.id,
                label: t.label,
                mentions: t.mentions,
                baseline_mentions: t.baseline_mentions,
            })
            .collect()
    };
    let rising_phrases = a.rising_phrases;
    let e = a.evidence;
    let ts = |micros| Some(convert::timestamp(micros));
    proto::Alert {
        id: a.id,
        rule: rule_to_proto(a.rule) as i32,
        status: status_to_proto(a.status) as i32,
        severity: severity_to_proto(a.severity) as i32,
        theme_id: a.theme_id,
        theme_label: a.theme_label,
        keywords: a.keywords,
        summary: a.summary,
        frequency_class: convert::frequency_class_to_proto(e.class) as i32,
        mentions: e.mentions,
        baseline_mentions: e.baseline_mentions,
        share: e.share,
        baseline_share: e.baseline_share,
        velocity: e.velocity,
        p_value: e.p_value,
        average_sentiment: e.average_sentiment,
        negative_share: e.negative_share,
        baseline_negative_share: e.baseline_negative_share,
        affected_customers: e.affected_customers,
        affected_customer_share: e.affected_customer_share,
        quotes: a
            .quotes
            .into_iter()
            .map(|q| proto::Quote {
                verbatim_id: q.verbatim_id,
                text: q.text,
            })
            .collect(),
        product_area: a.product_area,
        owner: a.owner,
        recommended_action: a.recommended_action,
        window_start: ts(e.window_start),
        window_end: ts(e.window_end),
        baseline_start: ts(e.baseline_start),
        first_seen: ts(e.first_seen),
        raised_at: ts(a.raised_at),
        updated_at: ts(a.updated_at),
        assignee: a.assignee,
        notes: a
            .notes
            .into_iter()
            .map(|n| proto::AlertNote {
                at: ts(n.at),
                status: status_to_proto(n.status) as i32,
                assignee: n.assignee,
                note: n.note,
            })
            .collect(),
        backtest: a.backtest,
        dispersion: e.dispersion,
        themes,
        signals,
        rising_phrases,
        phrase: a.phrase,
    }
}

fn rules_to_proto(workspace: String, r: AlertRule) -> proto::AlertRules {
    proto::AlertRules {
        workspace,
        window_seconds: r.window_secs as u64,
        baseline_seconds: r.baseline_secs as u64,
        velocity_threshold: r.velocity_threshold,
        min_mentions: r.min_mentions,
        significance: r.significance,
        new_share: r.new_share,
        cooldown_seconds: r.cooldown_secs as u64,
        negative_share_increase: r.negative_share_increase,
    }
}

/// Seconds from a request, refusing values that do not fit.
fn seconds(field: &str, value: u64) -> Result<i64, ValidationError> {
    i64::try_from(value)
        .ok()
        .filter(|s| *s <= 100 * 365 * 86_400)
        .ok_or_else(|| ValidationError::new(field, "is too large"))
}

fn rules_from_proto(r: proto::AlertRules) -> Result<AlertRule, ValidationError> {
    Ok(AlertRule {
        window_secs: seconds("rules.window_seconds", r.window_seconds)?,
        baseline_secs: seconds("rules.baseline_seconds", r.baseline_seconds)?,
        velocity_threshold: r.velocity_threshold,
        min_mentions: r.min_mentions,
        significance: r.significance,
        new_share: r.new_share,
        cooldown_secs: seconds("rules.cooldown_seconds", r.cooldown_seconds)?,
        negative_share_increase: r.negative_share_increase,
    })
}

type AlertEventStream = Pin<Box<dyn Stream<Item = Result<proto::AlertEvent, Status>> + Send>>;

#[tonic::async_trait]
impl AlertService for AlertApi {
    async fn evaluate_alerts(
        &self,
        request: Request<proto::EvaluateAlertsRequest>,
    ) -> Result<Response<proto::EvaluateAlertsResponse>, Status> {
        let (workspace, caller) = caller_of(&self.engine, &request, &request.get_ref().workspace)?;
        let req = request.into_inner();
        let as_of = convert::micros("as_of", req.as_of)?;
        let since = convert::micros("since", req.since)?;
        if since.is_some() && as_of.is_none() {
            return Err(ValidationError::new("since", "needs as_of (a backtest)").into());
        }
        if (req.record || req.deliver) && as_of.is_none() {
            return Err(ValidationError::new(
                "record",
                "applies to backtests (as_of); live evaluations always record and deliver",
            )
            .into());
        }
        let nonzero = |field: &str, v: u64| -> Result<Option<i64>, ValidationError> {
            if v == 0 {
                Ok(None)
            } else {
                seconds(field, v).map(Some)
            }
        };
        let options = EvaluateOptions {
            as_of,
            since,
            step_secs: seconds("step_seconds", req.step_seconds)?,
            window_secs: nonzero("window_seconds", req.window_seconds)?,
            baseline_secs: nonzero("baseline_seconds", req.baseline_seconds)?,
            cooldown_secs: req
                .cooldown_seconds
                .map(|c| seconds("cooldown_seconds", c))
                .transpose()?,
            record: req.record,
            deliver: req.deliver,
        };
        // A live evaluation, or a backtest that records or delivers, changes the alert log.
        let changes = options.live() || options.record || options.deliver;
        if changes {
            check_scope(&caller, Scope::Curate, "an evaluation that records alerts")?;
        }
        let evaluation = self.engine.evaluate_alerts(&workspace, options).await?;
        if changes {
            let target = format!("{} alerts raised", evaluation.alerts.len());
            audit(
                &self.engine,
                &caller,
                "AlertService/EvaluateAlerts",
                &workspace,
                target,
            )
            .await;
        }
        Ok(Response::new(proto::EvaluateAlertsResponse {
            alerts: evaluation.alerts.into_iter().map(alert_to_proto).collect(),
            standings: evaluation
                .standings
                .into_iter()
                .map(|s| proto::ThemeStanding {
                    theme_id: s.theme_id,
                    theme_label: s.label,
                    frequency_class: convert::frequency_class_to_proto(s.standing.class) as i32,
                    mentions: s.standing.mentions,
                    baseline_mentions: s.standing.baseline_mentions,
                    share: s.standing.share,
                    baseline_share: s.standing.baseline_share,
                    velocity: s.standing.velocity,
                    p_value: s.standing.p_value,
                })
                .collect(),
            evaluations: evaluation.evaluations,
            suppressed_by_cooldown: evaluation.suppressed_by_cooldown,
            dispersion: evaluation.dispersion,
        }))
    }

    async fn list_alerts(
        &self,
        request: Request<proto::ListAlertsRequest>,
    ) -> Result<Response<proto::ListAlertsResponse>, Status> {
        let workspace = workspace_of(&self.engine, &request, &request.get_ref().workspace)?;
        let req = request.into_inner();
        let filter = AlertFilter {
            statuses: req
                .statuses
                .iter()
                .map(|&s| status_from_proto("statuses", s))
                .collect::<Result<_, _>>()?,
            min_severity: min_severity("min_severity", req.min_severity)?,
            raised_after: convert::micros("raised_after", req.raised_after)?,
            raised_before: convert::micros("raised_before", req.raised_before)?,
            theme_id: (!req.theme_id.is_empty()).then_some(req.theme_id),
            include_backtests: req.include_backtests,
        };
        let fingerprint = pagination::fingerprint(&(&workspace, &filter));
        let ws = workspace.clone();
        let alerts = self
            .engine
            .run(move |s| s.alerts.list(&ws, &filter))
            .await?;
        let page =
            self.engine
                .pager()
                .paginate(alerts, req.page_size, &req.page_token, fingerprint)?;
        Ok(Response::new(proto::ListAlertsResponse {
            alerts: page.items.into_iter().map(alert_to_proto).collect(),
            next_page_token: page.next_page_token,
            total_size: page.total as u64,
        }))
    }

    async fn get_alert(
        &self,
        request: Request<proto::GetAlertRequest>,
    ) -> Result<Response<proto::Alert>, Status> {
        let workspace = workspace_of(&self.engine, &request, &request.get_ref().workspace)?;
        let id = request.into_inner().id;
        let alert = self
            .engine
            .run(move |s| s.alerts.get(&workspace, &id))
            .await?;
        Ok(Response::new(alert_to_proto(alert)))
    }

    async fn update_alert(
        &self,
        request: Request<proto::UpdateAlertRequest>,
    ) -> Result<Response<proto::Alert>, Status> {
        let (workspace, caller) = caller_of(&self.engine, &request, &request.get_ref().workspace)?;
        let req = request.into_inner();
        let status = status_from_proto("status", req.status)?;
        let ws = workspace.clone();
        let alert = self
            .engine
            .run(move |s| {
                let now = crate::time::now();
                s.alerts
                    .update(&ws, &req.id, status, req.assignee, req.note, now)
            })
            .await?;
        let target = format!("{} {}", alert.id, status.as_str());
        audit(
            &self.engine,
            &caller,
            "AlertService/UpdateAlert",
            &workspace,
            target,
        )
        .await;
        Ok(Response::new(alert_to_proto(alert)))
    }

    type WatchAlertsStream = AlertEventStream;

    async fn watch_alerts(
        &self,
        request: Request<proto::WatchAlertsRequest>,
    ) -> Result<Response<Self::WatchAlertsStream>, Status> {
        let (workspace, caller) = caller_of(&self.engine, &request, &request.get_ref().workspace)?;
        // One of the key's streams, held as long as the watch.
        let stream_place = self
            .engine
            .services()
            .keys
            .quotas
            .open_stream(&caller.key_id)?;
        let buffer = self.engine.config().limits.watch_buffer_events;
        let watched = self.engine.services().alerts.watch(workspace, buffer);
        let stream = ReceiverStream::new(watched).map(move |item| {
            let _held = &stream_place;
            watched_to_proto(item)
        });
        let Some(deadline) = deadline_of(&request) else {
            return Ok(Response::new(Box::pin(stream)));
        };
        // The client's deadline ends the watch (tonic bounds only the call's start).
        let ends_at = tokio::time::Instant::now() + deadline;
        let expired = futures::stream::once(async {
            Err(Status::deadline_exceeded(
                "the call's deadline (grpc-timeout) passed",
            ))
        })
        .filter(move |_| tokio::time::Instant::now() >= ends_at);
        let bounded = futures::StreamExt::take_until(stream, tokio::time::sleep_until(ends_at))
            .chain(expired);
        Ok(Response::new(Box::pin(bounded)))
    }

    async fn get_alert_rules(
        &self,
        request: Request<proto::GetAlertRulesRequest>,
    ) -> Result<Response<proto::AlertRules>, Status> {
        let workspace = workspace_of(&self.engine, &request, &request.get_ref().workspace)?;
        let ws = workspace.clone();
        let rules = self.engine.run(move |s| s.alerts.rules(&ws)).await?;
        Ok(Response::new(rules_to_proto(workspace, rules)))
    }

    async fn update_alert_rules(
        &self,
        request: Request<proto::UpdateAlertRulesRequest>,
    ) -> Result<Response<proto::AlertRules>, Status> {
        let (workspace, caller) = caller_of(&self.engine, &request, &request.get_ref().workspace)?;
        let req = request.into_inner();
        let target = if req.reset {
            "reset to defaults"
        } else {
            "rules set"
        };
        let rules = if req.reset {
            None
        } else {
            let given = req
                .rules
                .ok_or_else(|| ValidationError::new("rules", "is required (or set reset)"))?;
            Some(rules_from_proto(given)?)
        };
        let ws = workspace.clone();
        let rules = self
            .engine
            .run(move |s| s.alerts.set_rules(&ws, rules))
            .await?;
        audit(
            &self.engine,
            &caller,
            "AlertService/UpdateAlertRules",
            &workspace,
            target,
        )
        .await;
        Ok(Response::new(rules_to_proto(workspace, rules)))
    }
}

/// A watch item as the API sends it: an event, or the status that ends the watch.
fn watched_to_proto(item: Watched) -> Result<proto::AlertEvent, Status> {
    match item {
        Watched::Event(event) => Ok(proto::AlertEvent {
            r#type: event.event_type.to_string(),
            alert: Some(alert_to_proto(event.alert)),
        }),
        Watched::Missed(missed) => Err(Status::data_loss(format!(
            "watcher fell behind and missed {missed} alert events; list alerts and watch again"
        ))),
        Watched::TooSlow(waiting) => Err(Status::data_loss(format!(
            "watcher stopped reading with {waiting} alert events waiting \
                 (limit limits.watch_buffer_events={waiting}); list alerts and watch again"
        ))),
    }
}
