//! Requests and the sandbox's responses against the discovery documents
//! Google publishes (vendored in `core/testkit/specs/`): every body the
//! connectors send and every body the sandbox answers, for all three APIs.
//! The v4 reviews API has no published document, so its exchanges are the
//! only ones not checked here.

use crate::support::*;
use async_trait::async_trait;
use chrono::Utc;
use serde_json::{json, Value};
use std::sync::Mutex;
use tally_google::{Ga4, GoogleBusinessProfile, YoutubeAnalytics};
use tally_model::{Connector, HttpClient, HttpError, HttpRequest, HttpResponse};
use tally_sandbox::{Sandbox, SandboxOptions};
use tally_testkit::spec::discovery::Discovery;
use tally_testkit::Source;

/// The host client, keeping every request with its response.
struct Tap<C> {
    inner: C,
    log: Mutex<Vec<(HttpRequest, HttpResponse)>>,
}

#[async_trait]
impl<C: HttpClient> HttpClient for Tap<C> {
    async fn send(&self, request: HttpRequest) -> Result<HttpResponse, HttpError> {
        let response = self.inner.send(request.clone()).await?;
        self.log.lock().unwrap().push((request, response.clone()));
        Ok(response)
    }

    fn report_quota(&self, stated: &tally_model::StatedQuota) -> Result<(), HttpError> {
        self.inner.report_quota(stated)
    }
}

/// Pulls `connector` from the sandbox and returns every exchange.
async fn exchanges(
    connector: &dyn Connector,
    platform: &str,
    settings: Value,
) -> Vec<(HttpRequest, HttpResponse)> {
    let sb = Sandbox::start("127.0.0.1:0".parse().unwrap(), SandboxOptions::default())
        .await
        .unwrap();
    let base = sb.base_url(platform);
    let tap = Tap {
        inner: tally_testkit::host_for(&base, &connector.describe(), credential()),
        log: Mutex::new(Vec::new()),
    };
    let source = Source {
        now: Utc::now(),
        ..Source::new(&base, settings)
    };
    tally_testkit::pull(connector, &tap, &source).await.unwrap();
    sb.shutdown().await;
    tap.log.into_inner().unwrap()
}

fn query(url: &str) -> Vec<(String, String)> {
    let url = url::Url::parse(url).unwrap();
    url.query_pairs()
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect()
}

fn body(bytes: &[u8]) -> Value {
    serde_json::from_slice(bytes).unwrap()
}

fn assert_fits(doc: &Discovery, schema: &str, value: &Value, what: &str) {
    if let Err(errors) = doc.check(schema, value) {
        panic!("{what} does not fit {schema}:\n{}", errors.join("\n"));
    }
}

#[tokio::test]
async fn ga4_requests_and_sandbox_reports_fit_the_analytics_data_document() {
    let doc = Discovery::vendored("ga4/analyticsdata__v1beta.json");
    let log = exchanges(
        &Ga4,
        "ga4",
        json!({"property_id": "123", "lead_events": ["generate_lead"]}),
    )
    .await;
    assert_eq!(log.len(), 3);
    for (request, response) in &log {
        assert!(
            request.url.ends_with("/properties/123:runReport"),
            "{}",
            request.url
        );
        assert_eq!(
            doc.check_query("analyticsdata.properties.runReport", &query(&request.url)),
            Ok(())
        );
        assert_fits(
            &doc,
            "RunReportRequest",
            &body(request.body.as_deref().unwrap()),
            "the request",
        );
        assert_fits(
            &doc,
            "RunReportResponse",
            &body(&response.body),
            "the sandbox's report",
        );
    }
    // The large property's sampled reports with `(other)` rows fit too.
    let log = exchanges(&Ga4, "ga4", json!({"property_id": "900"})).await;
    let sampled = log
        .iter()
        .filter(|(_, r)| !body(&r.body)["metadata"]["samplingMetadatas"].is_null())
        .count();
    assert_eq!(sampled, 3);
    for (_, response) in &log {
        assert_fits(
            &doc,
            "RunReportResponse",
            &body(&response.body),
            "the sandbox's sampled report",
        );
    }
}

#[tokio::test]
async fn business_profile_requests_and_sandbox_answers_fit_the_v1_documents() {
    let info =
        Discovery::vendored("google-business-profile/mybusinessbusinessinformation__v1.json");
    let perf = Discovery::vendored("google-business-profile/businessprofileperformance__v1.json");
    let log = exchanges(
        &GoogleBusinessProfile,
        "google_business_profile",
        json!({"account_id": "1234567890", "timezone": "America/Chicago"}),
    )
    .await;
    let mut checked = 0;
    for (request, response) in &log {
        let q = query(&request.url);
        if request
            .url
            .contains("/mybusinessbusinessinformation/v1/accounts/")
        {
            assert_eq!(
                info.check_query("mybusinessbusinessinformation.accounts.locations.list", &q),
                Ok(())
            );
            assert_fits(
                &info,
                "ListLocationsResponse",
                &body(&response.body),
                "the location list",
            );
            checked += 1;
        } else if request.url.contains(":fetchMultiDailyMetricsTimeSeries") {
            assert_eq!(
                perf.check_query(
                    "businessprofileperformance.locations.fetchMultiDailyMetricsTimeSeries",
                    &q
                ),
                Ok(())
            );
            assert_fits(
                &perf,
                "FetchMultiDailyMetricsTimeSeriesResponse",
                &body(&response.body),
                "the series",
            );
            checked += 1;
        } else {
            assert!(request.url.contains("/v4/accounts/"), "{}", request.url);
        }
    }
    assert_eq!(checked, 2, "the location list and one location's series");
}

#[tokio::test]
async fn youtube_analytics_queries_and_sandbox_tables_fit_the_v2_document() {
    let doc = Discovery::vendored("youtube/youtubeAnalytics__v2.json");
    let log = exchanges(
        &YoutubeAnalytics,
        "youtube_analytics",
        json!({"channel_id": "UCcorner_bakery"}),
    )
    .await;
    assert_eq!(log.len(), 3, "daily, by traffic source, demographics");
    for (request, response) in &log {
        assert_eq!(
            doc.check_query("youtubeAnalytics.reports.query", &query(&request.url)),
            Ok(())
        );
        assert_fits(
            &doc,
            "QueryResponse",
            &body(&response.body),
            "the sandbox's table",
        );
    }
}

#[test]
fn a_body_that_strays_from_the_document_is_caught() {
    // The checks above would catch a connector sending the deprecated shape.
    let doc = Discovery::vendored("ga4/analyticsdata__v1beta.json");
    let stray = json!({"dateRanges": [{"startDate": "today", "endDate": "today"}], "metrics": [{"name": "sessions"}], "offset": 0, "returnQuota": true});
    assert_eq!(
        doc.check("RunReportRequest", &stray).unwrap_err(),
        vec![
            "$.offset: a int64 is sent as a JSON string, got number",
            "$.returnQuota: unknown field (not in the schema)",
        ]
    );
}
