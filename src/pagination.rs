//! Opaque AIP-158 page tokens. A token remembers where the next page starts, a snapshot bound so
//! pages do not shift when new data arrives, and a fingerprint of the request it belongs to. It
//! is signed (HMAC-SHA256 with a key kept in the store), so a client cannot forge or edit one:
//! an offset only ever comes from a page this server served.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use hmac::{Hmac, Mac};
use serde::{Deserialize, Serialize};
use sha2::Sha256;

use crate::model::ValidationError;

/// Page size when a request asks for 0.
pub const DEFAULT_PAGE_SIZE: usize = 20;
/// Bytes of the signature kept in a token.
const TAG_BYTES: usize = 16;

/// The decoded content of a page token.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct PageToken {
    /// Position of the next page's first item.
    #[serde(rename = "o")]
    pub offset: usize,
    /// Snapshot bound: only items numbered up to this belong to the listing (a search: the
    /// largest verbatim number of the workspace that was searchable on the first page).
    #[serde(rename = "s")]
    pub max_number: u64,
    /// Fingerprint of the request's other fields.
    #[serde(rename = "f")]
    pub fingerprint: u64,
}

/// Issues and reads page tokens, and sizes pages.
#[derive(Clone)]
pub struct Pager {
    key: [u8; 32],
    max_page_size: usize,
}

impl Pager {
    /// Tokens signed with `key`; pages of at most `max_page_size` items.
    pub fn new(key: [u8; 32], max_page_size: usize) -> Pager {
        Pager { key, max_page_size }
    }

    fn mac(&self, payload: &[u8]) -> Hmac<Sha256> {
        let mut mac = Hmac::<Sha256>::new_from_slice(&self.key).expect("HMAC takes any key length");
        mac.update(payload);
        mac
    }

    /// A signed token: the payload and the start of its HMAC, both base64url.
    pub fn encode(&self, token: &PageToken) -> String {
        let payload = serde_json::to_vec(token).expect("a token serialises");
        let tag = self.mac(&payload).finalize().into_bytes();
        format!(
            "{}.{}",
            URL_SAFE_NO_PAD.encode(&payload),
            URL_SAFE_NO_PAD.encode(&tag[..TAG_BYTES])
        )
    }

    /// Reads a token this server issued for a request with this `fingerprint`.
    pub fn decode(&self, token: &str, fingerprint: u64) -> Result<PageToken, ValidationError> {
        let malformed = || {
            ValidationError::new(
                "page_token",
                "not a page token this server issued (pass next_page_token unchanged)",
            )
        };
        let (payload, tag) = token.split_once('.').ok_or_else(malformed)?;
        let payload = URL_SAFE_NO_PAD.decode(payload).map_err(|_| malformed())?;
        let tag = URL_SAFE_NO_PAD.decode(tag).map_err(|_| malformed())?;
        // The whole tag, not a prefix: HMAC checks any non-empty prefix, and a one-byte tag
        // would take a forger 256 guesses.
        if tag.len() != TAG_BYTES {
            return Err(malformed());
        }
        self.mac(&payload)
            .verify_truncated_left(&tag)
            .map_err(|_| malformed())?;
        let decoded: PageToken = serde_json::from_slice(&payload).map_err(|_| malformed())?;
        if decoded.fingerprint != fingerprint {
            return Err(ValidationError::new(
                "page_token",
                "does not belong to this request (the query, filter or order changed)",
            ));
        }
        Ok(decoded)
    }

    /// Resolves a requested page size: negative is an error, 0 the default, above the maximum
    /// clamped.
    pub fn page_size(&self, requested: i32) -> Result<usize, ValidationError> {
        match requested {
            n if n < 0 => Err(ValidationError::new(
                "page_size",
                format!("{n} is negative"),
            )),
            0 => Ok(DEFAULT_PAGE_SIZE.min(self.max_page_size)),
            n => Ok((n as usize).min(self.max_page_size)),
        }
    }

    /// Pages through a listing held in memory: `page_token` (issued for a request with
    /// `fingerprint`) says where to start.
    pub fn paginate<T>(
        &self,
        items: Vec<T>,
        page_size: i32,
        page_token: &str,
        fingerprint: u64,
    ) -> Result<Page<T>, ValidationError> {
        let size = self.page_size(page_size)?;
        let offset = if page_token.is_empty() {
            0
        } else {
            self.decode(page_token, fingerprint)?.offset
        };
        let total = items.len();
        let next = offset.saturating_add(size);
        Ok(Page {
            items: items.into_iter().skip(offset).take(size).collect(),
            next_page_token: if next < total {
                self.encode(&PageToken {
                    offset: next,
                    max_number: 0,
                    fingerprint,
                })
            } else {
                String::new()
            },
            total,
        })
    }
}

/// A stable fingerprint (FNV-1a over the JSON form) of the request fields a token is bound to.
pub fn fingerprint(request: &impl Serialize) -> u64 {
    let bytes = serde_json::to_vec(request).expect("a request serialises");
    bytes.iter().fold(0xcbf2_9ce4_8422_2325u64, |hash, &b| {
        (hash ^ b as u64).wrapping_mul(0x0000_0100_0000_01b3)
    })
}

/// One page of an in-memory listing.
#[derive(Debug, Clone, PartialEq)]
pub struct Page<T> {
    pub items: Vec<T>,
    pub next_page_token: String,
    pub total: usize,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pager() -> Pager {
        Pager::new([7; 32], 1000)
    }

    #[test]
    fn tokens_round_trip_and_are_bound_to_their_request() {
        let token = PageToken {
            offset: 40,
            max_number: 9,
            fingerprint: fingerprint(&"q"),
        };
        let text = pager().encode(&token);
        assert_eq!(pager().decode(&text, fingerprint(&"q")).unwrap(), token);
        assert_eq!(
            pager()
                .decode(&text, fingerprint(&"other"))
                .unwrap_err()
                .field,
            "page_token"
        );
        assert!(pager().decode("not a token!", 0).is_err());
        assert!(pager().decode(&URL_SAFE_NO_PAD.encode(b"{}"), 0).is_err());
    }

    #[test]
    fn an_edited_or_foreign_token_is_refused() {
        let honest = pager().encode(&PageToken {
            offset: 40,
            max_number: 9,
            fingerprint: 1,
        });
        let (_, tag) = honest.split_once('.').unwrap();
        let forged_payload = URL_SAFE_NO_PAD.encode(br#"{"o":1000000000,"s":9,"f":1}"#);
        let forged = format!("{forged_payload}.{tag}");
        let err = pager().decode(&forged, 1).unwrap_err();
        assert!(
            err.message.contains("not a page token this server issued"),
            "{err}"
        );
        let elsewhere = Pager::new([8; 32], 1000);
        assert!(elsewhere.decode(&honest, 1).is_err());
    }

    #[test]
    fn a_token_with_a_shortened_signature_is_refused() {
        // Found by fuzzing (fuzz/fuzz_targets/page_token.rs): any prefix of the signature was
        // accepted, so a forged token needed at most 256 guesses of a one-byte signature.
        let pager = pager();
        let honest = pager.encode(&PageToken {
            offset: 40,
            max_number: 9,
            fingerprint: 1,
        });
        let (payload, tag) = honest.split_once('.').unwrap();
        let tag = URL_SAFE_NO_PAD.decode(tag).unwrap();
        for len in 1..TAG_BYTES {
            let short = format!("{payload}.{}", URL_SAFE_NO_PAD.encode(&tag[..len]));
            assert!(
                pager.decode(&short, 1).is_err(),
                "{len}-byte signature accepted"
            );
        }
        let forged = URL_SAFE_NO_PAD.encode(br#"{"o":1000000000,"s":9,"f":1}"#);
        let accepted = (0..=255u8)
            .filter(|&guess| {
                let token = format!("{forged}.{}", URL_SAFE_NO_PAD.encode([guess]));
                pager.decode(&token, 1).is_ok()
            })
            .count();
        assert_eq!(accepted, 0, "a one-byte signature was guessed");
        // The fuzzer's own input: the issued token less its last two characters.
        let token =
            "eyJvIjozNzc5NTcxMjIwODgsInMiOjksImYiOjEwMTE1NTA2OTc3OTY5M30.2xMXuY2c7axTwxrLc76w";
        assert!(Pager::new([7; 32], 100)
            .decode(token, 101155069779693)
            .is_err());
        assert!(Pager::new([7; 32], 100)
            .decode(&format!("{token}9A"), 101155069779693)
            .is_ok());
    }

    #[test]
    fn in_memory_listings_page_through() {
        let pager = Pager::new([1; 32], 100);
        let first = pager.paginate((0..5).collect(), 2, "", 7).unwrap();
        assert_eq!((first.items, first.total), (vec![0, 1], 5));
        let second = pager
            .paginate((0..5).collect(), 2, &first.next_page_token, 7)
            .unwrap();
        assert_eq!(second.items, vec![2, 3]);
        let last = pager
            .paginate((0..5).collect(), 2, &second.next_page_token, 7)
            .unwrap();
        assert_eq!((last.items, last.next_page_token), (vec![4], String::new()));
        assert!(pager
            .paginate((0..5).collect::<Vec<_>>(), 2, &first.next_page_token, 8)
            .is_err());
    }

    #[test]
    fn the_last_possible_offset_ends_the_listing() {
        // A token at the very end of usize cannot wrap around to the first page.
        let pager = Pager::new([1; 32], 100);
        let end = pager.encode(&PageToken {
            offset: usize::MAX,
            max_number: 0,
            fingerprint: 7,
        });
        let page = pager
            .paginate((0..5).collect::<Vec<_>>(), 2, &end, 7)
            .unwrap();
        assert_eq!((page.items, page.next_page_token), (vec![], String::new()));
    }

    #[test]
    fn page_sizes() {
        let pager = Pager::new([1; 32], 1000);
        assert_eq!(pager.page_size(0).unwrap(), DEFAULT_PAGE_SIZE);
        assert_eq!(pager.page_size(5000).unwrap(), 1000);
        assert!(pager.page_size(-1).is_err());
    }
}
