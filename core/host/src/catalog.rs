//! The connectors a run can use: built-in ones and those loaded from plugins.

use std::path::PathBuf;
use std::sync::Arc;
use tally_model::{Connector, Description};

/// Where a connector came from, shown by `tally connectors`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Origin {
    /// Compiled into the `tally` binary.
    BuiltIn,
    /// Loaded from this shared library.
    Plugin(PathBuf),
}

/// A registered connector with its validated description.
#[derive(Clone)]
pub struct Entry {
    /// The connector.
    pub connector: Arc<dyn Connector>,
    /// Its description, read once at registration.
    pub description: Description,
    /// Where it came from.
    pub origin: Origin,
}

/// Why a connector was not registered.
#[derive(Debug, thiserror::Error, PartialEq)]
pub enum CatalogError {
    /// The description does not validate.
    #[error("connector from {origin}: {message}")]
    Invalid {
        /// Where it came from.
        origin: String,
        /// What is wrong.
        message: String,
    },
    /// Another connector already uses the name.
    #[error(
        "connector `{name}` from {origin} clashes with the one from {existing}; rename one of them"
    )]
    Clash {
        /// The name.
        name: String,
        /// The newcomer's origin.
        origin: String,
        /// The registered one's origin.
        existing: String,
    },
}

impl std::fmt::Display for Origin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Origin::BuiltIn => f.write_str("built-in"),
            Origin::Plugin(path) => write!(f, "{}", path.display()),
        }
    }
}

/// Every connector known to this run, by name.
#[derive(Clone, Default)]
pub struct Catalog {
    entries: Vec<Entry>,
}

impl Catalog {
    /// Registers a connector after validating its description and its name's uniqueness.
    pub fn add(
        &mut self,
        connector: Arc<dyn Connector>,
        origin: Origin,
    ) -> Result<(), CatalogError> {
        let description = connector.describe();
        description
            .validate()
            .map_err(|message| CatalogError::Invalid {
                origin: origin.to_string(),
                message,
            })?;
        if let Some(existing) = self.get(&description.name) {
            return Err(CatalogError::Clash {
                name: description.name,
                origin: origin.to_string(),
                existing: existing.origin.to_string(),
            });
        }
        self.entries.push(Entry {
            connector,
            description,
            origin,
        });
        Ok(())
    }

    /// The connector called `name`.
    pub fn get(&self, name: &str) -> Option<&Entry> {
        self.entries.iter().find(|e| e.description.name == name)
    }

    /// All entries, in registration order.
    pub fn entries(&self) -> &[Entry] {
        &self.entries
    }

    /// All descriptions, for config validation.
    pub fn descriptions(&self) -> Vec<Description> {
        self.entries.iter().map(|e| e.description.clone()).collect()
    }
}
