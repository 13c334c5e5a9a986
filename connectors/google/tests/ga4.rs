//! GA4 against a mock Data API: offset paging past 10,000 rows, the property
//! quota the host keeps stopping pulls (of every source on the property, in
//! this process and the next) before it is spent, a restated day kept as a
//! revision, and the request bodies the connector sends.

use crate::support::*;
use chrono::{DateTime, Utc};
use serde_json::{json, Value};
use std::collections::BTreeSet;
use std::sync::{Arc, Mutex};
use tally_google::Ga4;
use tally_host::http::{HostHttp, SourceHttp, SourceHttpSpec};
use tally_host::pull::StoreLedger;
use tally_model::{Connector, ConnectorError, HttpError};
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

/// A report whose `propertyQuota` says the hour's tokens cannot pay for
/// another request of 12 tokens: 7 are left.
fn hour_nearly_spent() -> Value {
    let mut body = report(&[], vec![row("20260530", &[], 5)], 1);
    body["propertyQuota"]["tokensPerHour"] = json!({"consumed": 12, "remaining": 7});
    body
}

/// The host's refusal of a request on property 1's spent hourly tokens, with
/// the reset it names: the top of an hour, within the next hour.
fn refused_on_the_hours_tokens(e: &ConnectorError) -> DateTime<Utc> {
    let ConnectorError::Http(HttpError::QuotaStated {
        budget,
        bucket,
        remaining,
        cost,
        resets_at,
    }) = e
    else {
        panic!("expected the host's refusal, got {e:?}")
    };
    assert_eq!(
        (budget.as_str(), bucket.as_str(), *remaining, *cost),
        ("properties/1", "tokensPerHour", 7, 12)
    );
    assert_eq!(
        e.to_string(),
        format!("properties/1: tokensPerHour has 7 left, less than the 12 one request costs, as the platform last stated; nothing is sent until it resets at {resets_at}")
    );
    let reset = DateTime::parse_from_rfc3339(resets_at).unwrap().to_utc();
    assert_eq!(reset.timestamp() % 3600, 0, "the top of an hour: {reset}");
    assert!(reset > Utc::now() && reset <= Utc::now() + chrono::Duration::hours(1));
    reset
}

#[tokio::test]
async fn the_host_stops_the_pull_before_the_property_tokens_of_the_hour_are_spent() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/properties/1:runReport"))
        .respond_with(json_body(hour_nearly_spent()))
        .expect(1)
        .mount(&server)
        .await;

    let e = pull(&Ga4, &server.uri(), json!({"property_id": "1"}))
        .await
        .unwrap_err();

    refused_on_the_hours_tokens(&e);
}

/// A host whose stated budgets live in `store`, as each `tally pull` or
/// `tally run` process builds it.
fn host_on(store: &Arc<Mutex<Store>>) -> Arc<HostHttp> {
    HostHttp::new(
        tally_testkit::http_settings(),
        Arc::new(StoreLedger::new(Arc::clone(store))),
    )
    .unwrap()
}

/// The client of a GA4 source named `id` on `host`, with its own token.
fn ga4_source(host: &Arc<HostHttp>, base: &str, id: &str, token: &str) -> SourceHttp {
    host.for_source(SourceHttpSpec {
        source_id: id.into(),
        ..tally_testkit::spec_for(base, &Ga4.describe(), tally_testkit::bearer(token))
    })
}

#[tokio::test]
async fn once_one_source_spent_the_hours_tokens_no_source_on_the_property_sends_until_the_reset() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/properties/1:runReport"))
        .respond_with(json_body(hour_nearly_spent()))
        .mount(&server)
        .await;
    let store = Arc::new(Mutex::new(Store::open_in_memory().unwrap()));
    let host = host_on(&store);
    let settings = json!({"property_id": "1"});
    let source = Source::new(server.uri(), settings.clone());

    // The shop's source spends the hour: one answer, then the host refuses.
    let shop = ga4_source(&host, &server.uri(), "shop-ga4", TOKEN);
    let e = tally_testkit::pull(&Ga4, &shop, &source).await.unwrap_err();
    let reset = refused_on_the_hours_tokens(&e);
    assert_eq!(server.received_requests().await.unwrap().len(), 1);

    // The blog's source, another credential on the same property, sends nothing.
    let blog = ga4_source(&host, &server.uri(), "blog-ga4", "ya29.blog-token");
    let e = tally_testkit::pull(&Ga4, &blog, &source).await.unwrap_err();
    assert_eq!(refused_on_the_hours_tokens(&e), reset);
    assert_eq!(blog.counts().snapshot(), (0, 0, 0));

    // Nor does the next pull, in a new process on the same store.
    let next = ga4_source(&host_on(&store), &server.uri(), "shop-ga4", TOKEN);
    let e = tally_testkit::pull(&Ga4, &next, &source).await.unwrap_err();
    assert_eq!(refused_on_the_hours_tokens(&e), reset);
    assert_eq!(
        server.received_requests().await.unwrap().len(),
        1,
        "still the one request"
    );

    // After the reset (the statement is now an hour old), the pull proceeds.
    let key = format!("ga4@127.0.0.1:{}/properties/1", server.address().port());
    let mut stated = store.lock().unwrap().quota_stated(&key).unwrap();
    let hour = stated
        .iter_mut()
        .find(|s| s.bucket == "tokensPerHour")
        .unwrap();
    hour.resets_at = Utc::now() - chrono::Duration::seconds(1);
    store.lock().unwrap().quota_state(&key, hour).unwrap();
    server.reset().await;
    Mock::given(method("POST"))
        .and(path("/properties/1:runReport"))
        .respond_with(json_body(report(&[], vec![row("20260530", &[], 5)], 1)))
        .mount(&server)
        .await;
    let after = ga4_source(&host_on(&store), &server.uri(), "shop-ga4", TOKEN);
    let pulled = tally_testkit::pull(&Ga4, &after, &source).await.unwrap();
    assert!(!pulled.points.is_empty());
    assert_eq!(
        server.received_requests().await.unwrap().len(),
        3,
        "the three reports"
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
    let http = tally_testkit::host_for(&server.uri(), &Ga4.describe(), credential());
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
