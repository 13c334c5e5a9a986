//! Reading a platform's usage headers (`X-RateLimit-Remaining`, `RateLimit-Reset`, ...).

use chrono::{DateTime, Utc};
use std::time::Duration;
use tally_model::{HttpResponse, ResetEncoding, UsageHeaders};

/// What a response said about the budget left in the platform's window.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Usage {
    /// Window limit, when sent.
    pub limit: Option<f64>,
    /// Requests left in the window.
    pub remaining: f64,
    /// When the window resets.
    pub reset_in: Option<Duration>,
}

/// Parses the usage headers a connector declared; `None` when they are absent or unreadable.
pub fn read_usage(
    headers: &UsageHeaders,
    response: &HttpResponse,
    now: DateTime<Utc>,
) -> Option<Usage> {
    let remaining = response
        .header(&headers.remaining)?
        .trim()
        .parse::<f64>()
        .ok()?;
    let limit = response
        .header(&headers.limit)
        .and_then(|v| v.split(';').next())
        .and_then(|v| v.trim().parse::<f64>().ok());
    let reset_in = response
        .header(&headers.reset)
        .and_then(|v| parse_reset(v, headers.reset_encoding, now));
    Some(Usage {
        limit,
        remaining,
        reset_in,
    })
}

/// Turns a reset header into a wait from `now`, for every encoding platforms use.
pub fn parse_reset(value: &str, encoding: ResetEncoding, now: DateTime<Utc>) -> Option<Duration> {
    let value = value.trim();
    let at = match encoding {
        ResetEncoding::EpochSeconds => {
            let secs = value.parse::<f64>().ok()?;
            DateTime::<Utc>::from_timestamp_millis((secs * 1000.0) as i64)?
        }
        ResetEncoding::Iso8601 => DateTime::parse_from_rfc3339(value)
            .ok()?
            .with_timezone(&Utc),
        ResetEncoding::SecondsRemaining => {
            let secs = value.parse::<f64>().ok()?;
            return (secs.is_finite() && secs >= 0.0).then(|| Duration::from_secs_f64(secs));
        }
    };
    Some((at - now).to_std().unwrap_or(Duration::ZERO))
}

/// How long to hold further requests on this credential so the window's last
/// requests are spread until its reset instead of running into a 429.
///
/// Nothing is held while more than a twentieth of the window is left; below that
/// the remaining requests are spaced evenly until the reset, and at zero the
/// credential waits for the reset itself.
pub fn hold_for(usage: &Usage) -> Option<Duration> {
    let reset_in = usage.reset_in?;
    let low_water = usage.limit.map_or(1.0, |l| (l / 20.0).max(1.0));
    if usage.remaining > low_water {
        return None;
    }
    if usage.remaining < 1.0 {
        return Some(reset_in);
    }
    Some(reset_in.div_f64(usage.remaining + 1.0))
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn response(headers: &[(&str, &str)]) -> HttpResponse {
        HttpResponse {
            status: 200,
            headers: headers
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
            body: Vec::new(),
        }
    }

    fn mastodon() -> UsageHeaders {
        UsageHeaders {
            limit: "x-ratelimit-limit".into(),
            remaining: "x-ratelimit-remaining".into(),
            reset: "x-ratelimit-reset".into(),
            reset_encoding: ResetEncoding::Iso8601,
        }
    }

    #[test]
    fn mastodon_iso_reset_is_read() {
        let now = Utc.with_ymd_and_hms(2026, 11, 23, 10, 0, 0).unwrap();
        let r = response(&[
            ("X-RateLimit-Limit", "300"),
            ("X-RateLimit-Remaining", "0"),
            ("X-RateLimit-Reset", "2026-11-23T10:00:42.000Z"),
        ]);
        let u = read_usage(&mastodon(), &r, now).unwrap();
        assert_eq!(u.remaining, 0.0);
        assert_eq!(u.reset_in, Some(Duration::from_secs(42)));
        assert_eq!(hold_for(&u), Some(Duration::from_secs(42)));
    }

    #[test]
    fn plenty_left_means_no_hold_and_little_left_spreads() {
        let plenty = Usage {
            limit: Some(300.0),
            remaining: 200.0,
            reset_in: Some(Duration::from_secs(60)),
        };
        assert_eq!(hold_for(&plenty), None);
        let low = Usage {
            limit: Some(300.0),
            remaining: 9.0,
            reset_in: Some(Duration::from_secs(60)),
        };
        assert_eq!(hold_for(&low), Some(Duration::from_secs(6)));
    }

    #[test]
    fn epoch_and_seconds_remaining_encodings() {
        let now = Utc.with_ymd_and_hms(2026, 11, 23, 10, 0, 0).unwrap();
        let epoch = (now.timestamp() + 5).to_string();
        assert_eq!(
            parse_reset(&epoch, ResetEncoding::EpochSeconds, now),
            Some(Duration::from_secs(5))
        );
        assert_eq!(
            parse_reset("2.5", ResetEncoding::SecondsRemaining, now),
            Some(Duration::from_millis(2500))
        );
        assert_eq!(parse_reset("garbage", ResetEncoding::Iso8601, now), None);
    }
}
