//! When to retry and how long to wait.

use chrono::{DateTime, Utc};
use rand::Rng;
use std::time::Duration;
use tally_model::HttpResponse;

/// Statuses that mean "try again later" rather than "your request is wrong".
pub fn is_retryable_status(status: u16) -> bool {
    matches!(status, 408 | 425 | 429 | 500 | 502 | 503 | 504)
}

/// Whether a 2xx response announced JSON but its body is not one whole JSON
/// document: a connection cut mid-body behind a `Content-Length` that matched
/// what arrived (a proxy, a crashed worker). Like a 5xx it is the platform's
/// fault and passes on retry, so the host retries it rather than hand the
/// connector half a page.
pub fn is_cut_short(response: &HttpResponse) -> bool {
    let is_json = response
        .header("content-type")
        .is_some_and(|t| t.to_ascii_lowercase().contains("json"));
    is_json
        && response.is_success()
        && serde_json::from_slice::<serde::de::IgnoredAny>(&response.body).is_err()
}

/// Exponential backoff with full jitter: a random wait in `[0, min(max, base·2^(attempt-1))]`,
/// so many sources retrying at once spread out instead of stampeding.
pub fn backoff(attempt: u32, base: Duration, max: Duration) -> Duration {
    let exp = base.saturating_mul(1u32 << (attempt.saturating_sub(1)).min(16));
    let cap = exp.min(max);
    let millis = u64::try_from(cap.as_millis()).unwrap_or(u64::MAX);
    Duration::from_millis(rand::rng().random_range(0..=millis))
}

/// Reads `Retry-After` as delta-seconds or an HTTP-date.
pub fn parse_retry_after(value: &str, now: DateTime<Utc>) -> Option<Duration> {
    let value = value.trim();
    if let Ok(secs) = value.parse::<f64>() {
        return (secs.is_finite() && secs >= 0.0).then(|| Duration::from_secs_f64(secs));
    }
    let when = httpdate::parse_http_date(value).ok()?;
    let when: DateTime<Utc> = when.into();
    Some((when - now).to_std().unwrap_or(Duration::ZERO))
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn retry_after_seconds_and_http_date() {
        let now = Utc.with_ymd_and_hms(2026, 11, 23, 10, 0, 0).unwrap();
        assert_eq!(parse_retry_after("7", now), Some(Duration::from_secs(7)));
        assert_eq!(
            parse_retry_after("Mon, 23 Nov 2026 10:00:30 GMT", now),
            Some(Duration::from_secs(30))
        );
        assert_eq!(parse_retry_after("soon", now), None);
    }

    #[test]
    fn backoff_stays_within_the_cap() {
        for attempt in 1..20 {
            let d = backoff(attempt, Duration::from_millis(100), Duration::from_secs(2));
            assert!(d <= Duration::from_secs(2));
        }
        assert!(
            backoff(1, Duration::from_millis(100), Duration::from_secs(2))
                <= Duration::from_millis(100)
        );
    }

    #[test]
    fn only_transient_statuses_retry() {
        assert!(is_retryable_status(429) && is_retryable_status(503));
        assert!(
            !is_retryable_status(400) && !is_retryable_status(401) && !is_retryable_status(404)
        );
    }
}
