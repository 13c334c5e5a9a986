//! When to retry and how long to wait.

use chrono::{DateTime, Days, TimeZone, Timelike, Utc};
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
    is_json && response.is_success() && !ends_whole(&response.body)
}

/// Whether a JSON body ends where its document does: every bracket closed,
/// no string left open, nothing but whitespace after. This does not check the
/// syntax (the connector's decoder does, naming the field); it only tells a
/// body cut mid-transfer from a whole one, for every page of every pull, so
/// it is one pass over the bytes instead of a second parse of the document.
fn ends_whole(body: &[u8]) -> bool {
    let body = body.trim_ascii();
    if !matches!(body.first(), Some(b'{' | b'[')) {
        // A bare scalar document is short: parsing it is cheap.
        return serde_json::from_slice::<serde::de::IgnoredAny>(body).is_ok();
    }
    super::json_end::closes_at_end(body)
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

/// How long until a Google quota that a 429 `RESOURCE_EXHAUSTED` says is spent
/// comes back: Google sends no `Retry-After`, and retrying sooner only spends
/// the next attempts on the same refusal. A quota per day (GA4's property
/// tokens per day, the Data API's daily units) resets at midnight Pacific,
/// Google's quota day; anything else (per hour, per minute) at the top of the
/// hour, the latest a per-minute or per-hour bucket can take. `None` for any
/// other answer.
pub fn google_quota_reset(response: &HttpResponse, now: DateTime<Utc>) -> Option<Duration> {
    if response.status != 429 {
        return None;
    }
    let body: serde_json::Value = serde_json::from_slice(&response.body).ok()?;
    let error = body.get("error")?;
    if error.get("status").and_then(serde_json::Value::as_str) != Some("RESOURCE_EXHAUSTED") {
        return None;
    }
    let message = error
        .get("message")
        .and_then(serde_json::Value::as_str)
        .unwrap_or_default()
        .to_ascii_lowercase();
    let reset = if message.contains("per day") {
        let pacific = chrono_tz::America::Los_Angeles;
        let tomorrow = now
            .with_timezone(&pacific)
            .date_naive()
            .checked_add_days(Days::new(1))?;
        pacific
            .from_local_datetime(&tomorrow.and_hms_opt(0, 0, 0)?)
            .earliest()?
            .with_timezone(&Utc)
    } else {
        let hour = now.with_minute(0)?.with_second(0)?.with_nanosecond(0)?;
        hour + chrono::Duration::hours(1)
    };
    (reset - now).to_std().ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn a_document_cut_at_any_byte_is_told_from_the_whole_one() {
        let whole =
            br#" {"feed":[{"text":"a \"quoted\" ] and } inside","n":1},[]],"cursor":null} "#;
        assert!(ends_whole(whole));
        let end = whole.trim_ascii_end().len();
        for cut in 0..end {
            assert!(!ends_whole(&whole[..cut]), "cut at byte {cut} looked whole");
        }
        assert!(ends_whole(b"[1,2]\n"));
        assert!(ends_whole(b"42"));
        assert!(!ends_whole(b"{}}"));
        assert!(!ends_whole(b"{} {}"));
    }

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
    fn a_spent_google_quota_waits_for_its_reset() {
        let answer = |status: u16, message: &str| {
            HttpResponse {
            status,
            headers: Vec::new(),
            body: serde_json::json!({"error": {"code": status, "message": message, "status": "RESOURCE_EXHAUSTED"}})
                .to_string()
                .into_bytes(),
        }
        };
        let now = Utc.with_ymd_and_hms(2026, 6, 1, 10, 40, 0).unwrap();
        assert_eq!(
            google_quota_reset(&answer(429, "Exhausted property tokens per hour."), now),
            Some(Duration::from_secs(20 * 60))
        );
        // Midnight Pacific (PDT, UTC-7) is 07:00 UTC on the 2nd.
        assert_eq!(
            google_quota_reset(&answer(429, "Exhausted property tokens per day."), now),
            Some(Duration::from_secs(20 * 3600 + 20 * 60))
        );
        assert_eq!(google_quota_reset(&answer(503, "per hour"), now), None);
        let other = HttpResponse {
            status: 429,
            headers: Vec::new(),
            body: b"{\"error\": {\"status\": \"UNAVAILABLE\"}}".to_vec(),
        };
        assert_eq!(google_quota_reset(&other, now), None);
    }

    #[test]
    fn only_transient_statuses_retry() {
        assert!(is_retryable_status(429) && is_retryable_status(503));
        assert!(
            !is_retryable_status(400) && !is_retryable_status(401) && !is_retryable_status(404)
        );
    }
}
