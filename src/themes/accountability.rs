//! The accountability loop of a theme — who owns it, by when, what happens next — and the
//! decisions it takes, pure: the due date (owner assigned + SLA), the breach to announce (once
//! per due date), and what a live measurement of the theme's share means for a resolved theme
//! (ready to close once below its pre-incident level; reopened when it grows again). The theme
//! [`service`](super::service) applies them and queues the events in the outbox.

use serde::{Deserialize, Serialize};

use super::record::Theme;
use crate::time::{Micros, DAY};
use crate::trends::FrequencyClass;

/// Webhook event: a theme is past its due date and not resolved (once per due date).
pub const EVENT_SLA_BREACHED: &str = "theme.sla_breached";
/// Webhook event: a resolved theme grows again and is open once more.
pub const EVENT_REOPENED: &str = "theme.reopened";
/// The theme events, in the order webhooks list them.
pub const EVENT_TYPES: [&str; 2] = [EVENT_SLA_BREACHED, EVENT_REOPENED];

/// Where the owner is with a theme.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ActionStatus {
    #[default]
    Open,
    Planned,
    InProgress,
    Resolved,
    WontFix,
}

impl ActionStatus {
    pub const ALL: [ActionStatus; 5] = [
        ActionStatus::Open,
        ActionStatus::Planned,
        ActionStatus::InProgress,
        ActionStatus::Resolved,
        ActionStatus::WontFix,
    ];

    /// Whether the owner is done with the theme (resolved, or decided not to fix it): no SLA
    /// runs on it.
    pub fn is_closed(self) -> bool {
        matches!(self, ActionStatus::Resolved | ActionStatus::WontFix)
    }

    pub fn as_str(self) -> &'static str {
        match self {
            ActionStatus::Open => "open",
            ActionStatus::Planned => "planned",
            ActionStatus::InProgress => "in_progress",
            ActionStatus::Resolved => "resolved",
            ActionStatus::WontFix => "wont_fix",
        }
    }

    /// Reads a status by its name (`as_str`, also with a space or dash for the underscore).
    pub fn parse(name: &str) -> Option<ActionStatus> {
        let name = name.trim().to_ascii_lowercase().replace([' ', '-'], "_");
        ActionStatus::ALL.into_iter().find(|s| s.as_str() == name)
    }
}

/// A person's change to a theme's accountability; `None` leaves a field as it is.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct AccountabilityEdit {
    pub owner: Option<String>,
    /// `Some(0)` removes the SLA.
    pub sla_days: Option<u32>,
    pub status: Option<ActionStatus>,
    /// `Some("")` clears it.
    pub next_action: Option<String>,
}

/// A theme's accountability loop, as stored on the theme.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct Accountability {
    pub status: ActionStatus,
    /// Days the owner has from assignment; none: no due date.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sla_days: Option<u32>,
    pub next_action: String,
    /// When a person assigned the owner (or set the first SLA, or the theme was reopened): the
    /// SLA runs from here.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub assigned_at: Option<Micros>,
    /// The due date whose breach has been announced: each due date is announced once.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub breach_announced: Option<Micros>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub resolved_at: Option<Micros>,
    /// The theme's share before its latest rise: the baseline share when a live evaluation
    /// first found it emerging or growing.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pre_incident_share: Option<f64>,
    /// The level a resolved theme's share must fall below to be ready to close: its
    /// pre-incident share, or without an incident its baseline share when it was resolved.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub close_below: Option<f64>,
    /// A live evaluation since the resolution found the theme not rising: a rise after that is
    /// the theme growing again (not the tail of the incident it was resolved in).
    pub settled: bool,
    /// Resolved, and its share is below `close_below`.
    pub ready_to_close: bool,
    /// How many times the theme was reopened.
    pub reopened: u32,
}

/// A change in a theme's loop that webhook consumers hear of.
#[derive(Debug, Clone, PartialEq)]
pub struct ThemeEvent {
    /// [`EVENT_SLA_BREACHED`] or [`EVENT_REOPENED`].
    pub event_type: &'static str,
    /// The theme after the change.
    pub theme: Theme,
    /// Names this occurrence, the same however often it is queued: the theme and the due date
    /// breached, or the theme and how many times it was reopened.
    pub occurrence: String,
    /// When it happened, on the loop's clock.
    pub at: Micros,
}

impl ThemeEvent {
    /// The breach of the theme's due date `due`, found at `at`.
    pub fn sla_breached(theme: Theme, due: Micros, at: Micros) -> ThemeEvent {
        ThemeEvent {
            event_type: EVENT_SLA_BREACHED,
            occurrence: format!("{}_sla_breached_{due}", theme.id),
            theme,
            at,
        }
    }

    /// The theme's latest reopening, at `at`.
    pub fn reopened(theme: Theme, at: Micros) -> ThemeEvent {
        ThemeEvent {
            event_type: EVENT_REOPENED,
            occurrence: format!("{}_reopened_{}", theme.id, theme.accountability.reopened),
            theme,
            at,
        }
    }
}

/// What a live measurement of the theme calls for.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum LoopChange {
    /// A resolved theme grows again: reopened, its SLA restarted.
    Reopened,
    /// A resolved theme fell below its pre-incident level.
    ReadyToClose,
}

/// One live evaluation's measurement of a theme.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Measurement {
    pub class: FrequencyClass,
    pub share: f64,
    pub baseline_share: f64,
}

fn rising(class: Option<FrequencyClass>) -> bool {
    matches!(
        class,
        Some(FrequencyClass::Emerging | FrequencyClass::Growing)
    )
}

impl Accountability {
    /// When the SLA runs out: assignment + SLA days.
    pub fn due(&self) -> Option<Micros> {
        Some(self.assigned_at? + i64::from(self.sla_days?) * DAY)
    }

    /// Past due at `now` and not closed.
    pub fn breached(&self, now: Micros) -> bool {
        !self.status.is_closed() && self.due().is_some_and(|due| now >= due)
    }

    /// The due date to announce as breached at `now`, unless it was announced already. Marks it
    /// announced.
    pub fn announce_breach(&mut self, now: Micros) -> Option<Micros> {
        let due = self.due().filter(|_| self.breached(now))?;
        (self.breach_announced != Some(due)).then(|| {
            self.breach_announced = Some(due);
            due
        })
    }

    /// Applies a person's edit at `now`. `owner_changed` says whether the owner is new; a new
    /// owner (or a first SLA) starts the SLA clock. `measured` is the theme's last measurement
    /// (for the level a resolution must fall below). Returns what changed, in words, for the
    /// theme's history.
    pub fn apply(
        &mut self,
        edit: &AccountabilityEdit,
        owner_changed: bool,
        measured: Option<Measurement>,
        now: Micros,
    ) -> Vec<String> {
        let mut said = Vec::new();
        if owner_changed {
            self.assigned_at = Some(now);
            said.push("owner assigned by a person".to_string());
        }
        if let Some(days) = edit.sla_days {
            self.sla_days = (days > 0).then_some(days);
            if days > 0 && self.assigned_at.is_none() {
                self.assigned_at = Some(now);
            }
            said.push(match days {
                0 => "sla removed".to_string(),
                d => format!("sla set to {d} days"),
            });
        }
        if let Some(next) = &edit.next_action {
            self.next_action = next.clone();
        }
        if let Some(status) = edit.status.filter(|s| *s != self.status) {
            self.status = status;
            self.ready_to_close = false;
            self.settled = false;
            if status == ActionStatus::Resolved {
                self.resolved_at = Some(now);
                self.close_below = self
                    .pre_incident_share
                    .or(measured.map(|m| m.baseline_share));
            } else {
                self.resolved_at = None;
                self.close_below = None;
            }
            said.push(format!("status set to {}", status.as_str()));
        }
        said
    }

    /// Takes a live measurement in: remembers the level before a rise, and for a resolved theme
    /// decides whether it is ready to close or grows again. `previous` is the class measured
    /// before this one.
    pub fn measured(
        &mut self,
        previous: Option<FrequencyClass>,
        now: Measurement,
        at: Micros,
    ) -> Option<LoopChange> {
        let rises = rising(Some(now.class));
        if rises && !rising(previous) {
            self.pre_incident_share = Some(now.baseline_share);
        }
        if self.status != ActionStatus::Resolved {
            return None;
        }
        if rises && self.settled {
            self.status = ActionStatus::Open;
            self.resolved_at = None;
            self.close_below = None;
            self.ready_to_close = false;
            self.settled = false;
            self.assigned_at = Some(at);
            self.reopened += 1;
            return Some(LoopChange::Reopened);
        }
        if !rises {
            self.settled = true;
        }
        let level = *self.close_below.get_or_insert(now.baseline_share);
        let ready = !rises && now.share < level;
        let became_ready = ready && !self.ready_to_close;
        self.ready_to_close = ready;
        became_ready.then_some(LoopChange::ReadyToClose)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const T0: Micros = 1_000 * DAY;

    fn measurement(class: FrequencyClass, share: f64, baseline_share: f64) -> Measurement {
        Measurement {
            class,
            share,
            baseline_share,
        }
    }

    #[test]
    fn the_due_date_is_the_assignment_plus_the_sla_and_each_breach_is_announced_once() {
        let mut loop_ = Accountability::default();
        let edit = AccountabilityEdit {
            owner: Some("mobile".into()),
            sla_days: Some(2),
            ..Default::default()
        };
        loop_.apply(&edit, true, None, T0);
        assert_eq!(loop_.due(), Some(T0 + 2 * DAY));
        assert_eq!(loop_.announce_breach(T0 + 2 * DAY - 1), None);
        assert_eq!(loop_.announce_breach(T0 + 2 * DAY), Some(T0 + 2 * DAY));
        assert_eq!(loop_.announce_breach(T0 + 5 * DAY), None, "announced twice");
        // A new owner restarts the clock: a new due date, a new breach to announce later.
        loop_.apply(&edit, true, None, T0 + 6 * DAY);
        assert_eq!(loop_.due(), Some(T0 + 8 * DAY));
        assert!(!loop_.breached(T0 + 7 * DAY));
        assert_eq!(loop_.announce_breach(T0 + 8 * DAY), Some(T0 + 8 * DAY));
    }

    #[test]
    fn a_closed_theme_is_never_breached_and_an_sla_alone_starts_the_clock() {
        let mut loop_ = Accountability::default();
        let sla = AccountabilityEdit {
            sla_days: Some(1),
            ..Default::default()
        };
        loop_.apply(&sla, false, None, T0);
        assert_eq!(loop_.due(), Some(T0 + DAY));
        let wont_fix = AccountabilityEdit {
            status: Some(ActionStatus::WontFix),
            ..Default::default()
        };
        loop_.apply(&wont_fix, false, None, T0);
        assert!(!loop_.breached(T0 + 3 * DAY));
        assert_eq!(loop_.announce_breach(T0 + 3 * DAY), None);
        let removed = AccountabilityEdit {
            sla_days: Some(0),
            status: Some(ActionStatus::Open),
            ..Default::default()
        };
        loop_.apply(&removed, false, None, T0);
        assert_eq!(loop_.due(), None);
    }

    #[test]
    fn a_resolved_theme_is_ready_to_close_below_its_pre_incident_share_and_reopens_on_a_new_rise() {
        use FrequencyClass::*;
        let mut loop_ = Accountability::default();
        // Persistent at 2%, then a rise from a 2% baseline to 9%.
        assert_eq!(
            loop_.measured(None, measurement(Persistent, 0.02, 0.02), T0),
            None
        );
        loop_.measured(Some(Persistent), measurement(Growing, 0.09, 0.02), T0);
        assert_eq!(loop_.pre_incident_share, Some(0.02));
        // Still growing next time: the level before the rise is kept.
        loop_.measured(Some(Growing), measurement(Growing, 0.12, 0.05), T0);
        assert_eq!(loop_.pre_incident_share, Some(0.02));

        let resolve = AccountabilityEdit {
            status: Some(ActionStatus::Resolved),
            ..Default::default()
        };
        loop_.apply(&resolve, false, None, T0 + DAY);
        assert_eq!(loop_.close_below, Some(0.02));
        // The incident's tail still measures as growing: not a reopening.
        let tail = loop_.measured(Some(Growing), measurement(Growing, 0.08, 0.05), T0 + DAY);
        assert_eq!(tail, None);
        assert_eq!(loop_.status, ActionStatus::Resolved);
        // Falling, but still above 2%: not yet.
        let falling = measurement(Declining, 0.03, 0.08);
        assert_eq!(loop_.measured(Some(Growing), falling, T0 + 2 * DAY), None);
        assert!(!loop_.ready_to_close);
        let below = measurement(Persistent, 0.015, 0.02);
        assert_eq!(
            loop_.measured(Some(Declining), below, T0 + 3 * DAY),
            Some(LoopChange::ReadyToClose)
        );
        assert!(loop_.ready_to_close);
        // Said once.
        assert_eq!(loop_.measured(Some(Persistent), below, T0 + 4 * DAY), None);

        let again = measurement(Emerging, 0.07, 0.015);
        assert_eq!(
            loop_.measured(Some(Persistent), again, T0 + 5 * DAY),
            Some(LoopChange::Reopened)
        );
        assert_eq!(loop_.status, ActionStatus::Open);
        assert!(!loop_.ready_to_close);
        assert_eq!((loop_.reopened, loop_.assigned_at), (1, Some(T0 + 5 * DAY)));
        assert_eq!(loop_.pre_incident_share, Some(0.015));
    }

    #[test]
    fn without_an_incident_a_resolution_closes_below_the_baseline_it_was_resolved_at() {
        let mut loop_ = Accountability::default();
        let resolve = AccountabilityEdit {
            status: Some(ActionStatus::Resolved),
            ..Default::default()
        };
        let last = measurement(FrequencyClass::Persistent, 0.05, 0.04);
        loop_.apply(&resolve, false, Some(last), T0);
        assert_eq!(loop_.close_below, Some(0.04));
        let lower = measurement(FrequencyClass::Declining, 0.03, 0.05);
        assert_eq!(
            loop_.measured(Some(FrequencyClass::Persistent), lower, T0 + DAY),
            Some(LoopChange::ReadyToClose)
        );
    }

    #[test]
    fn statuses_read_their_names() {
        for status in ActionStatus::ALL {
            assert_eq!(ActionStatus::parse(status.as_str()), Some(status));
        }
        assert_eq!(
            ActionStatus::parse("In progress"),
            Some(ActionStatus::InProgress)
        );
        assert_eq!(ActionStatus::parse("won't fix"), None);
        assert_eq!(ActionStatus::parse("wont-fix"), Some(ActionStatus::WontFix));
    }
}
