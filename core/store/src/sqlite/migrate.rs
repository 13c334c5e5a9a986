//! Versioned schema migrations.
//!
//! Users keep their database across upgrades, so the schema only ever moves
//! forward through this ordered list, one transaction per step, with the
//! version kept in `PRAGMA user_version`. A file from a newer build is refused
//! rather than guessed at.

use super::StoreError;
use rusqlite::{Connection, TransactionBehavior};

/// Each entry moves the schema from version `i` to `i + 1`. Append only: never
/// edit a migration that has shipped.
const MIGRATIONS: &[&str] = &[
    // 1: points, revisions, incremental state, pull runs, quota ledger.
    r#"
    CREATE TABLE points (
        id           INTEGER PRIMARY KEY,
        source       TEXT    NOT NULL,
        entity_kind  TEXT    NOT NULL,
        entity_id    TEXT    NOT NULL,
        metric       TEXT    NOT NULL,
        dimensions   TEXT    NOT NULL,          -- canonical JSON object, '{}' when none
        start_ms     INTEGER NOT NULL,          -- `at` of a gauge, `start` of a sum (unix ms, UTC)
        end_ms       INTEGER NOT NULL,          -- equal to start_ms for a gauge, `end` of a sum
        value        REAL    NOT NULL,
        unit         TEXT    NOT NULL,
        kind         TEXT    NOT NULL,
        platform     TEXT    NOT NULL,
        entity_name  TEXT,
        raw_name     TEXT    NOT NULL,
        observed_ms  INTEGER NOT NULL,          -- when this value was first pulled
        UNIQUE (source, entity_kind, entity_id, metric, dimensions, start_ms, end_ms)
    );
    CREATE INDEX points_by_metric_source_time ON points (metric, source, start_ms);

    CREATE TABLE point_revisions (
        id            INTEGER PRIMARY KEY,
        point_id      INTEGER NOT NULL REFERENCES points (id) ON DELETE CASCADE,
        value         REAL    NOT NULL,
        unit          TEXT    NOT NULL,
        entity_name   TEXT,
        raw_name      TEXT    NOT NULL,
        observed_ms   INTEGER NOT NULL,         -- when the old value was first pulled
        superseded_ms INTEGER NOT NULL          -- when a different value replaced it
    );
    CREATE INDEX point_revisions_by_point ON point_revisions (point_id, observed_ms);

    CREATE TABLE source_state (
        source     TEXT PRIMARY KEY,
        state      TEXT    NOT NULL,
        updated_ms INTEGER NOT NULL
    );

    CREATE TABLE runs (
        id          INTEGER PRIMARY KEY,
        source      TEXT    NOT NULL,
        started_ms  INTEGER NOT NULL,
        finished_ms INTEGER,
        status      TEXT,                       -- NULL until finished
        error       TEXT,
        points      INTEGER NOT NULL DEFAULT 0,
        inserted    INTEGER NOT NULL DEFAULT 0,
        revised     INTEGER NOT NULL DEFAULT 0,
        requests    INTEGER NOT NULL DEFAULT 0,
        retries     INTEGER NOT NULL DEFAULT 0,
        throttled   INTEGER NOT NULL DEFAULT 0
    );
    CREATE INDEX runs_by_source ON runs (source, id);

    CREATE TABLE quota_usage (
        key       TEXT    NOT NULL,
        window_ms INTEGER NOT NULL,
        units     INTEGER NOT NULL,
        PRIMARY KEY (key, window_ms)
    ) WITHOUT ROWID;
    "#,
    // 2: goals and reports. Sources filled by `tally import` rather than a
    // connector: the client they belong to (goals and reports count a
    // client's sources) and the file last imported into each. And a covering
    // index of the totals (points without dimensions) goals add up, so
    // evaluating a goal reads one index range and never the table.
    r#"
    CREATE TABLE imported_sources (
        source      TEXT PRIMARY KEY,
        client      TEXT    NOT NULL,
        file        TEXT    NOT NULL,
        imported_ms INTEGER NOT NULL
    );
    CREATE INDEX points_totals ON points
        (metric, source, start_ms, end_ms, entity_kind, entity_id, kind, value, unit, platform)
        WHERE dimensions = '{}';
    "#,
    // 3: when the file was last found sound by `PRAGMA quick_check` and how
    // long that took, which decide when a writer checks it again.
    r#"
    CREATE TABLE store_checks (
        id         INTEGER PRIMARY KEY CHECK (id = 1),
        checked_ms INTEGER NOT NULL,
        took_ms    INTEGER NOT NULL
    );
    "#,
    // 4: a heartbeat on unfinished runs, refreshed while the pull goes on,
    // so another process (`tally runs` beside a running daemon) can tell a
    // pull in progress from one whose process died.
    r#"
    ALTER TABLE runs ADD COLUMN heartbeat_ms INTEGER;
    "#,
];

/// The schema version this build writes.
pub(crate) fn latest_version() -> i64 {
    MIGRATIONS.len() as i64
}

/// Brings the database at `path` up to [`latest_version`], refusing newer files.
pub(crate) fn migrate(conn: &mut Connection, path: &str) -> Result<(), StoreError> {
    let open_err = |source| StoreError::Open {
        path: path.to_string(),
        source,
    };
    let found: i64 = conn
        .pragma_query_value(None, "user_version", |row| row.get(0))
        .map_err(open_err)?;
    let known = latest_version();
    if found > known {
        return Err(StoreError::TooNew {
            path: path.to_string(),
            found,
            known,
        });
    }
    for (index, sql) in MIGRATIONS.iter().enumerate().skip(found.max(0) as usize) {
        let version = index as i64 + 1;
        let fail = |source| StoreError::Migration {
            path: path.to_string(),
            version,
            source,
        };
        let tx = conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(fail)?;
        // Another process may have migrated while we waited for the write lock.
        let now: i64 = tx
            .pragma_query_value(None, "user_version", |row| row.get(0))
            .map_err(fail)?;
        if now >= version {
            continue;
        }
        tx.execute_batch(sql).map_err(fail)?;
        tx.pragma_update(None, "user_version", version)
            .map_err(fail)?;
        tx.commit().map_err(fail)?;
    }
    Ok(())
}
