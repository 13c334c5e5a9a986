//! Token buckets: headers count down, 429s carry Retry-After, credentials
//! have their own buckets, and a paced client is never throttled.

use std::time::Duration;

use tally_sandbox::{Limit, PlatformLimits, SandboxOptions};

use crate::{client, get, send, start};

fn small(limit: Limit) -> SandboxOptions {
    SandboxOptions {
        limits: PlatformLimits {
            mastodon: limit,
            bluesky: limit,
            ..PlatformLimits::default()
        },
        ..SandboxOptions::default()
    }
}

#[tokio::test]
async fn mastodon_headers_count_down_then_429_with_retry_after() {
    let sb = start(small(Limit::new(3, 60))).await;
    let url = format!(
        "{}/api/v1/accounts/lookup?acct=alice",
        sb.base_url("mastodon")
    );
    let mut remaining = Vec::new();
    for _ in 0..3 {
        let a = get(&url).await;
        assert_eq!(a.status, 200);
        assert_eq!(a.header("x-ratelimit-limit"), Some("3"));
        remaining.push(
            a.header("x-ratelimit-remaining")
                .unwrap_or_default()
                .to_string(),
        );
    }
    assert_eq!(remaining, ["2", "1", "0"]);
    let a = get(&url).await;
    assert_eq!(a.status, 429);
    assert_eq!(a.json(), serde_json::json!({"error": "Too many requests"}));
    let retry: u64 = a
        .header("retry-after")
        .and_then(|r| r.parse().ok())
        .expect("Retry-After seconds");
    // One token per 20 s; a few ms have passed since the bucket emptied.
    assert!((19..=20).contains(&retry), "{retry}");
    assert_eq!(a.header("x-ratelimit-remaining"), Some("0"));
    let reset = a.header("x-ratelimit-reset").unwrap_or_default();
    let reset = chrono::DateTime::parse_from_rfc3339(reset).expect("ISO reset");
    let full_in = reset.with_timezone(&chrono::Utc) - chrono::Utc::now();
    assert!(full_in > chrono::Duration::seconds(50), "{full_in}");

    // Another bearer token is another account: its own bucket.
    let other = send(client().get(&url).bearer_auth("someone-else")).await;
    assert_eq!(other.status, 200);
    assert_eq!(other.header("x-ratelimit-remaining"), Some("2"));

    let stats = sb.stats();
    assert_eq!(stats.per_platform["mastodon"].throttled, 1);
    assert_eq!(stats.per_platform["mastodon"].requests, 5);
}

#[tokio::test]
async fn bluesky_429_has_retry_after_and_xrpc_body() {
    let sb = start(small(Limit::new(2, 10))).await;
    let url = format!(
        "{}/app.bsky.actor.getProfile?actor=a.test",
        sb.base_url("bluesky")
    );
    let first = get(&url).await;
    assert_eq!(first.header("ratelimit-policy"), Some("2;w=10"));
    assert_eq!(first.header("ratelimit-remaining"), Some("1"));
    assert_eq!(get(&url).await.header("ratelimit-remaining"), Some("0"));
    let a = get(&url).await;
    assert_eq!(a.status, 429);
    assert_eq!(
        a.json(),
        serde_json::json!({"error":"RateLimitExceeded","message":"Rate Limit Exceeded"})
    );
    assert_eq!(a.header("retry-after"), Some("5"));
    assert_eq!(a.header("ratelimit-remaining"), Some("0"));
    let reset: i64 = a
        .header("ratelimit-reset")
        .and_then(|r| r.parse().ok())
        .expect("epoch seconds");
    let now = chrono::Utc::now().timestamp();
    assert!((now + 9..=now + 11).contains(&reset), "{reset} vs {now}");
}

#[tokio::test]
async fn a_client_paced_at_the_rate_is_never_throttled() {
    // 20 per second: one token every 50 ms. Burst the capacity, then pace.
    let sb = start(small(Limit::new(20, 1))).await;
    let url = format!(
        "{}/app.bsky.actor.getProfile?actor=a.test",
        sb.base_url("bluesky")
    );
    let c = client();
    for _ in 0..20 {
        assert_eq!(send(c.get(&url)).await.status, 200);
    }
    let period = Duration::from_millis(55);
    let mut tick = tokio::time::interval_at(tokio::time::Instant::now() + period, period);
    for _ in 0..10 {
        tick.tick().await;
        assert_eq!(send(c.get(&url)).await.status, 200);
    }
    assert_eq!(sb.stats().throttled, 0);
}

#[tokio::test]
async fn unlimited_sends_no_usage_headers() {
    let sb = start(small(Limit::UNLIMITED)).await;
    let a = get(&format!(
        "{}/api/v1/accounts/lookup?acct=alice",
        sb.base_url("mastodon")
    ))
    .await;
    assert_eq!(a.status, 200);
    assert!(a.header("x-ratelimit-limit").is_none());
}

#[tokio::test]
async fn usage_headers_can_be_withheld_but_429s_keep_retry_after() {
    let mut opts = small(Limit::new(1, 60));
    opts.limits.usage_headers = false;
    let sb = start(opts).await;
    let url = format!(
        "{}/api/v1/accounts/lookup?acct=alice",
        sb.base_url("mastodon")
    );
    let ok = get(&url).await;
    assert_eq!(ok.status, 200);
    assert!(ok.header("x-ratelimit-remaining").is_none());
    let refused = get(&url).await;
    assert_eq!(refused.status, 429);
    assert!(refused.header("x-ratelimit-reset").is_none());
    assert!(refused.header("retry-after").is_some());
}

#[tokio::test]
async fn arrivals_are_recorded_per_platform_when_asked() {
    let mut opts = small(Limit::new(100, 1));
    opts.record_arrivals = true;
    let sb = start(opts).await;
    let masto = format!(
        "{}/api/v1/accounts/lookup?acct=alice",
        sb.base_url("mastodon")
    );
    for _ in 0..3 {
        get(&masto).await;
    }
    let arrivals = sb.arrivals("mastodon");
    assert_eq!(arrivals.len(), 3);
    assert!(arrivals.windows(2).all(|w| w[0] <= w[1]));
    assert!(sb.arrivals("bluesky").is_empty());
    assert!(sb.arrivals("myspace").is_empty());

    let quiet = start(small(Limit::new(100, 1))).await;
    get(&format!(
        "{}/api/v1/accounts/lookup?acct=alice",
        quiet.base_url("mastodon")
    ))
    .await;
    assert!(quiet.arrivals("mastodon").is_empty(), "recorded unasked");
}

#[tokio::test]
async fn bluesky_states_the_window_rate_and_the_bucket_separately() {
    let sb = start(small(Limit {
        burst: 2,
        ..Limit::new(10, 1)
    }))
    .await;
    let url = format!(
        "{}/app.bsky.actor.getProfile?actor=a.test",
        sb.base_url("bluesky")
    );
    let first = get(&url).await;
    assert_eq!(first.header("ratelimit-policy"), Some("10;w=1"));
    assert_eq!(first.header("ratelimit-limit"), Some("2"));
    assert_eq!(first.header("ratelimit-remaining"), Some("1"));
}
