//! Three `tally run` workers on one PostgreSQL store and the sandbox, as
//! separate processes on loopback: every planned pull runs once, sources
//! sharing a credential see no 429, a worker killed with SIGKILL mid-pull has
//! its sources finished by the others, the store holds each natural key
//! once, and last month's report is written once.

use crate::daemon::Daemon;
use std::net::SocketAddr;
use std::path::Path;
use std::process::{Command, Output};
use std::time::{Duration, Instant};
use tally_sandbox::{FaultOptions, Sandbox, SandboxOptions};

const PATIENCE: Duration = Duration::from_secs(90);

fn tally(dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_tally"))
        .current_dir(dir)
        .env_remove("TALLY_CONFIG")
        .env_remove("TALLY_LOG")
        .args(args)
        .output()
        .expect("tally runs")
}

/// One value from the database.
fn sql(db: &str, query: &str) -> String {
    tally_pgtest::cluster().sql(db, query)
}

fn count(db: &str, query: &str) -> i64 {
    sql(db, query).parse().unwrap()
}

fn wait_for(what: &str, workers: &[&Daemon], mut done: impl FnMut() -> bool) {
    let started = Instant::now();
    while !done() {
        assert!(
            started.elapsed() < PATIENCE,
            "timed out waiting for {what}\n{}",
            workers
                .iter()
                .map(|w| w.stderr())
                .collect::<Vec<_>>()
                .join("\n---\n")
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn three_workers_share_the_schedule_and_take_over_a_killed_one() {
    // Pulls take over a second, so a worker is killed in the middle of one.
    let sandbox = Sandbox::start(
        SocketAddr::from(([127, 0, 0, 1], 0)),
        SandboxOptions {
            faults: FaultOptions {
                latency_ms: 400,
                ..FaultOptions::default()
            },
            ..SandboxOptions::default()
        },
    )
    .await
    .unwrap();
    let url = tally_pgtest::cluster().database();
    let db = tally_pgtest::db_name(&url).to_string();
    let mut config = format!(
        "[storage]\nurl = \"{url}\"\n\n[schedule]\nmax_jitter = \"0s\"\nboundary_captures = \"off\"\nshutdown_grace = \"20s\"\nreports_dir = \"reports\"\n\n[[clients]]\nid = \"bakery\"\nname = \"Corner Bakery\"\ntimezone = \"UTC\"\n\n"
    );
    // Nine sources, three per API key: a key's sources share its rate limit.
    for i in 0..9 {
        config += &format!(
            "[[sources]]\nid = \"yt{i}\"\nconnector = \"youtube\"\nclient = \"bakery\"\nevery = \"4s\"\nbase_url = \"{}\"\n[sources.settings]\nchannel_id = \"UCchannel{i}\"\n[sources.auth]\nkind = \"api_key\"\napi_key = \"key{}\"\n\n",
            sandbox.base_url("youtube"),
            i % 3
        );
    }
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("tally.toml"), config).unwrap();
    let path = dir.path().to_path_buf();
    tokio::task::spawn_blocking(move || scenario(&path, &db))
        .await
        .unwrap();
}

fn scenario(dir: &Path, db: &str) {
    let lease = ["--lease-seconds", "3"];
    let workers: Vec<Daemon> = ["w1", "w2", "w3"]
        .iter()
        .map(|name| Daemon::start_with(dir, &[&["--worker", name][..], &lease[..]].concat()))
        .collect();
    let all: Vec<&Daemon> = workers.iter().collect();
    wait_for("three live workers", &all, || {
        let out = tally(dir, &["workers", "--lease-seconds", "3", "--format", "csv"]);
        String::from_utf8_lossy(&out.stdout).lines().count() == 4
    });
    wait_for("two rounds of pulls of every source", &all, || {
        count(db, "SELECT COUNT(DISTINCT source) FROM runs WHERE status = 'ok'") == 9
            && count(db, "SELECT COALESCE(MIN(n), 0) FROM (SELECT COUNT(*) n FROM runs WHERE status = 'ok' GROUP BY source) r") >= 2
    });
    // The victim: a worker that holds a credential and is pulling right now.
    let mut victim = None;
    wait_for("a worker in the middle of a pull", &all, || {
        victim = sql(
            db,
            "SELECT worker FROM pull_slots WHERE done_at IS NULL AND source NOT LIKE 'report:%'
             ORDER BY claimed_at DESC LIMIT 1",
        )
        .lines()
        .next()
        .map(str::to_string);
        victim.is_some()
    });
    let victim = victim.unwrap();
    let index = ["w1", "w2", "w3"]
        .iter()
        .position(|w| *w == victim)
        .unwrap();
    workers[index].signal("KILL");
    let killed_at = sql(db, "SELECT now()");
    std::thread::sleep(Duration::from_millis(200));
    // What it left unfinished (it was chosen in the middle of a pull, its newest claim).
    let orphaned: Vec<String> = sql(
        db,
        &format!("SELECT source || '@' || slot_at FROM pull_slots WHERE worker = '{victim}' AND done_at IS NULL"),
    )
    .lines()
    .map(str::to_string)
    .collect();
    assert!(
        !orphaned.is_empty(),
        "the killed worker had no pull in flight"
    );
    // Its unfinished pulls are taken over and finished by the others.
    let survivors: Vec<&Daemon> = workers
        .iter()
        .enumerate()
        .filter(|(i, _)| *i != index)
        .map(|(_, w)| w)
        .collect();
    wait_for(
        "the killed worker's pulls to be finished by others",
        &survivors,
        || {
            orphaned.iter().all(|slot| {
                let (source, at) = slot.split_once('@').unwrap();
                count(
                    db,
                    &format!(
                    "SELECT COUNT(*) FROM pull_slots WHERE source = '{source}' AND slot_at = '{at}'
                     AND done_at IS NOT NULL AND worker <> '{victim}' AND takeovers = 1"
                ),
                ) == 1
            })
        },
    );
    wait_for(
        "a round after the kill, with every source pulled again",
        &survivors,
        || {
            count(
            db,
            &format!("SELECT COUNT(DISTINCT source) FROM runs WHERE status = 'ok' AND started_at > '{killed_at}'"),
        ) == 9
        },
    );
    let listed = String::from_utf8_lossy(
        &tally(dir, &["workers", "--lease-seconds", "3", "--format", "csv"]).stdout,
    )
    .to_string();
    assert_eq!(listed.lines().count(), 3, "two live workers: {listed}");
    assert!(!listed.contains(&victim), "{listed}");
    let runs =
        String::from_utf8_lossy(&tally(dir, &["runs", "--limit", "200", "--format", "csv"]).stdout)
            .to_string();
    assert!(
        runs.lines().next().unwrap().ends_with(",reason,worker"),
        "{runs}"
    );
    for w in ["w1", "w2", "w3"] {
        assert!(
            runs.lines().any(|l| l.ends_with(&format!(",{w}"))),
            "{w} pulled nothing:\n{runs}"
        );
    }
    drop(all);
    let mut stderrs = vec![workers[index].stderr()];
    for w in workers
        .into_iter()
        .enumerate()
        .filter(|(i, _)| *i != index)
        .map(|(_, w)| w)
    {
        let (status, stderr) = w.stop();
        assert!(status.success(), "{stderr}");
        stderrs.push(stderr);
    }

    // Every planned pull ran once: each finished slot has one finished run,
    // and no source ever had two runs in flight at once.
    assert_eq!(
        count(db, "SELECT COUNT(*) FROM runs WHERE status IS NOT NULL"),
        count(
            db,
            "SELECT COUNT(*) FROM pull_slots WHERE done_at IS NOT NULL AND source NOT LIKE 'report:%'"
        ) + count(
            db,
            "SELECT COUNT(*) FROM runs WHERE status = 'failed' AND error LIKE 'cancelled%'"
        ),
    );
    assert_eq!(
        count(
            db,
            "SELECT COUNT(*) FROM runs a JOIN runs b ON a.source = b.source AND a.id < b.id
             WHERE a.status IS NOT NULL AND b.status IS NOT NULL
               AND b.started_at < a.finished_at"
        ),
        0,
        "a source was pulled by two workers at once"
    );
    assert_eq!(
        count(db, "SELECT COALESCE(SUM(throttled), 0) FROM runs"),
        0,
        "429s"
    );
    assert_eq!(
        count(db, "SELECT COUNT(*) FROM runs WHERE status = 'failed'"),
        0,
        "{}",
        sql(db, "SELECT source, error FROM runs WHERE status = 'failed'")
    );
    // Last month's report was written once, by one worker, into the folder they share.
    assert_eq!(
        count(db, "SELECT COUNT(*) FROM pull_slots WHERE source = 'report:bakery' AND done_at IS NOT NULL"),
        1
    );
    let reports = std::fs::read_dir(dir.join("reports/bakery"))
        .unwrap()
        .count();
    assert_eq!(reports, 1);
    assert_eq!(
        stderrs
            .iter()
            .filter(|e| e.contains("wrote a monthly report"))
            .count(),
        1,
        "{stderrs:?}"
    );
    // Integrity: each natural key once.
    assert_eq!(
        count(
            db,
            "SELECT COUNT(*) FROM (SELECT 1 FROM points
             GROUP BY source, metric, dimensions, entity_kind, entity_id, start_at, end_at
             HAVING COUNT(*) > 1) d"
        ),
        0
    );
}
