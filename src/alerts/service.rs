//! The alert service: evaluation over the store (live, and backtests), the alert log and its
//! lifecycle, per-workspace rules, and live watchers. It is the only writer of alert documents.
//! An alert, its webhook event and its pending deliveries are committed in one store transaction
//! (the deliveries come from an [`AlertOutbox`]); the themes' classes are recorded through the
//! theme service. Blocking: the engine runs it on blocking threads.

use std::collections::HashMap;
use std::sync::Arc;

use parking_lot::Mutex;

use tokio::sync::{broadcast, mpsc};

use super::evaluate::{evaluation_times, Context, EvaluateOptions, Evaluation, LastRaised};
use super::rules::AlertRule;
use super::{alert_id, Alert, AlertEvent, AlertNote, AlertStatus, EVENT_CREATED, EVENT_UPDATED};
use crate::error::{Error, Result};
use crate::model::{Limits, ValidationError};
use crate::store::{DocBatch, DocKind, Store};
use crate::tagging::taxonomy::Taxonomy;
use crate::themes::service::{MeasuredClass, Themes};
use crate::time::Micros;

/// Alert events kept for watchers (of all workspaces) that have not taken them yet; a watcher
/// further behind misses events and is told so.
const EVENTS_KEPT: usize = 256;

/// What a watch delivers: alert events of its workspace, then, if it ends early, why.
#[derive(Debug, Clone, PartialEq)]
pub enum Watched {
    Event(Box<AlertEvent>),
    /// The watcher fell behind the server's events by this many and missed them.
    Missed(u64),
    /// The watcher stopped taking events: this many were waiting for it.
    TooSlow(usize),
}

/// The alert counter's and the rules' document names.
const COUNTER_NAME: &str = "next";
const RULES_NAME: &str = "current";

/// Where alert events go to be delivered: the webhooks outbox. Alerts do not know who consumes
/// their events; `webhooks::Webhooks` implements this.
pub trait AlertOutbox: Send + Sync {
    /// Adds the deliveries `events` need to `batch`, which commits them with the alert changes.
    fn enqueue(
        &self,
        batch: &mut DocBatch,
        workspace: &str,
        events: &[AlertEvent],
        now: Micros,
    ) -> Result<()>;

    /// Tells the delivery worker that a committed batch queued deliveries.
    fn wake(&self);
}

/// Alert log filters.
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct AlertFilter {
    pub statuses: Vec<AlertStatus>,
    pub min_severity: Option<crate::alerts::AlertSeverity>,
    pub raised_after: Option<Micros>,
    pub raised_before: Option<Micros>,
    pub theme_id: Option<String>,
    pub include_backtests: bool,
}

impl AlertFilter {
    fn matches(&self, alert: &Alert) -> bool {
        (self.statuses.is_empty() || self.statuses.contains(&alert.status))
            && self.min_severity.is_none_or(|s| alert.severity >= s)
            && self.raised_after.is_none_or(|t| alert.raised_at >= t)
            && self.raised_before.is_none_or(|t| alert.raised_at < t)
            && self
                .theme_id
                .as_ref()
                .is_none_or(|t| alert.theme_ids().contains(&t.as_str()))
            && (self.include_backtests || !alert.backtest)
    }
}

/// Evaluation, the alert log and live watchers for all workspaces.
pub struct Alerts {
    store: Arc<Store>,
    limits: Limits,
    themes: Arc<Themes>,
    outbox: Arc<dyn AlertOutbox>,
    defaults: AlertRule,
    events: broadcast::Sender<(String, AlertEvent)>,
    /// Serialises writes to the alert log (ids, cooldowns).
    writing: Mutex<()>,
    /// Flips to true when the server shuts down, ending live watches.
    closing: tokio::sync::watch::Sender<bool>,
}

impl Alerts {
    /// `defaults` are the rules of workspaces that set none.
    pub fn new(
        store: Arc<Store>,
        themes: Arc<Themes>,
        outbox: Arc<dyn AlertOutbox>,
        defaults: AlertRule,
        limits: Limits,
    ) -> Alerts {
        Alerts {
            store,
            limits,
            themes,
            outbox,
            defaults,
            events: broadcast::channel(EVENTS_KEPT).0,
            writing: Mutex::new(()),
            closing: tokio::sync::watch::Sender::new(false),
        }
    }

    /// Ends every live watch (on shutdown).
    pub fn close_watchers(&self) {
        self.closing.send_replace(true);
    }

    /// New alerts and alert changes of one workspace, from now on, at most `buffer` waiting
    /// for the watcher: one that does not take them is cut off (its last item says why), so a
    /// client that never reads costs a bounded amount. The watch ends when the receiver is
    /// dropped or the server shuts down. Call on the async runtime.
    pub fn watch(&self, workspace: String, buffer: usize) -> mpsc::Receiver<Watched> {
        let (tx, rx) = mpsc::channel(buffer.max(1) + 1);
        let mut events = self.events.subscribe();
        let mut closing = self.closing.subscribe();
        tokio::spawn(async move {
            loop {
                let received = tokio::select! {
                    _ = tx.closed() => return,
                    _ = closing.wait_for(|closed| *closed) => return,
                    received = events.recv() => received,
                };
                let item = match received {
                    Ok((ws, event)) if ws == workspace => Watched::Event(Box::new(event)),
                    Ok(_) => continue,
                    Err(broadcast::error::RecvError::Lagged(missed)) => Watched::Missed(missed),
                    Err(broadcast::error::RecvError::Closed) => return,
                };
                let last = !matches!(item, Watched::Event(_));
                // One slot stays free for the reason a watch ends.
                let item = if tx.capacity() <= 1 && !last {
                    Watched::TooSlow(buffer)
                } else {
                    item
                };
                let ends = !matches!(item, Watched::Event(_));
                if tx.try_send(item).is_err() || ends {
                    return;
                }
            }
        });
        rx
    }

    /// The workspace's rules: its own, or the configured defaults.
    pub fn rules(&self, workspace: &str) -> Result<AlertRule> {
        Ok(self
            .store
            .doc(workspace, DocKind::AlertRules, RULES_NAME)?
            .unwrap_or(self.defaults))
    }

    /// Replaces the workspace's rules (`None`: back to the defaults). Blocking; flushes.
    pub fn set_rules(&self, workspace: &str, rules: Option<AlertRule>) -> Result<AlertRule> {
        let mut batch = DocBatch::default();
        match &rules {
            Some(rules) => {
                if let Some((field, message)) = rules.invalid_field() {
                    return Err(ValidationError::new(format!("rules.{field}"), message).into());
                }
                batch.put(workspace, DocKind::AlertRules, RULES_NAME, rules);
            }
            None => batch.remove(workspace, DocKind::AlertRules, RULES_NAME),
        }
        self.store.commit(batch)?;
        self.store.flush_blocking()?;
        Ok(rules.unwrap_or(self.defaults))
    }

    /// Evaluates a workspace's rules (see [`EvaluateOptions`]); recorded alerts are committed
    /// with their deliveries and flushed, then published. Blocking.
    pub fn evaluate(
        &self,
        taxonomy: &Taxonomy,
        workspace: &str,
        options: &EvaluateOptions,
        now: Micros,
    ) -> Result<Evaluation> {
        let mut rule = self.rules(workspace)?;
        if let Some(w) = options.window_secs {
            rule.window_secs = w;
        }
        if let Some(b) = options.baseline_secs {
            rule.baseline_secs = b;
        }
        if let Some(c) = options.cooldown_secs {
            rule.cooldown_secs = c;
        }
        if let Some((field, message)) = rule.invalid_field() {
            return Err(ValidationError::new(field, message).into());
        }
        let as_of = options.as_of.unwrap_or(now);
        let times = evaluation_times(as_of, options.since, options.step_secs)?;
        let record = options.live() || options.record;
        let _writing = self.writing.lock();

        let themes = self.themes.active(workspace)?;
        let mut verbatims = self.store.workspace_verbatims(workspace)?;
        // Time, then text: the same verbatims give the same alerts whatever their arrival order.
        verbatims.sort_by(|a, b| (a.created_at, &a.text).cmp(&(b.created_at, &b.text)));
        let mut last_raised = LastRaised::new();
        if record {
            for alert in self.store.docs::<Alert>(workspace, DocKind::Alert)? {
                // Live evaluations cool down on live alerts, recorded backtests on backtests.
                if alert.backtest != options.live() {
                    for subject in alert.cooldown_subjects() {
                        for signal in alert.fired() {
                            let key = (subject.clone(), signal);
                            let at = last_raised.entry(key).or_insert(alert.raised_at);
                            *at = (*at).max(alert.raised_at);
                        }
                    }
                }
            }
        }
        let context = Context {
            workspace,
            taxonomy,
            themes: &themes,
            verbatims: &verbatims,
            rule: &rule,
            now,
            backtest: !options.live(),
        };
        let mut evaluation = context.evaluate(&times, last_raised);

        if record {
            let deliver = options.live() || options.deliver;
            let events = self.record(workspace, &mut evaluation, deliver, now)?;
            if options.live() {
                let classes: HashMap<String, MeasuredClass> = evaluation
                    .standings
                    .iter()
                    .map(|s| {
                        let class = MeasuredClass {
                            class: s.standing.class,
                            velocity: s.standing.velocity,
                            share: s.standing.share,
                            baseline_share: s.standing.baseline_share,
                        };
                        (s.theme_id.clone(), class)
                    })
                    .collect();
                self.themes.record_standings(workspace, &classes)?;
            }
            self.publish(workspace, events, deliver);
        }
        Ok(evaluation)
    }

    /// Gives recorded alerts their ids and commits them with their deliveries (when `deliver`).
    /// Returns the events to publish.
    fn record(
        &self,
        workspace: &str,
        evaluation: &mut Evaluation,
        deliver: bool,
        now: Micros,
    ) -> Result<Vec<AlertEvent>> {
        let mut batch = DocBatch::default();
        let mut counter: u64 = self
            .store
            .doc(workspace, DocKind::AlertCounter, COUNTER_NAME)?
            .unwrap_or(1);
        let mut events = Vec::with_capacity(evaluation.alerts.len());
        for alert in &mut evaluation.alerts {
            alert.id = alert_id(counter);
            counter += 1;
            batch.put(workspace, DocKind::Alert, &alert.id, alert);
            events.push(AlertEvent {
                event_type: EVENT_CREATED,
                alert: alert.clone(),
            });
        }
        if deliver {
            self.outbox.enqueue(&mut batch, workspace, &events, now)?;
        }
        batch.put(workspace, DocKind::AlertCounter, COUNTER_NAME, &counter);
        self.store.commit(batch)?;
        self.store.flush_blocking()?;
        Ok(events)
    }

    fn publish(&self, workspace: &str, events: Vec<AlertEvent>, deliver: bool) {
        if events.is_empty() {
            return;
        }
        if deliver {
            self.outbox.wake();
        }
        for event in events {
            // No receivers is fine: nobody is watching.
            let _ = self.events.send((workspace.to_string(), event));
        }
    }

    /// Alerts matching `filter`, newest first.
    pub fn list(&self, workspace: &str, filter: &AlertFilter) -> Result<Vec<Alert>> {
        self.limits.check_list("statuses", filter.statuses.len())?;
        let mut alerts: Vec<Alert> = self
            .store
            .docs::<Alert>(workspace, DocKind::Alert)?
            .into_iter()
            .filter(|a| filter.matches(a))
            .collect();
        alerts.reverse();
        Ok(alerts)
    }

    pub fn get(&self, workspace: &str, id: &str) -> Result<Alert> {
        self.store
            .doc(workspace, DocKind::Alert, id)?
            .ok_or_else(|| Error::not_found("alert", id))
    }

    /// Moves an alert to `status` with an optional assignee and note; emits `alert.updated` to
    /// watchers and webhooks. Blocking; flushes.
    pub fn update(
        &self,
        workspace: &str,
        id: &str,
        status: AlertStatus,
        assignee: String,
        note: String,
        now: Micros,
    ) -> Result<Alert> {
        self.limits.check_name("assignee", &assignee)?;
        self.limits.check_note("note", &note)?;
        let _writing = self.writing.lock();
        let mut alert = self.get(workspace, id)?;
        if !alert.status.can_move_to(status) {
            return Err(Error::FailedPrecondition(format!(
                "status: alert {id} is {} and cannot become {}",
                alert.status.as_str(),
                status.as_str()
            )));
        }
        if status == AlertStatus::Assigned && assignee.trim().is_empty() {
            return Err(ValidationError::new("assignee", "is required to assign an alert").into());
        }
        alert.status = status;
        if !assignee.trim().is_empty() {
            alert.assignee = assignee.trim().to_string();
        }
        alert.updated_at = now;
        alert.notes.push(AlertNote {
            at: now,
            status,
            assignee: alert.assignee.clone(),
            note,
        });
        // A long-lived alert keeps its latest notes; its events stay bounded.
        let excess = alert
            .notes
            .len()
            .saturating_sub(self.limits.max_alert_notes);
        alert.notes.drain(..excess);
        let mut batch = DocBatch::default();
        batch.put(workspace, DocKind::Alert, &alert.id, &alert);
        let change = AlertEvent {
            event_type: EVENT_UPDATED,
            alert: alert.clone(),
        };
        let deliver = !alert.backtest;
        let events = vec![change];
        if deliver {
            self.outbox.enqueue(&mut batch, workspace, &events, now)?;
        }
        self.store.commit(batch)?;
        self.store.flush_blocking()?;
        self.publish(workspace, events, deliver);
        Ok(alert)
    }
}
