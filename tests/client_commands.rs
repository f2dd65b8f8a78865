//! The human-facing client commands (`tideline tag`, `themes`, `theme`, `alerts`, `search`) as a
//! user runs them: the real binary against a real server, tables for people and JSON for scripts.

mod common;

use common::TestServer;
use tideline::proto;
use tideline::proto::theme_service_client::ThemeServiceClient;

/// Runs the binary against the test server; returns stdout, failing on a non-zero exit.
async fn tideline(t: &TestServer, args: &[&str]) -> String {
    let mut full: Vec<String> = args.iter().map(|a| a.to_string()).collect();
    full.extend([
        "--server".into(),
        format!("http://{}", t.server.local_addr()),
    ]);
    let output = tokio::task::spawn_blocking(move || {
        std::process::Command::new(env!("CARGO_BIN_EXE_tideline"))
            .args(&full)
            .output()
            .unwrap()
    })
    .await
    .unwrap();
    let stdout = String::from_utf8(output.stdout).unwrap();
    assert!(
        output.status.success(),
        "{args:?} failed: {stdout}{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(
        !stdout.chars().any(|c| c.is_control() && c != '\n'),
        "{stdout:?}"
    );
    stdout
}

#[tokio::test]
async fn client_commands_print_tables_and_json() {
    let dir = tempfile::tempdir().unwrap();
    let mut t = TestServer::start(dir.path()).await;
    let texts: Vec<String> = (0..30)
        .map(|i| match i % 2 {
            0 => format!("I was charged twice on invoice {i}, please refund the double charge"),
            _ => format!("the mobile app crashes on launch after update {i}"),
        })
        .collect();
    let refs: Vec<&str> = texts.iter().map(String::as_str).collect();
    t.ingest_texts(&refs).await;
    ThemeServiceClient::new(t.channel.clone())
        .refresh_themes(proto::RefreshThemesRequest {
            k: 2,
            ..Default::default()
        })
        .await
        .unwrap();

    let tagged = tideline(
        &t,
        &["tag", "charged twice, call me at +1 415 555 0100", "--json"],
    )
    .await;
    let tagged: serde_json::Value = serde_json::from_str(&tagged).unwrap();
    assert_eq!(tagged["redacted"][0], "phone");
    assert!(tagged["sentiment"].as_f64().unwrap() < 0.0);
    let table = tideline(&t, &["tag", "charged twice on my invoice"]).await;
    assert!(
        table.contains("sentiment") && table.contains("billing"),
        "{table}"
    );

    let themes = tideline(&t, &["themes", "--json"]).await;
    let themes: serde_json::Value = serde_json::from_str(&themes).unwrap();
    let id = themes[0]["id"].as_str().unwrap().to_string();
    let detail = tideline(&t, &["theme", &id]).await;
    assert!(
        detail.starts_with(&id) && detail.contains("per day"),
        "{detail}"
    );
    let detail: serde_json::Value =
        serde_json::from_str(&tideline(&t, &["theme", &id, "--json"]).await).unwrap();
    assert_eq!(detail["volume"], 15);

    let alerts = tideline(&t, &["alerts"]).await;
    assert_eq!(alerts, "no alerts\n");
    assert_eq!(
        tideline(&t, &["alerts", "--all", "--json"]).await.trim(),
        "[]"
    );
    let found = tideline(&t, &["search", "refund"]).await;
    assert!(found.ends_with("15 matching\n"), "{found}");
    t.stop().await;
}
