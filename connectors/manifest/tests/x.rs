//! The X manifest: the conformance kit on X's documented shapes
//! (`pagination_token` paging, either metric vocabulary), its requests held
//! to X's OpenAPI description, and the 200-with-errors answer.

use async_trait::async_trait;
use serde_json::json;
use tally_testkit::conformance::{run_conformance, Fixtures};
use tally_testkit::spec::openapi::OpenApi;
use tally_testkit::{bearer, pull_err, pull_ok, Credential};
use wiremock::matchers::{method, path, query_param, query_param_is_missing};
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::platforms::connector;

const ID: &str = "2244994945";

/// A post in the docs' vocabulary (`retweet_count`) or spec 2.167's.
fn post(id: &str, likes: u64, spec_names: bool) -> serde_json::Value {
    let reposts = if spec_names {
        "repost_count"
    } else {
        "retweet_count"
    };
    json!({"id": id, "text": format!("Post {id}\nsecond line"), "edit_history_tweet_ids": [id],
           "created_at": "2026-05-20T10:00:00.000Z",
           "public_metrics": {reposts: 3, "reply_count": 2, "like_count": likes, "quote_count": 1,
                              "bookmark_count": 4, "impression_count": 500}})
}

async fn mount_user(server: &MockServer, posts: bool) {
    Mock::given(method("GET"))
        .and(path("/2/users/by/username/XDevelopers"))
        .and(query_param("user.fields", "public_metrics,created_at"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"data": {
            "id": ID, "name": "X Developers", "username": "XDevelopers",
            "public_metrics": {"followers_count": 583423, "following_count": 2048, "tweet_count": 14052, "listed_count": 1672}}})))
        .mount(server)
        .await;
    let timeline = format!("/2/users/{ID}/tweets");
    if !posts {
        Mock::given(method("GET"))
            .and(path(&timeline))
            .respond_with(
                ResponseTemplate::new(200).set_body_json(json!({"meta": {"result_count": 0}})),
            )
            .mount(server)
            .await;
        return;
    }
    Mock::given(method("GET"))
        .and(path(&timeline))
        .and(query_param_is_missing("pagination_token"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "data": [post("1003", 30, false), post("1002", 20, true)],
            "meta": {"result_count": 2, "newest_id": "1003", "oldest_id": "1002", "next_token": "7140dibdnow9c7btw3w29grvxfcgvpb9n9coehpk7xz5i"}})))
        .expect(1)
        .mount(server)
        .await;
    Mock::given(method("GET"))
        .and(path(&timeline))
        .and(query_param(
            "pagination_token",
            "7140dibdnow9c7btw3w29grvxfcgvpb9n9coehpk7xz5i",
        ))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "data": [post("1001", 10, false)],
            "meta": {"result_count": 1, "newest_id": "1001", "oldest_id": "1001"}})))
        .expect(1)
        .mount(server)
        .await;
}

struct XFixtures;

#[async_trait]
impl Fixtures for XFixtures {
    async fn mount_happy(&self, server: &MockServer) {
        mount_user(server, true).await;
    }

    async fn mount_empty(&self, server: &MockServer) {
        mount_user(server, false).await;
    }

    fn happy_records(&self) -> usize {
        3
    }

    fn settings(&self) -> serde_json::Value {
        json!({"username": "@XDevelopers"})
    }

    fn credential(&self) -> Credential {
        bearer("x-app-bearer-token")
    }
}

#[tokio::test]
async fn the_x_manifest_passes_the_conformance_kit() {
    run_conformance(connector("x"), &XFixtures).await;
}

#[tokio::test]
async fn both_vocabularies_give_the_same_metrics_and_requests_follow_the_description() {
    let server = MockServer::start().await;
    mount_user(&server, true).await;
    let points = pull_ok(connector("x").as_ref(), &XFixtures, &server, json!({}))
        .await
        .points;
    let shares: Vec<(String, f64)> = points
        .iter()
        .filter(|p| p.metric == "engagement.shares" && p.dimensions.is_empty())
        .map(|p| (p.entity.id.to_string(), p.value))
        .collect();
    assert_eq!(shares.len(), 3, "{shares:?}");
    assert!(shares.iter().all(|(_, v)| *v == 3.0));
    let posts = points
        .iter()
        .find(|p| p.metric == "content.posts")
        .map(|p| p.value);
    assert_eq!(posts, Some(14052.0));

    // Every request the connector sent is one X's description allows. The
    // docs and the live API call the post fields `tweet.fields`; spec 2.167
    // renamed the parameter `post.fields` (see x.README.md), so the one name
    // is read as the other.
    let spec = OpenApi::load(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../core/testkit/specs/x/openapi.json"
    ))
    .unwrap();
    let requests = server.received_requests().await.unwrap_or_default();
    assert_eq!(requests.len(), 3);
    for r in requests {
        let query: Vec<(String, String)> = r
            .url
            .query_pairs()
            .map(|(k, v)| {
                (
                    if k == "tweet.fields" {
                        "post.fields".into()
                    } else {
                        k.into_owned()
                    },
                    v.into_owned(),
                )
            })
            .collect();
        if let Err(v) = spec.check_request("GET", r.url.path(), &query) {
            panic!("{} departs from X's description:\n{v}", r.url);
        }
    }
}

#[tokio::test]
async fn an_unknown_account_is_not_found_although_x_answers_200() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"errors": [{
            "value": "XDevelopers", "detail": "Could not find user with username: [XDevelopers].",
            "title": "Not Found Error", "resource_type": "user", "parameter": "username",
            "resource_id": "XDevelopers", "type": "https://api.twitter.com/2/problems/resource-not-found"}]})))
        .mount(&server)
        .await;
    let err = pull_err(connector("x").as_ref(), &XFixtures, &server, json!({})).await;
    assert!(
        err.to_string().contains("X has no account `@XDevelopers` (Could not find user with username: [XDevelopers].); check `username`"),
        "{err}"
    );
}
