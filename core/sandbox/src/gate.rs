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

use crate::limit::{Decision, Usage};
use crate::platform::Platform;
use crate::state::Shared;
use crate::web::{bearer, Params};
use crate::{bluesky, faults, google, mastodon, youtube};

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
        Platform::YouTube => {
            match youtube::credential(&Params::from_uri(req.uri()), token.as_deref()) {
                Ok(key) => key,
                Err(e) => return e.into_response(),
            }
        }
        Platform::Mastodon => token.clone().unwrap_or_else(|| "anonymous".to_string()),
        Platform::Bluesky => "anonymous".to_string(),
        Platform::Ga4 | Platform::BusinessProfile | Platform::YoutubeAnalytics => {
            match google::credential(token.as_deref()) {
                Some(token) => token,
                None => return google::unauthorized(),
            }
        }
    };
    if platform == Platform::YouTube && !shared.quota.try_charge(&credential, Utc::now()) {
        return youtube::quota_exceeded();
    }
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
    let usage = usage.filter(|_| headers);
    let mut resp = if token.is_some_and(|t| shared.tokens.is_expired(&t)) {
        unauthorized(platform)
    } else if shared.faults.internal_error(platform, n) {
        faults::internal_error()
    } else if shared.faults.malformed(platform, n) {
        faults::truncate(next.run(req).await).await
    } else {
        next.run(req).await
    };
    if let Some(usage) = &usage {
        usage_headers(platform, resp.headers_mut(), usage);
    }
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
    }
}

fn usage_headers(platform: Platform, headers: &mut HeaderMap, usage: &Usage) {
    match platform {
        // YouTube documents no usage headers.
        Platform::YouTube => {}
        // Google's newer APIs send none either.
        Platform::Ga4 | Platform::BusinessProfile | Platform::YoutubeAnalytics => {}
        Platform::Mastodon => mastodon::usage_headers(headers, usage),
        Platform::Bluesky => bluesky::usage_headers(headers, usage),
    }
}
