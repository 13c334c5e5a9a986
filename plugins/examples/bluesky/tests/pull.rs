//! The Bluesky connector linked statically, against a mock AppView, through the
//! real host HTTP client. (`core/host/tests/plugins.rs` pulls the same crate as
//! a loaded plugin from the sandbox.)

#![allow(clippy::unwrap_used)]

mod fuzz_body;
mod properties;

use serde_json::json;
use tally_bluesky::Bluesky;
use tally_host::http::Credential;
use tally_model::{Connector, ConnectorError};
use tally_testkit::{pull, Source};
use wiremock::matchers::{method, path, query_param, query_param_is_missing};
use wiremock::{Mock, MockServer, ResponseTemplate};

const DID: &str = "did:plc:alice";

fn profile() -> serde_json::Value {
    json!({"did": DID, "handle": "alice.test", "displayName": "Alice",
           "followersCount": 120, "followsCount": 80, "postsCount": 3})
}

fn post(rkey: &str, author: &str, likes: u64) -> serde_json::Value {
    json!({"uri": format!("at://{author}/app.bsky.feed.post/{rkey}"), "cid": format!("c{rkey}"),
           "author": {"did": author, "handle": "x.test"},
           "record": {"text": format!("post {rkey}"), "createdAt": "2026-05-01T00:00:00.000Z"},
           "likeCount": likes, "repostCount": 1, "replyCount": 2, "quoteCount": 0,
           "indexedAt": "2026-05-01T00:00:00.000Z"})
}

async fn server() -> MockServer {
    let server = MockServer::start().await;
    mount_alice(&server).await;
    server
}

/// Alice's profile and two feed pages (three own posts, one repost to skip),
/// plus a missing actor.
async fn mount_alice(server: &MockServer) {
    Mock::given(method("GET"))
        .and(path("/xrpc/app.bsky.actor.getProfile"))
        .and(query_param("actor", "alice.test"))
        .respond_with(ResponseTemplate::new(200).set_body_json(profile()))
        .mount(server)
        .await;
    Mock::given(method("GET"))
        .and(path("/xrpc/app.bsky.actor.getProfile"))
        .and(query_param("actor", "missing.test"))
        .respond_with(
            ResponseTemplate::new(400)
                .set_body_json(json!({"error": "InvalidRequest", "message": "Profile not found"})),
        )
        .mount(server)
        .await;
    let repost = {
        let mut r = json!({"post": post("b1", "did:plc:bob", 999)});
        r["reason"] = json!({"$type": "app.bsky.feed.defs#reasonRepost", "by": {"did": DID, "handle": "alice.test"}});
        r
    };
    Mock::given(method("GET"))
        .and(path("/xrpc/app.bsky.feed.getAuthorFeed"))
        .and(query_param("actor", DID))
        .and(query_param("limit", "100"))
        .and(query_param_is_missing("cursor"))
        .respond_with(ResponseTemplate::new(200).set_body_json(
            json!({"cursor": "p2::x", "feed": [{"post": post("a3", DID, 30)}, repost, {"post": post("a2", DID, 20)}]}),
        ))
        .mount(server)
        .await;
    Mock::given(method("GET"))
        .and(path("/xrpc/app.bsky.feed.getAuthorFeed"))
        .and(query_param("cursor", "p2::x"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(json!({"feed": [{"post": post("a1", DID, 10)}]})),
        )
        .mount(server)
        .await;
}

fn source(server: &MockServer, actor: &str) -> Source {
    Source::new(format!("{}/xrpc", server.uri()), json!({ "actor": actor }))
}

#[tokio::test]
async fn pulls_profile_and_own_posts_across_pages_skipping_reposts() {
    let server = server().await;
    let http = tally_testkit::host_for(
        &format!("{}/xrpc", server.uri()),
        &Bluesky.describe(),
        Credential::None,
    );
    let buffer = pull(&Bluesky, &http, &source(&server, "@alice.test"))
        .await
        .unwrap();
    let likes: Vec<(String, f64)> = buffer
        .points
        .iter()
        .filter(|p| p.metric == "engagement.likes")
        .map(|p| (p.entity.id.rsplit('/').next().unwrap().to_string(), p.value))
        .collect();
    assert_eq!(
        likes,
        vec![
            ("a3".into(), 30.0),
            ("a2".into(), 20.0),
            ("a1".into(), 10.0)
        ]
    );
    // 3 account points + 3 posts × 4 engagement points.
    assert_eq!(buffer.points.len(), 3 + 3 * 4);
    assert_eq!(buffer.points[0].metric, "audience.followers");
    assert_eq!(buffer.points[0].value, 120.0);
    // One profile call and two feed pages, nothing more.
    assert_eq!(server.received_requests().await.unwrap().len(), 3);
}

#[tokio::test]
async fn max_posts_stops_early_and_zero_skips_the_feed() {
    let server = server().await;
    let http = tally_testkit::host_for(
        &format!("{}/xrpc", server.uri()),
        &Bluesky.describe(),
        Credential::None,
    );
    let mut src = source(&server, "alice.test");
    src.settings = json!({"actor": "alice.test", "max_posts": 2});
    let buffer = pull(&Bluesky, &http, &src).await.unwrap();
    assert_eq!(buffer.points.len(), 3 + 2 * 4);
    assert_eq!(
        server.received_requests().await.unwrap().len(),
        2,
        "the second page is not needed"
    );
    src.settings = json!({"actor": "alice.test", "max_posts": 0});
    let buffer = pull(&Bluesky, &http, &src).await.unwrap();
    assert_eq!(buffer.points.len(), 3);
    assert_eq!(
        server.received_requests().await.unwrap().len(),
        3,
        "no feed call at all"
    );
}

#[tokio::test]
async fn unknown_actor_and_bad_settings_are_clear_errors() {
    let server = server().await;
    let http = tally_testkit::host_for(
        &format!("{}/xrpc", server.uri()),
        &Bluesky.describe(),
        Credential::None,
    );
    let e = pull(&Bluesky, &http, &source(&server, "missing.test"))
        .await
        .unwrap_err();
    assert!(matches!(e, ConnectorError::NotFound(_)), "{e}");
    let e = pull(&Bluesky, &http, &source(&server, "not a handle"))
        .await
        .unwrap_err();
    assert!(e.to_string().contains("neither a Bluesky handle"), "{e}");
    let check = tally_testkit::check(&Bluesky, &http, &source(&server, "alice.test"))
        .await
        .unwrap();
    assert_eq!(check, "@alice.test (120 followers, 3 posts)");
}

/// The Bluesky connector through Tally's conformance kit: the happy set is
/// Alice's two feed pages, the empty one a profile without posts.
mod conformance {
    use super::*;
    use async_trait::async_trait;
    use serde_json::Value;
    use std::sync::Arc;
    use tally_testkit::conformance::{run_conformance, Fixtures};

    struct BlueskyFixtures;

    #[async_trait]
    impl Fixtures for BlueskyFixtures {
        async fn mount_happy(&self, server: &MockServer) {
            mount_alice(server).await;
        }

        async fn mount_empty(&self, server: &MockServer) {
            let mut empty = profile();
            empty["postsCount"] = json!(0);
            Mock::given(path("/xrpc/app.bsky.actor.getProfile"))
                .respond_with(ResponseTemplate::new(200).set_body_json(empty))
                .mount(server)
                .await;
            Mock::given(path("/xrpc/app.bsky.feed.getAuthorFeed"))
                .respond_with(ResponseTemplate::new(200).set_body_json(json!({"feed": []})))
                .mount(server)
                .await;
        }

        fn happy_records(&self) -> usize {
            3
        }

        fn settings(&self) -> Value {
            json!({ "actor": "alice.test" })
        }

        fn base_url(&self, server: &MockServer) -> String {
            format!("{}/xrpc", server.uri())
        }
    }

    #[tokio::test]
    async fn conformance() {
        let report = run_conformance(Arc::new(Bluesky), &BlueskyFixtures).await;
        println!("{report}");
    }
}
