//! The search query path on arbitrary query text against a small real index: a query is either
//! refused by `check_query` (the service's default limits) or parsed and run without panicking,
//! overflowing the stack of a blocking thread, or taking long (run with `-timeout`); snippets
//! of its hits are made too.
#![no_main]

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, OnceLock};

use libfuzzer_sys::fuzz_target;
use tideline::index::search::{check_query, Filter, Order, QueryLimits, SearchQuery};
use tideline::index::{writer, IndexError, SearchIndex};
use tideline::model::tags::{GivenTags, Origin};
use tideline::model::{Limits, Source, Verbatim};
use tideline::store::{NewRecord, Store};
use tideline::tagging::{tag_text, taxonomy::Taxonomy};

/// tokio's default stack for blocking threads, where the service runs searches.
const BLOCKING_STACK: usize = 2 * 1024 * 1024;

const TEXTS: [&str; 12] = [
    "The app crashed twice while exporting my report",
    "Charged twice for the pro plan, refund please",
    "Love the new dashboard, setup took 5 minutes :)",
    "Support never answered my ticket #4411 in 3 days",
    "Login fails on iOS 17 after the update; can't sign in",
    "Search is slow (10 seconds) when filtering by tag",
    "Café ☕ — l'application plante à l'export 😡",
    "Import of 2,000 rows from CSV failed with error 502",
    "\"Thank you\" to Anna from support <3",
    "invoice PDF missing VAT number, billing@example.com",
    "Webhooks retry too often; HTTP 429 from our endpoint",
    "NOT happy: price went up 30% without notice",
];

struct Fixture {
    index: Arc<SearchIndex>,
    texts: HashMap<u64, String>,
    limits: QueryLimits,
    _dir: tempfile::TempDir,
}

fn fixture() -> &'static Fixture {
    static FIXTURE: OnceLock<Fixture> = OnceLock::new();
    FIXTURE.get_or_init(|| {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(&dir.path().join("store")).unwrap();
        let taxonomy = Taxonomy::default_saas();
        let records = TEXTS
            .iter()
            .enumerate()
            .map(|(i, text)| NewRecord {
                verbatim: Verbatim {
                    number: 0,
                    workspace: "ws".into(),
                    source: Source::ALL[i % Source::ALL.len()],
                    external_id: Some(format!("ext-{i}")),
                    text: text.to_string(),
                    created_at: 1_700_000_000_000_000 + i as i64 * 3_600_000_000,
                    received_at: 1_700_000_000_000_000,
                    customer_id: Some(format!("c-{}", i % 3)),
                    account_id: None,
                    language: None,
                    metadata: [("plan".to_string(), "pro".to_string())].into(),
                    scores: Default::default(),
                    tags: tag_text(&taxonomy, 1, text, &GivenTags::default(), Origin::Rule),
                    theme: None,
                },
                digest: [i as u8; 16],
            })
            .collect();
        store.insert_blocking("ws", records).unwrap();
        let index_dir: PathBuf = dir.path().join("index");
        writer::reindex_offline(&store, &index_dir, 20).unwrap();
        let texts = store
            .workspace_verbatims("ws")
            .unwrap()
            .into_iter()
            .map(|v| (v.number, v.text))
            .collect();
        drop(store);
        let opened = SearchIndex::open(&index_dir, 20).unwrap();
        assert_eq!(opened.index.num_docs(), TEXTS.len() as u64);
        let defaults = Limits::default();
        Fixture {
            index: opened.index,
            texts,
            limits: QueryLimits {
                max_bytes: defaults.max_query_bytes,
                max_depth: defaults.max_query_depth,
                max_terms: defaults.max_query_terms,
            },
            _dir: dir,
        }
    })
}

fuzz_target!(|data: &[u8]| {
    let Some((&mode, rest)) = data.split_first() else {
        return;
    };
    let Ok(text) = std::str::from_utf8(rest) else {
        return;
    };
    let fixture = fixture();
    if check_query(text, fixture.limits).is_err() {
        return;
    }
    let query = SearchQuery {
        workspace: "ws".into(),
        text: text.to_string(),
        filter: if mode & 4 == 0 {
            Filter::default()
        } else {
            Filter {
                sources: vec![Source::Ticket, Source::Survey],
                created_after: Some(1_700_000_000_000_000),
                ..Filter::default()
            }
        },
        order: match mode % 4 {
            0 | 3 => Order::Relevance,
            1 => Order::Newest,
            _ => Order::Oldest,
        },
        offset: usize::from(mode >> 4),
        limit: 10,
        max_number: u64::MAX,
    };
    let index = fixture.index.clone();
    let texts = &fixture.texts;
    std::thread::scope(|scope| {
        std::thread::Builder::new()
            .stack_size(BLOCKING_STACK)
            .spawn_scoped(scope, move || match index.search(&query) {
                Ok(page) => {
                    assert!(page.hits.len() <= 10);
                    assert!(page.total as usize <= texts.len());
                    for hit in &page.hits {
                        let _ = page.snippet(&texts[&hit.number]);
                    }
                }
                Err(IndexError::Query(_)) => {}
                Err(e) => panic!("search failed other than as a bad query: {e}"),
            })
            .unwrap()
            .join()
            .unwrap();
    });
});
