//! Dynamic connector plugins: loading shared libraries that speak the
//! `tally-plugin-sdk` C ABI and presenting each as an ordinary
//! [`tally_model::Connector`].
//!
//! Why it is built this way (see `plugins/sdk/README.md` for the ABI itself):
//!
//! - **The version is checked before anything else.** The loader reads only the
//!   first `uint32_t` of the plugin's table until it knows the table's layout is
//!   this host's; a plugin for another ABI is refused with both versions named.
//! - **A bad file never takes Tally down.** Every refusal (not a library, no entry
//!   symbol, wrong ABI, broken table, undecodable or invalid description, name
//!   clash, SHA-256 pin mismatch) is a [`PluginError`] naming the file, returned
//!   next to whatever did load. At pull time a plugin's panic, garbage output or
//!   unknown status becomes that source's error.
//! - **The host owns all I/O.** A plugin's HTTP requests come back through a
//!   callback and are sent by the source's own host client, so pacing, quota,
//!   credentials and retries apply to plugins exactly as to built-in connectors.
//! - **No thread waits on a plugin.** A plugin call runs in steps (`start`,
//!   `resume`) that return as soon as the plugin needs a response; the pull's own
//!   future sends the request and resumes the plugin, so a plugin pulls on the
//!   runtime's workers like a built-in connector and can be cancelled at once.
//! - **Libraries are never unloaded.** Their function pointers live in the
//!   catalog and in running pulls; the handle is leaked on purpose.

mod connector;
mod error;
mod loader;

pub use connector::PluginConnector;
pub use error::PluginError;
pub use loader::{
    file_sha256, is_library_name, load_dirs, load_dirs_pinned, load_into, load_plugin, open_plugin,
    register, LoadedPlugin,
};
