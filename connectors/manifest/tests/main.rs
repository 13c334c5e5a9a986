//! Manifest engine tests.
