//! Writing points idempotently, keeping restated values as revisions, and
//! reading them back as they are now or as they were known at some instant.
//!
//! Platforms restate analytics for weeks after the fact, and goals and reports
//! must be reproducible ("what did the March report say?"), so a changed value
//! never silently overwrites: the old one moves to `point_revisions` with the
//! interval during which it was the known value.

mod new_series;

use super::series_key::series_key_hash;
use super::{corrupt, from_ms, sql_err, to_ms, SqliteStore, StoreError};
use crate::decode;
use chrono::{DateTime, Utc};
use rusqlite::types::Value as SqlValue;
use rusqlite::{params, OptionalExtension, Row, TransactionBehavior};
use std::cmp::Ordering;
use std::collections::BTreeMap;
use tally_model::{Entity, EntityKind, MetricKind, Point, PointTime, SmolStr};

/// What one [`SqliteStore::write_batch`] did, so runs can report new vs restated data.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct WriteStats {
    /// Points whose natural key was not stored before.
    pub inserted: u64,
    /// Points whose key was stored with a different value; the old one became a revision.
    pub revised: u64,
    /// Points already stored with the same value; nothing was written for them.
    pub unchanged: u64,
}

/// A point as stored: which source produced it and when its value was first pulled.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredPoint {
    /// The configured source id.
    pub source: String,
    /// The point itself.
    pub point: Point,
    /// When this value was first observed (pulled).
    pub observed_at: DateTime<Utc>,
}

/// Filters for [`SqliteStore::query`]. The default returns every current point.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct PointQuery {
    /// Only this canonical metric.
    pub metric: Option<String>,
    /// Only these sources; empty means all.
    pub sources: Vec<String>,
    /// Only this entity id.
    pub entity_id: Option<String>,
    /// Only this entity kind.
    pub entity_kind: Option<EntityKind>,
    /// Points whose time (`at` of a gauge, `start` of a sum) is at or after this.
    pub from: Option<DateTime<Utc>>,
    /// Points whose time is before this.
    pub to: Option<DateTime<Utc>>,
    /// The values as they were known at this instant instead of the latest ones;
    /// points first observed after it are absent.
    pub as_of: Option<DateTime<Utc>>,
    /// At most this many points (the earliest ones).
    pub limit: Option<usize>,
}

/// A point's natural key columns, in the form they are stored.
pub(super) struct Key<'a> {
    metric: &'a str,
    dimensions: String,
    entity_kind: &'static str,
    entity_id: &'a str,
    /// [`series_key_hash`] of the three fields before.
    hash: i64,
    start_ms: i64,
    end_ms: i64,
}

impl<'a> Key<'a> {
    pub(super) fn of(p: &'a Point) -> Key<'a> {
        let (start_ms, end_ms) = match p.time {
            PointTime::At(at) => (to_ms(at), to_ms(at)),
            PointTime::Period { start, end } => (to_ms(start), to_ms(end)),
        };
        let dimensions = canonical_dimensions(&p.dimensions);
        let entity_kind = p.entity.kind.as_str();
        let hash = series_key_hash(&dimensions, entity_kind, &p.entity.id);
        Key {
            metric: &p.metric,
            dimensions,
            entity_kind,
            entity_id: &p.entity.id,
            hash,
            start_ms,
            end_ms,
        }
    }

    /// Whether both keys are of one series (within one source).
    fn same_series(&self, other: &Key<'_>) -> bool {
        self.hash == other.hash
            && self.metric == other.metric
            && self.entity_id == other.entity_id
            && self.entity_kind == other.entity_kind
            && self.dimensions == other.dimensions
    }

    /// The order of the series index, then time (within one source):
    /// upserting a batch in it finds each series once and appends its
    /// samples front to back, which splits fewer pages and leaves them fuller.
    fn index_order(&self, other: &Key<'_>) -> Ordering {
        (
            self.metric,
            self.hash,
            self.dimensions.as_str(),
            self.entity_kind,
            self.entity_id,
            self.start_ms,
            self.end_ms,
        )
            .cmp(&(
                other.metric,
                other.hash,
                other.dimensions.as_str(),
                other.entity_kind,
                other.entity_id,
                other.start_ms,
                other.end_ms,
            ))
    }
}

/// Dimensions as canonical JSON: a `BTreeMap` serializes its keys in order, so
/// the same breakdown always gives the same text and the same key.
pub(crate) fn canonical_dimensions(d: &BTreeMap<String, String>) -> String {
    if d.is_empty() {
        return "{}".to_string();
    }
    let mut out = String::from("{");
    for (i, (k, v)) in d.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        out.push_str(&serde_json::Value::String(k.clone()).to_string());
        out.push(':');
        out.push_str(&serde_json::Value::String(v.clone()).to_string());
    }
    out.push('}');
    out
}

/// The attributes a point carries besides its key and value, as stored in a
/// `series` or `point_attrs` row.
#[derive(Debug, Clone, PartialEq)]
struct Attrs {
    kind: String,
    platform: String,
    unit: String,
    entity_name: Option<String>,
    raw_name: String,
}

impl Attrs {
    fn of(p: &Point) -> Attrs {
        Attrs {
            kind: p.kind.as_str().to_string(),
            platform: p.platform.to_string(),
            unit: p.unit.as_str().to_string(),
            entity_name: p.entity.name.as_ref().map(|n| n.to_string()),
            raw_name: p.raw_name.to_string(),
        }
    }

    /// Whether `p` carries exactly these attributes, without copying its text.
    fn fit(&self, p: &Point) -> bool {
        self.kind == p.kind.as_str()
            && self.platform == p.platform.as_str()
            && self.unit == p.unit.as_str()
            && self.entity_name.as_deref() == p.entity.name.as_deref()
            && self.raw_name == p.raw_name.as_str()
    }
}

/// The series a batch wrote last, so the points of one series (adjacent in a
/// sorted batch) look it up once.
struct CachedSeries {
    source: String,
    metric: String,
    dimensions: String,
    entity_kind: &'static str,
    entity_id: String,
    id: i64,
    attrs: Attrs,
}

impl CachedSeries {
    fn is(&self, source: &str, key: &Key<'_>) -> bool {
        self.entity_id == key.entity_id
            && self.metric == key.metric
            && self.entity_kind == key.entity_kind
            && self.dimensions == key.dimensions
            && self.source == source
    }
}

const FIND_SERIES: &str = "SELECT id, kind, platform, unit, entity_name, raw_name FROM series
     WHERE source = ?1 AND metric = ?2 AND key_hash = ?6
       AND dimensions = ?3 AND entity_kind = ?4 AND entity_id = ?5";
const INSERT_SERIES: &str =
    "INSERT INTO series (source, metric, dimensions, entity_kind, entity_id,
        kind, platform, unit, entity_name, raw_name, key_hash)
     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)
     ON CONFLICT DO NOTHING";
const FIND_ATTRS: &str = "SELECT id FROM point_attrs
     WHERE raw_name = ?1 AND unit = ?2 AND kind = ?3 AND platform = ?4 AND entity_name IS ?5";
const INSERT_ATTRS: &str =
    "INSERT INTO point_attrs (raw_name, unit, kind, platform, entity_name) VALUES (?1, ?2, ?3, ?4, ?5)";
const UNIT_OF_ATTRS: &str = "SELECT unit FROM point_attrs WHERE id = ?1";
const FIND: &str = "SELECT value, attrs FROM samples
     WHERE series_id = ?1 AND start_ms = ?2 AND end_ms = ?3";
/// Inserts a sample unless its key is stored already (then changes nothing).
const INSERT: &str = "INSERT INTO samples (series_id, start_ms, end_ms, value, observed_ms, attrs)
     VALUES (?1, ?2, ?3, ?4, ?5, ?6)
     ON CONFLICT DO NOTHING";
const ARCHIVE: &str = "INSERT INTO point_revisions
        (series_id, start_ms, end_ms, value, attrs, observed_ms, superseded_ms)
     SELECT series_id, start_ms, end_ms, value, attrs, observed_ms, ?4 FROM samples
     WHERE series_id = ?1 AND start_ms = ?2 AND end_ms = ?3";
const REPLACE: &str = "UPDATE samples SET value = ?4, observed_ms = ?5, attrs = ?6
     WHERE series_id = ?1 AND start_ms = ?2 AND end_ms = ?3";
const SAVE_STATE: &str = "INSERT INTO source_state (source, state, updated_ms) VALUES (?1, ?2, ?3)
     ON CONFLICT (source) DO UPDATE SET state = excluded.state, updated_ms = excluded.updated_ms";

/// The columns every point read selects, in the order [`SqliteStore::read_point`] expects.
const POINT_COLUMNS: &str =
    "p.source AS source, p.entity_kind AS entity_kind, p.entity_id AS entity_id,
     p.metric AS metric, p.dimensions AS dimensions, p.start_ms AS start_ms, p.end_ms AS end_ms,
     p.kind AS kind, p.platform AS platform";

/// The statements of an idempotent upsert, prepared once per transaction.
pub(super) struct Upsert<'t, 'e> {
    find_series: rusqlite::CachedStatement<'t>,
    insert_series: rusqlite::CachedStatement<'t>,
    find_attrs: rusqlite::CachedStatement<'t>,
    insert_attrs: rusqlite::CachedStatement<'t>,
    unit_of_attrs: rusqlite::CachedStatement<'t>,
    find: rusqlite::CachedStatement<'t>,
    insert: rusqlite::CachedStatement<'t>,
    archive: rusqlite::CachedStatement<'t>,
    replace: rusqlite::CachedStatement<'t>,
    next_series_id: rusqlite::CachedStatement<'t>,
    insert_series_run: rusqlite::CachedStatement<'t>,
    insert_samples_run: rusqlite::CachedStatement<'t>,
    /// The transaction's connection, for the ids of new rows.
    conn: &'t rusqlite::Connection,
    last: Option<CachedSeries>,
    /// Whether the last series looked up had to be created.
    expect_new: bool,
    /// The store's file, for messages.
    path: &'e str,
    err: &'e dyn Fn(rusqlite::Error) -> StoreError,
}

impl<'t, 'e> Upsert<'t, 'e> {
    /// Prepares the statements inside `tx`; `err` wraps SQLite failures.
    pub(super) fn prepare(
        tx: &'t rusqlite::Transaction<'_>,
        path: &'e str,
        err: &'e dyn Fn(rusqlite::Error) -> StoreError,
    ) -> Result<Upsert<'t, 'e>, StoreError> {
        Ok(Upsert {
            find_series: tx.prepare_cached(FIND_SERIES).map_err(err)?,
            insert_series: tx.prepare_cached(INSERT_SERIES).map_err(err)?,
            find_attrs: tx.prepare_cached(FIND_ATTRS).map_err(err)?,
            insert_attrs: tx.prepare_cached(INSERT_ATTRS).map_err(err)?,
            unit_of_attrs: tx.prepare_cached(UNIT_OF_ATTRS).map_err(err)?,
            find: tx.prepare_cached(FIND).map_err(err)?,
            insert: tx.prepare_cached(INSERT).map_err(err)?,
            archive: tx.prepare_cached(ARCHIVE).map_err(err)?,
            replace: tx.prepare_cached(REPLACE).map_err(err)?,
            next_series_id: tx.prepare_cached(new_series::NEXT_SERIES_ID).map_err(err)?,
            insert_series_run: tx
                .prepare_cached(&new_series::INSERT_SERIES_RUN)
                .map_err(err)?,
            insert_samples_run: tx
                .prepare_cached(&new_series::INSERT_SAMPLES_RUN)
                .map_err(err)?,
            conn: tx,
            last: None,
            expect_new: false,
            path,
            err,
        })
    }

    /// The series of `key` in `source`, created with `p`'s attributes the
    /// first time it is seen. Returns its id and whether `p` carries the series' attributes.
    fn series(
        &mut self,
        source: &str,
        key: &Key<'_>,
        p: &Point,
    ) -> Result<(i64, bool), StoreError> {
        if let Some(s) = self.last.as_ref().filter(|s| s.is(source, key)) {
            return Ok((s.id, s.attrs.fit(p)));
        }
        // A first pull creates nearly every series, a later one nearly none:
        // try first whatever the previous lookup of this batch needed, so
        // either way most series cost one probe of the series index.
        let mut created = None;
        if self.expect_new {
            created = self.insert_series(source, key, p)?;
        }
        let (id, attrs) = match created {
            Some(new) => new,
            None => match self.find_series(source, key)? {
                Some(found) => {
                    self.expect_new = false;
                    found
                }
                None => {
                    self.expect_new = true;
                    self.insert_series(source, key, p)?.ok_or_else(|| {
                        corrupt(
                            self.path,
                            "series",
                            format!(
                                "series `{}` of `{source}` neither found nor created",
                                key.metric
                            ),
                        )
                    })?
                }
            },
        };
        let s = self.last.insert(CachedSeries {
            source: source.to_string(),
            metric: key.metric.to_string(),
            dimensions: key.dimensions.clone(),
            entity_kind: key.entity_kind,
            entity_id: key.entity_id.to_string(),
            id,
            attrs,
        });
        Ok((s.id, s.attrs.fit(p)))
    }

    /// The stored series of `key` in `source` and its attributes, if any.
    fn find_series(
        &mut self,
        source: &str,
        key: &Key<'_>,
    ) -> Result<Option<(i64, Attrs)>, StoreError> {
        self.find_series
            .query_row(
                params![
                    source,
                    key.metric,
                    key.dimensions,
                    key.entity_kind,
                    key.entity_id,
                    key.hash
                ],
                |row| {
                    Ok((
                        row.get(0)?,
                        Attrs {
                            kind: row.get(1)?,
                            platform: row.get(2)?,
                            unit: row.get(3)?,
                            entity_name: row.get(4)?,
                            raw_name: row.get(5)?,
                        },
                    ))
                },
            )
            .optional()
            .map_err(self.err)
    }

    /// Creates the series of `key` in `source` with `p`'s attributes, unless
    /// it exists (then `None`).
    fn insert_series(
        &mut self,
        source: &str,
        key: &Key<'_>,
        p: &Point,
    ) -> Result<Option<(i64, Attrs)>, StoreError> {
        let attrs = Attrs::of(p);
        let inserted = self
            .insert_series
            .execute(params![
                source,
                key.metric,
                key.dimensions,
                key.entity_kind,
                key.entity_id,
                attrs.kind,
                attrs.platform,
                attrs.unit,
                attrs.entity_name,
                attrs.raw_name,
                key.hash
            ])
            .map_err(self.err)?;
        // `RETURNING id` would build a temporary B-tree on every execution.
        Ok((inserted == 1).then(|| (self.conn.last_insert_rowid(), attrs)))
    }

    /// The `point_attrs` row holding `p`'s attributes, created if needed.
    fn attrs_id(&mut self, p: &Point) -> Result<i64, StoreError> {
        let err = self.err;
        let args = params![
            p.raw_name.as_str(),
            p.unit.as_str(),
            p.kind.as_str(),
            p.platform.as_str(),
            p.entity.name.as_deref()
        ];
        let found: Option<i64> = self
            .find_attrs
            .query_row(args, |row| row.get(0))
            .optional()
            .map_err(err)?;
        match found {
            Some(id) => Ok(id),
            None => {
                self.insert_attrs.execute(args).map_err(err)?;
                Ok(self.conn.last_insert_rowid())
            }
        }
    }

    /// Upserts one (already validated) point of `source` by its natural key:
    /// an identical value writes nothing, a new key is inserted, a changed
    /// value replaces the stored one, which is kept as a revision.
    pub(super) fn point(
        &mut self,
        source: &str,
        key: &Key<'_>,
        p: &Point,
        observed_ms: i64,
        stats: &mut WriteStats,
    ) -> Result<(), StoreError> {
        let err = self.err;
        let (series_id, fits) = self.series(source, key, p)?;
        let attrs = if fits { None } else { Some(self.attrs_id(p)?) };
        // Most keys of a pull are new (gauges carry the pull's hour), so try the
        // insert first and look the key up only when it is already stored.
        let inserted = self
            .insert
            .execute(params![
                series_id,
                key.start_ms,
                key.end_ms,
                p.value,
                observed_ms,
                attrs
            ])
            .map_err(err)?;
        if inserted == 1 {
            stats.inserted += 1;
            return Ok(());
        }
        let (value, stored_attrs): (f64, Option<i64>) = self
            .find
            .query_row(params![series_id, key.start_ms, key.end_ms], |row| {
                Ok((row.get(0)?, row.get(1)?))
            })
            .map_err(err)?;
        let same_unit = match stored_attrs {
            None => self
                .last
                .as_ref()
                .is_some_and(|s| s.attrs.unit == p.unit.as_str()),
            Some(id) => {
                self.unit_of_attrs
                    .query_row(params![id], |row| row.get::<_, String>(0))
                    .map_err(err)?
                    == p.unit.as_str()
            }
        };
        if value == p.value && same_unit {
            stats.unchanged += 1;
            return Ok(());
        }
        let at = params![series_id, key.start_ms, key.end_ms, observed_ms];
        self.archive.execute(at).map_err(err)?;
        self.replace
            .execute(params![
                series_id,
                key.start_ms,
                key.end_ms,
                p.value,
                observed_ms,
                attrs
            ])
            .map_err(err)?;
        stats.revised += 1;
        Ok(())
    }
}

impl SqliteStore {
    /// Stores one pull's points and the source's new incremental state in one
    /// transaction: either all of it is committed or none of it, so a crash or
    /// an invalid point never leaves points saved without the state that
    /// produced them (or the reverse).
    ///
    /// Each point is upserted by its natural key (source, entity, metric,
    /// dimensions, time): an identical value writes nothing, a new key is
    /// inserted, a changed value is replaced and the old one kept as a revision.
    pub fn write_batch(
        &mut self,
        source: &str,
        points: &[Point],
        observed_at: DateTime<Utc>,
        state: Option<&serde_json::Value>,
    ) -> Result<WriteStats, StoreError> {
        for (index, p) in points.iter().enumerate() {
            p.validate().map_err(|error| StoreError::InvalidPoint {
                path: self.path.clone(),
                source_id: source.to_string(),
                index,
                error: Box::new(error),
            })?;
        }
        let state_text = match state {
            Some(s) => Some(serde_json::to_string(s).map_err(|e| StoreError::Encode {
                path: self.path.clone(),
                what: "the source's state",
                detail: e.to_string(),
            })?),
            None => None,
        };
        let observed_ms = to_ms(observed_at);
        // A stable sort: points repeating a key are still upserted in the
        // order they came, so the last one is the value kept.
        let keys: Vec<Key<'_>> = points.iter().map(Key::of).collect();
        let mut keyed: Vec<(&Key<'_>, &Point)> = keys.iter().zip(points).collect();
        keyed.sort_by(|(a, _), (b, _)| a.index_order(b));
        let path = self.path.as_str();
        let err = sql_err(path, "writing a batch of points");
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(&err)?;
        let mut stats = WriteStats::default();
        {
            let mut upsert = Upsert::prepare(&tx, path, &err)?;
            let mut rest = keyed.as_slice();
            while let Some(&(key, p)) = rest.first() {
                if upsert.new_series_run(source, rest, observed_ms, &mut stats)? {
                    rest = &rest[new_series::RUN..];
                } else {
                    upsert.point(source, key, p, observed_ms, &mut stats)?;
                    rest = &rest[1..];
                }
            }
            if let Some(text) = &state_text {
                tx.prepare_cached(SAVE_STATE)
                    .map_err(&err)?
                    .execute(params![source, text, observed_ms])
                    .map_err(&err)?;
            }
        }
        tx.commit().map_err(&err)?;
        Ok(stats)
    }

    /// Points matching `q`, ordered by time, then source, entity and metric.
    ///
    /// Without `as_of` each key's latest value; with `as_of = T` the value that
    /// was known at `T` (a revision if it was restated later), and keys first
    /// observed after `T` are left out, so a report can be reproduced.
    pub fn query(&self, q: &PointQuery) -> Result<Vec<StoredPoint>, StoreError> {
        let mut args: Vec<SqlValue> = Vec::new();
        let mut arg = |v: SqlValue| {
            args.push(v);
            format!("?{}", args.len())
        };
        let mut filters: Vec<String> = Vec::new();
        if let Some(metric) = &q.metric {
            filters.push(format!(
                "p.metric = {}",
                arg(SqlValue::Text(metric.clone()))
            ));
        }
        if !q.sources.is_empty() {
            let list: Vec<String> = q
                .sources
                .iter()
                .map(|s| arg(SqlValue::Text(s.clone())))
                .collect();
            filters.push(format!("p.source IN ({})", list.join(", ")));
        }
        if let Some(id) = &q.entity_id {
            filters.push(format!("p.entity_id = {}", arg(SqlValue::Text(id.clone()))));
        }
        if let Some(kind) = q.entity_kind {
            filters.push(format!(
                "p.entity_kind = {}",
                arg(SqlValue::Text(kind.as_str().to_string()))
            ));
        }
        if let Some(from) = q.from {
            filters.push(format!(
                "p.start_ms >= {}",
                arg(SqlValue::Integer(to_ms(from)))
            ));
        }
        if let Some(to) = q.to {
            filters.push(format!(
                "p.start_ms < {}",
                arg(SqlValue::Integer(to_ms(to)))
            ));
        }
        let mut where_clause = String::from("1");
        for f in &filters {
            where_clause.push_str(" AND ");
            where_clause.push_str(f);
        }
        let mut sql = match q.as_of {
            None => format!(
                "SELECT {POINT_COLUMNS}, p.value AS value, p.unit AS unit, p.entity_name AS entity_name,
                        p.raw_name AS raw_name, p.observed_ms AS observed_ms
                 FROM points p WHERE {where_clause}"
            ),
            Some(as_of) => {
                let t = arg(SqlValue::Integer(to_ms(as_of)));
                format!(
                    "SELECT {POINT_COLUMNS}, p.value AS value, p.unit AS unit, p.entity_name AS entity_name,
                            p.raw_name AS raw_name, p.observed_ms AS observed_ms
                     FROM points p WHERE {where_clause} AND p.observed_ms <= {t}
                     UNION ALL
                     SELECT {POINT_COLUMNS}, r.value AS value, r.unit AS unit, r.entity_name AS entity_name,
                            r.raw_name AS raw_name, r.observed_ms AS observed_ms
                     FROM revisions r JOIN points p ON p.series_id = r.series_id
                       AND p.start_ms = r.start_ms AND p.end_ms = r.end_ms
                     WHERE {where_clause} AND r.observed_ms <= {t} AND {t} < r.superseded_ms"
                )
            }
        };
        sql.push_str(
            " ORDER BY start_ms, source, entity_kind, entity_id, metric, dimensions, end_ms",
        );
        if let Some(limit) = q.limit {
            let limit = i64::try_from(limit).unwrap_or(i64::MAX);
            sql.push_str(&format!(" LIMIT {}", arg(SqlValue::Integer(limit))));
        }
        let err = sql_err(&self.path, "querying points");
        let mut stmt = self.conn.prepare_cached(&sql).map_err(&err)?;
        let mut rows = stmt
            .query(rusqlite::params_from_iter(args.iter()))
            .map_err(&err)?;
        let mut out = Vec::new();
        while let Some(row) = rows.next().map_err(&err)? {
            out.push(self.read_point(row)?);
        }
        Ok(out)
    }

    /// For each (entity, metric, dimensions) of `source`, the point with the
    /// latest time: what `tally demo` and `tally query` print as "now".
    pub fn latest_per_metric(&self, source: &str) -> Result<Vec<StoredPoint>, StoreError> {
        let sql = format!(
            "SELECT * FROM (
                SELECT {POINT_COLUMNS}, p.value AS value, p.unit AS unit, p.entity_name AS entity_name,
                       p.raw_name AS raw_name, p.observed_ms AS observed_ms,
                       ROW_NUMBER() OVER (
                           PARTITION BY p.entity_kind, p.entity_id, p.metric, p.dimensions
                           ORDER BY p.start_ms DESC, p.end_ms DESC) AS rank
                FROM points p WHERE p.source = ?1)
             WHERE rank = 1
             ORDER BY metric, entity_kind, entity_id, dimensions"
        );
        let err = sql_err(&self.path, "reading the latest points");
        let mut stmt = self.conn.prepare_cached(&sql).map_err(&err)?;
        let mut rows = stmt.query(params![source]).map_err(&err)?;
        let mut out = Vec::new();
        while let Some(row) = rows.next().map_err(&err)? {
            out.push(self.read_point(row)?);
        }
        Ok(out)
    }

    /// Turns a row selected with [`POINT_COLUMNS`] and the value columns back into a point.
    fn read_point(&self, row: &Row<'_>) -> Result<StoredPoint, StoreError> {
        let path = self.path.as_str();
        let err = sql_err(path, "reading a point");
        let get_text = |name: &str| row.get::<_, String>(name).map_err(&err);
        let get_smol = |name: &str| get_text(name).map(SmolStr::from);
        let entity_kind = decode::entity_kind(path, &get_text("entity_kind")?)?;
        let kind = decode::metric_kind(path, &get_text("kind")?)?;
        let unit = decode::unit(path, &get_text("unit")?)?;
        let dimensions = decode::dimensions(path, &get_text("dimensions")?)?;
        let time_of = |name: &str| -> Result<DateTime<Utc>, StoreError> {
            let ms: i64 = row.get(name).map_err(&err)?;
            from_ms(ms).ok_or_else(|| corrupt(path, "time", format!("{ms} ms is out of range")))
        };
        let start = time_of("start_ms")?;
        let time = match kind {
            MetricKind::Gauge => PointTime::At(start),
            MetricKind::Sum => PointTime::Period {
                start,
                end: time_of("end_ms")?,
            },
        };
        let point = Point {
            platform: get_smol("platform")?,
            entity: Entity {
                kind: entity_kind,
                id: get_smol("entity_id")?,
                name: row
                    .get::<_, Option<String>>("entity_name")
                    .map_err(&err)?
                    .map(SmolStr::from),
            },
            metric: get_smol("metric")?,
            value: row.get("value").map_err(&err)?,
            unit,
            kind,
            time,
            dimensions,
            raw_name: get_smol("raw_name")?,
        };
        Ok(StoredPoint {
            source: get_text("source")?,
            point,
            observed_at: time_of("observed_ms")?,
        })
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn canonical_dimensions_are_ordered_and_escaped() {
        let mut d = BTreeMap::new();
        d.insert("z".to_string(), "1".to_string());
        d.insert("a\"".to_string(), "x".to_string());
        assert_eq!(canonical_dimensions(&d), r#"{"a\"":"x","z":"1"}"#);
        assert_eq!(canonical_dimensions(&BTreeMap::new()), "{}");
        let parsed: BTreeMap<String, String> =
            serde_json::from_str(&canonical_dimensions(&d)).unwrap();
        assert_eq!(parsed, d);
    }

    fn likes(post: &str, value: f64) -> Point {
        let at = DateTime::from_timestamp(1_772_625_600, 0).unwrap();
        Point::new(
            "mastodon",
            "engagement.likes",
            "favourites_count",
            Entity::new(EntityKind::Post, post, None),
            value,
            PointTime::At(at),
        )
    }

    #[test]
    fn a_key_repeated_in_one_batch_keeps_its_last_value() {
        // The batch is upserted in key order; repeats of a key must still
        // apply in the order they were emitted.
        let mut store = SqliteStore::open_in_memory().unwrap();
        let batch = [likes("b", 1.0), likes("a", 5.0), likes("b", 2.0)];
        let observed = DateTime::from_timestamp(1_772_629_200, 0).unwrap();
        let stats = store.write_batch("src", &batch, observed, None).unwrap();
        let expected = WriteStats {
            inserted: 2,
            revised: 1,
            unchanged: 0,
        };
        assert_eq!(stats, expected);
        let values: Vec<(String, f64)> = store
            .query(&PointQuery::default())
            .unwrap()
            .into_iter()
            .map(|s| (s.point.entity.id.to_string(), s.point.value))
            .collect();
        assert_eq!(values, [("a".to_string(), 5.0), ("b".to_string(), 2.0)]);
    }

    #[test]
    fn the_lookup_is_planned_once_whatever_the_dimensions() {
        // SQLite re-plans a statement whose bound value the planner compared
        // with a partial index's literal; that doubled the cost of a pull.
        let mut store = SqliteStore::open_in_memory().unwrap();
        let batch: Vec<Point> = (0..10)
            .map(|i| {
                let p = likes(&i.to_string(), 1.0);
                if i % 2 == 0 {
                    p.with_dimension("country", "FR")
                } else {
                    p
                }
            })
            .collect();
        let observed = DateTime::from_timestamp(1_772_629_200, 0).unwrap();
        store.write_batch("src", &batch, observed, None).unwrap();
        store.write_batch("src", &batch, observed, None).unwrap();
        let find = store.conn.prepare_cached(FIND_SERIES).unwrap();
        assert_eq!(
            find.get_status(rusqlite::StatementStatus::RePrepare),
            0,
            "the lookup was re-prepared"
        );
    }
}
