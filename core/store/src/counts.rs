//! What one pull did, in numbers.
//!
//! The same six figures appear in `tally pull`'s table, the runs table behind
//! `tally runs`, the daemon's `/metrics` and the `pipeline.*` points; one type
//! keeps them from drifting apart.

use std::ops::AddAssign;

/// Points and requests of one pull, or summed over many.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RunCounts {
    /// Points the connector emitted.
    pub points: u64,
    /// Points new to the store.
    pub inserted: u64,
    /// Points that restated a stored value (the old one kept as a revision).
    pub revised: u64,
    /// HTTP requests sent, retries included.
    pub requests: u64,
    /// Requests that were retries.
    pub retries: u64,
    /// Responses that said "slow down" (429, quota).
    pub throttled: u64,
}

impl AddAssign for RunCounts {
    fn add_assign(&mut self, other: RunCounts) {
        self.points += other.points;
        self.inserted += other.inserted;
        self.revised += other.revised;
        self.requests += other.requests;
        self.retries += other.retries;
        self.throttled += other.throttled;
    }
}
