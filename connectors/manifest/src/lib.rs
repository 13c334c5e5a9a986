//! Declarative connectors: a platform described in a TOML manifest.
//!
//! The manifest format is documented in `REFERENCE.md` beside this crate.
