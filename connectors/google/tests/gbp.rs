//! Business Profile against mock APIs: reviews of every star rating over
//! several pages, performance values Google leaves out when zero, and the
//! three APIs reached under one `base_url`.

use crate::support::*;
use serde_json::json;
use tally_google::GoogleBusinessProfile;
use tally_model::ConnectorError;
use wiremock::matchers::{method, path, query_param, query_param_is_missing};
use wiremock::{Mock, MockServer};

/// The location list of account 12: one bakery.
pub async fn mount_locations(server: &MockServer) {
    Mock::given(method("GET"))
        .and(path(
            "/mybusinessbusinessinformation/v1/accounts/12/locations",
        ))
        .and(query_param("readMask", "name,title"))
        .respond_with(json_body(json!({
            "locations": [{"name": "locations/34", "title": "Corner Bakery"}]
        })))
        .mount(server)
        .await;
}

/// Two pages of reviews: one of each star rating and one unspecified.
pub async fn mount_reviews(server: &MockServer) {
    let review = |id: &str, stars: &str, at: &str| json!({"name": format!("accounts/12/locations/34/reviews/{id}"), "reviewId": id, "starRating": stars, "createTime": at, "updateTime": at, "reviewer": {"displayName": "A"}});
    Mock::given(method("GET"))
        .and(path("/v4/accounts/12/locations/34/reviews"))
        .and(query_param_is_missing("pageToken"))
        .respond_with(json_body(json!({
            "reviews": [
                review("r1", "FIVE", "2026-05-31T18:00:00Z"),
                review("r2", "FOUR", "2026-05-31T17:00:00Z"),
                review("r3", "THREE", "2026-05-30T12:00:00Z")
            ],
            "averageRating": 3.4,
            "totalReviewCount": 6,
            "nextPageToken": "page2"
        })))
        .expect(1)
        .mount(server)
        .await;
    Mock::given(method("GET"))
        .and(path("/v4/accounts/12/locations/34/reviews"))
        .and(query_param("pageToken", "page2"))
        .respond_with(json_body(json!({
            "reviews": [
                review("r4", "TWO", "2026-05-29T12:00:00Z"),
                review("r5", "ONE", "2026-05-28T12:00:00Z"),
                review("r6", "STAR_RATING_UNSPECIFIED", "2026-05-28T12:00:00Z")
            ],
            "averageRating": 3.4,
            "totalReviewCount": 6
        })))
        .expect(1)
        .mount(server)
        .await;
}

/// Two days of calls: 4, then a zero Google leaves out.
pub async fn mount_performance(server: &MockServer) {
    Mock::given(method("GET"))
        .and(path(
            "/businessprofileperformance/v1/locations/34:fetchMultiDailyMetricsTimeSeries",
        ))
        .respond_with(json_body(
            json!({"multiDailyMetricTimeSeries": [{"dailyMetricTimeSeries": [
                {"dailyMetric": "CALL_CLICKS", "timeSeries": {"datedValues": [
                    {"date": {"year": 2026, "month": 5, "day": 30}, "value": "4"},
                    {"date": {"year": 2026, "month": 5, "day": 31}}
                ]}},
                {"dailyMetric": "BUSINESS_IMPRESSIONS_MOBILE_MAPS", "timeSeries": {"datedValues": [
                    {"date": {"year": 2026, "month": 5, "day": 30}, "value": "120"},
                    {"date": {"year": 2026, "month": 5, "day": 31}, "value": "80"}
                ]}}
            ]}]}),
        ))
        .expect(1)
        .mount(server)
        .await;
}

fn settings() -> serde_json::Value {
    json!({"account_id": "12", "timezone": "UTC"})
}

#[tokio::test]
async fn every_star_rating_counts_as_its_number_of_stars_and_the_gauges_come_from_the_first_page() {
    let server = MockServer::start().await;
    mount_locations(&server).await;
    mount_reviews(&server).await;
    mount_performance(&server).await;

    let buffer = pull(&GoogleBusinessProfile, &server.uri(), settings())
        .await
        .unwrap();

    let mut by_rating: Vec<(String, String, f64)> = buffer
        .points
        .iter()
        .filter(|p| p.metric == "reviews.new" && !p.dimensions.is_empty())
        .map(|p| (start(p), p.dimensions["rating"].clone(), p.value))
        .collect();
    by_rating.sort_by(|a, b| (&a.0, &a.1).cmp(&(&b.0, &b.1)));
    assert_eq!(
        by_rating,
        vec![
            ("2026-05-28T00:00:00+00:00".into(), "1".into(), 1.0),
            ("2026-05-29T00:00:00+00:00".into(), "2".into(), 1.0),
            ("2026-05-30T00:00:00+00:00".into(), "3".into(), 1.0),
            ("2026-05-31T00:00:00+00:00".into(), "4".into(), 1.0),
            ("2026-05-31T00:00:00+00:00".into(), "5".into(), 1.0),
        ]
    );
    let gauge = |metric: &str| {
        buffer
            .points
            .iter()
            .find(|p| p.metric == metric)
            .map(|p| (p.value, p.entity.id.to_string(), p.entity.name.clone()))
            .unwrap()
    };
    assert_eq!(
        gauge("reviews.count"),
        (6.0, "locations/34".into(), Some("Corner Bakery".into()))
    );
    assert_eq!(gauge("reviews.rating").0, 3.4);
}

#[tokio::test]
async fn a_performance_value_google_leaves_out_is_stored_as_zero() {
    let server = MockServer::start().await;
    mount_locations(&server).await;
    mount_reviews(&server).await;
    mount_performance(&server).await;

    let buffer = pull(&GoogleBusinessProfile, &server.uri(), settings())
        .await
        .unwrap();

    let calls: Vec<(String, f64)> = buffer
        .points
        .iter()
        .filter(|p| p.metric == "actions.calls")
        .map(|p| (start(p), p.value))
        .collect();
    assert_eq!(
        calls,
        vec![
            ("2026-05-30T00:00:00+00:00".into(), 4.0),
            ("2026-05-31T00:00:00+00:00".into(), 0.0)
        ]
    );
    let request = server
        .received_requests()
        .await
        .unwrap()
        .into_iter()
        .find(|r| r.url.path().ends_with(":fetchMultiDailyMetricsTimeSeries"))
        .unwrap();
    let metrics: Vec<String> = request
        .url
        .query_pairs()
        .filter(|(k, _)| k == "dailyMetrics")
        .map(|(_, v)| v.into_owned())
        .collect();
    assert_eq!(
        metrics.len(),
        9,
        "every daily metric Tally maps, as repeated parameters"
    );
    let param = |name: &str| {
        request
            .url
            .query_pairs()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.into_owned())
            .unwrap()
    };
    // The pull runs on 2026-06-01: 28 days back, to today.
    assert_eq!(
        (
            param("dailyRange.startDate.month"),
            param("dailyRange.startDate.day")
        ),
        ("5".into(), "4".into())
    );
    assert_eq!(param("dailyRange.endDate.day"), "1");
}

#[tokio::test]
async fn an_unknown_star_rating_is_an_error_naming_the_review() {
    let server = MockServer::start().await;
    mount_locations(&server).await;
    Mock::given(method("GET"))
        .and(path("/v4/accounts/12/locations/34/reviews"))
        .respond_with(json_body(json!({
            "reviews": [{"reviewId": "r9", "starRating": "SIX", "createTime": "2026-05-31T18:00:00Z"}],
            "totalReviewCount": 1
        })))
        .mount(&server)
        .await;

    let e = pull(&GoogleBusinessProfile, &server.uri(), settings())
        .await
        .unwrap_err();

    let ConnectorError::Decode { path, message, .. } = &e else {
        panic!("{e:?}")
    };
    assert_eq!(path, "/v4/accounts/12/locations/34/reviews");
    assert_eq!(
        message,
        "reviews[0] (r9): starRating `SIX` is not one of ONE, TWO, THREE, FOUR, FIVE"
    );
}

#[tokio::test]
async fn a_location_the_account_cannot_see_is_not_found_with_googles_words() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/mybusinessbusinessinformation/v1/locations/99"))
        .respond_with(wiremock::ResponseTemplate::new(404).set_body_json(json!({
            "error": {"code": 404, "message": "Requested entity was not found.", "status": "NOT_FOUND"}
        })))
        .mount(&server)
        .await;

    let e = pull(
        &GoogleBusinessProfile,
        &server.uri(),
        json!({"account_id": "12", "locations": ["locations/99"]}),
    )
    .await
    .unwrap_err();

    assert_eq!(
        e.to_string(),
        "not found: /mybusinessbusinessinformation/v1/locations/99 (NOT_FOUND); Google Business Profile said: Requested entity was not found."
    );
}
