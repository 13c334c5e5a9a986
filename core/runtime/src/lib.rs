//! The host side of Tally: everything that does I/O on a connector's behalf.
//!
//! Connectors (in `tally-model` terms) only describe requests and map JSON to
//! points. This crate sends those requests under each platform's rate limit and
//! quota, reads and validates the config, stores points idempotently in SQLite,
//! and runs pulls. Plugins never link it: it sits on the host side of the ABI.

pub mod auth;
pub mod catalog;
pub mod config;
pub mod daemon;
pub mod goals;
pub mod http;
pub mod import;
pub mod plugin;
pub mod pull;
pub mod report;
pub mod roi;
pub mod schedule;
pub mod secret;
pub mod serve;
pub mod store;
pub mod utm;
