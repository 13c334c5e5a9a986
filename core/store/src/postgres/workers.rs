//! Several `tally run` workers on one database, coordinated through it alone.
//!
//! Each worker plans the same timetable (offsets are a hash of the source id)
//! and, before a planned pull, claims it: first the lease of the source's
//! credential, which one worker holds at a time so the platform's pacing and
//! quota hold across workers, then the (source, planned time) slot, which
//! only one worker gets. A worker takes a new credential only while it holds
//! fewer than its share (the live leases over the live workers, rounded up),
//! so the credentials spread over the workers rather than going to the first
//! one to ask. A worker refreshes `workers.seen_at` and its leases
//! every few seconds; one that stops (a crash, `kill -9`) loses them after
//! the lease time, and another takes its unfinished slots over and resumes
//! the sources from their saved state. Taking over is the claim's `INSERT …
//! ON CONFLICT DO UPDATE … WHERE` the holder is dead: the conflicting row is
//! locked, so of two workers racing for it one updates it and the other finds
//! it taken.

use super::{ms, pg_err, wait, PgStore};
use crate::{StoreError, WorkerInfo};
use chrono::{DateTime, Duration, Utc};

impl PgStore {
    /// See [`crate::Store::join_workers`].
    pub fn join_workers(
        &mut self,
        worker: &str,
        host: &str,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        let err = pg_err(&self.label, "registering the worker");
        let stmt = self
            .prepare(
                "INSERT INTO workers (id, host, pid, started_at, seen_at) VALUES ($1, $2, $3, $4, $4)
                 ON CONFLICT (id) DO UPDATE SET host = excluded.host, pid = excluded.pid,
                     started_at = excluded.started_at, seen_at = excluded.seen_at",
            )
            .map_err(&err)?;
        let pid = i64::from(std::process::id());
        wait(
            self.client
                .execute(&stmt, &[&worker, &host, &pid, &ms(now)]),
        )
        .map_err(&err)?;
        self.worker = Some(worker.to_string());
        Ok(())
    }

    /// See [`crate::Store::worker_heartbeat`].
    pub fn worker_heartbeat(
        &mut self,
        worker: &str,
        now: DateTime<Utc>,
        ttl: Duration,
    ) -> Result<(), StoreError> {
        let err = pg_err(&self.label, "refreshing the worker's leases");
        let seen = self
            .prepare("UPDATE workers SET seen_at = $2 WHERE id = $1")
            .map_err(&err)?;
        let leases = self
            .prepare("UPDATE leases SET expires_at = $2 WHERE worker = $1")
            .map_err(&err)?;
        let tx = wait(self.client.transaction()).map_err(&err)?;
        wait(tx.execute(&seen, &[&worker, &ms(now)])).map_err(&err)?;
        wait(tx.execute(&leases, &[&worker, &ms(now + ttl)])).map_err(&err)?;
        wait(tx.commit()).map_err(&err)
    }

    /// See [`crate::Store::claim_pull`].
    pub fn claim_pull(
        &mut self,
        claim: &crate::PullClaim<'_>,
        now: DateTime<Utc>,
        ttl: Duration,
    ) -> Result<bool, StoreError> {
        let err = pg_err(&self.label, "claiming a planned pull");
        let lease = self
            .prepare(
                "INSERT INTO leases (key, label, worker, expires_at)
                 SELECT $1, $2, $3, $4
                 WHERE EXISTS (SELECT 1 FROM leases WHERE key = $1 AND worker = $3)
                    OR (SELECT COUNT(*) FROM leases WHERE worker = $3 AND expires_at >= $5)
                       < CEIL(((SELECT COUNT(*) FROM leases WHERE key <> $1 AND expires_at >= $5) + 1)
                              / GREATEST((SELECT COUNT(*) FROM workers WHERE seen_at >= $6), 1)::numeric)
                 ON CONFLICT (key) DO UPDATE SET worker = excluded.worker,
                     expires_at = excluded.expires_at
                 WHERE leases.worker = excluded.worker OR leases.expires_at < $5
                 RETURNING worker",
            )
            .map_err(&err)?;
        let slot = self
            .prepare(
                "INSERT INTO pull_slots (source, slot_at, worker, claimed_at) VALUES ($1, $2, $3, $4)
                 ON CONFLICT (source, slot_at) DO UPDATE SET worker = excluded.worker,
                     claimed_at = excluded.claimed_at, takeovers = pull_slots.takeovers + 1
                 WHERE pull_slots.done_at IS NULL AND pull_slots.worker <> excluded.worker
                   AND NOT EXISTS (SELECT 1 FROM workers w
                                   WHERE w.id = pull_slots.worker AND w.seen_at >= $5)",
            )
            .map_err(&err)?;
        let mine = self
            .prepare(
                "SELECT 1 FROM pull_slots
                 WHERE source = $1 AND slot_at = $2 AND worker = $3 AND done_at IS NULL",
            )
            .map_err(&err)?;
        let (now, stale) = (ms(now), ms(now - ttl));
        let tx = wait(self.client.transaction()).map_err(&err)?;
        let held = wait(tx.query_opt(
            &lease,
            &[
                &claim.lease_key,
                &claim.lease_label,
                &claim.worker,
                &(now + ttl),
                &now,
                &stale,
            ],
        ))
        .map_err(&err)?;
        if held.is_none() {
            return Ok(false);
        }
        let at = ms(claim.slot_at);
        wait(tx.execute(&slot, &[&claim.source, &at, &claim.worker, &now, &stale]))
            .map_err(&err)?;
        let mine = wait(tx.query_opt(&mine, &[&claim.source, &at, &claim.worker]))
            .map_err(&err)?
            .is_some();
        wait(tx.commit()).map_err(&err)?;
        Ok(mine)
    }

    /// See [`crate::Store::finish_pull`].
    pub fn finish_pull(
        &mut self,
        worker: &str,
        source: &str,
        slot_at: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        let err = self.err("recording a planned pull as done");
        let stmt = self
            .prepare(
                "UPDATE pull_slots SET done_at = $4
                 WHERE source = $1 AND slot_at = $2 AND worker = $3",
            )
            .map_err(&err)?;
        wait(
            self.client
                .execute(&stmt, &[&source, &ms(slot_at), &worker, &ms(now)]),
        )
        .map_err(&err)?;
        Ok(())
    }

    /// See [`crate::Store::orphaned_pulls`].
    pub fn orphaned_pulls(
        &mut self,
        now: DateTime<Utc>,
        ttl: Duration,
    ) -> Result<Vec<(String, DateTime<Utc>)>, StoreError> {
        let err = self.err("looking for pulls a stopped worker left");
        let stmt = self
            .prepare(
                "SELECT source, slot_at FROM pull_slots s
                 WHERE done_at IS NULL
                   AND NOT EXISTS (SELECT 1 FROM workers w WHERE w.id = s.worker AND w.seen_at >= $1)
                 ORDER BY slot_at",
            )
            .map_err(&err)?;
        let rows = wait(self.client.query(&stmt, &[&ms(now - ttl)])).map_err(&err)?;
        rows.iter()
            .map(|r| Ok((r.try_get(0).map_err(&err)?, r.try_get(1).map_err(&err)?)))
            .collect()
    }

    /// See [`crate::Store::leave_workers`].
    pub fn leave_workers(&mut self, worker: &str) -> Result<(), StoreError> {
        let err = pg_err(&self.label, "signing the worker off");
        let gone = self
            .prepare("DELETE FROM workers WHERE id = $1")
            .map_err(&err)?;
        let leases = self
            .prepare("DELETE FROM leases WHERE worker = $1")
            .map_err(&err)?;
        let tx = wait(self.client.transaction()).map_err(&err)?;
        wait(tx.execute(&leases, &[&worker])).map_err(&err)?;
        wait(tx.execute(&gone, &[&worker])).map_err(&err)?;
        wait(tx.commit()).map_err(&err)
    }

    /// See [`crate::Store::live_workers`].
    pub fn live_workers(
        &self,
        now: DateTime<Utc>,
        ttl: Duration,
    ) -> Result<Vec<WorkerInfo>, StoreError> {
        let err = self.err("listing workers");
        let stmt = self
            .prepare(
                "SELECT w.id, w.host, w.pid, w.started_at, w.seen_at,
                        COALESCE((SELECT array_agg(l.label ORDER BY l.label) FROM leases l
                                  WHERE l.worker = w.id AND l.expires_at >= $2), '{}'),
                        COALESCE((SELECT array_agg(p.source ORDER BY p.source) FROM pull_slots p
                                  WHERE p.worker = w.id AND p.done_at IS NULL), '{}')
                 FROM workers w WHERE w.seen_at >= $1 ORDER BY w.id",
            )
            .map_err(&err)?;
        let rows = wait(self.client.query(&stmt, &[&ms(now - ttl), &ms(now)])).map_err(&err)?;
        rows.iter()
            .map(|r| {
                Ok(WorkerInfo {
                    id: r.try_get(0).map_err(&err)?,
                    host: r.try_get(1).map_err(&err)?,
                    pid: r.try_get::<_, i64>(2).map_err(&err)?,
                    started_at: r.try_get(3).map_err(&err)?,
                    seen_at: r.try_get(4).map_err(&err)?,
                    leases: r.try_get(5).map_err(&err)?,
                    pulling: r.try_get(6).map_err(&err)?,
                })
            })
            .collect()
    }
}
