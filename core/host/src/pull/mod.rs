//! Running pulls: one source's pull from connector call to committed points, and
//! many sources concurrently with failures kept apart.
//!
//! A source's points are buffered and written in one store transaction together
//! with its saved state when the pull succeeds, or earlier when the connector
//! marks a checkpoint (`Emitter::checkpoint`, after each page): a failure or a
//! crash halfway loses only what came after the last checkpoint, and the next
//! pull resumes from the state committed with it. Upserts by natural key make a
//! re-pull write nothing new.

mod credential;
mod emitter;
mod engine;
mod ledger;
mod pipeline;

pub use credential::credential_for;
pub use engine::{
    base_url_of, rate_limit_of, sample_slot, Engine, PullOptions, SourceOutcome, SourceStatus,
};
pub use ledger::StoreLedger;
pub use pipeline::{pipeline_points, PIPELINE_ENTITY, PIPELINE_PLATFORM};
