//! Each fault option, and that fault decisions are reproducible.

use std::time::{Duration, Instant};

use tally_sandbox::{FaultOptions, SandboxOptions};

use crate::{get, roomy, start};

fn with(faults: FaultOptions) -> SandboxOptions {
    SandboxOptions { faults, ..roomy() }
}

#[tokio::test]
async fn error_rate_one_answers_html_500() {
    let sb = start(with(FaultOptions {
        error_rate: 1.0,
        ..FaultOptions::default()
    }))
    .await;
    let a = get(&format!(
        "{}/app.bsky.actor.getProfile?actor=a.test",
        sb.base_url("bluesky")
    ))
    .await;
    assert_eq!(a.status, 500);
    assert!(a
        .header("content-type")
        .unwrap_or_default()
        .starts_with("text/html"));
    assert_eq!(
        a.text,
        "<html><body><h1>500 Internal Server Error</h1></body></html>"
    );
}

#[tokio::test]
async fn error_rate_is_partial_and_reproducible() {
    async fn pattern() -> Vec<u16> {
        let sb = start(with(FaultOptions {
            error_rate: 0.5,
            ..FaultOptions::default()
        }))
        .await;
        let url = format!(
            "{}/api/v1/accounts/lookup?acct=alice",
            sb.base_url("mastodon")
        );
        let mut out = Vec::new();
        for _ in 0..40 {
            out.push(get(&url).await.status.as_u16());
        }
        out
    }
    let a = pattern().await;
    let b = pattern().await;
    assert_eq!(a, b, "same seed, same failures");
    let errors = a.iter().filter(|&&s| s == 500).count();
    assert!((5..=35).contains(&errors), "{errors} of 40");
    assert!(a.iter().all(|&s| s == 200 || s == 500));
}

#[tokio::test]
async fn malformed_rate_truncates_the_json() {
    let clean = start(roomy()).await;
    let broken = start(with(FaultOptions {
        malformed_rate: 1.0,
        ..FaultOptions::default()
    }))
    .await;
    // A remote acct: its URLs do not depend on the sandbox port.
    let path = "/api/v1/accounts/lookup?acct=alice@example.org";
    let good = get(&format!("{}{path}", clean.base_url("mastodon"))).await;
    let bad = get(&format!("{}{path}", broken.base_url("mastodon"))).await;
    assert_eq!(bad.status, 200);
    assert!(serde_json::from_str::<serde_json::Value>(&bad.text).is_err());
    assert_eq!(bad.text.len(), good.text.len() / 2);
    assert!(good.text.starts_with(&bad.text));
    // Errors are not truncated: only 200s are.
    let missing = get(&format!(
        "{}/api/v1/accounts/lookup?acct=missing",
        broken.base_url("mastodon")
    ))
    .await;
    assert_eq!(missing.status, 404);
    assert!(serde_json::from_str::<serde_json::Value>(&missing.text).is_ok());
}

#[tokio::test]
async fn latency_is_added() {
    let sb = start(with(FaultOptions {
        latency_ms: 120,
        ..FaultOptions::default()
    }))
    .await;
    let url = format!("{}/channels?part=id&id=UCx&key=k", sb.base_url("youtube"));
    let t = Instant::now();
    assert_eq!(get(&url).await.status, 200);
    assert!(t.elapsed() >= Duration::from_millis(120));
}

#[tokio::test]
async fn every_nth_request_is_a_429_whatever_the_budget() {
    let sb = start(with(FaultOptions {
        burst_429_every: 3,
        ..FaultOptions::default()
    }))
    .await;
    let url = format!(
        "{}/api/v1/accounts/lookup?acct=alice",
        sb.base_url("mastodon")
    );
    let mut statuses = Vec::new();
    for _ in 0..6 {
        let a = get(&url).await;
        if a.status == 429 {
            assert_eq!(a.header("retry-after"), Some("1"));
            assert!(a.header("x-ratelimit-limit").is_some());
            assert_eq!(a.json()["error"], "Too many requests");
        }
        statuses.push(a.status.as_u16());
    }
    assert_eq!(statuses, [200, 200, 429, 200, 200, 429]);
    // The counter is per platform: YouTube's first request is not a 429.
    let yt = get(&format!(
        "{}/channels?part=id&id=UCx&key=k",
        sb.base_url("youtube")
    ))
    .await;
    assert_eq!(yt.status, 200);
    let stats = sb.stats();
    assert_eq!(stats.throttled, 2);
    assert_eq!(stats.per_platform["mastodon"].throttled, 2);
    assert_eq!(stats.per_platform["youtube"].throttled, 0);
}
