//! Building plugins from tests and benchmarks.
//!
//! A test that loads a plugin needs the shared library on disk, and `cargo test`
//! does not promise to have built a workspace member's `cdylib` (a single test run
//! alone certainly has not). [`build_cdylibs`] runs `cargo build` for the packages
//! and reads the exact artifact paths from cargo's JSON messages, so it works with
//! any `CARGO_TARGET_DIR`, profile layout or platform file name.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

/// Builds `packages` (workspace members with a `cdylib` target) in `workspace`
/// with the cargo that runs the current test (`$CARGO`, else `cargo`), in the
/// default dev profile, and returns each package's shared library by package name.
///
/// Pass `--release` or other flags through `extra_args`.
pub fn build_cdylibs(
    workspace: &Path,
    packages: &[&str],
    extra_args: &[&str],
) -> Result<BTreeMap<String, PathBuf>, String> {
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let mut command = Command::new(cargo);
    command
        .current_dir(workspace)
        .args(["build", "--message-format=json-render-diagnostics"]);
    for package in packages {
        command.args(["-p", package]);
    }
    command.args(extra_args);
    let output = command
        .output()
        .map_err(|e| format!("could not run cargo to build {packages:?}: {e}"))?;
    if !output.status.success() {
        return Err(format!(
            "cargo build of {packages:?} failed ({}):\n{}",
            output.status,
            String::from_utf8_lossy(&output.stderr)
        ));
    }
    let mut found = BTreeMap::new();
    for line in String::from_utf8_lossy(&output.stdout).lines() {
        let Ok(message) = serde_json::from_str::<serde_json::Value>(line) else {
            continue;
        };
        if message["reason"] != "compiler-artifact" {
            continue;
        }
        let is_cdylib = message["target"]["kind"]
            .as_array()
            .is_some_and(|kinds| kinds.iter().any(|k| k == "cdylib"));
        if !is_cdylib {
            continue;
        }
        let target = message["target"]["name"].as_str().unwrap_or_default();
        let package_id = message["package_id"].as_str().unwrap_or_default();
        let Some(package) = packages.iter().find(|p| {
            target == p.replace('-', "_")
                || package_id.contains(&format!("#{p}@"))
                || package_id.starts_with(&format!("{p} "))
        }) else {
            continue;
        };
        let library = message["filenames"].as_array().and_then(|files| {
            files
                .iter()
                .filter_map(|f| f.as_str())
                .find(|f| f.ends_with(&format!(".{}", std::env::consts::DLL_EXTENSION)))
        });
        if let Some(library) = library {
            found.insert((*package).to_string(), PathBuf::from(library));
        }
    }
    for package in packages {
        if !found.contains_key(*package) {
            return Err(format!(
                "cargo built {package} but reported no shared library; is `crate-type = [\"cdylib\"]` set?"
            ));
        }
    }
    Ok(found)
}

/// The workspace root above a crate's manifest directory: the nearest ancestor
/// whose `Cargo.toml` has a `[workspace]` table (or `dir` itself).
pub fn workspace_root(dir: &Path) -> PathBuf {
    dir.ancestors()
        .find(|d| {
            std::fs::read_to_string(d.join("Cargo.toml"))
                .is_ok_and(|text| text.lines().any(|l| l.trim() == "[workspace]"))
        })
        .unwrap_or(dir)
        .to_path_buf()
}
