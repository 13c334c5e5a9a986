//! `tally pull` under faults and crashes, through the real binary against the
//! sandbox: many sources failing in every way the sandbox can fail them, and
//! `kill -9` at random moments. What a user must be able to count on: every
//! source ends `ok` or `failed` with a reason, the store stays consistent, and
//! the next pull ends with exactly what a pull that never failed stores.
//! RELIABILITY.md lists these tests with their figures.

use rusqlite::Connection;
use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};
use tally_sandbox::{FaultOptions, Limit, PlatformLimits, Sandbox, SandboxOptions};

/// The seed of the sandbox's simulated accounts in these tests.
const SEED: u64 = 7;

fn tally(dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_tally"))
        .current_dir(dir)
        .env_remove("TALLY_CONFIG")
        .env_remove("TALLY_LOG")
        .args(args)
        .output()
        .expect("tally runs")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// A sandbox on a free loopback port with `faults` and no rate limits (the
/// faults are the subject here, not pacing).
async fn sandbox(faults: FaultOptions) -> Sandbox {
    Sandbox::start(
        SocketAddr::from(([127, 0, 0, 1], 0)),
        SandboxOptions {
            seed: SEED,
            faults,
            limits: PlatformLimits {
                youtube: Limit::UNLIMITED,
                mastodon: Limit::UNLIMITED,
                bluesky: Limit::UNLIMITED,
                youtube_quota_per_day: 0,
                ..PlatformLimits::default()
            },
            ..SandboxOptions::default()
        },
    )
    .await
    .unwrap()
}

/// Gauges are stamped with the hour and the sandbox's accounts change with
/// the day: a test that compares two pulls must run inside one hour.
async fn stay_inside_one_hour(seconds_needed: i64) {
    let into_hour = chrono::Utc::now().timestamp().rem_euclid(3600);
    if into_hour > 3600 - seconds_needed {
        tokio::time::sleep(Duration::from_secs((3601 - into_hour) as u64)).await;
    }
}

/// One source: `youtube` or `mastodon` number `n`, at `base_url`, with `extra` lines.
fn source(connector: &str, n: usize, base_url: &str, extra: &str) -> String {
    let (settings, auth) = match connector {
        "youtube" => (
            format!("channel_id = \"UCreliability{n:03}\"\nmax_videos = 12"),
            "[sources.auth]\nkind = \"api_key\"\napi_key = \"sandbox-key\"\n",
        ),
        _ => (
            format!("acct = \"reliability{n:03}@sandbox.example\"\nmax_statuses = 120"),
            "",
        ),
    };
    format!(
        "[[sources]]\nid = \"{connector}-{n:03}\"\nconnector = \"{connector}\"\nbase_url = \"{base_url}\"\n{extra}[sources.settings]\n{settings}\n{auth}\n"
    )
}

/// `[storage]` and a fast retry policy, so a faulty pull takes seconds.
const HEAD: &str = "[storage]\npath = \"tally.db\"\n\n[http]\nmax_attempts = 3\nbackoff_base = \"20ms\"\nbackoff_max = \"200ms\"\nmax_concurrency = 8\n\n";

fn write_config(dir: &Path, body: &str) {
    std::fs::write(dir.join("tally.toml"), body).unwrap();
}

/// The summary of `tally pull --format csv`, one map of column → value per source.
fn summary(out: &Output) -> Vec<BTreeMap<String, String>> {
    let stdout = text(&out.stdout);
    let mut lines = stdout.lines();
    let header: Vec<String> = lines
        .next()
        .unwrap_or_else(|| panic!("no summary: {}", text(&out.stderr)))
        .split(',')
        .map(str::to_string)
        .collect();
    lines
        .map(|l| {
            header
                .iter()
                .cloned()
                .zip(l.split(',').map(str::to_string))
                .collect()
        })
        .collect()
}

/// Every stored point as `tally query --format csv` prints it, sorted.
fn stored(dir: &Path) -> Vec<String> {
    let out = tally(dir, &["query", "--format", "csv"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let mut rows: Vec<String> = text(&out.stdout).lines().map(str::to_string).collect();
    rows.sort();
    rows
}

/// What a store must always be, whatever happened to the process writing it:
/// SQLite's own check passes and no natural key is stored twice.
fn assert_consistent(dir: &Path, when: &str) {
    let conn = Connection::open(dir.join("tally.db")).unwrap();
    let check: String = conn
        .query_row("PRAGMA integrity_check", [], |r| r.get(0))
        .unwrap();
    assert_eq!(check, "ok", "{when}");
    let version: i64 = conn
        .query_row("PRAGMA user_version", [], |r| r.get(0))
        .unwrap();
    if version == 0 {
        // Killed after the file was created, before the first migration
        // committed: an empty file, which the next pull sets up.
        let tables: i64 = conn
            .query_row("SELECT COUNT(*) FROM sqlite_master", [], |r| r.get(0))
            .unwrap();
        assert_eq!(tables, 0, "a half-made schema {when}");
        return;
    }
    let doubled: i64 = conn
        .query_row(
            "SELECT COUNT(*) FROM (SELECT 1 FROM points
             GROUP BY source, entity_kind, entity_id, metric, dimensions, start_ms, end_ms
             HAVING COUNT(*) > 1)",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(doubled, 0, "natural keys stored twice {when}");
}

/// Pulls every source and expects every one `ok`; returns the summary.
fn pull_all_ok(dir: &Path, what: &str) -> Vec<BTreeMap<String, String>> {
    let out = tally(dir, &["pull", "--format", "csv"]);
    let rows = summary(&out);
    assert!(
        out.status.success() && rows.iter().all(|r| r["status"] == "ok"),
        "{what}: {}\n{}",
        text(&out.stdout),
        text(&out.stderr)
    );
    rows
}

/// A pull that stores nothing new and revises nothing: the store has converged.
fn assert_adds_nothing(rows: &[BTreeMap<String, String>], what: &str) {
    for r in rows {
        assert_eq!(
            (r["inserted"].as_str(), r["revised"].as_str()),
            ("0", "0"),
            "{what}: source {} stored points again: {r:?}",
            r["source"]
        );
    }
}

/// A clean pull of `config` into a fresh directory: the reference a faulty or
/// interrupted store must end up equal to. Returns the directory, its points,
/// and how long a pull of the already-filled store takes (a pull then reads
/// only what changed, so that is the window in which a crash test can cut one).
fn reference(config: &str) -> (tempfile::TempDir, Vec<String>, Duration) {
    let dir = tempfile::tempdir().unwrap();
    write_config(dir.path(), config);
    pull_all_ok(dir.path(), "the fault-free reference pull");
    let points = stored(dir.path());
    assert!(
        points.len() > 500,
        "too few points to compare: {}",
        points.len()
    );
    let started = Instant::now();
    let again = pull_all_ok(dir.path(), "the reference's second pull");
    let repull = started.elapsed();
    assert_adds_nothing(&again, "the reference's second pull");
    (dir, points, repull)
}

#[tokio::test(flavor = "multi_thread")]
async fn under_faults_every_source_ends_ok_or_failed_with_a_reason_and_a_clean_pull_converges() {
    stay_inside_one_hour(120).await;
    // 500s with an HTML body, a 429 every 9th request, bodies cut in half...
    let faulty = sandbox(FaultOptions {
        error_rate: 0.2,
        burst_429_every: 9,
        malformed_rate: 0.1,
        ..FaultOptions::default()
    })
    .await;
    // ...and a host that answers only after the source's timeout.
    let slow = sandbox(FaultOptions {
        latency_ms: 1500,
        ..FaultOptions::default()
    })
    .await;
    let clean = sandbox(FaultOptions::default()).await;

    let connectors = ["youtube", "mastodon"];
    let per_connector = 12;
    let slow_ones = 2; // per connector
    let config_for = |faults: bool| {
        let mut config = HEAD.to_string();
        for connector in connectors {
            for n in 0..per_connector {
                let (base, extra) = match (faults, n < slow_ones) {
                    (false, _) => (clean.base_url(connector), ""),
                    (true, true) => (slow.base_url(connector), "timeout = \"300ms\"\n"),
                    (true, false) => (faulty.base_url(connector), ""),
                };
                config += &source(connector, n, &base, extra);
            }
        }
        config
    };
    let (faulty_config, clean_config) = (config_for(true), config_for(false));

    let dir = tempfile::tempdir().unwrap();
    write_config(dir.path(), &faulty_config);
    let path = dir.path().to_path_buf();
    let (expected, first) = tokio::task::spawn_blocking(move || {
        let (_reference, expected, _) = reference(&clean_config);
        (expected, tally(&path, &["pull", "--format", "csv"]))
    })
    .await
    .unwrap();
    let stderr = text(&first.stderr);
    let rows = summary(&first);
    assert_eq!(
        rows.len(),
        connectors.len() * per_connector,
        "every source is in the summary:\n{}",
        text(&first.stdout)
    );
    assert!(
        !first.status.success(),
        "failed sources make the exit status non-zero"
    );
    let mut failed = 0;
    let mut kinds: BTreeMap<&str, usize> = BTreeMap::new();
    for r in &rows {
        let id = &r["source"];
        match r["status"].as_str() {
            "ok" => {}
            "failed" => {
                failed += 1;
                let reason = stderr
                    .lines()
                    .find_map(|l| l.strip_prefix(&format!("failed {id}: ")))
                    .unwrap_or_else(|| panic!("no reason for {id} in:\n{stderr}"));
                // The reason names the API path that failed, never just "error".
                assert!(
                    reason.contains("/youtube/v3/") || reason.contains("/mastodon/api/"),
                    "{id}: {reason}"
                );
                let kind = if reason.contains("did not answer within") {
                    "timeout"
                } else if reason.contains("not the documented JSON") {
                    "malformed body"
                } else if reason.contains("on all") {
                    "5xx or 429 on every attempt"
                } else {
                    "other"
                };
                *kinds.entry(kind).or_default() += 1;
            }
            other => panic!("{id} ended {other}, neither ok nor failed:\n{stderr}"),
        }
    }
    for connector in connectors {
        for n in 0..slow_ones {
            let id = format!("{connector}-{n:03}");
            assert!(
                stderr.contains(&format!("failed {id}: "))
                    && stderr.contains("did not answer within"),
                "{id} is past its timeout and must fail saying so:\n{stderr}"
            );
        }
    }
    println!(
        "faulty pull: {failed} of {} sources failed, by reason {kinds:?}; {} ok",
        rows.len(),
        rows.len() - failed
    );
    assert!(failed >= 2 * slow_ones, "{failed} failed");
    assert_consistent(dir.path(), "after the faulty pull");

    // The faults end: a second pull completes every source and the store holds
    // exactly what a pull that never met a fault stores.
    write_config(dir.path(), &config_for(false));
    let path = dir.path().to_path_buf();
    let (second_points, third) = tokio::task::spawn_blocking(move || {
        pull_all_ok(&path, "the pull after the faults");
        let points = stored(&path);
        (points, pull_all_ok(&path, "the third pull"))
    })
    .await
    .unwrap();
    assert_consistent(dir.path(), "after the clean pulls");
    assert_eq!(second_points.len(), expected.len());
    assert!(
        second_points == expected,
        "the store after faults differs from a fault-free pull's: first difference {:?}",
        second_points.iter().zip(&expected).find(|(a, b)| a != b)
    );
    assert_adds_nothing(&third, "a pull after convergence");
    for s in [faulty, slow, clean] {
        s.shutdown().await;
    }
}

/// A small deterministic generator (SplitMix64), so a failing crash schedule can
/// be replayed from the seed the test prints.
struct SplitMix(u64);

impl SplitMix {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn kill_9_of_tally_pull_at_random_moments_never_corrupts_or_doubles_and_the_next_pull_completes(
) {
    stay_inside_one_hour(120).await;
    // Every response takes 40 ms, so a pull lasts long enough to be cut
    // anywhere: while it opens the store, mid-page, mid-transaction.
    let sandbox = sandbox(FaultOptions {
        latency_ms: 40,
        ..FaultOptions::default()
    })
    .await;
    let mut config = HEAD.to_string();
    for n in 0..8 {
        config += &source("youtube", n, &sandbox.base_url("youtube"), "");
    }
    for n in 0..8 {
        config += &source("mastodon", n, &sandbox.base_url("mastodon"), "");
    }
    let seed = std::env::var("TALLY_CRASH_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| chrono::Utc::now().timestamp_micros() as u64);
    println!("crash schedule seed: {seed} (replay with TALLY_CRASH_SEED={seed})");
    let kills = 6;

    let dir = tempfile::tempdir().unwrap();
    write_config(dir.path(), &config);
    let path: PathBuf = dir.path().to_path_buf();
    let report = tokio::task::spawn_blocking(move || {
        let (_reference, expected, full) = reference(&config);
        let mut rng = SplitMix(seed);
        let mut moments = Vec::new();
        let mut cut = 0;
        for round in 1..=kills {
            // Anywhere from startup (store opening, migrations) to the end of
            // a pull; the first pull, into an empty store, takes longer still.
            let at = Duration::from_millis(rng.next() % (full.as_millis() as u64).max(1));
            let mut child = Command::new(env!("CARGO_BIN_EXE_tally"))
                .current_dir(&path)
                .env_remove("TALLY_CONFIG")
                .env_remove("TALLY_LOG")
                .args(["pull"])
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .unwrap();
            std::thread::sleep(at);
            let finished_first = child.try_wait().unwrap().is_some();
            cut += usize::from(!finished_first);
            child.kill().ok(); // SIGKILL
            child.wait().unwrap();
            moments.push(format!(
                "{} ms{}",
                at.as_millis(),
                if finished_first {
                    " (finished first)"
                } else {
                    ""
                }
            ));
            if path.join("tally.db").exists() {
                assert_consistent(
                    &path,
                    &format!("after kill {round} at {} ms", at.as_millis()),
                );
            }
        }
        pull_all_ok(&path, "the pull after the kills");
        assert_consistent(&path, "after the resumed pull");
        let points = stored(&path);
        let again = pull_all_ok(&path, "the pull after that");
        (points, expected, again, moments, full, cut)
    })
    .await
    .unwrap();
    let (points, expected, again, moments, full, cut) = report;
    println!(
        "a re-pull took {} ms; killed at {}",
        full.as_millis(),
        moments.join(", ")
    );
    // The test is only worth something if most kills land mid-pull.
    assert!(cut * 2 >= kills, "only {cut} of {kills} kills cut a pull");
    assert_eq!(
        points.len(),
        expected.len(),
        "nothing lost, nothing doubled"
    );
    assert!(
        points == expected,
        "the store after kills differs from a clean pull's"
    );
    assert_adds_nothing(&again, "a pull after the resumed one");
    sandbox.shutdown().await;
}

/// The sum of every sample of `tally_pulls_total` with `status` (any status when `None`).
fn pulls(metrics: &str, status: Option<&str>) -> f64 {
    metrics
        .lines()
        .filter(|l| l.starts_with("tally_pulls_total{"))
        .filter(|l| status.is_none_or(|s| l.contains(&format!("status=\"{s}\""))))
        .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
        .sum()
}

/// The lowest open files and threads of `pid` over `window`: pulls in flight
/// open sockets and wake threads, so the floor is what the daemon keeps.
fn floor(pid: u32, window: Duration) -> (usize, usize) {
    let started = Instant::now();
    let (mut fds, mut threads) = (usize::MAX, usize::MAX);
    while started.elapsed() < window {
        let h = tally_testkit::process::holdings(pid).expect("the daemon is running");
        (fds, threads) = (fds.min(h.fds), threads.min(h.threads));
        std::thread::sleep(Duration::from_millis(50));
    }
    (fds, threads)
}

/// The names of `pid`'s threads, for a failure message.
fn thread_names(pid: u32) -> Vec<String> {
    let Ok(tasks) = std::fs::read_dir(format!("/proc/{pid}/task")) else {
        return Vec::new();
    };
    let mut names: Vec<String> = tasks
        .filter_map(|t| std::fs::read_to_string(t.ok()?.path().join("comm")).ok())
        .map(|n| n.trim().to_string())
        .collect();
    names.sort();
    names
}

#[tokio::test(flavor = "multi_thread")]
async fn a_daemon_doing_hundreds_of_pulls_keeps_no_more_files_or_threads() {
    let sandbox = sandbox(FaultOptions::default()).await;
    // Unpaced like the sandbox, so every source is pulled every second.
    let unpaced = "[sources.rate_limit]\nrequests = 1000\nper = \"1s\"\n";
    let mut config = format!(
        "{HEAD}[schedule]\ncatch_up = \"skip\"\nmax_jitter = \"1s\"\nboundary_captures = \"off\"\nshutdown_grace = \"10s\"\n\n"
    );
    for n in 0..2 {
        config += &source(
            "youtube",
            n,
            &sandbox.base_url("youtube"),
            "every = \"1s\"\n",
        );
        config += unpaced;
    }
    for n in 0..10 {
        config += &source(
            "mastodon",
            n,
            &sandbox.base_url("mastodon"),
            "every = \"1s\"\n",
        );
        config += unpaced;
    }
    let dir = tempfile::tempdir().unwrap();
    write_config(dir.path(), &config);
    let path = dir.path().to_path_buf();
    let (start, end, total, failed, exit, names) = tokio::task::spawn_blocking(move || {
        let daemon = crate::daemon::Daemon::start(&path);
        let addr = daemon.addr;
        let count = |status| pulls(&crate::daemon::get(addr, "/metrics").1, status);
        let started = Instant::now();
        let wait_for = |n: f64| {
            while count(None) < n {
                assert!(
                    started.elapsed() < Duration::from_secs(120),
                    "too slow: {}",
                    count(None)
                );
                std::thread::sleep(Duration::from_millis(100));
            }
        };
        // Warm: every source pulled five times, the runtime's pools grown.
        wait_for(60.0);
        let start = floor(daemon.child.id(), Duration::from_secs(3));
        let names_at_start = thread_names(daemon.child.id());
        wait_for(360.0);
        let end = floor(daemon.child.id(), Duration::from_secs(3));
        let names = (names_at_start, thread_names(daemon.child.id()));
        let metrics = crate::daemon::get(addr, "/metrics").1;
        let total = pulls(&metrics, None);
        let failed = total - pulls(&metrics, Some("ok"));
        let (exit, stderr) = daemon.stop();
        (start, end, total, failed, (exit.success(), stderr), names)
    })
    .await
    .unwrap();
    println!(
        "soak: {total} pulls; open files {} -> {}, threads {} -> {} (floors of 3 s windows)",
        start.0, end.0, start.1, end.1
    );
    assert!(exit.0, "tally run did not stop gracefully:\n{}", exit.1);
    assert_eq!(failed, 0.0, "every pull succeeds against a healthy sandbox");
    assert!(
        end.0 <= start.0 + 2,
        "open files grew from {} to {} over {total} pulls",
        start.0,
        end.0
    );
    // Tokio's blocking pool grows with load (a slow disk keeps more store
    // writes in flight) up to the pulls allowed at once, and shrinks when idle:
    // its threads may vary that much. Any other thread must not grow at all.
    let others = |names: &[String]| names.iter().filter(|n| *n != "tokio-rt-worker").count();
    assert!(
        others(&names.1) <= others(&names.0),
        "threads other than tokio's grew: {:?} then {:?}",
        names.0,
        names.1
    );
    let max_concurrency = 8; // HEAD
    assert!(
        end.1 <= start.1 + max_concurrency,
        "threads grew from {} to {} over {total} pulls: {:?} then {:?}",
        start.1,
        end.1,
        names.0,
        names.1
    );
    sandbox.shutdown().await;
}
