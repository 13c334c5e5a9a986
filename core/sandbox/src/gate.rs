//! The front door of each platform: counts the request, waits the injected
//! latency, identifies the credential, applies quota and rate limit, injects
//! faults, and stamps the platform's usage headers. Handlers behind it only
//! simulate the API.

use std::sync::Arc;
use std::time::Instant;

use axum::extract::{Request, State};
use axum::http::HeaderMap;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use chrono::Utc;

use crate::limit::{Charge, DayUsage, Decision, Usage};
use crate::platform::Platform;
use crate::state::Shared;
use crate::web::{bearer, Params, Refusal};
use crate::{bluesky, eventbrite, faults, google, mastodon, surveymonkey, x, yelp, youtube};

/// Counts every request, whatever its path.
pub(crate) async fn count(State(shared): State<Arc<Shared>>, req: Request, next: Next) -> Response {
    shared.stats.request();
    next.run(req).await
}

/// Middleware wrapped around one platform's routes.
pub(crate) async fn gate(
    State((shared, platform)): State<(Arc<Shared>, Platform)>,
    req: Request,
    next: Next,
) -> Response {
    let n = shared.stats.platform_request(platform);
    let latency = shared.faults.latency();
    if !latency.is_zero() {
        tokio::time::sleep(latency).await;
    }
    let token = bearer(req.headers());
    let credential = match platform {
        Platform::YouTube => youtube::credential(&Params::from_uri(req.uri()), token.as_deref())
            .map_err(|e| Refusal::from(e.into_response())),
        Platform::Mastodon => Ok(token.clone().unwrap_or_else(|| "anonymous".to_string())),
        Platform::Bluesky => Ok("anonymous".to_string()),
        Platform::Yelp => yelp::credential(token.as_deref()),
        Platform::Eventbrite => {
            eventbrite::credential(&Params::from_uri(req.uri()), token.as_deref())
        }
        Platform::SurveyMonkey => surveymonkey::credential(token.as_deref()),
        Platform::X => x::credential(req.uri().path(), token.as_deref()),
        Platform::Ga4 | Platform::BusinessProfile | Platform::YoutubeAnalytics => {
            google::credential(token.as_deref())
                .ok_or_else(|| Refusal::from(google::unauthorized()))
        }
    };
    let credential = match credential {
        Ok(c) => c,
        Err(refused) => return refused.into_response(),
    };
    let day = match shared.quota(platform).charge(&credential, Utc::now()) {
        Charge::Unlimited => None,
        Charge::Charged(day) => Some(day),
        Charge::Spent(day) => {
            shared.stats.throttled(platform);
            return quota_spent(platform, &day, shared.usage_headers);
        }
    };
    let now = Instant::now();
    shared.stats.arrived(platform, now);
    let headers = shared.usage_headers;
    let usage = match shared.limiter(platform).acquire(&credential, now) {
        Decision::Admit(usage) => usage,
        Decision::Throttle(usage) => {
            shared.stats.throttled(platform);
            return throttled(platform, &usage, headers);
        }
    };
    if shared.faults.burst_429(n) {
        shared.stats.throttled(platform);
        return match usage {
            Some(u) => throttled(platform, &u, headers),
            None => throttled_unlimited(platform),
        };
    }
    let (usage, day) = (usage.filter(|_| headers), day.filter(|_| headers));
    let mut resp = if token.is_some_and(|t| shared.tokens.is_expired(&t)) {
        unauthorized(platform)
    } else if shared.faults.internal_error(platform, n) {
        faults::internal_error()
    } else if shared.faults.malformed(platform, n) {
        faults::truncate(next.run(req).await).await
    } else {
        next.run(req).await
    };
    usage_headers(platform, resp.headers_mut(), usage.as_ref(), day.as_ref());
    resp
}

/// The platform's 429 with `Retry-After` where documented, and its usage
/// headers when `headers` (the sandbox states its limit).
fn throttled(platform: Platform, usage: &Usage, headers: bool) -> Response {
    let retry_after = usage.retry_after_secs();
    let usage = headers.then_some(usage);
    match platform {
        Platform::YouTube => youtube::rate_limited(),
        Platform::Mastodon => mastodon::throttled(usage, retry_after),
        Platform::Bluesky => bluesky::throttled(usage, retry_after),
        Platform::Ga4 | Platform::BusinessProfile | Platform::YoutubeAnalytics => {
            google::rate_limited()
        }
        Platform::Yelp => yelp::too_many_per_second(),
        Platform::Eventbrite => eventbrite::hit_rate_limit(),
        Platform::SurveyMonkey => surveymonkey::throttled(usage, None),
        Platform::X => x::throttled(usage),
    }
}

/// The platform's answer once a credential's calls for the day are spent.
fn quota_spent(platform: Platform, day: &DayUsage, headers: bool) -> Response {
    let day = headers.then_some(day);
    match platform {
        Platform::Yelp => yelp::access_limit_reached(day),
        Platform::SurveyMonkey => surveymonkey::throttled(None, day),
        // YouTube's units; no other platform has a daily quota.
        _ => youtube::quota_exceeded(),
    }
}

/// An injected 429 on a platform configured without a limit: no usage
/// headers, `Retry-After: 1`.
fn throttled_unlimited(platform: Platform) -> Response {
    match platform {
        Platform::YouTube => youtube::rate_limited(),
        Platform::Mastodon => mastodon::throttled(None, 1),
        Platform::Bluesky => bluesky::throttled(None, 1),
        Platform::Ga4 | Platform::BusinessProfile | Platform::YoutubeAnalytics => {
            google::rate_limited()
        }
        Platform::Yelp => yelp::too_many_per_second(),
        Platform::Eventbrite => eventbrite::hit_rate_limit(),
        Platform::SurveyMonkey => surveymonkey::throttled(None, None),
        Platform::X => x::throttled(None),
    }
}

/// The platform's answer to an expired sandbox-issued token.
fn unauthorized(platform: Platform) -> Response {
    match platform {
        Platform::YouTube => youtube::unauthorized(),
        Platform::Mastodon => mastodon::unauthorized(),
        Platform::Bluesky => bluesky::unauthorized(),
        Platform::Ga4 | Platform::BusinessProfile | Platform::YoutubeAnalytics => {
            google::unauthorized()
        }
        Platform::Yelp => yelp::unauthorized(),
        Platform::Eventbrite => eventbrite::unauthorized(),
        Platform::SurveyMonkey => surveymonkey::unauthorized(),
        Platform::X => x::unauthorized(),
    }
}

/// Stamps what the platform reports of its bucket (`usage`) and daily quota
/// (`day`); either is `None` when unlimited or when headers are off.
fn usage_headers(
    platform: Platform,
    headers: &mut HeaderMap,
    usage: Option<&Usage>,
    day: Option<&DayUsage>,
) {
    match (platform, usage) {
        // YouTube and Eventbrite document no usage headers.
        (Platform::YouTube | Platform::Eventbrite, _) => {}
        // Google's newer APIs send none either.
        (Platform::Ga4 | Platform::BusinessProfile | Platform::YoutubeAnalytics, _) => {}
        (Platform::Mastodon, Some(u)) => mastodon::usage_headers(headers, u),
        (Platform::Bluesky, Some(u)) => bluesky::usage_headers(headers, u),
        // Yelp reports its daily quota only.
        (Platform::Yelp, _) => yelp::usage_headers(headers, day),
        (Platform::SurveyMonkey, _) => surveymonkey::usage_headers(headers, usage, day),
        (Platform::X, Some(u)) => x::usage_headers(headers, u),
        (Platform::Mastodon | Platform::Bluesky | Platform::X, None) => {}
    }
}
