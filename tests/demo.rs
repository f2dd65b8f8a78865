//! `tideline demo` through its library entry point on the committed corpus: the mobile-app
//! regression (planted in the last 6 days) must be among the emerging alerts, the billing issue
//! that was fixed must not, and a second run must not import again.

mod common;

use common::TestServer;
use tideline::demo::{prepare, render, WORKSPACE};
use tideline::import::ProgressStyle;
use tideline::proto;

/// Of a theme's verbatims, how many carry this ground-truth scenario.
async fn scenario_share(t: &mut TestServer, theme: &str, scenario: &str) -> f64 {
    let count = |metadata: Option<(&str, &str)>| {
        let request = proto::SearchVerbatimsRequest {
            workspace: WORKSPACE.into(),
            filter: Some(proto::SearchFilter {
                theme_ids: vec![theme.to_string()],
                metadata: metadata
                    .map(|(k, v)| [(k.to_string(), v.to_string())].into())
                    .unwrap_or_default(),
                ..Default::default()
            }),
            page_size: 1,
            ..Default::default()
        };
        let mut client = t.verbatims.clone();
        async move {
            client
                .search_verbatims(request)
                .await
                .unwrap()
                .into_inner()
                .total_size
        }
    };
    let all = count(None).await;
    let matching = count(Some(("scenario", scenario))).await;
    matching as f64 / all.max(1) as f64
}

#[tokio::test]
async fn the_demo_finds_the_mobile_regression_and_not_the_fixed_billing_issue() {
    let dir = tempfile::tempdir().unwrap();
    let mut t = TestServer::start(dir.path()).await;
    let now = tideline::engine::now_micros();
    let scratch = dir.path().join("corpus");
    let report = prepare(t.channel.clone(), &scratch, now, ProgressStyle::Quiet)
        .await
        .unwrap();
    let imported = report.imported.as_ref().expect("the first run imports");
    assert_eq!((imported.read, imported.rejected), (20_000, 0));

    let mut mobile = Vec::new();
    let mut billing = Vec::new();
    for alert in &report.alerts {
        if scenario_share(&mut t, &alert.theme_id, "mobile_regression").await > 0.5 {
            mobile.push(alert.clone());
        }
        if scenario_share(&mut t, &alert.theme_id, "billing_fixed").await > 0.5 {
            billing.push(alert.clone());
        }
    }
    assert!(
        !mobile.is_empty(),
        "no alert on the mobile regression: {:#?}",
        report.alerts
    );
    assert!(
        billing.is_empty(),
        "the fixed billing issue alerted: {billing:#?}"
    );
    let crash = &mobile[0];
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
