//! What every Google API shares, written once for the family: the error body
//! (AIP-193 `{"error":{"code","message","status","details"}}`, and the older
//! `errors[].reason` list some APIs still send beside it), int64 values sent as
//! JSON strings, calendar days, and the OAuth2 endpoints with offline access.
//!
//! Why one module: GA4, Business Profile and YouTube Analytics answer a spent
//! quota, a missing permission or a wrong id with the same body, and a user
//! should read the same advice whichever connector hit it.

use chrono::{DateTime, Days, NaiveDate, TimeZone, Timelike, Utc};
use chrono_tz::Tz;
use serde::Deserialize;
use serde_json::Value;
use tally_model::{AuthKind, AuthQuirk, ConnectorError, HttpError, PointTime, SourceContext};

/// Google's authorization endpoint.
pub const AUTH_URL: &str = "https://accounts.google.com/o/oauth2/v2/auth";
/// Google's token endpoint.
pub const TOKEN_URL: &str = "https://oauth2.googleapis.com/token";

/// The auth kinds every Google connector accepts: OAuth2 with Google's offline
/// access (so `tally auth login` gets a refresh token) for `scope`, or a bearer
/// access token obtained elsewhere (`gcloud auth print-access-token`).
pub fn auth(scope: &str) -> [AuthKind; 2] {
    [
        AuthKind::oauth2(AUTH_URL, TOKEN_URL, &[scope]).quirk(AuthQuirk::GoogleOfflineAccess),
        AuthKind::Bearer,
    ]
}

/// The error body of every Google API.
#[derive(Debug, Deserialize)]
struct ErrorBody {
    error: ErrorStatus,
}

/// `google.rpc.Status` as JSON, with the legacy `errors` list.
#[derive(Debug, Deserialize)]
struct ErrorStatus {
    #[serde(default)]
    message: Option<String>,
    /// The canonical code name: `RESOURCE_EXHAUSTED`, `PERMISSION_DENIED`, …
    #[serde(default)]
    status: Option<String>,
    /// `google.rpc.ErrorInfo` and friends; the `reason` of an `ErrorInfo` is the most precise.
    #[serde(default)]
    details: Vec<Value>,
    /// The v3-era list: `[{"reason": "rateLimitExceeded", …}]`.
    #[serde(default)]
    errors: Vec<LegacyError>,
}

#[derive(Debug, Deserialize)]
struct LegacyError {
    #[serde(default)]
    reason: Option<String>,
}

/// Whether a Google error says "slow down" (a throttle), not "you may not".
pub fn is_throttle(reason: &str) -> bool {
    matches!(
        reason,
        "RESOURCE_EXHAUSTED"
            | "rateLimitExceeded"
            | "userRateLimitExceeded"
            | "quotaExceeded"
            | "RATE_LIMIT_EXCEEDED"
    )
}

/// Maps a non-2xx Google answer at `path` to an error that says what to do.
///
/// `api` names the API in messages ("Google Analytics"). A throttle
/// (`RESOURCE_EXHAUSTED`, `rateLimitExceeded`) says the budget is spent and
/// when the next run will try; credential and permission problems become
/// [`HttpError::Unauthorized`]; a 404 becomes [`ConnectorError::NotFound`];
/// a 400 keeps Google's message, which names the bad field.
pub fn error_for(api: &str, path: &str, status: u16, body: &[u8]) -> ConnectorError {
    let Ok(ErrorBody { error }) = serde_json::from_slice::<ErrorBody>(body) else {
        return ConnectorError::status(path, status, body);
    };
    let detail_reason = error
        .details
        .iter()
        .find_map(|d| d.get("reason").and_then(Value::as_str).map(str::to_string));
    let reason = error
        .errors
        .iter()
        .find_map(|e| e.reason.clone())
        .or(detail_reason)
        .or(error.status.clone())
        .unwrap_or_else(|| "unknown reason".to_string());
    let said = error
        .message
        .as_deref()
        .map(str::trim)
        .filter(|m| !m.is_empty())
        .map(|m| format!("; {api} said: {m}"))
        .unwrap_or_default();
    let throttled = is_throttle(&reason) || error.status.as_deref().is_some_and(is_throttle);
    if throttled {
        return ConnectorError::Status {
            path: path.to_string(),
            status,
            body: format!(
                "{api} quota is spent ({reason}); the source will be pulled again on its next run{said}"
            ),
        };
    }
    match (status, error.status.as_deref()) {
        (401, _) | (_, Some("UNAUTHENTICATED")) => ConnectorError::Http(HttpError::Unauthorized {
            path: path.to_string(),
            status,
            message: format!("the access token was refused ({reason}); run `tally auth login` for this source{said}"),
        }),
        (403, _) | (_, Some("PERMISSION_DENIED")) => {
            ConnectorError::Http(HttpError::Unauthorized {
                path: path.to_string(),
                status,
                message: format!(
                    "the signed-in Google account may not read this ({reason}); grant it access or enable the API in the Cloud console{said}"
                ),
            })
        }
        (404, _) | (_, Some("NOT_FOUND")) => {
            ConnectorError::NotFound(format!("{path} ({reason}){said}"))
        }
        _ => ConnectorError::Status {
            path: path.to_string(),
            status,
            body: format!("{api} refused the request ({reason}){said}"),
        },
    }
}

/// An int64 as Google sends it (a JSON string, `"1234"`), or a plain number.
/// `None` for a value that is no count (absent, empty, not a number).
pub fn int64(value: Option<&Value>) -> Result<Option<u64>, String> {
    match value {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => s
            .parse::<u64>()
            .map(Some)
            .map_err(|_| format!("`{s}` is not an int64 count")),
        Some(Value::Number(n)) => n
            .as_u64()
            .map(Some)
            .ok_or_else(|| format!("`{n}` is not a non-negative integer")),
        Some(other) => Err(format!("`{other}` is not an int64 count")),
    }
}

/// The half-open period `[day 00:00, next day 00:00)` of a calendar day in `tz`, in UTC.
pub fn day_period(day: NaiveDate, tz: Tz) -> Result<PointTime, String> {
    let start = local_midnight(day, tz)?;
    let next = day
        .succ_opt()
        .ok_or_else(|| format!("{day} has no next day"))?;
    let end = local_midnight(next, tz)?;
    Ok(PointTime::Period { start, end })
}

/// The first instant of `day` in `tz` (a day starting in a DST gap starts at its first real instant).
fn local_midnight(day: NaiveDate, tz: Tz) -> Result<DateTime<Utc>, String> {
    let midnight = day.and_hms_opt(0, 0, 0).unwrap_or_default();
    match tz.from_local_datetime(&midnight) {
        chrono::LocalResult::Single(t) | chrono::LocalResult::Ambiguous(t, _) => {
            Ok(t.with_timezone(&Utc))
        }
        chrono::LocalResult::None => {
            let later = midnight + chrono::Duration::hours(1);
            tz.from_local_datetime(&later)
                .earliest()
                .map(|t| t.with_timezone(&Utc))
                .ok_or_else(|| format!("{day} has no midnight in {tz}"))
        }
    }
}

/// Parses an IANA time zone name from settings or a response, naming where it came from.
pub fn time_zone(name: &str, from: &str) -> Result<Tz, String> {
    name.parse::<Tz>()
        .map_err(|_| format!("{from} `{name}` is not an IANA time zone (such as America/Chicago)"))
}

/// The top of the hour after `at`: when Google's hourly quota buckets fill again.
pub fn next_hour(at: DateTime<Utc>) -> DateTime<Utc> {
    let into_hour = i64::from(at.minute()) * 60 + i64::from(at.second());
    at - chrono::Duration::seconds(into_hour)
        - chrono::Duration::nanoseconds(i64::from(at.nanosecond()))
        + chrono::Duration::hours(1)
}

/// The next midnight after `at` in `tz`: when a daily quota kept on that
/// calendar (GA4's property tokens, in the property's time zone) fills again.
pub fn next_midnight(at: DateTime<Utc>, tz: Tz) -> DateTime<Utc> {
    let tomorrow = today(at, tz).succ_opt().unwrap_or(today(at, tz));
    local_midnight(tomorrow, tz).unwrap_or(at + chrono::Duration::days(1))
}

/// The calendar day `now` falls on in `tz`.
pub fn today(now: DateTime<Utc>, tz: Tz) -> NaiveDate {
    now.with_timezone(&tz).date_naive()
}

/// The days a pull reads, in `tz`: from `--since`, else from the last day
/// read (`state.through`) minus the lookback (the source's `lookback_days`,
/// else `default_lookback`: days Google still restates), else `history_days`
/// ago; to today.
pub fn date_window(
    ctx: &SourceContext<'_>,
    tz: Tz,
    history_days: u32,
    default_lookback: u32,
) -> (NaiveDate, NaiveDate) {
    let today = today(ctx.now, tz);
    let start = match (ctx.since, last_day_read(ctx)) {
        (Some(since), _) => self::today(since, tz),
        (None, Some(day)) => day
            .checked_sub_days(Days::new(u64::from(
                ctx.lookback_days.unwrap_or(default_lookback),
            )))
            .unwrap_or(day),
        (None, None) => today
            .checked_sub_days(Days::new(u64::from(history_days)))
            .unwrap_or(today),
    };
    (start.min(today), today)
}

/// The last day a previous pull read, from its state `{"through": "YYYY-MM-DD"}`.
pub fn last_day_read(ctx: &SourceContext<'_>) -> Option<NaiveDate> {
    ctx.state
        .and_then(|s| s.get("through"))
        .and_then(Value::as_str)
        .and_then(|t| NaiveDate::parse_from_str(t, "%Y-%m-%d").ok())
}

/// The state that records `day` as the last day read.
pub fn through(day: NaiveDate) -> Value {
    serde_json::json!({ "through": day.format("%Y-%m-%d").to_string() })
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use serde_json::json;

    fn message(status: u16, body: Value) -> String {
        error_for(
            "Google Analytics",
            "/v1beta/properties/1:runReport",
            status,
            body.to_string().as_bytes(),
        )
        .to_string()
    }

    #[test]
    fn resource_exhausted_says_the_quota_is_spent() {
        let e = message(
            429,
            json!({"error": {"code": 429, "message": "Exhausted property tokens per hour.", "status": "RESOURCE_EXHAUSTED"}}),
        );
        assert_eq!(
            e,
            "/v1beta/properties/1:runReport answered HTTP 429: Google Analytics quota is spent (RESOURCE_EXHAUSTED); the source will be pulled again on its next run; Google Analytics said: Exhausted property tokens per hour."
        );
    }

    #[test]
    fn legacy_rate_limit_reason_is_a_throttle_too() {
        let e = message(
            403,
            json!({"error": {"code": 403, "message": "Rate Limit Exceeded", "errors": [{"reason": "rateLimitExceeded"}]}}),
        );
        assert!(e.contains("quota is spent (rateLimitExceeded)"), "{e}");
    }

    #[test]
    fn permission_denied_is_an_auth_error_with_advice() {
        let e = error_for(
            "Google Analytics",
            "/v1beta/properties/1:runReport",
            403,
            json!({"error": {"code": 403, "message": "User does not have sufficient permissions for this property.", "status": "PERMISSION_DENIED", "details": [{"@type": "type.googleapis.com/google.rpc.ErrorInfo", "reason": "ACCESS_TOKEN_SCOPE_INSUFFICIENT"}]}}).to_string().as_bytes(),
        );
        assert!(matches!(
            e,
            ConnectorError::Http(HttpError::Unauthorized { status: 403, .. })
        ));
        assert!(
            e.to_string().contains("(ACCESS_TOKEN_SCOPE_INSUFFICIENT)"),
            "{e}"
        );
    }

    #[test]
    fn not_found_and_bad_request_keep_googles_words() {
        let e = message(
            404,
            json!({"error": {"code": 404, "message": "Requested entity was not found.", "status": "NOT_FOUND"}}),
        );
        assert_eq!(e, "not found: /v1beta/properties/1:runReport (NOT_FOUND); Google Analytics said: Requested entity was not found.");
        let e = message(
            400,
            json!({"error": {"code": 400, "message": "Field sessionz is not a valid metric.", "status": "INVALID_ARGUMENT"}}),
        );
        assert!(e.ends_with("Google Analytics refused the request (INVALID_ARGUMENT); Google Analytics said: Field sessionz is not a valid metric."), "{e}");
    }

    #[test]
    fn a_body_that_is_not_googles_is_quoted() {
        let e = error_for("Google Analytics", "/x", 502, b"<html>Bad gateway</html>");
        assert_eq!(
            e.to_string(),
            "/x answered HTTP 502: <html>Bad gateway</html>"
        );
    }

    #[test]
    fn int64_strings_parse_and_garbage_is_named() {
        assert_eq!(int64(Some(&json!("42"))), Ok(Some(42)));
        assert_eq!(int64(Some(&json!(7))), Ok(Some(7)));
        assert_eq!(int64(None), Ok(None));
        assert_eq!(
            int64(Some(&json!("4x"))),
            Err("`4x` is not an int64 count".to_string())
        );
        assert_eq!(
            int64(Some(&json!(-1))),
            Err("`-1` is not a non-negative integer".to_string())
        );
    }

    #[test]
    fn a_day_is_local_midnight_to_midnight() {
        let tz: Tz = "America/Chicago".parse().unwrap();
        let day = NaiveDate::from_ymd_opt(2026, 3, 8).unwrap();
        let PointTime::Period { start, end } = day_period(day, tz).unwrap() else {
            panic!()
        };
        assert_eq!(start.to_rfc3339(), "2026-03-08T06:00:00+00:00");
        // The day DST starts is 23 hours long.
        assert_eq!(end.to_rfc3339(), "2026-03-09T05:00:00+00:00");
        assert_eq!(
            time_zone("Mars/Base", "metadata.timeZone").unwrap_err(),
            "metadata.timeZone `Mars/Base` is not an IANA time zone (such as America/Chicago)"
        );
    }
}
