//! The conformance kit for each Google connector, with fixtures in the
//! discovery documents' shapes. A record is one daily figure (a sum point's
//! metric, dimensions and day): what these connectors page through.

use crate::gbp::{mount_locations, mount_performance, mount_reviews};
use crate::support::*;
use async_trait::async_trait;
use serde_json::{json, Value};
use std::collections::BTreeSet;
use std::sync::Arc;
use tally_google::{Ga4, GoogleBusinessProfile, YoutubeAnalytics};
use tally_model::{MetricKind, Point};
use tally_testkit::conformance::{run_conformance, Fixtures};
use tally_testkit::Credential;
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer};

/// Every daily figure among `points`, as `metric|dimensions|day`.
fn daily_records(points: &[Point], metric: &str) -> BTreeSet<String> {
    points
        .iter()
        .filter(|p| p.kind == MetricKind::Sum && p.metric == metric)
        .map(|p| format!("{}|{:?}|{}", p.metric, p.dimensions, start(p)))
        .collect()
}

struct Ga4Fixtures;

#[async_trait]
impl Fixtures for Ga4Fixtures {
    /// Totals over two pages (one day each), one campaign row, one country row.
    async fn mount_happy(&self, server: &MockServer) {
        let pages: [(&'static [&'static str], &'static str, Value); 4] = [
            (&[], "0", report(&[], vec![row("20260530", &[], 10)], 2)),
            (&[], "1", report(&[], vec![row("20260531", &[], 12)], 2)),
            (
                &["sessionSource", "sessionMedium", "sessionCampaignName"],
                "0",
                report(
                    &["sessionSource", "sessionMedium", "sessionCampaignName"],
                    vec![row("20260531", &["mastodon", "social", "june-launch"], 7)],
                    1,
                ),
            ),
            (
                &["country"],
                "0",
                report(&["country"], vec![row("20260531", &["Canada"], 3)], 1),
            ),
        ];
        for (dimensions, offset, body) in pages {
            Mock::given(method("POST"))
                .and(path("/properties/1:runReport"))
                .and(Report { dimensions, offset })
                .respond_with(json_body(body))
                .expect(1)
                .mount(server)
                .await;
        }
    }

    async fn mount_empty(&self, server: &MockServer) {
        Mock::given(method("POST"))
            .and(path("/properties/1:runReport"))
            .respond_with(json_body(report(&[], vec![], 0)))
            .mount(server)
            .await;
    }

    fn happy_records(&self) -> usize {
        4
    }

    fn records(&self, points: &[Point]) -> BTreeSet<String> {
        daily_records(points, "traffic.sessions")
    }

    fn settings(&self) -> Value {
        json!({"property_id": "1"})
    }

    fn credential(&self) -> Credential {
        credential()
    }
}

struct GbpFixtures;

#[async_trait]
impl Fixtures for GbpFixtures {
    async fn mount_happy(&self, server: &MockServer) {
        mount_locations(server).await;
        mount_reviews(server).await;
        mount_performance(server).await;
    }

    async fn mount_empty(&self, server: &MockServer) {
        mount_locations(server).await;
        Mock::given(method("GET"))
            .and(path("/v4/accounts/12/locations/34/reviews"))
            .respond_with(json_body(json!({"totalReviewCount": 0})))
            .mount(server)
            .await;
        Mock::given(method("GET"))
            .and(path(
                "/businessprofileperformance/v1/locations/34:fetchMultiDailyMetricsTimeSeries",
            ))
            .respond_with(json_body(json!({})))
            .mount(server)
            .await;
    }

    /// New reviews on four days (the unspecified rating counts on none).
    fn happy_records(&self) -> usize {
        4
    }

    fn records(&self, points: &[Point]) -> BTreeSet<String> {
        points
            .iter()
            .filter(|p| p.metric == "reviews.new" && p.dimensions.is_empty())
            .map(|p| format!("reviews.new|{}", start(p)))
            .collect()
    }

    fn settings(&self) -> Value {
        json!({"account_id": "12", "timezone": "UTC"})
    }

    fn credential(&self) -> Credential {
        credential()
    }
}

struct YoutubeAnalyticsFixtures;

#[async_trait]
impl Fixtures for YoutubeAnalyticsFixtures {
    /// The daily report (two days), the traffic-source report (one row) and
    /// the demographics (two groups).
    async fn mount_happy(&self, server: &MockServer) {
        let header = |name: &str, kind: &str| json!({"name": name, "columnType": kind, "dataType": if kind == "DIMENSION" { "STRING" } else { "INTEGER" }});
        let daily = json!({
            "kind": "youtubeAnalytics#resultTable",
            "columnHeaders": [header("day", "DIMENSION"), header("views", "METRIC"), header("estimatedMinutesWatched", "METRIC"), header("likes", "METRIC"), header("comments", "METRIC"), header("shares", "METRIC"), header("subscribersGained", "METRIC"), header("subscribersLost", "METRIC")],
            "rows": [["2026-05-30", 120, 300, 9, 2, 1, 3, 0], ["2026-05-31", 140, 320, 11, 1, 0, 2, 1]]
        });
        let sources = json!({
            "kind": "youtubeAnalytics#resultTable",
            "columnHeaders": [header("day", "DIMENSION"), header("insightTrafficSourceType", "DIMENSION"), header("views", "METRIC"), header("estimatedMinutesWatched", "METRIC")],
            "rows": [["2026-05-31", "YT_SEARCH", 60, 100]]
        });
        let demographics = json!({
            "kind": "youtubeAnalytics#resultTable",
            "columnHeaders": [header("ageGroup", "DIMENSION"), header("gender", "DIMENSION"), {"name": "viewerPercentage", "columnType": "METRIC", "dataType": "FLOAT"}],
            "rows": [["age25-34", "female", 58.5], ["age35-44", "male", 41.5]]
        });
        for (dimensions, body) in [
            ("day", daily),
            ("day,insightTrafficSourceType", sources),
            ("ageGroup,gender", demographics),
        ] {
            Mock::given(method("GET"))
                .and(path("/reports"))
                .and(wiremock::matchers::query_param("dimensions", dimensions))
                .and(wiremock::matchers::query_param(
                    "ids",
                    "channel==UC_x5XG1OV2P6uZZ5FSM9Ttw",
                ))
                .respond_with(json_body(body))
                .expect(1)
                .mount(server)
                .await;
        }
    }

    async fn mount_empty(&self, server: &MockServer) {
        Mock::given(method("GET"))
            .and(path("/reports"))
            .respond_with(json_body(json!({"kind": "youtubeAnalytics#resultTable", "columnHeaders": [{"name": "day", "columnType": "DIMENSION"}]})))
            .mount(server)
            .await;
    }

    /// Views on two days, and on one of them from search.
    fn happy_records(&self) -> usize {
        3
    }

    fn records(&self, points: &[Point]) -> BTreeSet<String> {
        daily_records(points, "reach.views")
    }

    fn settings(&self) -> Value {
        json!({"channel_id": "UC_x5XG1OV2P6uZZ5FSM9Ttw"})
    }

    fn credential(&self) -> Credential {
        credential()
    }
}

#[tokio::test]
async fn ga4_conforms() {
    run_conformance(Arc::new(Ga4), &Ga4Fixtures).await;
}

#[tokio::test]
async fn google_business_profile_conforms() {
    run_conformance(Arc::new(GoogleBusinessProfile), &GbpFixtures).await;
}

#[tokio::test]
async fn youtube_analytics_conforms() {
    run_conformance(Arc::new(YoutubeAnalytics), &YoutubeAnalyticsFixtures).await;
}
