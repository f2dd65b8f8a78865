//! The audit log: who did what. Every admin and curate action (keys, taxonomy, webhooks, alert
//! rules, theme and alert changes, refreshes, tag corrections, erasures) is recorded with the key
//! that acted, the time, the RPC, the workspace and the target (an id or a short description),
//! never key material or verbatim text. Events are kept in the store, durable before the action's
//! answer; the [`Audit`] service writes and lists them.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use serde::{Deserialize, Serialize};

use crate::error::Result;
use crate::store::{DocBatch, DocKind, Store, SYSTEM};
use crate::time::Micros;

/// One recorded action.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditEvent {
    pub at: Micros,
    pub key_id: String,
    /// `Service/Method`, e.g. `ThemeService/UpdateTheme`.
    pub rpc: String,
    /// Empty for actions on keys.
    pub workspace: String,
    pub target: String,
}

/// Which events to list.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct AuditFilter {
    pub workspace: Option<String>,
    pub rpc: Option<String>,
    pub after: Option<Micros>,
}

/// The audit log over the store (its only writer).
pub struct Audit {
    store: Arc<Store>,
    /// Orders events recorded in the same microsecond.
    counter: AtomicU64,
}

impl Audit {
    pub fn new(store: Arc<Store>) -> Audit {
        Audit {
            store,
            counter: AtomicU64::new(0),
        }
    }

    /// Records an event durably. Blocking.
    pub fn record(&self, event: &AuditEvent) -> Result<()> {
        let n = self.counter.fetch_add(1, Ordering::Relaxed) % 1_000_000;
        // Named so that names sort by time.
        let name = format!("{:020}-{n:06}", event.at.max(0));
        let mut batch = DocBatch::default();
        batch.put(SYSTEM, DocKind::AuditEvent, &name, event);
        self.store.commit(batch)?;
        self.store.flush_blocking()?;
        Ok(())
    }

    /// Events matching `filter`, newest first.
    pub fn list(&self, filter: &AuditFilter) -> Result<Vec<AuditEvent>> {
        let mut events: Vec<AuditEvent> = self
            .store
            .docs::<AuditEvent>(SYSTEM, DocKind::AuditEvent)?
            .into_iter()
            .filter(|e| filter.workspace.as_ref().is_none_or(|w| *w == e.workspace))
            .filter(|e| filter.rpc.as_ref().is_none_or(|r| *r == e.rpc))
            .filter(|e| filter.after.is_none_or(|t| e.at > t))
            .collect();
        events.reverse();
        Ok(events)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn events_are_listed_newest_first_and_filtered() {
        let dir = tempfile::tempdir().unwrap();
        let audit = Audit::new(Arc::new(Store::open(dir.path()).unwrap()));
        let event = |at, rpc: &str, ws: &str| AuditEvent {
            at,
            key_id: "key_1".into(),
            rpc: rpc.into(),
            workspace: ws.into(),
            target: "TH-0001".into(),
        };
        audit
            .record(&event(1, "ThemeService/UpdateTheme", "acme"))
            .unwrap();
        audit
            .record(&event(2, "AlertService/UpdateAlert", "acme"))
            .unwrap();
        audit
            .record(&event(3, "ThemeService/UpdateTheme", "globex"))
            .unwrap();
        let all = audit.list(&AuditFilter::default()).unwrap();
        assert_eq!(all.iter().map(|e| e.at).collect::<Vec<_>>(), [3, 2, 1]);
        let acme_themes = audit
            .list(&AuditFilter {
                workspace: Some("acme".into()),
                rpc: Some("ThemeService/UpdateTheme".into()),
                after: None,
            })
            .unwrap();
        assert_eq!(
            acme_themes,
            vec![event(1, "ThemeService/UpdateTheme", "acme")]
        );
    }
}
