//! The record of every pull on the server, read by `tally runs` and
//! `/metrics` of every worker.

use super::{ms, pg_err, to_i64, to_u64, wait, PgStore};
use crate::{LastSuccess, RunCounts, RunOutcome, RunRecord, RunState, StoreError, HEARTBEAT_STALE};
use chrono::{DateTime, Utc};
use std::collections::HashMap;
use tokio_postgres::Row;

const RUN_COLUMNS: &str = "id, source, started_at, finished_at, status, error, points, inserted,
     revised, requests, retries, throttled, COALESCE(heartbeat_at, started_at), worker";

impl PgStore {
    /// See [`crate::Store::last_successes`].
    pub fn last_successes(&self) -> Result<HashMap<String, LastSuccess>, StoreError> {
        let err = self.err("reading the last successful runs");
        let stmt = self
            .prepare(
                "SELECT DISTINCT ON (source) source, started_at, finished_at, requests FROM runs
                 WHERE status = 'ok' ORDER BY source, id DESC",
            )
            .map_err(&err)?;
        let rows = wait(self.client.query(&stmt, &[])).map_err(&err)?;
        let mut out = HashMap::new();
        for row in rows {
            let started: DateTime<Utc> = row.try_get(1).map_err(&err)?;
            let finished: Option<DateTime<Utc>> = row.try_get(2).map_err(&err)?;
            out.insert(
                row.try_get(0).map_err(&err)?,
                LastSuccess {
                    started_at: started,
                    finished_at: finished.unwrap_or(started),
                    requests: to_u64(row.try_get(3).map_err(&err)?),
                },
            );
        }
        Ok(out)
    }

    /// The runs started through this handle and not finished yet.
    pub(crate) fn open_run_ids(&self) -> Vec<i64> {
        self.open_runs.iter().copied().collect()
    }

    /// See [`crate::Store::start_run`].
    pub fn start_run(
        &mut self,
        source: &str,
        started_at: DateTime<Utc>,
    ) -> Result<i64, StoreError> {
        let err = pg_err(&self.label, "recording the start of a run");
        let stmt = self
            .prepare(
                "INSERT INTO runs (source, started_at, heartbeat_at, worker) VALUES ($1, $2, $2, $3)
                 RETURNING id",
            )
            .map_err(&err)?;
        let id: i64 = wait(
            self.client
                .query_one(&stmt, &[&source, &ms(started_at), &self.worker]),
        )
        .map_err(&err)?
        .try_get(0)
        .map_err(&err)?;
        self.open_runs.insert(id);
        Ok(id)
    }

    /// See [`crate::Store::beat`].
    pub fn beat(&mut self, id: i64, now: DateTime<Utc>) -> Result<(), StoreError> {
        let err = self.err("refreshing the heartbeat of a run");
        let stmt = self
            .prepare("UPDATE runs SET heartbeat_at = $2 WHERE id = $1 AND status IS NULL")
            .map_err(&err)?;
        wait(self.client.execute(&stmt, &[&id, &ms(now)])).map_err(&err)?;
        Ok(())
    }

    /// See [`crate::Store::finish_run`].
    pub fn finish_run(&mut self, id: i64, outcome: &RunOutcome) -> Result<(), StoreError> {
        let err = pg_err(&self.label, "recording the end of a run");
        let stmt = self
            .prepare(
                "UPDATE runs SET finished_at = $2, status = $3, error = $4, points = $5,
                    inserted = $6, revised = $7, requests = $8, retries = $9, throttled = $10
                 WHERE id = $1",
            )
            .map_err(&err)?;
        let c = &outcome.counts;
        let changed = wait(self.client.execute(
            &stmt,
            &[
                &id,
                &ms(outcome.finished_at),
                &outcome.status.as_str(),
                &outcome.error,
                &to_i64(c.points),
                &to_i64(c.inserted),
                &to_i64(c.revised),
                &to_i64(c.requests),
                &to_i64(c.retries),
                &to_i64(c.throttled),
            ],
        ))
        .map_err(&err)?;
        if changed == 0 {
            return Err(StoreError::UnknownRun {
                path: self.label.clone(),
                id,
            });
        }
        self.open_runs.remove(&id);
        Ok(())
    }

    /// See [`crate::Store::recent_runs`].
    pub fn recent_runs(
        &self,
        source: Option<&str>,
        limit: usize,
    ) -> Result<Vec<RunRecord>, StoreError> {
        let err = self.err("reading pull runs");
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        let rows = match source {
            Some(source) => {
                let stmt = self
                    .prepare(&format!(
                        "SELECT {RUN_COLUMNS} FROM runs WHERE source = $1
                         ORDER BY started_at DESC, id DESC LIMIT $2"
                    ))
                    .map_err(&err)?;
                wait(self.client.query(&stmt, &[&source, &limit]))
            }
            None => {
                let stmt = self
                    .prepare(&format!(
                        "SELECT {RUN_COLUMNS} FROM runs ORDER BY started_at DESC, id DESC LIMIT $1"
                    ))
                    .map_err(&err)?;
                wait(self.client.query(&stmt, &[&limit]))
            }
        }
        .map_err(&err)?;
        rows.iter().map(|row| self.read_run(row)).collect()
    }

    fn read_run(&self, row: &Row) -> Result<RunRecord, StoreError> {
        let err = self.err("reading pull runs");
        let id: i64 = row.try_get(0).map_err(&err)?;
        let status: Option<String> = row.try_get(4).map_err(&err)?;
        let status = match status.as_deref() {
            Some("ok") => RunState::Ok,
            Some("failed") => RunState::Failed,
            Some("skipped") => RunState::Skipped,
            Some(other) => {
                return Err(super::corrupt(
                    &self.label,
                    "run status",
                    format!("`{other}` is not a known status"),
                ))
            }
            None if self.open_runs.contains(&id) => RunState::Running,
            None => {
                let beat: DateTime<Utc> = row.try_get(12).map_err(&err)?;
                let stale =
                    chrono::Duration::from_std(HEARTBEAT_STALE).unwrap_or(chrono::Duration::MAX);
                if Utc::now() - beat <= stale {
                    RunState::Running
                } else {
                    RunState::Interrupted
                }
            }
        };
        let count = |i: usize| row.try_get::<_, i64>(i).map(to_u64).map_err(&err);
        Ok(RunRecord {
            id,
            source: row.try_get(1).map_err(&err)?,
            started_at: row.try_get(2).map_err(&err)?,
            finished_at: row.try_get(3).map_err(&err)?,
            status,
            error: row.try_get(5).map_err(&err)?,
            worker: row.try_get(13).map_err(&err)?,
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
