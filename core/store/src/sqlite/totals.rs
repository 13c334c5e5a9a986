//! The lean read behind goals: the totals (points without dimensions) of one
//! metric for some sources over a time range.
//!
//! A goal over a year of daily data for ten sources adds up thousands of
//! values; the entity index finds each source's entities of the metric's
//! kind, and each one's samples of the metric without dimensions are one
//! range of the `samples` B-tree (see the migrations), which keeps `tally
//! goals` for a hundred goals under a second.

use super::{corrupt, from_ms, sql_err, to_ms, SqliteStore, StoreError};
use crate::decode;
use chrono::{DateTime, Utc};
use rusqlite::types::Value as SqlValue;
use tally_model::{Entity, MetricKind, Unit};

/// One value without dimensions, as goals add them up.
#[derive(Debug, Clone, PartialEq)]
pub struct TotalRow {
    /// The source id.
    pub source: String,
    /// The platform.
    pub platform: String,
    /// What is measured (its display name when the read has it).
    pub entity: Entity,
    /// The canonical metric.
    pub metric: String,
    /// Gauge or sum.
    pub kind: MetricKind,
    /// The unit.
    pub unit: Unit,
    /// The value.
    pub value: f64,
    /// The instant of a gauge, the start of a sum.
    pub start: DateTime<Utc>,
    /// Equal to `start` for a gauge, the exclusive end of a sum.
    pub end: DateTime<Utc>,
}

impl SqliteStore {
    /// The totals of `metric` from `sources` with a time in `[from, to)`
    /// (`from` unbounded when `None`), in no particular order.
    ///
    /// With `as_of = T`, each value as it was known at `T`: a value restated
    /// later reads as its revision, and values first observed after `T` are
    /// left out, so a goal evaluated "at" a past date sees what was known then.
    pub fn totals(
        &self,
        metric: &str,
        sources: &[String],
        from: Option<DateTime<Utc>>,
        to: DateTime<Utc>,
        as_of: Option<DateTime<Utc>>,
    ) -> Result<Vec<TotalRow>, StoreError> {
        if sources.is_empty() {
            return Ok(Vec::new());
        }
        let mut args = vec![SqlValue::Text(metric.to_string())];
        let list: Vec<String> = sources
            .iter()
            .map(|s| {
                args.push(SqlValue::Text(s.clone()));
                format!("?{}", args.len())
            })
            .collect();
        args.push(SqlValue::Integer(from.map_or(i64::MIN, to_ms)));
        args.push(SqlValue::Integer(to_ms(to)));
        let n = args.len();
        let (list, from_arg) = (list.join(", "), n - 1);
        let as_of_arg = as_of.map(|as_of| {
            args.push(SqlValue::Integer(to_ms(as_of)));
            args.len()
        });
        let sql = totals_sql(&list, from_arg, n, as_of_arg);
        let path = self.path.as_str();
        let err = sql_err(path, "reading totals");
        let mut stmt = self.conn.prepare_cached(&sql).map_err(&err)?;
        let mut rows = stmt
            .query(rusqlite::params_from_iter(args.iter()))
            .map_err(&err)?;
        let mut out = Vec::new();
        while let Some(row) = rows.next().map_err(&err)? {
            let text = |i: usize| row.get::<_, String>(i).map_err(&err);
            let entity_kind = decode::entity_kind(path, &text(1)?)?;
            let kind = decode::metric_kind(path, &text(3)?)?;
            let unit = decode::unit(path, &text(5)?)?;
            let time = |i: usize| -> Result<DateTime<Utc>, StoreError> {
                let ms: i64 = row.get(i).map_err(&err)?;
                from_ms(ms).ok_or_else(|| corrupt(path, "time", format!("{ms} ms is out of range")))
            };
            out.push(TotalRow {
                source: text(0)?,
                platform: text(6)?,
                entity: Entity::new(entity_kind, text(2)?, None),
                metric: metric.to_string(),
                kind,
                unit,
                value: row.get(4).map_err(&err)?,
                start: time(7)?,
                end: time(8)?,
            });
        }
        Ok(out)
    }
}

/// The totals read: `?1` the metric, `list` the sources' parameters, then
/// `?{from}` and `?{to}` the time range and `?{as_of}` the instant, if any.
///
/// Written on the tables rather than the `points` view, so that each
/// source's entities are walked only for the kinds of entity that have the
/// metric: an account metric never walks a source's posts. `CROSS JOIN`
/// keeps that order whatever the planner guesses.
fn totals_sql(list: &str, from: usize, to: usize, as_of: Option<usize>) -> String {
    let from_tables = |value: &str, attrs: &str, samples: &str| {
        format!(
            "SELECT k.source, k.entity_kind, e.entity_id, a.kind, {value}, a.unit, a.platform,
                    v.start_ms, v.end_ms
             FROM metrics m
             CROSS JOIN dimension_sets d ON d.dimensions = '{{}}'
             CROSS JOIN source_kinds k ON k.source IN ({list}) AND k.entity_kind = m.entity_kind
             CROSS JOIN entities e ON e.source_kind = k.id
             {samples}
             JOIN point_attrs a ON a.id = {attrs}
             WHERE m.name = ?1 AND v.start_ms >= ?{from} AND v.start_ms < ?{to}"
        )
    };
    let current = from_tables(
        "v.value",
        "v.attrs",
        "JOIN samples v ON v.entity_ref = e.id AND v.dimensions_ref = d.id
           AND v.metric_id = m.id",
    );
    match as_of {
        None => current,
        Some(t) => {
            let restated = from_tables(
                "r.value",
                "r.attrs",
                "JOIN samples v ON v.entity_ref = e.id AND v.dimensions_ref = d.id
                   AND v.metric_id = m.id
                 JOIN point_revisions r ON r.entity_ref = v.entity_ref
                   AND r.dimensions_ref = v.dimensions_ref AND r.metric_id = v.metric_id AND r.start_ms = v.start_ms
                   AND r.end_ms = v.end_ms",
            );
            format!(
                "{current} AND v.observed_ms <= ?{t}
                 UNION ALL
                 {restated} AND r.observed_ms <= ?{t} AND ?{t} < r.superseded_ms"
            )
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn totals_walk_only_the_entities_of_the_kinds_that_have_the_metric() {
        // A source with thousands of posts: goals over its follower count
        // must not visit each post.
        let store = SqliteStore::open_in_memory().unwrap();
        for as_of in [None, Some(5)] {
            let sql = format!("EXPLAIN QUERY PLAN {}", totals_sql("?2", 3, 4, as_of));
            let mut stmt = store.conn.prepare(&sql).unwrap();
            let mut rows = stmt.raw_query();
            let mut steps: Vec<String> = Vec::new();
            while let Some(row) = rows.next().unwrap() {
                steps.push(row.get(3).unwrap());
            }
            let kinds: Vec<&String> = steps.iter().filter(|s| s.contains(" k ")).collect();
            assert!(!kinds.is_empty(), "{steps:?}");
            for step in kinds {
                assert!(step.contains("entity_kind=?"), "{steps:?}");
            }
            let entities: Vec<&String> = steps.iter().filter(|s| s.contains(" e ")).collect();
            assert!(!entities.is_empty(), "{steps:?}");
            for step in entities {
                assert!(step.contains("(source_kind=?)"), "{steps:?}");
            }
        }
    }
}
