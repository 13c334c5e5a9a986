//! Integration tests of `tally-config`: loading and validating `tally.toml`, linked as one test binary so the suite links once.

#![allow(clippy::unwrap_used, clippy::expect_used)] // a failed unwrap is a failed test

mod config;
mod fuzz_body;
mod properties;
mod service_account;
