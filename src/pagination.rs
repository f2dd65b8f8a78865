//! Opaque AIP-158 page tokens. A token remembers where the next page starts, a snapshot bound so
//! pages do not shift when new data arrives, and a fingerprint of the request it belongs to.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use serde::{Deserialize, Serialize};

use crate::model::ValidationError;

/// Page size when a request asks for 0.
pub const DEFAULT_PAGE_SIZE: usize = 20;

/// The decoded content of a page token.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct PageToken {
    /// Position of the next page's first item.
    #[serde(rename = "o")]
    pub offset: usize,
    /// Snapshot bound: only items up to this sequence number belong to the listing.
    #[serde(rename = "s")]
    pub max_seq: u64,
    /// Fingerprint of the request's other fields.
    #[serde(rename = "f")]
    pub fingerprint: u64,
}

impl PageToken {
    pub fn encode(&self) -> String {
        URL_SAFE_NO_PAD.encode(serde_json::to_vec(self).expect("token serialises"))
    }

    /// Decodes `token` and checks it was issued for a request with this `fingerprint`.
    pub fn decode(token: &str, fingerprint: u64) -> Result<PageToken, ValidationError> {
        let malformed = || ValidationError::new("page_token", "malformed page token");
        let bytes = URL_SAFE_NO_PAD.decode(token).map_err(|_| malformed())?;
        let decoded: PageToken = serde_json::from_slice(&bytes).map_err(|_| malformed())?;
        if decoded.fingerprint != fingerprint {
            return Err(ValidationError::new(
                "page_token",
                "does not belong to this request (the query, filter or order changed)",
            ));
        }
        Ok(decoded)
    }
}

/// A stable fingerprint (FNV-1a over the JSON form) of the request fields a token is bound to.
pub fn fingerprint(request: &impl Serialize) -> u64 {
    let bytes = serde_json::to_vec(request).expect("request serialises");
    bytes.iter().fold(0xcbf2_9ce4_8422_2325u64, |hash, &b| {
        (hash ^ b as u64).wrapping_mul(0x0000_0100_0000_01b3)
    })
}

/// Resolves a requested page size: negative is an error, 0 the default, above `max` clamped.
pub fn page_size(requested: i32, max: usize) -> Result<usize, ValidationError> {
    match requested {
        n if n < 0 => Err(ValidationError::new(
            "page_size",
            format!("{n} is negative"),
        )),
        0 => Ok(DEFAULT_PAGE_SIZE.min(max)),
        n => Ok((n as usize).min(max)),
    }
}

/// One page of an in-memory listing.
#[derive(Debug, Clone, PartialEq)]
pub struct Page<T> {
    pub items: Vec<T>,
    pub next_page_token: String,
    pub total: usize,
}

/// Pages through a listing held in memory: `page_token` (issued for a request with
/// `fingerprint`) says where to start.
pub fn paginate<T>(
    items: Vec<T>,
    page_size: i32,
    max_page_size: usize,
    page_token: &str,
    fingerprint: u64,
) -> Result<Page<T>, ValidationError> {
    let size = self::page_size(page_size, max_page_size)?;
    let offset = if page_token.is_empty() {
        0
    } else {
        PageToken::decode(page_token, fingerprint)?.offset
    };
    let total = items.len();
    let next = offset + size;
    Ok(Page {
        items: items.into_iter().skip(offset).take(size).collect(),
        next_page_token: if next < total {
            PageToken {
                offset: next,
                max_seq: 0,
                fingerprint,
            }
            .encode()
        } else {
            String::new()
        },
        total,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_round_trip_and_are_bound_to_their_request() {
        let token = PageToken {
            offset: 40,
            max_seq: 9,
            fingerprint: fingerprint(&"q"),
        };
        let text = token.encode();
        assert_eq!(PageToken::decode(&text, fingerprint(&"q")).unwrap(), token);
        assert_eq!(
            PageToken::decode(&text, fingerprint(&"other"))
                .unwrap_err()
                .field,
            "page_token"
        );
        assert!(PageToken::decode("not a token!", 0).is_err());
        assert!(PageToken::decode(&URL_SAFE_NO_PAD.encode(b"{}"), 0).is_err());
    }

    #[test]
    fn in_memory_listings_page_through() {
        let first = paginate((0..5).collect(), 2, 100, "", 7).unwrap();
        assert_eq!((first.items, first.total), (vec![0, 1], 5));
        let second = paginate((0..5).collect(), 2, 100, &first.next_page_token, 7).unwrap();
        assert_eq!(second.items, vec![2, 3]);
        let last = paginate((0..5).collect(), 2, 100, &second.next_page_token, 7).unwrap();
        assert_eq!((last.items, last.next_page_token), (vec![4], String::new()));
        assert!(paginate(
            (0..5).collect::<Vec<_>>(),
            2,
            100,
            &first.next_page_token,
            8
        )
        .is_err());
    }

    #[test]
    fn page_sizes() {
        assert_eq!(page_size(0, 1000).unwrap(), DEFAULT_PAGE_SIZE);
        assert_eq!(page_size(5000, 1000).unwrap(), 1000);
        assert!(page_size(-1, 1000).is_err());
    }
}
