//! Integration tests of `tally-store` against a real SQLite file, linked as one test binary so the suite links once.

#![allow(clippy::unwrap_used, clippy::expect_used)] // a failed unwrap is a failed test

mod migrate;
mod store;
