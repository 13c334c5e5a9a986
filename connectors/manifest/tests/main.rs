//! The manifest engine from the outside: the Bluesky manifest against the
//! Bluesky plugin, every primitive against a mock platform, and every bad
//! input the format promises to refuse.

#![allow(clippy::unwrap_used)]

mod bad_input;
mod bluesky;
mod eventbrite;
mod platforms;
mod primitives;
mod surveymonkey;
mod x;
mod yelp;
