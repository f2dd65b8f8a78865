//! Synthetic feedback streams with known truth. [`feedback`]: ten steady topics with daily
//! noise, one topic (mobile app crashes) that triples over the last three days, and one day on
//! which every topic's volume doubles. [`reworded_incident`]: the ten steady topics and one
//! problem that customers word five different ways, rare until it spikes for three days.
//! [`unseen_problem`]: the ten steady topics, and on the last day only a problem that cuts across
//! them.

use tideline::proto::alert_service_client::AlertServiceClient;
use tideline::proto::theme_service_client::ThemeServiceClient;
use tideline::proto::{self, NewVerbatim};

use super::TestServer;

pub const DAY_SECS: i64 = 86_400;
/// Days of history; the last one ends at `now`.
pub const DAYS: i64 = 30;
/// The day (0-based) on which all volume doubles.
pub const DOUBLING_DAY: i64 = 20;
/// The topic that triples over the last three days.
pub const TRIPLING_TOPIC: usize = 0;

const TOPICS: [[&str; 4]; 11] = [
    [
        "the mobile app crashes on launch",
        "app keeps crashing after the update",
        "ios app crash when opening reports",
        "android app freezes then crashes",
    ],
    [
        "charged twice on my invoice",
        "invoice amount is wrong again",
        "billing charged my card twice",
        "need a refund for the double charge",
    ],
    [
        "cannot log in with sso",
        "password reset email never arrives",
        "login page loops back to login",
        "two factor code rejected at login",
    ],
    [
        "please add csv export",
        "export to excel would help",
        "need a scheduled export of reports",
        "export button missing for dashboards",
    ],
    [
        "support agent was wonderful",
        "thanks to your support team",
        "great support and a quick answer",
        "the support rep solved it fast",
    ],
    [
        "dashboard takes minutes to load",
        "dashboard widgets load very slowly",
        "dashboard loading spinner forever",
        "slow charts on the analytics dashboard",
    ],
    [
        "salesforce integration stopped syncing",
        "slack integration posts nothing",
        "hubspot sync fails every night",
        "jira integration lost custom fields",
    ],
    [
        "pricing is too expensive for small teams",
        "the new price increase is steep",
        "plan price doubled at renewal",
        "cheaper pricing for startups please",
    ],
    [
        "onboarding tutorial was confusing",
        "setup wizard skipped onboarding steps",
        "hard to invite teammates during onboarding",
        "onboarding guide is outdated",
    ],
    [
        "too many email notifications",
        "notification settings do not save",
        "push notifications arrive late",
        "cannot mute notifications for a project",
    ],
    [
        "search does not find old tickets",
        "search results are irrelevant",
        "search filter by date is broken",
        "global search misses attachments",
    ],
];

/// Per topic and day, how many verbatims (before noise).
pub fn volume(topic: usize, day: i64, base: i64) -> i64 {
    let mut n = base;
    if day == DOUBLING_DAY {
        n *= 2;
    }
    if topic == TRIPLING_TOPIC && day >= DAYS - 3 {
        n *= 3;
    }
    n
}

/// The stream, created over the `DAYS` days ending at `now_secs`, about `base` verbatims per
/// topic and day. Deterministic.
pub fn feedback(now_secs: i64, base: i64) -> Vec<NewVerbatim> {
    let topics: Vec<&[&str]> = TOPICS.iter().map(|t| &t[..]).collect();
    generate(now_secs, &topics, |topic, day| volume(topic, day, base))
}

/// One problem (a refund that never came), worded so that no two wordings share a content word.
pub const REWORDED: [&str; 5] = [
    "still waiting for my refund",
    "where is the money you owe me",
    "reimbursement never showed up on my card",
    "you promised to pay me back weeks ago",
    "credit for my returned order is missing",
];
/// The first of the three days on which the reworded problem spikes.
pub const SPIKE_DAY: i64 = 24;

/// The ten steady topics (all but the crashes) at `base` a day, and [`REWORDED`] at 2 a day
/// except on `SPIKE_DAY` and the two days after it (12 × `base` / 5 a day); every volume
/// doubles on `DOUBLING_DAY`. Over the `DAYS` days ending at `now_secs`. Deterministic.
pub fn reworded_incident(now_secs: i64, base: i64) -> Vec<NewVerbatim> {
    let mut topics: Vec<&[&str]> = TOPICS[1..].iter().map(|t| &t[..]).collect();
    topics.push(&REWORDED);
    let problem = topics.len() - 1;
    generate(now_secs, &topics, |topic, day| {
        let spiking = (SPIKE_DAY..SPIKE_DAY + 3).contains(&day);
        let n = match (topic == problem, spiking) {
            (true, true) => 12 * base / 5,
            (true, false) => 2,
            (false, _) => base,
        };
        if day == DOUBLING_DAY {
            2 * n
        } else {
            n
        }
    })
}

/// A problem no theme is about: a new dark theme breaks pages all over the product, so each
/// wording is close to a different steady topic (export, dashboards, login, notifications) and
/// only "dark theme" is new.
pub const UNSEEN: [&str; 4] = [
    "since the dark theme the csv export button is invisible",
    "the dark theme hides the dashboard charts",
    "login page is unreadable with the dark theme",
    "dark theme makes notification settings impossible to read",
];

/// The ten steady topics at `base` a day over the `DAYS` days ending at `now_secs`, and
/// [`UNSEEN`] at `unseen` verbatims on the last day only. Deterministic.
pub fn unseen_problem(now_secs: i64, base: i64, unseen: i64) -> Vec<NewVerbatim> {
    let mut topics: Vec<&[&str]> = TOPICS[1..].iter().map(|t| &t[..]).collect();
    topics.push(&UNSEEN);
    let problem = topics.len() - 1;
    generate(now_secs, &topics, |topic, day| match topic == problem {
        true if day == DAYS - 1 => unseen,
        true => 0,
        false => base,
    })
}

/// `volume(topic, day)` verbatims (with noise of ±2) per topic and day over the `DAYS` days
/// ending at `now_secs`, each one or two of the topic's phrases.
fn generate(
    now_secs: i64,
    topics: &[&[&str]],
    volume: impl Fn(usize, i64) -> i64,
) -> Vec<NewVerbatim> {
    let mut state = 0x2545_f491_4f6c_dd1du64;
    let mut next = move |bound: u64| {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state % bound
    };
    let start = now_secs - DAYS * DAY_SECS;
    let mut items = Vec::new();
    for day in 0..DAYS {
        for (topic, phrases) in topics.iter().enumerate() {
            let noise = next(5) as i64 - 2;
            for _ in 0..(volume(topic, day) + noise).max(0) {
                let first = phrases[next(phrases.len() as u64) as usize];
                let second = phrases[next(phrases.len() as u64) as usize];
                let text = if first == second {
                    first.to_string()
                } else {
                    format!("{first}. also {second}")
                };
                let at = start + day * DAY_SECS + 1 + next(DAY_SECS as u64 - 2) as i64;
                items.push(NewVerbatim {
                    source: proto::Source::Survey as i32,
                    text,
                    created_at: Some(prost_types::Timestamp {
                        seconds: at,
                        nanos: 0,
                    }),
                    customer_id: format!("cust-{}", next(400)),
                    ..Default::default()
                });
            }
        }
    }
    items
}

/// Ingests the synthetic stream ending now; returns when it is stored.
pub async fn ingest(t: &mut TestServer, now: i64, base: i64) {
    ingest_items(t, feedback(now, base)).await
}

/// Ingests `items`; returns when they are stored.
pub async fn ingest_items(t: &mut TestServer, items: Vec<NewVerbatim>) {
    for chunk in items.chunks(1000) {
        let response = t
            .ingest
            .ingest_verbatims(proto::IngestVerbatimsRequest {
                items: chunk.to_vec(),
                ..Default::default()
            })
            .await
            .unwrap()
            .into_inner();
        assert!(response
            .results
            .iter()
            .all(|r| r.outcome == proto::ItemOutcome::Created as i32));
    }
}

/// Rules for the synthetic stream: a 3-day window against a 14-day baseline.
pub async fn use_short_windows(t: &TestServer) {
    AlertServiceClient::new(t.channel.clone())
        .update_alert_rules(proto::UpdateAlertRulesRequest {
            rules: Some(proto::AlertRules {
                window_seconds: 3 * DAY_SECS as u64,
                baseline_seconds: 14 * DAY_SECS as u64,
                velocity_threshold: 0.3,
                min_mentions: 10,
                significance: 0.01,
                new_share: 0.002,
                cooldown_seconds: 7 * DAY_SECS as u64,
                negative_share_increase: 0.25,
                ..Default::default()
            }),
            ..Default::default()
        })
        .await
        .unwrap();
}

/// Refreshes into 11 themes (the stream's topics); returns the id of the crash theme.
pub async fn refresh(t: &mut TestServer) -> String {
    ThemeServiceClient::new(t.channel.clone())
        .refresh_themes(proto::RefreshThemesRequest {
            k: 11,
            ..Default::default()
        })
        .await
        .unwrap();
    let (_, ids) = t.search("crashes launch").await;
    let hit = t
        .verbatims
        .get_verbatim(proto::GetVerbatimRequest {
            id: ids[0].clone(),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    assert!(!hit.theme_id.is_empty(), "the crash verbatims have a theme");
    hit.theme_id
}
