//! End-to-end tests: a real sandbox on 127.0.0.1:0 driven with reqwest.
//! Small limits keep them fast; nothing but loopback is contacted.

mod bluesky;
mod eventbrite;
mod faults;
mod lifecycle;
mod limits;
mod mastodon;
mod meta;
mod surveymonkey;
mod x;
mod yelp;
mod youtube;

use chrono::{DateTime, Utc};
use reqwest::header::HeaderMap;
use reqwest::StatusCode;
use serde_json::Value;
use tally_sandbox::{Limit, PlatformLimits, Sandbox, SandboxOptions};

/// Limits loose enough that shape tests never hit them.
pub(crate) fn roomy() -> SandboxOptions {
    SandboxOptions {
        limits: PlatformLimits {
            youtube: Limit::new(10_000, 1),
            ..PlatformLimits::default()
        },
        ..SandboxOptions::default()
    }
}

pub(crate) async fn start(opts: SandboxOptions) -> Sandbox {
    Sandbox::start("127.0.0.1:0".parse().expect("addr"), opts)
        .await
        .expect("sandbox starts")
}

/// A client that never uses an environment proxy: loopback only.
pub(crate) fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .no_proxy()
        .build()
        .expect("client")
}

/// A response read to the end.
#[derive(Debug)]
pub(crate) struct Answer {
    pub(crate) status: StatusCode,
    pub(crate) headers: HeaderMap,
    pub(crate) text: String,
}

impl Answer {
    pub(crate) fn json(&self) -> Value {
        serde_json::from_str(&self.text).unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.text))
    }

    pub(crate) fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }
}

pub(crate) async fn get(url: &str) -> Answer {
    send(client().get(url)).await
}

pub(crate) async fn send(req: reqwest::RequestBuilder) -> Answer {
    let resp = req.send().await.expect("request");
    Answer {
        status: resp.status(),
        headers: resp.headers().clone(),
        text: resp.text().await.expect("body"),
    }
}

/// Runs `f(now)` with the instant just before a request, and returns its
/// result only if the UTC day did not change during the request (the data
/// is per day; a test straddling midnight skips its comparison).
pub(crate) struct SameDay(DateTime<Utc>);

impl SameDay {
    pub(crate) fn start() -> SameDay {
        SameDay(Utc::now())
    }

    pub(crate) fn now(&self) -> Option<DateTime<Utc>> {
        (self.0.date_naive() == Utc::now().date_naive()).then_some(self.0)
    }
}

/// A JSON string field parsed as a number (YouTube's counts).
pub(crate) fn count(v: &Value) -> u64 {
    v.as_str()
        .unwrap_or_else(|| panic!("expected a string count, got {v}"))
        .parse()
        .expect("numeric string")
}
