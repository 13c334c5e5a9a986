//! Opening plugin files: hash pin, dynamic loading, version check, table check,
//! description check. Each step that fails says which file and what to do.

use super::connector::{PluginConnector, PluginFns};
use super::error::PluginError;
use crate::catalog::{Catalog, Origin};
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;
use std::ffi::{c_void, CStr};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use tally_model::error::snippet;
use tally_model::{Connector, Description};
use tally_plugin_sdk::abi::{
    borrow_bytes, TallyBuffer, TallyPlugin, ABI_VERSION, ENTRY_SYMBOL, ENTRY_SYMBOL_NUL,
    SDK_VERSION, STATUS_OK,
};
use tally_plugin_sdk::wire::WireError;

/// A plugin file that loaded: what `tally plugins inspect` shows.
#[derive(Clone)]
pub struct LoadedPlugin {
    /// The shared library.
    pub path: PathBuf,
    /// The SDK version it says it was built with.
    pub sdk_version: String,
    /// Its connectors (one per library in this ABI).
    pub connectors: Vec<Arc<dyn Connector>>,
}

impl std::fmt::Debug for LoadedPlugin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LoadedPlugin")
            .field("path", &self.path)
            .field("sdk_version", &self.sdk_version)
            .field(
                "connectors",
                &self
                    .connectors
                    .iter()
                    .map(|c| c.describe().name)
                    .collect::<Vec<_>>(),
            )
            .finish()
    }
}

/// Loads one plugin file and returns its connectors, ready to add to a
/// [`Catalog`] (or to pull directly).
///
/// With `expected_sha256` (hex, optionally prefixed `sha256:`), the file is
/// refused unless its digest matches, before any of its code runs.
pub fn load_plugin(
    path: &Path,
    expected_sha256: Option<&str>,
) -> Result<Vec<Arc<dyn Connector>>, PluginError> {
    open_plugin(path, expected_sha256).map(|plugin| plugin.connectors)
}

/// Like [`load_plugin`], with the file's digest and SDK version.
pub fn open_plugin(
    path: &Path,
    expected_sha256: Option<&str>,
) -> Result<LoadedPlugin, PluginError> {
    if let Some(expected) = expected_sha256 {
        let sha256 = file_sha256(path)?;
        let expected = expected.trim();
        let wanted = expected
            .strip_prefix("sha256:")
            .unwrap_or(expected)
            .to_ascii_lowercase();
        if wanted != sha256 {
            return Err(PluginError::HashMismatch {
                path: path.to_path_buf(),
                expected: expected.to_string(),
                actual: sha256,
            });
        }
    }

    // A name without a directory (`libfoo.so`) would send the dynamic loader
    // searching its library path instead of the current directory, where the
    // user means it; an absolute path is loaded from exactly there.
    let load_path = std::path::absolute(path).map_err(|e| PluginError::Read {
        path: path.to_path_buf(),
        message: e.to_string(),
    })?;
    // SAFETY: loading a library runs its initialisers. That is the point of a
    // plugin: the operator put this file in a plugin directory (and may pin its
    // digest, checked above). The handle is leaked below, so the library is never
    // unloaded and every pointer taken from it stays valid for the process.
    let library =
        unsafe { libloading::Library::new(&load_path) }.map_err(|e| PluginError::NotALibrary {
            path: path.to_path_buf(),
            message: e.to_string(),
        })?;
    let library: &'static libloading::Library = Box::leak(Box::new(library));

    // Typed as returning `void *`: until the version is checked, nothing else about
    // the table's layout may be assumed.
    // SAFETY: the symbol is looked up, not called, here; its type is the ABI's.
    let entry = unsafe { library.get::<unsafe extern "C" fn() -> *const c_void>(ENTRY_SYMBOL_NUL) }
        .map_err(|_| PluginError::MissingSymbol {
            path: path.to_path_buf(),
            symbol: ENTRY_SYMBOL,
        })?;
    let bad_table = |message: String| PluginError::BadTable {
        path: path.to_path_buf(),
        message,
        sdk_version: SDK_VERSION,
    };
    // SAFETY: every ABI version defines the entry point as `const void *(void)`-compatible.
    let table = unsafe { entry() };
    if table.is_null() {
        return Err(bad_table(format!("`{ENTRY_SYMBOL}` returned NULL")));
    }
    // SAFETY: non-null; every ABI version starts its table with a `uint32_t` version,
    // read unaligned in case a foreign plugin packs its table.
    let abi_version = unsafe { table.cast::<u32>().read_unaligned() };
    if abi_version != ABI_VERSION {
        return Err(PluginError::AbiMismatch {
            path: path.to_path_buf(),
            found: abi_version,
            expected: ABI_VERSION,
            sdk_version: SDK_VERSION,
        });
    }
    // SAFETY: the version matches, so the second field is this ABI's `struct_size`.
    let struct_size = unsafe { table.cast::<u32>().add(1).read_unaligned() } as usize;
    if struct_size < std::mem::size_of::<TallyPlugin>() {
        return Err(bad_table(format!(
            "it says it is {struct_size} bytes, but an ABI {ABI_VERSION} table is {}",
            std::mem::size_of::<TallyPlugin>()
        )));
    }
    // SAFETY: version and size match this ABI, so the memory holds a `TallyPlugin`,
    // static in a library that is never unloaded.
    let table: TallyPlugin = unsafe { table.cast::<TallyPlugin>().read_unaligned() };
    let sdk_version = if table.sdk_version.is_null() {
        "unknown".to_string()
    } else {
        // SAFETY: the ABI makes `sdk_version` a static NUL-terminated string.
        unsafe { CStr::from_ptr(table.sdk_version) }
            .to_string_lossy()
            .into_owned()
    };
    let missing = |name: &str| bad_table(format!("its `{name}` function pointer is NULL"));
    let describe = table.describe.ok_or_else(|| missing("describe"))?;
    let fns = PluginFns {
        start: table.start.ok_or_else(|| missing("start"))?,
        resume: table.resume.ok_or_else(|| missing("resume"))?,
        cancel: table.cancel.ok_or_else(|| missing("cancel"))?,
        free_buffer: table.free_buffer.ok_or_else(|| missing("free_buffer"))?,
    };

    let mut out = TallyBuffer::EMPTY;
    // SAFETY: a validated function of a never-unloaded library; `out` is ours.
    let status = unsafe { describe(&mut out) };
    // SAFETY: the plugin wrote `out` (or left it empty); valid until freed below.
    let bytes = unsafe { borrow_bytes(out.ptr, out.len) }.to_vec();
    if !out.ptr.is_null() {
        // SAFETY: the plugin's own buffer, released once by the plugin.
        unsafe { (fns.free_buffer)(out.ptr, out.len) };
    }
    let decode = |message: String| PluginError::Decode {
        path: path.to_path_buf(),
        function: "describe",
        message,
        snippet: snippet(&bytes),
    };
    if status != STATUS_OK {
        let error: WireError = serde_json::from_slice(&bytes).map_err(|e| decode(e.to_string()))?;
        return Err(PluginError::Describe {
            path: path.to_path_buf(),
            message: error.message,
        });
    }
    let description: Description =
        serde_json::from_slice(&bytes).map_err(|e| decode(e.to_string()))?;
    description
        .validate()
        .map_err(|message| PluginError::InvalidDescription {
            path: path.to_path_buf(),
            message,
        })?;
    tracing::debug!(
        plugin = %path.display(),
        connector = %description.name,
        sdk_version = %sdk_version,
        "plugin loaded"
    );
    let connector = PluginConnector::new(path.to_path_buf(), sdk_version.clone(), description, fns);
    Ok(LoadedPlugin {
        path: path.to_path_buf(),
        sdk_version,
        connectors: vec![Arc::new(connector)],
    })
}

/// A file's SHA-256 in lower-case hex, the form a pin in the config takes.
///
/// Computed only when a pin asks for it or a user wants to see it: a plugin
/// file can be tens of megabytes, and every pull loads every plugin, so hashing
/// each one on each load cost a fifth of a large pull's CPU. The file is read
/// in blocks, so its size never adds to the process's memory.
pub fn file_sha256(path: &Path) -> Result<String, PluginError> {
    let read_error = |e: std::io::Error| PluginError::Read {
        path: path.to_path_buf(),
        message: e.to_string(),
    };
    let mut file = std::fs::File::open(path).map_err(read_error)?;
    let mut hasher = Sha256::new();
    std::io::copy(&mut file, &mut hasher).map_err(read_error)?;
    Ok(hasher
        .finalize()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect())
}

/// Whether a file name looks like a shared library on this platform (`.so`,
/// `.dylib`, `.dll`); other files in a plugin directory (READMEs) are ignored.
pub fn is_library_name(path: &Path) -> bool {
    path.extension()
        .is_some_and(|ext| ext == std::env::consts::DLL_EXTENSION)
}

/// Loads every shared library in `dirs` (sorted by file name, not recursive).
/// Returns what loaded and, separately, every refusal: one bad file never stops
/// the others.
pub fn load_dirs<P: AsRef<Path>>(dirs: &[P]) -> (Vec<LoadedPlugin>, Vec<PluginError>) {
    load_dirs_pinned(dirs, &BTreeMap::new())
}

/// Like [`load_dirs`], refusing files whose SHA-256 differs from the pin given
/// for their file name (`"libtally_bluesky.so" => "ab12…"`).
pub fn load_dirs_pinned<P: AsRef<Path>>(
    dirs: &[P],
    pins: &BTreeMap<String, String>,
) -> (Vec<LoadedPlugin>, Vec<PluginError>) {
    let mut loaded = Vec::new();
    let mut errors = Vec::new();
    for dir in dirs {
        let dir = dir.as_ref();
        let entries = match std::fs::read_dir(dir) {
            Ok(entries) => entries,
            Err(e) => {
                errors.push(PluginError::Dir {
                    dir: dir.to_path_buf(),
                    message: e.to_string(),
                });
                continue;
            }
        };
        let mut files: Vec<PathBuf> = entries
            .filter_map(|entry| entry.ok().map(|e| e.path()))
            .filter(|path| path.is_file() && is_library_name(path))
            .collect();
        files.sort();
        for path in files {
            let pin = path
                .file_name()
                .and_then(|name| pins.get(&*name.to_string_lossy()))
                .map(String::as_str);
            match open_plugin(&path, pin) {
                Ok(plugin) => loaded.push(plugin),
                Err(e) => errors.push(e),
            }
        }
    }
    (loaded, errors)
}

/// Adds the connectors of loaded plugins to a catalog (which checks descriptions
/// and name clashes); returns the plugins that registered and a refusal for each
/// connector that did not.
pub fn register(
    catalog: &mut Catalog,
    plugins: Vec<LoadedPlugin>,
) -> (Vec<LoadedPlugin>, Vec<PluginError>) {
    let mut registered = Vec::new();
    let mut errors = Vec::new();
    for plugin in plugins {
        let mut ok = true;
        for connector in &plugin.connectors {
            if let Err(source) =
                catalog.add(Arc::clone(connector), Origin::Plugin(plugin.path.clone()))
            {
                ok = false;
                errors.push(PluginError::Catalog {
                    path: plugin.path.clone(),
                    source,
                });
            }
        }
        if ok {
            registered.push(plugin);
        }
    }
    (registered, errors)
}

/// [`load_dirs_pinned`] then [`register`]: what a run does with `[plugins] dirs`.
pub fn load_into<P: AsRef<Path>>(
    catalog: &mut Catalog,
    dirs: &[P],
    pins: &BTreeMap<String, String>,
) -> (Vec<LoadedPlugin>, Vec<PluginError>) {
    let (loaded, mut errors) = load_dirs_pinned(dirs, pins);
    let (registered, refused) = register(catalog, loaded);
    errors.extend(refused);
    for error in &errors {
        tracing::warn!(plugin = %error.path().display(), "plugin refused: {error}");
    }
    (registered, errors)
}
