//! A PostgreSQL store that grew from empty keeps writing a small batch
//! through the indexes, not by scanning every series and sample stored.

use chrono::{TimeZone, Utc};
use std::time::Duration;
use tally_model::{Entity, EntityKind, Point, PointTime};
use tally_store::Store;

fn follower_points(source: usize, count: usize) -> Vec<Point> {
    (0..count)
        .map(|i| {
            Point::new(
                "mastodon",
                "audience.followers",
                "followers_count",
                Entity::new(EntityKind::Account, format!("a{source}-{i}"), None),
                1.0,
                PointTime::At(Utc.with_ymd_and_hms(2026, 3, 1, 0, 0, 0).unwrap()),
            )
        })
        .collect()
}

/// Sequential scans of `series` and `samples` so far. A backend publishes
/// its statistics at the end of a statement once a second has passed since
/// it last did, so a read of another table a second later publishes them.
fn seq_scans(store: &Store, url: &str) -> i64 {
    std::thread::sleep(Duration::from_millis(1100));
    store.quota_used("flush", Utc::now()).unwrap();
    tally_pgtest::cluster()
        .sql(
            tally_pgtest::db_name(url),
            "SELECT COALESCE(SUM(seq_scan), 0) FROM pg_stat_user_tables
             WHERE relname IN ('series', 'samples')",
        )
        .parse()
        .unwrap()
}

#[test]
fn small_batches_after_the_tables_grew_from_empty_use_the_indexes() {
    let url = tally_pgtest::cluster().database();
    let mut store = Store::connect(&url, None).unwrap();
    let now = Utc::now();
    // A new database: the first pulls write into nearly empty tables...
    for source in 0..10 {
        let points = follower_points(source, 3);
        store
            .write_batch(&format!("s{source}"), &points, now, None)
            .unwrap();
    }
    // ...then the tables grow.
    let many = follower_points(99, 20_000);
    store.write_batch("big", &many, now, None).unwrap();
    let before = seq_scans(&store, &url);
    for source in 100..120 {
        let points = follower_points(source, 3);
        store
            .write_batch(&format!("s{source}"), &points, now, None)
            .unwrap();
    }
    let after = seq_scans(&store, &url);
    assert_eq!(
        after - before,
        0,
        "20 batches of 3 points scanned series or samples whole {} times ({})",
        after - before,
        tally_pgtest::cluster().sql(
            tally_pgtest::db_name(&url),
            "SELECT string_agg(relname || ' ' || seq_scan || ' ' || coalesce(idx_scan, 0) || ' ' || n_live_tup, ', ') FROM pg_stat_user_tables"
        )
    );
}
