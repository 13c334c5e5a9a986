//! Bluesky XRPC shapes, cursor pagination with reposts, and errors.

use std::collections::HashSet;

use serde_json::Value;
use tally_sandbox::data;

use crate::{get, roomy, start, SameDay};

#[tokio::test]
async fn profile_has_the_documented_shape_and_headers() {
    let sb = start(roomy()).await;
    let base = sb.base_url("bluesky");
    let day = SameDay::start();
    let a = get(&format!(
        "{base}/app.bsky.actor.getProfile?actor=tally.bsky.social"
    ))
    .await;
    assert_eq!(a.status, 200);
    assert_eq!(a.header("ratelimit-limit"), Some("3000"));
    assert_eq!(a.header("ratelimit-remaining"), Some("2999"));
    assert_eq!(a.header("ratelimit-policy"), Some("3000;w=300"));
    let reset: i64 = a
        .header("ratelimit-reset")
        .and_then(|r| r.parse().ok())
        .expect("epoch seconds");
    assert!(reset >= chrono::Utc::now().timestamp());
    let p = a.json();
    assert_eq!(p["did"], data::bluesky_did("tally.bsky.social").as_str());
    assert!(p["did"]
        .as_str()
        .unwrap_or_default()
        .starts_with("did:plc:"));
    assert_eq!(p["handle"], "tally.bsky.social");
    for field in ["displayName", "createdAt", "indexedAt"] {
        assert!(p[field].is_string(), "{field}");
    }
    for field in ["followersCount", "followsCount", "postsCount"] {
        assert!(p[field].is_u64(), "{field}");
    }
    if let Some(now) = day.now() {
        let expected = data::bluesky_profile(42, "tally.bsky.social", now).expect("exists");
        assert_eq!(p["followersCount"], expected.followers);
        assert_eq!(p["postsCount"], expected.posts.len());
    }
    // The DID it handed out now resolves too.
    let did = p["did"].as_str().expect("did");
    let by_did = get(&format!("{base}/app.bsky.actor.getProfile?actor={did}")).await;
    assert_eq!(by_did.status, 200);
    assert_eq!(by_did.json()["handle"], "tally.bsky.social");

    let many = get(&format!(
        "{base}/app.bsky.actor.getProfiles?actors=a.test&actors=missing.test&actors=b.test"
    ))
    .await
    .json();
    assert_eq!(many["profiles"].as_array().map(Vec::len), Some(2));
}

#[tokio::test]
async fn author_feed_pages_to_the_end_with_reposts_to_skip() {
    let sb = start(roomy()).await;
    let base = sb.base_url("bluesky");
    let profile = get(&format!(
        "{base}/app.bsky.actor.getProfile?actor=pager.test"
    ))
    .await
    .json();
    let did = profile["did"].as_str().expect("did").to_string();
    let posts_count = profile["postsCount"].as_u64().expect("count") as usize;

    let mut cursor: Option<String> = None;
    let mut own = Vec::new();
    let mut reposts = 0;
    let mut uris = HashSet::new();
    let mut pages = 0;
    loop {
        let mut url = format!("{base}/app.bsky.feed.getAuthorFeed?actor=pager.test&limit=9");
        if let Some(c) = &cursor {
            url.push_str(&format!("&cursor={c}"));
        }
        let body = get(&url).await.json();
        let feed = body["feed"].as_array().expect("feed");
        assert!(feed.len() <= 9);
        for entry in feed {
            let post = &entry["post"];
            for field in ["uri", "cid", "indexedAt"] {
                assert!(post[field].is_string(), "{field}");
            }
            for field in ["replyCount", "repostCount", "likeCount", "quoteCount"] {
                assert!(post[field].is_u64(), "{field}");
            }
            assert_eq!(post["record"]["$type"], "app.bsky.feed.post");
            assert!(post["record"]["text"].is_string());
            assert!(post["record"]["createdAt"].is_string());
            match entry.get("reason") {
                Some(reason) => {
                    assert_eq!(reason["$type"], "app.bsky.feed.defs#reasonRepost");
                    assert_eq!(reason["by"]["did"], did.as_str());
                    assert_ne!(post["author"]["did"], did.as_str());
                    assert!(reason["uri"]
                        .as_str()
                        .unwrap_or_default()
                        .contains("app.bsky.feed.repost"));
                    reposts += 1;
                    assert!(uris.insert(reason["uri"].as_str().unwrap_or_default().to_string()));
                }
                None => {
                    assert_eq!(post["author"]["did"], did.as_str());
                    assert_eq!(post["author"]["handle"], "pager.test");
                    let uri = post["uri"].as_str().expect("uri");
                    assert!(uri.starts_with(&format!("at://{did}/app.bsky.feed.post/")));
                    assert!(uris.insert(uri.to_string()), "duplicate {uri}");
                    own.push(post.clone());
                }
            }
        }
        pages += 1;
        assert!(pages < 30, "pagination does not end");
        match body.get("cursor").and_then(Value::as_str) {
            Some(c) => cursor = Some(c.to_string()),
            None => break,
        }
    }
    assert_eq!(own.len(), posts_count, "own posts == postsCount");
    assert!(reposts > 0, "the feed has reposts to skip");
}

#[tokio::test]
async fn errors_missing_and_empty() {
    let sb = start(roomy()).await;
    let base = sb.base_url("bluesky");
    let invalid = [
        format!("{base}/app.bsky.actor.getProfile?actor=missing.test"),
        format!("{base}/app.bsky.actor.getProfile?actor=did:plc:neverhandedout"),
        format!("{base}/app.bsky.actor.getProfile"),
        format!("{base}/app.bsky.actor.getProfile?actor=not_a_handle"),
        format!("{base}/app.bsky.feed.getAuthorFeed?actor=missing.test"),
        format!("{base}/app.bsky.feed.getAuthorFeed?actor=a.test&limit=0"),
        format!("{base}/app.bsky.feed.getAuthorFeed?actor=a.test&limit=101"),
        format!("{base}/app.bsky.feed.getAuthorFeed?actor=a.test&limit=ten"),
        format!("{base}/app.bsky.feed.getAuthorFeed?actor=a.test&cursor=garbage"),
    ];
    for url in invalid {
        let a = get(&url).await;
        assert_eq!(a.status, 400, "{url}");
        let body = a.json();
        assert_eq!(body["error"], "InvalidRequest", "{url}");
        assert!(body["message"].is_string());
    }
    let a = get(&format!(
        "{base}/app.bsky.actor.getProfile?actor=missing.test"
    ))
    .await;
    assert_eq!(
        a.json(),
        serde_json::json!({"error":"InvalidRequest","message":"Profile not found"})
    );
    let a = get(&format!("{base}/app.bsky.feed.getTimeline")).await;
    assert_eq!(a.status, 501);
    assert_eq!(a.json()["error"], "MethodNotImplemented");

    let p = get(&format!(
        "{base}/app.bsky.actor.getProfile?actor=empty.test"
    ))
    .await
    .json();
    assert_eq!(p["postsCount"], 0);
    let feed = get(&format!(
        "{base}/app.bsky.feed.getAuthorFeed?actor=empty.test"
    ))
    .await
    .json();
    assert_eq!(feed, serde_json::json!({"feed": []}));
}
