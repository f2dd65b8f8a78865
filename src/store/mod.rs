//! The store: sled, the source of truth. Verbatims, idempotency keys, and a change log the search
//! index follows. Everything else can be rebuilt from here.
//!
//! Trees and keys (every verbatim key starts with its workspace):
//! - `verbatims`: `{workspace}\0{seq:u64 be}` → JSON record
//! - `idempotency`: `{workspace}\0{source code}{external_id}` → `seq` (u64 be)
//! - `changes`: `{seq:u64 be}` → JSON [`Change`]; trimmed once the index has committed past it
//! - `taxonomies`: `{workspace}\0` → JSON [`StoredTaxonomy`]
//! - `docs`: `{workspace}\0{kind}\0{name}` → JSON: every [`DocKind`] (themes, theme models,
//!   counters, alerts, rules, webhooks, deliveries, events), each with one writer
//! - `outbox`: `{due:u64 be}{workspace}\0{delivery}` → empty: webhook deliveries waiting for their
//!   next attempt, in due order. Written in the same transaction as the documents they belong to.
//! - `meta`: `schema_version`, `last_seq`
//!
//! Writes are serialised by one lock so sequence numbers commit in order, which is what lets the
//! index follow the change log with a single watermark. A write is durable only after [`Store::flush`].

mod docs;
mod keys;

use std::sync::Mutex;

use serde::{Deserialize, Serialize};
use sled::transaction::ConflictableTransactionError;
use sled::Transactional;
use tokio::sync::watch;

pub use self::docs::{DocBatch, DocKind, OutboxEntry};
use self::keys::{
    corrupt, decode_change, decode_record, decode_u64, encode_change, encode_record,
    idempotency_key, tx_error, verbatim_key, workspace_prefix,
};
use crate::model::{Source, Verbatim};

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

/// What happened to one item of a batch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Inserted {
    Created(u64),
    /// The idempotency key was already taken by this verbatim.
    Duplicate(u64),
}

/// The durable store. One per process.
pub struct Store {
    db: sled::Db,
    verbatims: sled::Tree,
    idempotency: sled::Tree,
    changes: sled::Tree,
    meta: sled::Tree,
    taxonomies: sled::Tree,
    docs: sled::Tree,
    outbox: sled::Tree,
    /// The last assigned sequence number; held while writing.
    last_seq: Mutex<u64>,
    durable: watch::Sender<u64>,
}

const META_SCHEMA: &[u8] = b"schema_version";
const META_LAST_SEQ: &[u8] = b"last_seq";

impl Store {
    /// Opens (or creates) the store in `path`.
    pub fn open(path: &std::path::Path) -> StoreResult<Store> {
        let db = sled::Config::new().path(path).open()?;
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
        Ok(Store {
            verbatims: db.open_tree("verbatims")?,
            idempotency: db.open_tree("idempotency")?,
            changes: db.open_tree("changes")?,
            taxonomies: db.open_tree("taxonomies")?,
            docs: db.open_tree("docs")?,
            outbox: db.open_tree("outbox")?,
            meta,
            db,
            last_seq: Mutex::new(last_seq),
            durable: watch::Sender::new(last_seq),
        })
    }

    /// Writes a batch of validated verbatims of one workspace in one transaction. Items whose
    /// `(workspace, source, external_id)` already exists (in the store or earlier in the batch)
    /// are reported as duplicates and change nothing. Blocking; not durable until [`Store::flush`].
    pub fn insert_batch(&self, workspace: &str, items: &[Verbatim]) -> StoreResult<Vec<Inserted>> {
        let records: Vec<Vec<u8>> = items.iter().map(encode_record).collect();
        let keys: Vec<Option<Vec<u8>>> = items
            .iter()
            .map(|v| {
                v.external_id
                    .as_deref()
                    .map(|ext| idempotency_key(workspace, v.source, ext))
            })
            .collect();
        let mut last_seq = self.last_seq.lock().expect("store lock poisoned");
        let start = *last_seq;
        let result = (
            &self.verbatims,
            &self.idempotency,
            &self.changes,
            &self.meta,
        )
            .transaction(|(verbatims, idempotency, changes, meta)| {
                let mut seq = start;
                let mut outcomes = Vec::with_capacity(items.len());
                let mut taken: std::collections::HashMap<&[u8], u64> = Default::default();
                for (record, key) in records.iter().zip(&keys) {
                    if let Some(key) = key {
                        let existing = match taken.get(key.as_slice()) {
                            Some(&seq) => Some(seq),
                            None => idempotency
                                .get(key)?
                                .map(|raw| decode_u64(key, &raw))
                                .transpose()
                                .map_err(ConflictableTransactionError::Abort)?,
                        };
                        if let Some(existing) = existing {
                            outcomes.push(Inserted::Duplicate(existing));
                            continue;
                        }
                        seq += 1;
                        taken.insert(key, seq);
                        idempotency.insert(key.as_slice(), &seq.to_be_bytes())?;
                    } else {
                        seq += 1;
                    }
                    verbatims.insert(verbatim_key(workspace, seq), record.as_slice())?;
                    let change = Change::Upsert {
                        workspace: workspace.to_string(),
                        seq,
                    };
                    changes.insert(&seq.to_be_bytes(), encode_change(&change))?;
                    outcomes.push(Inserted::Created(seq));
                }
                meta.insert(META_LAST_SEQ, &seq.to_be_bytes())?;
                Ok((outcomes, seq))
            });
        let (outcomes, seq) = result.map_err(tx_error)?;
        *last_seq = seq;
        Ok(outcomes)
    }

    /// The verbatim already holding an idempotency key, if any.
    pub fn existing(
        &self,
        workspace: &str,
        source: Source,
        external_id: &str,
    ) -> StoreResult<Option<u64>> {
        let key = idempotency_key(workspace, source, external_id);
        self.idempotency
            .get(&key)?
            .map(|raw| decode_u64(&key, &raw))
            .transpose()
    }

    /// Erases a verbatim and frees its idempotency key. Returns the change's sequence number, or
    /// `None` when no such verbatim exists. Blocking; not durable until [`Store::flush`].
    pub fn delete(&self, workspace: &str, seq: u64) -> StoreResult<Option<u64>> {
        let mut last_seq = self.last_seq.lock().expect("store lock poisoned");
        let change_seq = *last_seq + 1;
        let key = verbatim_key(workspace, seq);
        let result = (
            &self.verbatims,
            &self.idempotency,
            &self.changes,
            &self.meta,
        )
            .transaction(|(verbatims, idempotency, changes, meta)| {
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
            });
        let outcome = result.map_err(tx_error)?;
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
        let mut last_seq = self.last_seq.lock().expect("store lock poisoned");
        let start = *last_seq;
        let result = (&self.verbatims, &self.changes, &self.meta).transaction(
            |(verbatims, changes, meta)| {
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
            },
        );
        let (out, change_seq) = result.map_err(tx_error)?;
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
        self.verbatims
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
        let value = serde_json::to_vec(taxonomy).expect("a taxonomy always serialises");
        self.taxonomies.insert(workspace_prefix(workspace), value)?;
        Ok(())
    }

    /// Makes every write so far durable, then publishes the new durable sequence to followers.
    pub async fn flush(&self) -> StoreResult<()> {
        let upto = self.last_seq();
        self.db.flush_async().await?;
        self.durable.send_if_modified(|durable| {
            let advanced = upto > *durable;
            if advanced {
                *durable = upto;
            }
            advanced
        });
        Ok(())
    }

    /// Blocking flush, for shutdown and offline tools.
    pub fn flush_blocking(&self) -> StoreResult<()> {
        let upto = self.last_seq();
        self.db.flush()?;
        self.durable.send_if_modified(|durable| {
            let advanced = upto > *durable;
            *durable = upto.max(*durable);
            advanced
        });
        Ok(())
    }

    /// The last sequence number assigned.
    pub fn last_seq(&self) -> u64 {
        *self.last_seq.lock().expect("store lock poisoned")
    }

    /// Follows the last durable sequence number.
    pub fn subscribe_durable(&self) -> watch::Receiver<u64> {
        self.durable.subscribe()
    }

    /// Reads one verbatim.
    pub fn get(&self, workspace: &str, seq: u64) -> StoreResult<Option<Verbatim>> {
        let key = verbatim_key(workspace, seq);
        self.verbatims
            .get(&key)?
            .map(|raw| decode_record(&key, &raw))
            .transpose()
    }

    /// Up to `limit` change-log entries after `after`, in order.
    pub fn changes_after(&self, after: u64, limit: usize) -> StoreResult<Vec<(u64, Change)>> {
        let start = after.saturating_add(1).to_be_bytes();
        self.changes
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
        let mut batch = sled::Batch::default();
        for key in self.changes.range(..=upto.to_be_bytes()).keys() {
            batch.remove(key?);
        }
        self.changes.apply_batch(batch)?;
        Ok(())
    }

    /// Every verbatim of a workspace, in arrival order.
    pub fn workspace_verbatims(&self, workspace: &str) -> StoreResult<Vec<Verbatim>> {
        self.verbatims
            .scan_prefix(workspace_prefix(workspace))
            .map(|entry| {
                let (key, raw) = entry?;
                decode_record(&key, &raw)
            })
            .collect()
    }

    /// Every stored verbatim of every workspace, in key order.
    pub fn iter_all(&self) -> impl Iterator<Item = StoreResult<Verbatim>> + '_ {
        self.verbatims.iter().map(|entry| {
            let (key, raw) = entry?;
            decode_record(&key, &raw)
        })
    }

    /// Every workspace that holds verbatims, in order.
    pub fn workspaces(&self) -> StoreResult<Vec<String>> {
        let mut found = Vec::new();
        let mut from: Vec<u8> = Vec::new();
        while let Some(entry) = self.verbatims.range(from.clone()..).keys().next() {
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
        self.verbatims
            .scan_prefix(workspace_prefix(workspace))
            .count()
    }

    /// Bytes the store occupies on disk.
    pub fn size_on_disk(&self) -> StoreResult<u64> {
        Ok(self.db.size_on_disk()?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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

    #[test]
    fn external_ids_are_idempotent_within_and_across_batches() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        let out = store
            .insert_batch(
                "ws",
                &[
                    verbatim("a", Some("1")),
                    verbatim("b", Some("1")),
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
        let again = store
            .insert_batch("ws", &[verbatim("a", Some("1"))])
            .unwrap();
        assert_eq!(again, vec![Inserted::Duplicate(1)]);
        // Another workspace has its own keys.
        let other = store
            .insert_batch("other", &[verbatim("a", Some("1"))])
            .unwrap();
        assert_eq!(other, vec![Inserted::Created(3)]);
        assert_eq!(store.get("ws", 1).unwrap().unwrap().text, "a");
        assert_eq!(store.get("other", 1).unwrap(), None);
    }

    #[test]
    fn delete_frees_the_key_and_logs_a_change() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        store
            .insert_batch("ws", &[verbatim("a", Some("x"))])
            .unwrap();
        assert_eq!(store.delete("ws", 1).unwrap(), Some(2));
        assert_eq!(store.delete("ws", 1).unwrap(), None);
        assert_eq!(store.get("ws", 1).unwrap(), None);
        let changes = store.changes_after(0, 10).unwrap();
        assert_eq!(changes.len(), 2);
        assert!(matches!(changes[1], (2, Change::Delete { seq: 1, .. })));
        let again = store
            .insert_batch("ws", &[verbatim("a", Some("x"))])
            .unwrap();
        assert_eq!(again, vec![Inserted::Created(3)]);
        store.trim_changes(2).unwrap();
        assert_eq!(store.changes_after(0, 10).unwrap().len(), 1);
    }

    #[test]
    fn updates_rewrite_records_and_log_changes() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        store
            .insert_batch("ws", &[verbatim("a", None), verbatim("b", None)])
            .unwrap();
        store.insert_batch("other", &[verbatim("c", None)]).unwrap();
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
            store
                .insert_batch("ws", &[verbatim("a", None), verbatim("b", None)])
                .unwrap();
            store.flush_blocking().unwrap();
        }
        let store = Store::open(dir.path()).unwrap();
        assert_eq!(store.last_seq(), 2);
        assert_eq!(*store.subscribe_durable().borrow(), 2);
        assert_eq!(store.count("ws"), 2);
        let out = store.insert_batch("ws", &[verbatim("c", None)]).unwrap();
        assert_eq!(out, vec![Inserted::Created(3)]);
    }
}
