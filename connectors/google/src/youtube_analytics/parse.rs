//! Pure mapping of a YouTube Analytics v2 `reports.query` result table to
//! canonical points.
//!
//! The table is positional: `columnHeaders` name each column of `rows`, and
//! the `day` column (`YYYY-MM-DD`, a Pacific-time day as YouTube Analytics
//! counts them) places each row. Watch time comes in minutes and is stored in
//! seconds. Demographics have no `day`: each row is an age group and gender's
//! share of the viewers over the whole window, a reading taken at the pull.

use crate::google;
use chrono::{DateTime, NaiveDate, Utc};
use chrono_tz::Tz;
use serde::Deserialize;
use serde_json::Value;
use tally_model::{Entity, Point, PointTime};

/// The time zone YouTube Analytics counts days in.
pub const DAY_ZONE: Tz = chrono_tz::America::Los_Angeles;

/// `QueryResponse` (the fields Tally reads).
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct QueryResponse {
    /// One header per column of `rows`.
    #[serde(default)]
    pub column_headers: Vec<ColumnHeader>,
    /// The rows; absent when there is no data.
    #[serde(default)]
    pub rows: Vec<Vec<Value>>,
}

/// `ResultTableColumnHeader`.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ColumnHeader {
    /// The dimension or metric name.
    pub name: String,
    /// `DIMENSION` or `METRIC`.
    #[serde(default)]
    pub column_type: Option<String>,
}

/// YouTube Analytics metric → (canonical metric, factor to its unit).
pub const METRICS: [(&str, &str, f64); 7] = [
    ("views", "reach.views", 1.0),
    ("estimatedMinutesWatched", "engagement.watch_time", 60.0),
    ("likes", "engagement.likes", 1.0),
    ("comments", "engagement.comments", 1.0),
    ("shares", "engagement.shares", 1.0),
    ("subscribersGained", "audience.follows", 1.0),
    ("subscribersLost", "audience.unfollows", 1.0),
];

/// YouTube Analytics dimension → the dimension name on Tally's points.
pub const DIMENSIONS: [(&str, &str); 1] = [("insightTrafficSourceType", "source")];

/// The demographics report's metric and the canonical metric it becomes.
pub const VIEWER_PERCENTAGE: (&str, &str) = ("viewerPercentage", "audience.viewer_share");

/// Demographic dimension → the dimension name on Tally's points.
pub const DEMOGRAPHICS: [(&str, &str); 2] = [("ageGroup", "age_group"), ("gender", "gender")];

/// Maps the demographics table (`ageGroup`, `gender` → `viewerPercentage`) on
/// `channel` to one gauge per group at `now`, in percent, with `age_group`
/// (`age25-34` becomes `25-34`, `age65-` becomes `65+`) and `gender` as given
/// (`female`, `male`, `user_specified`).
pub fn demographic_points(
    channel: &Entity,
    response: &QueryResponse,
    now: DateTime<Utc>,
) -> Result<Vec<Point>, String> {
    if response.rows.is_empty() {
        return Ok(Vec::new());
    }
    let headers = &response.column_headers;
    let (platform_name, metric) = VIEWER_PERCENTAGE;
    let share_column = headers
        .iter()
        .position(|h| h.name == platform_name)
        .ok_or("columnHeaders has no `viewerPercentage`")?;
    let mut points = Vec::new();
    for (i, row) in response.rows.iter().enumerate() {
        let share = row
            .get(share_column)
            .and_then(Value::as_f64)
            .filter(|v| (0.0..=100.0).contains(v))
            .ok_or_else(|| {
                format!(
                    "rows[{i}][{share_column}] (viewerPercentage) is {}, not a percentage",
                    row.get(share_column)
                        .map_or("missing".to_string(), Value::to_string)
                )
            })?;
        let mut point = Point::new(
            super::PLATFORM,
            metric,
            platform_name,
            channel.clone(),
            share,
            PointTime::At(now),
        );
        for (column, header) in headers.iter().enumerate() {
            let Some((_, ours)) = DEMOGRAPHICS.iter().find(|(yt, _)| *yt == header.name) else {
                continue;
            };
            let value = row
                .get(column)
                .and_then(Value::as_str)
                .ok_or_else(|| format!("rows[{i}][{column}] ({}) is not a string", header.name))?;
            let value = if *ours == "age_group" {
                age_group(value)
            } else {
                value.to_string()
            };
            point = point.with_dimension(ours, &value);
        }
        points.push(point);
    }
    Ok(points)
}

/// `age25-34` → `25-34`, `age65-` → `65+`; anything else as given.
fn age_group(value: &str) -> String {
    let Some(range) = value.strip_prefix("age") else {
        return value.to_string();
    };
    match range.strip_suffix('-') {
        Some(from) => format!("{from}+"),
        None => range.to_string(),
    }
}

/// Maps a result table on `channel` to daily sums, with any non-day dimension
/// (traffic source) as a point dimension.
pub fn table_points(channel: &Entity, response: &QueryResponse) -> Result<Vec<Point>, String> {
    let headers = &response.column_headers;
    let day_column = headers
        .iter()
        .position(|h| h.name == "day")
        .ok_or("columnHeaders has no `day`")?;
    let mut points = Vec::new();
    for (i, row) in response.rows.iter().enumerate() {
        let day_text = row
            .get(day_column)
            .and_then(Value::as_str)
            .unwrap_or_default();
        let day = NaiveDate::parse_from_str(day_text, "%Y-%m-%d")
            .map_err(|_| format!("rows[{i}][{day_column}] `{day_text}` is not a YYYY-MM-DD day"))?;
        let time = google::day_period(day, DAY_ZONE)?;
        let dimensions: Vec<(&str, String)> = headers
            .iter()
            .enumerate()
            .filter(|(c, h)| *c != day_column && h.column_type.as_deref() == Some("DIMENSION"))
            .map(|(c, h)| {
                let name = DIMENSIONS
                    .iter()
                    .find(|(yt, _)| *yt == h.name)
                    .map_or(h.name.as_str(), |(_, ours)| ours);
                let value = match row.get(c) {
                    Some(Value::String(s)) => s.clone(),
                    Some(other) => other.to_string(),
                    None => String::new(),
                };
                (name, value)
            })
            .collect();
        for (column, header) in headers.iter().enumerate() {
            let Some((_, metric, factor)) = METRICS.iter().find(|(n, _, _)| *n == header.name)
            else {
                continue;
            };
            let value = row
                .get(column)
                .and_then(Value::as_f64)
                .filter(|v| v.is_finite() && *v >= 0.0)
                .ok_or_else(|| {
                    format!(
                        "rows[{i}][{column}] ({}) is {}, not a count",
                        header.name,
                        row.get(column)
                            .map_or("missing".to_string(), Value::to_string)
                    )
                })?;
            let mut point = Point::new(
                super::PLATFORM,
                metric,
                &header.name,
                channel.clone(),
                value * factor,
                time,
            );
            for (name, value) in &dimensions {
                point = point.with_dimension(name, value);
            }
            points.push(point);
        }
    }
    Ok(points)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use serde_json::json;
    use tally_model::{EntityKind, PointTime};

    fn channel() -> Entity {
        Entity::new(EntityKind::Account, "UC1", None)
    }

    #[test]
    fn minutes_become_seconds_and_days_are_pacific() {
        let r: QueryResponse = serde_json::from_value(json!({
            "kind": "youtubeAnalytics#resultTable",
            "columnHeaders": [
                {"name": "day", "columnType": "DIMENSION", "dataType": "STRING"},
                {"name": "views", "columnType": "METRIC", "dataType": "INTEGER"},
                {"name": "estimatedMinutesWatched", "columnType": "METRIC", "dataType": "INTEGER"},
                {"name": "subscribersLost", "columnType": "METRIC", "dataType": "INTEGER"}
            ],
            "rows": [["2026-06-01", 120, 30, 2]]
        }))
        .unwrap();
        let points = table_points(&channel(), &r).unwrap();
        assert_eq!(points.len(), 3);
        assert_eq!(
            (points[1].metric.as_str(), points[1].value),
            ("engagement.watch_time", 1800.0)
        );
        assert_eq!(points[2].metric, "audience.unfollows");
        let PointTime::Period { start, .. } = points[0].time else {
            panic!()
        };
        assert_eq!(start.to_rfc3339(), "2026-06-01T07:00:00+00:00");
    }

    #[test]
    fn demographics_are_shares_in_percent_per_age_group_and_gender() {
        let r: QueryResponse = serde_json::from_value(json!({
            "kind": "youtubeAnalytics#resultTable",
            "columnHeaders": [
                {"name": "ageGroup", "columnType": "DIMENSION", "dataType": "STRING"},
                {"name": "gender", "columnType": "DIMENSION", "dataType": "STRING"},
                {"name": "viewerPercentage", "columnType": "METRIC", "dataType": "FLOAT"}
            ],
            "rows": [
                ["age18-24", "female", 21.4],
                ["age25-34", "male", 45.1],
                ["age65-", "user_specified", 33.5]
            ]
        }))
        .unwrap();
        let now = chrono::TimeZone::with_ymd_and_hms(&Utc, 2026, 6, 1, 12, 0, 0).unwrap();
        let points = demographic_points(&channel(), &r, now).unwrap();
        let read: Vec<(&str, &str, f64)> = points
            .iter()
            .map(|p| {
                (
                    p.dimensions["age_group"].as_str(),
                    p.dimensions["gender"].as_str(),
                    p.value,
                )
            })
            .collect();
        assert_eq!(
            read,
            [
                ("18-24", "female", 21.4),
                ("25-34", "male", 45.1),
                ("65+", "user_specified", 33.5)
            ]
        );
        let total: f64 = points.iter().map(|p| p.value).sum();
        assert!((total - 100.0).abs() < 0.5, "{total}");
        for p in &points {
            assert_eq!(p.validate(), Ok(()));
            assert_eq!(
                (p.metric.as_str(), p.raw_name.as_str(), &p.unit, p.time),
                (
                    "audience.viewer_share",
                    "viewerPercentage",
                    &tally_model::Unit::Percent,
                    PointTime::At(now)
                )
            );
        }
        let bad: QueryResponse = serde_json::from_value(json!({
            "columnHeaders": r.column_headers.iter().map(|h| json!({"name": h.name, "columnType": h.column_type})).collect::<Vec<_>>(),
            "rows": [["age18-24", "female", 140.0]]
        }))
        .unwrap();
        assert_eq!(
            demographic_points(&channel(), &bad, now).unwrap_err(),
            "rows[0][2] (viewerPercentage) is 140.0, not a percentage"
        );
    }

    #[test]
    fn traffic_sources_are_a_dimension_and_bad_cells_are_named() {
        let r: QueryResponse = serde_json::from_value(json!({
            "columnHeaders": [
                {"name": "day", "columnType": "DIMENSION"},
                {"name": "insightTrafficSourceType", "columnType": "DIMENSION"},
                {"name": "views", "columnType": "METRIC"}
            ],
            "rows": [["2026-06-01", "YT_SEARCH", 7], ["2026-06-01", "EXT_URL", "x"]]
        }))
        .unwrap();
        assert_eq!(
            table_points(&channel(), &r).unwrap_err(),
            "rows[1][2] (views) is \"x\", not a count"
        );
        let r = QueryResponse {
            rows: r.rows[..1].to_vec(),
            ..r
        };
        let points = table_points(&channel(), &r).unwrap();
        assert_eq!(points[0].dimensions["source"], "YT_SEARCH");
    }
}
