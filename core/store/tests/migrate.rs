//! Moving a store written by an earlier schema forward: every point and
//! revision survives, reads return what they returned before, and opening a
//! migrated store again changes nothing.

use chrono::{DateTime, Utc};
use rusqlite::Connection;
use std::path::Path;
use tally_model::{EntityKind, MetricKind, PointTime, Unit};
use tally_store::{PointQuery, Store};

/// Version 2's tables, as the builds that wrote it created them.
const SCHEMA_V2: &str = r#"
    CREATE TABLE points (
        id           INTEGER PRIMARY KEY,
        source       TEXT    NOT NULL,
        entity_kind  TEXT    NOT NULL,
        entity_id    TEXT    NOT NULL,
        metric       TEXT    NOT NULL,
        dimensions   TEXT    NOT NULL,
        start_ms     INTEGER NOT NULL,
        end_ms       INTEGER NOT NULL,
        value        REAL    NOT NULL,
        unit         TEXT    NOT NULL,
        kind         TEXT    NOT NULL,
        platform     TEXT    NOT NULL,
        entity_name  TEXT,
        raw_name     TEXT    NOT NULL,
        observed_ms  INTEGER NOT NULL,
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
        observed_ms   INTEGER NOT NULL,
        superseded_ms INTEGER NOT NULL
    );
    CREATE INDEX point_revisions_by_point ON point_revisions (point_id, observed_ms);
    CREATE TABLE source_state (source TEXT PRIMARY KEY, state TEXT NOT NULL, updated_ms INTEGER NOT NULL);
    CREATE TABLE runs (
        id INTEGER PRIMARY KEY, source TEXT NOT NULL, started_ms INTEGER NOT NULL,
        finished_ms INTEGER, status TEXT, error TEXT,
        points INTEGER NOT NULL DEFAULT 0, inserted INTEGER NOT NULL DEFAULT 0,
        revised INTEGER NOT NULL DEFAULT 0, requests INTEGER NOT NULL DEFAULT 0,
        retries INTEGER NOT NULL DEFAULT 0, throttled INTEGER NOT NULL DEFAULT 0
    );
    CREATE INDEX runs_by_source ON runs (source, id);
    CREATE TABLE quota_usage (
        key TEXT NOT NULL, window_ms INTEGER NOT NULL, units INTEGER NOT NULL,
        PRIMARY KEY (key, window_ms)
    ) WITHOUT ROWID;
    CREATE TABLE imported_sources (
        source TEXT PRIMARY KEY, client TEXT NOT NULL, file TEXT NOT NULL, imported_ms INTEGER NOT NULL
    );
    CREATE INDEX points_totals ON points
        (metric, source, start_ms, end_ms, entity_kind, entity_id, kind, value, unit, platform)
        WHERE dimensions = '{}';
    PRAGMA user_version = 2;
"#;

/// Points and revisions as version 2 stored them: an account renamed between
/// two pulls (so its points differ in entity name), a restated follower count
/// with its revision, daily views with and without a breakdown, and a
/// restated sum whose revision had another raw name.
const DATA_V2: &str = r#"
    INSERT INTO points VALUES
      (1, 'yt', 'account', 'UC1', 'audience.followers', '{}', 1772668800000, 1772668800000,
       120, 'count', 'gauge', 'youtube', 'Corner Bakery', 'subscriberCount', 1772672400000),
      (2, 'yt', 'account', 'UC1', 'audience.followers', '{}', 1772755200000, 1772755200000,
       130, 'count', 'gauge', 'youtube', 'Corner Bakery & Cafe', 'subscriberCount', 1772758800000),
      (3, 'yt', 'video', 'v1', 'reach.views', '{}', 1772668800000, 1772755200000,
       50, 'count', 'sum', 'youtube', NULL, 'views', 1772758800000),
      (4, 'yt', 'video', 'v1', 'reach.views', '{"country":"FR"}', 1772668800000, 1772755200000,
       20, 'count', 'sum', 'youtube', NULL, 'views', 1772758800000),
      (5, 'ig', 'account', 'acct', 'audience.followers', '{}', 1772668800000, 1772668800000,
       7, 'count', 'gauge', 'instagram', NULL, 'followers_count', 1772672400000);
    INSERT INTO point_revisions VALUES
      (1, 1, 100, 'count', 'Corner Bakery', 'subscriberCount', 1772668800000, 1772672400000),
      (2, 3, 40, 'count', NULL, 'estimatedViews', 1772700000000, 1772758800000);
    INSERT INTO source_state VALUES ('yt', '{"cursor":"abc"}', 1772758800000);
"#;

fn t(ms: i64) -> DateTime<Utc> {
    DateTime::from_timestamp_millis(ms).unwrap()
}

fn old_store(path: &Path) {
    let conn = Connection::open(path).unwrap();
    conn.execute_batch(SCHEMA_V2).unwrap();
    conn.execute_batch(DATA_V2).unwrap();
}

/// Every point and revision, as (source, entity, name, metric, dimensions,
/// start, value, raw name, observed) for comparing reads.
fn rows(store: &Store, as_of: Option<DateTime<Utc>>) -> Vec<String> {
    let q = PointQuery {
        as_of,
        ..PointQuery::default()
    };
    store
        .query(&q)
        .unwrap()
        .iter()
        .map(|s| {
            let p = &s.point;
            format!(
                "{} {} {:?} {} {:?} {:?} {} {} {}",
                s.source,
                p.entity.id,
                p.entity.name,
                p.metric,
                p.dimensions,
                p.time,
                p.value,
                p.raw_name,
                s.observed_at.timestamp_millis()
            )
        })
        .collect()
}

#[test]
fn a_version_2_store_keeps_every_point_and_revision() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("tally.db");
    old_store(&path);
    let store = Store::open(&path).unwrap();
    let conn = Connection::open(&path).unwrap();
    let count = |table: &str| -> i64 {
        conn.query_row(&format!("SELECT COUNT(*) FROM {table}"), [], |r| r.get(0))
            .unwrap()
    };
    assert_eq!(
        (
            count("entities"),
            count("dimension_sets"),
            count("samples"),
            count("point_revisions")
        ),
        (3, 2, 5, 2)
    );

    assert_eq!(
        rows(&store, None),
        [
            r#"ig acct None audience.followers {} At(2026-03-05T00:00:00Z) 7 followers_count 1772672400000"#,
            r#"yt UC1 Some("Corner Bakery") audience.followers {} At(2026-03-05T00:00:00Z) 120 subscriberCount 1772672400000"#,
            r#"yt v1 None reach.views {"country": "FR"} Period { start: 2026-03-05T00:00:00Z, end: 2026-03-06T00:00:00Z } 20 views 1772758800000"#,
            r#"yt v1 None reach.views {} Period { start: 2026-03-05T00:00:00Z, end: 2026-03-06T00:00:00Z } 50 views 1772758800000"#,
            r#"yt UC1 Some("Corner Bakery & Cafe") audience.followers {} At(2026-03-06T00:00:00Z) 130 subscriberCount 1772758800000"#,
        ]
    );
    // As known before the follower count and the views were restated: the
    // revisions, with their own names; the points first seen later are absent.
    assert_eq!(
        rows(&store, Some(t(1_772_670_000_000))),
        [
            r#"yt UC1 Some("Corner Bakery") audience.followers {} At(2026-03-05T00:00:00Z) 100 subscriberCount 1772668800000"#
        ]
    );
    assert_eq!(
        rows(&store, Some(t(1_772_710_000_000))),
        [
            r#"ig acct None audience.followers {} At(2026-03-05T00:00:00Z) 7 followers_count 1772672400000"#,
            r#"yt UC1 Some("Corner Bakery") audience.followers {} At(2026-03-05T00:00:00Z) 120 subscriberCount 1772672400000"#,
            r#"yt v1 None reach.views {} Period { start: 2026-03-05T00:00:00Z, end: 2026-03-06T00:00:00Z } 40 estimatedViews 1772700000000"#,
        ]
    );
    let totals = store
        .totals(
            "reach.views",
            &["yt".to_string()],
            None,
            t(1_772_841_600_000),
            Some(t(1_772_710_000_000)),
        )
        .unwrap();
    assert_eq!(totals.len(), 1);
    assert_eq!(
        (totals[0].value, totals[0].kind, &totals[0].unit),
        (40.0, MetricKind::Sum, &Unit::Count)
    );
    let latest = store.latest_per_metric("yt").unwrap();
    let latest: Vec<(f64, PointTime)> = latest
        .iter()
        .map(|s| (s.point.value, s.point.time))
        .collect();
    assert_eq!(latest.len(), 3);
    assert_eq!(latest[0], (130.0, PointTime::At(t(1_772_755_200_000))));
    assert_eq!(store.latest_values("ig").unwrap()[0].value, 7.0);
    assert_eq!(
        store.load_state("yt").unwrap(),
        Some(serde_json::json!({ "cursor": "abc" }))
    );

    // A restatement after the migration keeps the pre-migration value as a
    // revision too, and the point keeps its kind.
    drop(store);
    let mut store = Store::open(&path).unwrap();
    let mut restated = store.latest_per_metric("ig").unwrap()[0].point.clone();
    restated.value = 8.0;
    let stats = store
        .write_batch("ig", &[restated], t(1_772_800_000_000), None)
        .unwrap();
    assert_eq!(stats.revised, 1);
    let before = rows(&store, Some(t(1_772_790_000_000)));
    assert!(
        before.iter().any(
            |r| r.starts_with("ig acct None audience.followers {} At(2026-03-05T00:00:00Z) 7 ")
        ),
        "{before:?}"
    );
    assert_eq!(
        store.query(&PointQuery::default()).unwrap()[0]
            .point
            .entity
            .kind,
        EntityKind::Account
    );
}

#[test]
fn opening_a_migrated_store_again_changes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("tally.db");
    old_store(&path);
    let first = {
        let store = Store::open(&path).unwrap();
        (rows(&store, None), rows(&store, Some(t(1_772_710_000_000))))
    };
    let schema = |path: &Path| -> Vec<String> {
        let conn = Connection::open(path).unwrap();
        let mut stmt = conn
            .prepare("SELECT sql FROM sqlite_master WHERE sql IS NOT NULL ORDER BY name")
            .unwrap();
        let sqls = stmt.query_map([], |r| r.get(0)).unwrap();
        sqls.map(|s| s.unwrap()).collect()
    };
    let version = |path: &Path| -> i64 {
        Connection::open(path)
            .unwrap()
            .query_row("PRAGMA user_version", [], |r| r.get(0))
            .unwrap()
    };
    let (tables, at) = (schema(&path), version(&path));
    assert_eq!(at, Store::schema_version());
    let store = Store::open(&path).unwrap();
    assert_eq!(
        (rows(&store, None), rows(&store, Some(t(1_772_710_000_000)))),
        first
    );
    drop(store);
    assert_eq!(schema(&path), tables);
    assert_eq!(version(&path), at);
}

/// Version 7's time-series tables and views (the rest of its schema is
/// created by the migrations before, which a version 7 file has run).
const SCHEMA_V7_SERIES: &str = r#"
    CREATE TABLE series (
        id INTEGER PRIMARY KEY, source TEXT NOT NULL, metric TEXT NOT NULL,
        dimensions TEXT NOT NULL, entity_kind TEXT NOT NULL, entity_id TEXT NOT NULL,
        kind TEXT NOT NULL, platform TEXT NOT NULL, unit TEXT NOT NULL, entity_name TEXT,
        raw_name TEXT NOT NULL, key_hash INTEGER NOT NULL,
        UNIQUE (source, metric, key_hash, dimensions, entity_kind, entity_id)
    );
    CREATE TABLE point_attrs (
        id INTEGER PRIMARY KEY, kind TEXT NOT NULL, platform TEXT NOT NULL, unit TEXT NOT NULL,
        entity_name TEXT, raw_name TEXT NOT NULL
    );
    CREATE INDEX point_attrs_by_value ON point_attrs (raw_name, unit, kind, platform, entity_name);
    CREATE TABLE samples (
        series_id INTEGER NOT NULL, start_ms INTEGER NOT NULL, end_ms INTEGER NOT NULL,
        value REAL NOT NULL, observed_ms INTEGER NOT NULL, attrs INTEGER,
        PRIMARY KEY (series_id, start_ms, end_ms)
    ) WITHOUT ROWID;
    CREATE TABLE point_revisions (
        id INTEGER PRIMARY KEY, series_id INTEGER NOT NULL, start_ms INTEGER NOT NULL,
        end_ms INTEGER NOT NULL, value REAL NOT NULL, attrs INTEGER,
        observed_ms INTEGER NOT NULL, superseded_ms INTEGER NOT NULL
    );
    CREATE INDEX point_revisions_by_sample ON point_revisions (series_id, start_ms, end_ms);
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
"#;

/// Points and revisions as version 7 stored them: an account renamed between
/// two pulls, its follower count restated, two posts whose titles are their
/// entity names (one restated), revenue whose unit changed from USD to EUR
/// (a revision), and views with a breakdown. `key_hash` is left 0: the
/// migration computes it again.
const DATA_V7: &str = r#"
    INSERT INTO series VALUES
      (1, 'yt', 'audience.followers', '{}', 'account', 'UC1', 'gauge', 'youtube', 'count',
       'Corner Bakery', 'subscriberCount', 0),
      (2, 'yt', 'engagement.likes', '{}', 'video', 'v1', 'gauge', 'youtube', 'count',
       'Sourdough at dawn', 'likeCount', 0),
      (3, 'yt', 'engagement.likes', '{}', 'video', 'v2', 'gauge', 'youtube', 'count',
       'Croissant lamination', 'likeCount', 0),
      (4, 'yt', 'reach.views', '{"country":"FR"}', 'video', 'v1', 'sum', 'youtube', 'count',
       'Sourdough, first cut', 'views', 0),
      (5, 'shop', 'conversions.revenue', '{}', 'account', 'store1', 'sum', 'shopify', 'USD',
       NULL, 'total_sales', 0),
      (6, 'yt', 'reach.views', '{}', 'video', 'v1', 'sum', 'youtube', 'count',
       'Sourdough at dawn', 'views', 0);
    INSERT INTO point_attrs VALUES
      (1, 'gauge', 'youtube', 'count', 'Corner Bakery & Cafe', 'subscriberCount'),
      (2, 'sum', 'shopify', 'EUR', NULL, 'total_sales'),
      (3, 'sum', 'youtube', 'count', 'Sourdough at dawn', 'estimatedViews');
    INSERT INTO samples VALUES
      (1, 1772668800000, 1772668800000, 120, 1772672400000, NULL),
      (1, 1772755200000, 1772755200000, 130, 1772758800000, 1),
      (2, 1772668800000, 1772668800000, 15, 1772672400000, NULL),
      (3, 1772668800000, 1772668800000, 9, 1772672400000, NULL),
      (4, 1772668800000, 1772755200000, 20, 1772758800000, NULL),
      (5, 1772668800000, 1772755200000, 310, 1772758800000, 2),
      (6, 1772668800000, 1772755200000, 50, 1772758800000, NULL);
    INSERT INTO point_revisions VALUES
      (1, 1, 1772668800000, 1772668800000, 100, NULL, 1772668800000, 1772672400000),
      (2, 2, 1772668800000, 1772668800000, 12, NULL, 1772600000000, 1772672400000),
      (3, 5, 1772668800000, 1772755200000, 300, NULL, 1772700000000, 1772758800000),
      (4, 6, 1772668800000, 1772755200000, 40, 3, 1772700000000, 1772758800000);
    INSERT INTO source_state VALUES ('yt', '{"cursor":"abc"}', 1772758800000);
"#;

/// Every row of the `points` and `revisions` views with every column but the
/// layout's ids, in one order: what ad-hoc SQL sees.
fn view_rows(conn: &Connection) -> Vec<String> {
    let mut out = Vec::new();
    let mut points = conn
        .prepare(
            "SELECT source, entity_kind, entity_id, metric, dimensions, start_ms, end_ms, value,
                    unit, kind, platform, entity_name, raw_name, observed_ms FROM points
             ORDER BY source, entity_kind, entity_id, metric, dimensions, start_ms, end_ms",
        )
        .unwrap();
    let rows = points
        .query_map([], |r| {
            Ok(format!(
                "{}|{}|{}|{}|{}|{}|{}|{}|{}|{}|{}|{:?}|{}|{}",
                r.get::<_, String>(0)?,
                r.get::<_, String>(1)?,
                r.get::<_, String>(2)?,
                r.get::<_, String>(3)?,
                r.get::<_, String>(4)?,
                r.get::<_, i64>(5)?,
                r.get::<_, i64>(6)?,
                r.get::<_, f64>(7)?,
                r.get::<_, String>(8)?,
                r.get::<_, String>(9)?,
                r.get::<_, String>(10)?,
                r.get::<_, Option<String>>(11)?,
                r.get::<_, String>(12)?,
                r.get::<_, i64>(13)?
            ))
        })
        .unwrap();
    out.extend(rows.map(|r| r.unwrap()));
    let mut revisions = conn
        .prepare(
            "SELECT start_ms, end_ms, value, unit, entity_name, raw_name, observed_ms,
                    superseded_ms FROM revisions ORDER BY observed_ms, value",
        )
        .unwrap();
    let rows = revisions
        .query_map([], |r| {
            Ok(format!(
                "revision {}|{}|{}|{}|{:?}|{}|{}|{}",
                r.get::<_, i64>(0)?,
                r.get::<_, i64>(1)?,
                r.get::<_, f64>(2)?,
                r.get::<_, String>(3)?,
                r.get::<_, Option<String>>(4)?,
                r.get::<_, String>(5)?,
                r.get::<_, i64>(6)?,
                r.get::<_, i64>(7)?
            ))
        })
        .unwrap();
    out.extend(rows.map(|r| r.unwrap()));
    out
}

#[test]
fn a_version_7_store_keeps_every_point_revision_name_and_unit() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("tally.db");
    // Version 7 as its builds left it: every migration up to 7 (run by
    // migrating a version 2 file) is what a v7 file holds besides the
    // time-series tables, which are replaced by version 7's with its data.
    {
        let conn = Connection::open(&path).unwrap();
        conn.execute_batch(SCHEMA_V2).unwrap();
    }
    let v7 = |conn: &Connection| {
        conn.execute_batch(
            "DROP INDEX points_totals; DROP INDEX points_by_metric_source_time;
             DROP TABLE point_revisions; DROP TABLE points;",
        )
        .unwrap();
        conn.execute_batch(SCHEMA_V7_SERIES).unwrap();
        conn.execute_batch(DATA_V7).unwrap();
        conn.execute_batch(
            "CREATE TABLE store_checks (
                 id INTEGER PRIMARY KEY CHECK (id = 1), checked_ms INTEGER NOT NULL,
                 took_ms INTEGER NOT NULL);
             ALTER TABLE runs ADD COLUMN heartbeat_ms INTEGER;
             CREATE TABLE quota_stated (
                 key TEXT NOT NULL, bucket TEXT NOT NULL, budget TEXT NOT NULL,
                 remaining INTEGER NOT NULL, cost INTEGER NOT NULL, resets_ms INTEGER NOT NULL,
                 PRIMARY KEY (key, bucket)) WITHOUT ROWID;
             PRAGMA user_version = 7;",
        )
        .unwrap();
    };
    let before = {
        let conn = Connection::open(&path).unwrap();
        v7(&conn);
        view_rows(&conn)
    };
    assert_eq!(before.len(), 11, "{before:#?}");

    let mut store = Store::open(&path).unwrap();
    let conn = Connection::open(&path).unwrap();
    assert_eq!(view_rows(&conn), before);
    let count = |table: &str| -> i64 {
        conn.query_row(&format!("SELECT COUNT(*) FROM {table}"), [], |r| r.get(0))
            .unwrap()
    };
    // One entity per (source, entity) and one row per set of dimensions; a
    // name row for the rename and one for the breakdown first written under
    // another title, none for the other titles.
    assert_eq!(
        (
            count("entities"),
            count("dimension_sets"),
            count("samples"),
            count("point_revisions"),
            count("entity_names")
        ),
        (4, 2, 7, 4, 2)
    );

    assert_eq!(
        rows(&store, None),
        [
            r#"shop store1 None conversions.revenue {} Period { start: 2026-03-05T00:00:00Z, end: 2026-03-06T00:00:00Z } 310 total_sales 1772758800000"#,
            r#"yt UC1 Some("Corner Bakery") audience.followers {} At(2026-03-05T00:00:00Z) 120 subscriberCount 1772672400000"#,
            r#"yt v1 Some("Sourdough at dawn") engagement.likes {} At(2026-03-05T00:00:00Z) 15 likeCount 1772672400000"#,
            r#"yt v1 Some("Sourdough, first cut") reach.views {"country": "FR"} Period { start: 2026-03-05T00:00:00Z, end: 2026-03-06T00:00:00Z } 20 views 1772758800000"#,
            r#"yt v1 Some("Sourdough at dawn") reach.views {} Period { start: 2026-03-05T00:00:00Z, end: 2026-03-06T00:00:00Z } 50 views 1772758800000"#,
            r#"yt v2 Some("Croissant lamination") engagement.likes {} At(2026-03-05T00:00:00Z) 9 likeCount 1772672400000"#,
            r#"yt UC1 Some("Corner Bakery & Cafe") audience.followers {} At(2026-03-06T00:00:00Z) 130 subscriberCount 1772758800000"#,
        ]
    );
    assert_eq!(
        rows(&store, Some(t(1_772_710_000_000))),
        [
            r#"shop store1 None conversions.revenue {} Period { start: 2026-03-05T00:00:00Z, end: 2026-03-06T00:00:00Z } 300 total_sales 1772700000000"#,
            r#"yt UC1 Some("Corner Bakery") audience.followers {} At(2026-03-05T00:00:00Z) 120 subscriberCount 1772672400000"#,
            r#"yt v1 Some("Sourdough at dawn") engagement.likes {} At(2026-03-05T00:00:00Z) 15 likeCount 1772672400000"#,
            r#"yt v1 Some("Sourdough at dawn") reach.views {} Period { start: 2026-03-05T00:00:00Z, end: 2026-03-06T00:00:00Z } 40 estimatedViews 1772700000000"#,
            r#"yt v2 Some("Croissant lamination") engagement.likes {} At(2026-03-05T00:00:00Z) 9 likeCount 1772672400000"#,
        ]
    );
    let units = |as_of| -> Vec<(f64, Unit)> {
        store
            .query(&PointQuery {
                metric: Some("conversions.revenue".to_string()),
                as_of,
                ..PointQuery::default()
            })
            .unwrap()
            .into_iter()
            .map(|s| (s.point.value, s.point.unit))
            .collect()
    };
    assert_eq!(units(None), [(310.0, Unit::Currency("EUR".to_string()))]);
    assert_eq!(
        units(Some(t(1_772_710_000_000))),
        [(300.0, Unit::Currency("USD".to_string()))]
    );
    let latest = store.latest_values("shop").unwrap();
    assert_eq!((latest[0].value, latest[0].unit.as_str()), (310.0, "EUR"));

    // Pulling the same points again after the migration finds every key:
    // nothing new, nothing revised.
    let again: Vec<_> = store
        .query(&PointQuery::default())
        .unwrap()
        .into_iter()
        .filter(|s| s.source == "yt")
        .map(|s| s.point)
        .collect();
    let stats = store
        .write_batch("yt", &again, t(1_772_800_000_000), None)
        .unwrap();
    assert_eq!((stats.inserted, stats.revised, stats.unchanged), (0, 0, 6));
    assert_eq!((count("entities"), count("dimension_sets")), (4, 2));
    drop(store);
    assert_eq!(view_rows(&conn), before);

    // Version 11 indexes entities by their source and kind (a `source_kinds`
    // row) and id, and version 10 keys samples by entity, dimensions, metric
    // and time.
    let index_of = |index: &str| -> Vec<String> {
        conn.prepare(&format!(
            "SELECT name FROM pragma_index_info('{index}') ORDER BY seqno"
        ))
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .map(|c| c.unwrap())
        .collect()
    };
    assert_eq!(
        index_of("sqlite_autoindex_source_kinds_1"),
        ["source", "entity_kind"]
    );
    assert_eq!(
        index_of("sqlite_autoindex_entities_1"),
        ["source_kind", "entity_id"]
    );
    // yt's account and its videos, shop's account.
    assert_eq!(count("source_kinds"), 3);

    assert_eq!(
        index_of("sqlite_autoindex_samples_1"),
        [
            "entity_ref",
            "dimensions_ref",
            "metric_id",
            "start_ms",
            "end_ms"
        ]
    );
}
