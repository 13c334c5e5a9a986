//! Writing points idempotently in a few statements per batch, keeping
//! restated values as revisions, and reading them back as they are now or as
//! they were known at some instant.
//!
//! A batch is sent as arrays, one per column, and `UNNEST`ed on the server:
//! one statement finds or creates its series, one upserts its samples and
//! archives the values it replaces. A 40,000-point pull costs a handful of
//! round trips, not 40,000.

use super::{ms, pg_err, wait, PgStore};
use crate::decode;
use crate::sqlite::canonical_dimensions;
use crate::{PointQuery, StoreError, StoredPoint, WriteStats};
use chrono::{DateTime, Utc};
use std::collections::HashMap;
use tally_model::{Entity, MetricKind, Point, PointTime, SmolStr};
use tokio_postgres::types::ToSql;
use tokio_postgres::{Row, Statement, Transaction};

/// Finds or creates the series of a batch; returns the id of each.
const SERIES: &str = "
    WITH input AS (
        SELECT DISTINCT * FROM UNNEST($1::text[], $2::text[], $3::text[], $4::text[], $5::text[])
            AS i (source, metric, dimensions, entity_kind, entity_id)),
    created AS (
        INSERT INTO series (source, metric, dimensions, entity_kind, entity_id)
        SELECT * FROM input ORDER BY 1, 2, 3, 4, 5
        ON CONFLICT DO NOTHING
        RETURNING id, source, metric, dimensions, entity_kind, entity_id)
    SELECT * FROM created
    UNION ALL
    SELECT s.id, s.source, s.metric, s.dimensions, s.entity_kind, s.entity_id
    FROM series s JOIN input i USING (source, metric, dimensions, entity_kind, entity_id)";

/// Upserts the samples of a batch whose keys are distinct: a new key is
/// inserted, a changed value (or unit) replaces the stored one, which moves
/// to `sample_revisions`, and an identical one writes nothing. Returns the
/// position of every key that was stored already and whether it changed.
const SAMPLES: &str = "
    WITH input AS (
        SELECT * FROM UNNEST($1::int8[], $2::timestamptz[], $3::timestamptz[], $4::float8[],
                             $5::text[], $6::text[], $7::text[], $8::text[], $9::text[])
            WITH ORDINALITY
            AS i (series_id, start_at, end_at, value, unit, kind, platform, entity_name, raw_name, ord)),
    stored AS (
        SELECT i.ord, s.series_id, s.start_at, s.end_at, s.value, s.unit, s.entity_name,
               s.raw_name, s.observed_at, (s.value <> i.value OR s.unit <> i.unit) AS changed
        FROM input i JOIN samples s USING (series_id, start_at, end_at)),
    archived AS (
        INSERT INTO sample_revisions (series_id, start_at, end_at, value, unit, entity_name,
                                      raw_name, observed_at, superseded_at)
        SELECT series_id, start_at, end_at, value, unit, entity_name, raw_name, observed_at, $10
        FROM stored WHERE changed),
    written AS (
        INSERT INTO samples (series_id, start_at, end_at, value, unit, kind, platform,
                             entity_name, raw_name, observed_at)
        SELECT series_id, start_at, end_at, value, unit, kind, platform, entity_name, raw_name, $10
        FROM input ORDER BY series_id, start_at, end_at
        ON CONFLICT (series_id, start_at, end_at) DO UPDATE
        SET value = excluded.value, unit = excluded.unit, kind = excluded.kind,
            platform = excluded.platform, entity_name = excluded.entity_name,
            raw_name = excluded.raw_name, observed_at = excluded.observed_at
        WHERE samples.value <> excluded.value OR samples.unit <> excluded.unit)
    SELECT ord, changed FROM stored";

/// A point's series key, as stored.
type SeriesKey = (String, String, String, String, String);

/// A point's natural key: its series and its time.
type PointKey = (SeriesKey, DateTime<Utc>, DateTime<Utc>);

fn series_key(source: &str, p: &Point) -> SeriesKey {
    (
        source.to_string(),
        p.metric.to_string(),
        canonical_dimensions(&p.dimensions),
        p.entity.kind.as_str().to_string(),
        p.entity.id.to_string(),
    )
}

fn times(p: &Point) -> (DateTime<Utc>, DateTime<Utc>) {
    match p.time {
        PointTime::At(at) => (ms(at), ms(at)),
        PointTime::Period { start, end } => (ms(start), ms(end)),
    }
}

/// What happened to one point of a batch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Outcome {
    Inserted,
    Revised,
    Unchanged,
}

/// The two statements of an upsert, prepared on the handle's connection.
pub(super) struct Upsert {
    series: Statement,
    samples: Statement,
}

impl Upsert {
    pub(super) fn prepare(store: &PgStore) -> Result<Upsert, tokio_postgres::Error> {
        Ok(Upsert {
            series: store.prepare(SERIES)?,
            samples: store.prepare(SAMPLES)?,
        })
    }

    /// Upserts `rows` (source, point) inside `tx`, in order: a key repeated
    /// in the rows applies its values one after the other, so the last one
    /// is kept, as on SQLite. Returns each row's stats, by source.
    pub(super) fn run(
        &self,
        tx: &Transaction<'_>,
        rows: &[(&str, &Point)],
        observed_at: DateTime<Utc>,
    ) -> Result<Vec<(usize, Outcome)>, tokio_postgres::Error> {
        let observed_at = ms(observed_at);
        let ids = self.series_ids(tx, rows)?;
        // Rounds of distinct keys: the n-th occurrence of a key goes in round n.
        let mut seen: HashMap<PointKey, usize> = HashMap::new();
        let mut rounds: Vec<Vec<usize>> = Vec::new();
        for (i, (source, p)) in rows.iter().enumerate() {
            let (start, end) = times(p);
            let round = seen.entry((series_key(source, p), start, end)).or_insert(0);
            if rounds.len() <= *round {
                rounds.push(Vec::new());
            }
            rounds[*round].push(i);
            *round += 1;
        }
        let mut out = Vec::with_capacity(rows.len());
        for round in rounds {
            let mut cols = Columns::default();
            for &i in &round {
                let (source, p) = rows[i];
                let (start, end) = times(p);
                cols.series.push(ids[&series_key(source, p)]);
                cols.start.push(start);
                cols.end.push(end);
                cols.value.push(p.value);
                cols.unit.push(p.unit.as_str().to_string());
                cols.kind.push(p.kind.as_str());
                cols.platform.push(p.platform.as_str());
                cols.entity_name.push(p.entity.name.as_deref());
                cols.raw_name.push(p.raw_name.as_str());
            }
            let stored = wait(tx.query(
                &self.samples,
                &[
                    &cols.series,
                    &cols.start,
                    &cols.end,
                    &cols.value,
                    &cols.unit,
                    &cols.kind,
                    &cols.platform,
                    &cols.entity_name,
                    &cols.raw_name,
                    &observed_at,
                ],
            ))?;
            let mut outcome = vec![Outcome::Inserted; round.len()];
            for row in stored {
                let ord: i64 = row.try_get(0)?;
                let changed: bool = row.try_get(1)?;
                if let Some(o) = usize::try_from(ord - 1)
                    .ok()
                    .and_then(|i| outcome.get_mut(i))
                {
                    *o = if changed {
                        Outcome::Revised
                    } else {
                        Outcome::Unchanged
                    };
                }
            }
            out.extend(round.into_iter().zip(outcome));
        }
        Ok(out)
    }

    /// The id of every series `rows` touch, created when new. A series
    /// another writer creates meanwhile is missed by the statement's
    /// snapshot, so the statement runs again for what is missing.
    fn series_ids(
        &self,
        tx: &Transaction<'_>,
        rows: &[(&str, &Point)],
    ) -> Result<HashMap<SeriesKey, i64>, tokio_postgres::Error> {
        let mut wanted: Vec<SeriesKey> = rows.iter().map(|(s, p)| series_key(s, p)).collect();
        wanted.sort();
        wanted.dedup();
        let mut ids = HashMap::with_capacity(wanted.len());
        for _ in 0..3 {
            let missing: Vec<&SeriesKey> =
                wanted.iter().filter(|k| !ids.contains_key(*k)).collect();
            if missing.is_empty() {
                break;
            }
            let column =
                |f: fn(&SeriesKey) -> &str| -> Vec<&str> { missing.iter().map(|k| f(k)).collect() };
            let found = wait(tx.query(
                &self.series,
                &[
                    &column(|k| &k.0),
                    &column(|k| &k.1),
                    &column(|k| &k.2),
                    &column(|k| &k.3),
                    &column(|k| &k.4),
                ],
            ))?;
            for row in found {
                let text = |i: usize| row.try_get::<_, String>(i);
                let key = (text(1)?, text(2)?, text(3)?, text(4)?, text(5)?);
                ids.insert(key, row.try_get(0)?);
            }
        }
        Ok(ids)
    }
}

/// A batch as one array per column.
#[derive(Default)]
struct Columns<'a> {
    series: Vec<i64>,
    start: Vec<DateTime<Utc>>,
    end: Vec<DateTime<Utc>>,
    value: Vec<f64>,
    unit: Vec<String>,
    kind: Vec<&'static str>,
    platform: Vec<&'a str>,
    entity_name: Vec<Option<&'a str>>,
    raw_name: Vec<&'a str>,
}

/// Adds an outcome to a source's stats.
pub(super) fn count(stats: &mut WriteStats, outcome: Outcome) {
    match outcome {
        Outcome::Inserted => stats.inserted += 1,
        Outcome::Revised => stats.revised += 1,
        Outcome::Unchanged => stats.unchanged += 1,
    }
}

/// The columns every point read selects, in the order [`read_point`] expects.
const POINT_COLUMNS: &str = "p.source, p.entity_kind, p.entity_id, p.metric, p.dimensions,
     p.start_at, p.end_at, p.kind, p.platform";

/// The text order of the SQLite file (bytewise), whatever the server's locale.
const ORDER: &str = " ORDER BY start_at, source COLLATE \"C\", entity_kind COLLATE \"C\",
     entity_id COLLATE \"C\", metric COLLATE \"C\", dimensions COLLATE \"C\", end_at";

impl PgStore {
    /// See [`crate::Store::write_batch`].
    pub fn write_batch(
        &mut self,
        source: &str,
        points: &[Point],
        observed_at: DateTime<Utc>,
        state: Option<&serde_json::Value>,
    ) -> Result<WriteStats, StoreError> {
        crate::error::check_points(&self.label, points.iter().map(|p| (source, p)))?;
        self.write_checked(source, points, observed_at, state)
    }

    /// Writes points that passed [`Point::validate`]: [`crate::Store`]'s
    /// `write_valid_batch`, and `write_batch` once it has checked them.
    pub(crate) fn write_checked(
        &mut self,
        source: &str,
        points: &[Point],
        observed_at: DateTime<Utc>,
        state: Option<&serde_json::Value>,
    ) -> Result<WriteStats, StoreError> {
        let err = pg_err(&self.label, "writing a batch of points");
        let upsert = Upsert::prepare(self).map_err(&err)?;
        let save = self.prepare(super::state::SAVE).map_err(&err)?;
        let rows: Vec<(&str, &Point)> = points.iter().map(|p| (source, p)).collect();
        let tx = wait(self.client.transaction()).map_err(&err)?;
        let mut stats = WriteStats::default();
        for (_, outcome) in upsert.run(&tx, &rows, observed_at).map_err(&err)? {
            count(&mut stats, outcome);
        }
        if let Some(state) = state {
            wait(tx.execute(&save, &[&source, state, &ms(observed_at)])).map_err(&err)?;
        }
        wait(tx.commit()).map_err(&err)?;
        Ok(stats)
    }

    /// See [`crate::Store::query`].
    pub fn query(&self, q: &PointQuery) -> Result<Vec<StoredPoint>, StoreError> {
        let mut args: Vec<Box<dyn ToSql + Sync>> = Vec::new();
        let mut arg = |v: Box<dyn ToSql + Sync>| {
            args.push(v);
            format!("${}", args.len())
        };
        let mut filters = vec!["TRUE".to_string()];
        if let Some(metric) = &q.metric {
            filters.push(format!("p.metric = {}", arg(Box::new(metric.clone()))));
        }
        if !q.sources.is_empty() {
            filters.push(format!(
                "p.source = ANY({})",
                arg(Box::new(q.sources.clone()))
            ));
        }
        if let Some(id) = &q.entity_id {
            filters.push(format!("p.entity_id = {}", arg(Box::new(id.clone()))));
        }
        if let Some(kind) = q.entity_kind {
            filters.push(format!("p.entity_kind = {}", arg(Box::new(kind.as_str()))));
        }
        if let Some(from) = q.from {
            filters.push(format!("p.start_at >= {}", arg(Box::new(ms(from)))));
        }
        if let Some(to) = q.to {
            filters.push(format!("p.start_at < {}", arg(Box::new(ms(to)))));
        }
        let filters = filters.join(" AND ");
        let values = "p.value, p.unit, p.entity_name, p.raw_name, p.observed_at";
        let mut sql = match q.as_of {
            None => format!("SELECT {POINT_COLUMNS}, {values} FROM points p WHERE {filters}"),
            Some(as_of) => {
                let t = arg(Box::new(ms(as_of)));
                format!(
                    "SELECT {POINT_COLUMNS}, {values} FROM points p
                     WHERE {filters} AND p.observed_at <= {t}
                     UNION ALL
                     SELECT {POINT_COLUMNS}, r.value, r.unit, r.entity_name, r.raw_name, r.observed_at
                     FROM revisions r JOIN points p ON p.series_id = r.series_id
                       AND p.start_at = r.start_at AND p.end_at = r.end_at
                     WHERE {filters} AND r.observed_at <= {t} AND {t} < r.superseded_at"
                )
            }
        };
        sql = format!("SELECT * FROM ({sql}) points{ORDER}");
        if let Some(limit) = q.limit {
            let limit = i64::try_from(limit).unwrap_or(i64::MAX);
            sql.push_str(&format!(" LIMIT {}", arg(Box::new(limit))));
        }
        let err = self.err("querying points");
        let stmt = self.prepare(&sql).map_err(&err)?;
        let refs: Vec<&(dyn ToSql + Sync)> = args.iter().map(|a| a.as_ref()).collect();
        let rows = wait(self.client.query(&stmt, &refs)).map_err(&err)?;
        rows.iter().map(|row| self.read_point(row)).collect()
    }

    /// See [`crate::Store::latest_per_metric`].
    pub fn latest_per_metric(&self, source: &str) -> Result<Vec<StoredPoint>, StoreError> {
        let sql = format!(
            "SELECT * FROM (
                SELECT DISTINCT ON (p.entity_kind, p.entity_id, p.metric, p.dimensions)
                       {POINT_COLUMNS}, p.value, p.unit, p.entity_name, p.raw_name, p.observed_at
                FROM points p WHERE p.source = $1
                ORDER BY p.entity_kind, p.entity_id, p.metric, p.dimensions,
                         p.start_at DESC, p.end_at DESC) latest
             ORDER BY metric COLLATE \"C\", entity_kind COLLATE \"C\", entity_id COLLATE \"C\",
                      dimensions COLLATE \"C\""
        );
        let err = self.err("reading the latest points");
        let stmt = self.prepare(&sql).map_err(&err)?;
        let rows = wait(self.client.query(&stmt, &[&source])).map_err(&err)?;
        rows.iter().map(|row| self.read_point(row)).collect()
    }

    /// Turns a row selected with [`POINT_COLUMNS`] and the value columns back into a point.
    fn read_point(&self, row: &Row) -> Result<StoredPoint, StoreError> {
        let label = self.label.as_str();
        let err = pg_err(label, "reading a point");
        let text = |name: &str| row.try_get::<_, String>(name).map_err(&err);
        let smol = |name: &str| text(name).map(SmolStr::from);
        let kind = decode::metric_kind(label, &text("kind")?)?;
        let start: DateTime<Utc> = row.try_get("start_at").map_err(&err)?;
        let time = match kind {
            MetricKind::Gauge => PointTime::At(start),
            MetricKind::Sum => PointTime::Period {
                start,
                end: row.try_get("end_at").map_err(&err)?,
            },
        };
        let point = Point {
            platform: smol("platform")?,
            entity: Entity {
                kind: decode::entity_kind(label, &text("entity_kind")?)?,
                id: smol("entity_id")?,
                name: row
                    .try_get::<_, Option<String>>("entity_name")
                    .map_err(&err)?
                    .map(SmolStr::from),
            },
            metric: smol("metric")?,
            value: row.try_get("value").map_err(&err)?,
            unit: decode::unit(label, &text("unit")?)?,
            kind,
            time,
            dimensions: decode::dimensions(label, &text("dimensions")?)?,
            raw_name: smol("raw_name")?,
        };
        Ok(StoredPoint {
            source: text("source")?,
            point,
            observed_at: row.try_get("observed_at").map_err(&err)?,
        })
    }
}
