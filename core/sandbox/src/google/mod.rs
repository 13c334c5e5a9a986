//! Google's newer APIs, one file each: Analytics Data v1beta (`/ga4/v1beta`),
//! Business Profile (`/gbp`: Business Information v1, the v4 reviews API and
//! Performance v1 under one root) and YouTube Analytics v2
//! (`/youtube-analytics/v2`).
//!
//! What they share lives here: an OAuth bearer token is required (401
//! `UNAUTHENTICATED` without one), errors are AIP-193 bodies
//! (`{"error":{"code","message","status","details"}}`), a throttle is 429
//! `RESOURCE_EXHAUSTED`, and GA4's property token buckets count down per
//! property, hour and day. `service_account` is Google's token endpoint for
//! service accounts, which really verifies the signed JWT it is sent.

pub(crate) mod ga4;
pub(crate) mod gbp;
pub(crate) mod service_account;
pub(crate) mod youtube_analytics;

use std::borrow::Cow;
use std::collections::HashMap;
use std::sync::Mutex;

use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, NaiveDate, Timelike, Utc};
use serde_json::json;

use crate::limit::{lock, pacific_date};
use crate::web::json;

/// An AIP-193 error: HTTP status, canonical code name and message.
#[derive(Debug)]
pub(crate) struct AipError {
    status: StatusCode,
    code: &'static str,
    message: Cow<'static, str>,
}

impl AipError {
    pub fn new(
        status: StatusCode,
        code: &'static str,
        message: impl Into<Cow<'static, str>>,
    ) -> AipError {
        AipError {
            status,
            code,
            message: message.into(),
        }
    }

    /// 400 `INVALID_ARGUMENT`.
    pub fn invalid(message: impl Into<Cow<'static, str>>) -> AipError {
        AipError::new(StatusCode::BAD_REQUEST, "INVALID_ARGUMENT", message)
    }

    /// 404 `NOT_FOUND`.
    pub fn not_found() -> AipError {
        AipError::new(
            StatusCode::NOT_FOUND,
            "NOT_FOUND",
            "Requested entity was not found.",
        )
    }
}

impl IntoResponse for AipError {
    fn into_response(self) -> Response {
        json(
            self.status,
            json!({ "error": {
                "code": self.status.as_u16(),
                "message": self.message,
                "status": self.code,
            } }),
        )
    }
}

/// The quota key of a request: its bearer token (Google's newer APIs take no
/// API key); `None` without one, which [`unauthorized`] answers.
pub(crate) fn credential(bearer: Option<&str>) -> Option<String> {
    bearer.map(|t| format!("token:{t}"))
}

/// 401 `UNAUTHENTICATED` with Google's `WWW-Authenticate`.
pub(crate) fn unauthorized() -> Response {
    let mut resp = AipError::new(
        StatusCode::UNAUTHORIZED,
        "UNAUTHENTICATED",
        "Request had invalid authentication credentials. Expected OAuth 2 access token, login cookie or other valid authentication credential.",
    )
    .into_response();
    resp.headers_mut().insert(
        axum::http::header::WWW_AUTHENTICATE,
        HeaderValue::from_static(
            "Bearer realm=\"https://accounts.google.com/\", error=\"invalid_token\"",
        ),
    );
    resp
}

/// The per-credential rate bucket is empty: 429 `RESOURCE_EXHAUSTED`.
pub(crate) fn rate_limited() -> Response {
    AipError::new(
        StatusCode::TOO_MANY_REQUESTS,
        "RESOURCE_EXHAUSTED",
        "Quota exceeded for quota metric 'Requests' and limit 'Requests per minute' of service.",
    )
    .into_response()
}

/// A calendar date as `YYYY-MM-DD`, `today`, `yesterday` or `NdaysAgo`, relative to `today`.
pub(crate) fn relative_date(text: &str, today: NaiveDate) -> Option<NaiveDate> {
    match text {
        "today" => Some(today),
        "yesterday" => today.pred_opt(),
        _ => match text.strip_suffix("daysAgo") {
            Some(n) => today.checked_sub_days(chrono::Days::new(n.parse().ok()?)),
            None => NaiveDate::parse_from_str(text, "%Y-%m-%d").ok(),
        },
    }
}

/// The Pacific day the sandbox's Google properties and channels report in.
pub(crate) fn today(now: DateTime<Utc>) -> NaiveDate {
    pacific_date(now)
}

/// What one property's token buckets hold after a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Buckets {
    pub hour_used: u64,
    pub hour_limit: u64,
    pub day_used: u64,
    pub day_limit: u64,
}

/// GA4's property token buckets (per property: per hour and per Pacific day).
#[derive(Debug)]
pub(crate) struct PropertyTokens {
    per_hour: u64,
    per_day: u64,
    used: Mutex<HashMap<String, Usage>>,
}

#[derive(Debug, Default, Clone, Copy)]
struct Usage {
    hour: Option<(NaiveDate, u32)>,
    hour_used: u64,
    day: Option<NaiveDate>,
    day_used: u64,
}

impl PropertyTokens {
    /// `per_hour` / `per_day` of 0 disables that bucket.
    pub fn new(per_hour: u64, per_day: u64) -> PropertyTokens {
        PropertyTokens {
            per_hour,
            per_day,
            used: Mutex::new(HashMap::new()),
        }
    }

    /// Charges `cost` tokens to `property` at `now`; `Err` with the buckets
    /// (unchanged) when either cannot pay.
    pub fn charge(
        &self,
        property: &str,
        cost: u64,
        now: DateTime<Utc>,
    ) -> Result<Buckets, Buckets> {
        let day = today(now);
        let hour = (now.date_naive(), now.hour());
        let mut used = lock(&self.used);
        let usage = used.entry(property.to_string()).or_default();
        if usage.hour != Some(hour) {
            usage.hour = Some(hour);
            usage.hour_used = 0;
        }
        if usage.day != Some(day) {
            usage.day = Some(day);
            usage.day_used = 0;
        }
        let fits = |used: u64, limit: u64| limit == 0 || used + cost <= limit;
        let ok = fits(usage.hour_used, self.per_hour) && fits(usage.day_used, self.per_day);
        if ok {
            usage.hour_used += cost;
            usage.day_used += cost;
        }
        let buckets = Buckets {
            hour_used: usage.hour_used,
            hour_limit: self.per_hour,
            day_used: usage.day_used,
            day_limit: self.per_day,
        };
        if ok {
            Ok(buckets)
        } else {
            Err(buckets)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn relative_dates() {
        let today = NaiveDate::from_ymd_opt(2026, 6, 10).unwrap_or_default();
        assert_eq!(relative_date("today", today), Some(today));
        assert_eq!(
            relative_date("3daysAgo", today),
            NaiveDate::from_ymd_opt(2026, 6, 7)
        );
        assert_eq!(
            relative_date("2026-06-01", today),
            NaiveDate::from_ymd_opt(2026, 6, 1)
        );
        assert_eq!(relative_date("soon", today), None);
    }

    #[test]
    fn tokens_count_down_and_refuse_what_does_not_fit() {
        let tokens = PropertyTokens::new(25, 0);
        let now = Utc
            .with_ymd_and_hms(2026, 6, 1, 12, 0, 0)
            .single()
            .unwrap_or_default();
        assert_eq!(tokens.charge("p", 10, now).map(|b| b.hour_used), Ok(10));
        assert_eq!(tokens.charge("p", 10, now).map(|b| b.hour_used), Ok(20));
        assert_eq!(
            tokens.charge("p", 10, now).map_err(|b| b.hour_used),
            Err(20)
        );
        // Another property has its own buckets; the next hour starts afresh.
        assert!(tokens.charge("q", 10, now).is_ok());
        assert!(tokens
            .charge("p", 10, now + chrono::Duration::hours(1))
            .is_ok());
    }
}
