//! The YouTube connector through Tally's conformance kit, on the same mock Data
//! API as the other tests: the happy set is the sample channel with five uploads
//! over three playlist pages, the empty one a channel without uploads.

use super::support::*;
use async_trait::async_trait;
use serde_json::{json, Value};
use std::sync::Arc;
use tally_testkit::conformance::{run_conformance, Fixtures};
use tally_testkit::Credential;
use tally_youtube::Youtube;
use wiremock::MockServer;

/// The mock Data API, as the conformance kit needs it.
struct YoutubeFixtures;

#[async_trait]
impl Fixtures for YoutubeFixtures {
    async fn mount_happy(&self, server: &MockServer) {
        mount_three_upload_pages(server).await;
    }

    async fn mount_empty(&self, server: &MockServer) {
        mount_channel(server, CHANNELS_NO_VIDEOS).await;
    }

    fn happy_records(&self) -> usize {
        5
    }

    fn settings(&self) -> Value {
        json!({ "channel_id": CHANNEL })
    }

    fn base_url(&self, server: &MockServer) -> String {
        base(server)
    }

    fn credential(&self) -> Credential {
        credential()
    }
}

#[tokio::test]
async fn conformance() {
    let report = run_conformance(Arc::new(Youtube), &YoutubeFixtures).await;
    println!("{report}");
}
