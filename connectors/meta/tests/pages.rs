//! `facebook_pages` against a mock Graph API.

use crate::support::*;
use serde_json::json;
use std::sync::Arc;
use tally_meta::FacebookPages;
use tally_model::{ConnectorError, HttpError, PointTime};
use tally_testkit::{pull_err, pull_ok, Recording};

#[tokio::test]
async fn the_page_its_insights_and_every_page_of_posts_map_to_points() {
    let server = wiremock::MockServer::start().await;
    tally_testkit::conformance::Fixtures::mount_happy(&PagesFixtures, &server).await;
    let buffer = pull_ok(&FacebookPages, &PagesFixtures, &server, json!({})).await;
    let got = |metric: &str, entity: &str| {
        buffer
            .points
            .iter()
            .filter(|p| p.metric == metric && p.entity.id == entity && p.dimensions.is_empty())
            .map(|p| p.value)
            .collect::<Vec<_>>()
    };
    assert_eq!(got("audience.followers", PAGE), [214_600_000.0]);
    assert_eq!(got("engagement.interactions", PAGE), [42.0, 37.0]);
    assert_eq!(got("reach.views", PAGE), [910.0, 870.0]);
    // All three posts, from both pages of the listing.
    assert_eq!(got("engagement.reactions", &format!("{PAGE}_3")), [7.0]);
    assert_eq!(got("traffic.clicks", &format!("{PAGE}_1")), [12.0]);
    let likes = buffer
        .points
        .iter()
        .find(|p| p.raw_name == "fan_count")
        .unwrap();
    assert_eq!(likes.dimensions["audience"], "page_likes");
    let engagement = buffer
        .points
        .iter()
        .find(|p| p.raw_name == "page_post_engagements")
        .unwrap();
    assert_eq!(
        engagement.time,
        PointTime::Period {
            start: "2026-06-17T07:00:00Z".parse().unwrap(),
            end: "2026-06-18T07:00:00Z".parse().unwrap(),
        }
    );
    assert!(buffer.state.is_some());
}

#[tokio::test]
async fn no_removed_metric_is_ever_requested() {
    let server = wiremock::MockServer::start().await;
    tally_testkit::conformance::Fixtures::mount_happy(&PagesFixtures, &server).await;
    let recording = Recording::new(tally_testkit::fixture_http(
        &FacebookPages,
        &PagesFixtures,
        &server,
    ));
    let source = tally_testkit::fixture_source(&PagesFixtures, &server, json!({}));
    tally_testkit::pull(&FacebookPages, &recording, &source)
        .await
        .unwrap();
    let urls: Vec<String> = recording.requests().iter().map(|r| r.url.clone()).collect();
    assert!(urls.iter().any(|u| u.contains("metric=page_media_view,page_total_media_view_unique,page_post_engagements,page_daily_follows_unique,page_daily_unfollows_unique,page_views_total&")), "{urls:?}");
    for url in &urls {
        for removed in [
            "page_impressions",
            "page_fans",
            "post_impressions",
            "page_fan_adds",
            "impressions_unique",
        ] {
            assert!(!url.contains(removed), "{url} asks for {removed}");
        }
        assert!(!url.contains("ids="), "{url} is a multi-id request");
    }
}

#[tokio::test]
async fn an_expired_token_names_the_login_command() {
    let server = wiremock::MockServer::start().await;
    get(&format!("/{PAGE}"))
        .respond_with(graph_error(400, ERROR_190))
        .mount(&server)
        .await;
    let error = pull_err(&FacebookPages, &PagesFixtures, &server, json!({})).await;
    assert!(
        matches!(
            error,
            ConnectorError::Http(HttpError::Unauthorized { status: 400, .. })
        ),
        "{error:?}"
    );
    assert_eq!(
        error.to_string(),
        "/v27.0/20531316728 refused the credential (400): Meta says the access token is expired (code 190, subcode 463: Error validating access token: Session has expired on Friday, 04-Dec-26 10:00:00 PST. (fbtrace_id A1m6KK6aJ4hM0nz)); run `tally auth login test-source`"
    );
}

#[tokio::test]
async fn a_metric_meta_removed_is_named() {
    let server = wiremock::MockServer::start().await;
    get(&format!("/{PAGE}"))
        .respond_with(body(PAGE_JSON))
        .mount(&server)
        .await;
    get(&format!("/{PAGE}/insights"))
        .respond_with(graph_error(400, ERROR_REMOVED_METRIC))
        .mount(&server)
        .await;
    let error = pull_err(&FacebookPages, &PagesFixtures, &server, json!({})).await;
    // Meta's message names a metric this connector does not ask for, so all are listed.
    assert!(
        error.to_string().starts_with("/v27.0/20531316728/insights: Meta does not accept the insights metric `page_media_view`, `page_total_media_view_unique`"),
        "{error}"
    );
}

#[tokio::test]
async fn a_pinned_version_is_spoken() {
    let server = wiremock::MockServer::start().await;
    wiremock::Mock::given(wiremock::matchers::path(format!("/v25.0/{PAGE}")))
        .respond_with(body(PAGE_JSON))
        .expect(1)
        .mount(&server)
        .await;
    let http = tally_testkit::fixture_http(&FacebookPages, &PagesFixtures, &server);
    let source =
        tally_testkit::fixture_source(&PagesFixtures, &server, json!({"api_version": "v25.0"}));
    let found = FacebookPages.check(&source.context(&http)).await.unwrap();
    assert_eq!(found, "Page Facebook (214600000 followers)");
}

#[tokio::test]
async fn conformance() {
    let report =
        tally_testkit::conformance::run_conformance(Arc::new(FacebookPages), &PagesFixtures);
    println!("{}", report.await);
}

use tally_model::Connector as _;
