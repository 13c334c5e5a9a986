//! Any file for `tally import`, as CSV and as JSON Lines: valid points or refusals with their line.
//! The body is the one the property tests run: core/host/tests/import_fuzz_body.rs.

#![no_main]

#[path = "../../core/host/tests/import_fuzz_body.rs"]
mod body;

libfuzzer_sys::fuzz_target!(|data: &[u8]| body::any(data));
