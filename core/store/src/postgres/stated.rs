//! Quota a platform states in its answers, on the server: every worker reads
//! and replaces the same rows, so a budget one worker's source spent refuses
//! the sources of the others too.

use super::{ms, to_i64, to_u64, wait, PgStore};
use crate::StoreError;
use chrono::{DateTime, Utc};
use tally_model::StatedQuota;

impl PgStore {
    /// See [`crate::Store::quota_state`].
    pub fn quota_state(&mut self, key: &str, stated: &StatedQuota) -> Result<(), StoreError> {
        let err = self.err("recording a stated quota");
        let stmt = self
            .prepare(
                "INSERT INTO quota_stated (key, bucket, budget, remaining, cost, resets_at)
                 VALUES ($1, $2, $3, $4, $5, $6)
                 ON CONFLICT (key, bucket) DO UPDATE SET budget = excluded.budget,
                     remaining = excluded.remaining, cost = excluded.cost,
                     resets_at = excluded.resets_at",
            )
            .map_err(&err)?;
        wait(self.client.execute(
            &stmt,
            &[
                &key,
                &stated.bucket,
                &stated.budget,
                &to_i64(stated.remaining),
                &to_i64(stated.cost),
                &ms(stated.resets_at),
            ],
        ))
        .map_err(&err)?;
        Ok(())
    }

    /// See [`crate::Store::quota_stated`].
    pub fn quota_stated(&self, key: &str) -> Result<Vec<StatedQuota>, StoreError> {
        let err = self.err("reading stated quotas");
        let stmt = self
            .prepare(
                "SELECT budget, bucket, remaining, cost, resets_at FROM quota_stated
                 WHERE key = $1 ORDER BY bucket",
            )
            .map_err(&err)?;
        let rows = wait(self.client.query(&stmt, &[&key])).map_err(&err)?;
        rows.iter()
            .map(|row| {
                Ok(StatedQuota {
                    budget: row.try_get(0)?,
                    bucket: row.try_get(1)?,
                    remaining: to_u64(row.try_get(2)?),
                    cost: to_u64(row.try_get(3)?),
                    resets_at: row.try_get::<_, DateTime<Utc>>(4)?,
                })
            })
            .collect::<Result<_, tokio_postgres::Error>>()
            .map_err(err)
    }
}
