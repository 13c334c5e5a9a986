//! The conformance kit: the checks every connector must pass, in one call.
//!
//! Why a kit: each connector's own tests prove its platform's details (which
//! field maps to which metric). What every connector owes the host is the same
//! list, and a copy of that list per connector would drift or be forgotten. So
//! an integrator implements [`Fixtures`] (how to serve a happy account and an
//! empty one from a [`wiremock::MockServer`]) and calls [`run_conformance`]; the
//! kit starts fresh mock servers, pulls through the *real* host HTTP client (and
//! once through the real pull engine), and fails with a message naming the check
//! and the reason. It works the same for a built-in connector and for one loaded
//! from a plugin (`tally_host::plugin::load_plugin` returns the same
//! `Arc<dyn Connector>`).
//!
//! The kit runs inside a tokio runtime (`#[tokio::test]`), as the host does.
//!
//! ```ignore
//! #[tokio::test]
//! async fn conformance() {
//!     tally_testkit::conformance::run_conformance(Arc::new(MyConnector), &MyFixtures).await;
//! }
//! ```
//!
//! # What each check asserts
//!
//! A *record* is an item-level thing the platform lists page by page (a post, a
//! video): by default every distinct `kind:id` of a point whose entity is a post
//! or a video ([`item_records`]; override [`Fixtures::records`]). The *happy
//! pull* is one pull, from no saved state, of the happy set on a fresh server.
//!
//! | check | passes when |
//! |---|---|
//! | `description` | `Description::validate` accepts it (name, canonical metrics, auth, rate); it survives a JSON round trip unchanged (plugins send it as JSON); `default_base_url` is an http(s) URL; metric and setting names are not repeated; the fixture settings use only declared keys and give every required one; the fixture credential's kind is one the connector accepts |
//! | `check` | `check` on the happy set returns a non-empty description of the account |
//! | `schema` | every point of the happy pull validates against the canonical schema (right unit class and kind for its metric, instant for a gauge, non-empty period for a sum, finite non-negative value), carries the connector's platform and a metric it declares, has an entity id, and a gauge carries the pull's `now` |
//! | `natural-keys` | no two points of the happy pull share (entity kind, entity id, metric, dimensions, time) |
//! | `pagination` | the happy pull holds exactly [`Fixtures::happy_records`] distinct records, made at least two requests, and every mock mounted with an `expect(..)` got the requests it expects (so each page was read, and read once, when the fixtures say so) |
//! | `429-retry` | with two one-shot 429 answers in front of the happy set (the first without `Retry-After`, the second with `Retry-After: 1`), the pull still succeeds with every record, took at least the 0.9 s the `Retry-After` asks for, the host counted both 429s and retried at least twice, and the page expectations still hold (the connector neither gave up nor re-read a page itself) |
//! | `5xx-retry` | with one one-shot 500 in front of the happy set, the pull still succeeds with every record, with exactly one request (the host's one retry) more than the plain happy pull, and the page expectations hold |
//! | `401-auth` | with every request answered 401, `pull` and `check` both fail with `HttpError::Unauthorized` (the host's auth error, not a wrapped string) naming the path of the first request and quoting the platform's message; the pull stops after its first request; no request the connector built sets `Authorization` itself; no error shows the fixture credential's secret |
//! | `malformed-json` | with every 2xx body cut to half its length, the pull fails with `ConnectorError::Decode` naming the URL path of the response it failed on (the last one cut); and through the pull engine the source fails with a reason naming that path, without the credential's secret, reported under its source id, with nothing stored and a failed run recorded |
//! | `html-200` | with every 2xx body replaced by an HTML error page (status still 200), the pull fails with `ConnectorError::Decode` naming the path of the last page served and quoting it (`<html>…`), without the credential's secret |
//! | `quota-stop` | with a quota budget of what all but the last request of the happy pull cost (each request's declared `cost`), the pull fails with `HttpError::QuotaExhausted { used, limit }` both equal to that budget, a quota key that starts with `{platform}#` and shows no secret, and the server received exactly the requests the budget covers |
//! | `empty-account` | on the empty set the pull succeeds, every point conforms, and none is about a record (account-level gauges such as a follower count of 0 are fine: "zero points" means zero item points) |
//! | `resume` | see below |
//!
//! ## Resume
//!
//! Let A be the happy pull and S the state it saved (the last `save_state` or
//! `checkpoint`). Pull B runs on a fresh server with the same happy set.
//!
//! - **No state (S is none):** B also starts from no state and must emit exactly
//!   the same set of natural keys as A: a connector without state re-reads
//!   everything, deterministically.
//! - **State saved:** B starts from S. Let D = [`Fixtures::records_done`]`(S)`,
//!   the records S says need no re-reading. Then: D ⊆ records(A) (the state claims
//!   nothing the pull did not emit: that would be a skip); records(B) ∩ D = ∅ (a
//!   record claimed done is not emitted again: no repeat); records(A) ∖ D ⊆
//!   records(B) (a record not claimed done is read again, as when a lookback window
//!   re-reads recent posts: no skip); and records(A) ∪ records(B) holds exactly
//!   [`Fixtures::happy_records`] records (together the pulls cover the happy set
//!   and invent nothing).
//!
//! B's page expectations are not verified: skipping pages is what resuming is
//! for, and `pagination` already checks them for a pull from no state.
//!
//! Mock servers are fresh for every check, so one check's requests never count
//! towards another's expectations; a server whose check is expected to stop early
//! (`check`, 401, malformed JSON, HTML, quota, resume, or any check that already failed) is
//! reset rather than verified.

mod checks;
mod harness;
mod malformed;
mod report;

pub use report::{Check, Outcome, Report};

use crate::Credential;
use async_trait::async_trait;
use std::collections::BTreeSet;
use std::sync::Arc;
use tally_model::{Connector, EntityKind, Point};
use wiremock::MockServer;

/// How to serve a connector's fixtures from a mock server: what an integrator
/// implements so the kit can run every check against their connector.
///
/// Mount the platform's documented response shapes (the same fixtures the
/// connector's own tests use). Put `.expect(1)` on each page of a paginated
/// listing so the kit can prove every page is read exactly once.
#[async_trait]
pub trait Fixtures: Send + Sync {
    /// Mounts an account with at least two pages of records: the happy set.
    async fn mount_happy(&self, server: &MockServer);

    /// Mounts an account with nothing in it: no records (account-level counts may remain).
    async fn mount_empty(&self, server: &MockServer);

    /// How many distinct records (per [`Fixtures::records`]) the happy set holds.
    fn happy_records(&self) -> usize;

    /// `[sources.settings]` of the fixture account, as JSON.
    fn settings(&self) -> serde_json::Value;

    /// The API root a source on `server` configures as `base_url` (default: the
    /// server's URI; add the API's path prefix if the fixtures are mounted under one).
    fn base_url(&self, server: &MockServer) -> String {
        server.uri()
    }

    /// The credential the host injects (default: none, for public endpoints).
    fn credential(&self) -> Credential {
        Credential::None
    }

    /// The records among `points` (default: [`item_records`]).
    fn records(&self, points: &[Point]) -> BTreeSet<String> {
        item_records(points)
    }

    /// The records a saved state says need no re-reading, in the form
    /// [`Fixtures::records`] returns (default: none). Only connectors that save
    /// state implement it; see the module docs' "Resume".
    fn records_done(&self, state: &serde_json::Value) -> BTreeSet<String> {
        let _ = state;
        BTreeSet::new()
    }
}

/// Every distinct post or video among `points`, as `kind:id` (`post:1093`).
pub fn item_records(points: &[Point]) -> BTreeSet<String> {
    points
        .iter()
        .filter(|p| matches!(p.entity.kind, EntityKind::Post | EntityKind::Video))
        .map(|p| format!("{}:{}", p.entity.kind.as_str(), p.entity.id))
        .collect()
}

/// Runs every check and returns the report, passed or not (for tests that
/// expect a particular failure, and for tools that print the report).
pub async fn check_conformance(connector: Arc<dyn Connector>, fixtures: &dyn Fixtures) -> Report {
    checks::run(connector, fixtures).await
}

/// Runs every check and panics, listing each failed check and why, unless all
/// pass; returns the report of what passed.
pub async fn run_conformance(connector: Arc<dyn Connector>, fixtures: &dyn Fixtures) -> Report {
    let report = check_conformance(connector, fixtures).await;
    if !report.passed() {
        panic!("{report}");
    }
    report
}
