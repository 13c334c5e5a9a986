//! The `tally` binary as a user runs it, linked as one test binary so the suite links once.

#![allow(clippy::unwrap_used, clippy::expect_used)] // a failed unwrap is a failed test

mod auth;
mod cli;
mod daemon;
mod reliability;
mod workers;
