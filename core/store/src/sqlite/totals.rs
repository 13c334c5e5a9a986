//! The lean read behind goals: the totals (points without dimensions) of one
//! metric for some sources over a time range.
//!
//! A goal over a year of daily data for ten sources adds up thousands of
//! values; the subject index finds each source's subjects without
//! dimensions and each one's samples of the metric are one range of the
//! `samples` B-tree (see the migrations), which keeps `tally goals` for a
//! hundred goals under a second.

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
        let current = format!(
            "SELECT source, entity_kind, entity_id, kind, value, unit, platform, start_ms, end_ms
             FROM points
             WHERE metric = ?1 AND source IN ({list}) AND start_ms >= ?{from_arg} AND start_ms < ?{n}
               AND dimensions = '{{}}'"
        );
        let sql = match as_of {
            None => current,
            Some(as_of) => {
                args.push(SqlValue::Integer(to_ms(as_of)));
                let t = args.len();
                format!(
                    "{current} AND observed_ms <= ?{t}
                     UNION ALL
                     SELECT p.source, p.entity_kind, p.entity_id, p.kind, r.value, r.unit,
                            p.platform, p.start_ms, p.end_ms
                     FROM revisions r JOIN points p ON p.subject_id = r.subject_id
                       AND p.metric_id = r.metric_id AND p.start_ms = r.start_ms AND p.end_ms = r.end_ms
                     WHERE p.metric = ?1 AND p.source IN ({list}) AND p.start_ms >= ?{from_arg}
                       AND p.start_ms < ?{n} AND p.dimensions = '{{}}'
                       AND r.observed_ms <= ?{t} AND ?{t} < r.superseded_ms"
                )
            }
        };
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
