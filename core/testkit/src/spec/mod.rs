//! Checks against the platforms' published API descriptions vendored in
//! `core/testkit/specs/`: connectors' requests and the sandbox's responses
//! are held to the documents the platforms publish, not to our reading of them.
//!
//! One module per description language: [`discovery`] for Google's discovery
//! documents, [`openapi`] for OpenAPI 3 descriptions.

pub mod discovery;
pub mod openapi;

use std::path::PathBuf;

/// The path of a vendored description, from its path under `core/testkit/specs/`
/// (`ga4/analyticsdata__v1beta.json`), on any checkout.
pub fn spec_path(relative: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("specs")
        .join(relative)
}
