//! The key service: API keys over the store (their only writer), held in memory so that checking
//! a call costs a hash and a lookup, and a revocation takes effect on the key's next call.

use std::collections::HashMap;
use std::sync::Arc;

use parking_lot::RwLock;
use subtle::ConstantTimeEq;

use super::quotas::{QuotaSettings, Quotas};
use super::{claimed_id, hex_hash, new_key_text, ApiKey, Principal, Scope, BOOTSTRAP_KEY_ID};
use crate::error::{Error, Result};
use crate::model::{validate_workspace, Limits, ValidationError};
use crate::store::{DocBatch, DocKind, Store, SYSTEM};
use crate::time::Micros;

/// Keys, the bootstrap key, and per-key quotas.
pub struct Keys {
    store: Arc<Store>,
    limits: Limits,
    /// Every stored key (revoked ones too), by id.
    keys: RwLock<HashMap<String, ApiKey>>,
    /// Hex SHA-256 of the bootstrap key, when one is configured.
    bootstrap: Option<String>,
    pub quotas: Quotas,
}

/// Why a call was refused.
fn unauthenticated(why: &str) -> Error {
    Error::Unauthenticated(why.to_string())
}

impl Keys {
    /// Loads every stored key. `bootstrap` is the configured admin key, if any.
    pub fn open(
        store: Arc<Store>,
        limits: Limits,
        bootstrap: Option<&str>,
        quotas: QuotaSettings,
    ) -> Result<Keys> {
        let stored: Vec<ApiKey> = store.docs(SYSTEM, DocKind::ApiKey)?;
        Ok(Keys {
            store,
            limits,
            keys: RwLock::new(stored.into_iter().map(|k| (k.id.clone(), k)).collect()),
            bootstrap: bootstrap.map(hex_hash),
            quotas: Quotas::new(quotas),
        })
    }

    /// Whether any key could be used: the bootstrap key or a stored, unrevoked one.
    pub fn any(&self) -> bool {
        self.bootstrap.is_some() || self.keys.read().values().any(|k| k.revoked_at.is_none())
    }

    /// Who `token` is: the bootstrap key, or a stored key that is not revoked. Anything else is
    /// UNAUTHENTICATED (without saying which part was wrong).
    pub fn authenticate(&self, token: &str) -> Result<Principal> {
        if let Some(bootstrap) = &self.bootstrap {
            if bool::from(hex_hash(token).as_bytes().ct_eq(bootstrap.as_bytes())) {
                return Ok(Principal {
                    key_id: BOOTSTRAP_KEY_ID.into(),
                    workspace: None,
                    scopes: vec![Scope::Admin],
                });
            }
        }
        let unknown = || unauthenticated("unknown or revoked api key");
        let id = claimed_id(token).ok_or_else(unknown)?;
        let keys = self.keys.read();
        let key = keys
            .get(&id)
            .filter(|k| k.revoked_at.is_none())
            .ok_or_else(unknown)?;
        if !key.matches(token) {
            return Err(unknown());
        }
        Ok(Principal {
            key_id: key.id.clone(),
            workspace: key.workspace.clone(),
            scopes: key.scopes.clone(),
        })
    }

    /// Creates a key; returns it with its text (the only time the text exists). Admin keys work
    /// in every workspace; any other key needs one. Durable on return.
    pub fn create(
        &self,
        created_by: &str,
        workspace: Option<String>,
        mut scopes: Vec<Scope>,
        description: String,
        now: Micros,
    ) -> Result<(ApiKey, String)> {
        self.limits.check_note("description", &description)?;
        scopes.sort();
        scopes.dedup();
        if scopes.is_empty() {
            return Err(ValidationError::new("scopes", "name at least one scope").into());
        }
        let admin = scopes.contains(&Scope::Admin);
        let workspace = match (workspace, admin) {
            (Some(_), true) => {
                return Err(ValidationError::new(
                    "workspace",
                    "must be empty for an admin key (admin keys work in every workspace)",
                )
                .into())
            }
            (None, false) => {
                return Err(ValidationError::new(
                    "workspace",
                    "is required for a key without the admin scope",
                )
                .into())
            }
            (Some(ws), false) => {
                validate_workspace(&ws)?;
                Some(ws)
            }
            (None, true) => None,
        };
        let (id, text) = new_key_text();
        let key = ApiKey {
            id,
            workspace,
            scopes,
            description,
            created_at: now,
            revoked_at: None,
            created_by: created_by.to_string(),
            hash: hex_hash(&text),
        };
        self.save(&key)?;
        tracing::info!(key = %key.id, workspace = ?key.workspace, created_by, "api key created");
        Ok((key, text))
    }

    /// Keys, oldest first: of one workspace (admin keys included), or all.
    pub fn list(&self, workspace: Option<&str>, include_revoked: bool) -> Vec<ApiKey> {
        let mut keys: Vec<ApiKey> = self
            .keys
            .read()
            .values()
            .filter(|k| include_revoked || k.revoked_at.is_none())
            .filter(|k| workspace.is_none_or(|w| k.workspace.as_deref().is_none_or(|kw| kw == w)))
            .cloned()
            .collect();
        keys.sort_by(|a, b| (a.created_at, &a.id).cmp(&(b.created_at, &b.id)));
        keys
    }

    /// Revokes a key: its next call fails. Durable on return.
    pub fn revoke(&self, id: &str, now: Micros) -> Result<ApiKey> {
        let mut key = self
            .keys
            .read()
            .get(id)
            .cloned()
            .ok_or_else(|| Error::not_found("api key", id))?;
        key.revoked_at.get_or_insert(now);
        self.save(&key)?;
        tracing::info!(key = id, "api key revoked");
        Ok(key)
    }

    /// Writes a key durably, then makes it the one in force.
    fn save(&self, key: &ApiKey) -> Result<()> {
        let mut batch = DocBatch::default();
        batch.put(SYSTEM, DocKind::ApiKey, &key.id, key);
        self.store.commit(batch)?;
        self.store.flush_blocking()?;
        self.keys.write().insert(key.id.clone(), key.clone());
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keys(dir: &std::path::Path, bootstrap: Option<&str>) -> Keys {
        let store = Arc::new(Store::open(dir).unwrap());
        Keys::open(
            store,
            Limits::default(),
            bootstrap,
            QuotaSettings::default(),
        )
        .unwrap()
    }

    #[test]
    fn keys_authenticate_until_revoked_and_survive_a_restart() {
        let dir = tempfile::tempdir().unwrap();
        let service = keys(dir.path(), Some("a bootstrap secret of some length"));
        let boot = service
            .authenticate("a bootstrap secret of some length")
            .unwrap();
        assert_eq!(boot.key_id, BOOTSTRAP_KEY_ID);
        let (key, text) = service
            .create(
                "bootstrap",
                Some("acme".into()),
                vec![Scope::Read, Scope::Ingest],
                String::new(),
                1,
            )
            .unwrap();
        let who = service.authenticate(&text).unwrap();
        assert_eq!(
            (who.workspace.as_deref(), who.scopes.len()),
            (Some("acme"), 2)
        );
        assert!(matches!(
            service.authenticate("tl_0000000000000000_x"),
            Err(Error::Unauthenticated(_))
        ));
        let mut wrong = text.clone();
        wrong.push('x');
        assert!(service.authenticate(&wrong).is_err());
        drop(service);
        let service = keys(dir.path(), None);
        assert_eq!(service.authenticate(&text).unwrap().key_id, key.id);
        service.revoke(&key.id, 2).unwrap();
        assert!(service.authenticate(&text).is_err(), "revoked at once");
        assert!(!service.any());
        assert_eq!(service.list(None, true).len(), 1);
    }

    #[test]
    fn admin_keys_have_no_workspace_and_others_need_one() {
        let dir = tempfile::tempdir().unwrap();
        let service = keys(dir.path(), None);
        let create = |ws: Option<&str>, scopes: Vec<Scope>| {
            service.create("t", ws.map(String::from), scopes, String::new(), 0)
        };
        assert!(create(Some("acme"), vec![Scope::Admin]).is_err());
        assert!(create(None, vec![Scope::Read]).is_err());
        assert!(create(Some("acme"), vec![]).is_err());
        assert!(create(Some("Not Valid"), vec![Scope::Read]).is_err());
        assert!(create(None, vec![Scope::Admin])
            .unwrap()
            .0
            .workspace
            .is_none());
    }
}
