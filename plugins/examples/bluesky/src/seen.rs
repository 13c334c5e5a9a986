//! The posts a pull has already emitted, so a post a later page repeats is
//! counted once against `max_posts` and emitted once.
//!
//! Own posts share the author's DID and collection, so a post's record key
//! names it, and Bluesky gives every post a TID as its record key: 13
//! base32-sortable characters encoding a 64-bit number. Kept as that number,
//! a post costs 8 bytes of the set; the whole `at://` URI, as first kept, made
//! the set the plugin's largest allocation (1 MiB for 10,000 posts). A record
//! key that is not a TID is kept as text.

use std::collections::HashSet;
use tally_model::SmolStr;

/// The digits of a TID, in value order.
const TID_DIGITS: &[u8; 32] = b"234567abcdefghijklmnopqrstuvwxyz";

/// Posts seen so far in one pull.
#[derive(Debug, Default)]
pub(crate) struct SeenPosts {
    tids: HashSet<u64>,
    others: HashSet<SmolStr>,
}

impl SeenPosts {
    /// Records the post at `uri`; `false` when it was seen before.
    pub(crate) fn insert(&mut self, uri: &str) -> bool {
        let key = uri.rsplit('/').next().unwrap_or(uri);
        match tid_value(key) {
            Some(tid) => self.tids.insert(tid),
            None => self.others.insert(SmolStr::new(key)),
        }
    }

    /// How many different posts were seen.
    pub(crate) fn len(&self) -> usize {
        self.tids.len() + self.others.len()
    }
}

/// The number a TID encodes, or `None` when `key` is not one (a different
/// length, a character outside the alphabet, or more than 64 bits).
fn tid_value(key: &str) -> Option<u64> {
    if key.len() != 13 {
        return None;
    }
    key.bytes().try_fold(0u64, |value, byte| {
        let digit = TID_DIGITS.iter().position(|&d| d == byte)?;
        value.checked_mul(32)?.checked_add(digit as u64)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const DID: &str = "at://did:plc:t43quiejheg6zc6li3iyvf6f/app.bsky.feed.post/";

    #[test]
    fn a_post_is_seen_once_whatever_its_record_key() {
        let mut seen = SeenPosts::default();
        assert!(seen.insert(&format!("{DID}3n3nbi7w5p2qh")));
        assert!(seen.insert(&format!("{DID}3n3sc2rx6uel2")));
        assert!(!seen.insert(&format!("{DID}3n3nbi7w5p2qh")));
        // Not TIDs: another length, a character outside the alphabet, a
        // first digit that would need a 65th bit.
        for key in ["self", "3n3nbi7w5p2q1", "zzzzzzzzzzzzz"] {
            assert!(seen.insert(&format!("{DID}{key}")), "{key}");
            assert!(!seen.insert(&format!("{DID}{key}")), "{key}");
        }
        assert_eq!(seen.len(), 5);
    }

    #[test]
    fn tids_decode_to_distinct_numbers_in_their_order() {
        let a = tid_value("3n3nbi7w5p2qh").unwrap();
        let b = tid_value("3n3sc2rx6uel2").unwrap();
        assert!(a < b);
        assert_eq!(tid_value("2222222222222"), Some(0));
        assert_eq!(tid_value("jzzzzzzzzzzzz"), Some(u64::MAX));
        assert_eq!(tid_value("k222222222222"), None);
    }
}
