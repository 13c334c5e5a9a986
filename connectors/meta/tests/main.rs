//! The Meta connectors against mock Graph servers and the sandbox, through
//! the real host client: documented shapes in, exact points out, Graph
//! errors turned into errors that say what to do, and the conformance kit
//! for each of the three.

#![allow(clippy::unwrap_used)]

mod ads;
mod instagram;
mod pages;
mod properties;
mod sandbox;
mod support;
