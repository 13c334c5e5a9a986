//! The quota ledger on the server: every worker adds to the same rows, so a
//! platform's budget is spent once across all of them.

use super::{ms, to_i64, to_u64, wait, PgStore};
use crate::StoreError;
use chrono::{DateTime, Duration, Utc};

/// Windows older than this before the current one are deleted when units are
/// added, as on SQLite.
const KEEP: Duration = Duration::days(62);

impl PgStore {
    /// See [`crate::Store::quota_used`].
    pub fn quota_used(&self, key: &str, window_start: DateTime<Utc>) -> Result<u64, StoreError> {
        let err = self.err("reading the quota ledger");
        let stmt = self
            .prepare("SELECT units FROM quota_usage WHERE key = $1 AND window_start = $2")
            .map_err(&err)?;
        let row = wait(self.client.query_opt(&stmt, &[&key, &ms(window_start)])).map_err(&err)?;
        Ok(row
            .map(|r| r.try_get(0))
            .transpose()
            .map_err(&err)?
            .map(to_u64)
            .unwrap_or(0))
    }

    /// See [`crate::Store::quota_add`]. The addition is one atomic upsert, so
    /// workers adding at once all count.
    pub fn quota_add(
        &mut self,
        key: &str,
        window_start: DateTime<Utc>,
        units: u64,
    ) -> Result<u64, StoreError> {
        let err = super::pg_err(&self.label, "updating the quota ledger");
        let add = self
            .prepare(
                "INSERT INTO quota_usage (key, window_start, units) VALUES ($1, $2, $3)
                 ON CONFLICT (key, window_start) DO UPDATE SET units = quota_usage.units + excluded.units
                 RETURNING units",
            )
            .map_err(&err)?;
        let prune = self
            .prepare("DELETE FROM quota_usage WHERE key = $1 AND window_start < $2")
            .map_err(&err)?;
        let tx = wait(self.client.transaction()).map_err(&err)?;
        let total: i64 = wait(tx.query_one(&add, &[&key, &ms(window_start), &to_i64(units)]))
            .map_err(&err)?
            .try_get(0)
            .map_err(&err)?;
        wait(tx.execute(&prune, &[&key, &ms(window_start - KEEP)])).map_err(&err)?;
        wait(tx.commit()).map_err(&err)?;
        Ok(to_u64(total))
    }
}
