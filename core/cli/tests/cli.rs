//! The `tally` binary as a user runs it: config errors, a pull where some sources
//! misbehave, idempotent re-pulls, and the demo.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod manifests;
mod new_connector;

use serde_json::Value;
use std::net::SocketAddr;
use std::path::Path;
use std::process::{Command, Output};
use std::time::Duration;
use tally_sandbox::{Sandbox, SandboxOptions};
use wiremock::matchers::path;
use wiremock::{Mock, MockServer, ResponseTemplate};

mod first_steps;
mod goals;
mod postgres;

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

fn write_config(dir: &Path, body: &str) {
    std::fs::write(dir.join("tally.toml"), body).unwrap();
}

/// Runs `tally check --offline` on `body` and returns (exit ok, stderr).
fn check(body: &str) -> (bool, String) {
    let dir = tempfile::tempdir().unwrap();
    write_config(dir.path(), body);
    let out = tally(dir.path(), &["check", "--offline"]);
    (out.status.success(), text(&out.stderr))
}

#[test]
fn malformed_toml_is_reported_with_line_and_column() {
    let (ok, err) = check("[[sources]]\nid = \"a\"\nconnector = \n");
    assert!(!ok);
    assert!(err.contains("tally.toml:3:"), "{err}");
}

#[test]
fn an_unknown_key_gets_the_nearest_valid_key() {
    let (ok, err) = check(
        "[[sources]]\nid = \"a\"\nconnector = \"youtube\"\n[sources.settings]\nchanel_id = \"UC1\"\n[sources.auth]\nkind = \"api_key\"\napi_key = \"k\"\n",
    );
    assert!(!ok);
    assert!(
        err.contains("tally.toml:5:1") && err.contains("did you mean `channel_id`"),
        "{err}"
    );
}

#[test]
fn an_unknown_connector_lists_the_known_ones() {
    let (ok, err) = check("[[sources]]\nid = \"a\"\nconnector = \"youtub\"\n");
    assert!(!ok);
    assert!(
        err.contains("youtub") && err.contains("youtube") && err.contains("mastodon"),
        "{err}"
    );
}

#[test]
fn a_missing_setting_is_named() {
    let (ok, err) = check("[[sources]]\nid = \"a\"\nconnector = \"mastodon\"\n");
    assert!(!ok);
    assert!(err.contains("acct"), "{err}");
}

#[test]
fn an_unset_variable_is_named_and_nothing_secret_is_printed() {
    let (ok, err) = check(
        "[[sources]]\nid = \"a\"\nconnector = \"youtube\"\n[sources.settings]\nchannel_id = \"UC1\"\n[sources.auth]\nkind = \"api_key\"\napi_key = \"${TALLY_TEST_UNSET_KEY}\"\n",
    );
    assert!(!ok);
    assert!(
        err.contains("TALLY_TEST_UNSET_KEY") && err.contains("tally.toml:8:"),
        "{err}"
    );
}

#[test]
fn check_reports_deprecated_duration_keys_and_still_accepts_them() {
    let dir = tempfile::tempdir().unwrap();
    write_config(
        dir.path(),
        "[http]\ntimeout_secs = 20\n\n[[sources]]\nid = \"m\"\nconnector = \"mastodon\"\n[sources.settings]\nacct = \"a@b.example\"\n",
    );
    let out = tally(dir.path(), &["check", "--offline"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(
        text(&out.stderr).trim(),
        "warning: tally.toml:2:1: `http.timeout_secs` is deprecated; write `timeout = \"20s\"` instead (it still works for now)"
    );
}

#[test]
fn connectors_lists_the_built_in_connectors() {
    let dir = tempfile::tempdir().unwrap();
    let out = tally(dir.path(), &["connectors", "--format", "json"]);
    assert!(out.status.success());
    let list: Value = serde_json::from_slice(&out.stdout).unwrap();
    let names: Vec<&str> = list
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["connector"].as_str().unwrap())
        .collect();
    assert_eq!(
        names,
        [
            "youtube",
            "mastodon",
            "facebook_pages",
            "instagram",
            "meta_ads",
            "ga4",
            "google_business_profile",
            "youtube_analytics",
            "bluesky_manifest",
            "eventbrite",
            "surveymonkey",
            "x",
            "yelp"
        ]
    );
}

/// A Mastodon look-alike whose statuses endpoint misbehaves in one way.
async fn faulty_mastodon(statuses: ResponseTemplate) -> MockServer {
    let server = MockServer::start().await;
    let account = include_str!("../../../connectors/mastodon/testdata/account.json");
    Mock::given(path("/api/v1/accounts/lookup"))
        .respond_with(ResponseTemplate::new(200).set_body_raw(account, "application/json"))
        .mount(&server)
        .await;
    Mock::given(path("/api/v1/accounts/1/statuses"))
        .respond_with(statuses)
        .mount(&server)
        .await;
    server
}

fn mastodon_source(id: &str, base_url: &str, acct: &str) -> String {
    format!(
        "[[sources]]\nid = \"{id}\"\nconnector = \"mastodon\"\nbase_url = \"{base_url}\"\n[sources.settings]\nacct = \"{acct}\"\n\n"
    )
}

#[tokio::test(flavor = "multi_thread")]
async fn faulty_sources_fail_alone_and_a_second_pull_stores_nothing_twice() {
    // Gauges are sampled into hourly slots; keep both pulls inside one hour.
    let into_hour = chrono::Utc::now().timestamp().rem_euclid(3600);
    if into_hour > 3590 {
        tokio::time::sleep(Duration::from_secs((3601 - into_hour) as u64)).await;
    }
    let account = include_str!("../../../connectors/mastodon/testdata/account.json");
    let sandbox = Sandbox::start(
        SocketAddr::from(([127, 0, 0, 1], 0)),
        SandboxOptions::default(),
    )
    .await
    .unwrap();
    let html = faulty_mastodon(
        ResponseTemplate::new(200)
            .set_body_raw("<html><body>Service unavailable</body></html>", "text/html"),
    )
    .await;
    let malformed = faulty_mastodon(
        ResponseTemplate::new(200)
            .set_body_raw("[{\"id\": \"1\", \"favourites", "application/json"),
    )
    .await;
    let failing = faulty_mastodon(ResponseTemplate::new(500)).await;
    let slow = faulty_mastodon(
        ResponseTemplate::new(200)
            .set_body_raw("[]", "application/json")
            .set_delay(Duration::from_secs(5)),
    )
    .await;
    let looping = MockServer::start().await;
    Mock::given(path("/api/v1/accounts/lookup"))
        .respond_with(ResponseTemplate::new(200).set_body_raw(account, "application/json"))
        .mount(&looping)
        .await;
    let next = format!(
        "<{}/api/v1/accounts/1/statuses?max_id=5>; rel=\"next\"",
        looping.uri()
    );
    Mock::given(path("/api/v1/accounts/1/statuses"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_raw(
                    include_str!("../../../connectors/mastodon/testdata/statuses.json"),
                    "application/json",
                )
                .append_header("link", next.as_str()),
        )
        .mount(&looping)
        .await;
    let throttled = MockServer::start().await;
    Mock::given(path("/api/v1/accounts/lookup"))
        .respond_with(ResponseTemplate::new(429))
        .up_to_n_times(1)
        .mount(&throttled)
        .await;
    Mock::given(path("/api/v1/accounts/lookup"))
        .respond_with(ResponseTemplate::new(200).set_body_raw(account, "application/json"))
        .mount(&throttled)
        .await;
    Mock::given(path("/api/v1/accounts/1/statuses"))
        .respond_with(ResponseTemplate::new(200).set_body_raw("[]", "application/json"))
        .mount(&throttled)
        .await;

    let mut config = String::from("[storage]\npath = \"tally.db\"\n\n[http]\ntimeout = \"1s\"\nmax_attempts = 2\nbackoff_base = \"10ms\"\nbackoff_max = \"50ms\"\n\n");
    config += &format!(
        "[[sources]]\nid = \"healthy-youtube\"\nconnector = \"youtube\"\nbase_url = \"{}\"\n[sources.settings]\nchannel_id = \"UChealthy\"\n[sources.auth]\nkind = \"api_key\"\napi_key = \"k\"\n\n",
        sandbox.base_url("youtube")
    );
    config += &mastodon_source(
        "healthy-mastodon",
        &sandbox.base_url("mastodon"),
        "healthy@sandbox.example",
    );
    config += &mastodon_source("empty-account", &sandbox.base_url("mastodon"), "empty");
    config += &mastodon_source("html-page", &html.uri(), "Gargron");
    config += &mastodon_source("malformed-json", &malformed.uri(), "Gargron");
    config += &mastodon_source("server-errors", &failing.uri(), "Gargron");
    config += &mastodon_source("too-slow", &slow.uri(), "Gargron");
    config += &mastodon_source("repeated-cursor", &looping.uri(), "Gargron");
    config += &mastodon_source("throttled-once", &throttled.uri(), "Gargron");
    let dir = tempfile::tempdir().unwrap();
    write_config(dir.path(), &config);

    let first = tokio::task::spawn_blocking({
        let dir = dir.path().to_path_buf();
        move || tally(&dir, &["pull", "--format", "json"])
    })
    .await
    .unwrap();
    assert!(
        !first.status.success(),
        "a failed source makes the exit status non-zero"
    );
    let stderr = text(&first.stderr);
    let rows: Value = serde_json::from_slice(&first.stdout).unwrap();
    let row = |id: &str| {
        rows.as_array()
            .unwrap()
            .iter()
            .find(|r| r["source"] == id)
            .unwrap()
            .clone()
    };
    for ok in [
        "healthy-youtube",
        "healthy-mastodon",
        "empty-account",
        "throttled-once",
    ] {
        assert_eq!(row(ok)["status"], "ok", "{ok}: {stderr}");
    }
    assert!(row("healthy-youtube")["points"].as_f64().unwrap() > 3.0);
    assert_eq!(
        row("empty-account")["points"],
        3.0,
        "an empty account has only its account gauges"
    );
    assert_eq!(row("throttled-once")["throttled"], 1);
    for (failed, says) in [
        ("html-page", "is not the documented JSON"),
        ("malformed-json", "is not the documented JSON"),
        ("server-errors", "answered 500 on all 2 attempts"),
        ("too-slow", "did not answer within 1s"),
        ("repeated-cursor", "same next-page cursor twice"),
    ] {
        assert_eq!(row(failed)["status"], "failed", "{failed}");
        let line = stderr
            .lines()
            .find(|l| l.starts_with(&format!("failed {failed}:")))
            .unwrap_or_default();
        assert!(
            line.contains(says) && line.contains("/api/v1/accounts/1/statuses"),
            "{failed}: {line}"
        );
        // A failure before the first page's checkpoint stores nothing; one
        // after it keeps that page (3 account gauges, 3 statuses × 3), and the
        // next pull resumes from there.
        let kept = if failed == "repeated-cursor" {
            12.0
        } else {
            0.0
        };
        assert_eq!(
            row(failed)["inserted"],
            kept,
            "{failed}: only checkpointed pages are kept"
        );
    }

    let count = |dir: &Path| {
        let out = tally(dir, &["query", "--format", "json"]);
        serde_json::from_slice::<Value>(&out.stdout)
            .unwrap()
            .as_array()
            .unwrap()
            .len()
    };
    let stored = count(dir.path());
    let stored_first: f64 = [
        "healthy-youtube",
        "healthy-mastodon",
        "empty-account",
        "throttled-once",
        "repeated-cursor",
    ]
    .iter()
    .map(|id| row(id)["inserted"].as_f64().unwrap())
    .sum();
    assert_eq!(stored as f64, stored_first);

    let second = tokio::task::spawn_blocking({
        let dir = dir.path().to_path_buf();
        move || {
            tally(
                &dir,
                &[
                    "pull",
                    "--source",
                    "healthy-youtube",
                    "--source",
                    "healthy-mastodon",
                    "--format",
                    "json",
                ],
            )
        }
    })
    .await
    .unwrap();
    assert!(second.status.success(), "{}", text(&second.stderr));
    let again: Value = serde_json::from_slice(&second.stdout).unwrap();
    for row in again.as_array().unwrap() {
        assert_eq!(
            row["inserted"], 0,
            "re-pulling the same values stores nothing new: {row}"
        );
    }
    assert_eq!(count(dir.path()), stored);
    sandbox.shutdown().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn check_asks_each_platform_and_a_spent_quota_skips_the_source() {
    let sandbox = Sandbox::start(
        SocketAddr::from(([127, 0, 0, 1], 0)),
        SandboxOptions::default(),
    )
    .await
    .unwrap();
    let youtube = sandbox.base_url("youtube");
    let dir = tempfile::tempdir().unwrap();
    write_config(
        dir.path(),
        &format!(
            "[[sources]]\nid = \"yt\"\nconnector = \"youtube\"\nbase_url = \"{youtube}\"\n[sources.settings]\nchannel_id = \"UCquota\"\n[sources.auth]\nkind = \"api_key\"\napi_key = \"k\"\n[sources.quota]\nunits = 3\n\n{}",
            mastodon_source("masto", &sandbox.base_url("mastodon"), "someone@sandbox.example")
        ),
    );
    let run = |args: &'static [&'static str]| {
        let dir = dir.path().to_path_buf();
        tokio::task::spawn_blocking(move || tally(&dir, args))
    };
    let checked = run(&["check"]).await.unwrap();
    let stdout = text(&checked.stdout);
    assert!(checked.status.success(), "{stdout}");
    assert!(
        stdout.contains("yt: ok, channel") && stdout.contains("masto: ok, account @someone"),
        "{stdout}"
    );

    // The check spent one of three units; a pull needs three (channel, uploads,
    // videos) and gets the two left.
    let pulled = run(&["pull", "--format", "json"]).await.unwrap();
    let rows: Value = serde_json::from_slice(&pulled.stdout).unwrap();
    assert!(
        pulled.status.success(),
        "a spent quota is a skip, not a failure"
    );
    assert_eq!(rows[0]["status"], "skipped");
    assert_eq!(
        rows[0]["requests"], 2.0,
        "nothing is sent once the budget is spent"
    );
    let stderr = text(&pulled.stderr);
    assert!(
        stderr.contains("skipped yt: quota budget of 3 units") && stderr.contains("resets at"),
        "{stderr}"
    );
    assert_eq!(rows[1]["status"], "ok");

    // The ledger is in the store: the next run is refused before any request.
    let again = run(&["pull", "--source", "yt", "--format", "json"])
        .await
        .unwrap();
    let rows: Value = serde_json::from_slice(&again.stdout).unwrap();
    assert_eq!(rows[0]["status"], "skipped");
    assert_eq!(rows[0]["requests"], 0.0);
    sandbox.shutdown().await;
}

/// The Bluesky example plugin, built as a shared library for this test run.
fn bluesky_plugin() -> std::path::PathBuf {
    let workspace =
        tally_plugin_sdk::testing::workspace_root(Path::new(env!("CARGO_MANIFEST_DIR")));
    let mut built =
        tally_plugin_sdk::testing::build_cdylibs(&workspace, &["tally-bluesky"], &[]).unwrap();
    built.remove("tally-bluesky").unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn plugins_load_from_the_config_and_refused_ones_leave_the_rest_working() {
    let plugin = bluesky_plugin();
    let sandbox = Sandbox::start(
        SocketAddr::from(([127, 0, 0, 1], 0)),
        SandboxOptions::default(),
    )
    .await
    .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let plugins = dir.path().join("plugins");
    std::fs::create_dir(&plugins).unwrap();
    std::fs::copy(&plugin, plugins.join("libtally_bluesky.so")).unwrap();
    std::fs::write(plugins.join("libbroken.so"), b"not a library at all").unwrap();
    let sources = format!(
        "[[sources]]\nid = \"sky\"\nconnector = \"bluesky\"\nbase_url = \"{}\"\n[sources.settings]\nactor = \"tally.bsky.social\"\n\n{}",
        sandbox.base_url("bluesky"),
        mastodon_source("masto", &sandbox.base_url("mastodon"), "someone@sandbox.example")
    );
    write_config(
        dir.path(),
        &format!("[plugins]\ndirs = [\"plugins\"]\n\n{sources}"),
    );
    let run = |args: &'static [&'static str]| {
        let dir = dir.path().to_path_buf();
        tokio::task::spawn_blocking(move || tally(&dir, args))
    };
    let pulled = run(&["pull", "--format", "json"]).await.unwrap();
    let stderr = text(&pulled.stderr);
    assert!(pulled.status.success(), "{stderr}");
    assert!(
        stderr.contains("plugin refused")
            && stderr.contains("libbroken.so is not a loadable shared library"),
        "{stderr}"
    );
    let rows: Value = serde_json::from_slice(&pulled.stdout).unwrap();
    assert_eq!(rows[0]["status"], "ok");
    assert!(rows[0]["points"].as_f64().unwrap() > 3.0);
    assert_eq!(rows[1]["status"], "ok");

    let listed = run(&["connectors", "--format", "json"]).await.unwrap();
    let list: Value = serde_json::from_slice(&listed.stdout).unwrap();
    let bluesky = list
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["connector"] == "bluesky")
        .unwrap();
    assert!(
        bluesky["from"]
            .as_str()
            .unwrap()
            .ends_with("libtally_bluesky.so"),
        "{bluesky}"
    );

    // A pin that does not match refuses the plugin before its code runs; the
    // source that needs it is then a config error naming the connector.
    write_config(
        dir.path(),
        &format!("[plugins]\ndirs = [\"plugins\"]\nsha256 = {{ \"libtally_bluesky.so\" = \"{}\" }}\n\n{sources}", "0".repeat(64)),
    );
    let pinned = run(&["check", "--offline"]).await.unwrap();
    let stderr = text(&pinned.stderr);
    assert!(!pinned.status.success());
    assert!(
        stderr.contains("has SHA-256")
            && stderr.contains("configuration pins")
            && stderr.contains("unknown connector `bluesky`"),
        "{stderr}"
    );
    sandbox.shutdown().await;
}

#[test]
fn plugins_inspect_describes_a_plugin_without_pulling() {
    let plugin = bluesky_plugin();
    let dir = tempfile::tempdir().unwrap();
    let out = tally(
        dir.path(),
        &["plugins", "inspect", plugin.to_str().unwrap(), "--json"],
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    let described: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(described["abi_version"], tally_plugin_sdk::ABI_VERSION);
    assert_eq!(described["connectors"][0]["name"], "bluesky");
    assert_eq!(described["sha256"].as_str().unwrap().len(), 64);

    std::fs::write(dir.path().join("junk.so"), b"\x7fELF but not really").unwrap();
    let out = tally(dir.path(), &["plugins", "inspect", "junk.so"]);
    assert!(!out.status.success());
    assert!(
        text(&out.stderr).contains("junk.so is not a loadable shared library"),
        "{}",
        text(&out.stderr)
    );
}

#[test]
fn demo_runs_offline_and_prints_the_latest_values() {
    let dir = tempfile::tempdir().unwrap();
    let out = tally(dir.path(), &["demo", "--dir", "demo"]);
    let stdout = text(&out.stdout);
    assert!(out.status.success(), "{stdout}\n{}", text(&out.stderr));
    assert!(
        stdout.contains("bakery-youtube") && stdout.contains("audience.followers"),
        "{stdout}"
    );
    // The bakery's Meta sources: followers, reach, ad spend and leads.
    for line in [
        "bakery-facebook (facebook_pages)",
        "bakery-instagram (instagram)",
        "bakery-meta-ads (meta_ads)",
        "cost.spend",
        "conversions.leads",
        "reach.reach",
    ] {
        assert!(stdout.contains(line), "{line}: {stdout}");
    }
    assert!(dir.path().join("demo/tally.db").exists());
}

#[test]
fn logs_to_a_pipe_carry_no_colour_codes() {
    // A port nothing listens on: the pull fails and logs why.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let dir = tempfile::tempdir().unwrap();
    write_config(
        dir.path(),
        &format!(
            "[storage]\npath = \"tally.db\"\n\n[http]\nmax_attempts = 1\n\n{}",
            mastodon_source(
                "closed",
                &format!("http://127.0.0.1:{port}"),
                "bakery@example"
            )
        ),
    );
    let out = Command::new(env!("CARGO_BIN_EXE_tally"))
        .current_dir(dir.path())
        .env_remove("TALLY_CONFIG")
        .env_remove("NO_COLOR")
        .env("TALLY_LOG", "info")
        .args(["pull"])
        .output()
        .unwrap();
    let stderr = text(&out.stderr);
    assert!(stderr.contains("pull did not complete"), "{stderr}");
    assert!(!stderr.contains('\u{1b}'), "{stderr:?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_long_pull_shows_progress_on_a_terminal_and_nothing_extra_in_a_pipe() {
    let sandbox = Sandbox::start(
        SocketAddr::from(([127, 0, 0, 1], 0)),
        SandboxOptions::default(),
    )
    .await
    .unwrap();
    // Two sources on one instance share one rate limit of a request every
    // two seconds: the pull takes seconds, most of it waiting on that limit.
    let limited = "[sources.rate_limit]\nrequests = 1\nper = \"2s\"\nburst = 1\n\n";
    let mut config = String::from("[storage]\npath = \"tally.db\"\n\n");
    for id in ["first", "second"] {
        config += &mastodon_source(id, &sandbox.base_url("mastodon"), "bakery@sandbox.example")
            .replace("\n\n", &format!("\nmax_statuses = 1\n{limited}"));
    }
    let dir = tempfile::tempdir().unwrap();
    write_config(dir.path(), &config);
    let path = dir.path().to_path_buf();
    let (piped, terminal) = tokio::task::spawn_blocking(move || {
        let piped = tally(&path, &["pull"]);
        // `script` gives the command a terminal and copies what it draws.
        let command = format!("{} pull", env!("CARGO_BIN_EXE_tally"));
        let terminal = Command::new("script")
            .current_dir(&path)
            .env("TERM", "xterm")
            .env_remove("TALLY_CONFIG")
            .env_remove("TALLY_LOG")
            .args(["-q", "-e", "-c", &command, "/dev/null"])
            .output()
            .expect("util-linux `script` runs (apt-get install util-linux)");
        (piped, terminal)
    })
    .await
    .unwrap();
    assert!(piped.status.success(), "{}", text(&piped.stderr));
    assert_eq!(text(&piped.stderr), "", "nothing but the table in a pipe");
    let drawn = text(&terminal.stdout);
    assert!(terminal.status.success(), "{drawn}");
    assert!(drawn.contains("/2 sources"), "{drawn:?}");
    assert!(drawn.contains(" requests"), "{drawn:?}");
    let host = sandbox.base_url("mastodon");
    let host = host
        .trim_start_matches("http://")
        .split('/')
        .next()
        .unwrap();
    assert!(
        drawn.contains(&format!("waiting on the rate limit of mastodon@{host}")),
        "{drawn:?}"
    );
    sandbox.shutdown().await;
}

#[test]
fn check_warns_when_a_pinned_api_version_is_past_its_sunset() {
    let (ok, stderr) = check(
        "[[sources]]\nid = \"ads\"\nconnector = \"meta_ads\"\n\
         [sources.settings]\nad_account_id = \"act_1\"\napi_version = \"v24.0\"\n\
         [sources.auth]\nkind = \"bearer\"\ntoken = \"t\"\n",
    );
    assert!(ok, "{stderr}");
    assert!(
        stderr.contains("warning: source `ads`: API version v24.0 was retired on 2026-11-10; requests may fail or be upgraded by the platform; remove `api_version` to use v27.0 or pin a newer one"),
        "{stderr}"
    );
    // The default version's sunset is not announced: nothing to say.
    let (_, quiet) = check(
        "[[sources]]\nid = \"ads\"\nconnector = \"meta_ads\"\n\
         [sources.settings]\nad_account_id = \"act_1\"\n\
         [sources.auth]\nkind = \"bearer\"\ntoken = \"t\"\n",
    );
    assert!(!quiet.contains("warning"), "{quiet}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_meta_ads_insight_restated_within_the_lookback_is_stored_as_a_revision() {
    let sandbox = Sandbox::start(
        SocketAddr::from(([127, 0, 0, 1], 0)),
        SandboxOptions::default(),
    )
    .await
    .unwrap();
    let dir = tempfile::tempdir().unwrap();
    write_config(
        dir.path(),
        &format!(
            "[storage]\npath = \"tally.db\"\n\n[[sources]]\nid = \"ads\"\nconnector = \"meta_ads\"\n\
             base_url = \"{}\"\nsettle_days = 28\n[sources.settings]\nad_account_id = \"act_42\"\n\
             campaigns = false\nbreakdowns = []\n[sources.auth]\nkind = \"bearer\"\ntoken = \"t\"\n",
            sandbox.base_url("meta")
        ),
    );
    let path = dir.path().to_path_buf();
    let (first, second) = tokio::task::spawn_blocking(move || {
        let first = tally(&path, &["pull", "--format", "json"]);
        let second = tally(&path, &["pull", "--format", "json"]);
        (first, second)
    })
    .await
    .unwrap();
    let row = |out: &Output| -> serde_json::Value {
        assert!(out.status.success(), "{}", text(&out.stderr));
        serde_json::from_slice::<serde_json::Value>(&out.stdout).unwrap()[0].clone()
    };
    let (first, second) = (row(&first), row(&second));
    assert_eq!(first["revised"], 0, "{first}");
    // The second pull re-read the 28-day window: one late-attributed lead
    // changed, and only that value was revised; the rest were unchanged.
    assert_eq!(second["inserted"], 0, "{second}");
    assert_eq!(second["revised"], 1, "{second}");
    sandbox.shutdown().await;
}
