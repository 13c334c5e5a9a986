//! Integration tests of `tally-store` against a real SQLite file and a real PostgreSQL server, linked as one test binary so the suite links once.

#![allow(clippy::unwrap_used, clippy::expect_used)] // a failed unwrap is a failed test

mod backend;
mod migrate;
mod plans;
mod store;
