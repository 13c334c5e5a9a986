//! The store's promises: idempotent writes, kept revisions, atomic batches with
//! state, run records, a persistent quota ledger and safe migrations.

#![allow(clippy::unwrap_used)] // a failed unwrap is a failed test

use chrono::{DateTime, Duration, TimeZone, Utc};
use serde_json::json;
use std::time::Instant;
use tally_model::{Entity, EntityKind, Point, PointTime, Unit};
use tally_store::{
    PointQuery, RunCounts, RunOutcome, RunState, RunStatus, Store, StoreError, WriteStats,
};

use crate::backend::{on_both_backends, Db};

on_both_backends!(
    rewriting_the_same_batch_is_idempotent,
    points_round_trip_with_all_fields,
    a_restated_value_is_revised_and_as_of_returns_the_old_one,
    state_is_saved_with_the_batch_and_survives_reopen,
    a_batch_with_an_invalid_point_writes_neither_points_nor_state,
    a_batch_failing_inside_the_transaction_rolls_back,
    dimension_insertion_order_does_not_change_the_key,
    gauges_and_sums_with_the_same_start_are_different_keys,
    query_filters_and_orders,
    latest_per_metric_gives_the_newest_point_of_each_series,
    runs_are_recorded_and_unfinished_ones_show_as_interrupted,
    quota_usage_persists_across_reopen,
    a_stated_quota_keeps_the_latest_statement_per_bucket_across_reopen,
    a_share_in_percent_round_trips_with_its_unit,
    opening_twice_is_fine_and_a_newer_schema_is_refused,
    ten_thousand_points_in_one_batch,
    a_batch_mixing_new_and_stored_series_keeps_every_value_and_revision,
);

fn t(day: u32, hour: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 3, day, hour, 0, 0).unwrap()
}

fn followers(at: DateTime<Utc>, value: f64) -> Point {
    Point::new(
        "youtube",
        "audience.followers",
        "subscriberCount",
        Entity::new(EntityKind::Account, "UC1", Some("Corner Bakery".into())),
        value,
        PointTime::At(at),
    )
}

fn views(day: u32, video: &str, value: f64) -> Point {
    Point::new(
        "youtube",
        "reach.views",
        "views",
        Entity::new(EntityKind::Video, video, None),
        value,
        PointTime::Period {
            start: t(day, 0),
            end: t(day + 1, 0),
        },
    )
}

fn count(store: &Store) -> usize {
    store.query(&PointQuery::default()).unwrap().len()
}

fn rewriting_the_same_batch_is_idempotent(db: &Db) {
    let mut store = db.open();
    let batch = vec![
        followers(t(1, 0), 10.0),
        views(1, "v1", 5.0),
        views(2, "v1", 7.0),
    ];
    let first = store.write_batch("yt", &batch, t(3, 0), None).unwrap();
    assert_eq!(
        first,
        WriteStats {
            inserted: 3,
            revised: 0,
            unchanged: 0
        }
    );
    let second = store.write_batch("yt", &batch, t(3, 1), None).unwrap();
    assert_eq!(
        second,
        WriteStats {
            inserted: 0,
            revised: 0,
            unchanged: 3
        }
    );
    assert_eq!(count(&store), 3);
    // The unchanged rewrite does not move the first observation time.
    let all = store.query(&PointQuery::default()).unwrap();
    assert!(all.iter().all(|p| p.observed_at == t(3, 0)));
}

fn points_round_trip_with_all_fields(db: &Db) {
    let mut store = db.open();
    let p = views(1, "v1", 5.0)
        .with_dimension("country", "US")
        .with_dimension("age", "18-24");
    let spend = Point::new(
        "ads",
        "cost.spend",
        "spend",
        Entity::new(EntityKind::Campaign, "c1", None),
        12.5,
        PointTime::Period {
            start: t(1, 0),
            end: t(2, 0),
        },
    )
    .with_unit(Unit::Currency("EUR".into()));
    store
        .write_batch("yt", &[p.clone(), spend.clone()], t(3, 0), None)
        .unwrap();
    let got = store.query(&PointQuery::default()).unwrap();
    let points: Vec<&Point> = got.iter().map(|s| &s.point).collect();
    assert!(points.contains(&&p) && points.contains(&&spend), "{got:?}");
    assert!(got.iter().all(|s| s.source == "yt"));
}

fn a_restated_value_is_revised_and_as_of_returns_the_old_one(db: &Db) {
    let mut store = db.open();
    store
        .write_batch("yt", &[views(1, "v1", 5.0)], t(2, 0), None)
        .unwrap();
    let stats = store
        .write_batch("yt", &[views(1, "v1", 8.0)], t(5, 0), None)
        .unwrap();
    assert_eq!(
        stats,
        WriteStats {
            inserted: 0,
            revised: 1,
            unchanged: 0
        }
    );
    store
        .write_batch("yt", &[views(1, "v1", 9.0)], t(9, 0), None)
        .unwrap();
    assert_eq!(count(&store), 1);

    let value_as_of = |as_of: Option<DateTime<Utc>>| -> Vec<(f64, DateTime<Utc>)> {
        store
            .query(&PointQuery {
                as_of,
                ..Default::default()
            })
            .unwrap()
            .into_iter()
            .map(|s| (s.point.value, s.observed_at))
            .collect()
    };
    assert_eq!(value_as_of(None), vec![(9.0, t(9, 0))]);
    assert_eq!(value_as_of(Some(t(1, 0))), vec![], "not yet observed");
    assert_eq!(value_as_of(Some(t(2, 0))), vec![(5.0, t(2, 0))]);
    assert_eq!(value_as_of(Some(t(4, 0))), vec![(5.0, t(2, 0))]);
    assert_eq!(value_as_of(Some(t(5, 0))), vec![(8.0, t(5, 0))]);
    assert_eq!(value_as_of(Some(t(8, 23))), vec![(8.0, t(5, 0))]);
    assert_eq!(value_as_of(Some(t(10, 0))), vec![(9.0, t(9, 0))]);
}

fn state_is_saved_with_the_batch_and_survives_reopen(db: &Db) {
    {
        let mut store = db.open();
        assert_eq!(store.load_state("yt").unwrap(), None);
        store
            .write_batch(
                "yt",
                &[followers(t(1, 0), 1.0)],
                t(1, 0),
                Some(&json!({"cursor": "abc"})),
            )
            .unwrap();
        store
            .write_batch("yt", &[], t(2, 0), Some(&json!({"cursor": "def"})))
            .unwrap();
    }
    let store = db.open();
    assert_eq!(
        store.load_state("yt").unwrap(),
        Some(json!({"cursor": "def"}))
    );
    assert_eq!(store.load_state("other").unwrap(), None);
    assert_eq!(count(&store), 1);
}

fn a_batch_with_an_invalid_point_writes_neither_points_nor_state(db: &Db) {
    let mut store = db.open();
    store
        .write_batch("yt", &[followers(t(1, 0), 1.0)], t(1, 0), Some(&json!(1)))
        .unwrap();
    let batch = vec![
        followers(t(2, 0), 2.0),
        views(2, "v1", 3.0),
        followers(t(3, 0), f64::NAN),
    ];
    let err = store
        .write_batch("yt", &batch, t(3, 0), Some(&json!(2)))
        .unwrap_err();
    assert!(
        matches!(err, StoreError::InvalidPoint { index: 2, .. }),
        "{err}"
    );
    let msg = err.to_string();
    assert!(
        msg.contains(&db.label()) && msg.contains("`yt`") && msg.contains("nothing of this batch"),
        "{msg}"
    );
    assert_eq!(count(&store), 1);
    assert_eq!(store.load_state("yt").unwrap(), Some(json!(1)));
}

fn a_batch_failing_inside_the_transaction_rolls_back(db: &Db) {
    // Make the revision insert fail mid-batch: the first point is new, the
    // second restates a stored value and hits the trigger.
    let mut store = db.open();
    store
        .write_batch("yt", &[views(1, "v1", 1.0)], t(2, 0), Some(&json!("s1")))
        .unwrap();
    db.fail_revisions();
    let err = store
        .write_batch(
            "yt",
            &[views(5, "v2", 1.0), views(1, "v1", 2.0)],
            t(6, 0),
            Some(&json!("s2")),
        )
        .unwrap_err();
    let msg = err.to_string();
    assert!(
        msg.contains(&db.label()) && msg.contains("simulated disk failure"),
        "{msg}"
    );
    let all = store.query(&PointQuery::default()).unwrap();
    assert_eq!(all.len(), 1);
    assert_eq!(all[0].point.value, 1.0);
    assert_eq!(store.load_state("yt").unwrap(), Some(json!("s1")));
}

fn dimension_insertion_order_does_not_change_the_key(db: &Db) {
    let mut store = db.open();
    let a = views(1, "v1", 5.0)
        .with_dimension("country", "US")
        .with_dimension("age", "18-24");
    let b = views(1, "v1", 5.0)
        .with_dimension("age", "18-24")
        .with_dimension("country", "US");
    let c = views(1, "v1", 5.0)
        .with_dimension("country", "FR")
        .with_dimension("age", "18-24");
    store.write_batch("yt", &[a], t(2, 0), None).unwrap();
    let stats = store.write_batch("yt", &[b, c], t(2, 0), None).unwrap();
    assert_eq!(
        stats,
        WriteStats {
            inserted: 1,
            revised: 0,
            unchanged: 1
        }
    );
}

fn gauges_and_sums_with_the_same_start_are_different_keys(db: &Db) {
    let mut store = db.open();
    let gauge = Point::new(
        "m",
        "content.posts",
        "statuses_count",
        Entity::new(EntityKind::Account, "a", None),
        3.0,
        PointTime::At(t(1, 0)),
    );
    let sum = Point::new(
        "m",
        "content.posts",
        "posts",
        Entity::new(EntityKind::Account, "a", None),
        1.0,
        PointTime::Period {
            start: t(1, 0),
            end: t(2, 0),
        },
    );
    let stats = store
        .write_batch("m", &[gauge, sum], t(2, 0), None)
        .unwrap();
    assert_eq!(stats.inserted, 2);
}

fn query_filters_and_orders(db: &Db) {
    let mut store = db.open();
    store
        .write_batch(
            "yt",
            &[
                followers(t(1, 0), 10.0),
                followers(t(2, 0), 11.0),
                views(1, "v1", 5.0),
                views(3, "v2", 2.0),
            ],
            t(4, 0),
            None,
        )
        .unwrap();
    store
        .write_batch("yt2", &[followers(t(1, 0), 100.0)], t(4, 0), None)
        .unwrap();

    let q = |q: PointQuery| -> Vec<(String, String, f64)> {
        store
            .query(&q)
            .unwrap()
            .into_iter()
            .map(|s| (s.source, s.point.metric.to_string(), s.point.value))
            .collect()
    };
    let f = |s: &str, m: &str, v: f64| (s.to_string(), m.to_string(), v);

    // Ordered by time, then source.
    assert_eq!(
        q(PointQuery::default()),
        vec![
            f("yt", "audience.followers", 10.0),
            f("yt", "reach.views", 5.0),
            f("yt2", "audience.followers", 100.0),
            f("yt", "audience.followers", 11.0),
            f("yt", "reach.views", 2.0),
        ]
    );
    assert_eq!(
        q(PointQuery {
            metric: Some("audience.followers".into()),
            sources: vec!["yt".into()],
            ..Default::default()
        }),
        vec![
            f("yt", "audience.followers", 10.0),
            f("yt", "audience.followers", 11.0)
        ]
    );
    assert_eq!(
        q(PointQuery {
            sources: vec!["yt2".into(), "nope".into()],
            ..Default::default()
        }),
        vec![f("yt2", "audience.followers", 100.0)]
    );
    // from inclusive, to exclusive, applied to `at` and `start`.
    assert_eq!(
        q(PointQuery {
            from: Some(t(1, 0)),
            to: Some(t(2, 0)),
            sources: vec!["yt".into()],
            ..Default::default()
        }),
        vec![
            f("yt", "audience.followers", 10.0),
            f("yt", "reach.views", 5.0)
        ]
    );
    assert_eq!(
        q(PointQuery {
            entity_id: Some("v2".into()),
            ..Default::default()
        }),
        vec![f("yt", "reach.views", 2.0)]
    );
    assert_eq!(
        q(PointQuery {
            entity_kind: Some(EntityKind::Video),
            ..Default::default()
        }),
        vec![f("yt", "reach.views", 5.0), f("yt", "reach.views", 2.0)]
    );
    assert_eq!(
        q(PointQuery {
            limit: Some(2),
            ..Default::default()
        })
        .len(),
        2
    );
}

fn latest_per_metric_gives_the_newest_point_of_each_series(db: &Db) {
    let mut store = db.open();
    store
        .write_batch(
            "yt",
            &[
                followers(t(1, 0), 10.0),
                followers(t(2, 0), 11.0),
                views(1, "v1", 5.0),
                views(2, "v1", 6.0),
                views(1, "v2", 1.0),
            ],
            t(4, 0),
            None,
        )
        .unwrap();
    store
        .write_batch("other", &[followers(t(9, 0), 99.0)], t(9, 0), None)
        .unwrap();
    let latest: Vec<(String, String, f64)> = store
        .latest_per_metric("yt")
        .unwrap()
        .into_iter()
        .map(|s| {
            (
                s.point.metric.to_string(),
                s.point.entity.id.to_string(),
                s.point.value,
            )
        })
        .collect();
    assert_eq!(
        latest,
        vec![
            ("audience.followers".into(), "UC1".into(), 11.0),
            ("reach.views".into(), "v1".into(), 6.0),
            ("reach.views".into(), "v2".into(), 1.0),
        ]
    );
}

fn outcome(status: RunStatus) -> RunOutcome {
    RunOutcome {
        finished_at: t(1, 1),
        status,
        error: (status == RunStatus::Failed).then(|| "HTTP 500".to_string()),
        counts: RunCounts {
            points: 10,
            inserted: 7,
            revised: 1,
            requests: 3,
            retries: 1,
            throttled: 1,
        },
    }
}

fn runs_are_recorded_and_unfinished_ones_show_as_interrupted(db: &Db) {
    let (ok, crashed) = {
        let mut store = db.open();
        let ok = store.start_run("yt", t(1, 0)).unwrap();
        store.finish_run(ok, &outcome(RunStatus::Ok)).unwrap();
        let failed = store.start_run("mastodon", t(1, 2)).unwrap();
        store
            .finish_run(failed, &outcome(RunStatus::Failed))
            .unwrap();
        let crashed = store.start_run("yt", t(1, 3)).unwrap();
        let runs = store.recent_runs(None, 10).unwrap();
        assert_eq!(runs[0].id, crashed);
        assert_eq!(runs[0].status, RunState::Running);
        assert!(matches!(
            store.finish_run(9999, &outcome(RunStatus::Ok)),
            Err(StoreError::UnknownRun { id: 9999, .. })
        ));
        (ok, crashed)
    };
    // The process "crashed" without finishing; a new handle sees it as interrupted.
    let store = db.open();
    let runs = store.recent_runs(None, 10).unwrap();
    let statuses: Vec<&str> = runs.iter().map(|r| r.status.as_str()).collect();
    assert_eq!(statuses, vec!["interrupted", "failed", "ok"]);
    assert_eq!(runs[0].id, crashed);
    assert_eq!(runs[0].finished_at, None);
    assert_eq!(runs[1].error.as_deref(), Some("HTTP 500"));
    let yt = store.recent_runs(Some("yt"), 10).unwrap();
    assert_eq!(yt.len(), 2);
    let first = &yt[1];
    assert_eq!(first.id, ok);
    assert_eq!(
        (
            first.started_at,
            first.finished_at,
            first.counts.points,
            first.counts.inserted,
            first.counts.revised
        ),
        (t(1, 0), Some(t(1, 1)), 10, 7, 1)
    );
    assert_eq!(
        (
            first.counts.requests,
            first.counts.retries,
            first.counts.throttled
        ),
        (3, 1, 1)
    );
    assert_eq!(store.recent_runs(None, 1).unwrap().len(), 1);
}

fn a_share_in_percent_round_trips_with_its_unit(db: &Db) {
    let share = |gender: &str, value| {
        Point::new(
            "youtube",
            "audience.viewer_share",
            "viewerPercentage",
            Entity::new(EntityKind::Account, "UC1", None),
            value,
            PointTime::At(t(1, 12)),
        )
        .with_dimension("age_group", "25-34")
        .with_dimension("gender", gender)
    };
    let points = vec![share("female", 38.5), share("male", 61.5)];
    {
        let mut store = db.open();
        store.write_batch("yta", &points, t(1, 12), None).unwrap();
    }
    let store = db.open();
    let back = store
        .query(&PointQuery {
            metric: Some("audience.viewer_share".into()),
            ..PointQuery::default()
        })
        .unwrap();
    let read: Vec<(String, f64, Unit)> = back
        .iter()
        .map(|p| {
            (
                p.point.dimensions["gender"].clone(),
                p.point.value,
                p.point.unit.clone(),
            )
        })
        .collect();
    assert_eq!(
        read,
        vec![
            ("female".to_string(), 38.5, Unit::Percent),
            ("male".to_string(), 61.5, Unit::Percent)
        ]
    );
}

fn a_stated_quota_keeps_the_latest_statement_per_bucket_across_reopen(db: &Db) {
    let key = "ga4@analyticsdata.googleapis.com:443/properties/77";
    let stated = |bucket: &str, remaining, resets_at| tally_model::StatedQuota {
        budget: "properties/77".into(),
        bucket: bucket.into(),
        remaining,
        cost: 12,
        resets_at,
    };
    {
        let mut store = db.open();
        assert!(store.quota_stated(key).unwrap().is_empty());
        store
            .quota_state(key, &stated("tokensPerHour", 40, t(1, 13)))
            .unwrap();
        store
            .quota_state(key, &stated("tokensPerHour", 7, t(1, 13)))
            .unwrap();
        store
            .quota_state(key, &stated("tokensPerDay", 900, t(2, 8)))
            .unwrap();
        store
            .quota_state(
                "ga4@other:443/properties/77",
                &stated("tokensPerHour", 1, t(1, 13)),
            )
            .unwrap();
    }
    let store = db.open();
    assert_eq!(
        store.quota_stated(key).unwrap(),
        vec![
            stated("tokensPerDay", 900, t(2, 8)),
            stated("tokensPerHour", 7, t(1, 13))
        ],
        "the latest statement of each bucket, by name"
    );
}

fn quota_usage_persists_across_reopen(db: &Db) {
    let day = t(1, 0);
    {
        let mut store = db.open();
        assert_eq!(store.quota_used("youtube:key1", day).unwrap(), 0);
        assert_eq!(store.quota_add("youtube:key1", day, 100).unwrap(), 100);
        assert_eq!(store.quota_add("youtube:key1", day, 1).unwrap(), 101);
        assert_eq!(store.quota_add("youtube:key2", day, 5).unwrap(), 5);
    }
    let mut store = db.open();
    assert_eq!(store.quota_used("youtube:key1", day).unwrap(), 101);
    assert_eq!(store.quota_used("youtube:key1", t(2, 0)).unwrap(), 0);
    // Far-later windows prune long-past ones of the same key only.
    store
        .quota_add("youtube:key1", day + Duration::days(100), 1)
        .unwrap();
    assert_eq!(store.quota_used("youtube:key1", day).unwrap(), 0);
    assert_eq!(store.quota_used("youtube:key2", day).unwrap(), 5);
}

fn opening_twice_is_fine_and_a_newer_schema_is_refused(db: &Db) {
    let mut a = db.open();
    a.write_batch("yt", &[followers(t(1, 0), 1.0)], t(1, 0), None)
        .unwrap();
    let b = db.open();
    assert_eq!(count(&b), 1);
    drop((a, b));
    let again = db.open();
    assert_eq!(count(&again), 1);
    drop(again);

    let newer = db.schema_version() + 3;
    db.set_schema_version(newer);
    let err = match db {
        Db::Sqlite { path, .. } => Store::open(path).unwrap_err(),
        Db::Postgres(url) => Store::connect(url, None).unwrap_err(),
    };
    let msg = err.to_string();
    assert!(matches!(err, StoreError::TooNew { .. }));
    assert!(
        msg.contains(&db.label())
            && msg.contains(&format!(
                "schema {newer}, this build knows {}",
                db.schema_version()
            ))
            && msg.contains("upgrade Tally"),
        "{msg}"
    );
}

#[test]
fn an_unopenable_path_names_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("missing-dir").join("tally.db");
    let msg = Store::open(&path).unwrap_err().to_string();
    assert!(
        msg.contains("missing-dir") && msg.contains("[storage] path"),
        "{msg}"
    );
}

fn a_batch_mixing_new_and_stored_series_keeps_every_value_and_revision(db: &Db) {
    let mut store = db.open();
    let stored: Vec<Point> = (50..60)
        .map(|i| views(1, &format!("v{i:03}"), 1.0))
        .collect();
    store.write_batch("yt", &stored, t(2, 0), None).unwrap();
    // 200 videos, ten of them stored with another value, scattered among
    // new ones in the series index; one key twice, the last value winning.
    let value = |i: u32| {
        if (50..60).contains(&i) {
            2.0
        } else {
            f64::from(i)
        }
    };
    let mut batch: Vec<Point> = (0..200)
        .map(|i| views(1, &format!("v{i:03}"), value(i)))
        .collect();
    batch.push(views(1, "v120", 999.0));
    let stats = store.write_batch("yt", &batch, t(3, 0), None).unwrap();
    assert_eq!(
        stats,
        WriteStats {
            inserted: 190,
            revised: 11,
            unchanged: 0
        }
    );
    let now = store.query(&PointQuery::default()).unwrap();
    assert_eq!(now.len(), 200);
    for p in &now {
        let i: u32 = p.point.entity.id[1..].parse().unwrap();
        let expected = if i == 120 { 999.0 } else { value(i) };
        assert_eq!(p.point.value, expected, "{}", p.point.entity.id);
    }
    let before = store
        .query(&PointQuery {
            as_of: Some(t(2, 12)),
            ..PointQuery::default()
        })
        .unwrap();
    assert_eq!(before.len(), 10);
    assert!(before.iter().all(|p| p.point.value == 1.0));
    let again = store.write_batch("yt", &batch, t(4, 0), None).unwrap();
    assert_eq!(again.inserted, 0);
    assert_eq!(count(&store), 200);
}

fn ten_thousand_points_in_one_batch(db: &Db) {
    let mut store = db.open();
    let points: Vec<Point> = (0..10_000)
        .map(|i| views(1, &format!("v{i}"), f64::from(i)).with_dimension("country", "US"))
        .collect();
    let start = Instant::now();
    let stats = store
        .write_batch("yt", &points, t(2, 0), Some(&json!({"page": 10})))
        .unwrap();
    let first = start.elapsed();
    assert_eq!(stats.inserted, 10_000);
    let stats = store.write_batch("yt", &points, t(3, 0), None).unwrap();
    assert_eq!(stats.unchanged, 10_000);
    // Timing is printed, not asserted (DESIGN: no timed tests); run with --nocapture to see it.
    eprintln!(
        "10k points: first write {first:?}, total {:?}",
        start.elapsed()
    );
}

#[test]
fn an_unreachable_server_names_the_database_but_never_the_password() {
    // A port nothing listens on: bound, read, released.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let url = format!("postgres://agency:s3cr3t-pw@127.0.0.1:{port}/tally?connect_timeout=5");
    let msg = Store::connect(&url, None).unwrap_err().to_string();
    assert!(
        msg.contains(&format!(
            "cannot connect to PostgreSQL postgres://agency@127.0.0.1:{port}/tally"
        )) && msg.contains("check [storage] url"),
        "{msg}"
    );
    assert!(!msg.contains("s3cr3t-pw"), "{msg}");
    let msg = Store::connect(
        &format!("postgres://agency@127.0.0.1:{port}/tally"),
        Some("s3cr3t-pw"),
    )
    .unwrap_err()
    .to_string();
    assert!(!msg.contains("s3cr3t-pw"), "{msg}");
}

#[test]
fn an_unreadable_url_is_refused_without_echoing_it() {
    let msg = Store::connect("postgres://agency:s3cr3t-pw@127.0.0.1:notaport/tally", None)
        .unwrap_err()
        .to_string();
    assert!(
        msg.starts_with("cannot connect to PostgreSQL [storage] url: the url cannot be read"),
        "{msg}"
    );
    assert!(!msg.contains("s3cr3t-pw"), "{msg}");
}

#[test]
fn two_handles_on_one_server_share_points_and_the_quota_ledger() {
    // Two workers are two connections: what one commits, the other reads,
    // and budget units both add are all counted.
    let db = Db::postgres();
    let mut a = db.open();
    let b = db.open();
    a.write_batch("yt", &[followers(t(1, 0), 1.0)], t(1, 0), Some(&json!(1)))
        .unwrap();
    assert_eq!(count(&b), 1);
    assert_eq!(b.load_state("yt").unwrap(), Some(json!(1)));
    let day = t(1, 0);
    let threads: Vec<_> = [a, b]
        .into_iter()
        .map(|mut s| {
            std::thread::spawn(move || {
                for _ in 0..50 {
                    s.quota_add("youtube:key1", day, 2).unwrap();
                }
                s
            })
        })
        .collect();
    let stores: Vec<Store> = threads.into_iter().map(|h| h.join().unwrap()).collect();
    assert_eq!(stores[0].quota_used("youtube:key1", day).unwrap(), 200);
}

#[test]
fn one_worker_gets_each_planned_pull_and_a_stopped_workers_pulls_are_taken_over() {
    use tally_store::PullClaim;
    let db = Db::postgres();
    let (mut a, mut b) = (db.open(), db.open());
    let ttl = Duration::seconds(30);
    let now = t(1, 0);
    a.join_workers("a", "host-a", now).unwrap();
    b.join_workers("b", "host-b", now).unwrap();
    let claim = |worker, source, slot_at, key| PullClaim {
        worker,
        source,
        slot_at,
        lease_key: key,
        lease_label: "youtube@api#",
    };
    // Same slot: one worker only. Same credential: its sources stay with the holder.
    assert!(a
        .claim_pull(&claim("a", "yt1", now, "k1"), now, ttl)
        .unwrap());
    assert!(!b
        .claim_pull(&claim("b", "yt1", now, "k1"), now, ttl)
        .unwrap());
    assert!(!b
        .claim_pull(&claim("b", "yt2", now, "k1"), now, ttl)
        .unwrap());
    assert!(b
        .claim_pull(&claim("b", "yt3", now, "k2"), now, ttl)
        .unwrap());
    // A finished slot is not run again, even by its own worker.
    a.finish_pull("a", "yt1", now, now).unwrap();
    assert!(!a
        .claim_pull(&claim("a", "yt1", now, "k1"), now, ttl)
        .unwrap());
    // `a` claims the next slot, then stops beating; `b` goes on.
    let next = now + Duration::hours(1);
    assert!(a
        .claim_pull(&claim("a", "yt1", next, "k1"), next, ttl)
        .unwrap());
    let later = next + Duration::seconds(40);
    b.worker_heartbeat("b", later, ttl).unwrap();
    let workers = b.live_workers(later, ttl).unwrap();
    assert_eq!(workers.len(), 1, "{workers:?}");
    assert_eq!(
        (
            workers[0].id.as_str(),
            workers[0].leases.clone(),
            workers[0].pulling.clone()
        ),
        (
            "b",
            vec!["youtube@api#".to_string()],
            vec!["yt3".to_string()]
        )
    );
    assert_eq!(
        b.orphaned_pulls(later, ttl).unwrap(),
        vec![("yt1".to_string(), next)]
    );
    assert!(b
        .claim_pull(&claim("b", "yt1", next, "k1"), later, ttl)
        .unwrap());
    assert!(b.orphaned_pulls(later, ttl).unwrap().is_empty());
    // Runs name their worker.
    let run = b.start_run("yt1", later).unwrap();
    let runs = a.recent_runs(Some("yt1"), 1).unwrap();
    assert_eq!((runs[0].id, runs[0].worker.as_deref()), (run, Some("b")));
    b.leave_workers("b").unwrap();
    assert!(a.live_workers(later, ttl).unwrap().is_empty());
}
