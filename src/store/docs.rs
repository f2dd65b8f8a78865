//! Workspace documents (themes, alerts, webhooks and their bookkeeping) and the webhook outbox.
//! [`DocKind`] is the one table of every document kind and the module that writes it: each kind
//! has exactly one writer. A [`DocBatch`] commits documents and outbox entries together.

use serde::Serialize;
use sled::Transactional;

use super::keys::{corrupt, decode_u64, doc_key, tx_error, workspace_prefix};
use super::{Store, StoreResult};

/// Every kind of document in the `docs` tree (key `{workspace}\0{kind}\0{name}`), with the one
/// module that writes it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DocKind {
    /// A theme, named by its id (`TH-0001`). Written by `themes`.
    Theme,
    /// The live-assignment model (`current`). Written by `themes`.
    ThemeModel,
    /// The next theme number (`next`). Written by `themes`.
    ThemeCounter,
    /// An alert, named by its id (`AL-000001`). Written by `alerts`.
    Alert,
    /// The next alert number (`next`). Written by `alerts`.
    AlertCounter,
    /// The workspace's own alert rules (`current`). Written by `alerts`.
    AlertRules,
    /// A webhook subscription (`wh_…`). Written by `webhooks`.
    Webhook,
    /// One event to one webhook (`{webhook}/{message}`). Written by `webhooks`.
    Delivery,
    /// An event body as sent (`msg_…`). Written by `webhooks`.
    WebhookEvent,
    /// The workspace's digest cadence and the last period sent (`current`). Written by
    /// `webhooks`.
    DigestSchedule,
    /// An API key (`key_…`), in the [`SYSTEM`] space. Written by `auth`.
    ApiKey,
    /// An audit event (named by time), in the [`SYSTEM`] space. Written by `audit`.
    AuditEvent,
}

/// The space of documents that belong to no workspace (keys, the audit log): the empty name,
/// which no workspace can have.
pub const SYSTEM: &str = "";

impl DocKind {
    /// The kind's name in keys. Never change one: stored data is keyed by it.
    pub const fn name(self) -> &'static str {
        match self {
            DocKind::Theme => "theme",
            DocKind::ThemeModel => "theme_model",
            DocKind::ThemeCounter => "theme_counter",
            DocKind::Alert => "alert",
            DocKind::AlertCounter => "alert_counter",
            DocKind::AlertRules => "alert_rules",
            DocKind::Webhook => "webhook",
            DocKind::Delivery => "delivery",
            DocKind::WebhookEvent => "webhook_event",
            DocKind::DigestSchedule => "digest_schedule",
            DocKind::ApiKey => "api_key",
            DocKind::AuditEvent => "audit_event",
        }
    }
}

impl Store {
    /// A workspace-scoped document of some `kind` (e.g. themes), by name.
    pub fn doc<T: serde::de::DeserializeOwned>(
        &self,
        workspace: &str,
        kind: DocKind,
        name: &str,
    ) -> StoreResult<Option<T>> {
        let key = doc_key(workspace, kind, name);
        self.docs
            .get(&key)?
            .map(|raw| serde_json::from_slice(&raw).map_err(|e| corrupt(&key, e)))
            .transpose()
    }

    /// All documents of a kind in a workspace, in name order.
    pub fn docs<T: serde::de::DeserializeOwned>(
        &self,
        workspace: &str,
        kind: DocKind,
    ) -> StoreResult<Vec<T>> {
        self.docs
            .scan_prefix(doc_key(workspace, kind, ""))
            .map(|entry| {
                let (key, raw) = entry?;
                serde_json::from_slice(&raw).map_err(|e| corrupt(&key, e))
            })
            .collect()
    }

    /// Writes workspace-scoped documents of one kind in one batch. Not durable until [`Store::flush`].
    pub fn put_docs<T: Serialize>(
        &self,
        workspace: &str,
        kind: DocKind,
        docs: &[(String, T)],
    ) -> StoreResult<()> {
        self.writable()?;
        let mut batch = sled::Batch::default();
        for (name, doc) in docs {
            let value = serde_json::to_vec(doc).expect("documents serialise");
            batch.insert(doc_key(workspace, kind, name), value);
        }
        self.watched(self.docs.apply_batch(batch))?;
        Ok(())
    }

    /// Applies a batch of document writes and outbox changes in one transaction: all or nothing.
    /// Not durable until [`Store::flush`].
    pub fn commit(&self, batch: DocBatch) -> StoreResult<()> {
        self.writable()?;
        (&self.docs, &self.outbox)
            .transaction(|(docs, outbox)| {
                for (key, value) in &batch.docs {
                    match value {
                        Some(value) => docs.insert(key.as_slice(), value.as_slice())?,
                        None => docs.remove(key.as_slice())?,
                    };
                }
                for (key, add) in &batch.outbox {
                    if *add {
                        outbox.insert(key.as_slice(), &[])?;
                    } else {
                        outbox.remove(key.as_slice())?;
                    }
                }
                Ok(())
            })
            .map_err(|e| self.noticed(tx_error(e)))
    }

    /// Outbox entries due at or before `now`, earliest first, at most `limit`.
    pub fn outbox_due(&self, now: u64, limit: usize) -> StoreResult<Vec<OutboxEntry>> {
        let end = now.saturating_add(1).to_be_bytes();
        self.outbox
            .range(..end.as_slice())
            .keys()
            .take(limit)
            .map(|key| OutboxEntry::decode(&key?))
            .collect()
    }

    /// How many deliveries wait in the outbox (a count over its keys).
    pub fn outbox_depth(&self) -> StoreResult<u64> {
        let mut depth = 0;
        for key in self.outbox.iter().keys() {
            key?;
            depth += 1;
        }
        Ok(depth)
    }

    /// When the earliest outbox entry is due.
    pub fn outbox_next_due(&self) -> StoreResult<Option<u64>> {
        match self.outbox.first()? {
            Some((key, _)) => Ok(Some(OutboxEntry::decode(&key)?.due)),
            None => Ok(None),
        }
    }
}

/// A webhook delivery waiting in the outbox.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutboxEntry {
    /// When its next attempt is due, in microseconds since the epoch.
    pub due: u64,
    pub workspace: String,
    /// The delivery document's name.
    pub delivery: String,
}

impl OutboxEntry {
    fn key(&self) -> Vec<u8> {
        let mut key = self.due.to_be_bytes().to_vec();
        key.extend_from_slice(&workspace_prefix(&self.workspace));
        key.extend_from_slice(self.delivery.as_bytes());
        key
    }

    fn decode(key: &[u8]) -> StoreResult<OutboxEntry> {
        let due = decode_u64(key, key.get(..8).ok_or_else(|| corrupt(key, "short key"))?)?;
        let rest = &key[8..];
        let end = rest
            .iter()
            .position(|&b| b == 0)
            .ok_or_else(|| corrupt(key, "no workspace separator"))?;
        Ok(OutboxEntry {
            due,
            workspace: String::from_utf8_lossy(&rest[..end]).into_owned(),
            delivery: String::from_utf8_lossy(&rest[end + 1..]).into_owned(),
        })
    }
}

/// Document writes and outbox changes that [`Store::commit`] applies together.
#[derive(Debug, Default)]
pub struct DocBatch {
    docs: Vec<(Vec<u8>, Option<Vec<u8>>)>,
    outbox: Vec<(Vec<u8>, bool)>,
}

impl DocBatch {
    /// Writes (or replaces) a document.
    pub fn put<T: Serialize>(&mut self, workspace: &str, kind: DocKind, name: &str, doc: &T) {
        let value = serde_json::to_vec(doc).expect("documents serialise");
        self.docs
            .push((doc_key(workspace, kind, name), Some(value)));
    }

    /// Removes a document.
    pub fn remove(&mut self, workspace: &str, kind: DocKind, name: &str) {
        self.docs.push((doc_key(workspace, kind, name), None));
    }

    /// Puts a delivery in the outbox.
    pub fn schedule(&mut self, entry: &OutboxEntry) {
        self.outbox.push((entry.key(), true));
    }

    /// Takes a delivery out of the outbox.
    pub fn unschedule(&mut self, entry: &OutboxEntry) {
        self.outbox.push((entry.key(), false));
    }

    pub fn is_empty(&self) -> bool {
        self.docs.is_empty() && self.outbox.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    proptest! {
        #[test]
        fn outbox_keys_round_trip_and_sort_by_due(
            due in any::<u64>(),
            other_due in any::<u64>(),
            workspace in "[a-z0-9_-]{1,64}",
            delivery in any::<String>(),
        ) {
            let entry = OutboxEntry { due, workspace, delivery };
            prop_assert_eq!(OutboxEntry::decode(&entry.key()).unwrap(), entry.clone());
            let later = OutboxEntry { due: other_due, ..entry.clone() };
            prop_assert_eq!(entry.key().cmp(&later.key()), due.cmp(&other_due));
        }

        #[test]
        fn decoding_an_arbitrary_outbox_key_never_panics(
            key in prop::collection::vec(any::<u8>(), 0..32),
        ) {
            let decoded = OutboxEntry::decode(&key);
            prop_assert_eq!(decoded.is_ok(), key.len() >= 8 && key[8..].contains(&0));
        }
    }

    #[test]
    fn doc_batches_commit_together_and_the_outbox_comes_out_in_due_order() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        let entry = |due: u64, name: &str| OutboxEntry {
            due,
            workspace: "ws".into(),
            delivery: name.into(),
        };
        let mut batch = DocBatch::default();
        batch.put("ws", DocKind::Alert, "AL-1", &"first");
        batch.schedule(&entry(30, "late"));
        batch.schedule(&entry(10, "early"));
        store.commit(batch).unwrap();
        assert_eq!(
            store
                .doc::<String>("ws", DocKind::Alert, "AL-1")
                .unwrap()
                .unwrap(),
            "first"
        );
        assert_eq!(store.outbox_next_due().unwrap(), Some(10));
        assert_eq!(store.outbox_due(20, 10).unwrap(), vec![entry(10, "early")]);
        let mut batch = DocBatch::default();
        batch.unschedule(&entry(10, "early"));
        batch.remove("ws", DocKind::Alert, "AL-1");
        store.commit(batch).unwrap();
        assert_eq!(
            store.doc::<String>("ws", DocKind::Alert, "AL-1").unwrap(),
            None
        );
        assert_eq!(
            store.outbox_due(u64::MAX - 1, 10).unwrap(),
            vec![entry(30, "late")]
        );
    }
}
