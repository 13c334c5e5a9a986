//! What a newcomer does first, and inputs meant to break the binary: plugin
//! paths, the sandbox's and the demo's files, report formats, closed pipes,
//! oversized imports and damaged stores. Each test asserts the message a user
//! reads and that nothing was lost.

use super::{bluesky_plugin, tally, text};
use serde_json::Value;

#[test]
fn a_plugin_named_without_a_directory_is_found_in_the_current_directory() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::copy(bluesky_plugin(), dir.path().join("libsky-here.so")).unwrap();

    let inspected = tally(dir.path(), &["plugins", "inspect", "libsky-here.so"]);
    assert!(inspected.status.success(), "{}", text(&inspected.stderr));
    assert!(
        text(&inspected.stdout).contains("connector    bluesky (platform bluesky)"),
        "{}",
        text(&inspected.stdout)
    );

    let listed = tally(
        dir.path(),
        &[
            "--plugin",
            "libsky-here.so",
            "connectors",
            "--format",
            "json",
        ],
    );
    let stderr = text(&listed.stderr);
    assert!(
        listed.status.success() && !stderr.contains("refused"),
        "{stderr}"
    );
    let list: Value = serde_json::from_slice(&listed.stdout).unwrap();
    assert!(
        list.as_array()
            .unwrap()
            .iter()
            .any(|c| c["connector"] == "bluesky"),
        "{list}"
    );

    // In the config, a relative file is relative to the config's folder.
    let project = dir.path().join("project");
    std::fs::create_dir(&project).unwrap();
    std::fs::rename(
        dir.path().join("libsky-here.so"),
        project.join("libsky-here.so"),
    )
    .unwrap();
    super::write_config(&project, "[plugins]\nfiles = [\"libsky-here.so\"]\n");
    let listed = tally(
        dir.path(),
        &[
            "--config",
            "project/tally.toml",
            "connectors",
            "--format",
            "json",
        ],
    );
    let stderr = text(&listed.stderr);
    assert!(
        listed.status.success() && !stderr.contains("refused"),
        "{stderr}"
    );
    let list: Value = serde_json::from_slice(&listed.stdout).unwrap();
    let bluesky = list
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["connector"] == "bluesky");
    assert!(
        bluesky.is_some_and(|c| c["from"] == "project/libsky-here.so"),
        "{list}"
    );
}

/// A config with one client and a store, for tests that import points.
const STORE_CONFIG: &str = "[storage]\npath = \"tally.db\"\n\n[[clients]]\nid = \"bakery\"\nname = \"Corner Bakery\"\ntimezone = \"UTC\"\n";

/// A CSV of `days` daily lead counts of source `door-count`, one row each.
fn leads_csv(days: u32) -> String {
    let mut csv = String::from(
        "source,platform,entity,entity_name,metric,value,unit,kind,at,period_start,period_end\n",
    );
    let first = chrono::NaiveDate::from_ymd_opt(2020, 1, 1).unwrap();
    for day in 0..days {
        let date = first + chrono::Days::new(u64::from(day));
        csv += &format!(
            "door-count,offline,account:door,Front door,conversions.leads,{day},count,sum,{date},,\n"
        );
    }
    csv
}

/// A directory with the config and `rows` imported points.
fn imported(days: u32) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    super::write_config(dir.path(), STORE_CONFIG);
    std::fs::write(dir.path().join("leads.csv"), leads_csv(days)).unwrap();
    let out = tally(dir.path(), &["import", "leads.csv", "--client", "bakery"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    dir
}

#[test]
fn a_reader_that_stops_early_ends_the_output_quietly() {
    use std::io::BufRead as _;
    // Far more rows than a pipe buffers, so tally is still writing when the
    // reader goes away.
    let dir = imported(3000);
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_tally"))
        .current_dir(dir.path())
        .env_remove("TALLY_CONFIG")
        .args(["query"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut first = String::new();
    std::io::BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut first)
        .unwrap();
    assert!(first.starts_with("source"), "{first}");
    let out = child.wait_with_output().unwrap();
    assert_eq!(text(&out.stderr), "");
    assert_eq!(out.status.code(), Some(0));
}

#[test]
fn an_oversized_id_in_an_import_is_refused_with_its_line_and_nothing_is_stored() {
    let dir = imported(2);
    let long_id = "7".repeat(70_000);
    let csv = leads_csv(3).replacen("account:door,", &format!("account:{long_id},"), 1);
    std::fs::write(dir.path().join("huge.csv"), csv).unwrap();
    let out = tally(dir.path(), &["import", "huge.csv", "--client", "bakery"]);
    assert!(!out.status.success());
    assert_eq!(
        text(&out.stderr),
        format!(
            "error: huge.csv:2: entity id `{}…` is 70000 characters long, more than the 512 Tally stores; shorten it\n\
             1 problem(s); nothing of the file was stored, fix them and import it again\n",
            "7".repeat(40)
        )
    );
    // The two points imported before are all the store holds, and print as a table.
    let queried = tally(dir.path(), &["query"]);
    assert!(queried.status.success(), "{}", text(&queried.stderr));
    assert_eq!(text(&queried.stdout).lines().count(), 2 + 2);
}

#[test]
fn a_report_file_gets_the_format_its_extension_names() {
    let dir = imported(2);
    let out = tally(dir.path(), &["report", "-o", "x.html"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let html = std::fs::read_to_string(dir.path().join("x.html")).unwrap();
    assert!(
        html.starts_with("<!DOCTYPE html>"),
        "{}",
        &html[..80.min(html.len())]
    );

    let out = tally(dir.path(), &["report", "-o", "x.json"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let json = std::fs::read_to_string(dir.path().join("x.json")).unwrap();
    assert!(serde_json::from_str::<Value>(&json).is_ok(), "{json}");

    // A flag that contradicts the name writes nothing.
    let out = tally(dir.path(), &["report", "--format", "md", "-o", "y.html"]);
    assert!(!out.status.success());
    assert_eq!(
        text(&out.stderr),
        "error: --format md does not match y.html, whose extension says html; nothing was written: drop --format to write html, or name the file y.md\n"
    );
    assert!(!dir.path().join("y.html").exists());
}

#[test]
fn the_demo_refuses_a_folder_with_a_config_and_store_it_did_not_write() {
    let dir = imported(2);
    let config = std::fs::read(dir.path().join("tally.toml")).unwrap();
    let store = std::fs::read(dir.path().join("tally.db")).unwrap();
    let out = tally(dir.path(), &["demo", "--dir", "."]);
    assert!(!out.status.success());
    assert_eq!(text(&out.stdout), "");
    assert_eq!(
        text(&out.stderr),
        "error: ./tally.toml was not written by `tally demo`, which would replace it; nothing was changed. \
         Run the demo in a folder of its own, e.g. `tally demo --dir tally-demo`\n"
    );
    assert_eq!(
        std::fs::read(dir.path().join("tally.toml")).unwrap(),
        config
    );
    assert_eq!(std::fs::read(dir.path().join("tally.db")).unwrap(), store);

    // A store alone is refused too.
    std::fs::remove_file(dir.path().join("tally.toml")).unwrap();
    let out = tally(dir.path(), &["demo", "--dir", "."]);
    assert!(text(&out.stderr).starts_with("error: ./tally.db was not written by `tally demo`"));
    assert_eq!(std::fs::read(dir.path().join("tally.db")).unwrap(), store);
}

#[test]
fn the_demo_runs_again_in_its_own_folder_and_names_accounts_after_their_client() {
    let dir = tempfile::tempdir().unwrap();
    for _ in 0..2 {
        let out = tally(dir.path(), &["demo", "--dir", "demo"]);
        assert!(out.status.success(), "{}", text(&out.stderr));
        let stdout = text(&out.stdout);
        for source in [
            "bakery-yelp",
            "bakery-eventbrite",
            "bakery-surveymonkey",
            "bakery-x",
        ] {
            let ok = stdout.lines().any(|l| {
                l.split_whitespace().next() == Some(source)
                    && l.split_whitespace().nth(2) == Some("ok")
            });
            assert!(ok, "{source} pulled ok in {stdout}");
        }
        for line in [
            "  bakery-youtube (youtube) Corner Bakery\n",
            "  bakery-mastodon (mastodon) Corner Bakery\n",
            "  gym-youtube (youtube) Riverside Gym\n",
            "  gym-mastodon (mastodon) Riverside Gym\n",
            "  bakery-yelp (yelp) Corner Bakery\n",
            "  bakery-x (x) Corner Bakery\n",
        ] {
            assert!(stdout.contains(line), "{line:?} in {stdout}");
        }
    }
}

/// Kills the sandbox a test started, whatever the test's outcome.
struct Running(std::process::Child);

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[test]
fn what_the_sandbox_prints_works_as_pasted() {
    use std::io::BufRead as _;
    // The Bluesky plugin, built next to the `tally` binary as a workspace build leaves it.
    let plugin = bluesky_plugin();
    let exe = std::path::PathBuf::from(env!("CARGO_BIN_EXE_tally"));
    assert_eq!(plugin.parent(), exe.parent());

    let dir = tempfile::tempdir().unwrap();
    let mut sandbox = Running(
        std::process::Command::new(&exe)
            .current_dir(dir.path())
            .env_remove("TALLY_CONFIG")
            .args(["sandbox", "--port", "0"])
            .stdout(std::process::Stdio::piped())
            .spawn()
            .unwrap(),
    );
    let mut printed = String::new();
    let mut lines = std::io::BufReader::new(sandbox.0.stdout.take().unwrap()).lines();
    // Up to the last line of the last block.
    while printed.matches("[sources.auth]").count() < 10
        || !printed.ends_with("token = \"sandbox-token\"\n")
    {
        printed += &lines.next().unwrap().unwrap();
        printed.push('\n');
    }
    assert!(
        printed.contains(&format!("[plugins]\nfiles = [\"{}\"]\n", plugin.display())),
        "{printed}"
    );
    std::fs::write(dir.path().join("tally.toml"), &printed).unwrap();

    let checked = tally(dir.path(), &["check"]);
    let stdout = text(&checked.stdout);
    assert!(
        checked.status.success(),
        "{stdout}{}",
        text(&checked.stderr)
    );
    for source in [
        "sandbox-youtube",
        "sandbox-mastodon",
        "sandbox-bluesky",
        "sandbox-ga4",
        "sandbox-google_business_profile",
        "sandbox-youtube_analytics",
        "sandbox-yelp",
        "sandbox-eventbrite",
        "sandbox-surveymonkey",
        "sandbox-x",
    ] {
        assert!(stdout.contains(&format!("{source}: ok")), "{stdout}");
    }
    let pulled = tally(dir.path(), &["pull", "--format", "json"]);
    assert!(pulled.status.success(), "{}", text(&pulled.stderr));
    let rows: Value = serde_json::from_slice(&pulled.stdout).unwrap();
    assert_eq!(rows.as_array().unwrap().len(), 10);
    assert!(
        rows.as_array().unwrap().iter().all(|r| r["status"] == "ok"),
        "{rows}"
    );
}

#[test]
fn a_goal_counts_a_source_that_tally_import_fills() {
    let goal = |source: &str| {
        format!(
            "{STORE_CONFIG}\n[[goals]]\nid = \"leads\"\nclient = \"bakery\"\nmetric = \"conversions.leads\"\nsources = [\"{source}\"]\nkind = \"total\"\ntarget = 40\nperiod = \"month\"\n"
        )
    };
    let dir = tempfile::tempdir().unwrap();
    super::write_config(dir.path(), &goal("door-count"));

    // The config alone cannot know imports: the offline check says so and passes.
    let offline = tally(dir.path(), &["check", "--offline"]);
    assert!(offline.status.success(), "{}", text(&offline.stderr));
    assert_eq!(
        text(&offline.stdout),
        "tally.toml: ok (0 sources, 1 clients, 1 goals, 0 costs)\n\
         note: goal `leads`: source `door-count` is not configured; fine if it is imported (`tally check` without --offline looks in the store)\n"
    );
    // The store does not know it yet.
    let online = tally(dir.path(), &["check"]);
    assert!(!online.status.success());
    assert_eq!(
        text(&online.stdout),
        "tally.toml: ok (0 sources, 1 clients, 1 goals, 0 costs)\n\
         goal `leads`: source `door-count` is neither a [[sources]] entry nor imported; import its points first (`tally import FILE --client bakery`) or correct the name\n"
    );

    std::fs::write(dir.path().join("leads.csv"), leads_csv(3)).unwrap();
    let out = tally(dir.path(), &["import", "leads.csv", "--client", "bakery"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let online = tally(dir.path(), &["check"]);
    assert!(online.status.success(), "{}", text(&online.stdout));
    let goals = tally(
        dir.path(),
        &["goals", "--at", "2020-01-31", "--format", "json"],
    );
    assert!(goals.status.success(), "{}", text(&goals.stderr));
    let rows: Value = serde_json::from_slice(&goals.stdout).unwrap();
    assert_eq!(rows[0]["id"], "leads", "{rows}");
    assert_eq!(rows[0]["scope"], "sources door-count", "{rows}");
    // 0 + 1 + 2 leads on the first three days of January 2020.
    assert_eq!(rows[0]["actual"], 3.0, "{rows}");

    // A name known nowhere is still an error, with the nearest known source.
    super::write_config(dir.path(), &goal("door-cuont"));
    let online = tally(dir.path(), &["check"]);
    assert!(!online.status.success());
    assert!(
        text(&online.stdout).ends_with(
            "goal `leads`: source `door-cuont` is neither a [[sources]] entry nor imported; did you mean `door-count`?\n"
        ),
        "{}",
        text(&online.stdout)
    );
    let goals = tally(dir.path(), &["goals"]);
    assert!(!goals.status.success());
    assert!(
        text(&goals.stderr).contains("goal `leads`: source `door-cuont` is neither a [[sources]] entry nor imported; did you mean `door-count`?"),
        "{}",
        text(&goals.stderr)
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn bodies_cut_short_by_the_platform_are_retried_and_the_pull_succeeds() {
    use tally_sandbox::{FaultOptions, Sandbox, SandboxOptions};
    let options = SandboxOptions {
        faults: FaultOptions {
            malformed_rate: 0.3,
            ..FaultOptions::default()
        },
        ..SandboxOptions::default()
    };
    let sandbox = Sandbox::start(std::net::SocketAddr::from(([127, 0, 0, 1], 0)), options)
        .await
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let mut config = String::from(
        "[storage]\npath = \"tally.db\"\n\n[http]\nbackoff_base = \"10ms\"\nbackoff_max = \"50ms\"\n\n",
    );
    for n in 0..4 {
        config += &super::mastodon_source(
            &format!("masto-{n}"),
            &sandbox.base_url("mastodon"),
            &format!("account{n}@sandbox.example"),
        );
    }
    super::write_config(dir.path(), &config);
    let pulled = tokio::task::spawn_blocking({
        let dir = dir.path().to_path_buf();
        move || tally(&dir, &["pull", "--format", "json"])
    })
    .await
    .unwrap();
    let rows: Value = serde_json::from_slice(&pulled.stdout).unwrap();
    assert!(pulled.status.success(), "{rows}\n{}", text(&pulled.stderr));
    let rows = rows.as_array().unwrap();
    assert!(rows.iter().all(|r| r["status"] == "ok"), "{rows:?}");
    let retries: f64 = rows.iter().map(|r| r["retries"].as_f64().unwrap()).sum();
    assert!(retries > 0.0, "the sandbox cut some bodies short: {rows:?}");
    sandbox.shutdown().await;
}

#[test]
fn a_store_with_damaged_pages_refuses_writes_and_says_what_to_do() {
    let dir = imported(3000);
    let db = dir.path().join("tally.db");
    let mut bytes = std::fs::read(&db).unwrap();
    // Garbage over one page in the middle of the file, as a disk fault leaves it.
    let page = 4096;
    let middle = bytes.len() / page / 2 * page;
    bytes[middle..middle + page].fill(0xA5);
    std::fs::write(&db, &bytes).unwrap();

    for command in [&["pull"][..], &["import", "leads.csv"][..]] {
        let out = tally(dir.path(), command);
        assert!(!out.status.success(), "{command:?}");
        let stderr = text(&out.stderr);
        assert!(
            stderr.starts_with("error: database tally.db is damaged (")
                && stderr.ends_with(
                    "); nothing was written to it. Restore it from a backup, or save what is readable with \
                     `sqlite3 tally.db .recover | sqlite3 recovered.db` and point [storage] path at recovered.db; \
                     `tally query`, `goals`, `report` and `runs` still read what they can of it\n"
                ),
            "{command:?}: {stderr}"
        );
        assert_eq!(
            std::fs::read(&db).unwrap(),
            bytes,
            "{command:?} wrote to it"
        );
    }
}

#[test]
fn reading_commands_work_on_a_store_the_user_may_not_write() {
    use std::os::unix::fs::{MetadataExt as _, PermissionsExt as _};
    use std::os::unix::process::CommandExt as _;
    let dir = imported(3);
    let db = dir.path().join("tally.db");
    let bytes = std::fs::read(&db).unwrap();
    std::fs::set_permissions(&db, std::fs::Permissions::from_mode(0o444)).unwrap();
    std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o555)).unwrap();
    // Permissions do not bind root: run tally as nobody then, from a copy
    // nobody can reach (the checkout may sit in a directory only root enters).
    let root = std::fs::metadata(&db).unwrap().uid() == 0;
    let bin_dir = tempfile::tempdir().unwrap();
    let tally = if root {
        std::fs::set_permissions(bin_dir.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
        let copy = bin_dir.path().join("tally");
        std::fs::copy(env!("CARGO_BIN_EXE_tally"), &copy).unwrap();
        std::fs::set_permissions(&copy, std::fs::Permissions::from_mode(0o755)).unwrap();
        copy
    } else {
        std::path::PathBuf::from(env!("CARGO_BIN_EXE_tally"))
    };
    let run = |args: &[&str]| {
        let mut command = std::process::Command::new(&tally);
        command
            .current_dir(dir.path())
            .env_remove("TALLY_CONFIG")
            .args(args);
        if root {
            command.uid(65534).gid(65534);
        }
        command.output().unwrap()
    };
    let queried = run(&["query"]);
    assert!(queried.status.success(), "{}", text(&queried.stderr));
    assert_eq!(text(&queried.stdout).lines().count(), 2 + 3);
    for reading in [&["goals"][..], &["runs"][..], &["report"][..]] {
        let out = run(reading);
        assert!(out.status.success(), "{reading:?}: {}", text(&out.stderr));
    }
    // A writer is told what is wrong; nothing changed.
    let imported = run(&["import", "leads.csv"]);
    assert!(!imported.status.success());
    assert!(
        text(&imported.stderr).contains("that its directory exists and is writable"),
        "{}",
        text(&imported.stderr)
    );
    std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    assert_eq!(std::fs::read(&db).unwrap(), bytes);
    let mut files: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    files.sort();
    assert_eq!(files, ["leads.csv", "tally.db", "tally.toml"]);
}
