//! The host side of Tally: everything that does I/O on a connector's behalf.
//!
//! Connectors (in `tally-model` terms) only describe requests and map JSON to
//! points. This crate sends those requests under each platform's rate limit and
//! quota (`http`), holds and renews their credentials (`auth`), knows which
//! connectors exist (`catalog`, `plugin`), runs pulls into the store (`pull`) and
//! brings in points no API gives (`import`). Plugins never link it: it sits on
//! the host side of the ABI. Goals and reports never link it either: they read
//! the store, so the HTTP stack stays out of them.

pub mod auth;
pub mod catalog;
pub mod http;
pub mod import;
pub mod plugin;
pub mod pull;

mod error_chain;
