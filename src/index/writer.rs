//! The indexer: the one task that owns the index writer. It follows the store's durable change
//! log, applies changes in batches, commits with the watermark, and trims the log behind it.

use std::sync::Arc;
use std::time::Duration;

use parking_lot::Mutex;
use tantivy::IndexWriter;
use tokio::sync::{watch, Notify};
use tokio::task::JoinHandle;
use tokio::time::Instant;

use super::{IndexError, IndexResult, SearchIndex};
use crate::store::{Change, Store};

/// How many change-log entries are read per step while catching up.
const CHANGES_PER_READ: usize = 5_000;
/// Shortest wait before a failed step is tried again.
const RETRY_AFTER: Duration = Duration::from_millis(200);

/// Set by a test to make the next catch-up panic.
#[cfg(test)]
static PANIC_IN_NEXT_CATCH_UP: std::sync::atomic::AtomicBool =
    std::sync::atomic::AtomicBool::new(false);

/// Controls a running indexer.
pub struct IndexerHandle {
    nudge: Arc<Notify>,
    shutdown: watch::Sender<bool>,
    task: JoinHandle<IndexResult<()>>,
}

impl IndexerHandle {
    /// Asks for a commit now rather than at the end of the commit interval.
    pub fn nudge(&self) {
        self.nudge.notify_one();
    }

    /// Indexes everything durable, commits, waits for merges and stops.
    pub async fn shutdown(self) -> IndexResult<()> {
        let _ = self.shutdown.send(true);
        self.task
            .await
            .map_err(|e| IndexError::Task(e.to_string()))?
    }
}

/// Starts the indexer. When `watermark` is `None` the index is first rebuilt from the store.
pub fn spawn(
    index: Arc<SearchIndex>,
    writer: IndexWriter,
    watermark: Option<u64>,
    store: Arc<Store>,
    commit_interval: Duration,
) -> IndexerHandle {
    let nudge = Arc::new(Notify::new());
    let (shutdown, shutdown_rx) = watch::channel(false);
    let indexer = Indexer {
        index,
        store,
        writer: Arc::new(Mutex::new(writer)),
        watermark: watermark.unwrap_or(0),
    };
    let task = tokio::spawn(indexer.run(
        watermark.is_none(),
        commit_interval,
        nudge.clone(),
        shutdown_rx,
    ));
    IndexerHandle {
        nudge,
        shutdown,
        task,
    }
}

struct Indexer {
    index: Arc<SearchIndex>,
    store: Arc<Store>,
    /// Locked by the blocking step that uses it; a step that fails or panics rolls it back and
    /// leaves it in place for the next.
    writer: Arc<Mutex<IndexWriter>>,
    watermark: u64,
}

impl Indexer {
    async fn run(
        mut self,
        rebuild: bool,
        commit_interval: Duration,
        nudge: Arc<Notify>,
        mut shutdown: watch::Receiver<bool>,
    ) -> IndexResult<()> {
        // A rebuild that fails (a full disk, a panic) is retried: searching an empty index is
        // better than never indexing again.
        if rebuild {
            while let Err(err) = self.blocking(Step::Rebuild).await {
                tracing::error!(error = %err, "index rebuild failed; retrying");
                tokio::select! {
                    _ = shutdown.wait_for(|stop| *stop) => return Ok(()),
                    _ = tokio::time::sleep(commit_interval.max(RETRY_AFTER)) => {}
                }
            }
        }
        let mut durable = self.store.subscribe_durable();
        let mut last_commit = Instant::now();
        loop {
            // Wait for durable changes the index does not have yet.
            let watermark = self.watermark;
            tokio::select! {
                _ = shutdown.wait_for(|stop| *stop) => break,
                changed = durable.wait_for(|d| *d > watermark) => {
                    if changed.is_err() { break; }
                }
            }
            // Let a batch accumulate, unless someone is waiting.
            tokio::select! {
                _ = shutdown.wait_for(|stop| *stop) => {}
                _ = nudge.notified() => {}
                _ = tokio::time::sleep_until(last_commit + commit_interval) => {}
            }
            let target = *durable.borrow();
            if let Err(err) = self.blocking(Step::CatchUp(target)).await {
                // Nothing is lost: the change log still holds everything past the watermark.
                tracing::error!(error = %err, watermark = self.watermark, "index commit failed; retrying");
                tokio::time::sleep(commit_interval.max(RETRY_AFTER)).await;
            }
            last_commit = Instant::now();
        }
        let target = *durable.borrow();
        self.blocking(Step::CatchUp(target)).await?;
        let writer = Arc::try_unwrap(self.writer)
            .map_err(|_| IndexError::Task("the index writer is still in use".into()))?
            .into_inner();
        tokio::task::spawn_blocking(move || writer.wait_merging_threads())
            .await
            .map_err(|e| IndexError::Task(e.to_string()))??;
        tracing::info!(watermark = self.watermark, "indexer stopped");
        Ok(())
    }

    /// Runs one step on a blocking thread. A step that fails or panics is rolled back: what it
    /// staged will be replayed from the watermark.
    async fn blocking(&mut self, step: Step) -> IndexResult<()> {
        let writer = self.writer.clone();
        let index = self.index.clone();
        let store = self.store.clone();
        let watermark = self.watermark;
        let result = tokio::task::spawn_blocking(move || {
            let mut writer = writer.lock();
            let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| match step {
                Step::Rebuild => rebuild(&index, &store, &mut writer),
                Step::CatchUp(target) => catch_up(&index, &store, &mut writer, watermark, target),
            }))
            .unwrap_or_else(|_| Err(IndexError::Task("an indexing step panicked".into())));
            if result.is_err() {
                let _ = writer.rollback();
            }
            result
        })
        .await
        .map_err(|e| IndexError::Task(e.to_string()))?;
        if let Some(new_watermark) = result? {
            self.watermark = new_watermark;
        }
        Ok(())
    }
}

enum Step {
    /// Re-index every stored verbatim.
    Rebuild,
    /// Apply the change log up to this durable sequence.
    CatchUp(u64),
}

/// Applies change-log entries in `(watermark, target]`, commits, and trims the log.
/// Returns the new watermark, or `None` when there was nothing to do.
fn catch_up(
    index: &SearchIndex,
    store: &Store,
    writer: &mut IndexWriter,
    mut watermark: u64,
    target: u64,
) -> IndexResult<Option<u64>> {
    if target <= watermark {
        return Ok(None);
    }
    #[cfg(test)]
    if PANIC_IN_NEXT_CATCH_UP.swap(false, std::sync::atomic::Ordering::SeqCst) {
        panic!("injected panic while indexing");
    }
    let started = std::time::Instant::now();
    let mut applied = 0usize;
    loop {
        let changes = store.changes_after(watermark, CHANGES_PER_READ)?;
        let mut progressed = false;
        for (change_seq, change) in changes.into_iter().take_while(|(seq, _)| *seq <= target) {
            match change {
                Change::Upsert { workspace, number } => {
                    writer.delete_term(index.key_term(&workspace, number));
                    if let Some(verbatim) = store.get(&workspace, number)? {
                        writer.add_document(index.document(&verbatim))?;
                    }
                }
                Change::Delete { workspace, number } => {
                    writer.delete_term(index.key_term(&workspace, number));
                }
            }
            watermark = change_seq;
            applied += 1;
            progressed = true;
        }
        if !progressed {
            break;
        }
    }
    // Sequence numbers of failed or empty transactions leave no change entry: the target is reached.
    let watermark = watermark.max(target);
    index.commit(writer, watermark)?;
    store.trim_changes(watermark)?;
    tracing::debug!(
        applied,
        watermark,
        elapsed_ms = started.elapsed().as_millis() as u64,
        "index committed"
    );
    Ok(Some(watermark))
}

/// Replaces the index content with every verbatim of the store. The watermark is the change
/// sequence durable before the scan: verbatims written during it are in the index too, and their
/// changes are replayed after it (which replaces them). What the scan saw is made durable before
/// the commit, so the index never holds a verbatim a crash could take back.
fn rebuild(
    index: &SearchIndex,
    store: &Store,
    writer: &mut IndexWriter,
) -> IndexResult<Option<u64>> {
    let started = std::time::Instant::now();
    let upto = *store.subscribe_durable().borrow();
    writer.delete_all_documents()?;
    let mut count = 0u64;
    for verbatim in store.iter_all() {
        writer.add_document(index.document(&verbatim?))?;
        count += 1;
    }
    // Every write the scan could see took a change sequence up to `last_seq`.
    if store.last_seq() > *store.subscribe_durable().borrow() {
        store.flush_blocking()?;
    }
    index.commit(writer, upto)?;
    store.trim_changes(upto)?;
    tracing::info!(
        count,
        watermark = upto,
        elapsed_ms = started.elapsed().as_millis() as u64,
        "index rebuilt from the store"
    );
    Ok(Some(upto))
}

/// Rebuilds the index in `index_dir` from the store, offline (`tideline reindex`).
pub fn reindex_offline(
    store: &Store,
    index_dir: &std::path::Path,
    writer_memory_mb: usize,
) -> IndexResult<u64> {
    if index_dir.exists() {
        std::fs::remove_dir_all(index_dir)?;
    }
    let opened = SearchIndex::open(index_dir, writer_memory_mb)?;
    let mut writer = opened.writer;
    let watermark = rebuild(&opened.index, store, &mut writer)?.unwrap_or(0);
    writer.wait_merging_threads()?;
    Ok(watermark)
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::Ordering;

    use super::*;
    use crate::model::Verbatim;
    use crate::store::NewRecord;

    fn record(text: &str) -> NewRecord {
        record_in("ws", text)
    }

    fn record_in(workspace: &str, text: &str) -> NewRecord {
        NewRecord {
            verbatim: Verbatim {
                received_at: 1,
                ..Verbatim::example(workspace, text)
            },
            digest: [0; 16],
        }
    }

    /// A store and an index in a temporary directory, and an indexer following the store.
    fn start() -> (
        tempfile::TempDir,
        Arc<Store>,
        Arc<SearchIndex>,
        IndexerHandle,
    ) {
        let dir = tempfile::tempdir().unwrap();
        let store = Arc::new(Store::open(&dir.path().join("store")).unwrap());
        let opened = SearchIndex::open(&dir.path().join("index"), 20).unwrap();
        let index = opened.index.clone();
        let indexer = spawn(
            opened.index,
            opened.writer,
            opened.watermark,
            store.clone(),
            Duration::from_millis(20),
        );
        (dir, store, index, indexer)
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_panic_while_indexing_is_retried_and_indexing_goes_on() {
        let (_dir, store, index, indexer) = start();
        let indexed = |seq| tokio::time::timeout(Duration::from_secs(20), index.wait_indexed(seq));
        // First a catch-up with nothing injected, so that the opening rebuild (which could
        // otherwise pick the next record up itself on a slow machine) is over.
        store.insert("ws", vec![record("zeroth")]).await.unwrap();
        indexed(1).await.expect("indexed");
        PANIC_IN_NEXT_CATCH_UP.store(true, Ordering::SeqCst);
        store.insert("ws", vec![record("first")]).await.unwrap();
        indexed(2).await.expect("indexed after the panicking step");
        assert!(
            !PANIC_IN_NEXT_CATCH_UP.load(Ordering::SeqCst),
            "the step panicked"
        );
        store.insert("ws", vec![record("second")]).await.unwrap();
        indexed(3).await.expect("the indexer goes on");
        assert_eq!(index.num_docs(), 3);
        indexer.shutdown().await.unwrap();
    }

    fn search(index: &SearchIndex, workspace: &str, text: &str) -> Vec<u64> {
        let query = crate::index::search::SearchQuery {
            workspace: workspace.into(),
            text: text.into(),
            filter: Default::default(),
            order: crate::index::search::Order::Oldest,
            offset: 0,
            limit: 100,
            max_number: u64::MAX,
        };
        let page = index.search(&query).unwrap();
        page.hits.iter().map(|hit| hit.number).collect()
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn the_same_number_in_two_workspaces_is_two_documents() {
        let (dir, store, index, indexer) = start();
        let indexed = |seq| tokio::time::timeout(Duration::from_secs(20), index.wait_indexed(seq));
        let a = store
            .insert(
                "a",
                vec![record_in("a", "refund late"), record_in("a", "refund lost")],
            )
            .await
            .unwrap();
        let b = store
            .insert("b", vec![record_in("b", "refund late")])
            .await
            .unwrap();
        assert_eq!(a.outcomes[0], b.outcomes[0]); // both number 1
        indexed(b.logged).await.unwrap();
        assert_eq!(search(&index, "a", "refund"), [1, 2]);
        assert_eq!(search(&index, "b", "refund"), [1]);
        assert_eq!(
            (
                index.last_number("a").unwrap(),
                index.last_number("b").unwrap()
            ),
            (2, 1)
        );
        assert_eq!(index.last_number("nobody").unwrap(), 0);

        // Re-indexing b's 1 replaces b's document only; erasing a's 1 leaves b's alone.
        store
            .update("b", &[1], |v| {
                v.text = "refund arrived".into();
                true
            })
            .unwrap();
        let erased = store.delete("a", 1).unwrap().unwrap();
        store.flush().await.unwrap();
        indexed(erased).await.unwrap();
        assert_eq!(search(&index, "a", "refund"), [2]);
        assert_eq!(search(&index, "b", "arrived"), [1]);
        assert_eq!(search(&index, "b", "late"), Vec::<u64>::new());
        assert_eq!(index.num_docs(), 2);
        indexer.shutdown().await.unwrap();

        // A rebuild from the store finds the same.
        let (rebuilt, index_dir) = (store.clone(), dir.path().join("index"));
        let watermark =
            tokio::task::spawn_blocking(move || reindex_offline(&rebuilt, &index_dir, 20))
                .await
                .unwrap()
                .unwrap();
        assert_eq!(watermark, store.last_seq());
        let reopened = SearchIndex::open(&dir.path().join("index"), 20).unwrap();
        assert_eq!(reopened.watermark, Some(watermark));
        assert_eq!(search(&reopened.index, "a", "refund"), [2]);
        assert_eq!(search(&reopened.index, "b", "refund"), [1]);
    }
}
