//! Page tokens: decoding arbitrary text never panics and accepts only tokens this pager issued;
//! an issued token edited in any way is refused; paging an in-memory listing stays in bounds.
#![no_main]

use libfuzzer_sys::fuzz_target;
use tideline::pagination::{PageToken, Pager};

const FINGERPRINT: u64 = 0x5eed;

fuzz_target!(|data: &[u8]| {
    let pager = Pager::new([7; 32], 100);
    let Some((&mode, rest)) = data.split_first() else {
        return;
    };
    if mode % 2 == 0 {
        // Arbitrary text as a token.
        let Ok(text) = std::str::from_utf8(rest) else {
            return;
        };
        if let Ok(token) = pager.decode(text, FINGERPRINT) {
            assert_eq!(
                pager.encode(&token),
                text,
                "accepted a token it did not issue"
            );
        }
        let items: Vec<u32> = (0..250).collect();
        let size = i32::from(mode) - 20;
        if let Ok(page) = pager.paginate(items, size, text, FINGERPRINT) {
            assert!(page.items.len() <= 100 && page.total == 250);
            if !page.next_page_token.is_empty() {
                let next = pager.decode(&page.next_page_token, FINGERPRINT).unwrap();
                assert!(next.offset < 250);
            }
        }
    } else {
        // An issued token, then edited: truncated, extended or one byte changed.
        let mut fields = [0u8; 24];
        for (slot, byte) in fields.iter_mut().zip(rest) {
            *slot = *byte;
        }
        let word = |i: usize| u64::from_le_bytes(fields[i * 8..i * 8 + 8].try_into().unwrap());
        let token = PageToken {
            offset: word(0) as usize,
            max_number: word(1),
            fingerprint: word(2),
        };
        let issued = pager.encode(&token);
        assert_eq!(pager.decode(&issued, token.fingerprint), Ok(token));
        let edit = rest.get(24..).unwrap_or_default();
        let mut edited = issued.clone().into_bytes();
        match edit {
            [] => return,
            [0, at, ..] => edited.truncate(usize::from(*at) % (edited.len() + 1)),
            [1, tail @ ..] => edited.extend_from_slice(tail),
            [_, at, byte, ..] => {
                let at = usize::from(*at) % edited.len();
                edited[at] = *byte;
            }
            _ => {
                edited.pop();
            }
        }
        let Ok(edited) = String::from_utf8(edited) else {
            return;
        };
        if edited != issued {
            assert!(
                pager.decode(&edited, token.fingerprint).is_err(),
                "accepted {edited:?}, an edit of the issued {issued:?}"
            );
        }
    }
});
