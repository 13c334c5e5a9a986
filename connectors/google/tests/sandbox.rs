//! The three connectors against the sandbox `tally demo` pulls: what the
//! bakery's report is built from, and the sandbox's own Google behaviour
//! (a 400 for an unknown metric, property tokens counting down to
//! `RESOURCE_EXHAUSTED`).

use crate::support::*;
use chrono::Utc;
use serde_json::{json, Value};
use std::collections::{BTreeMap, BTreeSet};
use tally_google::{google, Ga4, GoogleBusinessProfile, YoutubeAnalytics};
use tally_model::{Connector, ConnectorError, HttpClient, HttpError, HttpRequest, PointBuffer};
use tally_sandbox::{Limit, PlatformLimits, Sandbox, SandboxOptions};
use tally_testkit::Source;

async fn sandbox(limits: PlatformLimits) -> Sandbox {
    Sandbox::start(
        "127.0.0.1:0".parse().unwrap(),
        SandboxOptions {
            limits,
            ..SandboxOptions::default()
        },
    )
    .await
    .unwrap()
}

async fn pull_now(
    connector: &dyn Connector,
    base: &str,
    settings: Value,
) -> Result<PointBuffer, ConnectorError> {
    let http = tally_testkit::host_for(base, &connector.describe(), credential());
    let source = Source {
        now: Utc::now(),
        ..Source::new(base, settings)
    };
    tally_testkit::pull(connector, &http, &source).await
}

/// Sums of `metric` per day: the totals, and the breakdown by `dimension` added up.
fn per_day(buffer: &PointBuffer, metric: &str, dimension: Option<&str>) -> BTreeMap<String, f64> {
    let mut days = BTreeMap::new();
    for p in buffer.points.iter().filter(|p| p.metric == metric) {
        let keep = match dimension {
            None => p.dimensions.is_empty(),
            Some(d) => p.dimensions.contains_key(d),
        };
        if keep {
            *days.entry(start(p)).or_insert(0.0) += p.value;
        }
    }
    days
}

#[tokio::test]
async fn ga4_from_the_sandbox_attributes_sessions_to_the_demo_campaign() {
    let sb = sandbox(PlatformLimits::default()).await;
    let buffer = pull_now(
        &Ga4,
        &sb.base_url("ga4"),
        json!({"property_id": "123", "lead_events": ["generate_lead"]}),
    )
    .await
    .unwrap();

    let totals = per_day(&buffer, "traffic.sessions", None);
    assert_eq!(totals.len(), 29, "28 days back and today");
    assert_eq!(
        totals,
        per_day(&buffer, "traffic.sessions", Some("source")),
        "sources add up to the totals"
    );
    assert_eq!(
        totals,
        per_day(&buffer, "traffic.sessions", Some("country")),
        "so do countries"
    );
    let campaigns: BTreeSet<(String, String, String)> = buffer
        .points
        .iter()
        .filter(|p| p.dimensions.contains_key("campaign"))
        .map(|p| {
            (
                p.dimensions["source"].clone(),
                p.dimensions["medium"].clone(),
                p.dimensions["campaign"].clone(),
            )
        })
        .collect();
    assert!(
        campaigns.contains(&("mastodon".into(), "social".into(), "june-launch".into())),
        "{campaigns:?}"
    );
    let revenue = buffer
        .points
        .iter()
        .find(|p| p.metric == "conversions.revenue")
        .unwrap();
    assert_eq!(revenue.unit.as_str(), "USD");
    assert!(buffer
        .points
        .iter()
        .any(|p| p.metric == "conversions.leads"));
    sb.shutdown().await;
}

#[tokio::test]
async fn a_sampled_property_with_other_rows_is_warned_about_and_other_is_stored_apart() {
    // The sandbox's property 900 is too large for GA4's limits: sampled, and
    // organic and direct visits lumped into `(other)`.
    let sb = sandbox(PlatformLimits::default()).await;
    let buffer = pull_now(&Ga4, &sb.base_url("ga4"), json!({"property_id": "900"}))
        .await
        .unwrap();

    let report = "by sessionSource, sessionMedium, sessionCampaignName";
    let other: Vec<_> = buffer
        .points
        .iter()
        .filter(|p| p.dimensions.get("source").map(String::as_str) == Some("(other)"))
        .collect();
    let total = |metric: &str| -> f64 {
        other
            .iter()
            .filter(|p| p.raw_name == metric)
            .map(|p| p.value)
            .sum()
    };
    let money = |v: f64| {
        if v.fract() == 0.0 {
            format!("{v:.0}")
        } else {
            format!("{v:.2}")
        }
    };
    let days: BTreeSet<String> = other.iter().map(|p| start(p)).collect();
    let day = |s: &String| s[..10].to_string();
    let sampled = |report: &str| {
        format!("GA4 report {report} (28daysAgo to today) is sampled: it read 12.5% of the property's events (125000 of 1000000), so its figures are estimates")
    };
    assert_eq!(
        buffer.warnings,
        vec![
            sampled("totals"),
            sampled(report),
            format!(
                "GA4 report {report} (28daysAgo to today) lumps rows past its limits into `(other)` on {} days from {} to {}: sessions {}, totalUsers {}, newUsers {}, keyEvents {}, purchaseRevenue {}; they are stored under the dimension value `(other)`, not counted in any real value",
                days.len(),
                day(days.first().unwrap()),
                day(days.last().unwrap()),
                total("sessions"),
                total("totalUsers"),
                total("newUsers"),
                total("keyEvents"),
                money(total("purchaseRevenue")),
            ),
            sampled("by country"),
        ]
    );
    assert!(days.len() >= 28, "{} days", days.len());

    // Stored, `(other)` is a series of its own, and the sources still add up.
    let mut store = tally_store::Store::open_in_memory().unwrap();
    store
        .write_batch("ga4-large", &buffer.points, Utc::now(), None)
        .unwrap();
    let stored = store
        .query(&tally_store::PointQuery {
            metric: Some("traffic.sessions".into()),
            ..tally_store::PointQuery::default()
        })
        .unwrap();
    let by_source = |source: &str| -> f64 {
        stored
            .iter()
            .filter(|p| p.point.dimensions.get("source").map(String::as_str) == Some(source))
            .map(|p| p.point.value)
            .sum()
    };
    assert_eq!(by_source("(other)"), total("sessions"));
    assert!(total("sessions") > 0.0);
    assert_eq!(
        by_source("google") + by_source("(direct)"),
        0.0,
        "lumped, never named"
    );
    assert_eq!(
        per_day(&buffer, "traffic.sessions", None),
        per_day(&buffer, "traffic.sessions", Some("source")),
        "(other) keeps the sources adding up to the totals"
    );
    sb.shutdown().await;
}

#[tokio::test]
async fn the_sandbox_answers_an_unknown_ga4_metric_with_googles_400() {
    let sb = sandbox(PlatformLimits::default()).await;
    let base = sb.base_url("ga4");
    let http = tally_testkit::host_for(&base, &Ga4.describe(), credential());
    let body = json!({"dateRanges": [{"startDate": "7daysAgo", "endDate": "today"}], "metrics": [{"name": "conversions"}, {"name": "sessionz"}]});
    let response = http
        .send(HttpRequest::post_json(
            format!("{base}/properties/123:runReport"),
            &body,
        ))
        .await
        .unwrap();
    assert_eq!(response.status, 400);
    assert_eq!(
        google::error_for("Google Analytics", "/ga4/v1beta/properties/123:runReport", 400, &response.body).to_string(),
        "/ga4/v1beta/properties/123:runReport answered HTTP 400: Google Analytics refused the request (INVALID_ARGUMENT); Google Analytics said: Field conversions is not a valid metric. For a list of valid dimensions and metrics, see https://developers.google.com/analytics/devguides/reporting/data/v1/api-schema"
    );
    let unknown_dimension = json!({"dateRanges": [{"startDate": "today", "endDate": "today"}], "dimensions": [{"name": "utmSource"}], "metrics": [{"name": "sessions"}]});
    let response = http
        .send(HttpRequest::post_json(
            format!("{base}/properties/123:runReport"),
            &unknown_dimension,
        ))
        .await
        .unwrap();
    let said: Value = serde_json::from_slice(&response.body).unwrap();
    assert_eq!(
        (response.status, said["error"]["status"].as_str(), said["error"]["message"].as_str()),
        (
            400,
            Some("INVALID_ARGUMENT"),
            Some("Field utmSource is not a valid dimension. For a list of valid dimensions and metrics, see https://developers.google.com/analytics/devguides/reporting/data/v1/api-schema")
        )
    );
    let unknown_field =
        json!({"dateRanges": [], "metrics": [{"name": "sessions"}], "returnQuota": true});
    let response = http
        .send(HttpRequest::post_json(
            format!("{base}/properties/123:runReport"),
            &unknown_field,
        ))
        .await
        .unwrap();
    let said: Value = serde_json::from_slice(&response.body).unwrap();
    assert_eq!(
        said["error"]["message"],
        "Invalid JSON payload received. Unknown name \"returnQuota\": Cannot find field."
    );
    sb.shutdown().await;
}

#[tokio::test]
async fn ga4_property_tokens_count_down_and_the_host_stops_the_pull_before_they_run_out() {
    // 10 tokens a request: room for 5 requests in the day.
    let sb = sandbox(PlatformLimits {
        ga4_tokens_per_hour: 0,
        ga4_tokens_per_day: 55,
        ..PlatformLimits::default()
    })
    .await;
    let base = sb.base_url("ga4");
    let first = pull_now(&Ga4, &base, json!({"property_id": "77"}))
        .await
        .unwrap();
    assert!(!first.points.is_empty(), "3 requests, 25 tokens left");
    let e = pull_now(&Ga4, &base, json!({"property_id": "77"}))
        .await
        .unwrap_err();
    // The host refused the sixth request unsent, on what the fifth's answer stated.
    let ConnectorError::Http(HttpError::QuotaStated { resets_at, .. }) = &e else {
        panic!("{e:?}")
    };
    assert_eq!(
        e.to_string(),
        format!("properties/77: tokensPerDay has 5 left, less than the 10 one request costs, as the platform last stated; nothing is sent until it resets at {resets_at}")
    );
    let midnight = chrono::DateTime::parse_from_rfc3339(resets_at)
        .unwrap()
        .with_timezone(&chrono_tz::America::Los_Angeles);
    assert_eq!(
        midnight.format("%H:%M:%S").to_string(),
        "00:00:00",
        "midnight in the property's time zone"
    );
    // The stop came before GA4 refused anything: 5 requests, all answered 200.
    assert_eq!(sb.stats().per_platform["ga4"].requests, 5);
    assert_eq!(sb.stats().throttled, 0);
    // Asked anyway, the property is refused with RESOURCE_EXHAUSTED, and the
    // host waits for the reset (midnight Pacific) instead of retrying.
    let http = tally_testkit::host_for(&base, &Ga4.describe(), credential());
    let body = json!({"dateRanges": [{"startDate": "today", "endDate": "today"}], "metrics": [{"name": "sessions"}]});
    let refused = http
        .send(HttpRequest::post_json(
            format!("{base}/properties/77:runReport"),
            &body,
        ))
        .await
        .unwrap_err();
    let HttpError::Throttled { path, wait_secs } = &refused else {
        panic!("{refused:?}")
    };
    assert_eq!(path, "/ga4/v1beta/properties/77:runReport");
    assert!(*wait_secs > 0 && *wait_secs <= 25 * 3600, "{wait_secs}");
    assert_eq!(
        sb.stats().per_platform["ga4"].requests,
        6,
        "one refusal, no retry"
    );
    sb.shutdown().await;
}

#[tokio::test]
async fn business_profile_from_the_sandbox_counts_every_review_and_stores_zero_days() {
    let sb = sandbox(PlatformLimits::default()).await;
    let buffer = pull_now(
        &GoogleBusinessProfile,
        &sb.base_url("google_business_profile"),
        json!({"account_id": "1234567890", "timezone": "America/Chicago"}),
    )
    .await
    .unwrap();

    let count = buffer
        .points
        .iter()
        .find(|p| p.metric == "reviews.count")
        .unwrap()
        .value;
    let new: f64 = per_day(&buffer, "reviews.new", None).values().sum();
    assert_eq!(new, count, "every review is read and counted on its day");
    let by_rating: f64 = per_day(&buffer, "reviews.new", Some("rating"))
        .values()
        .sum();
    assert_eq!(by_rating, count);
    let rating = buffer
        .points
        .iter()
        .find(|p| p.metric == "reviews.rating")
        .unwrap()
        .value;
    assert!((1.0..=5.0).contains(&rating));
    // The sandbox leaves zero days out; each metric still has a point for every day.
    let days = |metric: &str| per_day(&buffer, metric, None).len();
    assert!(days("actions.bookings") > 20);
    for metric in [
        "traffic.clicks",
        "actions.calls",
        "actions.directions",
        "actions.conversations",
        "reach.impressions",
    ] {
        assert_eq!(days(metric), days("actions.bookings"), "{metric}");
    }
    assert!(buffer
        .points
        .iter()
        .any(|p| p.metric == "actions.bookings" && p.value == 0.0));
    sb.shutdown().await;
}

#[tokio::test]
async fn youtube_analytics_from_the_sandbox_has_daily_watch_time_in_seconds_and_traffic_sources() {
    let sb = sandbox(PlatformLimits {
        google: Limit::new(1000, 1),
        ..PlatformLimits::default()
    })
    .await;
    let buffer = pull_now(
        &YoutubeAnalytics,
        &sb.base_url("youtube_analytics"),
        json!({"channel_id": "UCcorner_bakery"}),
    )
    .await
    .unwrap();
    let watch = per_day(&buffer, "engagement.watch_time", None);
    assert!(watch.len() >= 26, "{} days", watch.len());
    assert!(
        watch.values().all(|s| s % 60.0 == 0.0),
        "minutes become seconds"
    );
    let views = per_day(&buffer, "reach.views", None);
    let by_source = per_day(&buffer, "reach.views", Some("source"));
    for (day, total) in &views {
        assert!(by_source[day] <= *total, "{day}");
    }
    assert!(buffer.points.iter().all(|p| p.platform == "youtube"));
    sb.shutdown().await;
}

#[tokio::test]
async fn youtube_analytics_demographics_are_viewer_shares_per_age_group_and_gender_adding_up_to_100(
) {
    let sb = sandbox(PlatformLimits {
        google: Limit::new(1000, 1),
        ..PlatformLimits::default()
    })
    .await;
    let base = sb.base_url("youtube_analytics");
    let buffer = pull_now(
        &YoutubeAnalytics,
        &base,
        json!({"channel_id": "UCcorner_bakery"}),
    )
    .await
    .unwrap();
    let shares: Vec<_> = buffer
        .points
        .iter()
        .filter(|p| p.metric == "audience.viewer_share")
        .collect();
    assert_eq!(shares.len(), 7 * 3, "seven age groups by three genders");
    let groups: BTreeSet<(&str, &str)> = shares
        .iter()
        .map(|p| {
            (
                p.dimensions["age_group"].as_str(),
                p.dimensions["gender"].as_str(),
            )
        })
        .collect();
    assert_eq!(groups.len(), 21);
    assert!(groups.contains(&("13-17", "female")) && groups.contains(&("65+", "user_specified")));
    let total: f64 = shares.iter().map(|p| p.value).sum();
    assert!((total - 100.0).abs() <= 1.1, "the shares add up to {total}");

    // Stored, they keep their unit and dimensions.
    let mut store = tally_store::Store::open_in_memory().unwrap();
    store
        .write_batch("bakery-yta", &buffer.points, Utc::now(), None)
        .unwrap();
    let stored = store
        .query(&tally_store::PointQuery {
            metric: Some("audience.viewer_share".into()),
            ..tally_store::PointQuery::default()
        })
        .unwrap();
    assert_eq!(stored.len(), 21);
    assert!(stored
        .iter()
        .all(|p| p.point.unit == tally_model::Unit::Percent));
    let stored_total: f64 = stored.iter().map(|p| p.point.value).sum();
    assert!((stored_total - total).abs() < 1e-9);

    // YouTube offers no viewer shares by day: the sandbox refuses them as it does.
    let http = tally_testkit::host_for(&base, &YoutubeAnalytics.describe(), credential());
    let by_day = http
        .send(HttpRequest::get(format!(
            "{base}/reports?ids=channel%3D%3DUCcorner_bakery&startDate=2026-05-01&endDate=2026-05-28&metrics=viewerPercentage&dimensions=day%2CageGroup"
        )))
        .await
        .unwrap();
    let said: Value = serde_json::from_slice(&by_day.body).unwrap();
    assert_eq!(
        (by_day.status, said["error"]["message"].as_str()),
        (400, Some("The query is not supported. Check the documentation at https://developers.google.com/youtube/analytics/v2/available_reports for a list of supported queries."))
    );
    sb.shutdown().await;
}
