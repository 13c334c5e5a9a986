//! Google Analytics Data API v1beta (`/ga4/v1beta`):
//! `POST properties/{id}:runReport` with the discovery document's request and
//! response shapes.
//!
//! The body is validated as the real API does: an unknown field, metric or
//! dimension is answered 400 `INVALID_ARGUMENT` naming it. Any numeric
//! property id exists. Its sessions arrive from the UTM-tagged links of the
//! demo's `tally utm` campaign (`mastodon` / `youtube` / `bluesky` ×
//! `social` × `june-launch`), an email, organic search and direct visits, from
//! five countries; days are Pacific days (the property's time zone), today's
//! numbers are partial and restated the next day. Each request costs property
//! tokens, reported in `propertyQuota` when asked and refused with 429
//! `RESOURCE_EXHAUSTED` once a bucket cannot pay.
//!
//! Property [`LARGE_PROPERTY`] stands for a property too large for GA4's
//! limits: every report on it is sampled (`metadata.samplingMetadatas`, one
//! event in eight read), and in reports by session source, medium or campaign
//! the two largest channels are lumped into a `(other)` row, as GA4 does past
//! its cardinality limits (`metadata.dataLossFromOtherRow`).

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::post;
use axum::Router;
use chrono::{NaiveDate, Utc};
use serde_json::{json, Map, Value};

use super::AipError;
use crate::hash::{range, Hash};
use crate::state::Shared;
use crate::web::json;

/// Fields of `RunReportRequest` in the discovery document.
const REQUEST_FIELDS: [&str; 15] = [
    "cohortSpec",
    "comparisons",
    "currencyCode",
    "dateRanges",
    "dimensionFilter",
    "dimensions",
    "keepEmptyRows",
    "limit",
    "metricAggregations",
    "metricFilter",
    "metrics",
    "offset",
    "orderBys",
    "property",
    "returnPropertyQuota",
];

/// The dimensions the sandbox knows.
const DIMENSIONS: [&str; 5] = [
    "date",
    "sessionSource",
    "sessionMedium",
    "sessionCampaignName",
    "country",
];

/// Where sessions come from: (source, medium, campaign, weight).
pub const CHANNELS: [(&str, &str, &str, u64); 6] = [
    ("mastodon", "social", "june-launch", 14),
    ("youtube", "social", "june-launch", 9),
    ("bluesky", "social", "june-launch", 5),
    ("newsletter", "email", "june-launch", 6),
    ("google", "organic", "(organic)", 30),
    ("(direct)", "(none)", "(direct)", 20),
];

/// Countries visitors come from, with weights.
pub const COUNTRIES: [(&str, u64); 5] = [
    ("United States", 70),
    ("Canada", 12),
    ("Mexico", 8),
    ("Germany", 6),
    ("(not set)", 4),
];

/// The property whose reports are sampled and lump channels into `(other)`.
pub const LARGE_PROPERTY: &str = "900";
/// Of [`LARGE_PROPERTY`]'s events, those a sampled report reads and those it could have read.
pub const SAMPLED_EVENTS: (u64, u64) = (125_000, 1_000_000);
/// The channels [`LARGE_PROPERTY`] lumps into `(other)`: organic search and direct.
const LUMPED_CHANNELS: std::ops::Range<usize> = 4..6;
/// The dimensions whose values GA4 lumps into `(other)`.
const LUMPED_DIMENSIONS: [&str; 3] = ["sessionSource", "sessionMedium", "sessionCampaignName"];

/// Tokens one `runReport` costs.
pub const TOKENS_PER_REQUEST: u64 = 10;
/// The property's time zone.
pub const TIME_ZONE: &str = "America/Los_Angeles";
const DEFAULT_LIMIT: u64 = 10_000;
const MAX_LIMIT: u64 = 250_000;

pub(crate) fn router() -> Router<Arc<Shared>> {
    Router::new()
        .route("/properties/{target}", post(run_report))
        .fallback(|| async { AipError::not_found() })
}

async fn run_report(
    State(s): State<Arc<Shared>>,
    Path(target): Path<String>,
    body: Bytes,
) -> Result<Response, AipError> {
    let property = target
        .strip_suffix(":runReport")
        .filter(|id| !id.is_empty() && id.bytes().all(|b| b.is_ascii_digit()))
        .ok_or_else(AipError::not_found)?;
    let request: Map<String, Value> = serde_json::from_slice(&body)
        .map_err(|e| AipError::invalid(format!("Invalid JSON payload received. {e}")))?;
    let report = Request::parse(&request)?;
    let now = Utc::now();
    let buckets = s
        .ga4_tokens
        .charge(property, TOKENS_PER_REQUEST, now)
        .map_err(|b| {
            AipError::new(
                StatusCode::TOO_MANY_REQUESTS,
                "RESOURCE_EXHAUSTED",
                if b.hour_limit > 0 && b.hour_used + TOKENS_PER_REQUEST > b.hour_limit {
                    "Exhausted property tokens per hour. This property has used all of its hourly tokens."
                } else {
                    "Exhausted property tokens per day. This property has used all of its daily tokens."
                },
            )
        })?;
    let today = super::today(now);
    let rows = rows(s.seed, property, &report, today);
    let total = rows.len() as u64;
    let page: Vec<Value> = rows
        .into_iter()
        .skip(report.offset as usize)
        .take(report.limit as usize)
        .collect();
    let mut body = Map::new();
    body.insert(
        "dimensionHeaders".into(),
        Value::Array(
            report
                .dimensions
                .iter()
                .map(|d| json!({ "name": d }))
                .collect(),
        ),
    );
    body.insert(
        "metricHeaders".into(),
        Value::Array(
            report
                .metrics
                .iter()
                .map(|m| json!({ "name": m, "type": metric_type(m) }))
                .collect(),
        ),
    );
    if !page.is_empty() {
        body.insert("rows".into(), Value::Array(page));
    }
    body.insert("rowCount".into(), json!(total));
    let mut metadata = json!({ "currencyCode": "USD", "timeZone": TIME_ZONE });
    if property == LARGE_PROPERTY {
        let (read, space) = SAMPLED_EVENTS;
        metadata["samplingMetadatas"] = json!([{
            "samplesReadCount": read.to_string(),
            "samplingSpaceSize": space.to_string(),
        }]);
        if report.lumps_other() {
            metadata["dataLossFromOtherRow"] = json!(true);
        }
    }
    body.insert("metadata".into(), metadata);
    if report.quota {
        // A disabled bucket (0) reports int32's largest value left.
        let status = |used: u64, limit: u64| {
            let limit = if limit == 0 { i32::MAX as u64 } else { limit };
            json!({ "consumed": TOKENS_PER_REQUEST, "remaining": limit.saturating_sub(used) })
        };
        body.insert(
            "propertyQuota".into(),
            json!({
                "tokensPerDay": status(buckets.day_used, buckets.day_limit),
                "tokensPerHour": status(buckets.hour_used, buckets.hour_limit),
                "concurrentRequests": { "consumed": 0, "remaining": 10 },
                "serverErrorsPerProjectPerHour": { "consumed": 0, "remaining": 10 },
                "potentiallyThresholdedRequestsPerHour": { "consumed": 0, "remaining": 120 },
                "tokensPerProjectPerHour": status(buckets.hour_used, buckets.hour_limit * 35 / 100),
            }),
        );
    }
    body.insert("kind".into(), json!("analyticsData#runReport"));
    Ok(json(StatusCode::OK, Value::Object(body)))
}

/// What a `RunReportRequest` asks for, validated.
struct Request {
    dimensions: Vec<String>,
    metrics: Vec<String>,
    start: String,
    end: String,
    offset: u64,
    limit: u64,
    quota: bool,
}

impl Request {
    fn parse(body: &Map<String, Value>) -> Result<Request, AipError> {
        if let Some(unknown) = body.keys().find(|k| !REQUEST_FIELDS.contains(&k.as_str())) {
            return Err(AipError::invalid(format!(
                "Invalid JSON payload received. Unknown name \"{unknown}\": Cannot find field."
            )));
        }
        let names = |key: &str| -> Vec<String> {
            body.get(key)
                .and_then(Value::as_array)
                .map(|a| {
                    a.iter()
                        .map(|d| {
                            d.get("name")
                                .and_then(Value::as_str)
                                .unwrap_or_default()
                                .to_string()
                        })
                        .collect()
                })
                .unwrap_or_default()
        };
        let dimensions = names("dimensions");
        let metrics = names("metrics");
        if let Some(bad) = dimensions
            .iter()
            .find(|d| !DIMENSIONS.contains(&d.as_str()))
        {
            return Err(AipError::invalid(format!(
                "Field {bad} is not a valid dimension. For a list of valid dimensions and metrics, see https://developers.google.com/analytics/devguides/reporting/data/v1/api-schema"
            )));
        }
        if let Some(bad) = metrics.iter().find(|m| metric_type(m).is_none()) {
            return Err(AipError::invalid(format!(
                "Field {bad} is not a valid metric. For a list of valid dimensions and metrics, see https://developers.google.com/analytics/devguides/reporting/data/v1/api-schema"
            )));
        }
        if metrics.is_empty() {
            return Err(AipError::invalid("At least one metric is required."));
        }
        let range = body
            .get("dateRanges")
            .and_then(Value::as_array)
            .and_then(|a| a.first())
            .ok_or_else(|| AipError::invalid("dateRanges is required."))?;
        let text = |key: &str| {
            range
                .get(key)
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_string()
        };
        let int64 = |key: &str, default: u64| -> Result<u64, AipError> {
            match body.get(key) {
                None => Ok(default),
                Some(Value::String(s)) => s.parse().map_err(|_| {
                    AipError::invalid(format!("Invalid value at '{key}' (TYPE_INT64), \"{s}\""))
                }),
                Some(Value::Number(n)) => n.as_u64().ok_or_else(|| {
                    AipError::invalid(format!("Invalid value at '{key}' (TYPE_INT64), {n}"))
                }),
                Some(other) => Err(AipError::invalid(format!(
                    "Invalid value at '{key}' (TYPE_INT64), {other}"
                ))),
            }
        };
        let limit = int64("limit", DEFAULT_LIMIT)?;
        if limit == 0 || limit > MAX_LIMIT {
            return Err(AipError::invalid(format!(
                "limit must be positive and at most {MAX_LIMIT}, got {limit}"
            )));
        }
        Ok(Request {
            dimensions,
            metrics,
            start: text("startDate"),
            end: text("endDate"),
            offset: int64("offset", 0)?,
            limit,
            quota: body.get("returnPropertyQuota").and_then(Value::as_bool) == Some(true),
        })
    }
}

impl Request {
    /// Whether the report has a dimension GA4 lumps into `(other)` on a large property.
    fn lumps_other(&self) -> bool {
        self.dimensions
            .iter()
            .any(|d| LUMPED_DIMENSIONS.contains(&d.as_str()))
    }
}

/// The `MetricType` of a metric the sandbox knows; `None` for an unknown name.
fn metric_type(name: &str) -> Option<&'static str> {
    match name {
        "sessions" | "totalUsers" | "newUsers" | "keyEvents" => Some("TYPE_INTEGER"),
        "purchaseRevenue" => Some("TYPE_CURRENCY"),
        _ if name
            .strip_prefix("keyEvents:")
            .is_some_and(|e| !e.is_empty()) =>
        {
            Some("TYPE_INTEGER")
        }
        _ => None,
    }
}

/// One metric's value for a day, channel and country; today's are partial (60 %).
fn value(
    seed: u64,
    property: &str,
    day: NaiveDate,
    channel: usize,
    country: usize,
    metric: &str,
    today: NaiveDate,
) -> f64 {
    let (_, _, _, weight) = CHANNELS[channel];
    let (_, share) = COUNTRIES[country];
    let h = Hash::new(seed)
        .str("ga4")
        .str(property)
        .str(&day.to_string())
        .num(channel as u64)
        .num(country as u64)
        .get();
    let full = range(h, 0, weight * share / 10 + 1);
    let sessions = if day == today { full * 6 / 10 } else { full };
    let key_events = sessions / 12;
    match metric {
        "sessions" => sessions as f64,
        "totalUsers" => (sessions * 8 / 10) as f64,
        "newUsers" => (sessions * 3 / 10) as f64,
        "keyEvents" => key_events as f64,
        "purchaseRevenue" => key_events as f64 * 18.5,
        "keyEvents:generate_lead" => (sessions / 20) as f64,
        _ => 0.0,
    }
}

/// Every row of the report, ordered by its dimension values (date first),
/// rows whose metrics are all zero left out as GA4 does.
fn rows(seed: u64, property: &str, report: &Request, today: NaiveDate) -> Vec<Value> {
    let (Some(start), Some(end)) = (
        super::relative_date(&report.start, today),
        super::relative_date(&report.end, today),
    ) else {
        return Vec::new();
    };
    let end = end.min(today);
    let lumped = |channel: usize| property == LARGE_PROPERTY && LUMPED_CHANNELS.contains(&channel);
    let mut rows = Vec::new();
    let mut day = start;
    while day <= end {
        let mut groups: Vec<(Vec<String>, Vec<f64>)> = Vec::new();
        for (channel, (source, medium, campaign, _)) in CHANNELS.iter().enumerate() {
            for (country, (country_name, _)) in COUNTRIES.iter().enumerate() {
                let key: Vec<String> = report
                    .dimensions
                    .iter()
                    .map(|d| match d.as_str() {
                        "date" => day.format("%Y%m%d").to_string(),
                        d if lumped(channel) && LUMPED_DIMENSIONS.contains(&d) => {
                            "(other)".to_string()
                        }
                        "sessionSource" => source.to_string(),
                        "sessionMedium" => medium.to_string(),
                        "sessionCampaignName" => campaign.to_string(),
                        _ => country_name.to_string(),
                    })
                    .collect();
                let values: Vec<f64> = report
                    .metrics
                    .iter()
                    .map(|m| value(seed, property, day, channel, country, m, today))
                    .collect();
                match groups.iter_mut().find(|(k, _)| *k == key) {
                    Some((_, sums)) => sums.iter_mut().zip(&values).for_each(|(s, v)| *s += v),
                    None => groups.push((key, values)),
                }
            }
        }
        groups.sort_by(|a, b| a.0.cmp(&b.0));
        for (key, values) in groups {
            if values.iter().all(|v| *v == 0.0) {
                continue;
            }
            rows.push(json!({
                "dimensionValues": key.iter().map(|v| json!({ "value": v })).collect::<Vec<_>>(),
                "metricValues": values.iter().map(|v| json!({ "value": number(*v) })).collect::<Vec<_>>(),
            }));
        }
        let Some(next) = day.succ_opt() else { break };
        day = next;
    }
    rows
}

/// A metric value as GA4 writes it: integers without a decimal point.
fn number(v: f64) -> String {
    if v.fract() == 0.0 {
        format!("{v:.0}")
    } else {
        format!("{v}")
    }
}
