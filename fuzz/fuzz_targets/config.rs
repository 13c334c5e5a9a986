//! Any bytes as `tally.toml`: a config or errors at a file:line:column, never a panic.
//! The body is the one the property tests run: core/config/tests/fuzz_body.rs.

#![no_main]

#[path = "../../core/config/tests/fuzz_body.rs"]
mod body;

libfuzzer_sys::fuzz_target!(|data: &[u8]| body::any(data));
