//! Deterministic per-source offsets.
//!
//! Ten thousand sources with `every = "6h"` must not all start at 00:00: each
//! source gets an offset derived from a hash of its id, so the load spreads
//! evenly, and the same source always gets the same offset, so its planned
//! times survive restarts and reloads and missed runs can be counted.

use sha2::{Digest, Sha256};
use std::time::Duration;

/// A number in `[0, 1)` fixed by `source_id` and `salt` (different salts give
/// independent offsets for one source's regular and boundary pulls).
pub fn fraction(source_id: &str, salt: &str) -> f64 {
    let digest = Sha256::new()
        .chain_update(salt.as_bytes())
        .chain_update([0])
        .chain_update(source_id.as_bytes())
        .finalize();
    let mut bytes = [0u8; 8];
    bytes.copy_from_slice(&digest[..8]);
    // 53 bits fill an f64 mantissa exactly, so the result is uniform and < 1.
    (u64::from_be_bytes(bytes) >> 11) as f64 / (1u64 << 53) as f64
}

/// The offset of `source_id` within a window of length `window`.
pub fn offset(source_id: &str, salt: &str, window: Duration) -> Duration {
    window.mul_f64(fraction(source_id, salt))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn offsets_are_stable_within_the_window_and_spread() {
        let window = Duration::from_secs(600);
        let a = offset("bakery-youtube", "every", window);
        assert_eq!(a, offset("bakery-youtube", "every", window));
        assert!(a < window);
        assert_ne!(a, offset("bakery-youtube", "boundary", window));
        assert_eq!(offset("x", "every", Duration::ZERO), Duration::ZERO);
        // 1,000 sources land in all ten tenths of the window.
        let mut buckets = [0u32; 10];
        for i in 0..1000 {
            let f = fraction(&format!("source-{i}"), "every");
            buckets[(f * 10.0) as usize] += 1;
        }
        assert!(
            buckets.iter().all(|&n| (60..140).contains(&n)),
            "{buckets:?}"
        );
    }
}
