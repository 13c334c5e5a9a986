//! Google Business Profile (`/gbp`), the three APIs a client needs under one
//! root, each under the name of its host:
//!
//! - `/gbp/mybusinessbusinessinformation/v1/accounts/{a}/locations` and
//!   `…/v1/locations/{l}` (a `readMask` is required, as in the real API);
//! - `/gbp/v4/accounts/{a}/locations/{l}/reviews` (50 a page, newest first,
//!   `averageRating`, `totalReviewCount`, `starRating` as `ONE` … `FIVE`);
//! - `/gbp/businessprofileperformance/v1/locations/{l}:fetchMultiDailyMetricsTimeSeries`
//!   (int64 strings, a zero day's `value` left out).
//!
//! Any numeric account exists with one location, whose id is derived from
//! the account's; any numeric location exists. Reviews arrive over the past
//! year, about one every nine days, mostly glowing.

use std::sync::Arc;

use axum::extract::{Path, State};
use axum::http::{StatusCode, Uri};
use axum::response::Response;
use axum::routing::get;
use axum::Router;
use chrono::{DateTime, Datelike, Duration, NaiveDate, Utc};
use serde_json::{json, Value};

use super::AipError;
use crate::data::{decode, encode, iso, BASE64URL};
use crate::hash::{pick, range, Hash};
use crate::state::Shared;
use crate::web::{json, Params};

const REVIEWS_PER_PAGE: usize = 50;
const LOCATIONS_PER_PAGE: usize = 100;
/// The `DailyMetric` values the performance API accepts (the deprecated food orders too).
const DAILY_METRICS: [&str; 11] = [
    "BUSINESS_IMPRESSIONS_DESKTOP_MAPS",
    "BUSINESS_IMPRESSIONS_DESKTOP_SEARCH",
    "BUSINESS_IMPRESSIONS_MOBILE_MAPS",
    "BUSINESS_IMPRESSIONS_MOBILE_SEARCH",
    "BUSINESS_CONVERSATIONS",
    "BUSINESS_DIRECTION_REQUESTS",
    "CALL_CLICKS",
    "WEBSITE_CLICKS",
    "BUSINESS_BOOKINGS",
    "BUSINESS_FOOD_ORDERS",
    "BUSINESS_FOOD_MENU_CLICKS",
];
const STARS: [&str; 5] = ["ONE", "TWO", "THREE", "FOUR", "FIVE"];

pub(crate) fn router() -> Router<Arc<Shared>> {
    Router::new()
        .route(
            "/mybusinessbusinessinformation/v1/accounts/{account}/locations",
            get(list_locations),
        )
        .route(
            "/mybusinessbusinessinformation/v1/locations/{location}",
            get(get_location),
        )
        .route(
            "/v4/accounts/{account}/locations/{location}/reviews",
            get(reviews),
        )
        .route(
            "/businessprofileperformance/v1/locations/{target}",
            get(performance),
        )
        .fallback(|| async { AipError::not_found() })
}

fn digits(id: &str) -> Result<&str, AipError> {
    (!id.is_empty() && id.bytes().all(|b| b.is_ascii_digit()))
        .then_some(id)
        .ok_or_else(AipError::not_found)
}

/// The one location of an account.
pub fn location_of(account: &str) -> String {
    (Hash::new(0).str("gbp-location").str(account).get() % 1_000_000_000_000).to_string()
}

fn location_json(seed: u64, id: &str) -> Value {
    let names = [
        "Corner Bakery",
        "Riverside Bakery",
        "Main Street Cafe",
        "Old Town Bakery",
    ];
    let h = Hash::new(seed).str("gbp-title").str(id).get();
    json!({ "name": format!("locations/{id}"), "title": names[(h % names.len() as u64) as usize] })
}

fn read_mask(p: &Params) -> Result<(), AipError> {
    p.get("readMask").map(|_| ()).ok_or_else(|| {
        AipError::invalid("Request contains an invalid argument. read_mask is required.")
    })
}

async fn list_locations(
    State(s): State<Arc<Shared>>,
    Path(account): Path<String>,
    uri: Uri,
) -> Result<Response, AipError> {
    let account = digits(&account)?;
    let p = Params::from_uri(&uri);
    read_mask(&p)?;
    if let Some(size) = p.get("pageSize") {
        if size
            .parse::<usize>()
            .map_or(true, |n| n > LOCATIONS_PER_PAGE)
        {
            return Err(AipError::invalid(format!(
                "page_size must be between 0 and {LOCATIONS_PER_PAGE}"
            )));
        }
    }
    let location = location_of(account);
    Ok(json(
        StatusCode::OK,
        json!({ "locations": [location_json(s.seed, &location)], "totalSize": 1 }),
    ))
}

async fn get_location(
    State(s): State<Arc<Shared>>,
    Path(location): Path<String>,
    uri: Uri,
) -> Result<Response, AipError> {
    let location = digits(&location)?;
    read_mask(&Params::from_uri(&uri))?;
    Ok(json(StatusCode::OK, location_json(s.seed, location)))
}

/// One review: when it was written and its stars (1–5).
pub struct ReviewData {
    /// The review's id.
    pub id: String,
    /// When it was written.
    pub create_time: DateTime<Utc>,
    /// 1–5.
    pub stars: u8,
}

/// A location's reviews, newest first, as of `now`: about one every nine days over a year.
pub fn location_reviews(seed: u64, location: &str, now: DateTime<Utc>) -> Vec<ReviewData> {
    let base = Hash::new(seed).str("gbp-reviews").str(location).get();
    let day_start = now.timestamp() - now.timestamp().rem_euclid(86_400);
    let mut reviews = Vec::new();
    for n in 0..400u64 {
        let h = pick(base, n);
        let age_days = n * 9 + range(pick(h, 1), 0, 3);
        if age_days > 365 {
            break;
        }
        let seconds = age_days as i64 * 86_400 - range(pick(h, 2), 0, 86_400) as i64;
        let create_time = DateTime::from_timestamp(day_start - seconds, 0).unwrap_or(now);
        // Mostly five and four stars, an occasional bad day.
        let stars = match range(pick(h, 3), 0, 20) {
            0 => 1,
            1 => 2,
            2 | 3 => 3,
            4..=8 => 4,
            _ => 5,
        };
        let mut id = String::from("AbFvOq");
        encode(h, 10, BASE64URL, &mut id);
        reviews.push(ReviewData {
            id,
            create_time: create_time.min(now - Duration::minutes(1)),
            stars,
        });
    }
    reviews
}

async fn reviews(
    State(s): State<Arc<Shared>>,
    Path((account, location)): Path<(String, String)>,
    uri: Uri,
) -> Result<Response, AipError> {
    digits(&account)?;
    let location = digits(&location)?;
    let p = Params::from_uri(&uri);
    let size = match p.get("pageSize") {
        None => REVIEWS_PER_PAGE,
        Some(n) => n
            .parse::<usize>()
            .ok()
            .filter(|n| (1..=REVIEWS_PER_PAGE).contains(n))
            .ok_or_else(|| {
                AipError::invalid(format!(
                    "page_size must be between 1 and {REVIEWS_PER_PAGE}"
                ))
            })?,
    };
    let offset = match p.get("pageToken") {
        None => 0,
        Some(t) => decode(t, BASE64URL)
            .map(|n| n as usize)
            .ok_or_else(|| AipError::invalid("Invalid page token."))?,
    };
    let all = location_reviews(s.seed, location, Utc::now());
    let total = all.len();
    let average = if total == 0 {
        0.0
    } else {
        let sum: u64 = all.iter().map(|r| u64::from(r.stars)).sum();
        (sum as f64 / total as f64 * 10.0).round() / 10.0
    };
    let names = [
        "Maria G.", "Tom B.", "Aisha K.", "Lee W.", "Sam R.", "Jo P.",
    ];
    let page: Vec<Value> = all
        .iter()
        .skip(offset)
        .take(size)
        .map(|r| {
            let who = names[(Hash::new(0).str(&r.id).get() % names.len() as u64) as usize];
            json!({
                "name": format!("accounts/{account}/locations/{location}/reviews/{}", r.id),
                "reviewId": r.id,
                "reviewer": { "displayName": who, "isAnonymous": false },
                "starRating": STARS[usize::from(r.stars - 1)],
                "comment": "Lovely croissants and friendly staff.",
                "createTime": iso(r.create_time),
                "updateTime": iso(r.create_time),
            })
        })
        .collect();
    let mut body = json!({ "averageRating": average, "totalReviewCount": total });
    if !page.is_empty() {
        body["reviews"] = Value::Array(page);
    }
    if offset + size < total {
        let mut token = String::new();
        encode((offset + size) as u64, 4, BASE64URL, &mut token);
        body["nextPageToken"] = json!(token);
    }
    Ok(json(StatusCode::OK, body))
}

/// A daily metric's value for a location and day; bookings and conversations are often 0.
pub fn daily_value(seed: u64, location: &str, metric: &str, day: NaiveDate) -> u64 {
    let h = Hash::new(seed)
        .str("gbp-perf")
        .str(location)
        .str(metric)
        .str(&day.to_string())
        .get();
    let top = match metric {
        "BUSINESS_IMPRESSIONS_MOBILE_MAPS" => 120,
        "BUSINESS_IMPRESSIONS_MOBILE_SEARCH" => 90,
        "BUSINESS_IMPRESSIONS_DESKTOP_MAPS" => 30,
        "BUSINESS_IMPRESSIONS_DESKTOP_SEARCH" => 25,
        "WEBSITE_CLICKS" => 12,
        "CALL_CLICKS" => 6,
        "BUSINESS_DIRECTION_REQUESTS" => 9,
        _ => 2,
    };
    range(h, 0, top)
}

async fn performance(
    State(s): State<Arc<Shared>>,
    Path(target): Path<String>,
    uri: Uri,
) -> Result<Response, AipError> {
    let location = target
        .strip_suffix(":fetchMultiDailyMetricsTimeSeries")
        .ok_or_else(AipError::not_found)?;
    let location = digits(location)?;
    let p = Params::from_uri(&uri);
    let metrics: Vec<&str> = p.all("dailyMetrics").collect();
    if metrics.is_empty() {
        return Err(AipError::invalid(
            "Request contains an invalid argument. daily_metrics is required.",
        ));
    }
    if let Some(bad) = metrics
        .iter()
        .find(|m| !DAILY_METRICS.contains(m) || **m == "DAILY_METRIC_UNKNOWN")
    {
        return Err(AipError::invalid(format!(
            "Invalid value at 'daily_metrics' (type.googleapis.com/google.type.DailyMetric), \"{bad}\""
        )));
    }
    let date = |which: &str| -> Result<NaiveDate, AipError> {
        let part = |name: &str| {
            p.get(&format!("dailyRange.{which}.{name}"))
                .and_then(|v| v.parse::<u32>().ok())
        };
        match (part("year"), part("month"), part("day")) {
            (Some(y), Some(m), Some(d)) => NaiveDate::from_ymd_opt(y as i32, m, d),
            _ => None,
        }
        .ok_or_else(|| {
            AipError::invalid(format!(
                "Request contains an invalid argument. daily_range.{which} is not a valid date."
            ))
        })
    };
    let (start, end) = (date("startDate")?, date("endDate")?);
    if end < start {
        return Err(AipError::invalid(
            "Request contains an invalid argument. daily_range end is before start.",
        ));
    }
    let today = super::today(Utc::now());
    let series: Vec<Value> = metrics
        .iter()
        .map(|metric| {
            let mut values = Vec::new();
            let mut day = start;
            // Google has no numbers for the last two days yet.
            while day <= end && day + Duration::days(2) <= today {
                let mut v = json!({ "date": { "year": day.year(), "month": day.month(), "day": day.day() } });
                // A zero is left out.
                let n = daily_value(s.seed, location, metric, day);
                if n > 0 {
                    v["value"] = json!(n.to_string());
                }
                values.push(v);
                let Some(next) = day.succ_opt() else { break };
                day = next;
            }
            json!({ "dailyMetric": metric, "timeSeries": { "datedValues": values } })
        })
        .collect();
    Ok(json(
        StatusCode::OK,
        json!({ "multiDailyMetricTimeSeries": [{ "dailyMetricTimeSeries": series }] }),
    ))
}
