//! `tideline keys` and `tideline audit`: API keys and the audit log of a running server (both
//! need an admin key).

use super::{ClientError, ServerArgs};
use crate::proto;
use crate::proto::audit_service_client::AuditServiceClient;
use crate::proto::key_service_client::KeyServiceClient;

/// `ingest,read` → the scopes, or the name that is not one.
pub fn parse_scopes(list: &str) -> Result<Vec<proto::Scope>, String> {
    list.split(',')
        .map(str::trim)
        .filter(|name| !name.is_empty())
        .map(|name| {
            proto::Scope::from_str_name(&format!("SCOPE_{}", name.to_uppercase()))
                .filter(|s| *s != proto::Scope::Unspecified)
                .ok_or_else(|| format!("unknown scope {name:?} (ingest, read, curate, admin)"))
        })
        .collect()
}

/// `SCOPE_READ` → `read`.
fn scope_name(raw: i32) -> String {
    proto::Scope::try_from(raw)
        .map(|s| s.as_str_name().trim_start_matches("SCOPE_").to_lowercase())
        .unwrap_or_else(|_| raw.to_string())
}

fn scopes_text(key: &proto::ApiKey) -> String {
    key.scopes
        .iter()
        .map(|&s| scope_name(s))
        .collect::<Vec<_>>()
        .join(",")
}

fn workspace_text(key: &proto::ApiKey) -> &str {
    if key.workspace.is_empty() {
        "(every)"
    } else {
        &key.workspace
    }
}

fn time_text(t: &Option<prost_types::Timestamp>) -> String {
    t.as_ref().map_or("-".into(), |t| {
        crate::time::format_rfc3339(t.seconds * 1_000_000)
    })
}

fn key_json(key: &proto::ApiKey) -> serde_json::Value {
    serde_json::json!({
        "id": key.id,
        "workspace": key.workspace,
        "scopes": key.scopes.iter().map(|&s| scope_name(s)).collect::<Vec<_>>(),
        "description": key.description,
        "created_at": time_text(&key.created_at),
        "revoked_at": key.revoked_at.as_ref().map(|_| time_text(&key.revoked_at)),
        "created_by": key.created_by,
    })
}

/// `tideline keys create`: creates a key in `--workspace` (admin keys: every workspace) and
/// prints it — the only time it is shown. `--json`: `{"id", "key", "workspace", "scopes"}`.
pub async fn create_key(
    server: &ServerArgs,
    scopes: &[proto::Scope],
    description: &str,
) -> Result<(), ClientError> {
    let admin = scopes.contains(&proto::Scope::Admin);
    let created = KeyServiceClient::new(server.connect().await?)
        .create_key(proto::CreateKeyRequest {
            workspace: if admin {
                String::new()
            } else {
                server.workspace.clone()
            },
            scopes: scopes.iter().map(|&s| s as i32).collect(),
            description: description.to_string(),
        })
        .await?
        .into_inner();
    let key = created.key.unwrap_or_default();
    if server.json {
        let mut json = key_json(&key);
        json["key"] = created.secret.into();
        println!("{json}");
    } else {
        eprintln!(
            "created {} (workspace {}; scopes {}); the key is shown only now:",
            key.id,
            workspace_text(&key),
            scopes_text(&key)
        );
        println!("{}", created.secret);
    }
    Ok(())
}

/// `tideline keys list`: every key (or `--this-workspace`'s), oldest first.
pub async fn list_keys(
    server: &ServerArgs,
    this_workspace: bool,
    revoked: bool,
) -> Result<(), ClientError> {
    let keys = KeyServiceClient::new(server.connect().await?)
        .list_keys(proto::ListKeysRequest {
            workspace: if this_workspace {
                server.workspace.clone()
            } else {
                String::new()
            },
            include_revoked: revoked,
        })
        .await?
        .into_inner()
        .keys;
    if server.json {
        println!(
            "{}",
            serde_json::Value::Array(keys.iter().map(key_json).collect())
        );
        return Ok(());
    }
    println!(
        "{:<20} {:<16} {:<26} {:<20} {:<9} description",
        "id", "workspace", "scopes", "created", "revoked"
    );
    for key in &keys {
        println!(
            "{:<20} {:<16} {:<26} {:<20} {:<9} {}",
            key.id,
            super::report::truncate(workspace_text(key), 16),
            scopes_text(key),
            time_text(&key.created_at),
            if key.revoked_at.is_some() {
                "yes"
            } else {
                "no"
            },
            super::report::truncate(&key.description, 40)
        );
    }
    println!("{} keys", keys.len());
    Ok(())
}

/// `tideline keys revoke ID`: the key stops working on its next call.
pub async fn revoke_key(server: &ServerArgs, id: &str) -> Result<(), ClientError> {
    let key = KeyServiceClient::new(server.connect().await?)
        .revoke_key(proto::RevokeKeyRequest { id: id.to_string() })
        .await?
        .into_inner();
    if server.json {
        println!("{}", key_json(&key));
    } else {
        println!("revoked {} at {}", key.id, time_text(&key.revoked_at));
    }
    Ok(())
}

/// `tideline audit`: who did what, newest first — every workspace, or `--this-workspace`'s.
pub async fn audit(
    server: &ServerArgs,
    rpc: Option<&str>,
    this_workspace: bool,
    limit: i32,
) -> Result<(), ClientError> {
    let response = AuditServiceClient::new(server.connect().await?)
        .list_audit_events(proto::ListAuditEventsRequest {
            workspace: if this_workspace {
                server.workspace.clone()
            } else {
                String::new()
            },
            rpc: rpc.unwrap_or_default().to_string(),
            page_size: limit,
            ..Default::default()
        })
        .await?
        .into_inner();
    if server.json {
        let rows: Vec<serde_json::Value> = response
            .events
            .iter()
            .map(|e| {
                serde_json::json!({"at": time_text(&e.at), "key_id": e.key_id, "rpc": e.rpc,
                    "workspace": e.workspace, "target": e.target})
            })
            .collect();
        println!("{}", serde_json::Value::Array(rows));
        return Ok(());
    }
    println!(
        "{:<20} {:<20} {:<34} {:<16} target",
        "at", "key", "rpc", "workspace"
    );
    for e in &response.events {
        println!(
            "{:<20} {:<20} {:<34} {:<16} {}",
            time_text(&e.at),
            e.key_id,
            e.rpc,
            super::report::truncate(&e.workspace, 16),
            super::report::truncate(&e.target, 60)
        );
    }
    println!(
        "{} of {} events",
        response.events.len(),
        response.total_size
    );
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scopes_parse_by_name_and_unknown_names_are_refused() {
        assert_eq!(
            parse_scopes("ingest, READ,").unwrap(),
            vec![proto::Scope::Ingest, proto::Scope::Read]
        );
        assert!(parse_scopes("ingest,write")
            .unwrap_err()
            .contains("\"write\""));
        assert!(parse_scopes("unspecified").is_err());
    }
}
