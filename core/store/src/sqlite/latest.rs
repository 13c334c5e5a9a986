//! The latest value of each metric of a source, for the daemon's `/metrics`.
//!
//! Per-item points (posts, videos) are left out: a source has hundreds of
//! them, and a metrics scraper wants one series per account-level metric.
//! The entity index leads with the entity's `source_kinds` row, one per
//! source and kind, so the account-level entities are those of the source's
//! kinds other than `post` and `video`, and its thousands of posts are never
//! walked.

use super::{corrupt, from_ms, sql_err, SqliteStore, StoreError};
use chrono::{DateTime, Utc};
use rusqlite::params;

/// The newest stored value of one metric of one entity.
#[derive(Debug, Clone, PartialEq)]
pub struct LatestValue {
    /// Canonical metric.
    pub metric: String,
    /// Entity kind (`account`, `location`, ...).
    pub entity_kind: String,
    /// The platform's entity id.
    pub entity_id: String,
    /// The value.
    pub value: f64,
    /// Its unit.
    pub unit: String,
    /// When it holds (a gauge's instant, a sum's period end).
    pub at: DateTime<Utc>,
}

/// The newest value of each account-level metric of source `?1`.
const LATEST_VALUES: &str =
    "SELECT metric, entity_kind, entity_id, value, unit, MAX(end_ms) FROM points
     WHERE dimensions_ref = (SELECT id FROM dimension_sets WHERE dimensions = '{}')
       AND entity_ref IN (
         SELECT e.id FROM source_kinds k CROSS JOIN entities e ON e.source_kind = k.id
         WHERE k.source = ?1 AND k.entity_kind NOT IN ('post', 'video'))
     GROUP BY metric, entity_kind, entity_id
     ORDER BY metric, entity_kind, entity_id";

impl SqliteStore {
    /// The newest value of every metric of `source`'s account-level entities
    /// (breakdowns and per-post or per-video points excluded).
    pub fn latest_values(&self, source: &str) -> Result<Vec<LatestValue>, StoreError> {
        let err = sql_err(&self.path, "reading the latest values of a source");
        let mut stmt = self.conn.prepare_cached(LATEST_VALUES).map_err(&err)?;
        let mut rows = stmt.query(params![source]).map_err(&err)?;
        let mut out = Vec::new();
        while let Some(row) = rows.next().map_err(&err)? {
            let ms: i64 = row.get(5).map_err(&err)?;
            out.push(LatestValue {
                metric: row.get(0).map_err(&err)?,
                entity_kind: row.get(1).map_err(&err)?,
                entity_id: row.get(2).map_err(&err)?,
                value: row.get(3).map_err(&err)?,
                unit: row.get(4).map_err(&err)?,
                at: from_ms(ms).ok_or_else(|| {
                    corrupt(&self.path, "point time", format!("{ms} ms is out of range"))
                })?,
            });
        }
        Ok(out)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn the_latest_values_never_walk_a_source_s_posts() {
        let store = SqliteStore::open_in_memory().unwrap();
        let sql = format!("EXPLAIN QUERY PLAN {LATEST_VALUES}");
        let mut stmt = store.conn.prepare(&sql).unwrap();
        let mut rows = stmt.raw_query();
        let mut steps: Vec<String> = Vec::new();
        while let Some(row) = rows.next().unwrap() {
            steps.push(row.get(3).unwrap());
        }
        let kinds: Vec<&String> = steps
            .iter()
            .filter(|s| s.contains("source_kinds"))
            .collect();
        assert_eq!(kinds.len(), 1, "{steps:?}");
        assert!(kinds[0].contains("(source=?)"), "{steps:?}");
        let entities: Vec<&String> = steps.iter().filter(|s| s.contains("entities")).collect();
        assert_eq!(entities.len(), 1, "{steps:?}");
        assert!(entities[0].contains("(source_kind=?)"), "{steps:?}");
    }
}
