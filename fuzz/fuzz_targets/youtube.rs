//! Any body of the YouTube endpoints (the first byte picks which): valid points or an error naming a field.
//! The body is the one the property tests run: connectors/youtube/tests/fuzz_body.rs.

#![no_main]

#[path = "../../connectors/youtube/tests/fuzz_body.rs"]
mod body;

libfuzzer_sys::fuzz_target!(|data: &[u8]| body::any(data));
