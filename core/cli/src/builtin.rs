//! The connectors compiled into this binary, registered through the same catalog
//! API that plugins go through.

use std::sync::Arc;
use tally_host::catalog::{Catalog, Origin};

/// A catalog holding every built-in connector.
pub fn catalog() -> anyhow::Result<Catalog> {
    let mut catalog = Catalog::default();
    catalog.add(Arc::new(tally_youtube::Youtube), Origin::BuiltIn)?;
    catalog.add(Arc::new(tally_mastodon::Mastodon), Origin::BuiltIn)?;
    Ok(catalog)
}
