//! Loading the config and wiring store, host client and engine for a command.

use anyhow::Context;
use std::path::Path;
use std::sync::{Arc, Mutex};
use tally_config::Config;
use tally_host::auth::TokenProviders;
use tally_host::catalog::Catalog;
use tally_host::http::{HostHttp, HttpSettings};
use tally_host::pull::{Engine, StoreLedger};
use tally_store::{Store, StoreError};

/// Everything a data command needs.
pub struct Runtime {
    /// The validated config.
    pub config: Config,
    /// The store the config names.
    pub store: Arc<Mutex<Store>>,
    /// The engine pulling into that store.
    pub engine: Engine,
}

/// Reads and validates the config against the available connectors.
pub fn load_config(path: &Path) -> anyhow::Result<(Config, Arc<Catalog>)> {
    let catalog = crate::plugins::catalog(path)?;
    let config = tally_config::load(path, &catalog.descriptions()).map_err(|errors| {
        anyhow::anyhow!(
            "{errors}\n{} problem(s) in {}; fix them and run `tally check --offline`",
            errors.len(),
            path.display()
        )
    })?;
    Ok((config, Arc::new(catalog)))
}

/// Opens the store named by the config for a command that writes (refused
/// when the file is damaged, see `Store::open`).
pub fn open_store(config: &Config) -> anyhow::Result<Arc<Mutex<Store>>> {
    if let Some(store) = connect_store(config)? {
        return Ok(Arc::new(Mutex::new(store)));
    }
    let path = &config.storage.path;
    if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
        std::fs::create_dir_all(parent)
            .with_context(|| format!("creating the store's directory {}", parent.display()))?;
    }
    let store = Store::open(path)?;
    Ok(Arc::new(Mutex::new(store)))
}

/// Opens the store named by the config for a command that only reads: a
/// file the user may not write (a backup, the daemon's store) works, and
/// nothing is written to it. Without a file yet, an empty store in memory
/// stands in, so reading creates nothing.
pub fn read_store(config: &Config) -> anyhow::Result<Arc<Mutex<Store>>> {
    if let Some(store) = connect_store(config)? {
        return Ok(Arc::new(Mutex::new(store)));
    }
    let path = &config.storage.path;
    let store = if !path.exists() {
        Store::open_in_memory()?
    } else {
        match Store::open_read_only(path) {
            // A file from an older build is upgraded once, by a writer.
            Err(StoreError::Outdated { .. }) => Store::open(path)?,
            opened => opened?,
        }
    };
    Ok(Arc::new(Mutex::new(store)))
}

/// The PostgreSQL store when `[storage] url` names one: readers and writers
/// alike connect to the server, which keeps every worker's view the same.
fn connect_store(config: &Config) -> anyhow::Result<Option<Store>> {
    let Some(url) = &config.storage.url else {
        return Ok(None);
    };
    let password = config.storage.password.as_ref().map(|p| p.expose());
    Ok(Some(Store::connect(url.expose(), password)?))
}

/// The ids of the sources of `client`; an error naming the known clients when
/// the config has no such client.
pub fn client_sources(config: &Config, client: &str, path: &Path) -> anyhow::Result<Vec<String>> {
    if config.client(client).is_none() {
        let known: Vec<&str> = config.clients.iter().map(|c| c.id.as_str()).collect();
        anyhow::bail!(
            "no client `{client}` in {}; the clients are: {}",
            path.display(),
            if known.is_empty() {
                "(none)".to_string()
            } else {
                known.join(", ")
            }
        );
    }
    Ok(config
        .sources
        .iter()
        .filter(|s| s.client.as_deref() == Some(client))
        .map(|s| s.id.clone())
        .collect())
}

/// The host HTTP settings from `[http]`.
pub fn http_settings(config: &Config) -> HttpSettings {
    let http = &config.http;
    HttpSettings {
        connect_timeout: http.connect_timeout,
        timeout: http.timeout,
        max_attempts: http.max_attempts,
        backoff_base: http.backoff_base,
        backoff_max: http.backoff_max,
        ..HttpSettings::default()
    }
}

/// The OAuth2 token providers over the config's token store (encrypted with
/// `TALLY_TOKEN_KEY` or `[auth] key_file` when set). Nothing is read yet: token
/// files are read when a request needs one.
pub fn token_providers(config: &Config) -> anyhow::Result<Arc<TokenProviders>> {
    let env_key = std::env::var(tally_host::auth::TOKEN_KEY_ENV).ok();
    let store = tally_host::auth::token_store(config, env_key)?;
    Ok(Arc::new(TokenProviders::new(store)?))
}

/// Loads the config and wires store, host client and engine.
pub fn runtime(path: &Path) -> anyhow::Result<Runtime> {
    let (config, catalog) = load_config(path)?;
    let store = open_store(&config)?;
    let host = HostHttp::new(
        http_settings(&config),
        Arc::new(StoreLedger::new(Arc::clone(&store))),
    )?;
    let engine =
        Engine::new(host, Arc::clone(&store), catalog).with_tokens(token_providers(&config)?);
    Ok(Runtime {
        config,
        store,
        engine,
    })
}
