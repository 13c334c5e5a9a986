//! `--source ID` (repeatable) and `--client ID`: which sources a command acts on.
//!
//! `tally pull` and `tally runs` take the same two options with the same
//! meaning, so they are declared once and flattened into each command.

use std::path::Path;
use tally_config::Config;

/// The sources a command is limited to; no option means every source.
#[derive(Debug, Clone, Default, clap::Args)]
pub struct SourceFilter {
    /// Only these sources (repeatable); default: every source.
    #[arg(long = "source", value_name = "ID")]
    pub sources: Vec<String>,
    /// Only the sources of this client.
    #[arg(long, value_name = "ID")]
    pub client: Option<String>,
}

impl SourceFilter {
    /// Whether neither option was given.
    pub fn is_empty(&self) -> bool {
        self.sources.is_empty() && self.client.is_none()
    }

    /// The ids asked for: each `--source` as given, then the client's
    /// sources, without repeats. An unknown client is an error naming the
    /// known ones; source ids are not checked here, because imported sources
    /// live in the store rather than the config.
    pub fn ids(&self, config: &Config, path: &Path) -> anyhow::Result<Vec<String>> {
        let mut ids = self.sources.clone();
        if let Some(client) = &self.client {
            ids.extend(crate::setup::client_sources(config, client, path)?);
        }
        let mut seen = std::collections::HashSet::new();
        ids.retain(|id| seen.insert(id.clone()));
        Ok(ids)
    }
}
