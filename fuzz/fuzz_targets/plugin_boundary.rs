//! Any bytes a plugin hands the host, as a point batch or as JSON heads and errors: never a panic; what reads re-encodes the same.
//! The body is the one the property tests run: plugins/sdk/tests/fuzz_body.rs.

#![no_main]

#[path = "../../plugins/sdk/tests/fuzz_body.rs"]
mod body;

libfuzzer_sys::fuzz_target!(|data: &[u8]| body::any(data));
