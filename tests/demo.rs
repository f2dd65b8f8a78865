//! `tideline demo` through its library entry point on the committed corpus: the mobile-app
//! regression (planted in the last 6 days) must be among the emerging alerts, the billing issue
//! that was fixed must not, and a second run must not import again.

mod common;

use common::TestServer;
use tideline::client::demo::{prepare, render, WORKSPACE};
use tideline::client::import::ProgressStyle;
use tideline::proto;

/// Verbatims in a theme, optionally only those with this ground-truth scenario.
async fn in_theme(t: &TestServer, theme: &str, scenario: Option<&str>) -> u64 {
    let filter = proto::SearchFilter {
        theme_ids: vec![theme.to_string()],
        metadata: common::metadata_pair("scenario", scenario),
        ..Default::default()
    };
    t.count(WORKSPACE, filter).await
}

#[tokio::test]
async fn the_demo_finds_the_mobile_regression_and_not_the_fixed_billing_issue() {
    let dir = tempfile::tempdir().unwrap();
    let t = TestServer::start(dir.path()).await;
    let now = tideline::time::now();
    let scratch = dir.path().join("corpus");
    let report = prepare(t.channel.clone(), &scratch, now, ProgressStyle::Quiet)
        .await
        .unwrap();
    let imported = report.imported.as_ref().expect("the first run imports");
    assert_eq!((imported.read, imported.rejected), (20_000, 0));

    // Clustering may give the regression a theme of its own or fold it into another mobile theme
    // (import order varies): either way most regression verbatims must sit in alerting themes, and
    // no alerting theme may be mostly the fixed billing issue.
    let mut alerted_themes: Vec<&str> = report.alerts.iter().map(|a| a.theme_id.as_str()).collect();
    alerted_themes.dedup();
    let (mut regression_alerted, mut regression_theme) = (0, ("", 0));
    for theme in &alerted_themes {
        let regression = in_theme(&t, theme, Some("mobile_regression")).await;
        regression_alerted += regression;
        if regression > regression_theme.1 {
            regression_theme = (theme, regression);
        }
        let billing = in_theme(&t, theme, Some("billing_fixed")).await;
        let all = in_theme(&t, theme, None).await;
        assert!(
            billing * 2 < all,
            "the fixed billing issue alerted ({billing} of {all} in {theme}): {:#?}",
            report.alerts
        );
    }
    assert!(
        regression_alerted * 2 > 195,
        "only {regression_alerted} of 195 regression verbatims are in alerting themes: {:#?}",
        report.alerts
    );
    let crash = report
        .alerts
        .iter()
        .find(|a| {
            a.theme_id == regression_theme.0 && a.rule == proto::AlertRuleKind::Velocity as i32
        })
        .expect("a velocity alert on the regression's theme");
    let rising = [
        proto::FrequencyClass::Emerging as i32,
        proto::FrequencyClass::Growing as i32,
    ];
    assert!(rising.contains(&crash.frequency_class), "{crash:?}");
    assert!(crash.owner.to_lowercase().contains("mobile"), "{crash:?}");

    let text = render(&report);
    println!("{text}");
    assert!(text.contains("== emerging alerts ==") && text.contains(&crash.id));
    assert!(!text.chars().any(|c| c.is_control() && c != '\n'));

    let again = prepare(t.channel.clone(), &scratch, now, ProgressStyle::Quiet)
        .await
        .unwrap();
    assert!(
        again.imported.is_none(),
        "the second run must not import again"
    );
    t.stop().await;
}

/// Splits a shell command line of plain words and single-quoted words.
fn shell_words(line: &str) -> Vec<String> {
    let mut words = Vec::new();
    let mut rest = line.trim();
    while !rest.is_empty() {
        let (word, after) = match rest.strip_prefix('\'') {
            Some(quoted) => quoted.split_once('\'').unwrap(),
            None => rest.split_once(' ').unwrap_or((rest, "")),
        };
        words.push(word.to_string());
        rest = after.trim_start();
    }
    words
}

#[tokio::test]
async fn the_demo_makes_a_key_and_its_next_steps_work_with_it() {
    let dir = tempfile::tempdir().unwrap();
    // Keys on and no bootstrap key configured: the demo makes one up for itself.
    let mut config = common::test_config(dir.path());
    config.auth.disabled = false;
    let demo = tideline::client::demo::start(config).await.unwrap();
    let key = demo.key.clone().expect("the demo made a key");
    let steps = tideline::client::demo::next_steps(demo.server.local_addr(), Some(&key));
    assert!(steps.contains(&format!("shown once: {key}")), "{steps}");
    assert!(
        steps.contains(&format!("authorization: Bearer {key}")),
        "{steps}"
    );
    let commands: Vec<Vec<String>> = steps
        .lines()
        .filter_map(|l| l.strip_prefix("  tideline "))
        .map(shell_words)
        .collect();
    assert_eq!(commands.len(), 8, "{steps}");
    for words in commands {
        let output = tokio::task::spawn_blocking(move || {
            std::process::Command::new(common::tideline_binary())
                .args(&words)
                .env_remove("TIDELINE_API_KEY")
                .output()
                .unwrap()
        })
        .await
        .unwrap();
        // `theme TH-0001` has no theme to show before the corpus is in: NOT_FOUND, not refused.
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(
            output.status.success() || stderr.contains("not found"),
            "{stderr}"
        );
    }
    // The key is the demo workspace's only.
    let mut search = proto::verbatim_service_client::VerbatimServiceClient::new(
        tideline::client::authorized(common::connect(demo.server.local_addr()).await, Some(&key))
            .unwrap(),
    );
    let elsewhere = search
        .search_verbatims(proto::SearchVerbatimsRequest {
            workspace: "default".into(),
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(elsewhere.code(), tonic::Code::PermissionDenied);
    demo.server.shutdown().await.unwrap();
}
