//! Verbatim ids reveal nothing across workspaces: each workspace numbers its own verbatims, so one
//! tenant cannot count another's traffic; a store written when ids came from one store-wide
//! sequence keeps its ids. Over real gRPC.

mod common;

use std::collections::HashSet;

use common::{item, test_config, TestServer};
use tideline::model::{Source, Verbatim};
use tideline::proto::{self, SearchVerbatimsRequest};

/// The id of a workspace's `n`th verbatim.
fn id(n: u64) -> String {
    format!("vb_{n:012x}")
}

async fn ingest(t: &mut TestServer, workspace: &str, texts: &[String]) -> Vec<String> {
    let response = t
        .ingest
        .ingest_verbatims(proto::IngestVerbatimsRequest {
            workspace: workspace.into(),
            items: texts.iter().map(|text| item(text)).collect(),
            wait_for_index: true,
        })
        .await
        .expect("ingest succeeds")
        .into_inner();
    response
        .results
        .into_iter()
        .map(|r| {
            assert_eq!(r.outcome, proto::ItemOutcome::Created as i32, "{r:?}");
            r.id
        })
        .collect()
}

async fn get(t: &mut TestServer, workspace: &str, id: &str) -> Option<String> {
    match t
        .verbatims
        .get_verbatim(proto::GetVerbatimRequest {
            workspace: workspace.into(),
            id: id.into(),
        })
        .await
    {
        Ok(found) => Some(found.into_inner().text),
        Err(status) if status.code() == tonic::Code::NotFound => None,
        Err(status) => panic!("{status}"),
    }
}

/// Every id a search in `workspace` finds (one page).
async fn search_ids(t: &mut TestServer, workspace: &str, query: &str) -> Vec<String> {
    let page = t
        .verbatims
        .search_verbatims(SearchVerbatimsRequest {
            workspace: workspace.into(),
            query: query.into(),
            page_size: 1000,
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(page.total_size as usize, page.hits.len());
    page.hits
        .into_iter()
        .map(|h| h.verbatim.unwrap().id)
        .collect()
}

#[tokio::test]
async fn each_workspace_counts_its_own_ids() {
    let dir = tempfile::tempdir().unwrap();
    let mut t = TestServer::start(dir.path()).await;

    // Interleaved writes: each workspace's ids are 1, 2, 3, … in its own order.
    let mut a = Vec::new();
    let mut b = Vec::new();
    for (i, workspace) in ["a", "b", "a", "b", "b", "a"].into_iter().enumerate() {
        let text = format!("refund missing {workspace} {i}");
        let ids = ingest(&mut t, workspace, &[text]).await;
        if workspace == "a" { &mut a } else { &mut b }.extend(ids);
    }
    assert_eq!(a, [id(1), id(2), id(3)]);
    assert_eq!(b, [id(1), id(2), id(3)]);

    // 37 verbatims of b do not move a's next id.
    let many: Vec<String> = (0..37)
        .map(|i| format!("refund missing b bulk {i}"))
        .collect();
    let bulk = ingest(&mut t, "b", &many).await;
    assert_eq!(bulk, (4..=40).map(id).collect::<Vec<_>>());
    let next = ingest(&mut t, "a", &["refund missing a next".into()]).await;
    assert_eq!(next, [id(4)]);

    // Concurrent writers to both workspaces (their verbatims share group commits): each
    // workspace's ids stay gapless and in each writer's order.
    let writers: Vec<_> = ["a", "b"]
        .into_iter()
        .map(|workspace| {
            let mut client = t.ingest.clone();
            tokio::spawn(async move {
                let mut ids = Vec::new();
                for i in 0..20 {
                    let response = client
                        .ingest_verbatims(proto::IngestVerbatimsRequest {
                            workspace: workspace.into(),
                            items: vec![item(&format!("late delivery {workspace} {i}"))],
                            wait_for_index: false,
                        })
                        .await
                        .unwrap()
                        .into_inner();
                    ids.push(response.results[0].id.clone());
                }
                ids
            })
        })
        .collect();
    let mut concurrent = Vec::new();
    for writer in writers {
        concurrent.push(writer.await.unwrap());
    }
    assert_eq!(concurrent[0], (5..=24).map(id).collect::<Vec<_>>());
    assert_eq!(concurrent[1], (41..=60).map(id).collect::<Vec<_>>());

    // The same id names each workspace's own verbatim, in the store and in the index.
    assert_eq!(
        get(&mut t, "a", &id(1)).await.unwrap(),
        "refund missing a 0"
    );
    assert_eq!(
        get(&mut t, "b", &id(1)).await.unwrap(),
        "refund missing b 1"
    );
    assert_eq!(get(&mut t, "a", &id(25)).await, None);
    let mut in_a = search_ids(&mut t, "a", "refund").await;
    in_a.sort();
    assert_eq!(in_a, (1..=4).map(id).collect::<Vec<_>>());
    assert_eq!(search_ids(&mut t, "b", "refund").await.len(), 40);

    // Erasing a's verbatim 1 leaves b's verbatim 1 alone.
    t.verbatims
        .delete_verbatim(proto::DeleteVerbatimRequest {
            workspace: "a".into(),
            id: id(1),
        })
        .await
        .unwrap();
    assert_eq!(get(&mut t, "a", &id(1)).await, None);
    assert_eq!(
        get(&mut t, "b", &id(1)).await.unwrap(),
        "refund missing b 1"
    );
    assert!(!search_ids(&mut t, "a", "refund").await.contains(&id(1)));
    assert!(search_ids(&mut t, "b", "refund").await.contains(&id(1)));
    t.stop().await;

    // After a restart each workspace goes on from its own last id; a's erased newest is not
    // given again.
    let mut t = TestServer::start(dir.path()).await;
    t.verbatims
        .delete_verbatim(proto::DeleteVerbatimRequest {
            workspace: "a".into(),
            id: id(24),
        })
        .await
        .unwrap();
    t.stop().await;
    let mut t = TestServer::start(dir.path()).await;
    assert_eq!(ingest(&mut t, "a", &["again".into()]).await, [id(25)]);
    assert_eq!(ingest(&mut t, "b", &["again".into()]).await, [id(61)]);
    assert_eq!(ingest(&mut t, "c", &["first".into()]).await, [id(1)]);
    t.stop().await;
}

#[tokio::test]
async fn pages_of_a_workspace_do_not_shift_when_either_workspace_writes() {
    let dir = tempfile::tempdir().unwrap();
    let mut t = TestServer::start(dir.path()).await;
    let texts: Vec<String> = (0..9).map(|i| format!("slow export {i}")).collect();
    ingest(&mut t, "b", &texts[..3]).await;
    ingest(&mut t, "a", &texts).await;
    let request = |token: String| SearchVerbatimsRequest {
        workspace: "a".into(),
        page_size: 4,
        page_token: token,
        ..Default::default()
    };
    let first = t
        .verbatims
        .search_verbatims(request(String::new()))
        .await
        .unwrap()
        .into_inner();
    let mut ids: Vec<String> = first
        .hits
        .iter()
        .map(|h| h.verbatim.clone().unwrap().id)
        .collect();
    // Newer verbatims arrive in both workspaces between pages; more in b than a has.
    ingest(&mut t, "a", &["slow export new".into()]).await;
    let more: Vec<String> = (0..20).map(|i| format!("slow export b {i}")).collect();
    ingest(&mut t, "b", &more).await;
    let mut token = first.next_page_token;
    while !token.is_empty() {
        let page = t
            .verbatims
            .search_verbatims(request(token))
            .await
            .unwrap()
            .into_inner();
        assert_eq!(page.total_size, 9);
        ids.extend(page.hits.iter().map(|h| h.verbatim.clone().unwrap().id));
        token = page.next_page_token;
    }
    assert_eq!(ids.len(), 9);
    assert_eq!(
        ids.iter().cloned().collect::<HashSet<_>>(),
        (1..=9).map(id).collect::<HashSet<_>>()
    );
    t.stop().await;
}

/// A stored record as the store keeps it (the number is in the key).
fn record(workspace: &str, text: &str, external_id: Option<&str>) -> Vec<u8> {
    let verbatim = Verbatim {
        number: 0,
        workspace: workspace.into(),
        source: Source::Ticket,
        external_id: external_id.map(str::to_string),
        text: text.into(),
        created_at: 1_767_225_600_000_000,
        received_at: 1_767_225_600_000_000,
        customer_id: None,
        account_id: None,
        language: None,
        metadata: Default::default(),
        scores: Default::default(),
        tags: Default::default(),
        theme: None,
    };
    serde_json::to_vec(&verbatim).unwrap()
}

fn key(workspace: &str, number: u64) -> Vec<u8> {
    let mut key = workspace.as_bytes().to_vec();
    key.push(0);
    key.extend_from_slice(&number.to_be_bytes());
    key
}

#[tokio::test]
async fn a_store_written_with_store_wide_ids_keeps_them() {
    let dir = tempfile::tempdir().unwrap();
    let config = test_config(dir.path());
    // The layout of schema version 1, as the previous build left it (no index yet): one
    // store-wide sequence numbered every verbatim, idempotency keys hold it.
    {
        let db = sled::Config::new().path(config.store_dir()).open().unwrap();
        let meta = db.open_tree("meta").unwrap();
        meta.insert("schema_version", &1u64.to_be_bytes()).unwrap();
        meta.insert("last_seq", &5u64.to_be_bytes()).unwrap();
        let verbatims = db.open_tree("verbatims").unwrap();
        let idempotency = db.open_tree("idempotency").unwrap();
        for (workspace, seq, text) in [
            ("a", 1u64, "checkout button broken"),
            ("b", 2, "checkout slow"),
            ("a", 3, "checkout lost my cart"),
            ("b", 4, "checkout error"),
            ("a", 5, "checkout fine now"),
        ] {
            let external_id = format!("T-{seq}");
            verbatims
                .insert(
                    key(workspace, seq),
                    record(workspace, text, Some(&external_id)),
                )
                .unwrap();
            let mut idem = format!("{workspace}\0").into_bytes();
            idem.push(Source::Ticket.code());
            idem.extend_from_slice(external_id.as_bytes());
            idempotency.insert(idem, &seq.to_be_bytes()).unwrap();
        }
        db.flush().unwrap();
    }

    let mut t = TestServer::start_with(config).await;
    // Old ids resolve, a retry is a duplicate of the old id (and waits for the index, rebuilt
    // from the store, which finds them).
    assert_eq!(
        get(&mut t, "a", &id(3)).await.unwrap(),
        "checkout lost my cart"
    );
    assert_eq!(get(&mut t, "b", &id(4)).await.unwrap(), "checkout error");
    assert_eq!(get(&mut t, "b", &id(3)).await, None);
    let mut retry = item("checkout error");
    retry.external_id = "T-4".into();
    let response = t
        .ingest
        .ingest_verbatims(proto::IngestVerbatimsRequest {
            workspace: "b".into(),
            items: vec![retry],
            wait_for_index: true,
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(
        (response.results[0].outcome, response.results[0].id.as_str()),
        (proto::ItemOutcome::Duplicate as i32, id(4).as_str())
    );
    let mut found = search_ids(&mut t, "a", "checkout").await;
    found.sort();
    assert_eq!(found, [id(1), id(3), id(5)]);

    // New ids continue per workspace, after the largest each holds.
    assert_eq!(ingest(&mut t, "a", &["checkout new".into()]).await, [id(6)]);
    assert_eq!(ingest(&mut t, "b", &["checkout new".into()]).await, [id(5)]);
    assert_eq!(
        ingest(&mut t, "b", &["checkout newer".into()]).await,
        [id(6)]
    );
    assert_eq!(search_ids(&mut t, "b", "checkout").await.len(), 4);
    t.stop().await;
}
