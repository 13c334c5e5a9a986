//! Every data command against `[storage] url = "postgres://…"`: the same
//! pulls, reads and re-pulls as with the SQLite file, on a real server, and
//! the password in the url never printed.

use super::{mastodon_source, text, write_config};
use serde_json::Value;
use std::net::SocketAddr;
use std::path::Path;
use std::process::{Command, Output};
use tally_sandbox::{Sandbox, SandboxOptions};

const PASSWORD: &str = "pg-cli-s3cr3t";

fn tally(dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_tally"))
        .current_dir(dir)
        .env_remove("TALLY_CONFIG")
        .env_remove("TALLY_LOG")
        .env("TALLY_PG_PASSWORD", PASSWORD)
        .args(args)
        .output()
        .expect("tally runs")
}

fn json(out: &Output) -> Value {
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(
        !text(&out.stdout).contains(PASSWORD) && !text(&out.stderr).contains(PASSWORD),
        "the password was printed"
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn pull_query_and_runs_work_on_postgres_and_a_re_pull_stores_nothing_twice() {
    let sandbox = Sandbox::start(
        SocketAddr::from(([127, 0, 0, 1], 0)),
        SandboxOptions::default(),
    )
    .await
    .unwrap();
    let url = tally_pgtest::cluster().database();
    // The test server trusts local logins; the password only has to be kept out of sight.
    let url = url.replacen("tally@", "tally:${TALLY_PG_PASSWORD}@", 1);
    let dir = tempfile::tempdir().unwrap();
    let mut config = format!("[storage]\nurl = \"{url}\"\n\n");
    config += &mastodon_source(
        "bakery",
        &sandbox.base_url("mastodon"),
        "healthy@sandbox.example",
    );
    write_config(dir.path(), &config);
    let path = dir.path().to_path_buf();
    let (first, points, again, runs) = tokio::task::spawn_blocking(move || {
        let first = json(&tally(&path, &["pull", "--format", "json"]));
        let points = json(&tally(&path, &["query", "--format", "json"]));
        let again = json(&tally(&path, &["pull", "--format", "json"]));
        let runs = tally(&path, &["runs"]);
        (first, points, again, runs)
    })
    .await
    .unwrap();
    let inserted = first[0]["inserted"].as_f64().unwrap();
    assert!(inserted > 3.0, "{first}");
    assert_eq!(
        points.as_array().unwrap().len() as f64,
        inserted,
        "{points}"
    );
    assert_eq!(again[0]["inserted"], 0.0, "{again}");
    assert_eq!(again[0]["status"], "ok", "{again}");
    let runs = text(&runs.stdout);
    assert_eq!(
        runs.lines().filter(|l| l.contains("bakery")).count(),
        2,
        "{runs}"
    );
    assert!(
        !std::fs::exists(dir.path().join("tally.db")).unwrap(),
        "no SQLite file is created beside a url"
    );
}

mod migrate {
    use super::{tally, text};
    use chrono::{DateTime, Duration, TimeZone, Utc};
    use serde_json::json;
    use tally_model::{Entity, EntityKind, Point, PointTime, StatedQuota};
    use tally_store::{PointQuery, RunCounts, RunOutcome, RunStatus, Store};

    fn t(day: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 3, day, 0, 0, 0).unwrap()
    }

    fn views(day: u32, video: &str, value: f64) -> Point {
        Point::new(
            "youtube",
            "reach.views",
            "views",
            Entity::new(EntityKind::Video, video, Some("Launch".into())),
            value,
            PointTime::Period {
                start: t(day),
                end: t(day + 1),
            },
        )
        .with_dimension("country", "FR")
    }

    /// Everything a store holds, as the API reads it back.
    fn everything(store: &Store) -> String {
        let query = |as_of| {
            store
                .query(&PointQuery {
                    as_of,
                    ..Default::default()
                })
                .unwrap()
        };
        let runs: Vec<_> = store
            .recent_runs(None, 100)
            .unwrap()
            .into_iter()
            .map(|r| {
                (
                    r.source,
                    r.started_at,
                    r.finished_at,
                    r.status,
                    r.error,
                    r.counts,
                )
            })
            .collect();
        format!(
            "{:?}\n{:?}\n{:?}\n{:?}\n{:?}\n{:?}\n{:?}\n{:?}",
            query(None),
            query(Some(t(6))),
            query(Some(t(12))),
            store.load_state("yt").unwrap(),
            runs,
            store.quota_used("youtube:key", t(1)).unwrap(),
            store.quota_stated("ga4@host:443/properties/1").unwrap(),
            store.imported_sources().unwrap()
        )
    }

    #[test]
    fn migrate_copies_points_revisions_state_and_runs_and_a_second_run_adds_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("tally.db");
        let mut sqlite = Store::open(&file).unwrap();
        let batch: Vec<Point> = (0..300).map(|i| views(1, &format!("v{i}"), 1.0)).collect();
        sqlite
            .write_batch("yt", &batch, t(2), Some(&json!({"page": 1})))
            .unwrap();
        sqlite
            .write_batch("yt", &[views(1, "v1", 5.0)], t(5), None)
            .unwrap();
        sqlite
            .write_batch(
                "yt",
                &[views(1, "v1", 9.0)],
                t(10),
                Some(&json!({"page": 2})),
            )
            .unwrap();
        let ok = sqlite.start_run("yt", t(2)).unwrap();
        sqlite
            .finish_run(
                ok,
                &RunOutcome {
                    finished_at: t(2) + Duration::minutes(1),
                    status: RunStatus::Ok,
                    error: None,
                    counts: RunCounts {
                        points: 300,
                        inserted: 300,
                        requests: 3,
                        ..Default::default()
                    },
                },
            )
            .unwrap();
        sqlite.start_run("yt", t(3)).unwrap(); // interrupted
        sqlite.quota_add("youtube:key", t(1), 42).unwrap();
        let stated = StatedQuota {
            budget: "properties/1".into(),
            bucket: "tokensPerHour".into(),
            remaining: 3,
            cost: 10,
            resets_at: t(7),
        };
        sqlite
            .quota_state("ga4@host:443/properties/1", &stated)
            .unwrap();
        sqlite
            .write_import(
                "doors.csv",
                &[("doors".into(), views(2, "d", 3.0))],
                &[("doors".into(), "bakery".into())],
                t(4),
            )
            .unwrap();
        drop(sqlite);
        // Read back by a new handle, which sees the unfinished run as interrupted.
        let before = everything(&Store::open(&file).unwrap());

        let url = tally_pgtest::cluster().database();
        let file_arg = file.display().to_string();
        let args = ["migrate", "--from", file_arg.as_str(), "--to", url.as_str()];
        let first = tally(dir.path(), &args);
        assert!(first.status.success(), "{}", text(&first.stderr));
        assert!(
            text(&first.stdout).contains(": 301 points, 2 revisions, 1 source states, 2 runs, 1 quota windows, 1 stated quotas, 1 imported sources"),
            "{}",
            text(&first.stdout)
        );
        let second = tally(dir.path(), &args);
        assert!(
            text(&second.stdout).contains(": 0 points, 0 revisions, 0 source states, 0 runs, 0 quota windows, 0 stated quotas, 0 imported sources"),
            "{}",
            text(&second.stdout)
        );
        let pg = Store::connect(&url, None).unwrap();
        assert_eq!(everything(&pg), before);
    }

    #[test]
    fn migrate_from_a_missing_file_says_what_from_means() {
        let dir = tempfile::tempdir().unwrap();
        let out = tally(
            dir.path(),
            &[
                "migrate",
                "--from",
                "nope.db",
                "--to",
                "postgres://tally:pw-s3cr3t@127.0.0.1:1/x",
            ],
        );
        assert!(!out.status.success());
        assert_eq!(
            text(&out.stderr).trim(),
            "error: nope.db is not a file; --from names the SQLite store to copy ([storage] path of the config)"
        );
    }
}
