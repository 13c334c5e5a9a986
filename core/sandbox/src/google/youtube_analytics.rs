//! YouTube Analytics API v2 (`/youtube-analytics/v2`): `GET reports`, the
//! discovery document's result table (`columnHeaders`, positional `rows`).
//!
//! Any `channel==UC…` exists. Days are Pacific days; the last two are not
//! there yet (YouTube Analytics lags), as in the real API. An unknown metric
//! or dimension is answered 400 naming it.
//!
//! Demographics are the one report of `viewerPercentage`: by `ageGroup`,
//! `gender` or both, never by day (the shares are over the whole date range,
//! and a query asking for them by day is refused as YouTube refuses it). The
//! shares of a channel's groups add up to 100, to one decimal each.

use std::sync::Arc;

use axum::extract::State;
use axum::http::{StatusCode, Uri};
use axum::response::Response;
use axum::routing::get;
use axum::Router;
use chrono::{Duration, NaiveDate, Utc};
use serde_json::{json, Value};

use super::AipError;
use crate::hash::{range, Hash};
use crate::state::Shared;
use crate::web::{json, Params};

/// Metrics the sandbox knows, with their daily ceiling.
const METRICS: [(&str, u64); 7] = [
    ("views", 400),
    ("estimatedMinutesWatched", 900),
    ("likes", 30),
    ("comments", 6),
    ("shares", 8),
    ("subscribersGained", 12),
    ("subscribersLost", 3),
];
/// `ageGroup` values, as YouTube Analytics writes them.
pub const AGE_GROUPS: [&str; 7] = [
    "age13-17", "age18-24", "age25-34", "age35-44", "age45-54", "age55-64", "age65-",
];
/// `gender` values.
pub const GENDERS: [&str; 3] = ["female", "male", "user_specified"];
/// The demographic dimensions, the only ones `viewerPercentage` goes with.
const DEMOGRAPHIC_DIMENSIONS: [&str; 2] = ["ageGroup", "gender"];
/// YouTube's answer to a combination of metrics and dimensions it does not offer.
const UNSUPPORTED: &str = "The query is not supported. Check the documentation at https://developers.google.com/youtube/analytics/v2/available_reports for a list of supported queries.";

/// `insightTrafficSourceType` values.
const TRAFFIC_SOURCES: [&str; 5] = ["YT_SEARCH", "SUGGESTED", "BROWSE", "EXT_URL", "SUBSCRIBER"];

pub(crate) fn router() -> Router<Arc<Shared>> {
    Router::new()
        .route("/reports", get(query))
        .fallback(|| async { AipError::not_found() })
}

/// One channel's metric on one day (and traffic source, when split by it).
pub fn daily_value(
    seed: u64,
    channel: &str,
    metric: &str,
    day: NaiveDate,
    source: Option<&str>,
) -> u64 {
    let ceiling = METRICS
        .iter()
        .find(|(m, _)| *m == metric)
        .map_or(1, |(_, c)| *c);
    let h = Hash::new(seed)
        .str("yta")
        .str(channel)
        .str(metric)
        .str(&day.to_string())
        .get();
    let total = range(h, ceiling / 3, ceiling + 1);
    match source {
        None => total,
        Some(source) => {
            let i = TRAFFIC_SOURCES
                .iter()
                .position(|s| *s == source)
                .unwrap_or(0) as u64;
            // Fixed shares: 35 %, 25 %, 20 %, 12 %, 8 %.
            total * [35, 25, 20, 12, 8][i as usize] / 100
        }
    }
}

async fn query(State(s): State<Arc<Shared>>, uri: Uri) -> Result<Response, AipError> {
    let p = Params::from_uri(&uri);
    let required = |name: &'static str| {
        p.get(name)
            .ok_or_else(|| AipError::invalid(format!("Required {name}")))
    };
    let channel = required("ids")?
        .strip_prefix("channel==")
        .filter(|c| c.starts_with("UC"))
        .ok_or_else(|| AipError::new(StatusCode::FORBIDDEN, "PERMISSION_DENIED", "Forbidden"))?
        .to_string();
    let date = |name: &'static str| -> Result<NaiveDate, AipError> {
        let text = required(name)?;
        NaiveDate::parse_from_str(text, "%Y-%m-%d")
            .map_err(|_| AipError::invalid(format!("Invalid value '{text}'. Values must match the following regular expression: '[0-9]{{4}}-[0-9]{{2}}-[0-9]{{2}}'")))
    };
    let (start, end) = (date("startDate")?, date("endDate")?);
    let metrics: Vec<&str> = required("metrics")?.split(',').collect();
    if metrics == ["viewerPercentage"] {
        return demographics(s.seed, &channel, p.get("dimensions").unwrap_or_default());
    }
    if let Some(bad) = metrics
        .iter()
        .find(|m| !METRICS.iter().any(|(k, _)| k == *m))
    {
        return Err(AipError::invalid(format!(
            "Unknown identifier ({bad}) given in field parameters.metrics."
        )));
    }
    let dimensions: Vec<&str> = p
        .get("dimensions")
        .map(|d| d.split(',').collect())
        .unwrap_or_default();
    if let Some(bad) = dimensions
        .iter()
        .find(|d| !["day", "insightTrafficSourceType"].contains(*d))
    {
        if DEMOGRAPHIC_DIMENSIONS.contains(bad) {
            return Err(AipError::invalid(UNSUPPORTED));
        }
        return Err(AipError::invalid(format!(
            "Unknown identifier ({bad}) given in field parameters.dimensions."
        )));
    }
    let mut headers: Vec<Value> = dimensions
        .iter()
        .map(|d| json!({ "name": d, "columnType": "DIMENSION", "dataType": "STRING" }))
        .collect();
    headers.extend(
        metrics
            .iter()
            .map(|m| json!({ "name": m, "columnType": "METRIC", "dataType": "INTEGER" })),
    );
    let split = dimensions.contains(&"insightTrafficSourceType");
    let last = super::today(Utc::now()) - Duration::days(2);
    let mut rows = Vec::new();
    let mut day = start;
    while day <= end.min(last) {
        let sources: Vec<Option<&str>> = if split {
            TRAFFIC_SOURCES.iter().map(|s| Some(*s)).collect()
        } else {
            vec![None]
        };
        for source in sources {
            let mut row: Vec<Value> = dimensions
                .iter()
                .map(|d| match *d {
                    "day" => json!(day.format("%Y-%m-%d").to_string()),
                    _ => json!(source.unwrap_or_default()),
                })
                .collect();
            row.extend(
                metrics
                    .iter()
                    .map(|m| json!(daily_value(s.seed, &channel, m, day, source))),
            );
            rows.push(Value::Array(row));
        }
        let Some(next) = day.succ_opt() else { break };
        day = next;
    }
    let mut body = json!({ "kind": "youtubeAnalytics#resultTable", "columnHeaders": headers });
    if !rows.is_empty() {
        body["rows"] = Value::Array(rows);
    }
    Ok(json(StatusCode::OK, body))
}

/// The demographics report: each group's share of the channel's viewers in
/// percent (a `FLOAT` column), by `ageGroup`, `gender` or both.
fn demographics(seed: u64, channel: &str, dimensions: &str) -> Result<Response, AipError> {
    let dimensions: Vec<&str> = dimensions.split(',').filter(|d| !d.is_empty()).collect();
    let supported = !dimensions.is_empty()
        && dimensions.len() <= 2
        && dimensions
            .iter()
            .enumerate()
            .all(|(i, d)| DEMOGRAPHIC_DIMENSIONS.contains(d) && !dimensions[..i].contains(d));
    if !supported {
        return Err(AipError::invalid(UNSUPPORTED));
    }
    let values = |dimension: &str| -> &'static [&'static str] {
        if dimension == "ageGroup" {
            &AGE_GROUPS
        } else {
            &GENDERS
        }
    };
    let mut groups: Vec<Vec<&str>> = vec![Vec::new()];
    for d in &dimensions {
        groups = groups
            .into_iter()
            .flat_map(|g| {
                values(d).iter().map(move |v| {
                    let mut g = g.clone();
                    g.push(v);
                    g
                })
            })
            .collect();
    }
    let weights: Vec<u64> = groups
        .iter()
        .map(|g| {
            let mut h = Hash::new(seed).str("yta-demographics").str(channel);
            for v in g {
                h = h.str(v);
            }
            range(h.get(), 1, 100)
        })
        .collect();
    let total: u64 = weights.iter().sum();
    let mut headers: Vec<Value> = dimensions
        .iter()
        .map(|d| json!({ "name": d, "columnType": "DIMENSION", "dataType": "STRING" }))
        .collect();
    headers
        .push(json!({ "name": "viewerPercentage", "columnType": "METRIC", "dataType": "FLOAT" }));
    let rows: Vec<Value> = groups
        .iter()
        .zip(&weights)
        .map(|(g, w)| {
            let share = (*w as f64 * 1000.0 / total as f64).round() / 10.0;
            let mut row: Vec<Value> = g.iter().map(|v| json!(v)).collect();
            row.push(json!(share));
            Value::Array(row)
        })
        .collect();
    Ok(json(
        StatusCode::OK,
        json!({ "kind": "youtubeAnalytics#resultTable", "columnHeaders": headers, "rows": rows }),
    ))
}
