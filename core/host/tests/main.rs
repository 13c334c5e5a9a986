//! Integration tests of `tally-host`: the HTTP client, auth, plugins and imports against loopback servers, linked as one test binary so the suite links once.

#![allow(clippy::unwrap_used, clippy::expect_used)] // a failed unwrap is a failed test

mod auth_oidc;
mod auth_quirks;
mod auth_refresh;
mod auth_service_account;
mod auth_support;
mod http;
mod import;
mod import_fuzz_body;
mod import_properties;
mod oidc;
mod plugins;
