//! The accountability loop and the digest on the command line: `tideline owners` (who owns which
//! theme, by when, what next), `tideline update-theme` (owner, SLA, status, next action, label),
//! `tideline digest` (the weekly review) and `tideline digest-schedule`. Tables for people,
//! `--json` for scripts; the tables are pure functions of the API messages.

use std::fmt::Write as _;

use serde_json::{json, Value};

use super::report::{class_name, truncate};
use super::{ClientError, ServerArgs};
use crate::proto;
use crate::proto::insights_service_client::InsightsServiceClient;
use crate::proto::theme_service_client::ThemeServiceClient;
use crate::proto::webhook_service_client::WebhookServiceClient;

fn date(t: &Option<prost_types::Timestamp>) -> String {
    t.as_ref().map_or("-".into(), |t| {
        crate::time::format_date(crate::time::from_secs(t.seconds))
    })
}

/// A status as the CLI writes it.
pub fn action_status_name(raw: i32) -> &'static str {
    match proto::ActionStatus::try_from(raw) {
        Ok(proto::ActionStatus::Open) | Ok(proto::ActionStatus::Unspecified) => "open",
        Ok(proto::ActionStatus::Planned) => "planned",
        Ok(proto::ActionStatus::InProgress) => "in_progress",
        Ok(proto::ActionStatus::Resolved) => "resolved",
        Ok(proto::ActionStatus::WontFix) => "wont_fix",
        Err(_) => "?",
    }
}

/// A status to set, as `tideline update-theme --status` reads it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum StatusArg {
    Open,
    Planned,
    InProgress,
    Resolved,
    WontFix,
}

impl StatusArg {
    fn to_proto(self) -> proto::ActionStatus {
        match self {
            StatusArg::Open => proto::ActionStatus::Open,
            StatusArg::Planned => proto::ActionStatus::Planned,
            StatusArg::InProgress => proto::ActionStatus::InProgress,
            StatusArg::Resolved => proto::ActionStatus::Resolved,
            StatusArg::WontFix => proto::ActionStatus::WontFix,
        }
    }
}

/// What `tideline update-theme` changes; what is not given stays.
#[derive(Debug, Clone, clap::Args)]
pub struct UpdateThemeArgs {
    /// The theme, e.g. TH-0003.
    pub id: String,
    /// The owning team (a new owner starts the SLA clock).
    #[arg(long)]
    pub owner: Option<String>,
    /// Days the owner has; 0 removes the SLA.
    #[arg(long)]
    pub sla_days: Option<u32>,
    #[arg(long, value_enum)]
    pub status: Option<StatusArg>,
    /// The next action; "" clears it.
    #[arg(long)]
    pub next_action: Option<String>,
    /// A new label (pinned across refreshes).
    #[arg(long)]
    pub label: Option<String>,
}

/// Where a theme stands in the owners table: breached first, then by due date, then the rest.
fn owners_rank(t: &proto::Theme) -> (u8, i64, String) {
    let due = t.due.as_ref().map_or(i64::MAX, |d| d.seconds);
    let closed = matches!(
        proto::ActionStatus::try_from(t.action_status),
        Ok(proto::ActionStatus::Resolved | proto::ActionStatus::WontFix)
    );
    let group = match (t.sla_breached, t.due.is_some(), closed) {
        (true, _, _) => 0,
        (false, true, false) => 1,
        (false, _, false) => 2,
        (false, _, true) => 3,
    };
    (group, due, t.id.clone())
}

/// The themes in the accountability loop — a person assigned the owner, or set an SLA, a status
/// other than open or a next action — (every theme with `all`), in the owners table's order.
pub fn owned(themes: &[proto::Theme], all: bool) -> Vec<&proto::Theme> {
    let mut owned: Vec<&proto::Theme> = themes
        .iter()
        .filter(|t| {
            all || t.assigned_at.is_some()
                || t.sla_days > 0
                || action_status_name(t.action_status) != "open"
                || !t.next_action.is_empty()
        })
        .collect();
    owned.sort_by_key(|t| owners_rank(t));
    owned
}

pub fn owners_json(themes: &[&proto::Theme]) -> Value {
    let rows: Vec<Value> = themes
        .iter()
        .map(|t| {
            json!({"theme_id": t.id, "label": t.label, "owner": t.owner,
                "status": action_status_name(t.action_status), "sla_days": t.sla_days,
                "assigned_at": t.assigned_at.as_ref().map(|_| date(&t.assigned_at)),
                "due": t.due.as_ref().map(|_| date(&t.due)), "sla_breached": t.sla_breached,
                "next_action": t.next_action, "ready_to_close": t.ready_to_close,
                "reopened": t.reopened, "volume": t.volume,
                "frequency_class": class_name(t.frequency_class)})
        })
        .collect();
    json!({ "themes": rows })
}

/// The owners table: one row per owned theme, overdue first.
pub fn owners(themes: &[&proto::Theme]) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "{:<34} {:<18} {:<11} {:>4} {:<10} {:<8} {:>6}  next action",
        "theme", "owner", "status", "sla", "due", "flag", "volume"
    );
    for t in themes {
        let flag = if t.sla_breached {
            "OVERDUE"
        } else if t.ready_to_close {
            "close?"
        } else if t.reopened > 0 {
            "reopened"
        } else {
            ""
        };
        let _ = writeln!(
            out,
            "{:<34} {:<18} {:<11} {:>4} {:<10} {:<8} {:>6}  {}",
            truncate(&format!("{} {}", t.id, t.label), 34),
            truncate(if t.owner.is_empty() { "-" } else { &t.owner }, 18),
            action_status_name(t.action_status),
            if t.sla_days == 0 {
                "-".to_string()
            } else {
                format!("{}d", t.sla_days)
            },
            date(&t.due),
            flag,
            t.volume,
            truncate(&t.next_action, 60)
        );
    }
    let overdue = themes.iter().filter(|t| t.sla_breached).count();
    let _ = writeln!(out, "{} themes, {overdue} overdue", themes.len());
    out
}

/// `tideline owners`: the accountability table of the active themes (those in the loop, or all).
pub async fn list_owners(server: &ServerArgs, all: bool) -> Result<(), ClientError> {
    let mut client = ThemeServiceClient::new(server.connect().await?);
    let mut themes = Vec::new();
    let mut page_token = String::new();
    loop {
        let page = client
            .list_themes(proto::ListThemesRequest {
                workspace: server.workspace.clone(),
                page_size: 500,
                page_token,
                ..Default::default()
            })
            .await?
            .into_inner();
        themes.extend(page.themes);
        if page.next_page_token.is_empty() {
            break;
        }
        page_token = page.next_page_token;
    }
    let rows = owned(&themes, all);
    if server.json {
        println!("{}", owners_json(&rows));
    } else {
        print!("{}", owners(&rows));
    }
    Ok(())
}

/// `tideline update-theme`: changes a theme's owner, SLA, status, next action or label.
pub async fn update_theme(server: &ServerArgs, args: &UpdateThemeArgs) -> Result<(), ClientError> {
    let theme = ThemeServiceClient::new(server.connect().await?)
        .update_theme(proto::UpdateThemeRequest {
            workspace: server.workspace.clone(),
            id: args.id.clone(),
            label: args.label.clone().unwrap_or_default(),
            owner: args.owner.clone().unwrap_or_default(),
            action_status: args
                .status
                .map_or(proto::ActionStatus::Unspecified, StatusArg::to_proto)
                as i32,
            sla_days: args.sla_days,
            next_action: args.next_action.clone(),
        })
        .await?
        .into_inner();
    if server.json {
        println!("{}", owners_json(&[&theme]));
    } else {
        print!("{}", owners(&[&theme]));
    }
    Ok(())
}

fn change_cell(change: Option<f64>) -> String {
    change.map_or("new".into(), |c| format!("{:+.0}%", c * 100.0))
}

fn metric_label(raw: i32) -> &'static str {
    match proto::Metric::try_from(raw) {
        Ok(proto::Metric::Csat) => "CSAT",
        Ok(proto::Metric::Ces) => "CES",
        _ => "NPS",
    }
}

fn alert_line(a: &proto::Alert) -> String {
    let subject = if a.phrase.is_empty() {
        format!("{} {}", a.theme_id, a.theme_label)
    } else {
        format!("phrase \"{}\"", a.phrase)
    };
    format!(
        "  {} {:<8} {:<40} {}",
        a.id,
        super::report::severity_name(a.severity),
        truncate(&subject, 40),
        truncate(&a.summary, 60)
    )
}

pub fn digest_json(d: &proto::Digest) -> Value {
    let window = |w: &Option<proto::TimeWindow>| {
        let w = w.unwrap_or_default();
        json!({"start": date(&w.start), "end": date(&w.end)})
    };
    let mover = |m: &proto::DigestMover| {
        json!({"theme_id": m.theme_id, "label": m.label, "mentions": m.mentions,
            "previous_mentions": m.previous_mentions, "change": m.change})
    };
    let alert = |a: &proto::Alert| {
        json!({"id": a.id, "severity": super::report::severity_name(a.severity),
            "theme_id": a.theme_id, "theme_label": a.theme_label, "phrase": a.phrase,
            "summary": a.summary})
    };
    json!({
        "window": window(&d.window), "previous_window": window(&d.previous_window),
        "volume": d.volume, "previous_volume": d.previous_volume,
        "new_alerts": d.new_alerts.iter().map(alert).collect::<Vec<_>>(),
        "open_alerts": d.open_alerts.iter().map(alert).collect::<Vec<_>>(),
        "risers": d.risers.iter().map(mover).collect::<Vec<_>>(),
        "fallers": d.fallers.iter().map(mover).collect::<Vec<_>>(),
        "sla_breaches": owners_json(&d.sla_breaches.iter().collect::<Vec<_>>())["themes"],
        "metrics": d.metrics.iter().map(|m| {
            let (now, before) = (m.current.unwrap_or_default(), m.previous.unwrap_or_default());
            json!({"metric": metric_label(now.metric).to_lowercase(), "value": now.value,
                "answers": now.scored, "previous_value": before.value,
                "previous_answers": before.scored, "change": m.change})
        }).collect::<Vec<_>>(),
        "nps_drivers": d.nps_drivers.iter().map(|c| json!({"theme_id": c.theme_id,
            "label": c.label, "impact": c.impact, "low": c.impact_low, "high": c.impact_high,
            "previous_impact": c.previous_impact})).collect::<Vec<_>>(),
    })
}

/// The digest as text: the ritual's agenda, one section each.
pub fn digest(d: &proto::Digest) -> String {
    let mut out = String::new();
    let w = d.window.unwrap_or_default();
    let _ = writeln!(
        out,
        "digest {} to {}: {} verbatims ({} the period before, {})",
        date(&w.start),
        date(&w.end),
        d.volume,
        d.previous_volume,
        change_cell(crate::insights::change(
            d.volume as f64,
            d.previous_volume as f64
        ))
    );
    let _ = writeln!(out, "\nnew alerts ({}):", d.new_alerts.len());
    for a in &d.new_alerts {
        let _ = writeln!(out, "{}", alert_line(a));
    }
    let _ = writeln!(out, "still open from before ({}):", d.open_alerts.len());
    for a in &d.open_alerts {
        let _ = writeln!(out, "{}", alert_line(a));
    }
    for (title, movers) in [("rising", &d.risers), ("falling", &d.fallers)] {
        let _ = writeln!(out, "\n{title}:");
        for m in movers {
            let _ = writeln!(
                out,
                "  {:<40} {:>6} <- {:<6} {}",
                truncate(&format!("{} {}", m.theme_id, m.label), 40),
                m.mentions,
                m.previous_mentions,
                change_cell(m.change)
            );
        }
    }
    let _ = writeln!(out, "\nsla breaches ({}):", d.sla_breaches.len());
    for t in &d.sla_breaches {
        let _ = writeln!(
            out,
            "  {:<40} owner {:<16} due {}  {}",
            truncate(&format!("{} {}", t.id, t.label), 40),
            truncate(&t.owner, 16),
            date(&t.due),
            truncate(&t.next_action, 50)
        );
    }
    let _ = writeln!(out, "\nmetrics:");
    for m in &d.metrics {
        let (now, before) = (
            m.current.unwrap_or_default(),
            m.previous.unwrap_or_default(),
        );
        let _ = writeln!(
            out,
            "  {:<5} {:>7.1} ({} answers)  before {:>7.1} ({})  change {}",
            metric_label(now.metric),
            now.value,
            now.scored,
            before.value,
            before.scored,
            m.change.map_or("-".into(), |c| format!("{c:+.1}"))
        );
    }
    let _ = writeln!(out, "\nthemes taking the most NPS points:");
    for c in &d.nps_drivers {
        let _ = writeln!(
            out,
            "  {:<40} {:>+7.1} [{:+.1}, {:+.1}]  before {}",
            truncate(&format!("{} {}", c.theme_id, c.label), 40),
            c.impact,
            c.impact_low,
            c.impact_high,
            c.previous_impact.map_or("-".into(), |p| format!("{p:+.1}"))
        );
    }
    out
}

/// `tideline digest`: the digest of a window (by default the last `insights.default_window_days`).
pub async fn show_digest(
    server: &ServerArgs,
    scope: &super::cli::ScopeArgs,
) -> Result<(), ClientError> {
    let response = InsightsServiceClient::new(server.connect().await?)
        .get_digest(proto::GetDigestRequest {
            workspace: server.workspace.clone(),
            window: scope.window.window(),
            filter: scope.filter(),
            limit: scope.window.limit,
        })
        .await?
        .into_inner();
    if server.json {
        println!("{}", digest_json(&response));
    } else {
        print!("{}", digest(&response));
    }
    Ok(())
}

/// A digest cadence as `tideline digest-schedule --cadence` reads it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum CadenceArg {
    Off,
    Daily,
    Weekly,
}

/// `tideline digest-schedule`: shows, or with a cadence sets, how often the digest is sent.
pub async fn digest_schedule(
    server: &ServerArgs,
    cadence: Option<CadenceArg>,
) -> Result<(), ClientError> {
    let mut client = WebhookServiceClient::new(server.connect().await?);
    let workspace = server.workspace.clone();
    let schedule = match cadence {
        None => client
            .get_digest_schedule(proto::GetDigestScheduleRequest { workspace })
            .await?
            .into_inner(),
        Some(c) => {
            let cadence = match c {
                CadenceArg::Off => proto::DigestCadence::Off,
                CadenceArg::Daily => proto::DigestCadence::Daily,
                CadenceArg::Weekly => proto::DigestCadence::Weekly,
            } as i32;
            client
                .update_digest_schedule(proto::UpdateDigestScheduleRequest { workspace, cadence })
                .await?
                .into_inner()
        }
    };
    let event = if schedule.event_type.is_empty() {
        "off"
    } else {
        &schedule.event_type
    };
    if server.json {
        println!(
            "{}",
            json!({"event_type": schedule.event_type,
                "last_sent_end": schedule.last_sent_end.as_ref().map(|_| date(&schedule.last_sent_end))})
        );
    } else {
        println!(
            "digest: {event}; last period sent ended {}",
            date(&schedule.last_sent_end)
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn theme(
        id: &str,
        due: Option<i64>,
        breached: bool,
        status: proto::ActionStatus,
    ) -> proto::Theme {
        proto::Theme {
            id: id.into(),
            label: format!("label {id}"),
            owner: "Team".into(),
            due: due.map(|seconds| prost_types::Timestamp { seconds, nanos: 0 }),
            assigned_at: due.map(|_| prost_types::Timestamp::default()),
            sla_days: u32::from(due.is_some()),
            sla_breached: breached,
            action_status: status as i32,
            ..Default::default()
        }
    }

    #[test]
    fn the_table_holds_the_themes_in_the_loop_overdue_first_then_by_due_date() {
        use proto::ActionStatus::*;
        let themes = [
            theme("TH-1", None, false, Open),
            theme("TH-2", Some(300), false, Planned),
            theme("TH-3", Some(200), true, InProgress),
            theme("TH-4", Some(100), false, Resolved),
            theme("TH-5", Some(250), false, Open),
        ];
        let ids = |rows: Vec<&proto::Theme>| rows.iter().map(|t| t.id.clone()).collect::<Vec<_>>();
        // TH-1 has only the owner its product area gave it: not in the loop.
        assert_eq!(ids(owned(&themes, false)), ["TH-3", "TH-5", "TH-2", "TH-4"]);
        assert_eq!(ids(owned(&themes, true)).len(), 5);
        let table = owners(&owned(&themes, false));
        assert!(table.lines().nth(1).unwrap().contains("OVERDUE"), "{table}");
        assert!(table.ends_with("4 themes, 1 overdue\n"), "{table}");
    }
}
