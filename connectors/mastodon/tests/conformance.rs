//! The Mastodon connector through Tally's conformance kit, on the same mock
//! instance as the other tests: the happy set is three `Link`-paginated pages of
//! statuses, the empty one an account without statuses.

use super::support::*;
use async_trait::async_trait;
use serde_json::{json, Value};
use std::collections::BTreeSet;
use std::sync::Arc;
use tally_mastodon::Mastodon;
use tally_testkit::conformance::{run_conformance, Fixtures};
use wiremock::MockServer;

/// The mock instance, as the conformance kit needs it.
struct MastodonFixtures;

#[async_trait]
impl Fixtures for MastodonFixtures {
    async fn mount_happy(&self, server: &MockServer) {
        mount_three_pages(server).await;
    }

    async fn mount_empty(&self, server: &MockServer) {
        mount_empty_account(server).await;
    }

    fn happy_records(&self) -> usize {
        THREE_PAGE_POSTS.len()
    }

    fn settings(&self) -> Value {
        json!({ "acct": ACCT })
    }

    /// The saved `newest_id` marks every status up to it as done: each fixture
    /// status was posted in 2022, long before the re-read (lookback) window.
    fn records_done(&self, state: &Value) -> BTreeSet<String> {
        let newest: u64 = state["newest_id"]
            .as_str()
            .and_then(|id| id.parse().ok())
            .unwrap_or(0);
        THREE_PAGE_POSTS
            .iter()
            .filter(|id| id.parse::<u64>().is_ok_and(|id| id <= newest))
            .map(|id| format!("post:{id}"))
            .collect()
    }
}

#[tokio::test]
async fn conformance() {
    let report = run_conformance(Arc::new(Mastodon), &MastodonFixtures).await;
    println!("{report}");
}
