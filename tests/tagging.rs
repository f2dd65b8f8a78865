//! Tagging over real gRPC: tags on every verbatim, PII redaction before storage, client and
//! person tags, tag filters and facets, TagText, and taxonomy updates with background re-tagging.

mod common;

use common::{item, TestServer};
use tideline::proto::taxonomy_service_client::TaxonomyServiceClient;
use tideline::proto::{
    self, GivenTags, IngestVerbatimsRequest, SearchFilter, SearchVerbatimsRequest,
};

fn walk_files(dir: &std::path::Path, out: &mut Vec<std::path::PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap().flatten() {
        let path = entry.path();
        if path.is_dir() {
            walk_files(&path, out);
        } else {
            out.push(path);
        }
    }
}

/// Whether any file under `dir` contains `needle`.
fn any_file_contains(dir: &std::path::Path, needle: &[u8]) -> bool {
    let mut files = Vec::new();
    walk_files(dir, &mut files);
    files.iter().any(|f| {
        std::fs::read(f)
            .unwrap()
            .windows(needle.len())
            .any(|w| w == needle)
    })
}

#[tokio::test]
async fn redacted_pii_never_reaches_sled_or_tantivy() {
    let dir = tempfile::tempdir().unwrap();
    let mut t = TestServer::start(dir.path()).await;
    let text = "Refund to card 4111 1111 1111 1111 please, reach me at jane.doe+cx@example.org or +44 20 7946 0958, IBAN GB82 WEST 1234 5698 7654 32, from 203.0.113.77";
    let ids = t.ingest_texts(&[text]).await;
    let stored = t
        .verbatims
        .get_verbatim(proto::GetVerbatimRequest {
            id: ids[0].clone(),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    for placeholder in ["[CARD]", "[EMAIL]", "[PHONE]", "[IBAN]", "[IP]"] {
        assert!(
            stored.text.contains(placeholder),
            "{placeholder} missing in {}",
            stored.text
        );
    }
    assert_eq!(t.search("jane").await.0, 0);
    assert_eq!(t.search("refund").await.0, 1);
    t.stop().await;
    for secret in ["jane.doe", "4111 1111", "7946 0958", "GB82", "203.0.113.77"] {
        assert!(
            !any_file_contains(dir.path(), secret.as_bytes()),
            "{secret} was written to disk"
        );
    }
}

#[tokio::test]
async fn every_verbatim_arrives_tagged_and_client_tags_win() {
    let dir = tempfile::tempdir().unwrap();
    let mut t = TestServer::start(dir.path()).await;
    let mut given = item("The API returns 500 errors and I was charged twice on my invoice");
    given.tags = Some(GivenTags {
        product_areas: vec!["api".into()],
        ..Default::default()
    });
    let ids = t
        .ingest_items(vec![
            item("I was charged twice on my invoice this month"),
            given,
        ])
        .await;

    let get = |id: &String| {
        let mut client = t.verbatims.clone();
        let id = id.clone();
        async move {
            client
                .get_verbatim(proto::GetVerbatimRequest {
                    id,
                    ..Default::default()
                })
                .await
                .unwrap()
                .into_inner()
        }
    };
    let tags = get(&ids[0]).await.tags.unwrap();
    let area = &tags.product_areas[0];
    assert_eq!(area.value, "billing");
    assert_eq!(area.origin, proto::TagOrigin::Rule as i32);
    assert!(
        area.evidence
            .iter()
            .any(|e| e.term.to_lowercase().contains("invoice")),
        "{area:?}"
    );
    let severity = tags.severity.unwrap();
    assert_eq!(severity.value, "critical");
    assert!(
        severity.reason.contains("double_charge"),
        "{}",
        severity.reason
    );
    let sentiment = tags.sentiment.unwrap();
    assert_eq!(sentiment.label, proto::SentimentLabel::Negative as i32);
    assert!((-1.0..=1.0).contains(&sentiment.score));

    let tags = get(&ids[1]).await.tags.unwrap();
    assert_eq!(tags.product_areas.len(), 1);
    assert_eq!(
        (
            tags.product_areas[0].value.as_str(),
            tags.product_areas[0].origin
        ),
        ("api", proto::TagOrigin::Client as i32)
    );

    // A tag the taxonomy does not know is a per-item error.
    let mut unknown = item("whatever");
    unknown.tags = Some(GivenTags {
        product_areas: vec!["teleportation".into()],
        ..Default::default()
    });
    let response = t
        .ingest
        .ingest_verbatims(IngestVerbatimsRequest {
            items: vec![unknown, item("fine")],
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    let error = response.results[0].error.as_ref().unwrap();
    assert_eq!(error.field, "tags.product_areas[0]");
    assert_eq!(
        response.results[1].outcome,
        proto::ItemOutcome::Created as i32
    );
    t.stop().await;
}

#[tokio::test]
async fn search_filters_and_facets_cover_every_tag_dimension() {
    let dir = tempfile::tempdir().unwrap();
    let mut t = TestServer::start(dir.path()).await;
    t.ingest_texts(&[
        "I was charged twice on my invoice",
        "the invoice pdf is great, thanks",
        "the mobile app crashes on my iphone",
        "love the dashboard charts",
    ])
    .await;
    let search = |filter: SearchFilter| {
        let mut client = t.verbatims.clone();
        async move {
            client
                .search_verbatims(SearchVerbatimsRequest {
                    filter: Some(filter),
                    page_size: 10,
                    ..Default::default()
                })
                .await
                .unwrap()
                .into_inner()
        }
    };
    let billing = search(SearchFilter {
        product_areas: vec!["billing".into()],
        ..Default::default()
    })
    .await;
    assert_eq!(billing.total_size, 2);
    let critical_billing = search(SearchFilter {
        product_areas: vec!["billing".into()],
        severities: vec![proto::Severity::Critical as i32],
        ..Default::default()
    })
    .await;
    assert_eq!(critical_billing.total_size, 1);
    let positive = search(SearchFilter {
        sentiments: vec![proto::SentimentLabel::Positive as i32],
        ..Default::default()
    })
    .await;
    assert_eq!(positive.total_size, 2);

    let all = search(SearchFilter::default()).await;
    let dimensions: Vec<&str> = all
        .tag_facets
        .iter()
        .map(|f| f.dimension.as_str())
        .collect();
    assert_eq!(
        dimensions,
        [
            "journey_stage",
            "driver",
            "product_area",
            "severity",
            "sentiment",
            "theme"
        ]
    );
    let areas = &all.tag_facets[2].counts;
    assert_eq!(
        areas.iter().find(|c| c.value == "billing").map(|c| c.count),
        Some(2)
    );
    let sentiment_total: u64 = all.tag_facets[4].counts.iter().map(|c| c.count).sum();
    assert_eq!(sentiment_total, 4);
    t.stop().await;
}

#[tokio::test]
async fn tag_text_tags_without_storing() {
    let dir = tempfile::tempdir().unwrap();
    let mut t = TestServer::start(dir.path()).await;
    let mut taxonomy = TaxonomyServiceClient::new(t.channel.clone());
    let response = taxonomy
        .tag_text(proto::TagTextRequest {
            text: "still waiting on my refund, email me at a.b@example.com".into(),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    assert!(response.text.contains("[EMAIL]"));
    assert_eq!(response.redacted, ["email"]);
    let tags = response.tags.unwrap();
    assert_eq!(
        tags.sentiment.unwrap().label,
        proto::SentimentLabel::Negative as i32
    );
    assert_eq!(t.search("").await.0, 0);
    let err = taxonomy
        .tag_text(proto::TagTextRequest {
            text: "  ".into(),
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(err.code(), tonic::Code::InvalidArgument);
    assert!(err.message().starts_with("text"));
    t.stop().await;
}

const TWO_AREAS: &str = r#"
name = "two areas"
[[category]]
dimension = "product_area"
id = "checkout"
name = "Checkout"
owner = "Payments"
include = ["checkout", "pay", "invoice"]
[[category]]
dimension = "product_area"
id = "search"
name = "Search"
owner = "Discovery"
include = ["search", "find"]
"#;

#[tokio::test]
async fn taxonomy_updates_are_validated_versioned_and_retag_in_the_background() {
    let dir = tempfile::tempdir().unwrap();
    let mut t = TestServer::start(dir.path()).await;
    let mut taxonomy = TaxonomyServiceClient::new(t.channel.clone());
    let ids = t
        .ingest_texts(&[
            "cannot find anything with search",
            "the invoice is wrong",
            "hello there",
        ])
        .await;
    let initial = taxonomy
        .get_taxonomy(proto::GetTaxonomyRequest::default())
        .await
        .unwrap()
        .into_inner();
    assert_eq!(initial.version, 0);
    assert_eq!(initial.categories.len(), 20);

    // A person corrects the third verbatim; the correction must survive re-tagging.
    t.verbatims
        .update_verbatim_tags(proto::UpdateVerbatimTagsRequest {
            id: ids[2].clone(),
            tags: Some(GivenTags {
                product_areas: vec!["reporting".into()],
                ..Default::default()
            }),
            ..Default::default()
        })
        .await
        .unwrap();

    // Refused whole, naming the entry; the old taxonomy stays in force.
    let duplicate = format!("{TWO_AREAS}\n[[category]]\ndimension = \"product_area\"\nid = \"search\"\nname = \"Again\"\ninclude = [\"x\"]\n");
    for (bad, needle) in [
        (duplicate, "category[2] (product_area.search): duplicate id"),
        (TWO_AREAS.replace("\"find\"", "\"\""), "include[1]"),
        (
            TWO_AREAS.replace("dimension = \"product_area\"", "dimension = \"flavour\""),
            "unknown dimension",
        ),
        (
            TWO_AREAS.replace("\"find\"", "\"re:[unclosed\""),
            "does not compile",
        ),
    ] {
        let err = taxonomy
            .update_taxonomy(proto::UpdateTaxonomyRequest {
                toml: bad,
                ..Default::default()
            })
            .await
            .unwrap_err();
        assert_eq!(err.code(), tonic::Code::InvalidArgument);
        assert!(err.message().contains(needle), "{}", err.message());
    }
    assert_eq!(
        taxonomy
            .get_taxonomy(proto::GetTaxonomyRequest::default())
            .await
            .unwrap()
            .into_inner()
            .version,
        0
    );

    let updated = taxonomy
        .update_taxonomy(proto::UpdateTaxonomyRequest {
            toml: TWO_AREAS.into(),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(updated.version, 1);
    // Wait for the background re-tagging to finish.
    let mut progress;
    loop {
        progress = taxonomy
            .get_taxonomy(proto::GetTaxonomyRequest::default())
            .await
            .unwrap()
            .into_inner()
            .retag
            .unwrap();
        if progress.state != proto::RetagState::Running as i32 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    assert_eq!(
        progress.state,
        proto::RetagState::Done as i32,
        "{progress:?}"
    );
    assert_eq!(
        (progress.done, progress.total, progress.taxonomy_version),
        (3, 3, 1)
    );

    let get = |id: &String| {
        let mut client = t.verbatims.clone();
        let id = id.clone();
        async move {
            client
                .get_verbatim(proto::GetVerbatimRequest {
                    id,
                    ..Default::default()
                })
                .await
                .unwrap()
                .into_inner()
                .tags
                .unwrap()
        }
    };
    let first = get(&ids[0]).await;
    assert_eq!(first.taxonomy_version, 1);
    assert_eq!(first.product_areas[0].value, "search");
    assert_eq!(get(&ids[1]).await.product_areas[0].value, "checkout");
    let corrected = get(&ids[2]).await;
    assert_eq!(
        (
            corrected.product_areas[0].value.as_str(),
            corrected.product_areas[0].origin
        ),
        ("reporting", proto::TagOrigin::Person as i32)
    );

    // The index follows: the new category is searchable once committed.
    t.ingest_texts(&["index barrier"]).await;
    let found = t
        .verbatims
        .search_verbatims(SearchVerbatimsRequest {
            filter: Some(SearchFilter {
                product_areas: vec!["search".into()],
                ..Default::default()
            }),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(found.total_size, 1);

    // The taxonomy survives a restart.
    t.stop().await;
    let t = TestServer::start(dir.path()).await;
    let mut taxonomy = TaxonomyServiceClient::new(t.channel.clone());
    let after = taxonomy
        .get_taxonomy(proto::GetTaxonomyRequest::default())
        .await
        .unwrap()
        .into_inner();
    assert_eq!((after.version, after.name.as_str()), (1, "two areas"));
    t.stop().await;
}
