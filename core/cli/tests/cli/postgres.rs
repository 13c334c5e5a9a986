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
