//! Scheduled digests: each workspace's cadence (weekly by default, daily, or off), which period
//! is due, and the `digest.weekly` / `digest.daily` event that carries an
//! [`insights::digest`](crate::insights::digest) to webhooks. A period is sent once: the mark that
//! it was sent is committed with the event and its deliveries, so a restart neither skips nor
//! repeats one. Periods are whole UTC weeks (Monday to Monday) or days; a workspace's first
//! digest is the last whole period before it is due, never a backlog.

use serde::{Deserialize, Serialize};
use serde_json::json;

use super::{Event, Webhooks};
use crate::error::Result;
use crate::insights::digest::Digest;
use crate::insights::service::View;
use crate::insights::{Metric, Window};
use crate::store::{DocBatch, DocKind};
use crate::time::{format_date, format_rfc3339, Granularity, Micros};

/// Webhook event: the weekly digest.
pub const EVENT_DIGEST_WEEKLY: &str = "digest.weekly";
/// Webhook event: the daily digest.
pub const EVENT_DIGEST_DAILY: &str = "digest.daily";
/// The digest events.
pub const EVENT_TYPES: [&str; 2] = [EVENT_DIGEST_WEEKLY, EVENT_DIGEST_DAILY];

/// The schedule document's name.
const SCHEDULE_NAME: &str = "current";

/// How often a workspace's digest is sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Cadence {
    Off,
    Daily,
    #[default]
    Weekly,
}

impl Cadence {
    pub fn as_str(self) -> &'static str {
        match self {
            Cadence::Off => "off",
            Cadence::Daily => "daily",
            Cadence::Weekly => "weekly",
        }
    }

    /// The event a digest of this cadence is sent as.
    pub fn event_type(self) -> Option<&'static str> {
        match self {
            Cadence::Off => None,
            Cadence::Daily => Some(EVENT_DIGEST_DAILY),
            Cadence::Weekly => Some(EVENT_DIGEST_WEEKLY),
        }
    }

    /// The last whole period that ended at or before `now`: the UTC day, or the week from
    /// Monday 00:00 UTC.
    pub fn last_period(self, now: Micros) -> Option<Window> {
        let unit = match self {
            Cadence::Off => return None,
            Cadence::Daily => Granularity::Day,
            Cadence::Weekly => Granularity::Week,
        };
        let end = unit.bucket_start(now);
        Some(Window {
            start: end - unit.length(),
            end,
        })
    }
}

/// A workspace's digest schedule.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct DigestSchedule {
    pub cadence: Cadence,
    /// The end of the last period sent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_sent_end: Option<Micros>,
}

impl DigestSchedule {
    /// The period to send at `now`, if one is due.
    pub fn due(&self, now: Micros) -> Option<Window> {
        self.cadence
            .last_period(now)
            .filter(|period| self.last_sent_end.is_none_or(|end| end < period.end))
    }
}

/// A period as the event names it: `2026-10-26/2026-11-02`.
pub fn period_name(period: Window) -> String {
    format!("{}/{}", format_date(period.start), format_date(period.end))
}

impl Webhooks {
    /// The workspace's digest schedule (the configured default cadence until one is set).
    pub fn digest_schedule(&self, workspace: &str) -> Result<DigestSchedule> {
        Ok(self
            .store
            .doc(workspace, DocKind::DigestSchedule, SCHEDULE_NAME)?
            .unwrap_or(DigestSchedule {
                cadence: self.config.digest_cadence,
                last_sent_end: None,
            }))
    }

    /// Sets the workspace's cadence. Durable on return.
    pub fn set_digest_cadence(&self, workspace: &str, cadence: Cadence) -> Result<DigestSchedule> {
        let schedule = DigestSchedule {
            cadence,
            ..self.digest_schedule(workspace)?
        };
        let mut batch = DocBatch::default();
        batch.put(workspace, DocKind::DigestSchedule, SCHEDULE_NAME, &schedule);
        self.commit(batch)?;
        tracing::info!(workspace, cadence = cadence.as_str(), "digest cadence set");
        Ok(schedule)
    }

    /// The period whose digest is due at `now`, with its event type, when some subscription
    /// wants it. A due period nobody subscribes to is marked sent without being computed.
    pub fn digest_due(
        &self,
        workspace: &str,
        now: Micros,
    ) -> Result<Option<(Window, &'static str)>> {
        let schedule = self.digest_schedule(workspace)?;
        let (Some(period), Some(event_type)) = (schedule.due(now), schedule.cadence.event_type())
        else {
            return Ok(None);
        };
        if self
            .list(workspace)?
            .iter()
            .any(|w| w.wants(event_type, None))
        {
            return Ok(Some((period, event_type)));
        }
        self.mark_sent(workspace, schedule, period, DocBatch::default())?;
        Ok(None)
    }

    /// Queues the digest of `period` for every subscription that wants `event_type`, with the
    /// mark that the period was sent, in one transaction. Durable on return; returns the
    /// deliveries queued.
    pub fn send_digest(
        &self,
        workspace: &str,
        event_type: &'static str,
        digest: &View<Digest>,
        now: Micros,
    ) -> Result<usize> {
        let period = digest.window;
        let schedule = self.digest_schedule(workspace)?;
        let event = Event::new(
            workspace,
            format!("msg_{workspace}_digest_{}_{}", period.start, period.end),
            event_type,
            period_name(period),
            None,
            digest_payload(digest),
            now,
        );
        let mut batch = DocBatch::default();
        let queued = self.enqueue_event(&mut batch, workspace, &event)?;
        self.mark_sent(workspace, schedule, period, batch)?;
        tracing::info!(workspace, period = %period_name(period), deliveries = queued, "digest queued");
        Ok(queued)
    }

    fn mark_sent(
        &self,
        workspace: &str,
        schedule: DigestSchedule,
        period: Window,
        mut batch: DocBatch,
    ) -> Result<()> {
        let sent = DigestSchedule {
            last_sent_end: Some(period.end),
            ..schedule
        };
        batch.put(workspace, DocKind::DigestSchedule, SCHEDULE_NAME, &sent);
        self.commit(batch)
    }
}

/// A digest as a webhook body's `data`: readable times, theme labels beside their ids.
pub fn digest_payload(view: &View<Digest>) -> serde_json::Value {
    let d = &view.body;
    let label = |id: &str| view.themes.get(id).map_or("", |t| t.label.as_str());
    let alert = |a: &crate::alerts::Alert| {
        json!({
            "id": a.id,
            "severity": a.severity,
            "status": a.status,
            "subject": if a.phrase.is_empty() { &a.theme_label } else { &a.phrase },
            "summary": a.summary,
            "raised_at": format_rfc3339(a.raised_at),
        })
    };
    let mover = |m: &crate::insights::digest::Mover| {
        json!({
            "theme_id": m.theme_id,
            "label": label(&m.theme_id),
            "mentions": m.mentions,
            "previous_mentions": m.previous_mentions,
            "change": m.change,
        })
    };
    json!({
        "period": {
            "start": format_rfc3339(view.window.start),
            "end": format_rfc3339(view.window.end),
        },
        "volume": d.volume,
        "previous_volume": d.previous_volume,
        "new_alerts": d.new_alerts.iter().map(alert).collect::<Vec<_>>(),
        "open_alerts": d.open_alerts.iter().map(alert).collect::<Vec<_>>(),
        "risers": d.risers.iter().map(mover).collect::<Vec<_>>(),
        "fallers": d.fallers.iter().map(mover).collect::<Vec<_>>(),
        "sla_breaches": d.sla_breaches.iter().map(|t| json!({
            "theme_id": t.id,
            "label": t.label,
            "owner": t.owner,
            "status": t.accountability.status.as_str(),
            "due": t.accountability.due().map(format_rfc3339),
            "next_action": t.accountability.next_action,
        })).collect::<Vec<_>>(),
        "metrics": d.metrics.iter().map(|m| json!({
            "metric": m.metric.as_str(),
            "value": m.now.mean(),
            "answers": m.now.n,
            "previous_value": m.before.mean(),
            "previous_answers": m.before.n,
            "change": m.change(),
        })).collect::<Vec<_>>(),
        "drivers": d.drivers.iter().map(|c| json!({
            "metric": Metric::Nps.as_str(),
            "theme_id": c.theme_id,
            "label": label(&c.theme_id),
            "impact": c.impact.points,
            "low": c.impact.low,
            "high": c.impact.high,
            "previous_impact": c.previous_impact.map(|i| i.points),
        })).collect::<Vec<_>>(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::time::DAY;

    /// 2026-11-04, a Wednesday, 15:00 UTC.
    const WEDNESDAY: Micros = (20_761 * 86_400 + 15 * 3_600) * 1_000_000;

    #[test]
    fn the_last_whole_week_runs_monday_to_monday_and_is_due_once() {
        assert_eq!(format_date(WEDNESDAY), "2026-11-04");
        let week = Cadence::Weekly.last_period(WEDNESDAY).unwrap();
        assert_eq!(period_name(week), "2026-10-26/2026-11-02");
        let day = Cadence::Daily.last_period(WEDNESDAY).unwrap();
        assert_eq!(period_name(day), "2026-11-03/2026-11-04");
        assert_eq!(Cadence::Off.last_period(WEDNESDAY), None);

        let mut schedule = DigestSchedule::default();
        assert_eq!(schedule.due(WEDNESDAY), Some(week));
        schedule.last_sent_end = Some(week.end);
        assert_eq!(schedule.due(WEDNESDAY), None, "sent twice");
        // Next Monday, the next week is due.
        let next = schedule.due(WEDNESDAY + 5 * DAY).unwrap();
        assert_eq!(period_name(next), "2026-11-02/2026-11-09");
    }
}
