//! The quota ledger: cost units spent per budget window, persisted so that a
//! restart of the daemon (or a one-off `tally pull`) does not hand a platform's
//! daily budget out twice.

use super::{sql_err, to_i64, to_ms, to_u64, SqliteStore, StoreError};
use chrono::{DateTime, Duration, Utc};
use rusqlite::{params, OptionalExtension};

/// Windows older than this before the current one are deleted when units are
/// added; the longest window is a month, so two are plenty for reporting.
const KEEP: Duration = Duration::days(62);

impl SqliteStore {
    /// Units spent so far against budget `key` in the window starting at `window_start`.
    pub fn quota_used(&self, key: &str, window_start: DateTime<Utc>) -> Result<u64, StoreError> {
        let used: Option<i64> = self
            .conn
            .prepare_cached("SELECT units FROM quota_usage WHERE key = ?1 AND window_ms = ?2")
            .and_then(|mut s| {
                s.query_row(params![key, to_ms(window_start)], |row| row.get(0))
                    .optional()
            })
            .map_err(sql_err(&self.path, "reading the quota ledger"))?;
        Ok(used.map(to_u64).unwrap_or(0))
    }

    /// Adds `units` to budget `key` in the window starting at `window_start` and
    /// returns the window's new total; prunes that key's long-past windows.
    pub fn quota_add(
        &mut self,
        key: &str,
        window_start: DateTime<Utc>,
        units: u64,
    ) -> Result<u64, StoreError> {
        let err = sql_err(&self.path, "updating the quota ledger");
        let window_ms = to_ms(window_start);
        let tx = self.conn.transaction().map_err(&err)?;
        let total: i64 = tx
            .prepare_cached(
                "INSERT INTO quota_usage (key, window_ms, units) VALUES (?1, ?2, ?3)
                 ON CONFLICT (key, window_ms) DO UPDATE SET units = units + excluded.units
                 RETURNING units",
            )
            .and_then(|mut s| s.query_row(params![key, window_ms, to_i64(units)], |row| row.get(0)))
            .map_err(&err)?;
        tx.prepare_cached("DELETE FROM quota_usage WHERE key = ?1 AND window_ms < ?2")
            .and_then(|mut s| s.execute(params![key, to_ms(window_start - KEEP)]))
            .map_err(&err)?;
        tx.commit().map_err(&err)?;
        Ok(to_u64(total))
    }
}
