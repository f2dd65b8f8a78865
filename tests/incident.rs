//! Known truth for "one alert per incident": ten steady topics, and one problem (a refund that
//! never came) that customers word five ways with no content word in common, rare for three
//! weeks, then spiking for three days; on another day every topic's volume doubles. Evaluated
//! day by day (a 1-day window against a 7-day baseline, the default 7-day cooldown) through
//! `AlertService/EvaluateAlerts` on a real server that finds themes by meaning.
//!
//! And a problem heard between refreshes: themes found before it existed, then a day on which
//! customers say something no theme is about: one alert of the emerging-phrase kind, naming it.

mod common;

use common::synthetic::{self, DAYS, DAY_SECS, DOUBLING_DAY, REWORDED, SPIKE_DAY, UNSEEN};
use common::TestServer;
use tideline::proto;

/// The stream ends here (2026-03-01T00:00:00Z).
const NOW: i64 = 1_772_323_200;

#[tokio::test]
async fn a_problem_worded_five_ways_is_one_alert_on_its_first_day_and_the_doubling_day_is_quiet() {
    if !common::embedding_model_present() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let mut t = TestServer::start(dir.path()).await;
    synthetic::ingest_items(&mut t, synthetic::reworded_incident(NOW, 12)).await;
    let refreshed = t.refresh_themes().await;
    assert!(
        refreshed.method.starts_with("meaning: potion-base-8M"),
        "{}",
        refreshed.method
    );

    // Which themes hold the problem's wordings?
    let listed = t.list_themes().await;
    for theme in &listed.themes {
        println!("{} {:?} volume {}", theme.id, theme.label, theme.volume);
    }
    let (_, problem_hits) = t.search("reimbursement").await;
    println!(
        "{} themes, method {:?}; a reimbursement verbatim: {:?}",
        refreshed.themes,
        refreshed.method,
        problem_hits.first()
    );

    let start = NOW - DAYS * DAY_SECS;
    // Where the five wordings went.
    for phrase in REWORDED {
        let (n, ids) = t.search(&format!("\"{phrase}\"")).await;
        let mut themes_of = std::collections::BTreeMap::<String, usize>::new();
        for id in ids.iter().take(50) {
            *themes_of.entry(t.verbatim(id).await.theme_id).or_default() += 1;
        }
        println!("{phrase}: {n} hits, themes {themes_of:?}");
    }
    let backtest = t.daily_backtest(start + 15 * DAY_SECS, NOW, 7).await;
    let day_of = |a: &proto::Alert| (a.window_start.unwrap().seconds - start) / DAY_SECS;
    for alert in &backtest.alerts {
        println!(
            "day {}: {} {:?} themes {:?}, rising {:?}: {} ({:?})",
            day_of(alert),
            alert.theme_id,
            alert.theme_label,
            alert
                .themes
                .iter()
                .map(|t| format!("{} {:?} {}", t.id, t.label, t.mentions))
                .collect::<Vec<_>>(),
            alert.rising_phrases,
            alert.summary,
            alert.quotes.iter().map(|q| &q.text).collect::<Vec<_>>(),
        );
    }
    assert_eq!(
        backtest.alerts.len(),
        1,
        "one incident, one alert: {:#?}",
        backtest.alerts
    );
    let alert = &backtest.alerts[0];
    assert_eq!(day_of(alert), SPIKE_DAY, "raised on the first spike day");
    assert_ne!(day_of(alert), DOUBLING_DAY);
    // It names the problem: its quotes are the problem's words, and so is what it says is rising
    // (the problem may share a theme with a related, steady one).
    assert!(
        alert
            .quotes
            .iter()
            .all(|q| REWORDED.iter().any(|w| q.text.contains(w))),
        "{:?}",
        alert.quotes
    );
    let problem_words: Vec<&str> = REWORDED
        .iter()
        .flat_map(|w| w.split(' '))
        .filter(|w| w.len() > 3)
        .collect();
    let names_the_problem = |text: &str| problem_words.iter().any(|w| text.contains(w));
    assert!(
        !alert.rising_phrases.is_empty()
            && alert.rising_phrases.iter().all(|p| names_the_problem(p)),
        "what is rising: {:?}",
        alert.rising_phrases
    );
    t.stop().await;
}

#[tokio::test]
async fn a_problem_after_the_last_refresh_is_heard_as_an_emerging_phrase() {
    if !common::embedding_model_present() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let mut t = TestServer::start(dir.path()).await;
    let items = synthetic::unseen_problem(NOW, 12, 30);
    let last_day = NOW - DAY_SECS;
    let (before, after): (Vec<_>, Vec<_>) = items
        .into_iter()
        .partition(|v| v.created_at.as_ref().unwrap().seconds <= last_day);
    synthetic::ingest_items(&mut t, before).await;
    t.refresh_themes().await;
    // The last day arrives after the refresh: live assignment puts it in old themes, or none.
    synthetic::ingest_items(&mut t, after).await;

    let backtest = t.daily_backtest(NOW - 3 * DAY_SECS, NOW, 7).await;
    for alert in &backtest.alerts {
        println!(
            "{} rule {} theme {:?} phrase {:?} rising {:?}: {}",
            alert.id,
            alert.rule,
            alert.theme_label,
            alert.phrase,
            alert.rising_phrases,
            alert.summary
        );
    }
    assert_eq!(backtest.alerts.len(), 1, "{:#?}", backtest.alerts);
    let alert = &backtest.alerts[0];
    assert_eq!(alert.rule, proto::AlertRuleKind::EmergingPhrase as i32);
    assert_eq!(
        alert.window_end.unwrap().seconds,
        NOW,
        "raised on the problem's day"
    );
    assert!(alert.theme_id.is_empty() && alert.themes.is_empty());
    let problem_words = ["dark", "theme"];
    assert!(
        alert.phrase.split(' ').all(|w| problem_words.contains(&w)),
        "{:?}",
        alert.phrase
    );
    assert!(alert.mentions >= 10, "{}", alert.mentions);
    assert!(alert
        .quotes
        .iter()
        .all(|q| UNSEEN.iter().any(|w| q.text.contains(w))));
    assert!(
        alert.summary.contains("no theme covers it yet"),
        "{}",
        alert.summary
    );
    t.stop().await;
}
