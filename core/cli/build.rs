//! Generates the list of built-in connectors from this crate's own dependencies,
//! so registering one is the single line that adds it to `[dependencies]`.
//!
//! A dependency is a built-in connector when its crate lives under the
//! workspace's `connectors/` folder (by `path`, or by `workspace = true` and the
//! workspace's `path`). Its connector type is named after the crate, as
//! `tally new-connector` names it: `tally-acme-social` exports `AcmeSocial`, a
//! unit struct implementing `Connector`. A crate that holds a family of
//! connectors (one API, several products) names its unit structs instead, in
//! its own `Cargo.toml`: `[package.metadata.tally] connectors = ["FacebookPages",
//! "Instagram"]`. A crate whose connectors are data rather than types (the
//! manifest engine's built-in `*.connector.toml` files) names functions
//! returning them instead: `connector_sets = ["builtin_connectors"]`. The list
//! is written to `$OUT_DIR/builtin.rs` and included by `src/builtin.rs`.

use std::path::Path;

#[path = "src/names.rs"]
mod names;

fn main() {
    let manifest = Path::new(env!("CARGO_MANIFEST_DIR"));
    // The functions a pull runs first, relocations packed (tally-link-layout).
    tally_link_layout::release_layout(
        tally_link_layout::Artifact::Bin("tally"),
        &manifest.join("link/hot-text.order"),
    );
    let workspace = manifest.join("../../Cargo.toml");
    println!("cargo:rerun-if-changed=Cargo.toml");
    println!("cargo:rerun-if-changed=src/names.rs");
    println!("cargo:rerun-if-changed={}", workspace.display());
    let own = table(&manifest.join("Cargo.toml"));
    let root = table(&workspace);
    let shared = root
        .get("workspace")
        .and_then(|w| w.get("dependencies"))
        .and_then(toml::Value::as_table);
    let mut connectors = Vec::new();
    let deps = own.get("dependencies").and_then(toml::Value::as_table);
    for (name, spec) in deps.into_iter().flatten() {
        let path = match spec.get("workspace").and_then(toml::Value::as_bool) {
            Some(true) => shared
                .and_then(|d| d.get(name))
                .and_then(|d| d.get("path"))
                .and_then(toml::Value::as_str)
                .map(|p| p.to_string()),
            _ => spec
                .get("path")
                .and_then(toml::Value::as_str)
                .map(|p| p.trim_start_matches("../../").to_string()),
        };
        if let Some(path) = path.filter(|p| p.starts_with("connectors/")) {
            connectors.push((name.clone(), path));
        }
    }
    let entries: Vec<String> = connectors
        .iter()
        .flat_map(|(name, path)| {
            let lib = name.replace('-', "_");
            type_names(name, &manifest.join("../..").join(path))
                .into_iter()
                .map(move |type_name| format!("    || std::sync::Arc::new({lib}::{type_name}),\n"))
        })
        .collect();
    let sets: Vec<String> = connectors
        .iter()
        .flat_map(|(name, path)| {
            let lib = name.replace('-', "_");
            metadata_list(&manifest.join("../..").join(path), "connector_sets")
                .unwrap_or_default()
                .into_iter()
                .map(move |f| format!("    || Ok({lib}::{f}()?),\n"))
        })
        .collect();
    let code = format!(
        "/// Makers of the connectors compiled in: the `connectors/` crates among this crate's dependencies.\n\
         const BUILTIN: &[fn() -> std::sync::Arc<dyn tally_model::Connector>] = &[\n{}];\n\
         /// Makers of the connector sets compiled in (built-in manifests).\n\
         const BUILTIN_SETS: &[fn() -> ConnectorSet] = &[\n{}];\n",
        entries.concat(),
        sets.concat()
    );
    let out = Path::new(&std::env::var("OUT_DIR").unwrap_or_else(|e| panic!("OUT_DIR: {e}")))
        .join("builtin.rs");
    std::fs::write(&out, code).unwrap_or_else(|e| panic!("writing {}: {e}", out.display()));
}

/// The connector types a crate exports: those its `[package.metadata.tally]`
/// names, none when it lists only `connector_sets`, or the one named after the crate.
fn type_names(crate_name: &str, dir: &Path) -> Vec<String> {
    match metadata_list(dir, "connectors") {
        Some(list) => list,
        None if metadata_list(dir, "connector_sets").is_some() => Vec::new(),
        None => vec![names::title_words(crate_name.trim_start_matches("tally-")).concat()],
    }
}

/// A list of names under the crate's `[package.metadata.tally]`, if it has the key.
fn metadata_list(dir: &Path, key: &str) -> Option<Vec<String>> {
    let manifest = dir.join("Cargo.toml");
    println!("cargo:rerun-if-changed={}", manifest.display());
    let own = table(&manifest);
    let listed = own
        .get("package")
        .and_then(|p| p.get("metadata"))
        .and_then(|m| m.get("tally"))
        .and_then(|t| t.get(key))
        .and_then(toml::Value::as_array)?;
    Some(
        listed
            .iter()
            .map(|v| {
                v.as_str()
                    .unwrap_or_else(|| {
                        panic!("{}: `{key}` must be a list of names", manifest.display())
                    })
                    .to_string()
            })
            .collect(),
    )
}

/// A TOML file, parsed.
fn table(path: &Path) -> toml::Table {
    let text = std::fs::read_to_string(path)
        .unwrap_or_else(|e| panic!("could not read {}: {e}", path.display()));
    toml::from_str(&text).unwrap_or_else(|e| panic!("{} does not parse: {e}", path.display()))
}
