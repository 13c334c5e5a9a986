//! The Bluesky manifest (`builtin/bluesky.connector.toml`) does what the Rust
//! plugin in `plugins/examples/bluesky` does: the same requests, the same
//! points, the same errors, and the conformance kit.

use async_trait::async_trait;
use serde_json::json;
use std::sync::Arc;
use tally_bluesky::Bluesky;
use tally_host::http::Credential;
use tally_manifest::ManifestConnector;
use tally_model::{Connector, ConnectorError, Point};
use tally_sandbox::{Sandbox, SandboxOptions};
use tally_testkit::conformance::{run_conformance, Fixtures};
use tally_testkit::{pull, Source};
use wiremock::matchers::{method, path, query_param, query_param_is_missing};
use wiremock::{Mock, MockServer, ResponseTemplate};

const DID: &str = "did:plc:alice";

fn manifest() -> ManifestConnector {
    tally_manifest::builtin("bluesky_manifest").expect("the built-in Bluesky manifest compiles")
}

fn profile(posts: u64) -> serde_json::Value {
    json!({"did": DID, "handle": "alice.test", "displayName": "  Alice  ",
           "followersCount": 120, "followsCount": 80, "postsCount": posts})
}

fn post(rkey: &str, author: &str, likes: u64) -> serde_json::Value {
    json!({"uri": format!("at://{author}/app.bsky.feed.post/{rkey}"), "cid": format!("c{rkey}"),
           "author": {"did": author, "handle": "x.test"},
           "record": {"text": format!("\n post {rkey} {}\nsecond line", "x".repeat(90)), "createdAt": "2026-05-01T00:00:00.000Z"},
           "likeCount": likes, "repostCount": 1, "replyCount": 2, "quoteCount": 0,
           "indexedAt": "2026-05-01T00:00:00.000Z"})
}

/// Alice's profile and two feed pages: three own posts, a repost of Bob's
/// post, a post repeated across pages and one without counts.
async fn mount_alice(server: &MockServer, posts: u64, expect: bool) {
    Mock::given(method("GET"))
        .and(path("/xrpc/app.bsky.actor.getProfile"))
        .and(query_param("actor", "alice.test"))
        .respond_with(ResponseTemplate::new(200).set_body_json(profile(posts)))
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
    let mut repost = json!({"post": post("b1", "did:plc:bob", 999)});
    repost["reason"] = json!({"$type": "app.bsky.feed.defs#reasonRepost", "by": {"did": DID}});
    let bare = json!({"post": {"uri": format!("at://{DID}/app.bsky.feed.post/a0"), "author": {"did": DID}, "record": {}}});
    let first = Mock::given(method("GET"))
        .and(path("/xrpc/app.bsky.feed.getAuthorFeed"))
        .and(query_param("actor", DID))
        .and(query_param("limit", "100"))
        .and(query_param_is_missing("cursor"))
        .respond_with(ResponseTemplate::new(200).set_body_json(
            json!({"cursor": "p2::x", "feed": [{"post": post("a3", DID, 30)}, repost, {"post": post("a2", DID, 20)}]}),
        ));
    let second = Mock::given(method("GET"))
        .and(path("/xrpc/app.bsky.feed.getAuthorFeed"))
        .and(query_param("cursor", "p2::x"))
        .respond_with(ResponseTemplate::new(200).set_body_json(
            json!({"feed": [{"post": post("a2", DID, 20)}, {"post": post("a1", DID, 10)}, bare]}),
        ));
    if expect {
        first.expect(1).mount(server).await;
        second.expect(1).mount(server).await;
    } else {
        first.mount(server).await;
        second.mount(server).await;
    }
}

async fn both(
    server: &MockServer,
    settings: serde_json::Value,
) -> (Vec<Point>, Vec<Point>, usize, usize) {
    let base = format!("{}/xrpc", server.uri());
    let source = Source::new(&base, settings);
    let mut out = Vec::new();
    let mut requests = Vec::new();
    for connector in [
        Arc::new(Bluesky) as Arc<dyn Connector>,
        Arc::new(manifest()),
    ] {
        let before = server.received_requests().await.unwrap().len();
        let http = tally_testkit::host_for(&base, &connector.describe(), Credential::None);
        out.push(
            pull(connector.as_ref(), &http, &source)
                .await
                .unwrap()
                .points
                .into_vec(),
        );
        requests.push(server.received_requests().await.unwrap().len() - before);
    }
    let manifest_points = out.pop().unwrap();
    (
        out.pop().unwrap(),
        manifest_points,
        requests[0],
        requests[1],
    )
}

#[tokio::test]
async fn the_manifest_emits_the_plugins_points_point_for_point() {
    let server = MockServer::start().await;
    mount_alice(&server, 4, false).await;
    for settings in [
        json!({"actor": "@alice.test"}),
        json!({"actor": "alice.test", "max_posts": 2}),
        json!({"actor": "alice.test", "max_posts": 0}),
    ] {
        let (plugin, manifest, plugin_requests, manifest_requests) =
            both(&server, settings.clone()).await;
        assert!(!plugin.is_empty());
        // Same points in the same order: metric, entity (kind, id, name), value,
        // unit, kind, time, dimensions and raw name.
        assert_eq!(plugin, manifest, "settings {settings}");
        assert_eq!(plugin_requests, manifest_requests, "settings {settings}");
    }
}

#[tokio::test]
async fn a_profile_without_posts_reads_no_feed_in_either() {
    let server = MockServer::start().await;
    mount_alice(&server, 0, false).await;
    let (plugin, manifest, plugin_requests, manifest_requests) =
        both(&server, json!({"actor": "alice.test"})).await;
    assert_eq!(plugin, manifest);
    assert_eq!((plugin_requests, manifest_requests), (1, 1));
}

#[tokio::test]
async fn the_manifest_matches_the_plugin_on_the_sandbox_across_many_pages() {
    let sandbox = Sandbox::start("127.0.0.1:0".parse().unwrap(), SandboxOptions::default())
        .await
        .unwrap();
    let base = sandbox.base_url("bluesky");
    for actor in [
        tally_sandbox::SAMPLE_BLUESKY_ACTOR.to_string(),
        format!("{}250.test", tally_sandbox::data::BLUESKY_BULK_PREFIX),
    ] {
        let source = Source::new(&base, json!({"actor": actor, "max_posts": 1000}));
        let mut got = Vec::new();
        for connector in [
            Arc::new(Bluesky) as Arc<dyn Connector>,
            Arc::new(manifest()),
        ] {
            let http = tally_testkit::host_for(&base, &connector.describe(), Credential::None);
            got.push(
                pull(connector.as_ref(), &http, &source)
                    .await
                    .unwrap()
                    .points,
            );
        }
        assert!(got[0].len() > 3, "{actor}: the plugin read posts");
        assert_eq!(got[0], got[1], "{actor}");
    }
    sandbox.shutdown().await;
}

#[tokio::test]
async fn errors_and_check_say_what_the_plugin_says() {
    let server = MockServer::start().await;
    mount_alice(&server, 4, false).await;
    let base = format!("{}/xrpc", server.uri());
    let m = manifest();
    let http = tally_testkit::host_for(&base, &m.describe(), Credential::None);
    let e = pull(
        &m,
        &http,
        &Source::new(&base, json!({"actor": "missing.test"})),
    )
    .await
    .unwrap_err();
    assert!(matches!(e, ConnectorError::NotFound(_)), "{e}");
    assert_eq!(
        e.to_string(),
        "not found: /xrpc/app.bsky.actor.getProfile: Bluesky account `missing.test` does not exist or is deactivated (Profile not found); check `actor` in the source's settings"
    );
    let e = pull(
        &m,
        &http,
        &Source::new(&base, json!({"actor": "alice.test", "max_posts": "many"})),
    )
    .await
    .unwrap_err();
    assert_eq!(
        e.to_string(),
        "invalid settings: `max_posts` must be an integer"
    );
    let e = pull(&m, &http, &Source::new(&base, json!({"max_posts": 3})))
        .await
        .unwrap_err();
    assert_eq!(
        e.to_string(),
        "invalid settings: missing required setting `actor`"
    );
    let e = pull(
        &m,
        &http,
        &Source::new(&base, json!({"actor": "alice.test", "handle": "x"})),
    )
    .await
    .unwrap_err();
    assert_eq!(e.to_string(), "invalid settings: unknown setting `handle` for connector `bluesky_manifest`; it takes: actor, max_posts");
    let said = m
        .check(&Source::new(&base, json!({"actor": "alice.test"})).context(&http))
        .await
        .unwrap();
    let plugin_said = Bluesky
        .check(&Source::new(&base, json!({"actor": "alice.test"})).context(&http))
        .await
        .unwrap();
    assert_eq!(said, plugin_said);
}

#[test]
fn the_description_is_the_plugins_but_for_name_and_summary() {
    let mut plugin = Bluesky.describe();
    let manifest = manifest().describe();
    assert_eq!(manifest.name, "bluesky_manifest");
    plugin.name = manifest.name.clone();
    plugin.summary = manifest.summary.clone();
    // Setting descriptions are word for word; the manifest's default is written the same way.
    assert_eq!(plugin, manifest);
}

struct BlueskyFixtures;

#[async_trait]
impl Fixtures for BlueskyFixtures {
    async fn mount_happy(&self, server: &MockServer) {
        mount_alice(server, 4, true).await;
    }

    async fn mount_empty(&self, server: &MockServer) {
        mount_alice(server, 0, false).await;
    }

    fn happy_records(&self) -> usize {
        // a3, a2 and a1: the post without counts gives no points.
        3
    }

    fn settings(&self) -> serde_json::Value {
        json!({"actor": "alice.test"})
    }

    fn base_url(&self, server: &MockServer) -> String {
        format!("{}/xrpc", server.uri())
    }
}

#[tokio::test]
async fn the_bluesky_manifest_passes_the_conformance_kit() {
    run_conformance(Arc::new(manifest()), &BlueskyFixtures).await;
}
