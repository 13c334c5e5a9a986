//! Quota a platform states in its answers (GA4's property tokens): the latest
//! statement of each bucket of a budget, kept so that the next pull, or a
//! restarted daemon, still refuses what the budget cannot pay until its reset.

use super::{from_ms, sql_err, to_i64, to_ms, to_u64, SqliteStore, StoreError};
use rusqlite::params;
use tally_model::StatedQuota;

impl SqliteStore {
    /// Replaces the statement of `stated.bucket` of the budget stored as `key`.
    pub fn quota_state(&mut self, key: &str, stated: &StatedQuota) -> Result<(), StoreError> {
        self.conn
            .prepare_cached(
                "INSERT INTO quota_stated (key, bucket, budget, remaining, cost, resets_ms)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6)
                 ON CONFLICT (key, bucket) DO UPDATE SET budget = excluded.budget,
                     remaining = excluded.remaining, cost = excluded.cost,
                     resets_ms = excluded.resets_ms",
            )
            .and_then(|mut s| {
                s.execute(params![
                    key,
                    stated.bucket,
                    stated.budget,
                    to_i64(stated.remaining),
                    to_i64(stated.cost),
                    to_ms(stated.resets_at)
                ])
            })
            .map_err(sql_err(&self.path, "recording a stated quota"))?;
        Ok(())
    }

    /// The latest statement of every bucket of the budget stored as `key`, by bucket name.
    pub fn quota_stated(&self, key: &str) -> Result<Vec<StatedQuota>, StoreError> {
        let err = sql_err(&self.path, "reading stated quotas");
        let mut statement = self
            .conn
            .prepare_cached(
                "SELECT budget, bucket, remaining, cost, resets_ms FROM quota_stated
                 WHERE key = ?1 ORDER BY bucket",
            )
            .map_err(&err)?;
        let rows = statement
            .query_map(params![key], |row| {
                Ok(StatedQuota {
                    budget: row.get(0)?,
                    bucket: row.get(1)?,
                    remaining: to_u64(row.get(2)?),
                    cost: to_u64(row.get(3)?),
                    resets_at: from_ms(row.get(4)?).unwrap_or_default(),
                })
            })
            .map_err(&err)?;
        rows.collect::<Result<_, _>>().map_err(err)
    }
}
