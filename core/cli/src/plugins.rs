//! Connectors from shared libraries: `--plugin FILE` on the command line and
//! `[plugins] dirs` and `files` in the config, added to the built-in catalog;
//! and connector manifests (`*.connector.toml`) found in the same `dirs`.
//!
//! The config can only be validated once every connector is known (a source may
//! name a plugin's connector), so the `[plugins]` table is read on its own first.
//! A plugin that is refused is reported on stderr and left out; everything else
//! keeps working.

use std::path::{Path, PathBuf};
use std::sync::OnceLock;
use tally_config::PluginsConfig;
use tally_host::catalog::{Catalog, Origin};
use tally_host::plugin::{load_into, open_plugin, register};

static COMMAND_LINE_PLUGINS: OnceLock<Vec<PathBuf>> = OnceLock::new();

/// Remembers the `--plugin` files for every catalog this process builds.
pub fn set_command_line_plugins(paths: Vec<PathBuf>) {
    // Set once from main before any command runs.
    let _ = COMMAND_LINE_PLUGINS.set(paths);
}

/// Built-in connectors plus the plugins from the command line and from the
/// config at `config_path` (when it exists).
pub fn catalog(config_path: &Path) -> anyhow::Result<Catalog> {
    let mut catalog = crate::builtin::catalog()?;
    for path in COMMAND_LINE_PLUGINS.get().into_iter().flatten() {
        load_file(&mut catalog, path, None);
    }
    if let Some(plugins) = plugins_table(config_path) {
        let base = config_path.parent().unwrap_or(Path::new(""));
        let dirs: Vec<PathBuf> = plugins.dirs.iter().map(|d| base.join(d)).collect();
        let (_, refused) = load_into(&mut catalog, &dirs, &plugins.sha256);
        report(&refused);
        for dir in &dirs {
            load_manifests(&mut catalog, dir);
        }
        for file in &plugins.files {
            let pin = file
                .file_name()
                .and_then(|name| plugins.sha256.get(&*name.to_string_lossy()));
            load_file(&mut catalog, &base.join(file), pin.map(String::as_str));
        }
    }
    Ok(catalog)
}

/// Adds every `*.connector.toml` manifest in `dir` to the catalog; one that
/// does not compile (or clashes) is reported on stderr with its
/// `file:line:column` and left out.
fn load_manifests(catalog: &mut Catalog, dir: &Path) {
    for file in tally_manifest::manifest_files(dir) {
        let added = tally_manifest::load_file(&file)
            .map_err(|e| e.to_string())
            .and_then(|connector| {
                catalog
                    .add(std::sync::Arc::new(connector), Origin::Plugin(file.clone()))
                    .map_err(|e| e.to_string())
            });
        if let Err(error) = added {
            eprintln!("warning: manifest refused: {error}");
        }
    }
}

/// Loads one plugin file into the catalog, reporting a refusal on stderr.
fn load_file(catalog: &mut Catalog, path: &Path, pin: Option<&str>) {
    let refused = match open_plugin(path, pin) {
        Ok(plugin) => register(catalog, vec![plugin]).1,
        Err(error) => vec![error],
    };
    report(&refused);
}

/// The `[plugins]` table alone; `None` when the file is absent or does not parse
/// (the full validation that follows reports those problems with their location).
fn plugins_table(config_path: &Path) -> Option<PluginsConfig> {
    let text = std::fs::read_to_string(config_path).ok()?;
    let mut table: toml::Table = toml::from_str(&text).ok()?;
    let plugins = table.remove("plugins")?;
    plugins.try_into().ok()
}

fn report(refused: &[tally_host::plugin::PluginError]) {
    for error in refused {
        eprintln!("warning: plugin refused: {error}");
    }
}
