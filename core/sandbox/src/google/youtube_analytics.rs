//! YouTube Analytics API v2 (`/youtube-analytics/v2`): `GET reports`, the
//! discovery document's result table (`columnHeaders`, positional `rows`).
//!
//! Any `channel==UC…` exists. Days are Pacific days; the last two are not
//! there yet (YouTube Analytics lags), as in the real API. An unknown metric
//! or dimension is answered 400 naming it.

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
