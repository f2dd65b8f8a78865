//! Who may call what, over real gRPC: a table with a row per RPC of the proto (a new RPC without a
//! row fails `the_table_has_a_row_for_every_rpc`), each tried with no key, wrong keys, a revoked
//! key, a key of another workspace (by field and by header), a key without the scope, and the
//! right key aimed at the other workspace's ids; then revocation, rate and stream limits.

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::str::FromStr;
use std::time::Duration;

use prost::Message;
use tideline::proto;
use tideline::proto::key_service_client::KeyServiceClient;
use tonic::transport::Channel;
use tonic::{Code, Request, Status};

use common::raw::RawCodec;
use common::{item, keyed_config, TestServer};

/// Text that only workspace B's data holds: no answer given to A may contain it.
const MARKER: &str = "zebraquartz";
const A: &str = "alpha";
const B: &str = "bravo";

/// `Service/Method` → (client streaming, server streaming), for every RPC the proto declares.
fn declared_rpcs() -> BTreeMap<String, (bool, bool)> {
    let set = prost_types::FileDescriptorSet::decode(proto::FILE_DESCRIPTOR_SET).unwrap();
    let mut rpcs = BTreeMap::new();
    for file in set.file.iter().filter(|f| f.package() == "tideline.v1") {
        for service in &file.service {
            for method in &service.method {
                rpcs.insert(
                    format!("{}/{}", service.name(), method.name()),
                    (method.client_streaming(), method.server_streaming()),
                );
            }
        }
    }
    rpcs
}

/// Calls `method` with an encoded request; `authorization` is the whole header value.
async fn call(
    channel: &Channel,
    method: &str,
    (client_streaming, server_streaming): (bool, bool),
    body: Vec<u8>,
    authorization: Option<&str>,
    workspace_header: Option<&str>,
) -> Result<Vec<u8>, Status> {
    let mut grpc = tonic::client::Grpc::new(channel.clone());
    grpc.ready()
        .await
        .map_err(|e| Status::unavailable(e.to_string()))?;
    let path = http::uri::PathAndQuery::from_str(&format!("/tideline.v1.{method}")).unwrap();
    let decorate = |metadata: &mut tonic::metadata::MetadataMap| {
        if let Some(value) = authorization {
            metadata.insert("authorization", value.parse().unwrap());
        }
        if let Some(workspace) = workspace_header {
            metadata.insert("x-tideline-workspace", workspace.parse().unwrap());
        }
    };
    match (client_streaming, server_streaming) {
        (false, false) => {
            let mut request = Request::new(body);
            decorate(request.metadata_mut());
            grpc.unary(request, path, RawCodec)
                .await
                .map(|r| r.into_inner())
        }
        (true, false) => {
            let mut request = Request::new(futures::stream::iter(vec![body]));
            decorate(request.metadata_mut());
            grpc.client_streaming(request, path, RawCodec)
                .await
                .map(|r| r.into_inner())
        }
        (false, true) => {
            let mut request = Request::new(body);
            decorate(request.metadata_mut());
            let mut stream = grpc
                .server_streaming(request, path, RawCodec)
                .await?
                .into_inner();
            // Admitted: whatever arrives within a moment is the answer (a watch may send nothing).
            match tokio::time::timeout(Duration::from_millis(300), stream.message()).await {
                Ok(message) => Ok(message?.unwrap_or_default()),
                Err(_) => Ok(Vec::new()),
            }
        }
        (true, true) => unreachable!("no bidirectional rpc"),
    }
}

/// What an RPC needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Need {
    Ingest,
    Read,
    Curate,
    Admin,
}

/// The ids a request is built from: the workspace it names and the objects it points at.
#[derive(Debug, Clone, Default)]
struct Target {
    workspace: String,
    verbatim: String,
    theme: String,
    other_theme: String,
    alert: String,
    webhook: String,
    key: String,
}

struct Row {
    method: &'static str,
    need: Need,
    build: fn(&Target) -> Vec<u8>,
}

fn rows() -> Vec<Row> {
    use proto::*;
    vec![
        Row {
            method: "IngestService/IngestVerbatims",
            need: Need::Ingest,
            build: |t| {
                IngestVerbatimsRequest {
                    workspace: t.workspace.clone(),
                    items: vec![item("an isolation probe about login")],
                    wait_for_index: false,
                }
                .encode_to_vec()
            },
        },
        Row {
            method: "IngestService/StreamVerbatims",
            need: Need::Ingest,
            build: |t| {
                StreamVerbatimsRequest {
                    workspace: t.workspace.clone(),
                    items: vec![item("a streamed isolation probe")],
                }
                .encode_to_vec()
            },
        },
        Row {
            method: "VerbatimService/GetVerbatim",
            need: Need::Read,
            build: |t| {
                GetVerbatimRequest {
                    workspace: t.workspace.clone(),
                    id: t.verbatim.clone(),
                }
                .encode_to_vec()
            },
        },
        Row {
            method: "VerbatimService/SearchVerbatims",
            need: Need::Read,
            build: |t| {
                SearchVerbatimsRequest {
                    workspace: t.workspace.clone(),
                    query: MARKER.into(),
                    page_size: 50,
                    ..Default::default()
                }
                .encode_to_vec()
            },
        },
        Row {
            method: "VerbatimService/DeleteVerbatim",
            need: Need::Curate,
            build: |t| {
                DeleteVerbatimRequest {
                    workspace: t.workspace.clone(),
                    id: t.verbatim.clone(),
                }
                .encode_to_vec()
            },
        },
        Row {
            method: "VerbatimService/UpdateVerbatimTags",
            need: Need::Curate,
            build: |t| {
                UpdateVerbatimTagsRequest {
                    workspace: t.workspace.clone(),
                    id: t.verbatim.clone(),
                    clear: vec!["driver".into()],
                    ..Default::default()
                }
                .encode_to_vec()
            },
        },
        Row {
            method: "TaxonomyService/GetTaxonomy",
            need: Need::Read,
            build: |t| {
                GetTaxonomyRequest {
                    workspace: t.workspace.clone(),
                }
                .encode_to_vec()
            },
        },
        Row {
            method: "TaxonomyService/UpdateTaxonomy",
            need: Need::Admin,
            build: |t| {
                UpdateTaxonomyRequest {
                    workspace: t.workspace.clone(),
                    toml: String::new(),
                }
                .encode_to_vec()
            },
        },
        Row {
            method: "TaxonomyService/TagText",
            need: Need::Read,
            build: |t| {
                TagTextRequest {
                    workspace: t.workspace.clone(),
                    text: "the app crashes at login".into(),
                    ..Default::default()
                }
                .encode_to_vec()
            },
        },
        Row {
            method: "ThemeService/ListThemes",
            need: Need::Read,
            build: |t| {
                ListThemesRequest {
                    workspace: t.workspace.clone(),
                    include_inactive: true,
                    ..Default::default()
                }
                .encode_to_vec()
            },
        },
        Row {
            method: "ThemeService/GetTheme",
            need: Need::Read,
            build: |t| {
                GetThemeRequest {
                    workspace: t.workspace.clone(),
                    id: t.theme.clone(),
                }
                .encode_to_vec()
            },
        },
        Row {
            method: "ThemeService/ListThemeVerbatims",
            need: Need::Read,
            build: |t| {
                ListThemeVerbatimsRequest {
                    workspace: t.workspace.clone(),
                    id: t.theme.clone(),
                    ..Default::default()
                }
                .encode_to_vec()
            },
        },
        Row {
            method: "ThemeService/RefreshThemes",
            need: Need::Curate,
            build: |t| {
                RefreshThemesRequest {
                    workspace: t.workspace.clone(),
                    k: 2,
                }
                .encode_to_vec()
            },
        },
        Row {
            method: "ThemeService/UpdateTheme",
            need: Need::Curate,
            build: |t| {
                UpdateThemeRequest {
                    workspace: t.workspace.clone(),
                    id: t.theme.clone(),
                    label: "relabelled by a probe".into(),
                    ..Default::default()
                }
                .encode_to_vec()
            },
        },
        Row {
            method: "ThemeService/MergeThemes",
            need: Need::Curate,
            build: |t| {
                MergeThemesRequest {
                    workspace: t.workspace.clone(),
                    theme_ids: vec![t.other_theme.clone()],
                    into: t.theme.clone(),
                }
                .encode_to_vec()
            },
        },
        Row {
            method: "ThemeService/GetThemeTrend",
            need: Need::Read,
            build: |t| {
                GetThemeTrendRequest {
                    workspace: t.workspace.clone(),
                    id: t.theme.clone(),
                    ..Default::default()
                }
                .encode_to_vec()
            },
        },
        Row {
            method: "ThemeService/GetTagTrend",
            need: Need::Read,
            build: |t| {
                GetTagTrendRequest {
                    workspace: t.workspace.clone(),
                    dimension: "driver".into(),
                    value: "billing".into(),
                    ..Default::default()
                }
                .encode_to_vec()
            },
        },
        Row {
            method: "AlertService/EvaluateAlerts",
            need: Need::Read,
            build: |t| {
                EvaluateAlertsRequest {
                    workspace: t.workspace.clone(),
                    ..Default::default()
                }
                .encode_to_vec()
            },
        },
        Row {
            method: "AlertService/ListAlerts",
            need: Need::Read,
            build: |t| {
                ListAlertsRequest {
                    workspace: t.workspace.clone(),
                    ..Default::default()
                }
                .encode_to_vec()
            },
        },
        Row {
            method: "AlertService/GetAlert",
            need: Need::Read,
            build: |t| {
                GetAlertRequest {
                    workspace: t.workspace.clone(),
                    id: t.alert.clone(),
                }
                .encode_to_vec()
            },
        },
        Row {
            method: "AlertService/UpdateAlert",
            need: Need::Curate,
            build: |t| {
                UpdateAlertRequest {
                    workspace: t.workspace.clone(),
                    id: t.alert.clone(),
                    note: "probe".into(),
                    ..Default::default()
                }
                .encode_to_vec()
            },
        },
        Row {
            method: "AlertService/WatchAlerts",
            need: Need::Read,
            build: |t| {
                WatchAlertsRequest {
                    workspace: t.workspace.clone(),
                }
                .encode_to_vec()
            },
        },
        Row {
            method: "AlertService/GetAlertRules",
            need: Need::Read,
            build: |t| {
                GetAlertRulesRequest {
                    workspace: t.workspace.clone(),
                }
                .encode_to_vec()
            },
        },
        Row {
            method: "AlertService/UpdateAlertRules",
            need: Need::Admin,
            build: |t| {
                UpdateAlertRulesRequest {
                    workspace: t.workspace.clone(),
                    reset: true,
                    ..Default::default()
                }
                .encode_to_vec()
            },
        },
        Row {
            method: "WebhookService/CreateWebhook",
            need: Need::Admin,
            build: |t| {
                CreateWebhookRequest {
                    workspace: t.workspace.clone(),
                    url: "http://127.0.0.1:9/probe".into(),
                    ..Default::default()
                }
                .encode_to_vec()
            },
        },
        Row {
            method: "WebhookService/ListWebhooks",
            need: Need::Admin,
            build: |t| {
                ListWebhooksRequest {
                    workspace: t.workspace.clone(),
                }
                .encode_to_vec()
            },
        },
        Row {
            method: "WebhookService/DeleteWebhook",
            need: Need::Admin,
            build: |t| {
                DeleteWebhookRequest {
                    workspace: t.workspace.clone(),
                    id: t.webhook.clone(),
                }
                .encode_to_vec()
            },
        },
        Row {
            method: "WebhookService/RotateWebhookSecret",
            need: Need::Admin,
            build: |t| {
                RotateWebhookSecretRequest {
                    workspace: t.workspace.clone(),
                    id: t.webhook.clone(),
                }
                .encode_to_vec()
            },
        },
        Row {
            method: "WebhookService/ListDeliveries",
            need: Need::Admin,
            build: |t| {
                ListDeliveriesRequest {
                    workspace: t.workspace.clone(),
                    webhook_id: t.webhook.clone(),
                    ..Default::default()
                }
                .encode_to_vec()
            },
        },
        Row {
            method: "WebhookService/RedeliverAlert",
            need: Need::Admin,
            build: |t| {
                RedeliverAlertRequest {
                    workspace: t.workspace.clone(),
                    alert_id: t.alert.clone(),
                    webhook_id: t.webhook.clone(),
                }
                .encode_to_vec()
            },
        },
        Row {
            method: "KeyService/CreateKey",
            need: Need::Admin,
            build: |t| {
                CreateKeyRequest {
                    workspace: t.workspace.clone(),
                    scopes: vec![Scope::Read as i32],
                    description: "made by a probe".into(),
                }
                .encode_to_vec()
            },
        },
        Row {
            method: "KeyService/ListKeys",
            need: Need::Admin,
            build: |t| {
                ListKeysRequest {
                    workspace: t.workspace.clone(),
                    include_revoked: true,
                }
                .encode_to_vec()
            },
        },
        Row {
            method: "KeyService/RevokeKey",
            need: Need::Admin,
            build: |t| RevokeKeyRequest { id: t.key.clone() }.encode_to_vec(),
        },
        Row {
            method: "InsightsService/GetMetricDrivers",
            need: Need::Read,
            build: |t| {
                GetMetricDriversRequest {
                    workspace: t.workspace.clone(),
                    filter: Some(theme_filter(&t.theme)),
                    ..Default::default()
                }
                .encode_to_vec()
            },
        },
        Row {
            method: "InsightsService/GetThemeSpotlight",
            need: Need::Read,
            build: |t| {
                GetThemeSpotlightRequest {
                    workspace: t.workspace.clone(),
                    filter: Some(theme_filter(&t.theme)),
                    ..Default::default()
                }
                .encode_to_vec()
            },
        },
        Row {
            method: "InsightsService/GetSentimentSummary",
            need: Need::Read,
            build: |t| {
                GetSentimentSummaryRequest {
                    workspace: t.workspace.clone(),
                    filter: Some(theme_filter(&t.theme)),
                    segment_key: "plan".into(),
                    ..Default::default()
                }
                .encode_to_vec()
            },
        },
        Row {
            method: "InsightsService/GetJourneyHealth",
            need: Need::Read,
            build: |t| {
                GetJourneyHealthRequest {
                    workspace: t.workspace.clone(),
                    filter: Some(theme_filter(&t.theme)),
                    ..Default::default()
                }
                .encode_to_vec()
            },
        },
        Row {
            method: "InsightsService/CompareSegments",
            need: Need::Read,
            build: |t| {
                CompareSegmentsRequest {
                    workspace: t.workspace.clone(),
                    a: Some(theme_filter(&t.theme)),
                    b: Some(theme_filter(&t.other_theme)),
                    ..Default::default()
                }
                .encode_to_vec()
            },
        },
        Row {
            method: "InsightsService/GetDigest",
            need: Need::Read,
            build: |t| {
                GetDigestRequest {
                    workspace: t.workspace.clone(),
                    ..Default::default()
                }
                .encode_to_vec()
            },
        },
        Row {
            method: "WebhookService/GetDigestSchedule",
            need: Need::Admin,
            build: |t| {
                GetDigestScheduleRequest {
                    workspace: t.workspace.clone(),
                }
                .encode_to_vec()
            },
        },
        Row {
            method: "WebhookService/UpdateDigestSchedule",
            need: Need::Admin,
            build: |t| {
                UpdateDigestScheduleRequest {
                    workspace: t.workspace.clone(),
                    cadence: DigestCadence::Daily as i32,
                }
                .encode_to_vec()
            },
        },
        Row {
            method: "AuditService/ListAuditEvents",
            need: Need::Admin,
            build: |t| {
                ListAuditEventsRequest {
                    workspace: t.workspace.clone(),
                    ..Default::default()
                }
                .encode_to_vec()
            },
        },
    ]
}

/// A search filter on one theme.
fn theme_filter(theme: &str) -> proto::SearchFilter {
    proto::SearchFilter {
        theme_ids: vec![theme.to_string()],
        ..Default::default()
    }
}

#[test]
fn the_table_has_a_row_for_every_rpc() {
    let declared: BTreeSet<String> = declared_rpcs().into_keys().collect();
    let table: BTreeSet<String> = rows().iter().map(|r| r.method.to_string()).collect();
    let missing: Vec<_> = declared.difference(&table).collect();
    let stale: Vec<_> = table.difference(&declared).collect();
    assert!(
        missing.is_empty() && stale.is_empty(),
        "rpcs without a row: {missing:?}; rows without an rpc: {stale:?}"
    );
    assert_eq!(table.len(), rows().len(), "one row per rpc");
}

/// Creates a key with the admin connection; returns (id, key text).
async fn create_key(t: &TestServer, workspace: &str, scopes: &[proto::Scope]) -> (String, String) {
    let created = KeyServiceClient::new(t.channel.clone())
        .create_key(proto::CreateKeyRequest {
            workspace: workspace.into(),
            scopes: scopes.iter().map(|&s| s as i32).collect(),
            description: "isolation test".into(),
        })
        .await
        .unwrap()
        .into_inner();
    (created.key.unwrap().id, created.secret)
}

async fn ingest(t: &TestServer, workspace: &str, texts: Vec<String>) -> Vec<String> {
    let mut client = t.ingest.clone();
    client
        .ingest_verbatims(proto::IngestVerbatimsRequest {
            workspace: workspace.into(),
            items: texts.iter().map(|x| item(x)).collect(),
            wait_for_index: true,
        })
        .await
        .unwrap()
        .into_inner()
        .results
        .into_iter()
        .map(|r| r.id)
        .collect()
}

/// Two workspaces with verbatims, themes and (in B) a webhook; returns B's ids.
async fn two_workspaces(t: &TestServer) -> Target {
    use proto::theme_service_client::ThemeServiceClient;
    use proto::webhook_service_client::WebhookServiceClient;
    let topics = [
        "was charged twice and the refund never came",
        "the app crashes every time I log in",
    ];
    let texts = |prefix: &str| -> Vec<String> {
        (0..40)
            .map(|i| format!("{prefix} {} (case {i})", topics[i % 2]))
            .collect()
    };
    ingest(t, A, texts("alas")).await;
    let b_ids = ingest(t, B, texts(MARKER)).await;
    let mut themes = ThemeServiceClient::new(t.channel.clone());
    for workspace in [A, B] {
        themes
            .refresh_themes(proto::RefreshThemesRequest {
                workspace: workspace.into(),
                k: 2,
            })
            .await
            .unwrap();
    }
    let b_themes = themes
        .list_themes(proto::ListThemesRequest {
            workspace: B.into(),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner()
        .themes;
    assert!(b_themes.len() >= 2, "{b_themes:?}");
    themes
        .update_theme(proto::UpdateThemeRequest {
            workspace: B.into(),
            id: b_themes[0].id.clone(),
            label: format!("{MARKER} label"),
            ..Default::default()
        })
        .await
        .unwrap();
    let webhook = WebhookServiceClient::new(t.channel.clone())
        .create_webhook(proto::CreateWebhookRequest {
            workspace: B.into(),
            url: format!("http://127.0.0.1:9/{MARKER}"),
            description: format!("{MARKER} hook"),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner()
        .webhook
        .unwrap()
        .id;
    Target {
        workspace: B.into(),
        verbatim: b_ids[0].clone(),
        theme: b_themes[0].id.clone(),
        other_theme: b_themes[1].id.clone(),
        alert: "AL-0001".into(),
        webhook,
        key: String::new(),
    }
}

/// What B holds that A's calls must not have changed: its verbatims, its theme label, its hook.
async fn b_state(t: &TestServer) -> (u64, String, usize) {
    use proto::theme_service_client::ThemeServiceClient;
    use proto::webhook_service_client::WebhookServiceClient;
    let count = t.count(B, proto::SearchFilter::default()).await;
    let labels = ThemeServiceClient::new(t.channel.clone())
        .list_themes(proto::ListThemesRequest {
            workspace: B.into(),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner()
        .themes
        .iter()
        .map(|th| th.label.clone())
        .collect::<Vec<_>>()
        .join("|");
    let hooks = WebhookServiceClient::new(t.channel.clone())
        .list_webhooks(proto::ListWebhooksRequest {
            workspace: B.into(),
        })
        .await
        .unwrap()
        .into_inner()
        .webhooks
        .len();
    (count, labels, hooks)
}

/// One way of calling an RPC and the status it must get.
struct Probe<'a> {
    case: &'static str,
    authorization: Option<String>,
    target: &'a Target,
    header: Option<&'static str>,
    expected: Code,
}

#[tokio::test]
async fn every_rpc_refuses_what_its_key_may_not_do() {
    let dir = tempfile::tempdir().unwrap();
    let mut config = keyed_config(dir.path());
    config.webhooks.allow_private_urls = true;
    let t = TestServer::start_with(config).await;
    let b = two_workspaces(&t).await;
    let before = b_state(&t).await;

    use proto::Scope::*;
    let (all_id, all) = create_key(&t, A, &[Ingest, Read, Curate]).await;
    let (_, ingest_only) = create_key(&t, A, &[Ingest]).await;
    let (_, read_only) = create_key(&t, A, &[Read]).await;
    let (_, ingest_read) = create_key(&t, A, &[Ingest, Read]).await;
    let (_, admin) = create_key(&t, "", &[Admin]).await;
    let (revoked_id, revoked) = create_key(&t, A, &[Ingest, Read, Curate]).await;
    KeyServiceClient::new(t.channel.clone())
        .revoke_key(proto::RevokeKeyRequest { id: revoked_id })
        .await
        .unwrap();
    let (spare_id, _) = create_key(&t, A, &[Read]).await;

    let channel = common::connect(t.server.local_addr()).await;
    let declared = declared_rpcs();
    let long_garbage = format!("Bearer {}", "x".repeat(7 * 1024));
    let bearer = |key: &str| format!("Bearer {key}");
    // B's ids, aimed at B by field, at B by header (empty field), and at A by field.
    let at_b = Target {
        key: spare_id.clone(),
        ..b.clone()
    };
    let at_b_by_header = Target {
        workspace: String::new(),
        ..at_b.clone()
    };
    let at_a = Target {
        workspace: A.into(),
        ..at_b.clone()
    };

    let mut failures = Vec::new();
    let mut cases = 0;
    for row in rows() {
        let kind = declared[row.method];
        let lacking = match row.need {
            Need::Ingest => &read_only,
            Need::Read => &ingest_only,
            Need::Curate => &ingest_read,
            Need::Admin => &all,
        };
        let holding = if row.need == Need::Admin {
            &admin
        } else {
            &all
        };
        let probes = [
            Probe {
                case: "no key",
                authorization: None,
                target: &at_a,
                header: None,
                expected: Code::Unauthenticated,
            },
            Probe {
                case: "a wrong key",
                authorization: Some("Bearer definitely-wrong".into()),
                target: &at_a,
                header: None,
                expected: Code::Unauthenticated,
            },
            Probe {
                case: "7 KB of garbage",
                authorization: Some(long_garbage.clone()),
                target: &at_a,
                header: None,
                expected: Code::Unauthenticated,
            },
            Probe {
                case: "a revoked key",
                authorization: Some(bearer(&revoked)),
                target: &at_a,
                header: None,
                expected: Code::Unauthenticated,
            },
            Probe {
                case: "a key of A naming B",
                authorization: Some(bearer(&all)),
                target: &at_b,
                header: None,
                expected: Code::PermissionDenied,
            },
            Probe {
                case: "a key of A naming B by header",
                authorization: Some(bearer(&all)),
                target: &at_b_by_header,
                header: Some(B),
                expected: Code::PermissionDenied,
            },
            Probe {
                case: "a key of A without the scope",
                authorization: Some(bearer(lacking)),
                target: &at_a,
                header: None,
                expected: Code::PermissionDenied,
            },
        ];
        for Probe {
            case,
            authorization,
            target,
            header,
            expected,
        } in probes
        {
            cases += 1;
            let outcome = call(
                &channel,
                row.method,
                kind,
                (row.build)(target),
                authorization.as_deref(),
                header,
            )
            .await;
            match outcome {
                Err(status) if status.code() == expected => {}
                other => failures.push(format!(
                    "{} with {case}: expected {expected:?}, got {:?}",
                    row.method,
                    other
                        .map(|_| "OK")
                        .map_err(|s| (s.code(), s.message().to_string()))
                )),
            }
        }
        // The right key in its own workspace, pointed at B's ids: admitted, and nothing of B's
        // in the answer.
        cases += 1;
        let outcome = call(
            &channel,
            row.method,
            kind,
            (row.build)(&at_a),
            Some(&bearer(holding)),
            None,
        )
        .await;
        match outcome {
            Err(status)
                if matches!(
                    status.code(),
                    Code::Unauthenticated | Code::PermissionDenied
                ) =>
            {
                failures.push(format!(
                    "{} with the right key was refused: {status:?}",
                    row.method
                ))
            }
            Err(status) if status.message().contains(MARKER) => {
                failures.push(format!("{} told A about B: {status:?}", row.method))
            }
            Ok(bytes) if String::from_utf8_lossy(&bytes).contains(MARKER) => {
                failures.push(format!("{} answered A with B's data", row.method))
            }
            _ => {}
        }
    }
    println!(
        "isolation table: {} rpcs x 8 cases = {cases} calls, {} failures",
        rows().len(),
        failures.len()
    );
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    assert_eq!(b_state(&t).await, before, "A's calls changed B");

    // The audit log holds what A's keys did in A, and nothing refused.
    let audit = |workspace: &str| {
        let mut client = proto::audit_service_client::AuditServiceClient::new(t.channel.clone());
        let request = proto::ListAuditEventsRequest {
            workspace: workspace.into(),
            page_size: 1000,
            ..Default::default()
        };
        async move {
            client
                .list_audit_events(request)
                .await
                .unwrap()
                .into_inner()
                .events
        }
    };
    let in_b = audit(B).await;
    assert!(in_b.iter().all(|e| e.key_id == "bootstrap"), "{in_b:?}");
    let in_a = audit(A).await;
    assert!(
        in_a.iter()
            .any(|e| e.rpc == "ThemeService/RefreshThemes" && e.key_id == all_id),
        "{in_a:?}"
    );
    assert!(!format!("{in_a:?}{in_b:?}").contains(MARKER));

    // Health and reflection need no key: tests/grpc_surface.rs calls them without one.
    t.stop().await;
}

#[tokio::test]
async fn a_revoked_key_fails_on_its_next_call_and_keys_survive_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let t = TestServer::start_with(keyed_config(dir.path())).await;
    let (id, key) = create_key(&t, A, &[proto::Scope::Read]).await;
    let channel = common::connect(t.server.local_addr()).await;
    let authorization = format!("Bearer {key}");
    let search = || {
        call(
            &channel,
            "VerbatimService/SearchVerbatims",
            (false, false),
            proto::SearchVerbatimsRequest::default().encode_to_vec(),
            Some(&authorization),
            None,
        )
    };
    search().await.expect("a fresh key works");
    KeyServiceClient::new(t.channel.clone())
        .revoke_key(proto::RevokeKeyRequest { id: id.clone() })
        .await
        .unwrap();
    let refused = search().await.unwrap_err();
    assert_eq!(refused.code(), Code::Unauthenticated, "{refused:?}");
    t.stop().await;

    // After a restart the revocation holds and other keys still work.
    let t = TestServer::start_with(keyed_config(dir.path())).await;
    let channel = common::connect(t.server.local_addr()).await;
    let (_, fresh) = create_key(&t, A, &[proto::Scope::Read]).await;
    for (key, expected) in [
        (key.as_str(), Some(Code::Unauthenticated)),
        (fresh.as_str(), None),
    ] {
        let outcome = call(
            &channel,
            "VerbatimService/SearchVerbatims",
            (false, false),
            proto::SearchVerbatimsRequest::default().encode_to_vec(),
            Some(&format!("Bearer {key}")),
            None,
        )
        .await;
        assert_eq!(outcome.err().map(|s| s.code()), expected);
    }
    let listed = KeyServiceClient::new(t.channel.clone())
        .list_keys(proto::ListKeysRequest {
            workspace: A.into(),
            include_revoked: true,
        })
        .await
        .unwrap()
        .into_inner()
        .keys;
    let revoked = listed.iter().find(|k| k.id == id).unwrap();
    assert!(revoked.revoked_at.is_some());
    t.stop().await;
}

#[tokio::test]
async fn a_key_over_its_rate_gets_resource_exhausted_with_retry_information() {
    let dir = tempfile::tempdir().unwrap();
    let mut config = keyed_config(dir.path());
    config.auth.requests_per_second = 2;
    config.auth.burst = 5;
    let t = TestServer::start_with(config).await;
    let (_, busy) = create_key(&t, A, &[proto::Scope::Read]).await;
    let (_, calm) = create_key(&t, A, &[proto::Scope::Read]).await;
    let channel = common::connect(t.server.local_addr()).await;
    let search = |key: String| {
        let channel = channel.clone();
        async move {
            call(
                &channel,
                "VerbatimService/SearchVerbatims",
                (false, false),
                proto::SearchVerbatimsRequest::default().encode_to_vec(),
                Some(&format!("Bearer {key}")),
                None,
            )
            .await
        }
    };
    let mut refused = None;
    for _ in 0..20 {
        if let Err(status) = search(busy.clone()).await {
            refused = Some(status);
            break;
        }
    }
    let refused = refused.expect("20 calls at once exceed a burst of 5");
    assert_eq!(refused.code(), Code::ResourceExhausted, "{refused:?}");
    assert!(refused.message().contains("rate limit"), "{refused:?}");
    let pushback: u64 = refused
        .metadata()
        .get("grpc-retry-pushback-ms")
        .expect("retry pushback")
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!(pushback > 0 && pushback <= 1000, "{pushback}");
    // The limit is the key's, not the server's.
    search(calm.clone())
        .await
        .expect("another key is not limited");
    // After the pushback the key works again.
    tokio::time::sleep(Duration::from_millis(pushback + 50)).await;
    search(busy)
        .await
        .expect("the key works again after waiting");
    t.stop().await;
}

#[tokio::test]
async fn a_key_holds_at_most_its_streams() {
    let dir = tempfile::tempdir().unwrap();
    let mut config = keyed_config(dir.path());
    config.auth.max_streams = 2;
    let t = TestServer::start_with(config).await;
    let (_, key) = create_key(&t, A, &[proto::Scope::Read]).await;
    let channel = common::connect(t.server.local_addr()).await;
    let watch = || {
        let mut client = proto::alert_service_client::AlertServiceClient::new(
            tideline::client::authorized(channel.clone(), Some(&key)).unwrap(),
        );
        async move {
            client
                .watch_alerts(proto::WatchAlertsRequest {
                    workspace: A.into(),
                })
                .await
        }
    };
    let first = watch().await.expect("first stream");
    let _second = watch().await.expect("second stream");
    let third = watch().await.unwrap_err();
    assert_eq!(third.code(), Code::ResourceExhausted, "{third:?}");
    assert!(third.message().contains("streams"), "{third:?}");
    drop(first);
    // The server notices the closed stream when it next polls it; give it a moment.
    let mut reopened = None;
    for _ in 0..50 {
        if let Ok(stream) = watch().await {
            reopened = Some(stream);
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(reopened.is_some(), "a closed stream frees its place");
    t.stop().await;
}

#[tokio::test]
async fn the_server_ends_calls_at_the_clients_deadline() {
    let dir = tempfile::tempdir().unwrap();
    let t = TestServer::start_with(keyed_config(dir.path())).await;
    let (_, key) = create_key(&t, A, &[proto::Scope::Read]).await;
    // The channel has no timeout of its own: only the server can end these calls.
    let connection =
        tideline::client::authorized(common::connect(t.server.local_addr()).await, Some(&key))
            .unwrap();
    let mut alerts = proto::alert_service_client::AlertServiceClient::new(connection);
    let mut request = Request::new(proto::WatchAlertsRequest {
        workspace: A.into(),
    });
    request.set_timeout(Duration::from_millis(300));
    let mut stream = alerts.watch_alerts(request).await.unwrap().into_inner();
    let ended = tokio::time::timeout(Duration::from_secs(60), stream.message())
        .await
        .expect("the server ended the watch at its deadline");
    let status = ended.unwrap_err();
    assert_eq!(status.code(), Code::DeadlineExceeded, "{status:?}");
    t.stop().await;
}
