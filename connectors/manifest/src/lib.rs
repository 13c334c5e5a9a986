//! Declarative connectors: a platform described in a TOML manifest
//! (`NAME.connector.toml`) instead of Rust.
//!
//! Why the engine looks the way it does:
//!
//! - **One connector API.** A compiled manifest is a [`ManifestConnector`],
//!   which implements `tally_model::Connector`; the host paces, authenticates,
//!   retries and records it exactly like a Rust connector. A manifest never
//!   holds a secret, never runs a token flow and never retries.
//! - **Compiled once, at load.** Every template, name, metric and unit is
//!   checked when the manifest loads ([`load`]), with the file's
//!   `line:column`; a pull only evaluates. Values keep their JSON type.
//! - **Primitives, not a language.** request, auth, paginate, records,
//!   fan_out, window, points, switch, errors and incremental, each in its own
//!   module; `REFERENCE.md` beside this crate documents every key.
//!
//! Built-in manifests live in `builtin/` and are listed by `build.rs`, so
//! adding one is adding its file.

mod aggregate;
mod compile;
mod engine;
pub mod error;
mod errors;
mod guard;
mod points;
mod records;
mod request;
mod spec;
pub mod template;
mod window;

pub use engine::ManifestConnector;
pub use error::ManifestError;

use std::path::Path;
use std::sync::Arc;
use tally_model::Connector;

/// Compiles manifest `text`; `file` names it in errors (`file:line:column`).
pub fn load(file: &str, text: &str) -> Result<ManifestConnector, ManifestError> {
    compile::compile(file, text).map(ManifestConnector::new)
}

/// Reads and compiles a manifest file.
pub fn load_file(path: &Path) -> Result<ManifestConnector, ManifestError> {
    let file = path.display().to_string();
    let text = std::fs::read_to_string(path).map_err(|e| ManifestError {
        file: file.clone(),
        line: 1,
        column: 1,
        message: format!("could not read the manifest: {e}"),
    })?;
    load(&file, &text)
}

/// Every `*.connector.toml` directly in `dir`, sorted by name: what
/// `[plugins] dirs` contributes besides shared libraries. A missing folder
/// holds none.
pub fn manifest_files(dir: &Path) -> Vec<std::path::PathBuf> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut files: Vec<_> = entries
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| {
            p.file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.ends_with(".connector.toml"))
        })
        .collect();
    files.sort();
    files
}

include!(concat!(env!("OUT_DIR"), "/builtin.rs"));

/// The manifests compiled into this crate (`builtin/*.connector.toml`), as
/// `(file name, text)`.
pub fn builtin_sources() -> &'static [(&'static str, &'static str)] {
    BUILTIN
}

/// The built-in manifest connectors, for the `tally` binary's catalog. A
/// built-in manifest that does not compile is an error here (and fails this
/// crate's tests first).
pub fn builtin_connectors() -> Result<Vec<Arc<dyn Connector>>, ManifestError> {
    BUILTIN
        .iter()
        .map(|(file, text)| {
            load(&format!("connectors/manifest/builtin/{file}"), text)
                .map(|c| Arc::new(c) as Arc<dyn Connector>)
        })
        .collect()
}

/// One built-in manifest connector by its connector name.
pub fn builtin(name: &str) -> Option<ManifestConnector> {
    BUILTIN
        .iter()
        .filter_map(|(file, text)| load(file, text).ok())
        .find(|c| c.describe().name == name)
}
