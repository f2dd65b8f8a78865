//! The store: sled, the source of truth. Verbatims, idempotency keys, and a change log the search
//! index follows. Everything else can be rebuilt from here.
//!
//! Two kinds of numbers: a verbatim's **number** counts its workspace's verbatims (1, 2, 3, …; it
//! is the key, the public id, what idempotency keys and themes point at, and says nothing about
//! other workspaces), and the **change sequence** counts every logged write of the store (the
//! change log's key, the order the index follows with a single watermark; never shown).
//!
//! Trees and keys (every verbatim key starts with its workspace):
//! - `verbatims`: `{workspace}\0{number:u64 be}` → JSON record
//! - `idempotency`: `{workspace}\0{source code}{external_id}` → the verbatim's number (u64 be) and
//!   the digest of the content first submitted under the key (16 bytes; absent in keys written
//!   before digests)
//! - `changes`: `{change seq:u64 be}` → JSON [`Change`] naming `(workspace, number)`; trimmed once
//!   the index has committed past it
//! - `taxonomies`: `{workspace}\0` → JSON [`StoredTaxonomy`]
//! - `docs`: `{workspace}\0{kind}\0{name}` → JSON: every [`DocKind`] (themes, theme models,
//!   counters, alerts, rules, webhooks, deliveries, events), each with one writer
//! - `outbox`: `{due:u64 be}{workspace}\0{delivery}` → empty: webhook deliveries waiting for their
//!   next attempt, in due order. Written in the same transaction as the documents they belong to.
//! - `meta`: `schema_version`, `last_seq` (the last change sequence), `page_token_key`, and per
//!   workspace `{workspace}\0` → the last verbatim number it gave (u64 be), written in the same
//!   transaction as the verbatims that take numbers, so an erased verbatim's number is never
//!   given again
//!
//! Writes that take numbers are serialised by one lock so both kinds commit in order: that lets
//! the index follow the change log with a single watermark, and means a workspace's numbers are
//! indexed in order. New verbatims go through the group-commit [`writer`], the only place that
//! flushes; any other write is durable only after [`Store::flush`].
//!
//! Schema versions: 1 numbered verbatims with the change sequence (one store-wide counter, so a
//! workspace's ids showed how much every other workspace wrote). Version 2 gives each workspace
//! its own counter; opening a version 1 store migrates it: every verbatim keeps its number (and
//! so its id; the old numbers are unique within each workspace too), and each workspace's counter
//! starts after the largest number it holds. On every open the counters are checked against the
//! verbatims' keys (one seek per workspace) and raised where they are behind.

mod docs;
mod keys;
mod space;
mod writer;

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};

use serde::{Deserialize, Serialize};
use sled::transaction::ConflictableTransactionError;
use sled::Transactional;
use tokio::sync::watch;

pub use self::docs::{DocBatch, DocKind, OutboxEntry, SYSTEM};
use self::keys::{
    corrupt, decode_change, decode_idempotency, decode_record, decode_u64, decode_verbatim_key,
    encode_change, encode_record, idempotency_key, number_key, number_key_workspace, tx_error,
    verbatim_key, workspace_prefix,
};
use self::space::Space;
use self::writer::{Log, Sequences, Writer};
use crate::model::{ContentDigest, Source, Verbatim};

/// The on-disk layout version this code writes (it opens version 1 too, migrating it).
pub const SCHEMA_VERSION: u64 = 2;
/// The version before per-workspace numbers.
const SCHEMA_GLOBAL_NUMBERS: u64 = 1;

/// Store errors.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("storage error: {0}")]
    Sled(#[from] sled::Error),
    #[error("corrupt record {key}: {message}")]
    Corrupt { key: String, message: String },
    #[error(
        "store schema version {found} is not supported (this build reads 1 to {SCHEMA_VERSION})"
    )]
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

/// One entry of the change log (keyed by its change sequence number).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "snake_case")]
pub enum Change {
    /// The workspace's verbatim `number` was created (or must be re-indexed).
    Upsert {
        workspace: String,
        /// Written as `seq` by schema version 1, whose numbers were change sequence numbers.
        #[serde(alias = "seq")]
        number: u64,
    },
    /// The workspace's verbatim `number` was erased.
    Delete {
        workspace: String,
        #[serde(alias = "seq")]
        number: u64,
    },
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

/// What happened to one item of a batch, with the verbatim's number in its workspace.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Inserted {
    Created(u64),
    /// The idempotency key was already taken by this verbatim, with the same content.
    Duplicate(u64),
    /// The idempotency key was already taken by this verbatim, with other content: nothing was
    /// written.
    Conflict(u64),
}

/// What an insert did: one outcome per record, in order, and the change sequence number that
/// covers them (once the index reaches it, every verbatim created or found is searchable).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Insertion {
    pub outcomes: Vec<Inserted>,
    pub logged: u64,
}

/// An idempotency key's verbatim (its number) and the digest of the content first submitted under it (`None`
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
        let verbatims = db.open_tree("verbatims")?;
        let version = match meta.get(META_SCHEMA)? {
            None => {
                meta.insert(META_SCHEMA, &SCHEMA_VERSION.to_be_bytes())?;
                SCHEMA_VERSION
            }
            Some(raw) => {
                let found = decode_u64(META_SCHEMA, &raw)?;
                if found != SCHEMA_VERSION && found != SCHEMA_GLOBAL_NUMBERS {
                    return Err(StoreError::SchemaVersion { found });
                }
                found
            }
        };
        let last_seq = match meta.get(META_LAST_SEQ)? {
            Some(raw) => decode_u64(META_LAST_SEQ, &raw)?,
            None => 0,
        };
        let numbers = open_numbers(&verbatims, &meta, version, space.is_read_only())?;
        let log = Log {
            verbatims,
            idempotency: db.open_tree("idempotency")?,
            changes: db.open_tree("changes")?,
            meta,
            sequences: Arc::new(Mutex::new(Sequences { last_seq, numbers })),
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

    /// The sequence lock: held by every write that takes numbers. A panic while it was held
    /// leaves the numbers it guards intact (a transaction either committed them or not), so a
    /// poisoned lock is taken over.
    fn sequence(&self) -> MutexGuard<'_, Sequences> {
        self.log.sequences.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Inserts validated verbatims of one workspace through the group-commit writer and answers
    /// once they are durable; each new one takes the workspace's next number. An item whose `(workspace, source, external_id)` is already taken
    /// (in the store, earlier in the batch, or by a concurrent caller) changes nothing: it is a
    /// [`Inserted::Duplicate`] when its content matches, else an [`Inserted::Conflict`].
    pub async fn insert(&self, workspace: &str, records: Vec<NewRecord>) -> StoreResult<Insertion> {
        self.writer.insert(workspace, records).await
    }

    /// [`Store::insert`] for blocking threads and offline tools.
    pub fn insert_blocking(
        &self,
        workspace: &str,
        records: Vec<NewRecord>,
    ) -> StoreResult<Insertion> {
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

    /// Erases a verbatim (by its number) and frees its idempotency key; its number is not given
    /// again. Returns the change's sequence number, or `None` when no such verbatim exists.
    /// Blocking; not durable until [`Store::flush`].
    pub fn delete(&self, workspace: &str, number: u64) -> StoreResult<Option<u64>> {
        self.writable()?;
        let mut sequences = self.sequence();
        let change_seq = sequences.last_seq + 1;
        let key = verbatim_key(workspace, number);
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
                    number,
                };
                changes.insert(&change_seq.to_be_bytes(), encode_change(&change))?;
                meta.insert(META_LAST_SEQ, &change_seq.to_be_bytes())?;
                Ok(Some(change_seq))
            },
        );
        let outcome = result.map_err(|e| self.noticed(tx_error(e)))?;
        if outcome.is_some() {
            sequences.last_seq = change_seq;
        }
        Ok(outcome)
    }

    /// Rewrites stored verbatims (by number) with `change` (which returns whether it changed
    /// anything) in one transaction, logging each rewrite for the index. Returns the verbatims as
    /// now stored (`None` where no such verbatim exists). Blocking; not durable until
    /// [`Store::flush`].
    pub fn update(
        &self,
        workspace: &str,
        numbers: &[u64],
        change: impl Fn(&mut Verbatim) -> bool,
    ) -> StoreResult<Vec<Option<Verbatim>>> {
        self.writable()?;
        let mut sequences = self.sequence();
        let start = sequences.last_seq;
        let log = &self.log;
        let result =
            (&log.verbatims, &log.changes, &log.meta).transaction(|(verbatims, changes, meta)| {
                let mut change_seq = start;
                let mut out = Vec::with_capacity(numbers.len());
                for &number in numbers {
                    let key = verbatim_key(workspace, number);
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
                            number,
                        };
                        changes.insert(&change_seq.to_be_bytes(), encode_change(&entry))?;
                    }
                    out.push(Some(record));
                }
                meta.insert(META_LAST_SEQ, &change_seq.to_be_bytes())?;
                Ok((out, change_seq))
            });
        let (out, change_seq) = result.map_err(|e| self.noticed(tx_error(e)))?;
        sequences.last_seq = change_seq;
        Ok(out)
    }

    /// Numbers of a workspace's verbatims after `after`, in order, at most `limit`.
    pub fn workspace_numbers(
        &self,
        workspace: &str,
        after: u64,
        limit: usize,
    ) -> StoreResult<Vec<u64>> {
        let start = verbatim_key(workspace, after.saturating_add(1));
        self.log
            .verbatims
            .range(start..workspace_end(workspace))
            .keys()
            .take(limit)
            .map(|key| Ok(decode_verbatim_key(&key?)?.1))
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
    /// thread), then publishes the new durable change sequence to followers.
    pub async fn flush(&self) -> StoreResult<()> {
        self.writer.flush().await
    }

    /// [`Store::flush`] for blocking threads and offline tools.
    pub fn flush_blocking(&self) -> StoreResult<()> {
        self.writer.flush_blocking()
    }

    /// The last change sequence number assigned.
    pub fn last_seq(&self) -> u64 {
        self.sequence().last_seq
    }

    /// The last number a workspace gave a verbatim (0 before its first).
    pub fn last_number(&self, workspace: &str) -> u64 {
        self.sequence().numbers.get(workspace).copied().unwrap_or(0)
    }

    /// Follows the last durable change sequence number.
    pub fn subscribe_durable(&self) -> watch::Receiver<u64> {
        self.log.durable.subscribe()
    }

    /// Reads one verbatim, by its number.
    pub fn get(&self, workspace: &str, number: u64) -> StoreResult<Option<Verbatim>> {
        let key = verbatim_key(workspace, number);
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

    /// Every stored verbatim of every workspace, in key order (by workspace, then number).
    pub fn iter_all(&self) -> impl Iterator<Item = StoreResult<Verbatim>> + '_ {
        self.log.verbatims.iter().map(|entry| {
            let (key, raw) = entry?;
            decode_record(&key, &raw)
        })
    }

    /// Every workspace that holds verbatims, in order.
    pub fn workspaces(&self) -> StoreResult<Vec<String>> {
        workspaces(&self.log.verbatims)
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

/// The first key after every verbatim key of a workspace.
fn workspace_end(workspace: &str) -> Vec<u8> {
    let mut end = workspace_prefix(workspace);
    *end.last_mut().expect("prefix ends with a separator") += 1;
    end
}

/// Every workspace that holds verbatims, in order: one seek per workspace.
fn workspaces(verbatims: &sled::Tree) -> StoreResult<Vec<String>> {
    let mut found = Vec::new();
    let mut from: Vec<u8> = Vec::new();
    while let Some(entry) = verbatims.range(from.clone()..).keys().next() {
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

/// Every workspace's last verbatim number, as kept in `meta`, raised to the largest number it
/// holds where it is behind (a version 1 store keeps none: this is its migration). Writes the
/// counters it raised and the schema version, unless the store starts read-only (then the
/// counters live in memory, each insert writes its workspace's, and the next open does this
/// again).
fn open_numbers(
    verbatims: &sled::Tree,
    meta: &sled::Tree,
    version: u64,
    read_only: bool,
) -> StoreResult<HashMap<String, u64>> {
    let mut numbers = HashMap::new();
    for entry in meta.iter() {
        let (key, raw) = entry?;
        if let Some(workspace) = number_key_workspace(&key) {
            let workspace = String::from_utf8_lossy(workspace).into_owned();
            numbers.insert(workspace, decode_u64(&key, &raw)?);
        }
    }
    let mut raised = sled::Batch::default();
    let mut changed = false;
    for workspace in workspaces(verbatims)? {
        let start = workspace_prefix(&workspace);
        let Some(last) = verbatims
            .range(start..workspace_end(&workspace))
            .keys()
            .next_back()
        else {
            continue;
        };
        let largest = decode_verbatim_key(&last?)?.1;
        let kept = numbers.entry(workspace.clone()).or_insert(0);
        if *kept < largest {
            if version != SCHEMA_GLOBAL_NUMBERS {
                tracing::warn!(
                    workspace,
                    kept = *kept,
                    largest,
                    "a workspace's verbatim counter was behind its verbatims; raised"
                );
            }
            *kept = largest;
            raised.insert(number_key(&workspace), &largest.to_be_bytes());
            changed = true;
        }
    }
    if version != SCHEMA_VERSION {
        raised.insert(META_SCHEMA, &SCHEMA_VERSION.to_be_bytes());
        changed = true;
    }
    if changed && !read_only {
        meta.apply_batch(raised)?;
        if version != SCHEMA_VERSION {
            tracing::info!(
                from = version,
                to = SCHEMA_VERSION,
                workspaces = numbers.len(),
                "store migrated: every workspace now numbers its own verbatims"
            );
        }
    }
    Ok(numbers)
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
            external_id: external_id.map(str::to_string),
            ..Verbatim::example("ws", text)
        }
    }

    /// Inserts through the group-commit writer, each verbatim with a digest of its text.
    fn insert(store: &Store, workspace: &str, items: &[Verbatim]) -> StoreResult<Vec<Inserted>> {
        Ok(insert_logged(store, workspace, items)?.outcomes)
    }

    fn insert_logged(store: &Store, workspace: &str, items: &[Verbatim]) -> StoreResult<Insertion> {
        let records = items
            .iter()
            .map(|v| NewRecord {
                verbatim: Verbatim {
                    workspace: workspace.to_string(),
                    ..v.clone()
                },
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
        // Another workspace has its own keys (and its own numbers).
        let other = insert(&store, "other", &[verbatim("a", Some("1"))]).unwrap();
        assert_eq!(other, vec![Inserted::Created(1)]);
        assert_eq!(store.get("ws", 1).unwrap().unwrap().text, "a");
        assert_eq!(store.get("ws", 2).unwrap().unwrap().text, "c");
        assert_eq!(store.get("other", 2).unwrap(), None);
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
                        let out = insert_logged(&store, "ws", &[verbatim(&id, Some(&id))]).unwrap();
                        assert!(matches!(out.outcomes[..], [Inserted::Created(_)]));
                        // Acknowledged means durable.
                        assert!(*durable.borrow() >= out.logged);
                    }
                })
            })
            .collect();
        for writer in writers {
            writer.join().unwrap();
        }
        assert_eq!(store.count("ws"), 400);
        assert_eq!(store.last_seq(), 400);
        assert_eq!(store.last_number("ws"), 400);
        assert_eq!(
            store.workspace_numbers("ws", 0, 1000).unwrap(),
            (1..=400).collect::<Vec<_>>()
        );
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
        assert!(matches!(changes[1], (2, Change::Delete { number: 1, .. })));
        // The key is free; the erased verbatim's number is never given again.
        let again = insert(&store, "ws", &[verbatim("a", Some("x"))]).unwrap();
        assert_eq!(again, vec![Inserted::Created(2)]);
        store.trim_changes(2).unwrap();
        assert_eq!(store.changes_after(0, 10).unwrap().len(), 1);
    }

    #[test]
    fn updates_rewrite_records_and_log_changes() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        insert(&store, "ws", &[verbatim("a", None), verbatim("b", None)]).unwrap();
        insert(&store, "other", &[verbatim("c", None)]).unwrap();
        assert_eq!(store.workspace_numbers("ws", 0, 10).unwrap(), vec![1, 2]);
        assert_eq!(store.workspaces().unwrap(), ["other", "ws"]);
        assert_eq!(store.workspace_numbers("ws", 1, 10).unwrap(), vec![2]);
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
            [(4, Change::Upsert { number: 2, .. })]
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

    #[test]
    fn each_workspace_numbers_its_own_verbatims() {
        let dir = tempfile::tempdir().unwrap();
        {
            let store = Store::open(dir.path()).unwrap();
            for (workspace, text) in [("a", "a1"), ("b", "b1"), ("a", "a2"), ("b", "b2")] {
                insert(&store, workspace, &[verbatim(text, None)]).unwrap();
            }
            let many: Vec<Verbatim> = (0..37).map(|i| verbatim(&format!("b{i}"), None)).collect();
            insert(&store, "b", &many).unwrap();
            let out = insert(&store, "a", &[verbatim("a3", None)]).unwrap();
            // 37 verbatims of b did not move a's numbers.
            assert_eq!(out, vec![Inserted::Created(3)]);
            assert_eq!((store.last_number("a"), store.last_number("b")), (3, 39));
            assert_eq!(store.last_seq(), 42);
            assert_eq!(store.get("a", 2).unwrap().unwrap().text, "a2");
            assert_eq!(store.get("b", 2).unwrap().unwrap().text, "b2");
            // The change log keeps the store-wide order and names (workspace, number).
            let changes = store.changes_after(0, 3).unwrap();
            assert_eq!(
                changes,
                [("a", 1), ("b", 1), ("a", 2)]
                    .into_iter()
                    .enumerate()
                    .map(|(i, (workspace, number))| (
                        i as u64 + 1,
                        Change::Upsert {
                            workspace: workspace.into(),
                            number
                        }
                    ))
                    .collect::<Vec<_>>()
            );
            // Erasing a workspace's newest verbatim does not give its number again, even after a
            // restart.
            assert_eq!(store.delete("a", 3).unwrap(), Some(43));
            store.flush_blocking().unwrap();
        }
        let store = Store::open(dir.path()).unwrap();
        assert_eq!((store.last_number("a"), store.last_number("b")), (3, 39));
        let out = insert(&store, "a", &[verbatim("a4", None)]).unwrap();
        assert_eq!(out, vec![Inserted::Created(4)]);
        let out = insert(&store, "new", &[verbatim("n1", None)]).unwrap();
        assert_eq!(out, vec![Inserted::Created(1)]);
    }

    #[test]
    fn a_version_1_store_keeps_its_ids_and_numbers_on_per_workspace() {
        let dir = tempfile::tempdir().unwrap();
        // What version 1 wrote: one store-wide sequence numbering every verbatim (a: 1, 3, 4;
        // b: 2, 5), idempotency keys holding it, and change-log entries calling it `seq`.
        {
            let db = sled::Config::new().path(dir.path()).open().unwrap();
            let meta = db.open_tree("meta").unwrap();
            meta.insert(META_SCHEMA, &1u64.to_be_bytes()).unwrap();
            meta.insert(META_LAST_SEQ, &5u64.to_be_bytes()).unwrap();
            let verbatims = db.open_tree("verbatims").unwrap();
            let idempotency = db.open_tree("idempotency").unwrap();
            for (workspace, seq, text) in [
                ("a", 1u64, "a one"),
                ("b", 2, "b one"),
                ("a", 3, "a two"),
                ("a", 4, "a three"),
                ("b", 5, "b two"),
            ] {
                let mut record = verbatim(text, Some(text));
                record.workspace = workspace.into();
                verbatims
                    .insert(verbatim_key(workspace, seq), encode_record(&record))
                    .unwrap();
                let key = idempotency_key(workspace, Source::Ticket, text);
                idempotency
                    .insert(key, keys::encode_idempotency(seq, &digest_of(text)))
                    .unwrap();
            }
            let changes = db.open_tree("changes").unwrap();
            changes
                .insert(
                    5u64.to_be_bytes(),
                    br#"{"op":"upsert","workspace":"b","seq":5}"#.as_slice(),
                )
                .unwrap();
            db.flush().unwrap();
        }
        let store = Store::open(dir.path()).unwrap();
        // Old ids still resolve, by number and by idempotency key.
        assert_eq!(store.get("a", 3).unwrap().unwrap().text, "a two");
        assert_eq!(store.get("b", 5).unwrap().unwrap().text, "b two");
        assert_eq!(store.get("b", 3).unwrap(), None);
        assert_eq!(
            store.existing("a", Source::Ticket, "a three").unwrap(),
            Some((4, Some(digest_of("a three"))))
        );
        let retry = insert(&store, "b", &[verbatim("b one", Some("b one"))]).unwrap();
        assert_eq!(retry, vec![Inserted::Duplicate(2)]);
        // The old change log still reads.
        assert_eq!(
            store.changes_after(0, 10).unwrap(),
            vec![(
                5,
                Change::Upsert {
                    workspace: "b".into(),
                    number: 5
                }
            )]
        );
        // New verbatims continue each workspace's own numbers; the change log the store's.
        let out = insert_logged(&store, "b", &[verbatim("b three", None)]).unwrap();
        assert_eq!(out.outcomes, vec![Inserted::Created(6)]);
        assert_eq!(out.logged, 6);
        let out = insert(
            &store,
            "a",
            &[verbatim("a four", None), verbatim("a five", None)],
        );
        assert_eq!(
            out.unwrap(),
            vec![Inserted::Created(5), Inserted::Created(6)]
        );
        let out = insert(&store, "c", &[verbatim("c one", None)]).unwrap();
        assert_eq!(out, vec![Inserted::Created(1)]);
        store.flush_blocking().unwrap();
        drop(store);

        // Migrated once: version 2, with the counters kept.
        let store = Store::open(dir.path()).unwrap();
        let version = store.log.meta.get(META_SCHEMA).unwrap().unwrap();
        assert_eq!(decode_u64(META_SCHEMA, &version).unwrap(), SCHEMA_VERSION);
        assert_eq!(
            (
                store.last_number("a"),
                store.last_number("b"),
                store.last_number("c")
            ),
            (6, 6, 1)
        );
        assert_eq!(store.last_seq(), 9);
        let out = insert(&store, "a", &[verbatim("a six", None)]).unwrap();
        assert_eq!(out, vec![Inserted::Created(7)]);
        assert_eq!(store.get("a", 1).unwrap().unwrap().text, "a one");
    }

    #[test]
    fn a_store_from_a_newer_build_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        {
            let db = sled::Config::new().path(dir.path()).open().unwrap();
            let meta = db.open_tree("meta").unwrap();
            meta.insert(META_SCHEMA, &(SCHEMA_VERSION + 1).to_be_bytes())
                .unwrap();
            db.flush().unwrap();
        }
        assert!(matches!(
            Store::open(dir.path()),
            Err(StoreError::SchemaVersion { found }) if found == SCHEMA_VERSION + 1
        ));
    }
}
