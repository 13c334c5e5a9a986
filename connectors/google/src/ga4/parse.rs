//! Pure mapping of a GA4 `runReport` response to canonical points, and of its
//! `propertyQuota` to the buckets the host keeps for the property.
//!
//! Every metric value is a string: its type comes from `metricHeaders[].type`
//! (`TYPE_INTEGER`, `TYPE_CURRENCY`, …), never from the text. `date` is
//! `YYYYMMDD` in the property's time zone (`metadata.timeZone`), so a day is
//! the period between two local midnights. `(other)` rows, where GA4 lumps what
//! exceeds its row limits, stay a segment of their own named `(other)`.

use crate::google;
use chrono::{DateTime, NaiveDate, Utc};
use chrono_tz::Tz;
use serde::Deserialize;
use tally_model::{Entity, Point, StatedQuota, Unit};

/// Platform name written on every point.
pub const PLATFORM: &str = "ga4";

/// `RunReportResponse` (the fields Tally reads).
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RunReportResponse {
    /// Column names of `rows[].dimensionValues`.
    #[serde(default)]
    pub dimension_headers: Vec<Header>,
    /// Column names and types of `rows[].metricValues`.
    #[serde(default)]
    pub metric_headers: Vec<Header>,
    /// This page's rows; absent when the report is empty.
    #[serde(default)]
    pub rows: Vec<Row>,
    /// Rows in the whole report, whatever `limit` and `offset` cut out.
    #[serde(default)]
    pub row_count: u64,
    /// Time zone and currency of the property.
    #[serde(default)]
    pub metadata: Option<Metadata>,
    /// What this request cost and what is left (`returnPropertyQuota: true`).
    #[serde(default)]
    pub property_quota: Option<PropertyQuota>,
}

/// `DimensionHeader` / `MetricHeader`.
#[derive(Debug, Deserialize)]
pub struct Header {
    /// The API name (`sessions`, `sessionSource`).
    pub name: String,
    /// `MetricType` for metrics (`TYPE_INTEGER`); absent for dimensions.
    #[serde(default, rename = "type")]
    pub kind: Option<String>,
}

/// One report row.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Row {
    /// Values in `dimensionHeaders` order.
    #[serde(default)]
    pub dimension_values: Vec<Value>,
    /// Values in `metricHeaders` order, as strings.
    #[serde(default)]
    pub metric_values: Vec<Value>,
}

/// `DimensionValue` / `MetricValue`.
#[derive(Debug, Deserialize)]
pub struct Value {
    /// The value as text.
    #[serde(default)]
    pub value: Option<String>,
}

/// `ResponseMetaData` (the fields Tally reads).
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Metadata {
    /// The property's IANA time zone: `date` values are days in it.
    #[serde(default)]
    pub time_zone: Option<String>,
    /// The property's ISO 4217 currency: `purchaseRevenue` is in it.
    #[serde(default)]
    pub currency_code: Option<String>,
    /// Present when the report is sampled: one per date range asked for.
    #[serde(default)]
    pub sampling_metadatas: Vec<SamplingMetadata>,
}

/// `SamplingMetadata`: how much of the property's data a sampled report read.
#[derive(Debug, Default, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SamplingMetadata {
    /// Events read (an int64 string).
    #[serde(default)]
    pub samples_read_count: Option<serde_json::Value>,
    /// Events that could have been read (an int64 string).
    #[serde(default)]
    pub sampling_space_size: Option<serde_json::Value>,
}

/// What a report's answers say that its figures do not: that GA4 sampled it,
/// and what it lumped into `(other)` rows. Gathered page by page, told once
/// per report as a warning ([`Caveats::warnings`]).
#[derive(Debug, Default, Clone, PartialEq)]
pub struct Caveats {
    /// Events read and events that could have been read, when sampled.
    pub sampled: Option<(u64, u64)>,
    /// Each metric's total over the `(other)` rows, in the report's metric order.
    pub other: Vec<(String, f64)>,
    /// The days with an `(other)` row.
    pub other_days: Vec<NaiveDate>,
}

impl Caveats {
    /// Adds what one page of the report says.
    pub fn read(&mut self, response: &RunReportResponse) -> Result<(), String> {
        if let Some(m) = &response.metadata {
            for (i, s) in m.sampling_metadatas.iter().enumerate() {
                let read = google::int64(s.samples_read_count.as_ref())
                    .map_err(|e| format!("metadata.samplingMetadatas[{i}].samplesReadCount: {e}"))?
                    .unwrap_or(0);
                let space = google::int64(s.sampling_space_size.as_ref())
                    .map_err(|e| format!("metadata.samplingMetadatas[{i}].samplingSpaceSize: {e}"))?
                    .unwrap_or(0);
                // Every page repeats the report's sampling: keep one.
                self.sampled.get_or_insert((read, space));
            }
        }
        let date_column = response
            .dimension_headers
            .iter()
            .position(|h| h.name == "date");
        for row in &response.rows {
            let lumped = row
                .dimension_values
                .iter()
                .enumerate()
                .any(|(i, v)| Some(i) != date_column && v.value.as_deref() == Some(OTHER));
            if !lumped {
                continue;
            }
            let day = date_column
                .and_then(|c| row.dimension_values.get(c))
                .and_then(|v| v.value.as_deref())
                .and_then(|d| NaiveDate::parse_from_str(d, "%Y%m%d").ok());
            if let Some(day) = day.filter(|d| !self.other_days.contains(d)) {
                self.other_days.push(day);
            }
            for (header, value) in response.metric_headers.iter().zip(&row.metric_values) {
                let raw = value.value.as_deref().unwrap_or_default();
                let Ok(v) = metric_value(raw, header.kind.as_deref()) else {
                    continue;
                };
                match self.other.iter_mut().find(|(name, _)| *name == header.name) {
                    Some((_, total)) => *total += v,
                    None => self.other.push((header.name.clone(), v)),
                }
            }
        }
        Ok(())
    }

    /// The warnings a user should read beside the stored figures of `report`
    /// (its name, as `by country`) over `start` to `end` (as asked for).
    pub fn warnings(&self, report: &str, start: &str, end: &str) -> Vec<String> {
        let mut warnings = Vec::new();
        if let Some((read, space)) = self.sampled {
            let share = if space > 0 {
                format!("{:.1}%", read as f64 * 100.0 / space as f64)
            } else {
                "an unstated share".to_string()
            };
            warnings.push(format!(
                "GA4 report {report} ({start} to {end}) is sampled: it read {share} of the property's events ({read} of {space}), so its figures are estimates"
            ));
        }
        if !self.other.is_empty() {
            let mut days = self.other_days.clone();
            days.sort();
            let days = match (days.first(), days.last()) {
                (Some(first), Some(last)) if first != last => {
                    format!("on {} days from {first} to {last}", days.len())
                }
                (Some(day), _) => format!("on {day}"),
                _ => "on days it does not name".to_string(),
            };
            let totals: Vec<String> = self
                .other
                .iter()
                .map(|(name, total)| format!("{name} {}", shown(*total)))
                .collect();
            warnings.push(format!(
                "GA4 report {report} ({start} to {end}) lumps rows past its limits into `(other)` {days}: {}; they are stored under the dimension value `(other)`, not counted in any real value",
                totals.join(", ")
            ));
        }
        warnings
    }
}

/// A total as a person reads it: whole numbers without a fraction.
fn shown(v: f64) -> String {
    if v.fract() == 0.0 {
        format!("{v:.0}")
    } else {
        format!("{v:.2}")
    }
}

/// `PropertyQuota`: the property's buckets after this request.
#[derive(Debug, Default, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PropertyQuota {
    /// Tokens per property per day.
    #[serde(default)]
    pub tokens_per_day: Option<QuotaStatus>,
    /// Tokens per property per hour.
    #[serde(default)]
    pub tokens_per_hour: Option<QuotaStatus>,
    /// Tokens per project per property per hour.
    #[serde(default)]
    pub tokens_per_project_per_hour: Option<QuotaStatus>,
    /// Requests in flight at once: not a budget over time, so not reported
    /// (the declared burst of 10 keeps within it).
    #[serde(default)]
    pub concurrent_requests: Option<QuotaStatus>,
    /// Server errors per project per hour.
    #[serde(default)]
    pub server_errors_per_project_per_hour: Option<QuotaStatus>,
    /// Requests per hour that may be thresholded (demographic dimensions).
    #[serde(default)]
    pub potentially_thresholded_requests_per_hour: Option<QuotaStatus>,
}

/// `QuotaStatus`.
#[derive(Debug, Default, Clone, Copy, Deserialize)]
pub struct QuotaStatus {
    /// Consumed by this request.
    #[serde(default)]
    pub consumed: u64,
    /// Left in the bucket after it.
    #[serde(default)]
    pub remaining: u64,
}

/// When a bucket fills again.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Reset {
    /// At the top of the hour.
    Hourly,
    /// At midnight in the property's time zone.
    Daily,
}

impl PropertyQuota {
    /// Every bucket over time this answer states, as the host keeps them for
    /// `budget` (the property): what is left, what this request cost (the
    /// estimate of the next one), and when it fills again, reckoned from
    /// `answered_at` in the property's time zone `tz`.
    pub fn statements(&self, budget: &str, answered_at: DateTime<Utc>, tz: Tz) -> Vec<StatedQuota> {
        [
            ("tokensPerHour", self.tokens_per_hour, Reset::Hourly),
            ("tokensPerDay", self.tokens_per_day, Reset::Daily),
            (
                "tokensPerProjectPerHour",
                self.tokens_per_project_per_hour,
                Reset::Hourly,
            ),
            (
                "serverErrorsPerProjectPerHour",
                self.server_errors_per_project_per_hour,
                Reset::Hourly,
            ),
            (
                "potentiallyThresholdedRequestsPerHour",
                self.potentially_thresholded_requests_per_hour,
                Reset::Hourly,
            ),
        ]
        .into_iter()
        .filter_map(|(bucket, status, reset)| {
            let status = status?;
            let resets_at = match reset {
                Reset::Hourly => google::next_hour(answered_at),
                Reset::Daily => google::next_midnight(answered_at, tz),
            };
            Some(StatedQuota {
                budget: budget.to_string(),
                bucket: bucket.to_string(),
                remaining: status.remaining,
                cost: status.consumed,
                resets_at,
            })
        })
        .collect()
    }
}

/// The dimension value GA4 gives rows it lumps together past its limits.
pub const OTHER: &str = "(other)";

/// GA4 metric → (canonical metric). Key events named in settings are added by the caller.
pub const METRICS: [(&str, &str); 5] = [
    ("sessions", "traffic.sessions"),
    ("totalUsers", "traffic.users"),
    ("newUsers", "traffic.new_users"),
    ("keyEvents", "conversions.count"),
    ("purchaseRevenue", "conversions.revenue"),
];

/// GA4 dimension → the dimension name on Tally's points.
pub const DIMENSIONS: [(&str, &str); 4] = [
    ("sessionSource", "source"),
    ("sessionMedium", "medium"),
    ("sessionCampaignName", "campaign"),
    ("country", "country"),
];

/// What one page of a report gives.
#[derive(Debug, Default)]
pub struct Page {
    /// Points of this page.
    pub points: Vec<Point>,
    /// The latest day seen, for the next pull's window.
    pub latest_day: Option<NaiveDate>,
}

/// Maps one page of a report on `property` to points: one sum per row, metric
/// and day, with the row's non-date dimensions (renamed per [`DIMENSIONS`]).
/// `metric_names` maps each requested GA4 metric to its canonical metric.
pub fn report_points(
    property: &Entity,
    response: &RunReportResponse,
    metric_names: &[(String, &'static str)],
) -> Result<Page, String> {
    let mut page = Page::default();
    if response.rows.is_empty() {
        return Ok(page);
    }
    let metadata = response.metadata.as_ref();
    let tz_name = metadata
        .and_then(|m| m.time_zone.as_deref())
        .ok_or("metadata.timeZone is missing, so the days of `date` cannot be placed")?;
    let tz: Tz = google::time_zone(tz_name, "metadata.timeZone")?;
    let date_column = response
        .dimension_headers
        .iter()
        .position(|h| h.name == "date")
        .ok_or("dimensionHeaders has no `date`")?;
    for (i, row) in response.rows.iter().enumerate() {
        let text = |v: Option<&Value>| v.and_then(|v| v.value.clone()).unwrap_or_default();
        let date_text = text(row.dimension_values.get(date_column));
        let day = NaiveDate::parse_from_str(&date_text, "%Y%m%d").map_err(|_| {
            format!("rows[{i}].dimensionValues[{date_column}] `{date_text}` is not a YYYYMMDD date")
        })?;
        page.latest_day = page.latest_day.max(Some(day));
        let time = google::day_period(day, tz)?;
        let mut dimensions = Vec::new();
        for (column, header) in response.dimension_headers.iter().enumerate() {
            if column == date_column {
                continue;
            }
            let name = DIMENSIONS
                .iter()
                .find(|(ga, _)| *ga == header.name)
                .map_or(header.name.as_str(), |(_, ours)| ours);
            let value = text(row.dimension_values.get(column));
            dimensions.push((name, value));
        }
        for (column, header) in response.metric_headers.iter().enumerate() {
            let Some((_, metric)) = metric_names.iter().find(|(ga, _)| *ga == header.name) else {
                continue;
            };
            let raw = text(row.metric_values.get(column));
            let value = metric_value(&raw, header.kind.as_deref())
                .map_err(|e| format!("rows[{i}].metricValues[{column}] ({}): {e}", header.name))?;
            let mut point = Point::new(
                PLATFORM,
                metric,
                &header.name,
                property.clone(),
                value,
                time,
            );
            if header.kind.as_deref() == Some("TYPE_CURRENCY") {
                let code = metadata
                    .and_then(|m| m.currency_code.as_deref())
                    .ok_or("metadata.currencyCode is missing, so revenue has no currency")?;
                point = point.with_unit(Unit::parse(code).map_err(|e| e.to_string())?);
            }
            for (name, value) in &dimensions {
                point = point.with_dimension(name, value);
            }
            page.points.push(point);
        }
    }
    Ok(page)
}

/// A metric value by its declared type: integers and floats as numbers,
/// currencies in the property's currency.
fn metric_value(raw: &str, kind: Option<&str>) -> Result<f64, String> {
    match kind {
        Some("TYPE_INTEGER") => raw.parse::<u64>().map(|n| n as f64).map_err(|_| {
            format!("`{raw}` is not an integer although the header says TYPE_INTEGER")
        }),
        Some("TYPE_FLOAT" | "TYPE_CURRENCY" | "TYPE_STANDARD") => raw
            .parse::<f64>()
            .ok()
            .filter(|v| v.is_finite())
            .ok_or_else(|| format!("`{raw}` is not a number")),
        other => Err(format!(
            "metric type {} is not one Tally maps",
            other.unwrap_or("(none)")
        )),
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use serde_json::json;
    use tally_model::{EntityKind, PointTime};

    fn property() -> Entity {
        Entity::new(EntityKind::Property, "properties/1", None)
    }

    fn names() -> Vec<(String, &'static str)> {
        METRICS.iter().map(|(g, c)| (g.to_string(), *c)).collect()
    }

    fn response(rows: serde_json::Value) -> RunReportResponse {
        serde_json::from_value(json!({
            "dimensionHeaders": [{"name": "date"}, {"name": "sessionSource"}],
            "metricHeaders": [
                {"name": "sessions", "type": "TYPE_INTEGER"},
                {"name": "purchaseRevenue", "type": "TYPE_CURRENCY"}
            ],
            "rows": rows,
            "rowCount": 1,
            "metadata": {"timeZone": "America/Chicago", "currencyCode": "USD"},
        }))
        .unwrap()
    }

    #[test]
    fn values_are_parsed_by_their_header_type_and_days_are_local() {
        let r = response(json!([{
            "dimensionValues": [{"value": "20260601"}, {"value": "instagram"}],
            "metricValues": [{"value": "42"}, {"value": "19.5"}]
        }]));
        let page = report_points(&property(), &r, &names()).unwrap();
        assert_eq!(page.points.len(), 2);
        let sessions = &page.points[0];
        assert_eq!(sessions.metric, "traffic.sessions");
        assert_eq!(sessions.value, 42.0);
        assert_eq!(sessions.dimensions["source"], "instagram");
        let PointTime::Period { start, .. } = sessions.time else {
            panic!()
        };
        assert_eq!(start.to_rfc3339(), "2026-06-01T05:00:00+00:00");
        let revenue = &page.points[1];
        assert_eq!(revenue.unit, Unit::Currency("USD".into()));
        assert_eq!(revenue.value, 19.5);
        assert_eq!(revenue.raw_name, "purchaseRevenue");
        assert_eq!(page.latest_day, NaiveDate::from_ymd_opt(2026, 6, 1));
    }

    #[test]
    fn a_value_that_does_not_fit_its_type_is_named() {
        let r = response(json!([{
            "dimensionValues": [{"value": "20260601"}, {"value": "x"}],
            "metricValues": [{"value": "4.5"}, {"value": "1"}]
        }]));
        assert_eq!(
            report_points(&property(), &r, &names()).unwrap_err(),
            "rows[0].metricValues[0] (sessions): `4.5` is not an integer although the header says TYPE_INTEGER"
        );
        let r = response(json!([{
            "dimensionValues": [{"value": "2026-06-01"}, {"value": "x"}],
            "metricValues": [{"value": "4"}, {"value": "1"}]
        }]));
        assert_eq!(
            report_points(&property(), &r, &names()).unwrap_err(),
            "rows[0].dimensionValues[0] `2026-06-01` is not a YYYYMMDD date"
        );
    }

    #[test]
    fn other_rows_are_kept_apart_as_their_own_segment() {
        let r = response(json!([{
            "dimensionValues": [{"value": "20260601"}, {"value": "(other)"}],
            "metricValues": [{"value": "3"}, {"value": "0"}]
        }]));
        let page = report_points(&property(), &r, &names()).unwrap();
        assert_eq!(page.points[0].dimensions["source"], "(other)");
    }

    #[test]
    fn sampling_and_other_rows_are_told_once_per_report() {
        let mut r = response(json!([
            {"dimensionValues": [{"value": "20260601"}, {"value": "(other)"}],
             "metricValues": [{"value": "30"}, {"value": "12.5"}]},
            {"dimensionValues": [{"value": "20260601"}, {"value": "mastodon"}],
             "metricValues": [{"value": "7"}, {"value": "0"}]},
            {"dimensionValues": [{"value": "20260603"}, {"value": "(other)"}],
             "metricValues": [{"value": "5"}, {"value": "1"}]}
        ]));
        r.metadata.as_mut().unwrap().sampling_metadatas = vec![SamplingMetadata {
            samples_read_count: Some(json!("125000")),
            sampling_space_size: Some(json!("1000000")),
        }];
        let mut caveats = Caveats::default();
        caveats.read(&r).unwrap();
        caveats.read(&r).unwrap();
        assert_eq!(
            caveats.warnings("by source", "2026-05-04", "today"),
            vec![
                "GA4 report by source (2026-05-04 to today) is sampled: it read 12.5% of the property's events (125000 of 1000000), so its figures are estimates".to_string(),
                "GA4 report by source (2026-05-04 to today) lumps rows past its limits into `(other)` on 2 days from 2026-06-01 to 2026-06-03: sessions 70, purchaseRevenue 27; they are stored under the dimension value `(other)`, not counted in any real value".to_string(),
            ]
        );
        assert!(Caveats::default().warnings("totals", "a", "b").is_empty());
        r.metadata.as_mut().unwrap().sampling_metadatas[0].samples_read_count = Some(json!("many"));
        assert_eq!(
            Caveats::default().read(&r).unwrap_err(),
            "metadata.samplingMetadatas[0].samplesReadCount: `many` is not an int64 count"
        );
    }

    #[test]
    fn every_bucket_over_time_is_stated_with_its_reset() {
        let q: PropertyQuota = serde_json::from_value(json!({
            "tokensPerDay": {"consumed": 12, "remaining": 500},
            "tokensPerHour": {"consumed": 12, "remaining": 9},
            "concurrentRequests": {"consumed": 0, "remaining": 10},
            "serverErrorsPerProjectPerHour": {"consumed": 0, "remaining": 10}
        }))
        .unwrap();
        let answered = chrono::TimeZone::with_ymd_and_hms(&Utc, 2026, 6, 1, 12, 40, 5).unwrap();
        let tz: Tz = "America/Chicago".parse().unwrap();
        let stated = q.statements("properties/1", answered, tz);
        let shown: Vec<(&str, u64, u64, String)> = stated
            .iter()
            .map(|s| {
                (
                    s.bucket.as_str(),
                    s.remaining,
                    s.cost,
                    s.resets_at.to_rfc3339(),
                )
            })
            .collect();
        assert_eq!(
            shown,
            vec![
                ("tokensPerHour", 9, 12, "2026-06-01T13:00:00+00:00".into()),
                ("tokensPerDay", 500, 12, "2026-06-02T05:00:00+00:00".into()),
                (
                    "serverErrorsPerProjectPerHour",
                    10,
                    0,
                    "2026-06-01T13:00:00+00:00".into()
                ),
            ],
            "concurrentRequests is no budget over time"
        );
        assert!(stated.iter().all(|s| s.budget == "properties/1"));
    }
}
