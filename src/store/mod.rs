//! The store: sled, the source of truth. Verbatims, idempotency keys, and a change log the search
//! index follows. Everything else can be rebuilt from here.
//!
//! Trees and keys (every verbatim key starts with its workspace):
//! - `verbatims`: `{workspace}\0{seq:u64 be}` → JSON record
//! - `idempotency`: `{workspace}\0{source code}{external_id}` → `seq` (u64 be) and the digest of
//!   the content first submitted under the key (16 bytes; absent in keys written before digests)
//! - `changes`: `{seq:u64 be}` → JSON [`Change`]; trimmed once the index has committed past it
//! - `taxonomies`: `{workspace}\0` → JSON [`StoredTaxonomy`]
//! - `docs`: `{workspace}\0{kind}\0{name}` → JSON: every [`DocKind`] (themes, theme models,
//!   counters, alerts, rules, webhooks, deliveries, events), each with one writer
//! - `outbox`: `{due:u64 be}{workspace}\0{delivery}` → empty: webhook deliveries waiting for their
//!   next attempt, in due order. Written in the same transaction as the documents they belong to.
//! - `meta`: `schema_version`, `last_seq`
//!
//! Writes that take sequence numbers are serialised by one lock so sequence numbers commit in
//! order, which is what lets the index follow the change log with a single watermark. New
//! verbatims go through the group-commit [`writer`], the only place that flushes; any other write
//! is durable only after [`Store::flush`].

mod docs;
mod keys;
mod space;
mod writer;

use std::sync::{Arc, Mutex, MutexGuard};

use serde::{Deserialize, Serialize};
use sled::transaction::ConflictableTransactionError;
use sled::Transactional;
use tokio::sync::watch;

pub use self::docs::{DocBatch, DocKind, OutboxEntry, SYSTEM};
use self::keys::{
    corrupt, decode_change, decode_idempotency, decode_record, decode_u64, encode_change,
    encode_record, idempotency_key, tx_error, verbatim_key, workspace_prefix,
};
use self::space::Space;
use self::writer::{Log, Writer};
use crate::model::{ContentDigest, Source, Verbatim};

/// The on-disk layout version this code reads and writes.
pub const SCHEMA_VERSION: u64 = 1;

/// Store errors.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("storage error: {0}")]
    Sled(#[from] sled::Error),
    #[error("corrupt record {key}: {message}")]
    Corrupt { key: String, message: String },
    #[error("store schema version {found} is not supported (this build reads {SCHEMA_VERSION})")]
    SchemaVersion { found: u64 },
    #[error("cannot start the store: {0}")]
    Start(std::io::Error),
    /// A group write or flush failed; every caller in the group gets its message.
    #[error("storage write failed: {0}")]
    Write(String),
    #[error("the store is closed")]
    Closed,
    /// Another process (or a store not yet closed in this one) holds the store's lock.
    #[error("the store in {path} is in use by another process")]
    Locked { path: String },
    /// Writes are refused (the disk filled up); reads go on.
    #[error("writes are refused, reads go on: {0}")]
    ReadOnly(String),
}

pub type StoreResult<T> = std::result::Result<T, StoreError>;

/// One entry of the change log.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "snake_case")]
pub enum Change {
    /// The verbatim `seq` was created (or must be re-indexed).
    Upsert { workspace: String, seq: u64 },
    /// The verbatim `seq` was erased.
    Delete { workspace: String, seq: u64 },
}

/// A workspace's taxonomy as stored: its version and TOML text.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoredTaxonomy {
    pub version: u64,
    pub toml: String,
}

/// A validated verbatim to insert, with the digest of its content as submitted (what a retry
/// under the same idempotency key must match).
#[derive(Debug, Clone, PartialEq)]
pub struct NewRecord {
    pub verbatim: Verbatim,
    pub digest: ContentDigest,
}

/// What happened to one item of a batch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Inserted {
    Created(u64),
    /// The idempotency key was already taken by this verbatim, with the same content.
    Duplicate(u64),
    /// The idempotency key was already taken by this verbatim, with other content: nothing was
    /// written.
    Conflict(u64),
}

/// An idempotency key's verbatim and the digest of the content first submitted under it (`None`
/// for keys written before digests were kept).
pub type KeyHolder = (u64, Option<ContentDigest>);

/// The durable store. One per process.
pub struct Store {
    log: Log,
    taxonomies: sled::Tree,
    docs: sled::Tree,
    outbox: sled::Tree,
    writer: Writer,
}

const META_SCHEMA: &[u8] = b"schema_version";
const META_PAGE_KEY: &[u8] = b"page_token_key";
pub(crate) const META_LAST_SEQ: &[u8] = b"last_seq";

/// How long opening waits for the store's lock, held by a process that is still stopping.
const LOCK_WAIT: std::time::Duration = std::time::Duration::from_secs(10);

/// Opens sled in `path`, waiting up to [`LOCK_WAIT`] while its lock is held elsewhere.
fn open_db(path: &std::path::Path, wait: std::time::Duration) -> StoreResult<sled::Db> {
    let started = std::time::Instant::now();
    loop {
        match sled::Config::new().path(path).open() {
            Ok(db) => return Ok(db),
            // sled says so only in words: an io error of kind Other.
            Err(sled::Error::Io(err)) if err.to_string().contains("could not acquire lock") => {
                if started.elapsed() >= wait {
                    return Err(StoreError::Locked {
                        path: path.display().to_string(),
                    });
                }
                std::thread::sleep(std::time::Duration::from_millis(50));
            }
            Err(err) => return Err(err.into()),
        }
    }
}

impl Store {
    /// Opens (or creates) the store in `path`.
    pub fn open(path: &std::path::Path) -> StoreResult<Store> {
        Store::open_keeping_free(path, 0)
    }

    /// Opens (or creates) the store in `path`, taking writes only while the disk holding it has
    /// at least `min_free` bytes available (see [`space`]); below that it is read-only.
    pub fn open_keeping_free(path: &std::path::Path, min_free: u64) -> StoreResult<Store> {
        std::fs::create_dir_all(path).map_err(StoreError::Start)?;
        let space = Space::new(path, min_free);
        let db = open_db(path, LOCK_WAIT).inspect_err(|err| {
            if let StoreError::Sled(err) = err {
                space.notice(err);
            }
        })?;
        let meta = db.open_tree("meta")?;
        match meta.get(META_SCHEMA)? {
            None => {
                meta.insert(META_SCHEMA, &SCHEMA_VERSION.to_be_bytes())?;
            }
            Some(raw) => {
                let found = decode_u64(META_SCHEMA, &raw)?;
                if found != SCHEMA_VERSION {
                    return Err(StoreError::SchemaVersion { found });
                }
            }
        }
        let last_seq = match meta.get(META_LAST_SEQ)? {
            Some(raw) => decode_u64(META_LAST_SEQ, &raw)?,
            None => 0,
        };
        let log = Log {
            verbatims: db.open_tree("verbatims")?,
            idempotency: db.open_tree("idempotency")?,
            changes: db.open_tree("changes")?,
            meta,
            last_seq: Arc::new(Mutex::new(last_seq)),
            durable: Arc::new(watch::Sender::new(last_seq)),
            space,
            db: db.clone(),
        };
        Ok(Store {
            taxonomies: db.open_tree("taxonomies")?,
            docs: db.open_tree("docs")?,
            outbox: db.open_tree("outbox")?,
            writer: Writer::start(log.clone()).map_err(StoreError::Start)?,
            log,
        })
    }

    /// The key that signs page tokens: made on first open, kept so tokens outlive a restart
    /// (a read-only store makes one for this run only).
    pub fn page_key(&self) -> StoreResult<[u8; 32]> {
        if let Some(raw) = self.log.meta.get(META_PAGE_KEY)? {
            if let Ok(key) = <[u8; 32]>::try_from(raw.as_ref()) {
                return Ok(key);
            }
        }
        let key: [u8; 32] = rand::random();
        if !self.log.space.is_read_only() {
            self.watched(self.log.meta.insert(META_PAGE_KEY, &key))?;
        }
        Ok(key)
    }

    /// Follows whether the store takes writes: `None`, or why not (the disk filled up).
    pub fn watch_writes(&self) -> watch::Receiver<Option<String>> {
        self.log.space.watch()
    }

    /// Looks the free disk space up now (the store also does on writes): with the server's
    /// health following [`Store::watch_writes`], this is what lets writes resume when space is
    /// freed while nothing writes.
    pub fn check_space(&self) {
        self.log.space.check(crate::time::now());
    }

    /// Checks that the store takes writes.
    fn writable(&self) -> StoreResult<()> {
        self.log.space.writable()
    }

    /// Passes a store error on, noticing a full disk.
    fn noticed(&self, err: StoreError) -> StoreError {
        if let StoreError::Sled(e) = &err {
            self.log.space.notice(e);
        }
        err
    }

    /// Passes a sled result on, noticing a full disk.
    fn watched<T>(&self, result: sled::Result<T>) -> StoreResult<T> {
        result.map_err(|err| {
            self.log.space.notice(&err);
            err.into()
        })
    }

    /// The sequence lock: held by every write that takes sequence numbers. A panic while it was
    /// held leaves the number it guards intact (a transaction either committed it or not), so a
    /// poisoned lock is taken over.
    fn sequence(&self) -> MutexGuard<'_, u64> {
        self.log.last_seq.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Inserts validated verbatims of one workspace through the group-commit writer and answers
    /// once they are durable. An item whose `(workspace, source, external_id)` is already taken
    /// (in the store, earlier in the batch, or by a concurrent caller) changes nothing: it is a
    /// [`Inserted::Duplicate`] when its content matches, else an [`Inserted::Conflict`].
    pub async fn insert(
        &self,
        workspace: &str,
        records: Vec<NewRecord>,
    ) -> StoreResult<Vec<Inserted>> {
        self.writer.insert(workspace, records).await
    }

    /// [`Store::insert`] for blocking threads and offline tools.
    pub fn insert_blocking(
        &self,
        workspace: &str,
        records: Vec<NewRecord>,
    ) -> StoreResult<Vec<Inserted>> {
        self.writer.insert_blocking(workspace, records)
    }

    /// The verbatim already holding an idempotency key, if any, and its content digest.
    pub fn existing(
        &self,
        workspace: &str,
        source: Source,
        external_id: &str,
    ) -> StoreResult<Option<KeyHolder>> {
        let key = idempotency_key(workspace, source, external_id);
        self.log
            .idempotency
            .get(&key)?
            .map(|raw| decode_idempotency(&key, &raw))
            .transpose()
    }

    /// Erases a verbatim and frees its idempotency key. Returns the change's sequence number, or
    /// `None` when no such verbatim exists. Blocking; not durable until [`Store::flush`].
    pub fn delete(&self, workspace: &str, seq: u64) -> StoreResult<Option<u64>> {
        self.writable()?;
        let mut last_seq = self.sequence();
        let change_seq = *last_seq + 1;
        let key = verbatim_key(workspace, seq);
        let log = &self.log;
        let result = (&log.verbatims, &log.idempotency, &log.changes, &log.meta).transaction(
            |(verbatims, idempotency, changes, meta)| {
                let Some(raw) = verbatims.remove(key.as_slice())? else {
                    return Ok(None);
                };
                let record =
                    decode_record(&key, &raw).map_err(ConflictableTransactionError::Abort)?;
                if let Some(ext) = &record.external_id {
                    idempotency.remove(idempotency_key(workspace, record.source, ext))?;
                }
                let change = Change::Delete {
                    workspace: workspace.to_string(),
                    seq,
                };
                changes.insert(&change_seq.to_be_bytes(), encode_change(&change))?;
                meta.insert(META_LAST_SEQ, &change_seq.to_be_bytes())?;
                Ok(Some(change_seq))
            },
        );
        let outcome = result.map_err(|e| self.noticed(tx_error(e)))?;
        if outcome.is_some() {
            *last_seq = change_seq;
        }
        Ok(outcome)
    }

    /// Rewrites stored verbatims with `change` (which returns whether it changed anything) in one
    /// transaction, logging each rewrite for the index. Returns the verbatims as now stored
    /// (`None` where no such verbatim exists). Blocking; not durable until [`Store::flush`].
    pub fn update(
        &self,
        workspace: &str,
        seqs: &[u64],
        change: impl Fn(&mut Verbatim) -> bool,
    ) -> StoreResult<Vec<Option<Verbatim>>> {
        self.writable()?;
        let mut last_seq = self.sequence();
        let start = *last_seq;
        let log = &self.log;
        let result =
            (&log.verbatims, &log.changes, &log.meta).transaction(|(verbatims, changes, meta)| {
                let mut change_seq = start;
                let mut out = Vec::with_capacity(seqs.len());
                for &seq in seqs {
                    let key = verbatim_key(workspace, seq);
                    let Some(raw) = verbatims.get(&key)? else {
                        out.push(None);
                        continue;
                    };
                    let mut record =
                        decode_record(&key, &raw).map_err(ConflictableTransactionError::Abort)?;
                    if change(&mut record) {
                        verbatims.insert(key.as_slice(), encode_record(&record))?;
                        change_seq += 1;
                        let entry = Change::Upsert {
                            workspace: workspace.to_string(),
                            seq,
                        };
                        changes.insert(&change_seq.to_be_bytes(), encode_change(&entry))?;
                    }
                    out.push(Some(record));
                }
                meta.insert(META_LAST_SEQ, &change_seq.to_be_bytes())?;
                Ok((out, change_seq))
            });
        let (out, change_seq) = result.map_err(|e| self.noticed(tx_error(e)))?;
        *last_seq = change_seq;
        Ok(out)
    }

    /// Sequence numbers of a workspace's verbatims after `after`, in order, at most `limit`.
    pub fn workspace_seqs(
        &self,
        workspace: &str,
        after: u64,
        limit: usize,
    ) -> StoreResult<Vec<u64>> {
        let start = verbatim_key(workspace, after.saturating_add(1));
        let mut end = workspace_prefix(workspace);
        *end.last_mut().expect("prefix ends with a separator") += 1;
        self.log
            .verbatims
            .range(start..end)
            .keys()
            .take(limit)
            .map(|key| {
                let key = key?;
                decode_u64(&key, &key[key.len() - 8..])
            })
            .collect()
    }

    /// The workspace's stored taxonomy, if it has one.
    pub fn taxonomy(&self, workspace: &str) -> StoreResult<Option<StoredTaxonomy>> {
        let key = workspace_prefix(workspace);
        self.taxonomies
            .get(&key)?
            .map(|raw| serde_json::from_slice(&raw).map_err(|e| corrupt(&key, e)))
            .transpose()
    }

    /// Stores a workspace's taxonomy. Not durable until [`Store::flush`].
    pub fn put_taxonomy(&self, workspace: &str, taxonomy: &StoredTaxonomy) -> StoreResult<()> {
        self.writable()?;
        let value = serde_json::to_vec(taxonomy).expect("a taxonomy always serialises");
        self.watched(self.taxonomies.insert(workspace_prefix(workspace), value))?;
        Ok(())
    }

    /// Makes every write so far durable (grouped with other callers' flushes on the writer
    /// thread), then publishes the new durable sequence to followers.
    pub async fn flush(&self) -> StoreResult<()> {
        self.writer.flush().await
    }

    /// [`Store::flush`] for blocking threads and offline tools.
    pub fn flush_blocking(&self) -> StoreResult<()> {
        self.writer.flush_blocking()
    }

    /// The last sequence number assigned.
    pub fn last_seq(&self) -> u64 {
        *self.sequence()
    }

    /// Follows the last durable sequence number.
    pub fn subscribe_durable(&self) -> watch::Receiver<u64> {
        self.log.durable.subscribe()
    }

    /// Reads one verbatim.
    pub fn get(&self, workspace: &str, seq: u64) -> StoreResult<Option<Verbatim>> {
        let key = verbatim_key(workspace, seq);
        self.log
            .verbatims
            .get(&key)?
            .map(|raw| decode_record(&key, &raw))
            .transpose()
    }

    /// Up to `limit` change-log entries after `after`, in order.
    pub fn changes_after(&self, after: u64, limit: usize) -> StoreResult<Vec<(u64, Change)>> {
        let start = after.saturating_add(1).to_be_bytes();
        self.log
            .changes
            .range(start..)
            .take(limit)
            .map(|entry| {
                let (key, raw) = entry?;
                let seq = decode_u64(&key, &key)?;
                let change = decode_change(&key, &raw)?;
                Ok((seq, change))
            })
            .collect()
    }

    /// Drops change-log entries up to and including `upto` (the index has committed them).
    pub fn trim_changes(&self, upto: u64) -> StoreResult<()> {
        if self.log.space.is_read_only() {
            return Ok(()); // the log just keeps its entries
        }
        let mut batch = sled::Batch::default();
        for key in self.log.changes.range(..=upto.to_be_bytes()).keys() {
            batch.remove(key?);
        }
        self.watched(self.log.changes.apply_batch(batch))?;
        Ok(())
    }

    /// Every verbatim of a workspace, in arrival order.
    pub fn workspace_verbatims(&self, workspace: &str) -> StoreResult<Vec<Verbatim>> {
        self.log
            .verbatims
            .scan_prefix(workspace_prefix(workspace))
            .map(|entry| {
                let (key, raw) = entry?;
                decode_record(&key, &raw)
            })
            .collect()
    }

    /// Every stored verbatim of every workspace, in key order.
    pub fn iter_all(&self) -> impl Iterator<Item = StoreResult<Verbatim>> + '_ {
        self.log.verbatims.iter().map(|entry| {
            let (key, raw) = entry?;
            decode_record(&key, &raw)
        })
    }

    /// Every workspace that holds verbatims, in order.
    pub fn workspaces(&self) -> StoreResult<Vec<String>> {
        let mut found = Vec::new();
        let mut from: Vec<u8> = Vec::new();
        while let Some(entry) = self.log.verbatims.range(from.clone()..).keys().next() {
            let key = entry?;
            let Some(end) = key.iter().position(|&b| b == 0) else {
                break;
            };
            found.push(String::from_utf8_lossy(&key[..end]).into_owned());
            from = key[..end].to_vec();
            from.push(1);
        }
        Ok(found)
    }

    /// Number of verbatims in a workspace.
    pub fn count(&self, workspace: &str) -> usize {
        self.log
            .verbatims
            .scan_prefix(workspace_prefix(workspace))
            .count()
    }

    /// Bytes the store occupies on disk.
    pub fn size_on_disk(&self) -> StoreResult<u64> {
        Ok(self.log.db.size_on_disk()?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn opening_waits_for_a_store_being_closed_and_names_one_kept_open() {
        let dir = tempfile::tempdir().unwrap();
        let first = Store::open(dir.path()).unwrap();
        let refused = open_db(dir.path(), std::time::Duration::from_millis(200)).unwrap_err();
        assert!(matches!(refused, StoreError::Locked { .. }), "{refused:?}");
        assert!(refused.to_string().contains("in use by another process"));
        let closer = std::thread::spawn(move || {
            std::thread::sleep(std::time::Duration::from_millis(300));
            drop(first);
        });
        let second = Store::open(dir.path()).expect("opens once the first store is closed");
        closer.join().unwrap();
        drop(second);
    }

    fn verbatim(text: &str, external_id: Option<&str>) -> Verbatim {
        Verbatim {
            seq: 0,
            workspace: "ws".into(),
            source: Source::Ticket,
            external_id: external_id.map(str::to_string),
            text: text.into(),
            created_at: 1,
            received_at: 2,
            customer_id: None,
            account_id: None,
            language: None,
            metadata: Default::default(),
            scores: Default::default(),
            tags: Default::default(),
            theme: None,
        }
    }

    /// Inserts through the group-commit writer, each verbatim with a digest of its text.
    fn insert(store: &Store, workspace: &str, items: &[Verbatim]) -> StoreResult<Vec<Inserted>> {
        let records = items
            .iter()
            .map(|v| NewRecord {
                verbatim: v.clone(),
                digest: digest_of(&v.text),
            })
            .collect();
        store.insert_blocking(workspace, records)
    }

    fn digest_of(text: &str) -> ContentDigest {
        let mut digest = [0; 16];
        for (i, b) in text.bytes().enumerate() {
            digest[i % 16] ^= b;
        }
        digest
    }

    #[test]
    fn external_ids_are_idempotent_within_and_across_batches() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        let out = insert(
            &store,
            "ws",
            &[
                verbatim("a", Some("1")),
                verbatim("a", Some("1")),
                verbatim("c", None),
            ],
        )
        .unwrap();
        assert_eq!(
            out,
            vec![
                Inserted::Created(1),
                Inserted::Duplicate(1),
                Inserted::Created(2)
            ]
        );
        let again = insert(&store, "ws", &[verbatim("a", Some("1"))]).unwrap();
        assert_eq!(again, vec![Inserted::Duplicate(1)]);
        // Another workspace has its own keys.
        let other = insert(&store, "other", &[verbatim("a", Some("1"))]).unwrap();
        assert_eq!(other, vec![Inserted::Created(3)]);
        assert_eq!(store.get("ws", 1).unwrap().unwrap().text, "a");
        assert_eq!(store.get("other", 1).unwrap(), None);
    }

    #[test]
    fn a_reused_key_with_other_content_is_a_conflict_and_changes_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        insert(&store, "ws", &[verbatim("a", Some("1"))]).unwrap();
        let out = insert(
            &store,
            "ws",
            &[verbatim("b", Some("1")), verbatim("a", Some("1"))],
        )
        .unwrap();
        assert_eq!(out, vec![Inserted::Conflict(1), Inserted::Duplicate(1)]);
        assert_eq!(store.get("ws", 1).unwrap().unwrap().text, "a");
        assert_eq!(store.last_seq(), 1);
        assert_eq!(
            store.existing("ws", Source::Ticket, "1").unwrap(),
            Some((1, Some(digest_of("a"))))
        );
    }

    #[test]
    fn keys_kept_before_digests_compare_the_stored_text() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        insert(&store, "ws", &[verbatim("a", Some("1"))]).unwrap();
        // What an older build wrote: the sequence number alone.
        let key = idempotency_key("ws", Source::Ticket, "1");
        store
            .log
            .idempotency
            .insert(&key, &1u64.to_be_bytes())
            .unwrap();
        assert_eq!(
            store.existing("ws", Source::Ticket, "1").unwrap(),
            Some((1, None))
        );
        let out = insert(
            &store,
            "ws",
            &[verbatim("a", Some("1")), verbatim("b", Some("1"))],
        )
        .unwrap();
        assert_eq!(out, vec![Inserted::Duplicate(1), Inserted::Conflict(1)]);
    }

    #[test]
    fn concurrent_writers_share_group_commits_and_lose_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let store = std::sync::Arc::new(Store::open(dir.path()).unwrap());
        let writers: Vec<_> = (0..16)
            .map(|w| {
                let store = store.clone();
                std::thread::spawn(move || {
                    let durable = store.subscribe_durable();
                    for i in 0..25 {
                        let id = format!("{w}-{i}");
                        let out = insert(&store, "ws", &[verbatim(&id, Some(&id))]).unwrap();
                        assert!(matches!(out[..], [Inserted::Created(_)]));
                        // Acknowledged means durable.
                        let Inserted::Created(seq) = out[0] else {
                            unreachable!()
                        };
                        assert!(*durable.borrow() >= seq);
                    }
                })
            })
            .collect();
        for writer in writers {
            writer.join().unwrap();
        }
        assert_eq!(store.count("ws"), 400);
        assert_eq!(store.last_seq(), 400);
        assert_eq!(*store.subscribe_durable().borrow(), 400);
    }

    #[test]
    fn delete_frees_the_key_and_logs_a_change() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        insert(&store, "ws", &[verbatim("a", Some("x"))]).unwrap();
        assert_eq!(store.delete("ws", 1).unwrap(), Some(2));
        assert_eq!(store.delete("ws", 1).unwrap(), None);
        assert_eq!(store.get("ws", 1).unwrap(), None);
        let changes = store.changes_after(0, 10).unwrap();
        assert_eq!(changes.len(), 2);
        assert!(matches!(changes[1], (2, Change::Delete { seq: 1, .. })));
        let again = insert(&store, "ws", &[verbatim("a", Some("x"))]).unwrap();
        assert_eq!(again, vec![Inserted::Created(3)]);
        store.trim_changes(2).unwrap();
        assert_eq!(store.changes_after(0, 10).unwrap().len(), 1);
    }

    #[test]
    fn updates_rewrite_records_and_log_changes() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        insert(&store, "ws", &[verbatim("a", None), verbatim("b", None)]).unwrap();
        insert(&store, "other", &[verbatim("c", None)]).unwrap();
        assert_eq!(store.workspace_seqs("ws", 0, 10).unwrap(), vec![1, 2]);
        assert_eq!(store.workspaces().unwrap(), ["other", "ws"]);
        assert_eq!(store.workspace_seqs("ws", 1, 10).unwrap(), vec![2]);
        let out = store
            .update("ws", &[2, 9], |v| {
                v.text.push('!');
                true
            })
            .unwrap();
        assert_eq!(out[0].as_ref().unwrap().text, "b!");
        assert!(out[1].is_none());
        assert_eq!(store.get("ws", 2).unwrap().unwrap().text, "b!");
        let last = store.changes_after(3, 10).unwrap();
        assert!(matches!(
            last.as_slice(),
            [(4, Change::Upsert { seq: 2, .. })]
        ));
    }

    #[test]
    fn sequence_and_records_survive_reopen() {
        let dir = tempfile::tempdir().unwrap();
        {
            let store = Store::open(dir.path()).unwrap();
            insert(&store, "ws", &[verbatim("a", None), verbatim("b", None)]).unwrap();
            store.flush_blocking().unwrap();
        }
        let store = Store::open(dir.path()).unwrap();
        assert_eq!(store.last_seq(), 2);
        assert_eq!(*store.subscribe_durable().borrow(), 2);
        assert_eq!(store.count("ws"), 2);
        let out = insert(&store, "ws", &[verbatim("c", None)]).unwrap();
        assert_eq!(out, vec![Inserted::Created(3)]);
    }
}
