//! Per-source summaries for a report's provenance: when each source was last
//! pulled or imported, and how many of its points a period holds.
//!
//! A client reading a report should be able to tell where each number came
//! from and how fresh it is; these are two aggregate queries rather than a
//! scan of every point.

use super::{from_ms, sql_err, to_ms, to_u64, SqliteStore, StoreError};
use chrono::{DateTime, Utc};
use rusqlite::types::Value as SqlValue;

/// What the store knows about one source over a period.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SourceSummary {
    /// The source id.
    pub source: String,
    /// Points whose time falls in the period.
    pub points: u64,
    /// When the newest of those values was first observed.
    pub last_observed: Option<DateTime<Utc>>,
    /// When the last successful pull or import of the source finished.
    pub last_run: Option<DateTime<Utc>>,
}

impl SqliteStore {
    /// One summary per source of `sources`, for points with a time in `[from, to)`.
    pub fn source_summaries(
        &self,
        sources: &[String],
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> Result<Vec<SourceSummary>, StoreError> {
        let err = sql_err(&self.path, "summarising sources");
        let mut out = Vec::with_capacity(sources.len());
        let mut points = self
            .conn
            .prepare_cached(
                "SELECT COUNT(*), MAX(observed_ms) FROM points
                 WHERE source = ?1 AND start_ms >= ?2 AND start_ms < ?3",
            )
            .map_err(&err)?;
        let mut runs = self
            .conn
            .prepare_cached("SELECT MAX(finished_ms) FROM runs WHERE source = ?1 AND status = 'ok'")
            .map_err(&err)?;
        for source in sources {
            let (count, observed): (i64, Option<i64>) = points
                .query_row(
                    [
                        SqlValue::Text(source.clone()),
                        SqlValue::Integer(to_ms(from)),
                        SqlValue::Integer(to_ms(to)),
                    ],
                    |row| Ok((row.get(0)?, row.get(1)?)),
                )
                .map_err(&err)?;
            let finished: Option<i64> = runs.query_row([source], |row| row.get(0)).map_err(&err)?;
            out.push(SourceSummary {
                source: source.clone(),
                points: to_u64(count),
                last_observed: observed.and_then(from_ms),
                last_run: finished.and_then(from_ms),
            });
        }
        Ok(out)
    }
}
