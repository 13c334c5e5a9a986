//! The aggregate reads behind `/metrics`, report provenance and goals.

use super::{ms, to_u64, wait, PgStore};
use crate::decode;
use crate::{LatestValue, SourceSummary, StoreError, TotalRow};
use chrono::{DateTime, Utc};
use tally_model::Entity;
use tokio_postgres::types::ToSql;

impl PgStore {
    /// See [`crate::Store::latest_values`].
    pub fn latest_values(&self, source: &str) -> Result<Vec<LatestValue>, StoreError> {
        let err = self.err("reading the latest values of a source");
        let stmt = self
            .prepare(
                "SELECT DISTINCT ON (metric, entity_kind, entity_id)
                        metric, entity_kind, entity_id, value, unit, end_at
                 FROM points
                 WHERE source = $1 AND entity_kind NOT IN ('post', 'video') AND dimensions = '{}'
                 ORDER BY metric COLLATE \"C\", entity_kind COLLATE \"C\",
                          entity_id COLLATE \"C\", end_at DESC",
            )
            .map_err(&err)?;
        let rows = wait(self.client.query(&stmt, &[&source])).map_err(&err)?;
        rows.iter()
            .map(|row| {
                Ok(LatestValue {
                    metric: row.try_get(0).map_err(&err)?,
                    entity_kind: row.try_get(1).map_err(&err)?,
                    entity_id: row.try_get(2).map_err(&err)?,
                    value: row.try_get(3).map_err(&err)?,
                    unit: row.try_get(4).map_err(&err)?,
                    at: row.try_get(5).map_err(&err)?,
                })
            })
            .collect()
    }

    /// See [`crate::Store::source_summaries`].
    pub fn source_summaries(
        &self,
        sources: &[String],
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> Result<Vec<SourceSummary>, StoreError> {
        let err = self.err("summarising sources");
        let stmt = self
            .prepare(
                "SELECT s.source,
                        (SELECT COUNT(*) FROM points p
                         WHERE p.source = s.source AND p.start_at >= $2 AND p.start_at < $3),
                        (SELECT MAX(p.observed_at) FROM points p
                         WHERE p.source = s.source AND p.start_at >= $2 AND p.start_at < $3),
                        (SELECT MAX(r.finished_at) FROM runs r
                         WHERE r.source = s.source AND r.status = 'ok')
                 FROM UNNEST($1::text[]) WITH ORDINALITY AS s (source, ord) ORDER BY ord",
            )
            .map_err(&err)?;
        let rows = wait(self.client.query(&stmt, &[&sources, &ms(from), &ms(to)])).map_err(&err)?;
        rows.iter()
            .map(|row| {
                Ok(SourceSummary {
                    source: row.try_get(0).map_err(&err)?,
                    points: to_u64(row.try_get(1).map_err(&err)?),
                    last_observed: row.try_get(2).map_err(&err)?,
                    last_run: row.try_get(3).map_err(&err)?,
                })
            })
            .collect()
    }

    /// See [`crate::Store::totals`].
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
        let current = "SELECT source, entity_kind, entity_id, kind, value, unit, platform,
                              start_at, end_at
                       FROM points
                       WHERE metric = $1 AND source = ANY($2) AND ($3::timestamptz IS NULL OR start_at >= $3)
                         AND start_at < $4 AND dimensions = '{}'";
        let from = from.map(ms);
        let to = ms(to);
        let as_of = as_of.map(ms);
        let mut args: Vec<&(dyn ToSql + Sync)> = vec![&metric, &sources, &from, &to];
        let sql = match &as_of {
            None => current.to_string(),
            Some(t) => {
                args.push(t);
                format!(
                    "{current} AND observed_at <= $5
                     UNION ALL
                     SELECT p.source, p.entity_kind, p.entity_id, p.kind, r.value, r.unit,
                            p.platform, p.start_at, p.end_at
                     FROM revisions r JOIN points p ON p.series_id = r.series_id
                       AND p.start_at = r.start_at AND p.end_at = r.end_at
                     WHERE p.metric = $1 AND p.source = ANY($2)
                       AND ($3::timestamptz IS NULL OR p.start_at >= $3)
                       AND p.start_at < $4 AND p.dimensions = '{{}}'
                       AND r.observed_at <= $5 AND $5 < r.superseded_at"
                )
            }
        };
        let label = self.label.as_str();
        let err = self.err("reading totals");
        let stmt = self.prepare(&sql).map_err(&err)?;
        let rows = wait(self.client.query(&stmt, &args)).map_err(&err)?;
        rows.iter()
            .map(|row| {
                let text = |i: usize| row.try_get::<_, String>(i).map_err(&err);
                Ok(TotalRow {
                    source: text(0)?,
                    platform: text(6)?,
                    entity: Entity::new(decode::entity_kind(label, &text(1)?)?, text(2)?, None),
                    metric: metric.to_string(),
                    kind: decode::metric_kind(label, &text(3)?)?,
                    unit: decode::unit(label, &text(5)?)?,
                    value: row.try_get(4).map_err(&err)?,
                    start: row.try_get(7).map_err(&err)?,
                    end: row.try_get(8).map_err(&err)?,
                })
            })
            .collect()
    }
}
