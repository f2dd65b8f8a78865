//! Key layout and value encoding of every tree: workspace prefixes, big-endian numbers, JSON
//! values, and the errors a malformed key or value becomes.

use sled::transaction::TransactionError;

use super::{Change, DocKind, StoreError, StoreResult};
use crate::model::{ContentDigest, Source, Verbatim};

pub(super) fn workspace_prefix(workspace: &str) -> Vec<u8> {
    let mut key = Vec::with_capacity(workspace.len() + 9);
    key.extend_from_slice(workspace.as_bytes());
    key.push(0);
    key
}

pub(super) fn doc_key(workspace: &str, kind: DocKind, name: &str) -> Vec<u8> {
    let mut key = workspace_prefix(workspace);
    key.extend_from_slice(kind.name().as_bytes());
    key.push(0);
    key.extend_from_slice(name.as_bytes());
    key
}

/// A verbatim's key: its workspace and its number in the workspace.
pub(super) fn verbatim_key(workspace: &str, number: u64) -> Vec<u8> {
    let mut key = workspace_prefix(workspace);
    key.extend_from_slice(&number.to_be_bytes());
    key
}

/// The `meta` key of a workspace's last verbatim number: `{workspace}\0` (the other `meta` keys
/// hold no NUL byte).
pub(super) fn number_key(workspace: &str) -> Vec<u8> {
    workspace_prefix(workspace)
}

/// The workspace a `meta` key holds the last verbatim number of, if it is such a key.
pub(super) fn number_key_workspace(key: &[u8]) -> Option<&[u8]> {
    key.strip_suffix(&[0])
        .filter(|workspace| !workspace.contains(&0))
}

/// The workspace and number of a verbatim key.
pub(super) fn decode_verbatim_key(key: &[u8]) -> StoreResult<(&[u8], u64)> {
    let split = key
        .len()
        .checked_sub(9)
        .filter(|&at| key[at] == 0)
        .ok_or_else(|| corrupt(key, "not a verbatim key"))?;
    Ok((&key[..split], decode_u64(key, &key[split + 1..])?))
}

pub(super) fn idempotency_key(workspace: &str, source: Source, external_id: &str) -> Vec<u8> {
    let mut key = workspace_prefix(workspace);
    key.push(source.code());
    key.extend_from_slice(external_id.as_bytes());
    key
}

/// The record as stored: everything but `number`, which is in the key.
pub(super) fn encode_record(verbatim: &Verbatim) -> Vec<u8> {
    serde_json::to_vec(verbatim).expect("a verbatim always serialises")
}

pub(super) fn decode_record(key: &[u8], raw: &[u8]) -> StoreResult<Verbatim> {
    let mut record: Verbatim = serde_json::from_slice(raw).map_err(|e| corrupt(key, e))?;
    record.number = decode_verbatim_key(key)?.1;
    Ok(record)
}

pub(super) fn encode_change(change: &Change) -> Vec<u8> {
    serde_json::to_vec(change).expect("a change always serialises")
}

pub(super) fn decode_change(key: &[u8], raw: &[u8]) -> StoreResult<Change> {
    serde_json::from_slice(raw).map_err(|e| corrupt(key, e))
}

/// An idempotency key's value: the verbatim's number and the digest of the content first
/// submitted under the key.
pub(super) fn encode_idempotency(number: u64, digest: &ContentDigest) -> Vec<u8> {
    let mut value = number.to_be_bytes().to_vec();
    value.extend_from_slice(digest);
    value
}

/// Reads an idempotency key's value; keys written before digests were kept hold only the
/// verbatim's number.
pub(super) fn decode_idempotency(
    key: &[u8],
    raw: &[u8],
) -> StoreResult<(u64, Option<ContentDigest>)> {
    match raw.len() {
        8 => Ok((decode_u64(key, raw)?, None)),
        24 => {
            let digest = raw[8..]
                .try_into()
                .map_err(|_| corrupt(key, "bad digest"))?;
            Ok((decode_u64(key, &raw[..8])?, Some(digest)))
        }
        _ => Err(corrupt(key, "expected 8 or 24 bytes")),
    }
}

pub(super) fn decode_u64(key: &[u8], raw: &[u8]) -> StoreResult<u64> {
    let bytes: [u8; 8] = raw
        .try_into()
        .map_err(|_| corrupt(key, "expected 8 bytes"))?;
    Ok(u64::from_be_bytes(bytes))
}

pub(super) fn corrupt(key: &[u8], message: impl std::fmt::Display) -> StoreError {
    StoreError::Corrupt {
        key: String::from_utf8_lossy(key).into_owned(),
        message: message.to_string(),
    }
}

pub(super) fn tx_error(err: TransactionError<StoreError>) -> StoreError {
    match err {
        TransactionError::Abort(e) => e,
        TransactionError::Storage(e) => StoreError::Sled(e),
    }
}
