//! Tally's store: points, their revisions, incremental state, pull runs, the
//! quota ledger and imports.
//!
//! Invariant 5 ("nothing lost, nothing doubled") lives here: points are upserted
//! by their natural key so a re-pull is idempotent, a restated value keeps the old
//! one as a revision, and a batch and its source's saved state commit together or
//! not at all, so a crash mid-pull leaves the store consistent and the next run
//! resumes from the last committed state.
//!
//! [`Store`] is the seam between callers and backends: every caller (the pull
//! engine, goals, reports, the CLI) holds a `Store` and never a backend, so a
//! second backend is a new [`Backend`] variant and the match arms below, with no
//! caller touched. The API is synchronous; the async host wraps calls in
//! `spawn_blocking` or a mutex.

mod coordination;
mod counts;
mod decode;
mod error;
pub mod postgres;
pub mod sqlite;

pub use coordination::{PullClaim, WorkerInfo};
pub use counts::RunCounts;
pub use error::StoreError;
pub use postgres::{CopyStats, PgStore};
pub use sqlite::{
    ImportedSource, LastSuccess, LatestValue, PointQuery, RunOutcome, RunRecord, RunState,
    RunStatus, SourceSummary, SqliteStore, StoredPoint, TotalRow, WriteStats, HEARTBEAT,
    HEARTBEAT_STALE,
};

use chrono::{DateTime, Utc};
use std::collections::{BTreeMap, HashMap};
use std::path::Path;
use tally_model::{Point, StatedQuota, ValidPoints};

/// A handle on one Tally database, whichever backend holds it. Not `Sync`:
/// share it behind a mutex.
#[derive(Debug)]
pub struct Store {
    backend: Backend,
}

/// The databases a store can live in. Each variant implements the same
/// operations with the same invariants; the store tests run against each.
#[derive(Debug)]
pub enum Backend {
    /// The embedded SQLite file, the default for one machine.
    Sqlite(SqliteStore),
    /// A PostgreSQL database, shared by several workers and BI tools.
    Postgres(PgStore),
}

impl From<PgStore> for Store {
    fn from(db: PgStore) -> Store {
        Store {
            backend: Backend::Postgres(db),
        }
    }
}

impl From<SqliteStore> for Store {
    fn from(db: SqliteStore) -> Store {
        Store {
            backend: Backend::Sqlite(db),
        }
    }
}

impl Store {
    /// Opens (creating if needed) the SQLite database at `path` and migrates it
    /// to the current schema, so every other method can assume the tables exist.
    pub fn open(path: &Path) -> Result<Store, StoreError> {
        SqliteStore::open(path).map(Store::from)
    }

    /// Connects to the PostgreSQL database `url` names (`password` when it is
    /// kept outside the url) and migrates it to the current schema.
    pub fn connect(url: &str, password: Option<&str>) -> Result<Store, StoreError> {
        PgStore::connect(url, password).map(Store::from)
    }

    /// A private database that vanishes when dropped, for tests and dry runs.
    pub fn open_in_memory() -> Result<Store, StoreError> {
        SqliteStore::open_in_memory().map(Store::from)
    }

    /// Opens an existing database for reading only (see
    /// [`SqliteStore::open_read_only`]): commands that only read work on a
    /// file the user may not write, and write nothing to it.
    pub fn open_read_only(path: &Path) -> Result<Store, StoreError> {
        SqliteStore::open_read_only(path).map(Store::from)
    }

    /// Where this store lives, as the user named it, for messages.
    pub fn path(&self) -> &str {
        match &self.backend {
            Backend::Sqlite(db) => db.path(),
            Backend::Postgres(db) => db.path(),
        }
    }

    /// The schema version this build writes; a store with a higher one is refused.
    pub fn schema_version() -> i64 {
        SqliteStore::schema_version()
    }

    /// Stores one pull's points and the source's new incremental state in one
    /// transaction: either all of it is committed or none of it, so a crash or
    /// an invalid point never leaves points saved without the state that
    /// produced them (or the reverse).
    ///
    /// Each point is upserted by its natural key (source, entity, metric,
    /// dimensions, time): an identical value writes nothing, a new key is
    /// inserted, a changed value is replaced and the old one kept as a revision.
    pub fn write_batch(
        &mut self,
        source: &str,
        points: &[Point],
        observed_at: DateTime<Utc>,
        state: Option<&serde_json::Value>,
    ) -> Result<WriteStats, StoreError> {
        match &mut self.backend {
            Backend::Sqlite(db) => db.write_batch(source, points, observed_at, state),
            Backend::Postgres(db) => db.write_batch(source, points, observed_at, state),
        }
    }

    /// As [`Store::write_batch`], for points validated already (a pull's,
    /// checked as the connector emitted them): each is not checked again.
    pub fn write_valid_batch(
        &mut self,
        source: &str,
        points: &ValidPoints,
        observed_at: DateTime<Utc>,
        state: Option<&serde_json::Value>,
    ) -> Result<WriteStats, StoreError> {
        match &mut self.backend {
            Backend::Sqlite(db) => db.write_checked(source, points, observed_at, state),
            Backend::Postgres(db) => db.write_checked(source, points, observed_at, state),
        }
    }

    /// Points matching `q`, ordered by time, then source, entity and metric.
    ///
    /// Without `as_of` each key's latest value; with `as_of = T` the value that
    /// was known at `T` (a revision if it was restated later), and keys first
    /// observed after `T` are left out, so a report can be reproduced.
    pub fn query(&self, q: &PointQuery) -> Result<Vec<StoredPoint>, StoreError> {
        match &self.backend {
            Backend::Sqlite(db) => db.query(q),
            Backend::Postgres(db) => db.query(q),
        }
    }

    /// For each (entity, metric, dimensions) of `source`, the point with the
    /// latest time: what `tally demo` and `tally query` print as "now".
    pub fn latest_per_metric(&self, source: &str) -> Result<Vec<StoredPoint>, StoreError> {
        match &self.backend {
            Backend::Sqlite(db) => db.latest_per_metric(source),
            Backend::Postgres(db) => db.latest_per_metric(source),
        }
    }

    /// Stores the points of one import file in one transaction and records
    /// each new source's client. `points` pairs each point with its source;
    /// `clients` names the client of every source that is not configured
    /// (source, client). Nothing is written if any point is invalid. Returns
    /// what was written per source.
    pub fn write_import(
        &mut self,
        file: &str,
        points: &[(String, Point)],
        clients: &[(String, String)],
        observed_at: DateTime<Utc>,
    ) -> Result<BTreeMap<String, WriteStats>, StoreError> {
        match &mut self.backend {
            Backend::Sqlite(db) => db.write_import(file, points, clients, observed_at),
            Backend::Postgres(db) => db.write_import(file, points, clients, observed_at),
        }
    }

    /// Every source `tally import` has filled, by source id.
    pub fn imported_sources(&self) -> Result<Vec<ImportedSource>, StoreError> {
        match &self.backend {
            Backend::Sqlite(db) => db.imported_sources(),
            Backend::Postgres(db) => db.imported_sources(),
        }
    }

    /// The newest value of every metric of `source`'s account-level entities
    /// (breakdowns and per-post or per-video points excluded).
    pub fn latest_values(&self, source: &str) -> Result<Vec<LatestValue>, StoreError> {
        match &self.backend {
            Backend::Sqlite(db) => db.latest_values(source),
            Backend::Postgres(db) => db.latest_values(source),
        }
    }

    /// Units spent so far against budget `key` in the window starting at `window_start`.
    pub fn quota_used(&self, key: &str, window_start: DateTime<Utc>) -> Result<u64, StoreError> {
        match &self.backend {
            Backend::Sqlite(db) => db.quota_used(key, window_start),
            Backend::Postgres(db) => db.quota_used(key, window_start),
        }
    }

    /// Adds `units` to budget `key` in the window starting at `window_start` and
    /// returns the window's new total; prunes that key's long-past windows.
    pub fn quota_add(
        &mut self,
        key: &str,
        window_start: DateTime<Utc>,
        units: u64,
    ) -> Result<u64, StoreError> {
        match &mut self.backend {
            Backend::Sqlite(db) => db.quota_add(key, window_start, units),
            Backend::Postgres(db) => db.quota_add(key, window_start, units),
        }
    }

    /// Replaces the latest statement of `stated.bucket` of the budget the
    /// host keys as `key` (platform, API host and the connector's budget
    /// name), as the platform stated it in an answer.
    pub fn quota_state(&mut self, key: &str, stated: &StatedQuota) -> Result<(), StoreError> {
        match &mut self.backend {
            Backend::Sqlite(db) => db.quota_state(key, stated),
            Backend::Postgres(db) => db.quota_state(key, stated),
        }
    }

    /// The latest statement of every bucket of the budget keyed `key`, by bucket name.
    pub fn quota_stated(&self, key: &str) -> Result<Vec<StatedQuota>, StoreError> {
        match &self.backend {
            Backend::Sqlite(db) => db.quota_stated(key),
            Backend::Postgres(db) => db.quota_stated(key),
        }
    }

    /// Each source's last successful pull, by source id.
    pub fn last_successes(&self) -> Result<HashMap<String, LastSuccess>, StoreError> {
        match &self.backend {
            Backend::Sqlite(db) => db.last_successes(),
            Backend::Postgres(db) => db.last_successes(),
        }
    }

    /// Finishes every run started through this handle and not finished yet as
    /// failed with `reason` (pulls cancelled at shutdown), and returns how many.
    pub fn cancel_open_runs(
        &mut self,
        reason: &str,
        at: DateTime<Utc>,
    ) -> Result<usize, StoreError> {
        let open = match &self.backend {
            Backend::Sqlite(db) => db.open_run_ids(),
            Backend::Postgres(db) => db.open_run_ids(),
        };
        for &id in &open {
            self.finish_run(
                id,
                &RunOutcome {
                    finished_at: at,
                    status: RunStatus::Failed,
                    error: Some(reason.to_string()),
                    counts: RunCounts::default(),
                },
            )?;
        }
        Ok(open.len())
    }

    /// Records that a pull of `source` started, before any request is sent, so
    /// a crash during the pull still leaves a trace. Returns the run's id for
    /// [`SqliteStore::finish_run`].
    pub fn start_run(
        &mut self,
        source: &str,
        started_at: DateTime<Utc>,
    ) -> Result<i64, StoreError> {
        match &mut self.backend {
            Backend::Sqlite(db) => db.start_run(source, started_at),
            Backend::Postgres(db) => db.start_run(source, started_at),
        }
    }

    /// Refreshes the heartbeat of the run `id`, still in progress at `now`, so
    /// other processes reading the store see it as running.
    pub fn beat(&mut self, id: i64, now: DateTime<Utc>) -> Result<(), StoreError> {
        match &mut self.backend {
            Backend::Sqlite(db) => db.beat(id, now),
            Backend::Postgres(db) => db.beat(id, now),
        }
    }

    /// Records how the run `id` ended.
    pub fn finish_run(&mut self, id: i64, outcome: &RunOutcome) -> Result<(), StoreError> {
        match &mut self.backend {
            Backend::Sqlite(db) => db.finish_run(id, outcome),
            Backend::Postgres(db) => db.finish_run(id, outcome),
        }
    }

    /// The last `limit` runs, of one source or all, newest first.
    pub fn recent_runs(
        &self,
        source: Option<&str>,
        limit: usize,
    ) -> Result<Vec<RunRecord>, StoreError> {
        match &self.backend {
            Backend::Sqlite(db) => db.recent_runs(source, limit),
            Backend::Postgres(db) => db.recent_runs(source, limit),
        }
    }

    /// The state the source saved with its last committed batch, if any.
    pub fn load_state(&self, source: &str) -> Result<Option<serde_json::Value>, StoreError> {
        match &self.backend {
            Backend::Sqlite(db) => db.load_state(source),
            Backend::Postgres(db) => db.load_state(source),
        }
    }

    /// One summary per source of `sources`, for points with a time in `[from, to)`.
    pub fn source_summaries(
        &self,
        sources: &[String],
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> Result<Vec<SourceSummary>, StoreError> {
        match &self.backend {
            Backend::Sqlite(db) => db.source_summaries(sources, from, to),
            Backend::Postgres(db) => db.source_summaries(sources, from, to),
        }
    }

    /// The totals of `metric` from `sources` with a time in `[from, to)`
    /// (`from` unbounded when `None`), in no particular order.
    ///
    /// With `as_of = T`, each value as it was known at `T`: a value restated
    /// later reads as its revision, and values first observed after `T` are
    /// left out, so a goal evaluated "at" a past date sees what was known then.
    pub fn totals(
        &self,
        metric: &str,
        sources: &[String],
        from: Option<DateTime<Utc>>,
        to: DateTime<Utc>,
        as_of: Option<DateTime<Utc>>,
    ) -> Result<Vec<TotalRow>, StoreError> {
        match &self.backend {
            Backend::Sqlite(db) => db.totals(metric, sources, from, to, as_of),
            Backend::Postgres(db) => db.totals(metric, sources, from, to, as_of),
        }
    }
}
