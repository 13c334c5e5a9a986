//! The Yelp manifest: the conformance kit on Yelp's documented shapes, and
//! its two 429s: a spent day waits for the reset, the per-second limit is
//! retried.

use async_trait::async_trait;
use chrono::Utc;
use serde_json::json;
use tally_model::{ConnectorError, HttpError};
use tally_sandbox::{FaultOptions, PlatformLimits, Sandbox, SandboxOptions, SAMPLE_TOKEN};
use tally_testkit::conformance::{run_conformance, Fixtures};
use tally_testkit::{bearer, pull, Credential, Source};
use wiremock::matchers::{method, path, query_param};
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::platforms::connector;

const ID: &str = "WavvLdfdP6g8aZTtbBQHTw";

fn business(reviews: u64) -> serde_json::Value {
    json!({"id": ID, "alias": "gary-danko-san-francisco", "name": "Gary Danko", "is_closed": false,
           "url": "https://www.yelp.com/biz/gary-danko-san-francisco", "review_count": reviews, "rating": 4.5})
}

fn review(id: &str, rating: u64, day: u32) -> serde_json::Value {
    json!({"id": id, "url": "https://www.yelp.com/biz/x", "text": format!("Review {id}\nmore"), "rating": rating,
           "time_created": format!("2026-05-{day:02} 19:30:00"), "user": {"id": "u", "name": "Sam K."}})
}

struct YelpFixtures;

#[async_trait]
impl Fixtures for YelpFixtures {
    async fn mount_happy(&self, server: &MockServer) {
        Mock::given(method("GET"))
            .and(path("/v3/businesses/gary-danko-san-francisco"))
            .respond_with(ResponseTemplate::new(200).set_body_json(business(5296)))
            .mount(server)
            .await;
        // The base plan: three excerpts whatever the total, so one short page.
        Mock::given(method("GET"))
            .and(path(format!("/v3/businesses/{ID}/reviews")))
            .and(query_param("offset", "0"))
            .and(query_param("limit", "50"))
            .respond_with(ResponseTemplate::new(200).set_body_json(json!({
                "total": 5296, "possible_languages": ["en"],
                "reviews": [review("r1", 5, 20), review("r2", 4, 12), review("r3", 2, 3)]})))
            .expect(1)
            .mount(server)
            .await;
    }

    async fn mount_empty(&self, server: &MockServer) {
        Mock::given(method("GET"))
            .and(path("/v3/businesses/gary-danko-san-francisco"))
            .respond_with(ResponseTemplate::new(200).set_body_json(business(0)))
            .mount(server)
            .await;
    }

    fn happy_records(&self) -> usize {
        3
    }

    fn settings(&self) -> serde_json::Value {
        json!({"business": "gary-danko-san-francisco"})
    }

    fn base_url(&self, server: &MockServer) -> String {
        format!("{}/v3", server.uri())
    }

    fn credential(&self) -> Credential {
        bearer("yelp-api-key")
    }
}

#[tokio::test]
async fn the_yelp_manifest_passes_the_conformance_kit() {
    run_conformance(connector("yelp"), &YelpFixtures).await;
}

async fn pull_yelp(sb: &Sandbox) -> Result<tally_model::PointBuffer, ConnectorError> {
    let yelp = connector("yelp");
    let base = sb.base_url("yelp");
    let http = tally_testkit::host_for(&base, &yelp.describe(), bearer(SAMPLE_TOKEN));
    pull(
        yelp.as_ref(),
        &http,
        &Source::new(&base, json!({"business": "corner-bakery"})),
    )
    .await
}

#[tokio::test]
async fn access_limit_reached_waits_for_the_daily_reset() {
    let sb = Sandbox::start(
        "127.0.0.1:0".parse().unwrap(),
        SandboxOptions {
            limits: PlatformLimits {
                yelp_per_day: 1,
                ..PlatformLimits::default()
            },
            ..SandboxOptions::default()
        },
    )
    .await
    .unwrap();
    // Another program spent the key's one call of the day.
    let spent = reqwest::Client::builder()
        .no_proxy()
        .build()
        .unwrap()
        .get(format!("{}/businesses/corner-bakery", sb.base_url("yelp")))
        .bearer_auth(SAMPLE_TOKEN)
        .send()
        .await
        .unwrap();
    assert_eq!(spent.status(), 200);
    match pull_yelp(&sb).await {
        Err(ConnectorError::Http(HttpError::Throttled { path, wait_secs })) => {
            assert!(path.ends_with("/businesses/corner-bakery"), "{path}");
            // Until midnight UTC, not a few seconds of backoff.
            let midnight = (Utc::now().date_naive() + chrono::Days::new(1))
                .and_hms_opt(0, 0, 0)
                .unwrap()
                .and_utc();
            let until = (midnight - Utc::now()).num_seconds();
            assert!(
                wait_secs as i64 >= until - 5 && wait_secs as i64 <= until + 5,
                "{wait_secs} vs {until}"
            );
        }
        other => panic!("expected a throttled pull, got {other:?}"),
    }
}

#[tokio::test]
async fn too_many_requests_per_second_is_retried() {
    let sb = Sandbox::start(
        "127.0.0.1:0".parse().unwrap(),
        SandboxOptions {
            // Every second call is answered 429 TOO_MANY_REQUESTS_PER_SECOND.
            faults: FaultOptions {
                burst_429_every: 2,
                ..FaultOptions::default()
            },
            ..SandboxOptions::default()
        },
    )
    .await
    .unwrap();
    let points = pull_yelp(&sb)
        .await
        .expect("retried past the per-second 429")
        .points;
    assert!(points.iter().any(|p| p.metric == "reviews.count"));
    assert_eq!(sb.stats().per_platform["yelp"].throttled, 1);
}
