//! Generates the list of built-in connectors from this crate's own dependencies,
//! so registering one is the single line that adds it to `[dependencies]`.
//!
//! A dependency is a built-in connector when its crate lives under the
//! workspace's `connectors/` folder (by `path`, or by `workspace = true` and the
//! workspace's `path`). Its connector type is named after the crate, as
//! `tally new-connector` names it: `tally-acme-social` exports `AcmeSocial`, a
//! unit struct implementing `Connector`. The list is written to
//! `$OUT_DIR/builtin.rs` and included by `src/builtin.rs`.

use std::path::Path;

#[path = "src/names.rs"]
mod names;

fn main() {
    let manifest = Path::new(env!("CARGO_MANIFEST_DIR"));
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
        if path.is_some_and(|p| p.starts_with("connectors/")) {
            connectors.push(name.clone());
        }
    }
    let entries: Vec<String> = connectors
        .iter()
        .map(|name| {
            let lib = name.replace('-', "_");
            let type_name = names::title_words(name.trim_start_matches("tally-")).concat();
            format!("    || std::sync::Arc::new({lib}::{type_name}),\n")
        })
        .collect();
    let code = format!(
        "/// Makers of the connectors compiled in: the `connectors/` crates among this crate's dependencies.\n\
         const BUILTIN: &[fn() -> std::sync::Arc<dyn tally_model::Connector>] = &[\n{}];\n",
        entries.concat()
    );
    let out = Path::new(&std::env::var("OUT_DIR").unwrap_or_else(|e| panic!("OUT_DIR: {e}")))
        .join("builtin.rs");
    std::fs::write(&out, code).unwrap_or_else(|e| panic!("writing {}: {e}", out.display()));
}

/// A TOML file, parsed.
fn table(path: &Path) -> toml::Table {
    let text = std::fs::read_to_string(path)
        .unwrap_or_else(|e| panic!("could not read {}: {e}", path.display()));
    toml::from_str(&text).unwrap_or_else(|e| panic!("{} does not parse: {e}", path.display()))
}
