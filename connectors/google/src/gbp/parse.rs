//! Pure mapping of Google Business Profile JSON to canonical points: the
//! locations of an account (Business Information v1), a location's reviews
//! (v4 `accounts.locations.reviews`) and its daily performance series
//! (Performance v1 `fetchMultiDailyMetricsTimeSeries`).
//!
//! Two quirks live here: a review's `starRating` is an enum (`ONE` … `FIVE`)
//! mapped to 1–5, and a performance series leaves a day's `value` out when it
//! is zero, which is stored as 0 (a day with nothing is a measurement).

use crate::google;
use chrono::{DateTime, NaiveDate, Utc};
use chrono_tz::Tz;
use serde::Deserialize;
use serde_json::Value;
use std::collections::BTreeMap;
use tally_model::{Entity, Point};

/// Platform name written on every point.
pub const PLATFORM: &str = "google_business_profile";

/// `ListLocationsResponse` (Business Information v1).
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LocationList {
    /// This page's locations; absent when the account has none.
    #[serde(default)]
    pub locations: Vec<Location>,
    /// Token of the next page.
    #[serde(default)]
    pub next_page_token: Option<String>,
}

/// `Location` (the fields asked for with `readMask=name,title`).
#[derive(Debug, Clone, Deserialize)]
pub struct Location {
    /// `locations/{id}`.
    pub name: String,
    /// The business name shown on Google.
    #[serde(default)]
    pub title: Option<String>,
}

/// `ListReviewsResponse` (v4).
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ReviewList {
    /// This page's reviews, newest first.
    #[serde(default)]
    pub reviews: Vec<Review>,
    /// Average star rating of all the location's reviews, 1–5.
    #[serde(default)]
    pub average_rating: Option<f64>,
    /// Number of reviews of the location.
    #[serde(default)]
    pub total_review_count: Option<u64>,
    /// Token of the next page.
    #[serde(default)]
    pub next_page_token: Option<String>,
}

/// `Review` (the fields Tally reads).
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Review {
    /// The review's id.
    #[serde(default)]
    pub review_id: Option<String>,
    /// `STAR_RATING_UNSPECIFIED`, `ONE` … `FIVE`.
    #[serde(default)]
    pub star_rating: Option<String>,
    /// When the review was written.
    pub create_time: DateTime<Utc>,
}

/// The 1–5 value of a `starRating`; `None` for `STAR_RATING_UNSPECIFIED`.
pub fn stars(rating: &str) -> Result<Option<u8>, String> {
    Ok(Some(match rating {
        "ONE" => 1,
        "TWO" => 2,
        "THREE" => 3,
        "FOUR" => 4,
        "FIVE" => 5,
        "STAR_RATING_UNSPECIFIED" => return Ok(None),
        other => {
            return Err(format!(
                "starRating `{other}` is not one of ONE, TWO, THREE, FOUR, FIVE"
            ))
        }
    }))
}

/// The location's review count and average rating at `now`.
pub fn review_gauges(location: &Entity, list: &ReviewList, now: DateTime<Utc>) -> Vec<Point> {
    let mut points = Point::gauges(
        PLATFORM,
        location,
        now,
        [("reviews.count", "totalReviewCount", list.total_review_count)],
    );
    points.extend(Point::gauges(
        PLATFORM,
        location,
        now,
        [("reviews.rating", "averageRating", list.average_rating)],
    ));
    points
}

/// Counts reviews per (local day, stars) so [`new_review_points`] can emit them.
#[derive(Debug, Default)]
pub struct ReviewDays(BTreeMap<(NaiveDate, u8), u64>);

impl ReviewDays {
    /// Adds one page of reviews, counting each by the day it was written in `tz`.
    pub fn add(&mut self, list: &ReviewList, tz: Tz) -> Result<(), String> {
        for (i, review) in list.reviews.iter().enumerate() {
            let rating = review
                .star_rating
                .as_deref()
                .unwrap_or("STAR_RATING_UNSPECIFIED");
            let Some(stars) = stars(rating).map_err(|e| {
                format!(
                    "reviews[{i}] ({}): {e}",
                    review.review_id.as_deref().unwrap_or("no id")
                )
            })?
            else {
                continue;
            };
            let day = google::today(review.create_time, tz);
            *self.0.entry((day, stars)).or_default() += 1;
        }
        Ok(())
    }

    /// `reviews.new` per day written: the day's total, and per star rating
    /// (dimension `rating`).
    pub fn points(&self, location: &Entity, tz: Tz) -> Result<Vec<Point>, String> {
        let mut totals: BTreeMap<NaiveDate, u64> = BTreeMap::new();
        let mut points = Vec::new();
        for ((day, stars), n) in &self.0 {
            *totals.entry(*day).or_default() += n;
            points.push(
                Point::new(
                    PLATFORM,
                    "reviews.new",
                    "starRating",
                    location.clone(),
                    *n as f64,
                    google::day_period(*day, tz)?,
                )
                .with_dimension("rating", &stars.to_string()),
            );
        }
        for (day, n) in totals {
            points.push(Point::new(
                PLATFORM,
                "reviews.new",
                "createTime",
                location.clone(),
                n as f64,
                google::day_period(day, tz)?,
            ));
        }
        Ok(points)
    }
}

/// `FetchMultiDailyMetricsTimeSeriesResponse`.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct MultiSeries {
    /// One entry per location asked for (one here).
    #[serde(default)]
    pub multi_daily_metric_time_series: Vec<MultiDaily>,
}

/// `MultiDailyMetricTimeSeries`.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct MultiDaily {
    /// One series per `dailyMetrics` asked for.
    #[serde(default)]
    pub daily_metric_time_series: Vec<DailySeries>,
}

/// `DailyMetricTimeSeries`.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DailySeries {
    /// The `DailyMetric` enum name.
    pub daily_metric: String,
    /// Its values by day.
    #[serde(default)]
    pub time_series: Option<TimeSeries>,
}

/// `TimeSeries`.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TimeSeries {
    /// One value per day of the range.
    #[serde(default)]
    pub dated_values: Vec<DatedValue>,
}

/// `DatedValue`: `value` is an int64 string, left out when zero.
#[derive(Debug, Deserialize)]
pub struct DatedValue {
    /// The day.
    pub date: Date,
    /// The count; absent means 0.
    #[serde(default)]
    pub value: Option<Value>,
}

/// `google.type.Date`.
#[derive(Debug, Deserialize)]
pub struct Date {
    /// Year.
    pub year: i32,
    /// Month, 1–12.
    pub month: u32,
    /// Day, 1–31.
    pub day: u32,
}

/// Daily metric → (canonical metric, `surface` dimension for impressions).
pub const DAILY_METRICS: [(&str, &str, Option<&str>); 9] = [
    (
        "BUSINESS_IMPRESSIONS_DESKTOP_MAPS",
        "reach.impressions",
        Some("desktop_maps"),
    ),
    (
        "BUSINESS_IMPRESSIONS_DESKTOP_SEARCH",
        "reach.impressions",
        Some("desktop_search"),
    ),
    (
        "BUSINESS_IMPRESSIONS_MOBILE_MAPS",
        "reach.impressions",
        Some("mobile_maps"),
    ),
    (
        "BUSINESS_IMPRESSIONS_MOBILE_SEARCH",
        "reach.impressions",
        Some("mobile_search"),
    ),
    ("WEBSITE_CLICKS", "traffic.clicks", None),
    ("CALL_CLICKS", "actions.calls", None),
    ("BUSINESS_DIRECTION_REQUESTS", "actions.directions", None),
    ("BUSINESS_CONVERSATIONS", "actions.conversations", None),
    ("BUSINESS_BOOKINGS", "actions.bookings", None),
];

/// Maps a performance response to daily sums: impressions per surface and
/// their total (no dimension), clicks, calls, direction requests,
/// conversations and bookings. An omitted value is stored as 0.
pub fn performance_points(
    location: &Entity,
    response: &MultiSeries,
    tz: Tz,
) -> Result<Vec<Point>, String> {
    let mut points = Vec::new();
    let mut impressions: BTreeMap<NaiveDate, f64> = BTreeMap::new();
    let series = response
        .multi_daily_metric_time_series
        .iter()
        .flat_map(|m| &m.daily_metric_time_series);
    for s in series {
        let Some((_, metric, surface)) =
            DAILY_METRICS.iter().find(|(n, _, _)| *n == s.daily_metric)
        else {
            continue;
        };
        for (i, dated) in s
            .time_series
            .iter()
            .flat_map(|t| &t.dated_values)
            .enumerate()
        {
            let d = &dated.date;
            let day = NaiveDate::from_ymd_opt(d.year, d.month, d.day).ok_or_else(|| {
                format!(
                    "{}: datedValues[{i}].date {}-{}-{} is not a day",
                    s.daily_metric, d.year, d.month, d.day
                )
            })?;
            let value = google::int64(dated.value.as_ref())
                .map_err(|e| format!("{}: datedValues[{i}].value: {e}", s.daily_metric))?
                .unwrap_or(0) as f64;
            let time = google::day_period(day, tz)?;
            let mut point = Point::new(
                PLATFORM,
                metric,
                &s.daily_metric,
                location.clone(),
                value,
                time,
            );
            if let Some(surface) = surface {
                point = point.with_dimension("surface", surface);
                *impressions.entry(day).or_default() += value;
            }
            points.push(point);
        }
    }
    for (day, total) in impressions {
        points.push(Point::new(
            PLATFORM,
            "reach.impressions",
            "BUSINESS_IMPRESSIONS_*",
            location.clone(),
            total,
            google::day_period(day, tz)?,
        ));
    }
    Ok(points)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use serde_json::json;
    use tally_model::{EntityKind, PointTime};

    fn period_start(point: &Point) -> Option<DateTime<Utc>> {
        match point.time {
            PointTime::Period { start, .. } => Some(start),
            PointTime::At(_) => None,
        }
    }

    fn location() -> Entity {
        Entity::new(
            EntityKind::Location,
            "locations/1",
            Some("Corner Bakery".into()),
        )
    }

    #[test]
    fn every_star_rating_maps_to_its_number() {
        let cases = [
            ("ONE", 1),
            ("TWO", 2),
            ("THREE", 3),
            ("FOUR", 4),
            ("FIVE", 5),
        ];
        for (name, n) in cases {
            assert_eq!(stars(name), Ok(Some(n)));
        }
        assert_eq!(stars("STAR_RATING_UNSPECIFIED"), Ok(None));
        assert_eq!(
            stars("SIX"),
            Err("starRating `SIX` is not one of ONE, TWO, THREE, FOUR, FIVE".to_string())
        );
    }

    #[test]
    fn new_reviews_are_counted_per_local_day_and_rating() {
        let list: ReviewList = serde_json::from_value(json!({
            "reviews": [
                {"reviewId": "a", "starRating": "FIVE", "createTime": "2026-06-02T03:00:00Z"},
                {"reviewId": "b", "starRating": "FIVE", "createTime": "2026-06-01T20:00:00Z"},
                {"reviewId": "c", "starRating": "TWO", "createTime": "2026-06-01T15:00:00.123Z"},
                {"reviewId": "d", "starRating": "STAR_RATING_UNSPECIFIED", "createTime": "2026-06-01T15:00:00Z"}
            ],
            "averageRating": 4.2,
            "totalReviewCount": 48
        }))
        .unwrap();
        let tz: Tz = "America/Chicago".parse().unwrap();
        let mut days = ReviewDays::default();
        days.add(&list, tz).unwrap();
        let points = days.points(&location(), tz).unwrap();
        let total: Vec<f64> = points
            .iter()
            .filter(|p| p.dimensions.is_empty())
            .map(|p| p.value)
            .collect();
        assert_eq!(total, vec![3.0]);
        let got: Vec<(String, String, f64)> = points
            .iter()
            .filter(|p| !p.dimensions.is_empty())
            .map(|p| {
                (
                    period_start(p).unwrap().to_rfc3339(),
                    p.dimensions["rating"].clone(),
                    p.value,
                )
            })
            .collect();
        // 03:00Z on the 2nd is still the 1st in Chicago.
        assert_eq!(
            got,
            vec![
                ("2026-06-01T05:00:00+00:00".into(), "2".into(), 1.0),
                ("2026-06-01T05:00:00+00:00".into(), "5".into(), 2.0),
            ]
        );
        let gauges = review_gauges(&location(), &list, Utc::now());
        assert_eq!(gauges[0].value, 48.0);
        assert_eq!(gauges[1].value, 4.2);
    }

    #[test]
    fn an_omitted_value_is_a_zero_and_impressions_add_up() {
        let response: MultiSeries = serde_json::from_value(json!({
            "multiDailyMetricTimeSeries": [{"dailyMetricTimeSeries": [
                {"dailyMetric": "CALL_CLICKS", "timeSeries": {"datedValues": [
                    {"date": {"year": 2026, "month": 6, "day": 1}, "value": "3"},
                    {"date": {"year": 2026, "month": 6, "day": 2}}
                ]}},
                {"dailyMetric": "BUSINESS_IMPRESSIONS_MOBILE_MAPS", "timeSeries": {"datedValues": [
                    {"date": {"year": 2026, "month": 6, "day": 1}, "value": "40"}
                ]}},
                {"dailyMetric": "BUSINESS_IMPRESSIONS_MOBILE_SEARCH", "timeSeries": {"datedValues": [
                    {"date": {"year": 2026, "month": 6, "day": 1}, "value": "2"}
                ]}}
            ]}]
        }))
        .unwrap();
        let points = performance_points(&location(), &response, chrono_tz::UTC).unwrap();
        let calls: Vec<f64> = points
            .iter()
            .filter(|p| p.metric == "actions.calls")
            .map(|p| p.value)
            .collect();
        assert_eq!(calls, vec![3.0, 0.0]);
        let total = points
            .iter()
            .find(|p| p.metric == "reach.impressions" && p.dimensions.is_empty())
            .unwrap();
        assert_eq!(total.value, 42.0);
    }

    #[test]
    fn a_value_that_is_not_an_int64_is_named() {
        let response: MultiSeries = serde_json::from_value(json!({
            "multiDailyMetricTimeSeries": [{"dailyMetricTimeSeries": [
                {"dailyMetric": "WEBSITE_CLICKS", "timeSeries": {"datedValues": [
                    {"date": {"year": 2026, "month": 6, "day": 1}, "value": "many"}
                ]}}
            ]}]
        }))
        .unwrap();
        assert_eq!(
            performance_points(&location(), &response, chrono_tz::UTC).unwrap_err(),
            "WEBSITE_CLICKS: datedValues[0].value: `many` is not an int64 count"
        );
    }
}
