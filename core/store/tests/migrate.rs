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
        (count("series"), count("samples"), count("point_revisions")),
        (4, 5, 2)
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
