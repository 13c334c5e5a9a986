//! A tiny, stable hash: every simulated number and every fault decision is
//! derived from it, so a seed reproduces the same world on any machine and
//! with any version of `rand` (whose generators do not promise stability).

/// SplitMix64 finaliser: a cheap bijective mix with good avalanche.
pub(crate) const fn mix(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// Incremental hash over a sequence of strings and numbers.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Hash(u64);

impl Hash {
    pub(crate) const fn new(seed: u64) -> Self {
        Hash(mix(seed ^ 0x5A4D_BA11_7A11_7A11))
    }

    /// Feeds a string (FNV-1a over its bytes, then mixed in).
    pub(crate) fn str(self, s: &str) -> Self {
        let mut f: u64 = 0xCBF2_9CE4_8422_2325;
        for b in s.bytes() {
            f ^= u64::from(b);
            f = f.wrapping_mul(0x0000_0100_0000_01B3);
        }
        self.num(f ^ s.len() as u64)
    }

    pub(crate) const fn num(self, n: u64) -> Self {
        Hash(mix(self.0 ^ mix(n)))
    }

    pub(crate) const fn get(self) -> u64 {
        self.0
    }
}

/// Derives an independent value from a base hash and a salt.
pub(crate) const fn pick(base: u64, salt: u64) -> u64 {
    mix(base ^ mix(salt.wrapping_mul(0xD6E8_FEB8_6659_FD93)))
}

const ROUND_KEYS: [u64; 4] = [
    0x243F_6A88_85A3_08D3,
    0x1319_8A2E_0370_7344,
    0xA409_3822_299F_31D0,
    0x082E_FA98_EC4E_6C89,
];

/// A fixed bijection on u64 (a 4-round Feistel network), so ids that carry
/// structure look random yet can be decoded with [`unpermute`].
pub(crate) fn permute(v: u64) -> u64 {
    let (mut l, mut r) = ((v >> 32) as u32, v as u32);
    for key in ROUND_KEYS {
        (l, r) = (r, l ^ mix(u64::from(r) ^ key) as u32);
    }
    (u64::from(l) << 32) | u64::from(r)
}

/// The inverse of [`permute`].
pub(crate) fn unpermute(v: u64) -> u64 {
    let (mut l, mut r) = ((v >> 32) as u32, v as u32);
    for key in ROUND_KEYS.into_iter().rev() {
        (l, r) = (r ^ mix(u64::from(l) ^ key) as u32, l);
    }
    (u64::from(l) << 32) | u64::from(r)
}

/// Maps a hash to [0, 1).
pub(crate) fn unit(h: u64) -> f64 {
    (h >> 11) as f64 / (1u64 << 53) as f64
}

/// Maps a hash to [lo, hi) (hi > lo).
pub(crate) fn range(h: u64, lo: u64, hi: u64) -> u64 {
    lo + h % (hi - lo).max(1)
}

/// Maps a hash to [lo, hi) as a float.
pub(crate) fn frange(h: u64, lo: f64, hi: f64) -> f64 {
    lo + unit(h) * (hi - lo)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stable_and_distinct() {
        let a = Hash::new(42).str("youtube").str("UCx").get();
        let b = Hash::new(42).str("youtube").str("UCx").get();
        let c = Hash::new(43).str("youtube").str("UCx").get();
        let d = Hash::new(42).str("youtube").str("UCy").get();
        assert_eq!(a, b);
        assert_ne!(a, c);
        assert_ne!(a, d);
        // "ab"+"c" must differ from "a"+"bc".
        assert_ne!(
            Hash::new(0).str("ab").str("c").get(),
            Hash::new(0).str("a").str("bc").get()
        );
    }

    #[test]
    fn permute_is_a_bijection() {
        for i in 0..1000u64 {
            let v = mix(i);
            assert_eq!(unpermute(permute(v)), v);
        }
        assert_ne!(permute(1), 1);
    }

    #[test]
    fn unit_in_range() {
        for i in 0..1000 {
            let u = unit(mix(i));
            assert!((0.0..1.0).contains(&u));
        }
    }
}
