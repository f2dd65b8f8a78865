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

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    /// Names `validate_workspace` accepts.
    const WORKSPACE: &str = "[a-z0-9_-]{1,64}";
    /// Any name without the separator, valid or not.
    const ANY_WORKSPACE: &str = "[^\u{0}]{1,12}";

    fn kinds() -> impl Strategy<Value = DocKind> {
        prop::sample::select(vec![
            DocKind::Theme,
            DocKind::ThemeModel,
            DocKind::ThemeCounter,
            DocKind::Alert,
            DocKind::AlertCounter,
            DocKind::AlertRules,
            DocKind::Webhook,
            DocKind::Delivery,
            DocKind::WebhookEvent,
        ])
    }

    fn sources() -> impl Strategy<Value = Source> {
        prop::sample::select(Source::ALL.to_vec())
    }

    /// Where `Store::workspace_numbers` stops reading a workspace's verbatims.
    fn range_end(workspace: &str) -> Vec<u8> {
        let mut end = workspace_prefix(workspace);
        *end.last_mut().unwrap() += 1;
        end
    }

    /// Every key a workspace can have, given the other parts.
    fn keys_of(
        workspace: &str,
        seq: u64,
        source: Source,
        external_id: &str,
        kind: DocKind,
        name: &str,
    ) -> [Vec<u8>; 3] {
        [
            verbatim_key(workspace, seq),
            idempotency_key(workspace, source, external_id),
            doc_key(workspace, kind, name),
        ]
    }

    proptest! {
        #[test]
        fn a_workspace_s_keys_stay_in_its_own_range(
            a in prop_oneof![WORKSPACE, ANY_WORKSPACE],
            b in prop_oneof![WORKSPACE, ANY_WORKSPACE],
            seq in any::<u64>(),
            source in sources(),
            external_id in any::<String>(),
            kind in kinds(),
            name in any::<String>(),
        ) {
            prop_assume!(a != b);
            for key in keys_of(&a, seq, source, &external_id, kind, &name) {
                prop_assert!(key.starts_with(&workspace_prefix(&a)));
                prop_assert!(key.as_slice() < range_end(&a).as_slice());
                prop_assert!(!key.starts_with(&workspace_prefix(&b)), "{key:?} is also {b:?}'s");
                let in_b = workspace_prefix(&b).as_slice() <= key.as_slice()
                    && key.as_slice() < range_end(&b).as_slice();
                prop_assert!(!in_b, "{key:?} lies in {b:?}'s range");
            }
        }

        #[test]
        fn a_kind_s_documents_stay_out_of_another_kind_s_scan(
            workspace in WORKSPACE,
            kind in kinds(),
            other in kinds(),
            name in any::<String>(),
        ) {
            prop_assume!(kind != other);
            let key = doc_key(&workspace, kind, &name);
            prop_assert!(key.starts_with(&doc_key(&workspace, kind, "")));
            prop_assert!(!key.starts_with(&doc_key(&workspace, other, "")));
        }

        #[test]
        fn verbatim_keys_sort_by_number_and_give_it_back(
            workspace in prop_oneof![WORKSPACE, ANY_WORKSPACE],
            a in any::<u64>(),
            b in any::<u64>(),
        ) {
            let (ka, kb) = (verbatim_key(&workspace, a), verbatim_key(&workspace, b));
            prop_assert_eq!(ka.cmp(&kb), a.cmp(&b));
            prop_assert_eq!(decode_u64(&ka, &ka[ka.len() - 8..]).unwrap(), a);
            let record = Verbatim {
                source: Source::Chat,
                ..Verbatim::example(&workspace, "hello")
            };
            let decoded = decode_record(&ka, &encode_record(&record)).unwrap();
            prop_assert_eq!(decoded.number, a);
            prop_assert_eq!(decoded.text, record.text);
        }

        #[test]
        fn idempotency_values_round_trip(
            seq in any::<u64>(),
            digest in any::<ContentDigest>(),
        ) {
            let value = encode_idempotency(seq, &digest);
            prop_assert_eq!(decode_idempotency(b"k", &value).unwrap(), (seq, Some(digest)));
            // A key written before digests were kept holds the sequence number alone.
            prop_assert_eq!(decode_idempotency(b"k", &value[..8]).unwrap(), (seq, None));
        }

        #[test]
        fn decoding_arbitrary_bytes_never_panics(
            key in prop::collection::vec(any::<u8>(), 0..24),
            raw in prop::collection::vec(any::<u8>(), 0..40),
        ) {
            let idempotency = decode_idempotency(&key, &raw);
            prop_assert_eq!(idempotency.is_ok(), raw.len() == 8 || raw.len() == 24);
            prop_assert_eq!(decode_u64(&key, &raw).is_ok(), raw.len() == 8);
            let _ = decode_record(&key, &raw);
            let _ = decode_change(&key, &raw);
        }
    }

    #[test]
    fn a_key_shorter_than_a_sequence_number_is_corrupt_not_a_panic() {
        let record =
            br#"{"workspace":"ws","source":"chat","text":"x","created_at":1,"received_at":1}"#;
        assert!(matches!(
            decode_record(b"ws\0", record),
            Err(StoreError::Corrupt { .. })
        ));
    }
}
