//! `tally new-connector`: the crate it generates builds and passes its own tests,
//! the conformance kit included, without a single edit; bad names and occupied
//! directories are refused before anything is written.

use super::{tally, text};
use std::path::{Path, PathBuf};
use std::process::Command;

/// The target directory of this workspace, so the generated crate reuses the
/// dependencies this test run already compiled.
fn target_dir() -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target"))
}

/// Runs the cargo that runs this test in `dir`, offline, as is every cargo it
/// starts (tests reach only 127.0.0.1; every dependency is in the local
/// registry cache already).
fn cargo(dir: &Path, args: &[&str]) -> std::process::Output {
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    Command::new(cargo)
        .current_dir(dir)
        .env("CARGO_TARGET_DIR", target_dir())
        .env("CARGO_NET_OFFLINE", "true")
        .args(args)
        .output()
        .expect("cargo runs")
}

#[test]
fn a_generated_connector_passes_its_own_tests_and_the_conformance_kit_unchanged() {
    let dir = tempfile::tempdir().unwrap();
    let out = tally(
        dir.path(),
        &["new-connector", "acme-social", "--dir", "acme"],
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    let listing = text(&out.stdout);
    assert!(
        listing.contains("Created connector `acme-social` (crate tally-acme-social)")
            && listing.contains("tests/support/mod.rs"),
        "{listing}"
    );
    let crate_dir = dir.path().join("acme");

    let fmt = cargo(&crate_dir, &["fmt", "--check"]);
    assert!(fmt.status.success(), "{}", text(&fmt.stdout));
    let test = cargo(&crate_dir, &["test"]);
    let report = format!("{}\n{}", text(&test.stdout), text(&test.stderr));
    assert!(test.status.success(), "{report}");
    for passed in [
        "test conformance ... ok",
        "test happy_path_emits_account_and_post_points_across_pages ... ok",
        "test tests::settings_are_documented_once ... ok",
        "test the_plugin_build_passes_the_conformance_kit_too ... ok",
    ] {
        assert!(
            report.contains(passed),
            "`{passed}` missing from:\n{report}"
        );
    }
    assert!(
        !report.contains("warning: `tally-acme-social`"),
        "the generated crate compiles with warnings:\n{report}"
    );
}

#[test]
fn bad_names_occupied_directories_and_foreign_checkouts_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let out = tally(dir.path(), &["new-connector", "Acme Social"]);
    assert!(!out.status.success());
    assert!(
        text(&out.stderr).contains("must start with a lower-case letter"),
        "{}",
        text(&out.stderr)
    );

    std::fs::create_dir(dir.path().join("taken")).unwrap();
    std::fs::write(dir.path().join("taken/notes.txt"), "mine").unwrap();
    let out = tally(dir.path(), &["new-connector", "acme", "--dir", "taken"]);
    assert!(!out.status.success());
    assert!(
        text(&out.stderr).contains("taken already exists and is not empty"),
        "{}",
        text(&out.stderr)
    );
    let kept: Vec<_> = std::fs::read_dir(dir.path().join("taken"))
        .unwrap()
        .collect();
    assert_eq!(kept.len(), 1);

    let elsewhere = dir.path().to_str().unwrap();
    let out = tally(
        dir.path(),
        &["new-connector", "acme", "--tally-path", elsewhere],
    );
    assert!(!out.status.success());
    assert!(
        text(&out.stderr).contains("is not a Tally checkout"),
        "{}",
        text(&out.stderr)
    );
    assert!(!dir.path().join("acme").exists());
}

#[test]
fn a_generated_manifest_passes_its_own_tests_and_the_conformance_kit_unchanged() {
    let dir = tempfile::tempdir().unwrap();
    let out = tally(
        dir.path(),
        &[
            "new-connector",
            "acme-social",
            "--manifest",
            "--dir",
            "acme",
        ],
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    let listing = text(&out.stdout);
    assert!(
        listing.contains("acme-social.connector.toml") && listing.contains("tests/manifest.rs"),
        "{listing}"
    );
    let crate_dir = dir.path().join("acme");
    let test = cargo(&crate_dir, &["test"]);
    let report = format!("{}\n{}", text(&test.stdout), text(&test.stderr));
    assert!(test.status.success(), "{report}");
    for passed in [
        "test conformance ... ok",
        "test the_fixtures_become_account_and_post_points ... ok",
    ] {
        assert!(
            report.contains(passed),
            "`{passed}` missing from:\n{report}"
        );
    }
}
