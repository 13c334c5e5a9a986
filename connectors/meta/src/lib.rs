//! Meta connectors: Facebook Pages, Instagram professional accounts and Meta
//! Ads insights, three connectors over one API family.
//!
//! Why one crate: the three speak Meta's Graph API, with one error body, one
//! paging scheme, one insights envelope, one version calendar and one set of
//! throttle codes and usage headers. Those live once in [`graph`]; each
//! connector module is its request sequence and a pure `parse` module.
//!
//! - [`FacebookPages`] (`facebook_pages`): followers, daily Page insights,
//!   posts with reactions, comments, shares and post insights.
//! - [`Instagram`] (`instagram`): followers, daily account insights with
//!   breakdowns, follower demographics, media with their insights.
//! - [`MetaAds`] (`meta_ads`): daily ad insights at account and campaign
//!   level, in the ad account's currency, with breakdowns; a trailing window
//!   re-read every pull because Meta restates insights for 28 days.
//!
//! The host owns I/O: pacing by Meta's JSON usage headers, waiting out
//! throttle codes, tokens. Nothing here sleeps, retries or sees a token.
//! Meta publishes no machine-readable API description; the shapes are those
//! of Meta's reference pages and open-source fixtures (see each README).

pub mod ads;
pub mod facebook_pages;
pub mod graph;
pub mod instagram;

pub use ads::MetaAds;
pub use facebook_pages::FacebookPages;
pub use instagram::Instagram;
