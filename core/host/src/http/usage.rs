//! What a platform says about its own limit, read from the usage headers of a
//! response: how many requests it still allows and when that budget comes back.
//!
//! A server's own statement is worth more than any documented default (limits
//! differ per plan, per instance and per endpoint), so the host reads it from
//! every response and paces by it ([`super::pacing`]). The headers a connector
//! declares are read first, with the reset encoding it declares; after them, the
//! dialects platforms commonly send are recognised without being declared:
//!
//! - `X-RateLimit-Limit/-Remaining/-Reset` (Mastodon, GitHub, Yelp; Reddit's
//!   `X-Ratelimit-Used` is not needed) and X's `X-Rate-Limit-*`;
//! - the IETF draft's `RateLimit-Limit/-Remaining/-Reset` with
//!   `RateLimit-Policy: 3000;w=300` (Bluesky), and its later single
//!   `RateLimit` field (`limit=10, remaining=5, reset=3` or
//!   `"default";r=5;t=3`).
//!
//! A reset is read in every encoding platforms use: an ISO 8601 timestamp, an
//! HTTP date, Unix seconds (or milliseconds) and seconds from now. Each dialect
//! is one function returning a [`Usage`], so one stated differently is one more
//! function in [`DIALECTS`]. The last one reads JSON-valued headers whose numbers
//! are percentages of a limit nobody states ([`json_percent`]: Meta's
//! `X-App-Usage`, `X-Business-Use-Case-Usage`, `X-Ad-Account-Usage`,
//! `x-fb-ads-insights-throttle`).

use chrono::{DateTime, Utc};
use std::time::Duration;
use tally_model::{HttpResponse, ResetEncoding, UsageHeaders};

/// What a response said about the budget left in the platform's window.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Usage {
    /// Window limit (or bucket capacity), when sent.
    pub limit: Option<f64>,
    /// Requests left in the window.
    pub remaining: f64,
    /// When the window resets (the bucket is full again).
    pub reset_in: Option<Duration>,
    /// The policy window, when stated (`RateLimit-Policy: 300;w=300`).
    pub window: Option<Duration>,
}

/// A way of stating usage that is recognised without being declared.
type Dialect = fn(&HttpResponse, DateTime<Utc>) -> Option<Usage>;

/// The undeclared dialects, tried in order after the declared headers.
const DIALECTS: [Dialect; 5] = [
    |r, now| separate_fields(r, now, "x-ratelimit-"),
    |r, now| separate_fields(r, now, "x-rate-limit-"),
    |r, now| separate_fields(r, now, "ratelimit-"),
    combined_field,
    json_percent,
];

/// JSON-valued headers whose numbers are percentages of the platform's limit.
const JSON_PERCENT_HEADERS: [&str; 5] = [
    "x-app-usage",
    "x-business-use-case-usage",
    "x-ad-account-usage",
    "x-fb-ads-insights-throttle",
    "x-page-usage",
];

/// Keys of those headers holding a percentage used.
const PERCENT_KEYS: [&str; 5] = [
    "call_count",
    "total_cputime",
    "total_time",
    "acc_id_util_pct",
    "app_id_util_pct",
];

/// Keys holding the minutes until access comes back.
const REGAIN_MINUTES_KEYS: [&str; 1] = ["estimated_time_to_regain_access"];

/// From this percentage on, what is left is spread over [`SLOW_HORIZON`].
pub const SLOW_FROM_PERCENT: f64 = 75.0;

/// The horizon over which the percentage left is spread once usage passes
/// [`SLOW_FROM_PERCENT`]: the stated percentages cover a rolling hour (or
/// day) whose request count is not stated, so the host goes slower the
/// closer it gets, and a fresh statement every answer corrects it.
pub const SLOW_HORIZON: Duration = Duration::from_secs(300);

/// The shortest wait once a limit is reached (Meta may state 0 minutes at 100 %).
const MIN_REGAIN: Duration = Duration::from_secs(60);

/// JSON percentages: the highest percentage any listed header states, and
/// the longest time to regain access. Below [`SLOW_FROM_PERCENT`] it says
/// nothing (the declared rate is fine); from there, the percentage left is
/// the budget until [`SLOW_HORIZON`]; at 100 % or with a time to regain
/// access, nothing is left until then (at least a minute).
fn json_percent(response: &HttpResponse, _now: DateTime<Utc>) -> Option<Usage> {
    let mut used: Option<f64> = None;
    let mut regain_minutes: f64 = 0.0;
    for name in JSON_PERCENT_HEADERS {
        let Some(value) = response
            .header(name)
            .and_then(|v| serde_json::from_str::<serde_json::Value>(v).ok())
        else {
            continue;
        };
        walk_numbers(&value, &mut |key, n| {
            if PERCENT_KEYS.contains(&key) {
                used = Some(used.map_or(n, |u: f64| u.max(n)));
            } else if REGAIN_MINUTES_KEYS.contains(&key) {
                regain_minutes = regain_minutes.max(n);
            }
        });
    }
    let used = used?;
    let regain = Duration::from_secs_f64(regain_minutes * 60.0);
    if regain_minutes > 0.0 || used >= 100.0 {
        return Some(Usage {
            limit: Some(100.0),
            remaining: 0.0,
            reset_in: Some(regain.max(MIN_REGAIN)),
            window: None,
        });
    }
    (used >= SLOW_FROM_PERCENT).then_some(Usage {
        limit: Some(100.0),
        remaining: 100.0 - used,
        reset_in: Some(SLOW_HORIZON),
        window: None,
    })
}

/// Calls `each(key, number)` for every finite, non-negative number (or
/// numeric string) under a key anywhere in `value`.
fn walk_numbers(value: &serde_json::Value, each: &mut dyn FnMut(&str, f64)) {
    match value {
        serde_json::Value::Object(map) => {
            for (key, v) in map {
                let n = match v {
                    serde_json::Value::Number(n) => n.as_f64(),
                    serde_json::Value::String(s) => number(s),
                    _ => None,
                };
                match n.filter(|n| n.is_finite() && *n >= 0.0) {
                    Some(n) => each(key, n),
                    None => walk_numbers(v, each),
                }
            }
        }
        serde_json::Value::Array(items) => items.iter().for_each(|v| walk_numbers(v, each)),
        _ => {}
    }
}

/// Reads what `response` says about the limit: the connector's declared
/// headers first, then every dialect in [`DIALECTS`]; `None` when it says
/// nothing readable.
pub fn read_usage(
    declared: Option<&UsageHeaders>,
    response: &HttpResponse,
    now: DateTime<Utc>,
) -> Option<Usage> {
    declared
        .and_then(|headers| read_declared(headers, response, now))
        .or_else(|| DIALECTS.iter().find_map(|dialect| dialect(response, now)))
}

/// The headers a connector declared, with its declared reset encoding.
fn read_declared(
    headers: &UsageHeaders,
    response: &HttpResponse,
    now: DateTime<Utc>,
) -> Option<Usage> {
    let remaining = number(response.header(&headers.remaining)?)?;
    let (limit, window) = response.header(&headers.limit).map_or((None, None), limit);
    let reset_in = response
        .header(&headers.reset)
        .and_then(|v| parse_reset(v, headers.reset_encoding, now));
    Some(Usage {
        limit,
        remaining,
        reset_in,
        window: window.or_else(|| policy_window(response)),
    })
}

/// `{prefix}limit`, `{prefix}remaining`, `{prefix}reset`, any reset encoding.
fn separate_fields(response: &HttpResponse, now: DateTime<Utc>, prefix: &str) -> Option<Usage> {
    let field = |name: &str| response.header(&format!("{prefix}{name}"));
    let remaining = number(field("remaining")?)?;
    let (limit, window) = field("limit").map_or((None, None), limit);
    Some(Usage {
        limit,
        remaining,
        reset_in: field("reset").and_then(|v| parse_reset_any(v, now)),
        window: window.or_else(|| policy_window(response)),
    })
}

/// The IETF draft's single field: `limit=10, remaining=5, reset=3` (drafts
/// 3 to 6) or `"default";r=5;t=3` (draft 7 on, the quota in `RateLimit-Policy`).
fn combined_field(response: &HttpResponse, _now: DateTime<Utc>) -> Option<Usage> {
    let value = response.header("ratelimit")?;
    let param = |names: &[&str]| {
        value
            .split([',', ';'])
            .filter_map(|part| part.split_once('='))
            .find(|(k, _)| names.contains(&k.trim()))
            .and_then(|(_, v)| number(v))
    };
    let remaining = param(&["remaining", "r"])?;
    let seconds = |s: f64| (s.is_finite() && s >= 0.0).then(|| Duration::from_secs_f64(s));
    let policy = response.header("ratelimit-policy");
    let quota = policy.and_then(|p| {
        p.split(';')
            .filter_map(|part| part.split_once('='))
            .find(|(k, _)| k.trim() == "q")
            .and_then(|(_, v)| number(v))
    });
    Some(Usage {
        limit: param(&["limit"]).or(quota),
        remaining,
        reset_in: param(&["reset", "t"]).and_then(seconds),
        window: policy_window(response),
    })
}

/// A limit field: its first number, and the window of the policy with that
/// quota when listed (`10, 10;w=1, 1000;w=3600`) or given (`10;w=1`).
fn limit(value: &str) -> (Option<f64>, Option<Duration>) {
    let policies = value.split(',').map(|item| {
        let mut parts = item.split(';');
        let quota = parts.next().and_then(number);
        (quota, parts.find_map(window_param))
    });
    let mut policies = policies.peekable();
    let limit = policies.peek().and_then(|(quota, _)| *quota);
    let window = policies
        .filter(|(quota, _)| *quota == limit)
        .find_map(|(_, window)| window);
    (limit, window)
}

/// `RateLimit-Policy: 3000;w=300` (or `"default";q=3000;w=300`): the window.
fn policy_window(response: &HttpResponse) -> Option<Duration> {
    response
        .header("ratelimit-policy")?
        .split(',')
        .next()?
        .split(';')
        .find_map(window_param)
}

fn window_param(part: &str) -> Option<Duration> {
    let (key, value) = part.split_once('=')?;
    let secs = number(value).filter(|_| key.trim() == "w")?;
    (secs > 0.0 && secs.is_finite()).then(|| Duration::from_secs_f64(secs))
}

fn number(value: &str) -> Option<f64> {
    value
        .trim()
        .trim_matches('"')
        .parse::<f64>()
        .ok()
        .filter(|n| n.is_finite())
}

/// Turns a reset header into a wait from `now`, in the encoding a connector declared.
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

/// Unix times from here on (2001-09-09) are read as instants; smaller
/// numbers are seconds from now, as no window lasts thirty years.
const EPOCH_SECONDS_FROM: f64 = 1e9;
/// Unix times in milliseconds (a reset in seconds would not reach this until 5138).
const EPOCH_MILLIS_FROM: f64 = 1e11;

/// Turns a reset header of an undeclared dialect into a wait from `now`,
/// recognising its encoding: ISO 8601, HTTP date, Unix seconds or
/// milliseconds, or seconds from now.
pub fn parse_reset_any(value: &str, now: DateTime<Utc>) -> Option<Duration> {
    let value = value.trim();
    let Some(n) = number(value) else {
        let at = DateTime::parse_from_rfc3339(value)
            .map(|t| t.with_timezone(&Utc))
            .ok()
            .or_else(|| {
                httpdate::parse_http_date(value)
                    .ok()
                    .map(DateTime::<Utc>::from)
            })?;
        return Some((at - now).to_std().unwrap_or(Duration::ZERO));
    };
    if n < 0.0 {
        return None;
    }
    if n < EPOCH_SECONDS_FROM {
        return Some(Duration::from_secs_f64(n));
    }
    let millis = if n >= EPOCH_MILLIS_FROM {
        n
    } else {
        n * 1000.0
    };
    let at = DateTime::<Utc>::from_timestamp_millis(millis as i64)?;
    Some((at - now).to_std().unwrap_or(Duration::ZERO))
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

    fn now() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 11, 23, 10, 0, 0).unwrap()
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
    fn declared_mastodon_headers_with_an_iso_reset() {
        let r = response(&[
            ("X-RateLimit-Limit", "300"),
            ("X-RateLimit-Remaining", "0"),
            ("X-RateLimit-Reset", "2026-11-23T10:00:42.250Z"),
        ]);
        let u = read_usage(Some(&mastodon()), &r, now()).unwrap();
        assert_eq!(
            u,
            Usage {
                limit: Some(300.0),
                remaining: 0.0,
                reset_in: Some(Duration::from_millis(42_250)),
                window: None,
            }
        );
    }

    #[test]
    fn declared_encodings_epoch_and_seconds_remaining() {
        let epoch = (now().timestamp() + 5).to_string();
        assert_eq!(
            parse_reset(&epoch, ResetEncoding::EpochSeconds, now()),
            Some(Duration::from_secs(5))
        );
        assert_eq!(
            parse_reset("2.5", ResetEncoding::SecondsRemaining, now()),
            Some(Duration::from_millis(2500))
        );
        assert_eq!(parse_reset("garbage", ResetEncoding::Iso8601, now()), None);
    }

    #[test]
    fn every_reset_encoding_is_recognised_undeclared() {
        let in_5s = Some(Duration::from_secs(5));
        assert_eq!(parse_reset_any("2026-11-23T10:00:05Z", now()), in_5s);
        assert_eq!(
            parse_reset_any("2026-11-23T11:00:05+01:00", now()),
            in_5s,
            "offsets are honoured"
        );
        assert_eq!(
            parse_reset_any("Mon, 23 Nov 2026 10:00:05 GMT", now()),
            in_5s
        );
        let epoch = now().timestamp() + 5;
        assert_eq!(parse_reset_any(&epoch.to_string(), now()), in_5s);
        assert_eq!(
            parse_reset_any(&format!("{}", epoch * 1000), now()),
            in_5s,
            "Unix milliseconds"
        );
        assert_eq!(parse_reset_any("5", now()), in_5s, "seconds from now");
        assert_eq!(
            parse_reset_any("0.25", now()),
            Some(Duration::from_millis(250))
        );
        // A reset already past means the budget is back now.
        assert_eq!(
            parse_reset_any("2026-11-23T09:59:00Z", now()),
            Some(Duration::ZERO)
        );
        assert_eq!(parse_reset_any("-3", now()), None);
        assert_eq!(parse_reset_any("soon", now()), None);
    }

    #[test]
    fn x_ratelimit_headers_are_read_without_being_declared() {
        let r = response(&[
            ("x-ratelimit-limit", "10"),
            ("x-ratelimit-remaining", "4"),
            ("x-ratelimit-reset", "2026-11-23T10:00:00.120Z"),
        ]);
        let u = read_usage(None, &r, now()).unwrap();
        assert_eq!(u.limit, Some(10.0));
        assert_eq!(u.remaining, 4.0);
        assert_eq!(u.reset_in, Some(Duration::from_millis(120)));
        // Reddit: a float remaining and seconds from now.
        let reddit = response(&[
            ("x-ratelimit-used", "3"),
            ("x-ratelimit-remaining", "596.0"),
            ("x-ratelimit-reset", "412"),
        ]);
        let u = read_usage(None, &reddit, now()).unwrap();
        assert_eq!((u.limit, u.remaining), (None, 596.0));
        assert_eq!(u.reset_in, Some(Duration::from_secs(412)));
        // X: epoch seconds.
        let reset = (now().timestamp() + 900).to_string();
        let x = response(&[
            ("x-rate-limit-limit", "900"),
            ("x-rate-limit-remaining", "899"),
            ("x-rate-limit-reset", &reset),
        ]);
        let u = read_usage(None, &x, now()).unwrap();
        assert_eq!(u.reset_in, Some(Duration::from_secs(900)));
    }

    #[test]
    fn ietf_fields_with_a_policy_window() {
        let reset = (now().timestamp() + 300).to_string();
        let bluesky = response(&[
            ("ratelimit-limit", "3000"),
            ("ratelimit-remaining", "2999"),
            ("ratelimit-reset", &reset),
            ("ratelimit-policy", "3000;w=300"),
        ]);
        let u = read_usage(None, &bluesky, now()).unwrap();
        assert_eq!(
            u,
            Usage {
                limit: Some(3000.0),
                remaining: 2999.0,
                reset_in: Some(Duration::from_secs(300)),
                window: Some(Duration::from_secs(300)),
            }
        );
        let listed = response(&[
            ("ratelimit-limit", "10, 10;w=1, 1000;w=3600"),
            ("ratelimit-remaining", "9"),
            ("ratelimit-reset", "1"),
        ]);
        let u = read_usage(None, &listed, now()).unwrap();
        assert_eq!(
            (u.limit, u.window),
            (Some(10.0), Some(Duration::from_secs(1)))
        );
    }

    #[test]
    fn ietf_single_field_in_both_draft_shapes() {
        let old = response(&[("ratelimit", "limit=100, remaining=50, reset=30")]);
        let u = read_usage(None, &old, now()).unwrap();
        assert_eq!(
            (u.limit, u.remaining, u.reset_in),
            (Some(100.0), 50.0, Some(Duration::from_secs(30)))
        );
        let new = response(&[
            ("ratelimit", "\"default\";r=50;t=30"),
            ("ratelimit-policy", "\"default\";q=100;w=60"),
        ]);
        let u = read_usage(None, &new, now()).unwrap();
        assert_eq!(
            u,
            Usage {
                limit: Some(100.0),
                remaining: 50.0,
                reset_in: Some(Duration::from_secs(30)),
                window: Some(Duration::from_secs(60)),
            }
        );
    }

    #[test]
    fn meta_json_percentages_are_silent_until_usage_is_high() {
        // The documented header strings (platforms.md §1, from sns-sdks/python-facebook).
        let app = response(&[(
            "X-App-Usage",
            r#"{"call_count":16,"total_cputime":15,"total_time":12}"#,
        )]);
        assert_eq!(read_usage(None, &app, now()), None);
        let busy = response(&[(
            "X-App-Usage",
            r#"{"call_count":80,"total_cputime":15,"total_time":12}"#,
        )]);
        assert_eq!(
            read_usage(None, &busy, now()),
            Some(Usage {
                limit: Some(100.0),
                remaining: 20.0,
                reset_in: Some(SLOW_HORIZON),
                window: None,
            })
        );
        let ads = response(&[(
            "x-fb-ads-insights-throttle",
            r#"{"app_id_util_pct":40.5,"acc_id_util_pct":91.25}"#,
        )]);
        let u = read_usage(None, &ads, now()).unwrap();
        assert_eq!(u.remaining, 8.75);
    }

    #[test]
    fn meta_time_to_regain_access_is_in_minutes() {
        let buc = response(&[(
            "X-Business-Use-Case-Usage",
            r#"{"112233":[{"type":"pages","call_count":100,"total_cputime":1,"total_time":1,"estimated_time_to_regain_access":7}]}"#,
        )]);
        assert_eq!(
            read_usage(None, &buc, now()),
            Some(Usage {
                limit: Some(100.0),
                remaining: 0.0,
                reset_in: Some(Duration::from_secs(7 * 60)),
                window: None,
            })
        );
        // Documented sample: 1 % used, nothing to regain: silent.
        let calm = response(&[(
            "X-Business-Use-Case-Usage",
            r#"{"<page-or-biz-id>":[{"type":"pages","call_count":1,"total_cputime":1,"total_time":1,"estimated_time_to_regain_access":0}]}"#,
        )]);
        assert_eq!(read_usage(None, &calm, now()), None);
        // At 100 % with no time stated, at least a minute.
        let full = response(&[("X-Ad-Account-Usage", r#"{"acc_id_util_pct":100}"#)]);
        assert_eq!(
            read_usage(None, &full, now()).and_then(|u| u.reset_in),
            Some(Duration::from_secs(60))
        );
        assert_eq!(
            read_usage(None, &response(&[("x-app-usage", "not json")]), now()),
            None
        );
    }

    #[test]
    fn declared_headers_win_and_silence_is_none() {
        // A connector declaring another reset encoding is believed over the guess.
        let declared = UsageHeaders {
            reset_encoding: ResetEncoding::SecondsRemaining,
            ..mastodon()
        };
        let r = response(&[
            ("x-ratelimit-remaining", "7"),
            ("x-ratelimit-reset", "2000000000"),
        ]);
        let u = read_usage(Some(&declared), &r, now()).unwrap();
        assert_eq!(u.reset_in, Some(Duration::from_secs(2_000_000_000)));
        assert_eq!(read_usage(None, &response(&[("server", "x")]), now()), None);
        assert_eq!(
            read_usage(None, &response(&[("x-ratelimit-remaining", "lots")]), now()),
            None
        );
    }
}
