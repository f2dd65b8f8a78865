//! Who may call what: API keys, each bound to one workspace (or, for admin keys, to every one) and
//! to [`Scope`]s, stored only as a hash and compared in constant time; the bootstrap key from the
//! configuration; and per-key quotas (a token-bucket rate and concurrent streams). The [`service`]
//! keeps the keys over the store.

pub mod quotas;
pub mod service;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use crate::time::Micros;

/// What a key may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Scope {
    /// Write verbatims.
    Ingest,
    /// Search, verbatims, themes, alerts, trends, the taxonomy.
    Read,
    /// Tag corrections, theme edits and refreshes, alert changes, erasures.
    Curate,
    /// Keys, audit, taxonomy updates, webhooks, alert rules; in every workspace. Implies the others.
    Admin,
}

impl Scope {
    pub const ALL: [Scope; 4] = [Scope::Ingest, Scope::Read, Scope::Curate, Scope::Admin];

    pub fn as_str(self) -> &'static str {
        match self {
            Scope::Ingest => "ingest",
            Scope::Read => "read",
            Scope::Curate => "curate",
            Scope::Admin => "admin",
        }
    }

    pub fn parse(name: &str) -> Option<Scope> {
        Scope::ALL.into_iter().find(|s| s.as_str() == name.trim())
    }
}

/// A key as stored: never the key itself, only the SHA-256 of it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ApiKey {
    /// `key_` + 16 hex digits: the part of the key text before its secret.
    pub id: String,
    /// `None` for admin keys, which work in every workspace.
    pub workspace: Option<String>,
    pub scopes: Vec<Scope>,
    #[serde(default)]
    pub description: String,
    pub created_at: Micros,
    #[serde(default)]
    pub revoked_at: Option<Micros>,
    /// The id of the key that created it.
    #[serde(default)]
    pub created_by: String,
    /// Hex SHA-256 of the whole key text.
    pub hash: String,
}

impl ApiKey {
    /// Whether `token` is this key (constant time in the token's content).
    fn matches(&self, token: &str) -> bool {
        let given = hex_hash(token);
        given.as_bytes().ct_eq(self.hash.as_bytes()).into()
    }
}

/// Who is calling: the key's id, its workspace (`None`: every workspace) and its scopes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Principal {
    pub key_id: String,
    pub workspace: Option<String>,
    pub scopes: Vec<Scope>,
}

impl Principal {
    /// Everything, everywhere: a server started with `--no-auth` (loopback only).
    pub fn unrestricted() -> Principal {
        Principal {
            key_id: "anonymous".into(),
            workspace: None,
            scopes: vec![Scope::Admin],
        }
    }

    /// Whether the key holds `scope` (admin holds them all).
    pub fn allows(&self, scope: Scope) -> bool {
        self.scopes.contains(&scope) || self.scopes.contains(&Scope::Admin)
    }

    /// Whether the key works in `workspace`.
    pub fn reaches(&self, workspace: &str) -> bool {
        self.workspace.as_deref().is_none_or(|w| w == workspace)
    }
}

/// The id of the configured bootstrap key in the audit log.
pub const BOOTSTRAP_KEY_ID: &str = "bootstrap";

/// A new key's id and text: `tl_` + the id's 16 hex digits + `_` + 43 characters of base64url
/// (256 random bits). The id lets a key be found without scanning; the whole text is hashed.
pub fn new_key_text() -> (String, String) {
    use base64::Engine as _;
    let id_bits: u64 = rand::random();
    let secret: [u8; 32] = rand::random();
    let secret = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(secret);
    (
        format!("key_{id_bits:016x}"),
        format!("tl_{id_bits:016x}_{secret}"),
    )
}

/// The key id a key text claims (`tl_<16 hex>_…` → `key_<16 hex>`), if it has the shape.
pub fn claimed_id(token: &str) -> Option<String> {
    let rest = token.strip_prefix("tl_")?;
    let (hex, secret) = rest.split_once('_')?;
    (hex.len() == 16 && hex.bytes().all(|b| b.is_ascii_hexdigit()) && !secret.is_empty())
        .then(|| format!("key_{hex}"))
}

/// Hex SHA-256 of a key text.
pub fn hex_hash(token: &str) -> String {
    Sha256::digest(token.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_texts_name_their_id_and_only_their_hash_matches() {
        let (id, text) = new_key_text();
        assert_eq!(claimed_id(&text), Some(id.clone()));
        let stored = ApiKey {
            id,
            workspace: Some("acme".into()),
            scopes: vec![Scope::Read],
            description: String::new(),
            created_at: 0,
            revoked_at: None,
            created_by: BOOTSTRAP_KEY_ID.into(),
            hash: hex_hash(&text),
        };
        assert!(stored.matches(&text));
        assert!(!stored.matches(&format!("{text}x")));
        assert_eq!(claimed_id("Bearer nonsense"), None);
        assert_eq!(claimed_id("tl_12_x"), None);
    }

    #[test]
    fn admin_holds_every_scope_and_workspace_keys_reach_one_workspace() {
        let reader = Principal {
            key_id: "k".into(),
            workspace: Some("acme".into()),
            scopes: vec![Scope::Read],
        };
        assert!(reader.allows(Scope::Read) && !reader.allows(Scope::Curate));
        assert!(reader.reaches("acme") && !reader.reaches("globex"));
        let admin = Principal::unrestricted();
        assert!(Scope::ALL.iter().all(|&s| admin.allows(s)) && admin.reaches("globex"));
    }
}
