//! Versioned schema migrations.
//!
//! Users keep their database across upgrades, so the schema only ever moves
//! forward through this ordered list, one transaction per step, with the
//! version kept in `PRAGMA user_version`. A file from a newer build is refused
//! rather than guessed at.

use super::{series_key, sql_err, StoreError};
use rusqlite::{Connection, TransactionBehavior};

/// The `points` and `revisions` views of versions 5 to 7, over `series`,
/// `samples` and `point_attrs`: migrations 5 and 6 recreate them, and
/// migration 8 reads the old tables through them. Never edit: shipped.
macro_rules! series_views {
    () => {
        r#"
    CREATE VIEW points AS
        SELECT v.series_id AS series_id, s.source AS source, s.entity_kind AS entity_kind,
               s.entity_id AS entity_id, s.metric AS metric, s.dimensions AS dimensions,
               v.start_ms AS start_ms, v.end_ms AS end_ms, v.value AS value,
               IFNULL(a.unit, s.unit) AS unit, IFNULL(a.kind, s.kind) AS kind,
               IFNULL(a.platform, s.platform) AS platform,
               CASE WHEN v.attrs IS NULL THEN s.entity_name ELSE a.entity_name END AS entity_name,
               IFNULL(a.raw_name, s.raw_name) AS raw_name, v.observed_ms AS observed_ms
        FROM samples v JOIN series s ON s.id = v.series_id
        LEFT JOIN point_attrs a ON a.id = v.attrs;

    CREATE VIEW revisions AS
        SELECT r.series_id AS series_id, r.start_ms AS start_ms, r.end_ms AS end_ms,
               r.value AS value, IFNULL(a.unit, s.unit) AS unit,
               CASE WHEN r.attrs IS NULL THEN s.entity_name ELSE a.entity_name END AS entity_name,
               IFNULL(a.raw_name, s.raw_name) AS raw_name,
               r.observed_ms AS observed_ms, r.superseded_ms AS superseded_ms
        FROM point_revisions r JOIN series s ON s.id = r.series_id
        LEFT JOIN point_attrs a ON a.id = r.attrs;
    "#
    };
}

/// The `points` and `revisions` views from version 8 on, over `subjects`,
/// `metrics`, `samples`, `point_attrs` and `entity_names`: the columns of
/// version 2's table, with (subject_id, metric_id) where `series_id` was.
macro_rules! subject_views {
    () => {
        r#"
    CREATE VIEW points AS
        SELECT v.subject_id AS subject_id, v.metric_id AS metric_id, s.source AS source,
               s.entity_kind AS entity_kind, s.entity_id AS entity_id, m.name AS metric,
               s.dimensions AS dimensions, v.start_ms AS start_ms, v.end_ms AS end_ms,
               v.value AS value, a.unit AS unit, a.kind AS kind, a.platform AS platform,
               CASE WHEN v.renamed IS NULL THEN s.entity_name ELSE n.name END AS entity_name,
               a.raw_name AS raw_name, v.observed_ms AS observed_ms
        FROM samples v JOIN subjects s ON s.id = v.subject_id
        JOIN metrics m ON m.id = v.metric_id
        JOIN point_attrs a ON a.id = v.attrs
        LEFT JOIN entity_names n ON n.id = v.renamed;

    CREATE VIEW revisions AS
        SELECT r.subject_id AS subject_id, r.metric_id AS metric_id, r.start_ms AS start_ms,
               r.end_ms AS end_ms, r.value AS value, a.unit AS unit,
               CASE WHEN r.renamed IS NULL THEN s.entity_name ELSE n.name END AS entity_name,
               a.raw_name AS raw_name, r.observed_ms AS observed_ms,
               r.superseded_ms AS superseded_ms
        FROM point_revisions r JOIN subjects s ON s.id = r.subject_id
        JOIN point_attrs a ON a.id = r.attrs
        LEFT JOIN entity_names n ON n.id = r.renamed;
    "#
    };
}

/// The `points` and `revisions` views from version 10 on, over `entities`,
/// `dimension_sets`, `metrics`, `samples`, `point_attrs` and `entity_names`:
/// the columns of version 2's table, with the interned ids of the key.
macro_rules! entity_views {
    () => {
        r#"
    CREATE VIEW points AS
        SELECT v.entity_ref AS entity_ref, v.dimensions_ref AS dimensions_ref,
               v.metric_id AS metric_id, e.source AS source, e.entity_kind AS entity_kind,
               e.entity_id AS entity_id, m.name AS metric, d.dimensions AS dimensions,
               v.start_ms AS start_ms, v.end_ms AS end_ms, v.value AS value, a.unit AS unit,
               a.kind AS kind, a.platform AS platform,
               CASE WHEN v.renamed IS NULL THEN e.entity_name ELSE n.name END AS entity_name,
               a.raw_name AS raw_name, v.observed_ms AS observed_ms
        FROM samples v JOIN entities e ON e.id = v.entity_ref
        JOIN dimension_sets d ON d.id = v.dimensions_ref
        JOIN metrics m ON m.id = v.metric_id
        JOIN point_attrs a ON a.id = v.attrs
        LEFT JOIN entity_names n ON n.id = v.renamed;

    CREATE VIEW revisions AS
        SELECT r.entity_ref AS entity_ref, r.dimensions_ref AS dimensions_ref,
               r.metric_id AS metric_id, r.start_ms AS start_ms, r.end_ms AS end_ms,
               r.value AS value, a.unit AS unit,
               CASE WHEN r.renamed IS NULL THEN e.entity_name ELSE n.name END AS entity_name,
               a.raw_name AS raw_name, r.observed_ms AS observed_ms,
               r.superseded_ms AS superseded_ms
        FROM point_revisions r JOIN entities e ON e.id = r.entity_ref
        JOIN point_attrs a ON a.id = r.attrs
        LEFT JOIN entity_names n ON n.id = r.renamed;
    "#
    };
}

/// The `points` and `revisions` views from version 11 on: those of version
/// 10, with an entity's source and kind read from `source_kinds`.
macro_rules! source_kind_views {
    () => {
        r#"
    CREATE VIEW points AS
        SELECT v.entity_ref AS entity_ref, v.dimensions_ref AS dimensions_ref,
               v.metric_id AS metric_id, k.source AS source, k.entity_kind AS entity_kind,
               e.entity_id AS entity_id, m.name AS metric, d.dimensions AS dimensions,
               v.start_ms AS start_ms, v.end_ms AS end_ms, v.value AS value, a.unit AS unit,
               a.kind AS kind, a.platform AS platform,
               CASE WHEN v.renamed IS NULL THEN e.entity_name ELSE n.name END AS entity_name,
               a.raw_name AS raw_name, v.observed_ms AS observed_ms
        FROM samples v JOIN entities e ON e.id = v.entity_ref
        JOIN source_kinds k ON k.id = e.source_kind
        JOIN dimension_sets d ON d.id = v.dimensions_ref
        JOIN metrics m ON m.id = v.metric_id
        JOIN point_attrs a ON a.id = v.attrs
        LEFT JOIN entity_names n ON n.id = v.renamed;

    CREATE VIEW revisions AS
        SELECT r.entity_ref AS entity_ref, r.dimensions_ref AS dimensions_ref,
               r.metric_id AS metric_id, r.start_ms AS start_ms, r.end_ms AS end_ms,
               r.value AS value, a.unit AS unit,
               CASE WHEN r.renamed IS NULL THEN e.entity_name ELSE n.name END AS entity_name,
               a.raw_name AS raw_name, r.observed_ms AS observed_ms,
               r.superseded_ms AS superseded_ms
        FROM point_revisions r JOIN entities e ON e.id = r.entity_ref
        JOIN point_attrs a ON a.id = r.attrs
        LEFT JOIN entity_names n ON n.id = r.renamed;
    "#
    };
}

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
    // 5: the time-series layout. A `series` row holds what every point of one
    // (source, metric, dimensions, entity) shares, written once; `samples`
    // holds each point as a few numbers keyed by (series, time) in one
    // B-tree. A point whose kind, platform, unit, entity name or raw name
    // differs from its series' (a renamed account) points at a `point_attrs`
    // row. Revisions keep their own attributes the same way. The `points` and
    // `revisions` views read both back in the shape of version 2's table, so
    // ad-hoc SQL over `points` keeps working. Every point and revision of the
    // old tables is copied.
    concat!(
        r#"
    CREATE TABLE series (
        id          INTEGER PRIMARY KEY,
        source      TEXT    NOT NULL,
        metric      TEXT    NOT NULL,
        dimensions  TEXT    NOT NULL,           -- canonical JSON object, '{}' when none
        entity_kind TEXT    NOT NULL,
        entity_id   TEXT    NOT NULL,
        kind        TEXT    NOT NULL,           -- these five as first written
        platform    TEXT    NOT NULL,
        unit        TEXT    NOT NULL,
        entity_name TEXT,
        raw_name    TEXT    NOT NULL,
        UNIQUE (source, metric, dimensions, entity_kind, entity_id)
    );

    CREATE TABLE point_attrs (
        id          INTEGER PRIMARY KEY,
        kind        TEXT    NOT NULL,
        platform    TEXT    NOT NULL,
        unit        TEXT    NOT NULL,
        entity_name TEXT,
        raw_name    TEXT    NOT NULL
    );
    CREATE INDEX point_attrs_by_value ON point_attrs (raw_name, unit, kind, platform, entity_name);

    CREATE TABLE samples (
        series_id   INTEGER NOT NULL,
        start_ms    INTEGER NOT NULL,           -- `at` of a gauge, `start` of a sum (unix ms, UTC)
        end_ms      INTEGER NOT NULL,           -- equal to start_ms for a gauge, `end` of a sum
        value       REAL    NOT NULL,
        observed_ms INTEGER NOT NULL,           -- when this value was first pulled
        attrs       INTEGER,                    -- NULL: the series' attributes
        PRIMARY KEY (series_id, start_ms, end_ms)
    ) WITHOUT ROWID;

    CREATE TABLE sample_revisions (
        id            INTEGER PRIMARY KEY,
        series_id     INTEGER NOT NULL,
        start_ms      INTEGER NOT NULL,
        end_ms        INTEGER NOT NULL,
        value         REAL    NOT NULL,
        attrs         INTEGER,                  -- NULL: the series' attributes
        observed_ms   INTEGER NOT NULL,         -- when the old value was first pulled
        superseded_ms INTEGER NOT NULL          -- when a different value replaced it
    );

    INSERT INTO series (source, metric, dimensions, entity_kind, entity_id,
                        kind, platform, unit, entity_name, raw_name)
        SELECT source, metric, dimensions, entity_kind, entity_id,
               kind, platform, unit, entity_name, raw_name
        FROM points WHERE id IN (
            SELECT MAX(id) FROM points
            GROUP BY source, metric, dimensions, entity_kind, entity_id);

    CREATE TEMP TABLE old_attrs AS
        SELECT p.kind, p.platform, p.unit, p.entity_name, p.raw_name FROM points p
        UNION
        SELECT p.kind, p.platform, r.unit, r.entity_name, r.raw_name
        FROM point_revisions r JOIN points p ON p.id = r.point_id;
    INSERT INTO point_attrs (kind, platform, unit, entity_name, raw_name)
        SELECT kind, platform, unit, entity_name, raw_name FROM temp.old_attrs a
        WHERE NOT EXISTS (
            SELECT 1 FROM series s
            WHERE s.kind = a.kind AND s.platform = a.platform AND s.unit = a.unit
              AND s.entity_name IS a.entity_name AND s.raw_name = a.raw_name);
    DROP TABLE temp.old_attrs;

    INSERT INTO samples (series_id, start_ms, end_ms, value, observed_ms, attrs)
        SELECT s.id, p.start_ms, p.end_ms, p.value, p.observed_ms,
               CASE WHEN s.kind = p.kind AND s.platform = p.platform AND s.unit = p.unit
                         AND s.entity_name IS p.entity_name AND s.raw_name = p.raw_name
                    THEN NULL
                    ELSE (SELECT a.id FROM point_attrs a
                          WHERE a.raw_name = p.raw_name AND a.unit = p.unit AND a.kind = p.kind
                            AND a.platform = p.platform AND a.entity_name IS p.entity_name)
               END
        FROM points p JOIN series s
          ON s.source = p.source AND s.metric = p.metric AND s.dimensions = p.dimensions
         AND s.entity_kind = p.entity_kind AND s.entity_id = p.entity_id;

    INSERT INTO sample_revisions
            (series_id, start_ms, end_ms, value, attrs, observed_ms, superseded_ms)
        SELECT s.id, p.start_ms, p.end_ms, r.value,
               CASE WHEN s.kind = p.kind AND s.platform = p.platform AND s.unit = r.unit
                         AND s.entity_name IS r.entity_name AND s.raw_name = r.raw_name
                    THEN NULL
                    ELSE (SELECT a.id FROM point_attrs a
                          WHERE a.raw_name = r.raw_name AND a.unit = r.unit AND a.kind = p.kind
                            AND a.platform = p.platform AND a.entity_name IS r.entity_name)
               END,
               r.observed_ms, r.superseded_ms
        FROM point_revisions r JOIN points p ON p.id = r.point_id JOIN series s
          ON s.source = p.source AND s.metric = p.metric AND s.dimensions = p.dimensions
         AND s.entity_kind = p.entity_kind AND s.entity_id = p.entity_id
        ORDER BY r.id;

    DROP TABLE point_revisions;
    DROP TABLE points;
    ALTER TABLE sample_revisions RENAME TO point_revisions;
    CREATE INDEX point_revisions_by_sample ON point_revisions (series_id, start_ms, end_ms);
    "#,
        series_views!()
    ),
    // 6: the series index orders series by a hash of their dimensions and
    // entity before the text itself (see `series_key.rs`), so creating a
    // series compares an integer instead of long ids at every level. SQLite
    // cannot change a table's constraints in place: the table is rebuilt
    // with the same ids, and the views over it are recreated unchanged.
    concat!(
        r#"
    DROP VIEW points;
    DROP VIEW revisions;
    CREATE TABLE series_by_hash (
        id          INTEGER PRIMARY KEY,
        source      TEXT    NOT NULL,
        metric      TEXT    NOT NULL,
        dimensions  TEXT    NOT NULL,           -- canonical JSON object, '{}' when none
        entity_kind TEXT    NOT NULL,
        entity_id   TEXT    NOT NULL,
        kind        TEXT    NOT NULL,           -- these five as first written
        platform    TEXT    NOT NULL,
        unit        TEXT    NOT NULL,
        entity_name TEXT,
        raw_name    TEXT    NOT NULL,
        key_hash    INTEGER NOT NULL,           -- of dimensions, entity_kind, entity_id
        UNIQUE (source, metric, key_hash, dimensions, entity_kind, entity_id)
    );
    INSERT INTO series_by_hash (id, source, metric, dimensions, entity_kind, entity_id,
                                kind, platform, unit, entity_name, raw_name, key_hash)
        SELECT id, source, metric, dimensions, entity_kind, entity_id,
               kind, platform, unit, entity_name, raw_name,
               tally_series_key_hash(dimensions, entity_kind, entity_id)
        FROM series ORDER BY id;
    DROP TABLE series;
    ALTER TABLE series_by_hash RENAME TO series;
    "#,
        series_views!()
    ),
    // 7: quota a platform states in its answers (GA4's property tokens), the
    // latest statement of each bucket of a budget, so a restart or the next
    // pull still refuses what the budget cannot pay until the reset.
    r#"
    CREATE TABLE quota_stated (
        key       TEXT    NOT NULL,             -- platform@host:port/budget
        bucket    TEXT    NOT NULL,
        budget    TEXT    NOT NULL,             -- the budget as the connector names it
        remaining INTEGER NOT NULL,
        cost      INTEGER NOT NULL,             -- what one request costs
        resets_ms INTEGER NOT NULL,
        PRIMARY KEY (key, bucket)
    ) WITHOUT ROWID;
    "#,
    // 8: one row per subject instead of per series. A first pull of posts
    // made every post × metric a `series` row (40,000 for 10,000 posts); a
    // `subjects` row now holds what every point of one (source, entity,
    // dimensions) shares, and `samples` are keyed by (subject, metric, time)
    // with the metric interned in `metrics` (per kind of entity). A point's kind, platform, unit
    // and raw name are one interned `point_attrs` row (a handful per store);
    // its entity name is the subject's unless `renamed` points at an
    // `entity_names` row, so a renamed account costs one row per new name and
    // post titles none. Revisions are keyed the same way. Every point and
    // revision is copied with all its attributes.
    concat!(
        r#"
    CREATE TEMP TABLE old_points AS
        SELECT series_id, start_ms, end_ms, value, kind, platform, unit, entity_name,
               raw_name, observed_ms
        FROM points;
    CREATE TEMP TABLE old_revisions AS
        SELECT r.id AS id, r.series_id AS series_id, r.start_ms AS start_ms,
               r.end_ms AS end_ms, r.value AS value,
               IFNULL(a.kind, s.kind) AS kind, IFNULL(a.platform, s.platform) AS platform,
               IFNULL(a.unit, s.unit) AS unit,
               CASE WHEN r.attrs IS NULL THEN s.entity_name ELSE a.entity_name END AS entity_name,
               IFNULL(a.raw_name, s.raw_name) AS raw_name,
               r.observed_ms AS observed_ms, r.superseded_ms AS superseded_ms
        FROM point_revisions r JOIN series s ON s.id = r.series_id
        LEFT JOIN point_attrs a ON a.id = r.attrs;
    DROP VIEW points;
    DROP VIEW revisions;
    DROP TABLE point_revisions;
    DROP TABLE samples;
    DROP TABLE point_attrs;

    CREATE TABLE subjects (
        id          INTEGER PRIMARY KEY,
        source      TEXT    NOT NULL,
        dimensions  TEXT    NOT NULL,           -- canonical JSON object, '{}' when none
        entity_kind TEXT    NOT NULL,
        entity_id   TEXT    NOT NULL,
        entity_name TEXT,                       -- as first written
        key_hash    INTEGER NOT NULL,           -- of dimensions, entity_kind, entity_id
        -- One index finds a subject by its key and a source's accounts
        -- without walking its posts.
        UNIQUE (source, entity_kind, key_hash, dimensions, entity_id)
    );

    -- A metric per kind of entity that has it, so the totals of an account
    -- metric walk a source's accounts and never its posts.
    CREATE TABLE metrics (
        id          INTEGER PRIMARY KEY,
        name        TEXT    NOT NULL,
        entity_kind TEXT    NOT NULL,
        UNIQUE (name, entity_kind)
    );

    CREATE TABLE point_attrs (
        id       INTEGER PRIMARY KEY,
        kind     TEXT    NOT NULL,
        platform TEXT    NOT NULL,
        unit     TEXT    NOT NULL,
        raw_name TEXT    NOT NULL,
        UNIQUE (raw_name, unit, kind, platform)
    );

    CREATE TABLE entity_names (
        id   INTEGER PRIMARY KEY,
        name TEXT
    );
    CREATE INDEX entity_names_by_name ON entity_names (name);

    CREATE TABLE samples (
        subject_id  INTEGER NOT NULL,
        metric_id   INTEGER NOT NULL,
        start_ms    INTEGER NOT NULL,           -- `at` of a gauge, `start` of a sum (unix ms, UTC)
        end_ms      INTEGER NOT NULL,           -- equal to start_ms for a gauge, `end` of a sum
        value       REAL    NOT NULL,
        observed_ms INTEGER NOT NULL,           -- when this value was first pulled
        attrs       INTEGER NOT NULL,           -- kind, platform, unit, raw name
        renamed     INTEGER,                    -- NULL: the subject's entity name
        PRIMARY KEY (subject_id, metric_id, start_ms, end_ms)
    ) WITHOUT ROWID;

    CREATE TABLE point_revisions (
        id            INTEGER PRIMARY KEY,
        subject_id    INTEGER NOT NULL,
        metric_id     INTEGER NOT NULL,
        start_ms      INTEGER NOT NULL,
        end_ms        INTEGER NOT NULL,
        value         REAL    NOT NULL,
        attrs         INTEGER NOT NULL,
        renamed       INTEGER,                  -- NULL: the subject's entity name
        observed_ms   INTEGER NOT NULL,         -- when the old value was first pulled
        superseded_ms INTEGER NOT NULL          -- when a different value replaced it
    );
    CREATE INDEX point_revisions_by_sample
        ON point_revisions (subject_id, metric_id, start_ms, end_ms);

    INSERT INTO subjects (source, dimensions, entity_kind, entity_id, entity_name, key_hash)
        SELECT source, dimensions, entity_kind, entity_id, entity_name,
               tally_series_key_hash(dimensions, entity_kind, entity_id)
        FROM series WHERE id IN (
            SELECT MIN(id) FROM series
            GROUP BY source, dimensions, entity_kind, entity_id)
        ORDER BY id;
    INSERT INTO metrics (name, entity_kind)
        SELECT DISTINCT metric, entity_kind FROM series ORDER BY metric, entity_kind;

    CREATE TEMP TABLE series_subject (
        series_id  INTEGER PRIMARY KEY,
        subject_id INTEGER NOT NULL,
        metric_id  INTEGER NOT NULL
    );
    INSERT INTO series_subject (series_id, subject_id, metric_id)
        SELECT se.id, s.id, m.id
        FROM series se JOIN subjects s
          ON s.source = se.source AND s.entity_kind = se.entity_kind
         AND s.key_hash = tally_series_key_hash(se.dimensions, se.entity_kind, se.entity_id)
         AND s.dimensions = se.dimensions AND s.entity_kind = se.entity_kind
         AND s.entity_id = se.entity_id
        JOIN metrics m ON m.name = se.metric AND m.entity_kind = se.entity_kind;

    INSERT OR IGNORE INTO point_attrs (kind, platform, unit, raw_name)
        SELECT kind, platform, unit, raw_name FROM temp.old_points
        UNION
        SELECT kind, platform, unit, raw_name FROM temp.old_revisions;

    INSERT INTO entity_names (name)
        SELECT DISTINCT o.entity_name FROM (
            SELECT series_id, entity_name FROM temp.old_points
            UNION
            SELECT series_id, entity_name FROM temp.old_revisions) o
        JOIN temp.series_subject m ON m.series_id = o.series_id
        JOIN subjects s ON s.id = m.subject_id
        WHERE o.entity_name IS NOT s.entity_name;

    INSERT INTO samples (subject_id, metric_id, start_ms, end_ms, value, observed_ms,
                         attrs, renamed)
        SELECT m.subject_id, m.metric_id, o.start_ms, o.end_ms, o.value, o.observed_ms,
               (SELECT a.id FROM point_attrs a
                WHERE a.raw_name = o.raw_name AND a.unit = o.unit AND a.kind = o.kind
                  AND a.platform = o.platform),
               CASE WHEN o.entity_name IS s.entity_name THEN NULL
                    ELSE (SELECT n.id FROM entity_names n WHERE n.name IS o.entity_name)
               END
        FROM temp.old_points o JOIN temp.series_subject m ON m.series_id = o.series_id
        JOIN subjects s ON s.id = m.subject_id
        ORDER BY 1, 2, 3, 4;

    INSERT INTO point_revisions (subject_id, metric_id, start_ms, end_ms, value, attrs,
                                 renamed, observed_ms, superseded_ms)
        SELECT m.subject_id, m.metric_id, o.start_ms, o.end_ms, o.value,
               (SELECT a.id FROM point_attrs a
                WHERE a.raw_name = o.raw_name AND a.unit = o.unit AND a.kind = o.kind
                  AND a.platform = o.platform),
               CASE WHEN o.entity_name IS s.entity_name THEN NULL
                    ELSE (SELECT n.id FROM entity_names n WHERE n.name IS o.entity_name)
               END,
               o.observed_ms, o.superseded_ms
        FROM temp.old_revisions o JOIN temp.series_subject m ON m.series_id = o.series_id
        JOIN subjects s ON s.id = m.subject_id
        ORDER BY o.id;

    DROP TABLE series;
    DROP TABLE temp.series_subject;
    DROP TABLE temp.old_points;
    DROP TABLE temp.old_revisions;
    "#,
        subject_views!()
    ),
    // 8 -> 9: the subject index in entity order. Led by a hash of the entity,
    // the posts of one pull landed on every page of the index, so each commit
    // of a long pull rewrote most of it: 85% of a 10,000-post pull's WAL
    // writes. A feed's entity ids come in order (ids that grow with time), so
    // in entity order a commit's new subjects share a few adjacent pages.
    concat!(
        r#"
    DROP VIEW points;
    DROP VIEW revisions;
    CREATE TABLE subjects_by_entity (
        id          INTEGER PRIMARY KEY,
        source      TEXT    NOT NULL,
        dimensions  TEXT    NOT NULL,           -- canonical JSON object, '{}' when none
        entity_kind TEXT    NOT NULL,
        entity_id   TEXT    NOT NULL,
        entity_name TEXT,                       -- as first written
        -- One index finds a subject by its key and a source's accounts
        -- without walking its posts.
        UNIQUE (source, entity_kind, entity_id, dimensions)
    );
    INSERT INTO subjects_by_entity (id, source, dimensions, entity_kind, entity_id, entity_name)
        SELECT id, source, dimensions, entity_kind, entity_id, entity_name
        FROM subjects ORDER BY source, entity_kind, entity_id, dimensions;
    DROP TABLE subjects;
    ALTER TABLE subjects_by_entity RENAME TO subjects;
    "#,
        subject_views!()
    ),
    // 9 -> 10: no subjects. An entity's id, kind and name are written once,
    // in `entities`, a breakdown's dimensions once, in `dimension_sets`, and
    // a sample is keyed by both: (entity, dimensions, metric, time). A post
    // counted with and without a breakdown was two subjects, each carrying
    // its 70-character `at://` id in the table and again in the index (74%
    // of a first pull's file), and a first pull paid for an insert into
    // `subjects` per post and breakdown. A subject whose first entity name
    // differs from its entity's (the earliest subject's) keeps it in its
    // samples' and revisions' `renamed`.
    concat!(
        r#"
    DROP VIEW points;
    DROP VIEW revisions;
    CREATE TABLE entities (
        id          INTEGER PRIMARY KEY,
        source      TEXT    NOT NULL,
        entity_kind TEXT    NOT NULL,
        entity_id   TEXT    NOT NULL,
        entity_name TEXT,                       -- as first written
        -- Finds an entity by its key, and a source's accounts without
        -- walking its posts.
        UNIQUE (source, entity_kind, entity_id)
    );
    INSERT INTO entities (source, entity_kind, entity_id, entity_name)
        SELECT source, entity_kind, entity_id, entity_name FROM subjects
        WHERE id IN (SELECT MIN(id) FROM subjects GROUP BY source, entity_kind, entity_id)
        ORDER BY source, entity_kind, entity_id;

    CREATE TABLE dimension_sets (
        id         INTEGER PRIMARY KEY,
        dimensions TEXT    NOT NULL UNIQUE      -- canonical JSON object, '{}' when none
    );
    INSERT INTO dimension_sets (dimensions) VALUES ('{}');
    INSERT INTO dimension_sets (dimensions)
        SELECT DISTINCT dimensions FROM subjects WHERE dimensions <> '{}' ORDER BY dimensions;

    INSERT INTO entity_names (name)
        SELECT DISTINCT s.entity_name FROM subjects s
        JOIN entities e ON e.source = s.source AND e.entity_kind = s.entity_kind
         AND e.entity_id = s.entity_id
        WHERE s.entity_name IS NOT e.entity_name
          AND NOT EXISTS (SELECT 1 FROM entity_names n WHERE n.name IS s.entity_name);
    CREATE TEMP TABLE subject_key (
        subject_id     INTEGER PRIMARY KEY,
        entity_ref     INTEGER NOT NULL,
        dimensions_ref INTEGER NOT NULL,
        renamed        INTEGER                  -- the subject's name, if not its entity's
    );
    INSERT INTO subject_key (subject_id, entity_ref, dimensions_ref, renamed)
        SELECT s.id, e.id, d.id,
               CASE WHEN s.entity_name IS e.entity_name THEN NULL
                    ELSE (SELECT MIN(n.id) FROM entity_names n WHERE n.name IS s.entity_name)
               END
        FROM subjects s
        JOIN entities e ON e.source = s.source AND e.entity_kind = s.entity_kind
         AND e.entity_id = s.entity_id
        JOIN dimension_sets d ON d.dimensions = s.dimensions;

    CREATE TABLE samples_by_entity (
        entity_ref     INTEGER NOT NULL,        -- entities (id)
        dimensions_ref INTEGER NOT NULL,        -- dimension_sets (id)
        metric_id      INTEGER NOT NULL,
        start_ms       INTEGER NOT NULL,        -- `at` of a gauge, `start` of a sum (unix ms, UTC)
        end_ms         INTEGER NOT NULL,        -- equal to start_ms for a gauge, `end` of a sum
        value          REAL    NOT NULL,
        observed_ms    INTEGER NOT NULL,        -- when this value was first pulled
        attrs          INTEGER NOT NULL,        -- kind, platform, unit, raw name
        renamed        INTEGER,                 -- NULL: the entity's name
        PRIMARY KEY (entity_ref, dimensions_ref, metric_id, start_ms, end_ms)
    ) WITHOUT ROWID;
    INSERT INTO samples_by_entity (entity_ref, dimensions_ref, metric_id, start_ms, end_ms,
                                   value, observed_ms, attrs, renamed)
        SELECT k.entity_ref, k.dimensions_ref, v.metric_id, v.start_ms, v.end_ms, v.value,
               v.observed_ms, v.attrs, IFNULL(v.renamed, k.renamed)
        FROM samples v JOIN temp.subject_key k ON k.subject_id = v.subject_id
        ORDER BY 1, 2, 3, 4, 5;

    CREATE TABLE revisions_by_entity (
        id             INTEGER PRIMARY KEY,
        entity_ref     INTEGER NOT NULL,
        dimensions_ref INTEGER NOT NULL,
        metric_id      INTEGER NOT NULL,
        start_ms       INTEGER NOT NULL,
        end_ms         INTEGER NOT NULL,
        value          REAL    NOT NULL,
        attrs          INTEGER NOT NULL,
        renamed        INTEGER,                 -- NULL: the entity's name
        observed_ms    INTEGER NOT NULL,        -- when the old value was first pulled
        superseded_ms  INTEGER NOT NULL         -- when a different value replaced it
    );
    INSERT INTO revisions_by_entity (id, entity_ref, dimensions_ref, metric_id, start_ms, end_ms,
                                     value, attrs, renamed, observed_ms, superseded_ms)
        SELECT r.id, k.entity_ref, k.dimensions_ref, r.metric_id, r.start_ms, r.end_ms, r.value,
               r.attrs, IFNULL(r.renamed, k.renamed), r.observed_ms, r.superseded_ms
        FROM point_revisions r JOIN temp.subject_key k ON k.subject_id = r.subject_id
        ORDER BY r.id;

    DROP TABLE temp.subject_key;
    DROP TABLE samples;
    DROP TABLE point_revisions;
    DROP TABLE subjects;
    ALTER TABLE samples_by_entity RENAME TO samples;
    ALTER TABLE revisions_by_entity RENAME TO point_revisions;
    CREATE INDEX point_revisions_by_sample
        ON point_revisions (entity_ref, dimensions_ref, metric_id, start_ms, end_ms);
    "#,
        entity_views!()
    ),
    // 10 -> 11: an entity names its source and kind by a `source_kinds` row.
    // Each entity carried its source id and kind as text in its row and
    // again in the entity index, ahead of its id, so every comparison of an
    // index search read both strings before the id: a first pull of 10,000
    // posts spent 13,000 instructions on each new entity, and the entities
    // and their index were more than half of its file. Entities keep their
    // ids, so samples and revisions are untouched.
    concat!(
        r#"
    DROP VIEW points;
    DROP VIEW revisions;
    CREATE TABLE source_kinds (
        id          INTEGER PRIMARY KEY,
        source      TEXT    NOT NULL,
        entity_kind TEXT    NOT NULL,
        UNIQUE (source, entity_kind)
    );
    INSERT INTO source_kinds (source, entity_kind)
        SELECT DISTINCT source, entity_kind FROM entities ORDER BY source, entity_kind;
    CREATE TABLE entities_by_kind (
        id          INTEGER PRIMARY KEY,
        source_kind INTEGER NOT NULL,           -- source_kinds (id)
        entity_id   TEXT    NOT NULL,
        entity_name TEXT,                       -- as first written
        -- Finds an entity by its key, and a source's accounts without
        -- walking its posts (through their source_kinds rows).
        UNIQUE (source_kind, entity_id)
    );
    INSERT INTO entities_by_kind (id, source_kind, entity_id, entity_name)
        SELECT e.id, k.id, e.entity_id, e.entity_name FROM entities e
        JOIN source_kinds k ON k.source = e.source AND k.entity_kind = e.entity_kind
        ORDER BY e.id;
    DROP TABLE entities;
    ALTER TABLE entities_by_kind RENAME TO entities;
    "#,
        source_kind_views!()
    ),
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
    if found == 0 && create_new(conn, path)? {
        return Ok(());
    }
    series_key::register(conn).map_err(open_err)?;
    let mut migrated = false;
    for (index, sql) in MIGRATIONS.iter().enumerate().skip(found.max(0) as usize) {
        let version = index as i64 + 1;
        migrated |= apply(conn, path, version, sql, |tx| {
            let now: i64 = tx.pragma_query_value(None, "user_version", |row| row.get(0))?;
            Ok(now < version)
        })?;
    }
    if migrated {
        reclaim_replaced_tables(conn, path)?;
    }
    Ok(())
}

/// The schema a new file gets: what running every migration on an empty
/// file builds, as SQLite keeps it (`sqlite_schema`). A test keeps the two
/// equal and rewrites this file when run with `TALLY_WRITE_SCHEMA=1`.
const SCHEMA: &str = include_str!("schema.sql");

/// Creates the current schema in one step in a new file (one without
/// tables) and returns `true`; `false`, creating nothing, for any other
/// file. Running the migrations that built it, tables created and rebuilt
/// and renamed, cost a first pull 26 M instructions.
fn create_new(conn: &mut Connection, path: &str) -> Result<bool, StoreError> {
    apply(conn, path, latest_version(), SCHEMA, |tx| {
        let objects: i64 =
            tx.query_row("SELECT COUNT(*) FROM sqlite_schema", [], |row| row.get(0))?;
        Ok(objects == 0)
    })
}

/// Runs `sql` and sets the schema version to `version` in one write
/// transaction if `due` says so, asked once the write lock is held (another
/// process may have done it while we waited); returns whether it ran.
fn apply(
    conn: &mut Connection,
    path: &str,
    version: i64,
    sql: &str,
    due: impl FnOnce(&rusqlite::Transaction<'_>) -> rusqlite::Result<bool>,
) -> Result<bool, StoreError> {
    let fail = |source| StoreError::Migration {
        path: path.to_string(),
        version,
        source,
    };
    let tx = conn
        .transaction_with_behavior(TransactionBehavior::Immediate)
        .map_err(fail)?;
    if !due(&tx).map_err(fail)? {
        return Ok(false);
    }
    tx.execute_batch(sql).map_err(fail)?;
    tx.pragma_update(None, "user_version", version)
        .map_err(fail)?;
    tx.commit().map_err(fail)?;
    Ok(true)
}

/// Gives the file's free pages back when a migration left many: a step that
/// rebuilds a table keeps the old table's pages in the file as free pages,
/// which doubled a 10-million-point store (900 MB for 400 MB of data).
/// `VACUUM` cannot run inside a migration's transaction, so it runs once
/// after them, and only when a quarter of the file is free.
fn reclaim_replaced_tables(conn: &Connection, path: &str) -> Result<(), StoreError> {
    let err = sql_err(
        path,
        "reclaiming the space of the tables a migration replaced",
    );
    let pages: i64 = conn
        .pragma_query_value(None, "page_count", |row| row.get(0))
        .map_err(&err)?;
    let free: i64 = conn
        .pragma_query_value(None, "freelist_count", |row| row.get(0))
        .map_err(&err)?;
    if free * 4 > pages {
        conn.execute_batch("VACUUM").map_err(&err)?;
    }
    Ok(())
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    /// Every table, index and view of `conn` as `SCHEMA` holds them: their
    /// `CREATE` statements in the order they were made.
    fn schema_of(conn: &Connection) -> String {
        let mut statement = conn
            .prepare("SELECT sql FROM sqlite_schema WHERE sql IS NOT NULL ORDER BY rowid")
            .unwrap();
        let rows = statement
            .query_map([], |row| row.get::<_, String>(0))
            .unwrap();
        rows.map(|sql| format!("{};\n", sql.unwrap())).collect()
    }

    #[test]
    fn a_new_file_gets_the_schema_the_migrations_build() {
        let mut migrated = Connection::open_in_memory().unwrap();
        series_key::register(&migrated).unwrap();
        for sql in MIGRATIONS {
            let tx = migrated.transaction().unwrap();
            tx.execute_batch(sql).unwrap();
            tx.commit().unwrap();
        }
        let expected = format!(
            "-- The schema of a new store, written by the test \
             `a_new_file_gets_the_schema_the_migrations_build`\n\
             -- (src/sqlite/migrate.rs) from what the migrations build. Do not edit.\n{}",
            schema_of(&migrated)
        );
        if std::env::var_os("TALLY_WRITE_SCHEMA").is_some() {
            let file = concat!(env!("CARGO_MANIFEST_DIR"), "/src/sqlite/schema.sql");
            std::fs::write(file, &expected).unwrap();
        }
        assert_eq!(
            SCHEMA, expected,
            "src/sqlite/schema.sql is not what the migrations build: \
             run `TALLY_WRITE_SCHEMA=1 cargo test -p tally-store a_new_file_gets` to rewrite it"
        );

        let mut created = Connection::open_in_memory().unwrap();
        assert!(create_new(&mut created, ":memory:").unwrap());
        assert_eq!(schema_of(&created), schema_of(&migrated));
        let version: i64 = created
            .pragma_query_value(None, "user_version", |row| row.get(0))
            .unwrap();
        assert_eq!(version, latest_version());
        // A file with tables is left to the migrations.
        assert!(!create_new(&mut created, ":memory:").unwrap());
    }

    fn pages(conn: &Connection) -> (i64, i64) {
        let get = |pragma: &str| -> i64 {
            conn.pragma_query_value(None, pragma, |row| row.get(0))
                .unwrap()
        };
        (get("freelist_count"), get("page_count"))
    }

    #[test]
    fn a_replaced_table_s_pages_go_back_to_the_file_system() {
        let dir = tempfile::tempdir().unwrap();
        let conn = Connection::open(dir.path().join("tally.db")).unwrap();
        conn.execute_batch(
            "PRAGMA journal_mode = WAL;
             CREATE TABLE kept (id INTEGER PRIMARY KEY, text TEXT);
             CREATE TABLE replaced (id INTEGER PRIMARY KEY, text TEXT);
             WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 2000)
             INSERT INTO kept SELECT i, printf('%.100c', 'k') FROM n;
             INSERT INTO replaced SELECT id, text FROM kept;",
        )
        .unwrap();

        // A few free pages are left alone: rewriting the file is not worth it.
        conn.execute_batch("DELETE FROM replaced WHERE id <= 200")
            .unwrap();
        let (free, total) = pages(&conn);
        assert!(free > 0 && free * 4 < total, "{free} of {total}");
        reclaim_replaced_tables(&conn, "tally.db").unwrap();
        assert_eq!(pages(&conn), (free, total));

        // Half the file free, as after a migration that rebuilt a table.
        conn.execute_batch("DROP TABLE replaced").unwrap();
        let (free, total) = pages(&conn);
        assert!(free * 2 >= total - 2, "{free} of {total}");
        reclaim_replaced_tables(&conn, "tally.db").unwrap();
        let (free_after, total_after) = pages(&conn);
        assert_eq!(free_after, 0);
        assert!(total_after <= total - free, "{total_after} of {total}");
        let kept: i64 = conn
            .query_row("SELECT COUNT(*) FROM kept", [], |row| row.get(0))
            .unwrap();
        assert_eq!(kept, 2000);
    }
}
