//! Mock setup shared by the tests: Google responses as JSON, a matcher on a
//! GA4 request's dimensions and offset, and a pull with a bearer token.

use serde_json::{json, Value};
use tally_model::{Connector, ConnectorError, Point, PointBuffer, PointTime};
use tally_testkit::{Credential, Source};
use wiremock::{Match, Request, ResponseTemplate};

/// The access token the tests configure.
pub const TOKEN: &str = "ya29.test-token";

/// The bearer credential the host injects.
pub fn credential() -> Credential {
    tally_testkit::bearer(TOKEN)
}

/// A JSON response.
pub fn json_body(body: Value) -> ResponseTemplate {
    ResponseTemplate::new(200).set_body_json(body)
}

/// Matches a GA4 `runReport` asking for exactly these dimensions (after
/// `date`) at this offset.
pub struct Report {
    pub dimensions: &'static [&'static str],
    pub offset: &'static str,
}

impl Match for Report {
    fn matches(&self, request: &Request) -> bool {
        let Ok(body) = serde_json::from_slice::<Value>(&request.body) else {
            return false;
        };
        let asked: Vec<&str> = body["dimensions"]
            .as_array()
            .map(|a| a.iter().filter_map(|d| d["name"].as_str()).collect())
            .unwrap_or_default();
        let want: Vec<&str> = std::iter::once("date")
            .chain(self.dimensions.iter().copied())
            .collect();
        asked == want && body["offset"] == self.offset
    }
}

/// A `RunReportResponse` with the five default metrics.
pub fn report(dimensions: &[&str], rows: Vec<Value>, row_count: usize) -> Value {
    let mut body = json!({
        "dimensionHeaders": std::iter::once("date").chain(dimensions.iter().copied()).map(|d| json!({"name": d})).collect::<Vec<_>>(),
        "metricHeaders": [
            {"name": "sessions", "type": "TYPE_INTEGER"},
            {"name": "totalUsers", "type": "TYPE_INTEGER"},
            {"name": "newUsers", "type": "TYPE_INTEGER"},
            {"name": "keyEvents", "type": "TYPE_INTEGER"},
            {"name": "purchaseRevenue", "type": "TYPE_CURRENCY"}
        ],
        "rowCount": row_count,
        "metadata": {"currencyCode": "USD", "timeZone": "America/Chicago"},
        "propertyQuota": {
            "tokensPerDay": {"consumed": 12, "remaining": 199_000},
            "tokensPerHour": {"consumed": 12, "remaining": 39_000}
        },
        "kind": "analyticsData#runReport"
    });
    if !rows.is_empty() {
        body["rows"] = Value::Array(rows);
    }
    body
}

/// One report row: a day, dimension values and sessions (the other metrics derived).
pub fn row(day: &str, dimensions: &[&str], sessions: u64) -> Value {
    json!({
        "dimensionValues": std::iter::once(day).chain(dimensions.iter().copied()).map(|v| json!({"value": v})).collect::<Vec<_>>(),
        "metricValues": [
            {"value": sessions.to_string()},
            {"value": (sessions * 8 / 10).to_string()},
            {"value": (sessions / 3).to_string()},
            {"value": (sessions / 10).to_string()},
            {"value": format!("{:.2}", sessions as f64 * 1.25)}
        ]
    })
}

/// Pulls `connector` from `base_url` with these settings and the bearer token.
pub async fn pull(
    connector: &dyn Connector,
    base_url: &str,
    settings: Value,
) -> Result<PointBuffer, ConnectorError> {
    let http = tally_testkit::host_for(base_url, &connector.describe(), credential());
    tally_testkit::pull(connector, &http, &Source::new(base_url, settings)).await
}

/// The start of a point's period, as RFC 3339.
pub fn start(point: &Point) -> String {
    match point.time {
        PointTime::Period { start, .. } => start.to_rfc3339(),
        PointTime::At(at) => at.to_rfc3339(),
    }
}
