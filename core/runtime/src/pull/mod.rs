//! Running pulls: one source's pull from connector call to committed points, and
//! many sources concurrently with failures kept apart.
//!
//! A source's points are buffered and written in one store transaction together
//! with its saved state only when the whole pull succeeded, so a failure (or a
//! crash) halfway leaves the store as it was and the next run starts over from the
//! last committed state. Upserts by natural key make a re-pull write nothing new.

mod credential;
mod engine;
mod ledger;

pub use credential::credential_for;
pub use engine::{sample_slot, Engine, SourceOutcome, SourceStatus};
pub use ledger::StoreLedger;
