//! Integration tests of `tally-goals`: goals and the report model computed by hand from a small store, linked as one test binary so the suite links once.

#![allow(clippy::unwrap_used, clippy::expect_used)] // a failed unwrap is a failed test

mod goals;
mod report;
