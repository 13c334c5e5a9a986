//! Checks against the platforms' published API descriptions (vendored in
//! `core/testkit/specs/`), so that the sandbox's answers and the connectors'
//! requests are held to what the platform documents rather than to what the
//! sandbox's author remembered.

pub mod openapi;
