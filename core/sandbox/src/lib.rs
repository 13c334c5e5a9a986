//! Simulated platform APIs.
