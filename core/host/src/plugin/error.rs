//! Why a plugin was refused. Every message names the file and says what to do.

use crate::catalog::CatalogError;
use std::path::{Path, PathBuf};

/// A plugin that could not be loaded or registered. The host logs it and carries
/// on without that plugin.
#[derive(Debug, thiserror::Error)]
pub enum PluginError {
    /// A configured plugin directory could not be listed.
    #[error("plugin directory {}: {message}; fix `[plugins] dirs` in the config or create the directory", dir.display())]
    Dir {
        /// The directory.
        dir: PathBuf,
        /// What went wrong.
        message: String,
    },
    /// The file could not be read (to hash it).
    #[error("could not read plugin {}: {message}", path.display())]
    Read {
        /// The plugin file.
        path: PathBuf,
        /// The I/O error.
        message: String,
    },
    /// The file's SHA-256 is not the pinned one.
    #[error(
        "plugin {} has SHA-256 {actual}, but the configuration pins {expected}; if you rebuilt or upgraded the plugin on purpose, update the pin, otherwise do not use this file",
        path.display()
    )]
    HashMismatch {
        /// The plugin file.
        path: PathBuf,
        /// The pinned digest.
        expected: String,
        /// The file's digest.
        actual: String,
    },
    /// The dynamic loader refused the file.
    #[error(
        "{} is not a loadable shared library ({message}); a plugin must be a shared library built for this platform (a Rust `cdylib`, or C compiled with `-shared -fPIC`): rebuild it, or remove it from the plugin directory",
        path.display()
    )]
    NotALibrary {
        /// The plugin file.
        path: PathBuf,
        /// The loader's message.
        message: String,
    },
    /// A shared library without the entry symbol.
    #[error(
        "{} is a shared library but does not export `{symbol}`, so it is not a Tally plugin; build it with `tally_plugin_sdk::export_connector!` (or export the symbol as plugins/sdk/README.md describes), or remove it from the plugin directory",
        path.display()
    )]
    MissingSymbol {
        /// The plugin file.
        path: PathBuf,
        /// The symbol looked for.
        symbol: &'static str,
    },
    /// The plugin speaks another ABI version.
    #[error(
        "plugin {} was built for plugin ABI version {found}, but this Tally speaks plugin ABI version {expected}; rebuild the plugin against tally-plugin-sdk {sdk_version} (ABI {expected}), or run it with a Tally whose plugin ABI is {found}",
        path.display()
    )]
    AbiMismatch {
        /// The plugin file.
        path: PathBuf,
        /// The plugin's ABI version.
        found: u32,
        /// The host's ABI version.
        expected: u32,
        /// The host's SDK version, to rebuild against.
        sdk_version: &'static str,
    },
    /// The table is NULL, too small or lacks a function.
    #[error(
        "plugin {} exports a broken function table: {message}; rebuild it against tally-plugin-sdk {sdk_version}",
        path.display()
    )]
    BadTable {
        /// The plugin file.
        path: PathBuf,
        /// What is wrong.
        message: String,
        /// The host's SDK version.
        sdk_version: &'static str,
    },
    /// A buffer from the plugin is not the documented encoding.
    #[error(
        "plugin {}: `{function}` returned a buffer that is not the documented JSON ({message}); it starts with: {snippet}. This is a bug in the plugin: report it to its author",
        path.display()
    )]
    Decode {
        /// The plugin file.
        path: PathBuf,
        /// The plugin function.
        function: &'static str,
        /// The decoder's message.
        message: String,
        /// The start of the buffer.
        snippet: String,
    },
    /// `describe` returned an error.
    #[error("plugin {}: `describe` failed: {message}", path.display())]
    Describe {
        /// The plugin file.
        path: PathBuf,
        /// The plugin's message.
        message: String,
    },
    /// The description does not validate.
    #[error("plugin {} describes a connector the host cannot use: {message}; fix the plugin's describe()", path.display())]
    InvalidDescription {
        /// The plugin file.
        path: PathBuf,
        /// What [`tally_model::Description::validate`] said.
        message: String,
    },
    /// The catalog refused the connector (a name clash).
    #[error("{source}; the plugin was not loaded")]
    Catalog {
        /// The plugin file.
        path: PathBuf,
        /// Why the catalog refused it (its message names the file).
        source: CatalogError,
    },
}

impl PluginError {
    /// The plugin file (or directory) the error is about.
    pub fn path(&self) -> &Path {
        match self {
            PluginError::Dir { dir, .. } => dir,
            PluginError::Read { path, .. }
            | PluginError::HashMismatch { path, .. }
            | PluginError::NotALibrary { path, .. }
            | PluginError::MissingSymbol { path, .. }
            | PluginError::AbiMismatch { path, .. }
            | PluginError::BadTable { path, .. }
            | PluginError::Decode { path, .. }
            | PluginError::Describe { path, .. }
            | PluginError::InvalidDescription { path, .. }
            | PluginError::Catalog { path, .. } => path,
        }
    }
}
