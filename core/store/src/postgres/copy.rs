//! `tally migrate`: copying a SQLite store into PostgreSQL, losslessly and
//! idempotently.
//!
//! Every point keeps its first-observed time, every revision its interval,
//! and states, runs, quota windows, stated quotas and imported sources come along, all in
//! one transaction. What the database already holds is left as it is (a
//! point by its natural key, a revision by its key and interval, a run by
//! its source, start and end), so running the copy again adds nothing.

use super::{pg_err, wait, PgStore};
use crate::{SqliteStore, StoreError};
use chrono::{DateTime, Utc};
use rusqlite::{Connection, OpenFlags};
use std::path::Path;
use tokio_postgres::types::ToSql;
use tokio_postgres::Transaction;

/// Rows sent per statement: large enough that a million points is a hundred
/// round trips, small enough to bound the memory of one.
const CHUNK: usize = 10_000;

/// What one copy added to the database (rows it already held are not counted).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CopyStats {
    /// Points (current values).
    pub points: u64,
    /// Restated values kept as revisions.
    pub revisions: u64,
    /// Sources' saved states.
    pub states: u64,
    /// Pull runs.
    pub runs: u64,
    /// Quota ledger windows.
    pub quota_windows: u64,
    /// Buckets of budgets a platform stated (GA4's property tokens).
    pub stated_quotas: u64,
    /// Sources filled by `tally import`.
    pub imported_sources: u64,
}

const SERIES: &str = "
    INSERT INTO series (source, metric, dimensions, entity_kind, entity_id)
    SELECT DISTINCT * FROM UNNEST($1::text[], $2::text[], $3::text[], $4::text[], $5::text[])
    ON CONFLICT DO NOTHING";

const SAMPLES: &str = "
    INSERT INTO samples (series_id, start_at, end_at, value, unit, kind, platform, entity_name,
                         raw_name, observed_at)
    SELECT s.id, i.start_at, i.end_at, i.value, i.unit, i.kind, i.platform, i.entity_name,
           i.raw_name, i.observed_at
    FROM UNNEST($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::timestamptz[],
                $7::timestamptz[], $8::float8[], $9::text[], $10::text[], $11::text[], $12::text[],
                $13::text[], $14::timestamptz[])
        AS i (source, metric, dimensions, entity_kind, entity_id, start_at, end_at, value, unit,
              kind, platform, entity_name, raw_name, observed_at)
    JOIN series s USING (source, metric, dimensions, entity_kind, entity_id)
    ON CONFLICT DO NOTHING";

const REVISIONS: &str = "
    INSERT INTO sample_revisions (series_id, start_at, end_at, value, unit, entity_name,
                                  raw_name, observed_at, superseded_at)
    SELECT s.id, i.start_at, i.end_at, i.value, i.unit, i.entity_name, i.raw_name,
           i.observed_at, i.superseded_at
    FROM UNNEST($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::timestamptz[],
                $7::timestamptz[], $8::float8[], $9::text[], $10::text[], $11::text[],
                $12::timestamptz[], $13::timestamptz[])
        AS i (source, metric, dimensions, entity_kind, entity_id, start_at, end_at, value, unit,
              entity_name, raw_name, observed_at, superseded_at)
    JOIN series s USING (source, metric, dimensions, entity_kind, entity_id)
    WHERE NOT EXISTS (
        SELECT 1 FROM sample_revisions r
        WHERE r.series_id = s.id AND r.start_at = i.start_at AND r.end_at = i.end_at
          AND r.observed_at = i.observed_at AND r.superseded_at = i.superseded_at)";

const STATES: &str = "INSERT INTO source_state (source, state, updated_at) VALUES ($1, $2, $3)
     ON CONFLICT DO NOTHING";

const RUNS: &str = "
    INSERT INTO runs (source, started_at, finished_at, status, error, points, inserted, revised,
                      requests, retries, throttled, heartbeat_at)
    SELECT $1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12
    WHERE NOT EXISTS (
        SELECT 1 FROM runs WHERE source = $1 AND started_at = $2
          AND finished_at IS NOT DISTINCT FROM $3)";

const QUOTA: &str = "INSERT INTO quota_usage (key, window_start, units) VALUES ($1, $2, $3)
     ON CONFLICT DO NOTHING";

const STATED: &str = "INSERT INTO quota_stated (key, bucket, budget, remaining, cost, resets_at)
     VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT DO NOTHING";

const IMPORTED: &str = "INSERT INTO imported_sources (source, client, file, imported_at)
     VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING";

/// Runs the n-th prepared statement of the copy with arguments; returns rows added.
type Execute<'a> = dyn Fn(usize, &[&(dyn ToSql + Sync)]) -> Result<u64, StoreError> + 'a;

/// A SQLite read failure, named by file.
fn sqlite_err(path: &str) -> impl Fn(rusqlite::Error) -> StoreError + '_ {
    move |source| StoreError::Sqlite {
        path: path.to_string(),
        operation: "reading the store to copy",
        hint: "",
        source,
    }
}

fn time(path: &str, ms: i64) -> Result<DateTime<Utc>, StoreError> {
    DateTime::from_timestamp_millis(ms).ok_or_else(|| StoreError::Corrupt {
        path: path.to_string(),
        what: "time",
        detail: format!("{ms} ms is out of range"),
    })
}

impl PgStore {
    /// Copies the SQLite store at `file` into this database (see the module
    /// documentation). The file is first brought to the current schema.
    pub fn copy_from_sqlite(&mut self, file: &Path) -> Result<CopyStats, StoreError> {
        drop(SqliteStore::open(file)?);
        let label = file.display().to_string();
        let src = Connection::open_with_flags(file, OpenFlags::SQLITE_OPEN_READ_ONLY).map_err(
            |source| StoreError::Open {
                path: label.clone(),
                source,
            },
        )?;
        let err = pg_err(&self.label, "copying a SQLite store");
        let statements = [
            SERIES, SAMPLES, REVISIONS, STATES, RUNS, QUOTA, IMPORTED, STATED,
        ]
        .map(|sql| self.prepare(sql))
        .into_iter()
        .collect::<Result<Vec<_>, _>>()
        .map_err(&err)?;
        let tx = wait(self.client.transaction()).map_err(&err)?;
        let mut stats = CopyStats::default();
        let run = |sql: usize, args: &[&(dyn ToSql + Sync)]| -> Result<u64, StoreError> {
            wait(tx.execute(&statements[sql], args)).map_err(&err)
        };
        copy_points(
            &src,
            &label,
            &tx,
            &statements[0],
            &statements[1],
            &mut stats,
        )
        .map_err(|e| e.into_store(&err))?;
        copy_revisions(&src, &label, &statements[2], &tx, &mut stats)
            .map_err(|e| e.into_store(&err))?;
        copy_records(&src, &label, &run, &mut stats)?;
        wait(tx.commit()).map_err(&err)?;
        Ok(stats)
    }
}

/// A failure on either side of the copy.
enum CopyError {
    Store(StoreError),
    Pg(tokio_postgres::Error),
}

impl CopyError {
    fn into_store(self, pg: impl Fn(tokio_postgres::Error) -> StoreError) -> StoreError {
        match self {
            CopyError::Store(e) => e,
            CopyError::Pg(e) => pg(e),
        }
    }
}

impl From<StoreError> for CopyError {
    fn from(e: StoreError) -> CopyError {
        CopyError::Store(e)
    }
}

impl From<tokio_postgres::Error> for CopyError {
    fn from(e: tokio_postgres::Error) -> CopyError {
        CopyError::Pg(e)
    }
}

/// The series key columns every copied row starts with.
#[derive(Default)]
struct Keys {
    source: Vec<String>,
    metric: Vec<String>,
    dimensions: Vec<String>,
    entity_kind: Vec<String>,
    entity_id: Vec<String>,
    start: Vec<DateTime<Utc>>,
    end: Vec<DateTime<Utc>>,
    value: Vec<f64>,
    unit: Vec<String>,
    entity_name: Vec<Option<String>>,
    raw_name: Vec<String>,
    observed: Vec<DateTime<Utc>>,
}

impl Keys {
    fn len(&self) -> usize {
        self.source.len()
    }

    /// Reads the columns every row shares, in the order both reads select them.
    fn push(&mut self, row: &rusqlite::Row<'_>, label: &str) -> Result<(), StoreError> {
        let e = sqlite_err(label);
        self.source.push(row.get(0).map_err(&e)?);
        self.metric.push(row.get(1).map_err(&e)?);
        self.dimensions.push(row.get(2).map_err(&e)?);
        self.entity_kind.push(row.get(3).map_err(&e)?);
        self.entity_id.push(row.get(4).map_err(&e)?);
        self.start.push(time(label, row.get(5).map_err(&e)?)?);
        self.end.push(time(label, row.get(6).map_err(&e)?)?);
        self.value.push(row.get(7).map_err(&e)?);
        self.unit.push(row.get(8).map_err(&e)?);
        self.entity_name.push(row.get(9).map_err(&e)?);
        self.raw_name.push(row.get(10).map_err(&e)?);
        self.observed.push(time(label, row.get(11).map_err(&e)?)?);
        Ok(())
    }
}

const KEY_COLUMNS: &str = "k.source, m.name, d.dimensions, k.entity_kind, e.entity_id, \
     v.start_ms, v.end_ms, v.value, v.unit, v.entity_name, v.raw_name, v.observed_ms";

fn copy_points(
    src: &Connection,
    label: &str,
    tx: &Transaction<'_>,
    series: &tokio_postgres::Statement,
    samples: &tokio_postgres::Statement,
    stats: &mut CopyStats,
) -> Result<(), CopyError> {
    let e = sqlite_err(label);
    let mut q = src
        .prepare(&format!(
            "SELECT {KEY_COLUMNS}, v.kind, v.platform FROM points v
             JOIN entities e ON e.id = v.entity_ref JOIN source_kinds k ON k.id = e.source_kind
             JOIN dimension_sets d ON d.id = v.dimensions_ref JOIN metrics m ON m.id = v.metric_id"
        ))
        .map_err(&e)?;
    let mut rows = q.query([]).map_err(&e)?;
    let mut done = false;
    while !done {
        let mut k = Keys::default();
        let (mut kind, mut platform) = (Vec::<String>::new(), Vec::<String>::new());
        while k.len() < CHUNK {
            let Some(row) = rows.next().map_err(&e)? else {
                done = true;
                break;
            };
            k.push(row, label)?;
            kind.push(row.get(12).map_err(&e)?);
            platform.push(row.get(13).map_err(&e)?);
        }
        if k.len() == 0 {
            break;
        }
        let key: [&(dyn ToSql + Sync); 5] = [
            &k.source,
            &k.metric,
            &k.dimensions,
            &k.entity_kind,
            &k.entity_id,
        ];
        wait(tx.execute(series, &key))?;
        stats.points += wait(tx.execute(
            samples,
            &[
                key[0],
                key[1],
                key[2],
                key[3],
                key[4],
                &k.start,
                &k.end,
                &k.value,
                &k.unit,
                &kind,
                &platform,
                &k.entity_name,
                &k.raw_name,
                &k.observed,
            ],
        ))?;
    }
    Ok(())
}

fn copy_revisions(
    src: &Connection,
    label: &str,
    revisions: &tokio_postgres::Statement,
    tx: &Transaction<'_>,
    stats: &mut CopyStats,
) -> Result<(), CopyError> {
    let e = sqlite_err(label);
    let mut q = src
        .prepare(&format!(
            "SELECT {KEY_COLUMNS}, v.superseded_ms FROM revisions v
             JOIN entities e ON e.id = v.entity_ref JOIN source_kinds k ON k.id = e.source_kind
             JOIN dimension_sets d ON d.id = v.dimensions_ref JOIN metrics m ON m.id = v.metric_id"
        ))
        .map_err(&e)?;
    let mut rows = q.query([]).map_err(&e)?;
    let mut done = false;
    while !done {
        let mut k = Keys::default();
        let mut superseded = Vec::new();
        while k.len() < CHUNK {
            let Some(row) = rows.next().map_err(&e)? else {
                done = true;
                break;
            };
            k.push(row, label)?;
            superseded.push(time(label, row.get(12).map_err(&e)?)?);
        }
        if k.len() == 0 {
            break;
        }
        stats.revisions += wait(tx.execute(
            revisions,
            &[
                &k.source,
                &k.metric,
                &k.dimensions,
                &k.entity_kind,
                &k.entity_id,
                &k.start,
                &k.end,
                &k.value,
                &k.unit,
                &k.entity_name,
                &k.raw_name,
                &k.observed,
                &superseded,
            ],
        ))?;
    }
    Ok(())
}

/// Copies states, runs, quota windows, stated quotas and imported sources, one row per
/// statement: there are few of them.
fn copy_records(
    src: &Connection,
    label: &str,
    run: &Execute<'_>,
    stats: &mut CopyStats,
) -> Result<(), StoreError> {
    let e = sqlite_err(label);
    let mut q = src
        .prepare("SELECT source, state, updated_ms FROM source_state")
        .map_err(&e)?;
    let mut rows = q.query([]).map_err(&e)?;
    while let Some(row) = rows.next().map_err(&e)? {
        let source: String = row.get(0).map_err(&e)?;
        let text: String = row.get(1).map_err(&e)?;
        let state: serde_json::Value =
            serde_json::from_str(&text).map_err(|x| StoreError::Corrupt {
                path: label.to_string(),
                what: "source state",
                detail: x.to_string(),
            })?;
        let at = time(label, row.get(2).map_err(&e)?)?;
        stats.states += run(3, &[&source, &state, &at])?;
    }
    let mut q = src
        .prepare(
            "SELECT source, started_ms, finished_ms, status, error, points, inserted, revised,
                    requests, retries, throttled, heartbeat_ms FROM runs ORDER BY id",
        )
        .map_err(&e)?;
    let mut rows = q.query([]).map_err(&e)?;
    while let Some(row) = rows.next().map_err(&e)? {
        let opt_time = |i: usize| -> Result<Option<DateTime<Utc>>, StoreError> {
            row.get::<_, Option<i64>>(i)
                .map_err(&e)?
                .map(|ms| time(label, ms))
                .transpose()
        };
        let source: String = row.get(0).map_err(&e)?;
        let started = time(label, row.get(1).map_err(&e)?)?;
        let (finished, heartbeat) = (opt_time(2)?, opt_time(11)?);
        let status: Option<String> = row.get(3).map_err(&e)?;
        let error: Option<String> = row.get(4).map_err(&e)?;
        let counts: Vec<i64> = (5..11)
            .map(|i| row.get::<_, i64>(i).map_err(&e))
            .collect::<Result<_, _>>()?;
        stats.runs += run(
            4,
            &[
                &source, &started, &finished, &status, &error, &counts[0], &counts[1], &counts[2],
                &counts[3], &counts[4], &counts[5], &heartbeat,
            ],
        )?;
    }
    let mut q = src
        .prepare("SELECT key, window_ms, units FROM quota_usage")
        .map_err(&e)?;
    let mut rows = q.query([]).map_err(&e)?;
    while let Some(row) = rows.next().map_err(&e)? {
        let key: String = row.get(0).map_err(&e)?;
        let window = time(label, row.get(1).map_err(&e)?)?;
        let units: i64 = row.get(2).map_err(&e)?;
        stats.quota_windows += run(5, &[&key, &window, &units])?;
    }
    let mut q = src
        .prepare("SELECT key, bucket, budget, remaining, cost, resets_ms FROM quota_stated")
        .map_err(&e)?;
    let mut rows = q.query([]).map_err(&e)?;
    while let Some(row) = rows.next().map_err(&e)? {
        let (key, bucket, budget): (String, String, String) = (
            row.get(0).map_err(&e)?,
            row.get(1).map_err(&e)?,
            row.get(2).map_err(&e)?,
        );
        let (remaining, cost): (i64, i64) = (row.get(3).map_err(&e)?, row.get(4).map_err(&e)?);
        let resets = time(label, row.get(5).map_err(&e)?)?;
        stats.stated_quotas += run(7, &[&key, &bucket, &budget, &remaining, &cost, &resets])?;
    }
    let mut q = src
        .prepare("SELECT source, client, file, imported_ms FROM imported_sources")
        .map_err(&e)?;
    let mut rows = q.query([]).map_err(&e)?;
    while let Some(row) = rows.next().map_err(&e)? {
        let (source, client, file): (String, String, String) = (
            row.get(0).map_err(&e)?,
            row.get(1).map_err(&e)?,
            row.get(2).map_err(&e)?,
        );
        let at = time(label, row.get(3).map_err(&e)?)?;
        stats.imported_sources += run(6, &[&source, &client, &file, &at])?;
    }
    Ok(())
}
