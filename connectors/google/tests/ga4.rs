//! GA4 against a mock Data API: offset paging past 10,000 rows, the property
//! quota stopping a pull before it is spent, a restated day kept as a
//! revision, and the request bodies the connector sends.

use crate::support::*;
use serde_json::{json, Value};
use std::collections::BTreeSet;
use tally_google::Ga4;
use tally_model::ConnectorError;
use tally_store::{PointQuery, Store};
use tally_testkit::Source;
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer};

const SOURCES: &[&str] = &["sessionSource", "sessionMedium", "sessionCampaignName"];

/// Mounts a small totals and country report, so a test can focus on one report.
async fn mount_small_reports(server: &MockServer) {
    for (dimensions, values) in [(&[][..], &[][..]), (&["country"][..], &["Canada"][..])] {
        Mock::given(method("POST"))
            .and(path("/properties/1:runReport"))
            .and(Report {
                dimensions,
                offset: "0",
            })
            .respond_with(json_body(report(
                dimensions,
                vec![row("20260530", values, 5)],
                1,
            )))
            .mount(server)
            .await;
    }
}

#[tokio::test]
async fn a_report_of_more_than_10000_rows_is_read_page_by_page_until_row_count() {
    let server = MockServer::start().await;
    mount_small_reports(&server).await;
    let rows = |from: usize, to: usize| -> Vec<Value> {
        (from..to)
            .map(|i| {
                row(
                    "20260530",
                    &[&format!("site{i}"), "referral", "(referral)"],
                    1,
                )
            })
            .collect()
    };
    for (offset, from, to) in [("0", 0, 10_000), ("10000", 10_000, 12_345)] {
        Mock::given(method("POST"))
            .and(path("/properties/1:runReport"))
            .and(Report {
                dimensions: SOURCES,
                offset,
            })
            .respond_with(json_body(report(SOURCES, rows(from, to), 12_345)))
            .expect(1)
            .mount(&server)
            .await;
    }

    let buffer = pull(&Ga4, &server.uri(), json!({"property_id": "1"}))
        .await
        .unwrap();

    let sources: BTreeSet<&str> = buffer
        .points
        .iter()
        .filter(|p| p.metric == "traffic.sessions")
        .filter_map(|p| p.dimensions.get("source").map(String::as_str))
        .collect();
    assert_eq!(sources.len(), 12_345, "every row of both pages, once");
    let bodies: Vec<Value> = server
        .received_requests()
        .await
        .unwrap()
        .iter()
        .map(|r| serde_json::from_slice(&r.body).unwrap())
        .filter(|b: &Value| b["dimensions"].as_array().is_some_and(|d| d.len() == 4))
        .collect();
    let offsets: Vec<&str> = bodies
        .iter()
        .map(|b| b["offset"].as_str().unwrap())
        .collect();
    assert_eq!(offsets, ["0", "10000"]);
    assert!(bodies.iter().all(|b| b["limit"] == "10000"));
}

#[tokio::test]
async fn the_pull_stops_before_the_property_tokens_of_the_hour_are_spent() {
    let server = MockServer::start().await;
    let mut body = report(&[], vec![row("20260530", &[], 5)], 1);
    body["propertyQuota"]["tokensPerHour"] = json!({"consumed": 12, "remaining": 7});
    Mock::given(method("POST"))
        .and(path("/properties/1:runReport"))
        .respond_with(json_body(body))
        .expect(1)
        .mount(&server)
        .await;

    let e = pull(&Ga4, &server.uri(), json!({"property_id": "1"}))
        .await
        .unwrap_err();

    assert!(matches!(e, ConnectorError::Other(_)), "{e:?}");
    assert_eq!(
        e.to_string(),
        "/properties/1:runReport: GA4 property 1 has 7 of its tokensPerHour left and the last request used 12; stopping before the property is refused. The tokens come back at the top of the hour; the source will be pulled again on its next run"
    );
}

#[tokio::test]
async fn a_restated_day_is_re_read_within_the_lookback_and_kept_as_a_revision() {
    let server = MockServer::start().await;
    mount_small_reports(&server).await;
    Mock::given(method("POST"))
        .and(path("/properties/1:runReport"))
        .and(Report {
            dimensions: SOURCES,
            offset: "0",
        })
        .respond_with(json_body(report(SOURCES, vec![], 0)))
        .mount(&server)
        .await;
    let http = tally_testkit::host_for(
        &server.uri(),
        &tally_model::Connector::describe(&Ga4),
        credential(),
    );
    let mut source = Source::new(server.uri(), json!({"property_id": "1"}));
    let first = tally_testkit::pull(&Ga4, &http, &source).await.unwrap();
    assert_eq!(first.state, Some(json!({"through": "2026-05-30"})));

    // GA4 restates the 30th: 5 sessions become 15.
    server.reset().await;
    for (dimensions, rows) in [
        (&[][..], vec![row("20260530", &[], 15)]),
        (&["country"][..], vec![]),
        (SOURCES, vec![]),
    ] {
        let count = rows.len();
        Mock::given(method("POST"))
            .and(path("/properties/1:runReport"))
            .and(Report {
                dimensions,
                offset: "0",
            })
            .respond_with(json_body(report(dimensions, rows, count)))
            .mount(&server)
            .await;
    }
    source.state = first.state.clone();
    let second = tally_testkit::pull(&Ga4, &http, &source).await.unwrap();
    let asked: Value =
        serde_json::from_slice(&server.received_requests().await.unwrap()[0].body).unwrap();
    assert_eq!(
        asked["dateRanges"][0]["startDate"], "2026-05-27",
        "the last day read minus 3"
    );

    let mut store = Store::open_in_memory().unwrap();
    let t1 = tally_testkit::now();
    let t2 = t1 + chrono::Duration::hours(6);
    store.write_batch("ga4", &first.points, t1, None).unwrap();
    let stats = store.write_batch("ga4", &second.points, t2, None).unwrap();
    assert_eq!(stats.revised, 5, "the five metrics of the restated day");
    let sessions = |as_of| {
        store
            .query(&PointQuery {
                metric: Some("traffic.sessions".into()),
                as_of,
                ..PointQuery::default()
            })
            .unwrap()
            .into_iter()
            .filter(|p| p.point.dimensions.is_empty())
            .map(|p| p.point.value)
            .collect::<Vec<_>>()
    };
    assert_eq!(sessions(None), vec![15.0]);
    assert_eq!(sessions(Some(t1 + chrono::Duration::minutes(1))), vec![5.0]);
}

#[tokio::test]
async fn requests_name_key_events_never_the_deprecated_conversions_and_ask_for_the_quota() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/properties/1:runReport"))
        .respond_with(json_body(report(&[], vec![], 0)))
        .mount(&server)
        .await;
    pull(
        &Ga4,
        &server.uri(),
        json!({"property_id": "properties/1", "lead_events": ["generate_lead"]}),
    )
    .await
    .unwrap();
    let requests = server.received_requests().await.unwrap();
    assert_eq!(requests.len(), 3, "totals, campaign sources and countries");
    for request in &requests {
        assert_eq!(
            request.headers.get("authorization").unwrap(),
            &format!("Bearer {TOKEN}")
        );
        let body: Value = serde_json::from_slice(&request.body).unwrap();
        let metrics: Vec<&str> = body["metrics"]
            .as_array()
            .unwrap()
            .iter()
            .map(|m| m["name"].as_str().unwrap())
            .collect();
        assert_eq!(
            metrics,
            [
                "sessions",
                "totalUsers",
                "newUsers",
                "keyEvents",
                "purchaseRevenue",
                "keyEvents:generate_lead"
            ]
        );
        assert_eq!(body["returnPropertyQuota"], true);
        assert_eq!(
            body["dateRanges"][0],
            json!({"startDate": "28daysAgo", "endDate": "today"})
        );
    }
}
