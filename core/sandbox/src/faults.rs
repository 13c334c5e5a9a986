//! Injected failures, decided from `(seed, platform, request number)` rather
//! than a thread-local RNG, so a test that sends requests one at a time sees
//! the same failures on every run.

use std::time::Duration;

use axum::body::{to_bytes, Body};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};

use crate::hash::{unit, Hash};
use crate::platform::Platform;
use crate::FaultOptions;

/// The body of an injected 500, as a load balancer in front of an API sends it.
pub(crate) const INTERNAL_ERROR_HTML: &str =
    "<html><body><h1>500 Internal Server Error</h1></body></html>";

/// Largest body the malformed fault will buffer to truncate.
const MAX_BODY: usize = 64 * 1024 * 1024;

#[derive(Debug, Clone)]
pub(crate) struct Faults {
    seed: u64,
    opts: FaultOptions,
}

impl Faults {
    pub fn new(seed: u64, opts: FaultOptions) -> Faults {
        Faults { seed, opts }
    }

    pub fn latency(&self) -> Duration {
        Duration::from_millis(self.opts.latency_ms)
    }

    /// Whether request number `n` (1-based, per platform) is a forced 429.
    pub fn burst_429(&self, n: u64) -> bool {
        self.opts.burst_429_every > 0 && n.is_multiple_of(u64::from(self.opts.burst_429_every))
    }

    /// Whether request number `n` is answered with a 500.
    pub fn internal_error(&self, platform: Platform, n: u64) -> bool {
        self.roll("error", platform, n) < self.opts.error_rate
    }

    /// Whether request number `n`, if it succeeds, gets a truncated body.
    pub fn malformed(&self, platform: Platform, n: u64) -> bool {
        self.roll("malformed", platform, n) < self.opts.malformed_rate
    }

    fn roll(&self, what: &str, platform: Platform, n: u64) -> f64 {
        unit(
            Hash::new(self.seed)
                .str(what)
                .str(platform.name())
                .num(n)
                .get(),
        )
    }
}

/// The injected 500: HTML, not the platform's JSON, like a failing proxy.
pub(crate) fn internal_error() -> Response {
    (
        StatusCode::INTERNAL_SERVER_ERROR,
        [(header::CONTENT_TYPE, "text/html; charset=utf-8")],
        INTERNAL_ERROR_HTML,
    )
        .into_response()
}

/// Cuts the body of a 200 in half (still labelled JSON), so it cannot parse.
pub(crate) async fn truncate(resp: Response) -> Response {
    if resp.status() != StatusCode::OK {
        return resp;
    }
    let (mut parts, body) = resp.into_parts();
    let bytes = match to_bytes(body, MAX_BODY).await {
        Ok(b) => b,
        Err(_) => return internal_error(),
    };
    let cut = bytes.slice(..bytes.len() / 2);
    parts.headers.remove(header::CONTENT_LENGTH);
    if let Ok(len) = HeaderValue::from_str(&cut.len().to_string()) {
        parts.headers.insert(header::CONTENT_LENGTH, len);
    }
    Response::from_parts(parts, Body::from(cut))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn faults(error_rate: f64) -> Faults {
        Faults::new(
            7,
            FaultOptions {
                error_rate,
                burst_429_every: 3,
                ..FaultOptions::default()
            },
        )
    }

    #[test]
    fn rates_are_deterministic_and_roughly_right() {
        let a: Vec<bool> = (1..=1000)
            .map(|n| faults(0.25).internal_error(Platform::Mastodon, n))
            .collect();
        let b: Vec<bool> = (1..=1000)
            .map(|n| faults(0.25).internal_error(Platform::Mastodon, n))
            .collect();
        assert_eq!(a, b);
        let hits = a.iter().filter(|&&x| x).count();
        assert!((180..320).contains(&hits), "{hits}");
        assert!((1..=100).all(|n| !faults(0.0).internal_error(Platform::Bluesky, n)));
        assert!((1..=100).all(|n| faults(1.0).internal_error(Platform::Bluesky, n)));
    }

    #[test]
    fn burst_every_third() {
        let f = faults(0.0);
        let hits: Vec<u64> = (1..=9).filter(|&n| f.burst_429(n)).collect();
        assert_eq!(hits, [3, 6, 9]);
    }
}
