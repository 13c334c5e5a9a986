//! The Google connectors through the real host HTTP client: against mock
//! servers serving the discovery documents' shapes (paging, quota, star
//! ratings, omitted zeros, errors), against the sandbox (`tally demo`'s
//! data), and through the conformance kit.

#![allow(clippy::unwrap_used)]

mod conformance;
mod discovery;
mod ga4;
mod gbp;
mod sandbox;
mod service_account;
mod support;
