//! `tally run`, `tally plan` and `tally runs` as an operator uses them: the
//! daemon against the sandbox with second-long schedules, stopped by SIGTERM,
//! reloaded by SIGHUP, killed with SIGKILL mid-pull and restarted, and its
//! `/metrics` checked by Prometheus' own parser (`promtool check metrics`).

#![allow(clippy::unwrap_used, clippy::expect_used)]

use rusqlite::Connection;
use serde_json::Value;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tally_sandbox::{FaultOptions, Sandbox, SandboxOptions};

/// Longest any wait in these tests may take before the test fails.
const PATIENCE: Duration = Duration::from_secs(60);

fn tally(dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_tally"))
        .current_dir(dir)
        .env_remove("TALLY_CONFIG")
        .env_remove("TALLY_LOG")
        .args(args)
        .output()
        .expect("tally runs")
}

/// A running `tally run`: its process, the metrics address it printed, and
/// its stderr as collected so far.
pub(crate) struct Daemon {
    pub(crate) child: Child,
    pub(crate) addr: SocketAddr,
    stderr: Arc<Mutex<String>>,
}

impl Daemon {
    pub(crate) fn start(dir: &Path) -> Daemon {
        Daemon::start_with(dir, &[])
    }

    /// Starts `tally run` with `extra` arguments.
    pub(crate) fn start_with(dir: &Path, extra: &[&str]) -> Daemon {
        let mut child = Command::new(env!("CARGO_BIN_EXE_tally"))
            .current_dir(dir)
            .env_remove("TALLY_CONFIG")
            .env("TALLY_LOG", "info")
            .args(["run", "--listen", "127.0.0.1:0"])
            .args(extra)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("tally run starts");
        let stderr = Arc::new(Mutex::new(String::new()));
        let mut pipe = child.stderr.take().unwrap();
        let sink = Arc::clone(&stderr);
        std::thread::spawn(move || {
            let mut buf = [0u8; 4096];
            while let Ok(n) = pipe.read(&mut buf) {
                if n == 0 {
                    break;
                }
                sink.lock()
                    .unwrap()
                    .push_str(&String::from_utf8_lossy(&buf[..n]));
            }
        });
        let mut line = String::new();
        let mut stdout = BufReader::new(child.stdout.take().unwrap());
        stdout.read_line(&mut line).unwrap();
        let addr = line
            .split("http://")
            .nth(1)
            .and_then(|rest| rest.split('/').next())
            .and_then(|a| a.parse().ok())
            .unwrap_or_else(|| {
                panic!(
                    "tally run did not print its address: {line:?}\n{}",
                    stderr.lock().unwrap()
                )
            });
        std::thread::spawn(move || std::io::copy(&mut stdout, &mut std::io::sink()));
        Daemon {
            child,
            addr,
            stderr,
        }
    }

    pub(crate) fn signal(&self, name: &str) {
        let status = Command::new("kill")
            .args([&format!("-{name}"), &self.child.id().to_string()])
            .status()
            .unwrap();
        assert!(status.success(), "kill -{name} failed");
    }

    /// Sends SIGTERM and returns the exit status, within [`PATIENCE`].
    pub(crate) fn stop(mut self) -> (std::process::ExitStatus, String) {
        self.signal("TERM");
        let started = Instant::now();
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                std::thread::sleep(Duration::from_millis(100));
                let stderr = self.stderr.lock().unwrap().clone();
                return (status, stderr);
            }
            if started.elapsed() > PATIENCE {
                self.child.kill().ok();
                panic!(
                    "tally run did not stop after SIGTERM\n{}",
                    self.stderr.lock().unwrap()
                );
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    pub(crate) fn stderr(&self) -> String {
        self.stderr.lock().unwrap().clone()
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        // A test that failed midway must not leave a daemon behind.
        self.child.kill().ok();
        self.child.wait().ok();
    }
}

/// GETs `path` from the daemon over plain HTTP/1.1.
pub(crate) fn get(addr: SocketAddr, path: &str) -> (u16, String) {
    let mut stream = TcpStream::connect(addr).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    write!(
        stream,
        "GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).unwrap();
    let (head, body) = response.split_once("\r\n\r\n").unwrap();
    let status = head.split(' ').nth(1).unwrap().parse().unwrap();
    (status, body.to_string())
}

/// Waits until `done` holds, failing with `what` after [`PATIENCE`].
fn wait_for(what: &str, daemon: Option<&Daemon>, mut done: impl FnMut() -> bool) {
    let started = Instant::now();
    while !done() {
        assert!(
            started.elapsed() < PATIENCE,
            "timed out waiting for {what}\n{}",
            daemon.map(Daemon::stderr).unwrap_or_default()
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn db(dir: &Path) -> Connection {
    Connection::open(dir.join("tally.db")).unwrap()
}

/// Runs of `source` by status, read straight from the store.
fn runs(dir: &Path, source: &str, status: Option<&str>) -> i64 {
    let Ok(conn) = Connection::open(dir.join("tally.db")) else {
        return 0;
    };
    let sql = match status {
        Some(_) => "SELECT COUNT(*) FROM runs WHERE source = ?1 AND status = ?2",
        None => "SELECT COUNT(*) FROM runs WHERE source = ?1 AND ?2 IS NULL",
    };
    conn.query_row(sql, rusqlite::params![source, status], |r| r.get(0))
        .unwrap_or(0)
}

fn mastodon(id: &str, base_url: &str, acct: &str, every: &str, extra: &str) -> String {
    format!(
        "[[sources]]\nid = \"{id}\"\nconnector = \"mastodon\"\nclient = \"bakery\"\nevery = \"{every}\"\nbase_url = \"{base_url}\"\n[sources.settings]\nacct = \"{acct}\"\n{extra}\n"
    )
}

const HEAD: &str = "[storage]\npath = \"tally.db\"\n\n[schedule]\nmax_jitter = \"0s\"\nboundary_captures = \"off\"\nshutdown_grace = \"20s\"\n\n[[clients]]\nid = \"bakery\"\nname = \"Corner Bakery\"\ntimezone = \"America/Chicago\"\n\n";

async fn sandbox(latency_ms: u64) -> Sandbox {
    Sandbox::start(
        SocketAddr::from(([127, 0, 0, 1], 0)),
        SandboxOptions {
            faults: FaultOptions {
                latency_ms,
                ..FaultOptions::default()
            },
            ..SandboxOptions::default()
        },
    )
    .await
    .unwrap()
}

fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> T + Send + 'static,
) -> tokio::task::JoinHandle<T> {
    tokio::task::spawn_blocking(f)
}

#[tokio::test(flavor = "multi_thread")]
async fn run_pulls_on_schedule_and_sigterm_exits_zero_with_every_run_committed() {
    let sandbox = sandbox(0).await;
    let dir = tempfile::tempdir().unwrap();
    let url = sandbox.base_url("mastodon");
    let config = format!(
        "{HEAD}{}{}",
        mastodon(
            "fast-a",
            &url,
            "fasta@sandbox.example",
            "1s",
            "max_statuses = 5"
        ),
        mastodon(
            "fast-b",
            &url,
            "fastb@sandbox.example",
            "1s",
            "max_statuses = 5"
        ),
    );
    std::fs::write(dir.path().join("tally.toml"), config).unwrap();
    let path = dir.path().to_path_buf();
    let (status, stderr, out) = blocking(move || {
        let daemon = Daemon::start(&path);
        wait_for("three ok runs of each source", Some(&daemon), || {
            runs(&path, "fast-a", Some("ok")) >= 3 && runs(&path, "fast-b", Some("ok")) >= 3
        });
        let (code, body) = get(daemon.addr, "/healthz");
        assert_eq!((code, body.as_str()), (200, "ok\n"));
        let (status, stderr) = daemon.stop();
        let out = tally(&path, &["runs", "--client", "bakery", "--format", "json"]);
        (status, stderr, out)
    })
    .await
    .unwrap();
    assert!(status.success(), "exit {status:?}\n{stderr}");
    assert!(stderr.contains("SIGTERM: shutting down"), "{stderr}");
    let conn = db(dir.path());
    let unfinished: i64 = conn
        .query_row("SELECT COUNT(*) FROM runs WHERE status IS NULL", [], |r| {
            r.get(0)
        })
        .unwrap();
    assert_eq!(unfinished, 0, "every run is committed with its status");
    // Pipeline health went into the store with the points.
    let pulls: f64 = conn
        .query_row(
            "SELECT SUM(value) FROM points WHERE source = 'fast-a' AND metric = 'pipeline.pulls'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert!(pulls >= 3.0, "{pulls}");
    // `tally runs` lists them with their status.
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let rows: Value = serde_json::from_slice(&out.stdout).unwrap();
    let rows = rows.as_array().unwrap();
    assert!(rows.len() >= 6, "{rows:?}");
    assert!(rows.iter().all(|r| r["status"] == "ok"), "{rows:?}");
    sandbox.shutdown().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn metrics_pass_promtool_and_name_pulls_quota_and_latest_values() {
    let promtool = Command::new("promtool").arg("--version").output();
    assert!(
        promtool.is_ok_and(|o| o.status.success()),
        "promtool is not installed: it validates /metrics with Prometheus' own parser. \
         Install Debian's `prometheus` package (apt-get install prometheus), as .ci/run does"
    );
    let sandbox = sandbox(0).await;
    let dir = tempfile::tempdir().unwrap();
    let config = format!(
        "{HEAD}{}[[sources]]\nid = \"tube\"\nconnector = \"youtube\"\nclient = \"bakery\"\nevery = \"1h\"\nbase_url = \"{}\"\n[sources.settings]\nchannel_id = \"UCmetrics\"\n[sources.auth]\nkind = \"api_key\"\napi_key = \"metrics-key\"\n",
        mastodon(
            "masto",
            &sandbox.base_url("mastodon"),
            "metrics@sandbox.example",
            "1h",
            "max_statuses = 5"
        ),
        sandbox.base_url("youtube")
    );
    std::fs::write(dir.path().join("tally.toml"), config).unwrap();
    let path = dir.path().to_path_buf();
    let (metrics, status) = blocking(move || {
        let daemon = Daemon::start(&path);
        wait_for("both catch-up pulls", Some(&daemon), || {
            runs(&path, "masto", Some("ok")) >= 1 && runs(&path, "tube", Some("ok")) >= 1
        });
        // Counters are updated right after the run is recorded.
        std::thread::sleep(Duration::from_millis(300));
        let (code, metrics) = get(daemon.addr, "/metrics");
        assert_eq!(code, 200);
        let (status, _) = daemon.stop();
        (metrics, status)
    })
    .await
    .unwrap();
    assert!(status.success());
    let mut check = Command::new("promtool")
        .args(["check", "metrics"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    check
        .stdin
        .take()
        .unwrap()
        .write_all(metrics.as_bytes())
        .unwrap();
    let checked = check.wait_with_output().unwrap();
    assert!(
        checked.status.success(),
        "promtool rejected /metrics:\n{}{}\n---\n{metrics}",
        String::from_utf8_lossy(&checked.stdout),
        String::from_utf8_lossy(&checked.stderr)
    );
    for expected in [
        "tally_pulls_total{source=\"masto\",client=\"bakery\",connector=\"mastodon\",status=\"ok\"} 1",
        "tally_requests_total{source=\"tube\"",
        "tally_throttled_total{source=\"masto\"",
        "tally_retries_total{source=\"masto\"",
        "tally_seconds_since_last_success{source=\"masto\"",
        "tally_quota_remaining_units{budget=\"youtube#",
        "tally_metric_latest{source=\"masto\",metric=\"audience.followers\"",
        "tally_metric_latest{source=\"tube\",metric=\"audience.followers\"",
        "tally_schedule_drift_seconds_count 2",
    ] {
        assert!(metrics.contains(expected), "missing {expected}\n{metrics}");
    }
    sandbox.shutdown().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn sighup_applies_a_valid_config_and_rejects_an_invalid_one() {
    let sandbox = sandbox(0).await;
    let dir = tempfile::tempdir().unwrap();
    let url = sandbox.base_url("mastodon");
    let first = format!(
        "{HEAD}{}",
        mastodon("old", &url, "old@sandbox.example", "1s", "max_statuses = 3")
    );
    let second = format!(
        "{first}{}",
        mastodon("new", &url, "new@sandbox.example", "1s", "max_statuses = 3")
    );
    std::fs::write(dir.path().join("tally.toml"), &first).unwrap();
    let path = dir.path().to_path_buf();
    let (status, stderr) = blocking(move || {
        let daemon = Daemon::start(&path);
        wait_for("a run of the first source", Some(&daemon), || {
            runs(&path, "old", Some("ok")) >= 1
        });
        std::fs::write(path.join("tally.toml"), &second).unwrap();
        daemon.signal("HUP");
        wait_for("a run of the added source", Some(&daemon), || {
            runs(&path, "new", Some("ok")) >= 1
        });
        assert!(daemon.stderr().contains("configuration reloaded"));

        // An invalid config is refused with its location; the old one goes on.
        std::fs::write(
            path.join("tally.toml"),
            second.replace("every = \"1s\"", "every = \"6x\""),
        )
        .unwrap();
        daemon.signal("HUP");
        wait_for("the rejection", Some(&daemon), || {
            daemon.stderr().contains("the configuration was rejected")
        });
        let before = runs(&path, "new", Some("ok"));
        wait_for("more runs under the old config", Some(&daemon), || {
            runs(&path, "new", Some("ok")) >= before + 2
        });
        daemon.stop()
    })
    .await
    .unwrap();
    assert!(status.success(), "{stderr}");
    assert!(
        stderr.contains("tally.toml:")
            && stderr.contains("neither a duration nor a cron expression"),
        "{stderr}"
    );
    sandbox.shutdown().await;
}

/// An acct whose sandbox account has more than `pages` pages of 40 statuses.
fn acct_with_pages(pages: usize) -> (String, usize) {
    (0..200)
        .map(|i| format!("resume{i}@sandbox.example"))
        .find_map(|acct| {
            let n = tally_sandbox::data::mastodon_account(42, &acct, chrono::Utc::now())?
                .statuses
                .len();
            (n > pages * 40).then_some((acct, n))
        })
        .expect("a sandbox account with enough statuses")
}

#[tokio::test(flavor = "multi_thread")]
async fn kill_9_mid_pull_then_restart_resumes_from_the_checkpoint_without_duplicates() {
    // Gauges are stamped with the hour; keep the whole test inside one hour.
    let into_hour = chrono::Utc::now().timestamp().rem_euclid(3600);
    if into_hour > 3540 {
        tokio::time::sleep(Duration::from_secs((3601 - into_hour) as u64)).await;
    }
    let sandbox = sandbox(400).await;
    let dir = tempfile::tempdir().unwrap();
    let (acct, statuses) = acct_with_pages(1);
    let wanted = 80; // two pages of 40
    let config = format!(
        "{HEAD}{}",
        mastodon(
            "slow",
            &sandbox.base_url("mastodon"),
            &acct,
            "1h",
            &format!("max_statuses = {wanted}")
        )
    );
    std::fs::write(dir.path().join("tally.toml"), config).unwrap();
    let path = dir.path().to_path_buf();
    let state = |path: &Path| -> Option<Value> {
        let conn = Connection::open(path.join("tally.db")).ok()?;
        let text: String = conn
            .query_row(
                "SELECT state FROM source_state WHERE source = 'slow'",
                [],
                |r| r.get(0),
            )
            .ok()?;
        serde_json::from_str(&text).ok()
    };
    let checkpoint = blocking(move || {
        let mut daemon = Daemon::start(&path);
        wait_for("the first checkpoint", Some(&daemon), || {
            state(&path).is_some_and(|s| s.get("cursor").is_some())
        });
        daemon.child.kill().unwrap(); // SIGKILL, mid-pull
        daemon.child.wait().unwrap();
        let saved = state(&path).unwrap();
        let conn = db(&path);
        let ok: String = conn
            .query_row("PRAGMA integrity_check", [], |r| r.get(0))
            .unwrap();
        assert_eq!(ok, "ok");
        assert_eq!(
            runs(&path, "slow", None),
            1,
            "the killed run stays unfinished"
        );
        saved
    })
    .await
    .unwrap();
    let read_before = checkpoint["cursor"]["read"].as_u64().unwrap() as usize;
    assert!(read_before >= 40 && read_before < wanted, "{checkpoint}");

    let path = dir.path().to_path_buf();
    let (status, stderr) = blocking(move || {
        let daemon = Daemon::start(&path);
        wait_for("the resumed pull", Some(&daemon), || {
            runs(&path, "slow", Some("ok")) >= 1
        });
        daemon.stop()
    })
    .await
    .unwrap();
    assert!(status.success(), "{stderr}");

    let conn = db(dir.path());
    let ok: String = conn
        .query_row("PRAGMA integrity_check", [], |r| r.get(0))
        .unwrap();
    assert_eq!(ok, "ok");
    // Every status read once: one likes point per post, none twice.
    let (posts, likes): (i64, i64) = conn
        .query_row(
            "SELECT COUNT(DISTINCT entity_id), COUNT(*) FROM points
             WHERE source = 'slow' AND metric = 'engagement.likes'",
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .unwrap();
    assert_eq!(posts, wanted.min(statuses) as i64);
    assert_eq!(likes, posts, "no status was stored twice");
    // The restart read only the pages after the checkpoint: the lookup and
    // the remaining page, not both.
    let requests: i64 = conn
        .query_row(
            "SELECT requests FROM runs WHERE source = 'slow' AND status = 'ok'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    let remaining_pages = (wanted.min(statuses) - read_before).div_ceil(40) as i64;
    assert_eq!(requests, 1 + remaining_pages, "resumed from the checkpoint");
    let text: String = conn
        .query_row(
            "SELECT state FROM source_state WHERE source = 'slow'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    let final_state: Value = serde_json::from_str(&text).unwrap();
    assert!(final_state.get("cursor").is_none(), "{final_state}");
    assert!(final_state["newest_id"].is_string(), "{final_state}");
    sandbox.shutdown().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn plan_estimates_from_the_last_run_and_shows_a_budget_running_out() {
    let sandbox = sandbox(0).await;
    let dir = tempfile::tempdir().unwrap();
    let config = format!(
        // Pulls every 10 minutes against 6 units a day: after the first pull
        // the budget runs out at any time of day but the 20 minutes before
        // its reset (midnight Pacific).
        "{HEAD}[[clients]]\nid = \"gym\"\nname = \"Gym\"\n\n[[sources]]\nid = \"tube\"\nconnector = \"youtube\"\nclient = \"bakery\"\nevery = \"10m\"\nbase_url = \"{}\"\n[sources.settings]\nchannel_id = \"UCplan\"\n[sources.auth]\nkind = \"api_key\"\napi_key = \"plan-key\"\n[sources.quota]\nunits = 6\n\n{}",
        sandbox.base_url("youtube"),
        mastodon("gym-masto", &sandbox.base_url("mastodon"), "gym@sandbox.example", "6h", "max_statuses = 5")
            .replace("client = \"bakery\"", "client = \"gym\"")
    );
    let path: PathBuf = dir.path().to_path_buf();
    std::fs::write(path.join("tally.toml"), config).unwrap();
    let (pulled, planned, gym, pulled_at, planned_at) = blocking(move || {
        let pulled_at = chrono::Utc::now();
        let pulled = tally(&path, &["pull", "--client", "bakery", "--format", "json"]);
        let planned = tally(
            &path,
            &[
                "plan", "--window", "24h", "--client", "bakery", "--format", "json",
            ],
        );
        let planned_at = chrono::Utc::now();
        let gym = tally(&path, &["plan", "--client", "gym", "--format", "json"]);
        (pulled, planned, gym, pulled_at, planned_at)
    })
    .await
    .unwrap();
    assert!(
        pulled.status.success(),
        "{}",
        String::from_utf8_lossy(&pulled.stderr)
    );
    let rows: Value = serde_json::from_slice(&pulled.stdout).unwrap();
    assert_eq!(
        rows.as_array().unwrap().len(),
        1,
        "--client bakery pulls only its source"
    );
    let per_pull = rows[0]["requests"].as_f64().unwrap();

    assert!(
        planned.status.success(),
        "{}",
        String::from_utf8_lossy(&planned.stderr)
    );
    let plan: Value = serde_json::from_slice(&planned.stdout).unwrap();
    let source = &plan["sources"][0];
    assert_eq!(source["source"], "tube");
    assert_eq!(source["estimate"], "last run");
    assert_eq!(source["requests_per_pull"].as_f64().unwrap(), per_pull);
    assert!(source["pulls"].as_f64().unwrap() >= 24.0, "{source}");
    assert!(source["deferred"].as_f64().unwrap() > 0.0, "{source}");
    let budget = &plan["budgets"][0];
    assert_eq!(budget["limit"], 6);
    // YouTube's quota day ends at midnight Pacific: a pull just before it
    // spent yesterday's units, and in the last half hour of a day the budget
    // lasts until the reset.
    let quota_day =
        |t: chrono::DateTime<chrono::Utc>| t.with_timezone(&chrono_tz::US::Pacific).date_naive();
    let same_day = quota_day(pulled_at) == quota_day(planned_at);
    let near_reset = quota_day(planned_at + chrono::Duration::minutes(30)) != quota_day(planned_at);
    let used = if same_day { per_pull } else { 0.0 };
    assert_eq!(budget["used"].as_f64().unwrap(), used, "{budget}");
    if same_day && !near_reset {
        assert!(
            budget["verdict"].as_str().unwrap().starts_with("runs out"),
            "{budget}"
        );
        let stderr = String::from_utf8_lossy(&planned.stderr);
        assert!(stderr.contains("run out within the window"), "{stderr}");
    }

    let gym: Value = serde_json::from_slice(&gym.stdout).unwrap();
    let ids: Vec<&str> = gym["sources"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["source"].as_str().unwrap())
        .collect();
    assert_eq!(ids, ["gym-masto"]);
    assert_eq!(gym["sources"][0]["estimate"], "minimum");
    sandbox.shutdown().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn the_daemon_writes_each_clients_last_month_report_once() {
    let sandbox = sandbox(0).await;
    let dir = tempfile::tempdir().unwrap();
    let config = format!(
        "{}{}",
        HEAD.replace(
            "shutdown_grace = \"20s\"\n",
            "shutdown_grace = \"20s\"\nreports_dir = \"reports\"\n"
        ),
        mastodon(
            "masto",
            &sandbox.base_url("mastodon"),
            "bakery@sandbox.example",
            "1h",
            "max_statuses = 5"
        ),
    );
    std::fs::write(dir.path().join("tally.toml"), config).unwrap();
    let now = chrono::Utc::now().with_timezone(&chrono_tz::America::Chicago)
        - chrono::Duration::minutes(15);
    let (year, month) = match chrono::Datelike::month(&now) {
        1 => (chrono::Datelike::year(&now) - 1, 12),
        m => (chrono::Datelike::year(&now), m - 1),
    };
    let report = dir
        .path()
        .join(format!("reports/bakery/{year:04}-{month:02}.html"));
    let path = dir.path().to_path_buf();
    let expected = report.clone();
    let (status, stderr) = blocking(move || {
        let daemon = Daemon::start(&path);
        wait_for("last month's report", Some(&daemon), || expected.exists());
        daemon.stop()
    })
    .await
    .unwrap();
    assert!(status.success(), "{stderr}");
    assert!(stderr.contains("wrote a monthly report"), "{stderr}");
    let html = std::fs::read_to_string(&report).unwrap();
    assert!(
        html.contains("<svg") && html.contains("Corner Bakery"),
        "an HTML report with charts"
    );

    // A restart keeps the file the client may already have received.
    let written = std::fs::metadata(&report).unwrap().modified().unwrap();
    let path = dir.path().to_path_buf();
    let (status, stderr) = blocking(move || {
        let daemon = Daemon::start(&path);
        std::thread::sleep(Duration::from_secs(1));
        daemon.stop()
    })
    .await
    .unwrap();
    assert!(status.success(), "{stderr}");
    assert_eq!(
        std::fs::metadata(&report).unwrap().modified().unwrap(),
        written
    );
    sandbox.shutdown().await;
}

/// The value of the `tally_pulls_total` sample of `source` with `status`.
fn pulls_total(metrics: &str, source: &str, status: &str) -> f64 {
    metrics
        .lines()
        .filter(|l| l.starts_with("tally_pulls_total{"))
        .filter(|l| {
            l.contains(&format!("source=\"{source}\""))
                && l.contains(&format!("status=\"{status}\""))
        })
        .filter_map(|l| l.rsplit(' ').next()?.parse().ok())
        .next()
        .unwrap_or(0.0)
}

#[tokio::test(flavor = "multi_thread")]
async fn a_pull_waiting_on_its_rate_limit_is_running_and_the_ticks_it_blocks_are_skipped() {
    let sandbox = sandbox(0).await;
    let dir = tempfile::tempdir().unwrap();
    let (acct, _) = acct_with_pages(1);
    // Three requests at one per two seconds: each pull waits on the limiter
    // for about four seconds, while the schedule asks for one every second.
    let config = format!(
        "{HEAD}{}",
        mastodon(
            "paced",
            &sandbox.base_url("mastodon"),
            &acct,
            "1s",
            "max_statuses = 80\n[sources.rate_limit]\nrequests = 1\nper = \"2s\"\nburst = 1"
        )
    );
    std::fs::write(dir.path().join("tally.toml"), config).unwrap();
    let path = dir.path().to_path_buf();
    let (listed, metrics, status, stderr) = blocking(move || {
        let daemon = Daemon::start(&path);
        wait_for("a pull in progress", Some(&daemon), || {
            runs(&path, "paced", None) >= 1
        });
        let listed = tally(&path, &["runs", "--source", "paced", "--format", "json"]);
        let mut metrics = String::new();
        wait_for("a skipped tick in /metrics", Some(&daemon), || {
            metrics = get(daemon.addr, "/metrics").1;
            pulls_total(&metrics, "paced", "skipped") >= 1.0
        });
        let (status, stderr) = daemon.stop();
        (listed, metrics, status, stderr)
    })
    .await
    .unwrap();
    assert!(status.success(), "{stderr}");
    let listed: Value = serde_json::from_slice(&listed.stdout).unwrap();
    assert_eq!(listed[0]["status"], "running", "{listed}");
    assert_eq!(listed[0]["finished_at"], Value::Null, "{listed}");
    assert!(
        metrics.contains("tally_schedule_skipped_busy_total "),
        "{metrics}"
    );
    assert!(
        stderr.contains("the previous pull is still running; this planned pull is skipped"),
        "{stderr}"
    );
    sandbox.shutdown().await;
}
