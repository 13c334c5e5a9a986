//! Tally's Google family: three connectors over one shared Google layer.
//!
//! - [`Ga4`] (`ga4`): Google Analytics 4 visits, users, key events and
//!   revenue per day, by campaign source / medium / name and by country.
//! - [`GoogleBusinessProfile`] (`google_business_profile`): reviews (count,
//!   rating, new per day and star rating) and daily performance of each
//!   location of an account.
//! - [`YoutubeAnalytics`] (`youtube_analytics`): a channel's daily views, watch
//!   time, engagement and subscriber flows, and its viewers' age and gender.
//!
//! Why one crate: the three share Google's error body, int64 strings,
//! page tokens, calendar days and OAuth2 with offline access, written once in
//! [`google`]. Each connector keeps its request sequence in its `mod.rs` and a
//! pure JSON → point mapping in its `parse.rs`; each has its own README and
//! sample in a folder of the same name beside `src/`.

pub mod ga4;
pub mod gbp;
pub mod google;
pub mod youtube_analytics;

pub use ga4::Ga4;
pub use gbp::GoogleBusinessProfile;
pub use youtube_analytics::YoutubeAnalytics;
