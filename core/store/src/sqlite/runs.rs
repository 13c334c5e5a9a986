//! A record of every pull: when, how it ended, how much it fetched and how hard
//! the platform pushed back. `tally runs` and the daemon's `/metrics` read it;
//! an agency uses it to see which client's source is failing and why.

use super::{corrupt, from_ms, sql_err, to_i64, to_ms, to_u64, SqliteStore, StoreError};
use crate::RunCounts;
use chrono::{DateTime, Utc};
use rusqlite::{params, Row};
use std::collections::HashMap;
use std::time::Duration;

/// How often a process refreshes the heartbeat of the runs it has open.
pub const HEARTBEAT: Duration = Duration::from_secs(5);

/// How old an unfinished run's heartbeat may be before the run counts as
/// interrupted: several missed beats, so a busy machine is not mistaken for
/// a dead process.
pub const HEARTBEAT_STALE: Duration = Duration::from_secs(30);

/// How a finished pull ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RunStatus {
    /// Points (possibly none) were stored.
    Ok,
    /// The pull failed; `error` says why.
    Failed,
    /// The pull did not start (disabled source, quota exhausted, not due).
    Skipped,
}

impl RunStatus {
    /// The name stored and printed.
    pub fn as_str(self) -> &'static str {
        match self {
            RunStatus::Ok => "ok",
            RunStatus::Failed => "failed",
            RunStatus::Skipped => "skipped",
        }
    }
}

/// What a recorded run looks like now: finished with a status, still running in
/// this process, or left unfinished by a process that stopped (crash, kill).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RunState {
    /// Finished successfully.
    Ok,
    /// Finished with an error.
    Failed,
    /// Did not start.
    Skipped,
    /// Not finished yet: started through this [`SqliteStore`] handle, or by
    /// another process whose heartbeat is fresh.
    Running,
    /// Started and never finished, and its process stopped refreshing its
    /// heartbeat (crash, kill) more than [`HEARTBEAT_STALE`] ago. A run in
    /// progress in another process (a daemon's pull waiting on a rate limit)
    /// keeps its heartbeat fresh and shows as [`RunState::Running`].
    Interrupted,
}

impl RunState {
    /// The name printed by `tally runs`.
    pub fn as_str(self) -> &'static str {
        match self {
            RunState::Ok => "ok",
            RunState::Failed => "failed",
            RunState::Skipped => "skipped",
            RunState::Running => "running",
            RunState::Interrupted => "interrupted",
        }
    }
}

impl From<RunStatus> for RunState {
    fn from(s: RunStatus) -> RunState {
        match s {
            RunStatus::Ok => RunState::Ok,
            RunStatus::Failed => RunState::Failed,
            RunStatus::Skipped => RunState::Skipped,
        }
    }
}

/// How a pull ended, as the pull engine reports it to [`SqliteStore::finish_run`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunOutcome {
    /// When it ended.
    pub finished_at: DateTime<Utc>,
    /// How it ended.
    pub status: RunStatus,
    /// Why it failed or was skipped, already free of secrets.
    pub error: Option<String>,
    /// What it fetched and stored.
    pub counts: RunCounts,
}

/// One pull as recorded, newest first in [`SqliteStore::recent_runs`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunRecord {
    /// The run's id.
    pub id: i64,
    /// The configured source id.
    pub source: String,
    /// When it started.
    pub started_at: DateTime<Utc>,
    /// When it ended, if it did.
    pub finished_at: Option<DateTime<Utc>>,
    /// How it ended, or that it is running or was interrupted.
    pub status: RunState,
    /// Why it failed or was skipped.
    pub error: Option<String>,
    /// The `tally run` worker that pulled, on a database several share.
    pub worker: Option<String>,
    /// What it fetched and stored.
    pub counts: RunCounts,
}

/// A source's last successful pull, for catch-up after downtime, `tally plan`
/// estimates and the daemon's freshness gauges.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LastSuccess {
    /// When it started.
    pub started_at: DateTime<Utc>,
    /// When it finished.
    pub finished_at: DateTime<Utc>,
    /// HTTP requests it sent.
    pub requests: u64,
}

impl SqliteStore {
    /// Each source's last successful pull, by source id.
    pub fn last_successes(&self) -> Result<HashMap<String, LastSuccess>, StoreError> {
        let path = self.path.as_str();
        let err = sql_err(path, "reading the last successful runs");
        let mut stmt = self
            .conn
            .prepare_cached(
                "SELECT source, started_ms, finished_ms, requests FROM runs
                 WHERE id IN (SELECT MAX(id) FROM runs WHERE status = 'ok' GROUP BY source)",
            )
            .map_err(&err)?;
        let mut rows = stmt.query([]).map_err(&err)?;
        let time = |ms: i64| {
            from_ms(ms).ok_or_else(|| corrupt(path, "run time", format!("{ms} ms is out of range")))
        };
        let mut out = HashMap::new();
        while let Some(row) = rows.next().map_err(&err)? {
            let started: i64 = row.get(1).map_err(&err)?;
            let finished: Option<i64> = row.get(2).map_err(&err)?;
            out.insert(
                row.get(0).map_err(&err)?,
                LastSuccess {
                    started_at: time(started)?,
                    finished_at: time(finished.unwrap_or(started))?,
                    requests: to_u64(row.get(3).map_err(&err)?),
                },
            );
        }
        Ok(out)
    }

    /// The runs started through this handle and not finished yet.
    pub(crate) fn open_run_ids(&self) -> Vec<i64> {
        self.open_runs.iter().copied().collect()
    }

    /// Records that a pull of `source` started, before any request is sent, so
    /// a crash during the pull still leaves a trace. Returns the run's id for
    /// [`SqliteStore::finish_run`].
    pub fn start_run(
        &mut self,
        source: &str,
        started_at: DateTime<Utc>,
    ) -> Result<i64, StoreError> {
        self.conn
            .prepare_cached(
                "INSERT INTO runs (source, started_ms, heartbeat_ms) VALUES (?1, ?2, ?2)",
            )
            .and_then(|mut s| s.execute(params![source, to_ms(started_at)]))
            .map_err(sql_err(&self.path, "recording the start of a run"))?;
        let id = self.conn.last_insert_rowid();
        self.open_runs.insert(id);
        Ok(id)
    }

    /// Refreshes the heartbeat of the run `id`, still in progress at `now`, so
    /// other processes reading the store see it as running.
    pub fn beat(&mut self, id: i64, now: DateTime<Utc>) -> Result<(), StoreError> {
        self.conn
            .prepare_cached("UPDATE runs SET heartbeat_ms = ?2 WHERE id = ?1 AND status IS NULL")
            .and_then(|mut s| s.execute(params![id, to_ms(now)]))
            .map_err(sql_err(&self.path, "refreshing the heartbeat of a run"))?;
        Ok(())
    }

    /// Records how the run `id` ended.
    pub fn finish_run(&mut self, id: i64, outcome: &RunOutcome) -> Result<(), StoreError> {
        let changed = self
            .conn
            .prepare_cached(
                "UPDATE runs SET finished_ms = ?2, status = ?3, error = ?4, points = ?5, inserted = ?6,
                    revised = ?7, requests = ?8, retries = ?9, throttled = ?10
                 WHERE id = ?1",
            )
            .and_then(|mut s| {
                s.execute(params![
                    id,
                    to_ms(outcome.finished_at),
                    outcome.status.as_str(),
                    outcome.error,
                    to_i64(outcome.counts.points),
                    to_i64(outcome.counts.inserted),
                    to_i64(outcome.counts.revised),
                    to_i64(outcome.counts.requests),
                    to_i64(outcome.counts.retries),
                    to_i64(outcome.counts.throttled)
                ])
            })
            .map_err(sql_err(&self.path, "recording the end of a run"))?;
        if changed == 0 {
            return Err(StoreError::UnknownRun {
                path: self.path.clone(),
                id,
            });
        }
        self.open_runs.remove(&id);
        Ok(())
    }

    /// The last `limit` runs, of one source or all, newest first.
    pub fn recent_runs(
        &self,
        source: Option<&str>,
        limit: usize,
    ) -> Result<Vec<RunRecord>, StoreError> {
        let err = sql_err(&self.path, "reading pull runs");
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        let columns =
            "id, source, started_ms, finished_ms, status, error, points, inserted, revised,
                       requests, retries, throttled, COALESCE(heartbeat_ms, started_ms)";
        let mut out = Vec::new();
        let mut collect = |rows: &mut rusqlite::Rows<'_>| -> Result<(), StoreError> {
            while let Some(row) = rows.next().map_err(&err)? {
                out.push(self.read_run(row)?);
            }
            Ok(())
        };
        match source {
            Some(source) => {
                let mut stmt = self
                    .conn
                    .prepare_cached(&format!(
                        "SELECT {columns} FROM runs WHERE source = ?1 ORDER BY started_ms DESC, id DESC LIMIT ?2"
                    ))
                    .map_err(&err)?;
                collect(&mut stmt.query(params![source, limit]).map_err(&err)?)?;
            }
            None => {
                let mut stmt = self
                    .conn
                    .prepare_cached(&format!(
                        "SELECT {columns} FROM runs ORDER BY started_ms DESC, id DESC LIMIT ?1"
                    ))
                    .map_err(&err)?;
                collect(&mut stmt.query(params![limit]).map_err(&err)?)?;
            }
        }
        Ok(out)
    }

    fn read_run(&self, row: &Row<'_>) -> Result<RunRecord, StoreError> {
        let path = self.path.as_str();
        let err = sql_err(path, "reading pull runs");
        let time = |ms: i64| {
            from_ms(ms).ok_or_else(|| corrupt(path, "run time", format!("{ms} ms is out of range")))
        };
        let id: i64 = row.get(0).map_err(&err)?;
        let finished_ms: Option<i64> = row.get(3).map_err(&err)?;
        let status: Option<String> = row.get(4).map_err(&err)?;
        let status = match status.as_deref() {
            Some("ok") => RunState::Ok,
            Some("failed") => RunState::Failed,
            Some("skipped") => RunState::Skipped,
            Some(other) => {
                return Err(corrupt(
                    path,
                    "run status",
                    format!("`{other}` is not a known status"),
                ))
            }
            None if self.open_runs.contains(&id) => RunState::Running,
            None => {
                let beat: i64 = row.get(12).map_err(&err)?;
                let stale = i64::try_from(HEARTBEAT_STALE.as_millis()).unwrap_or(i64::MAX);
                if to_ms(Utc::now()) - beat <= stale {
                    RunState::Running
                } else {
                    RunState::Interrupted
                }
            }
        };
        let count = |i: usize| row.get::<_, i64>(i).map(to_u64).map_err(&err);
        Ok(RunRecord {
            id,
            source: row.get(1).map_err(&err)?,
            started_at: time(row.get(2).map_err(&err)?)?,
            finished_at: finished_ms.map(time).transpose()?,
            status,
            error: row.get(5).map_err(&err)?,
            worker: None,
            counts: RunCounts {
                points: count(6)?,
                inserted: count(7)?,
                revised: count(8)?,
                requests: count(9)?,
                retries: count(10)?,
                throttled: count(11)?,
            },
        })
    }
}
