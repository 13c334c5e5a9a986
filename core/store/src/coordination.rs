//! What several `tally run` workers on one database need from the store:
//! registering, claiming planned pulls, taking over a stopped worker's, and
//! listing who holds what (see `postgres/workers.rs`).
//!
//! A SQLite file belongs to one process, so there every claim is granted and
//! there are no other workers to list or take over from.

use crate::{Backend, Store, StoreError};
use chrono::{DateTime, Duration, Utc};

/// One planned pull a worker wants to run.
#[derive(Debug, Clone, Copy)]
pub struct PullClaim<'a> {
    /// The worker asking.
    pub worker: &'a str,
    /// The source.
    pub source: &'a str,
    /// The planned time of the pull: with the source, the slot only one worker gets.
    pub slot_at: DateTime<Utc>,
    /// The key of the source's credential (pacing key): one worker at a time
    /// pulls all sources of a credential, so its pacing and quota hold.
    pub lease_key: &'a str,
    /// The same key without the credential's fingerprint, for `tally workers`.
    pub lease_label: &'a str,
}

/// A live worker, for `tally workers`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WorkerInfo {
    /// Its id (`host:pid` unless named with `tally run --worker`).
    pub id: String,
    /// The machine it runs on.
    pub host: String,
    /// Its process id there.
    pub pid: i64,
    /// When it started.
    pub started_at: DateTime<Utc>,
    /// When it last refreshed its leases.
    pub seen_at: DateTime<Utc>,
    /// The credentials (pacing keys without fingerprint) it holds.
    pub leases: Vec<String>,
    /// The sources it is pulling now.
    pub pulling: Vec<String>,
}

impl Store {
    /// Whether several workers can share this store (PostgreSQL).
    pub fn is_shared(&self) -> bool {
        matches!(self.backend, Backend::Postgres(_))
    }

    /// Announces `worker` (on machine `host`) as live; its runs are recorded with its id.
    pub fn join_workers(
        &mut self,
        worker: &str,
        host: &str,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        match &mut self.backend {
            Backend::Sqlite(_) => Ok(()),
            Backend::Postgres(db) => db.join_workers(worker, host, now),
        }
    }

    /// Keeps `worker` and its leases alive for `ttl` more.
    pub fn worker_heartbeat(
        &mut self,
        worker: &str,
        now: DateTime<Utc>,
        ttl: Duration,
    ) -> Result<(), StoreError> {
        match &mut self.backend {
            Backend::Sqlite(_) => Ok(()),
            Backend::Postgres(db) => db.worker_heartbeat(worker, now, ttl),
        }
    }

    /// Removes `worker` and releases its leases at a clean stop, so others
    /// need not wait for them to expire.
    pub fn leave_workers(&mut self, worker: &str) -> Result<(), StoreError> {
        match &mut self.backend {
            Backend::Sqlite(_) => Ok(()),
            Backend::Postgres(db) => db.leave_workers(worker),
        }
    }

    /// Whether the claiming worker may run this planned pull: it holds (or
    /// now takes) the credential's lease, and the slot is new, or was left
    /// unfinished by a worker not seen for `ttl`. `false` means another
    /// worker runs it.
    pub fn claim_pull(
        &mut self,
        claim: &PullClaim<'_>,
        now: DateTime<Utc>,
        ttl: Duration,
    ) -> Result<bool, StoreError> {
        match &mut self.backend {
            Backend::Sqlite(_) => Ok(true),
            Backend::Postgres(db) => db.claim_pull(claim, now, ttl),
        }
    }

    /// Marks a claimed pull as done (whatever its outcome).
    pub fn finish_pull(
        &mut self,
        worker: &str,
        source: &str,
        slot_at: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        match &mut self.backend {
            Backend::Sqlite(_) => Ok(()),
            Backend::Postgres(db) => db.finish_pull(worker, source, slot_at, now),
        }
    }

    /// Planned pulls a worker not seen for `ttl` left unfinished, oldest first.
    pub fn orphaned_pulls(
        &mut self,
        now: DateTime<Utc>,
        ttl: Duration,
    ) -> Result<Vec<(String, DateTime<Utc>)>, StoreError> {
        match &mut self.backend {
            Backend::Sqlite(_) => Ok(Vec::new()),
            Backend::Postgres(db) => db.orphaned_pulls(now, ttl),
        }
    }

    /// The workers seen within `ttl`, with their leases and current pulls.
    pub fn live_workers(
        &self,
        now: DateTime<Utc>,
        ttl: Duration,
    ) -> Result<Vec<WorkerInfo>, StoreError> {
        match &self.backend {
            Backend::Sqlite(_) => Ok(Vec::new()),
            Backend::Postgres(db) => db.live_workers(now, ttl),
        }
    }
}
