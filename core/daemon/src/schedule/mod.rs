//! When sources are pulled: each source's `every` (an interval or a cron
//! expression in its client's time zone) with a deterministic per-source
//! offset, extra pulls just after period boundaries, catch-up after downtime,
//! the daemon's queue of planned pulls, and `tally plan`'s cost forecast.
//!
//! All of it is pure computation over the config and a time: the daemon
//! (the crate root) owns the clock, so every rule here is tested without one.

mod boundary;
mod budget;
mod cron;
mod jitter;
mod plan;
mod source;
mod timetable;

pub use boundary::next_boundary;
pub use budget::Budget;
pub use cron::CronSchedule;
pub use plan::{describe, plan, BudgetPlan, Estimate, Plan, PlanInput, SourcePlan};
pub use source::{Fire, FireKind, SourceSchedule, MAX_CATCH_UP};
pub use timetable::Timetable;

/// A schedule the config accepted but the scheduler cannot use.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ScheduleError {
    /// The cron expression does not parse.
    #[error("source `{source_id}`: its cron expression does not parse ({message}); fix `every` in its [[sources]] entry")]
    Cron {
        /// The source.
        source_id: String,
        /// The parser's message.
        message: String,
    },
}
