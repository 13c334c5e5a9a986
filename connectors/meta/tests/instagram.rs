//! `instagram` against a mock Graph API.

use crate::support::*;
use serde_json::json;
use std::sync::Arc;
use tally_meta::Instagram;
use tally_testkit::{pull_ok, Recording};
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer};

#[tokio::test]
async fn account_insights_breakdowns_demographics_and_media_map_to_points() {
    let server = MockServer::start().await;
    tally_testkit::conformance::Fixtures::mount_happy(&InstagramFixtures, &server).await;
    let buffer = pull_ok(&Instagram, &InstagramFixtures, &server, json!({})).await;
    let find = |raw: &str, dim: Option<(&str, &str)>| {
        buffer
            .points
            .iter()
            .filter(|p| p.raw_name == raw && p.entity.id == IG)
            .filter(|p| match dim {
                Some((k, v)) => p.dimensions.get(k).is_some_and(|x| x == v),
                None => p.dimensions.is_empty(),
            })
            .map(|p| p.value)
            .collect::<Vec<_>>()
    };
    assert_eq!(find("followers_count", None), [64363.0]);
    assert_eq!(find("reach", None), [1200.0]);
    assert_eq!(
        find("reach", Some(("media_product_type", "REEL"))),
        [23079.0]
    );
    assert_eq!(find("follower_count", None), [6.0]);
    assert_eq!(find("follower_demographics", Some(("age", "x"))), [40000.0]);
    let saves: Vec<_> = buffer
        .points
        .iter()
        .filter(|p| p.metric == "engagement.saves")
        .map(|p| p.entity.id.to_string())
        .collect();
    assert_eq!(saves, ["179001", "179002", "179003"]);
}

#[tokio::test]
async fn media_too_new_for_insights_is_skipped_not_failed() {
    let server = MockServer::start().await;
    get(&format!("/{IG}"))
        .respond_with(body(IG_USER))
        .mount(&server)
        .await;
    mount_ig_insights(&server).await;
    get(&format!("/{IG}/media"))
        .respond_with(listing(vec![media("179001"), media("179002")], None))
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/v27.0/179001/insights"))
        .respond_with(graph_error(400, r#"{"error":{"message":"(#10) Not enough viewers for the media to show insights","type":"OAuthException","code":10}}"#))
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/v27.0/179002/insights"))
        .respond_with(media_insights())
        .mount(&server)
        .await;
    let buffer = pull_ok(&Instagram, &InstagramFixtures, &server, json!({})).await;
    let of = |id: &str| {
        buffer
            .points
            .iter()
            .filter(|p| p.entity.id == id)
            .map(|p| p.metric.to_string())
            .collect::<Vec<_>>()
    };
    assert_eq!(of("179001"), ["engagement.likes", "engagement.comments"]);
    assert!(of("179002").contains(&"reach.views".to_string()));
    assert_eq!(
        buffer.warnings,
        [
            "media 179001 has no insights yet (Meta error 10: too new or too few viewers); \
          its likes and comments are stored, its insights come with a later pull"
        ]
    );
}

#[tokio::test]
async fn the_account_is_found_from_its_page_and_removed_metrics_are_never_asked() {
    let server = MockServer::start().await;
    tally_testkit::conformance::Fixtures::mount_happy(&InstagramFixtures, &server).await;
    get(&format!("/{PAGE}"))
        .respond_with(body(&format!(
            r#"{{"instagram_business_account":{{"id":"{IG}"}},"id":"{PAGE}"}}"#
        )))
        .expect(1)
        .mount(&server)
        .await;
    let recording = Recording::new(tally_testkit::fixture_http(
        &Instagram,
        &InstagramFixtures,
        &server,
    ));
    let source = tally_testkit::fixture_source(
        &InstagramFixtures,
        &server,
        json!({"ig_user_id": null, "page_id": PAGE}),
    );
    tally_testkit::pull(&Instagram, &recording, &source)
        .await
        .unwrap();
    for request in recording.requests() {
        let query = request
            .url
            .split_once('?')
            .map_or("", |(_, q)| q)
            .to_string();
        let metrics = query
            .split('&')
            .find_map(|kv| kv.strip_prefix("metric="))
            .unwrap_or_default()
            .to_string();
        for m in metrics.split(',') {
            assert!(
                !["impressions", "plays", "clips_replays_count", "video_views"].contains(&m),
                "{}",
                request.url
            );
        }
    }
}

#[tokio::test]
async fn conformance() {
    let report =
        tally_testkit::conformance::run_conformance(Arc::new(Instagram), &InstagramFixtures);
    println!("{}", report.await);
}

/// The OAuth2 settings the host resolves for an Instagram source whose
/// `[sources.auth]` ends with `extra`.
fn oauth(extra: &str) -> tally_host::auth::OAuthSettings {
    let text = format!(
        "[[sources]]\nid = \"ig\"\nconnector = \"instagram\"\n[sources.settings]\nig_user_id = \"1\"\n\
         [sources.auth]\nkind = \"oauth2\"\nclient_id = \"app\"\nclient_secret = \"s\"\n{extra}"
    );
    let description = tally_model::Connector::describe(&Instagram);
    let config =
        tally_config::parse(&text, "tally.toml", std::slice::from_ref(&description)).unwrap();
    tally_host::auth::OAuthSettings::resolve(&config.sources[0], &description).unwrap()
}

#[test]
fn facebook_login_is_the_default_and_instagram_login_is_chosen_by_its_token_url() {
    let facebook = oauth("");
    assert_eq!(
        facebook.token_url,
        "https://graph.facebook.com/v27.0/oauth/access_token"
    );
    assert!(facebook
        .quirks
        .contains(&tally_model::AuthQuirk::MetaLongLivedExchange));
    let instagram = oauth("token_url = \"https://api.instagram.com/oauth/access_token\"\n");
    assert_eq!(
        instagram.scopes,
        [
            "instagram_business_basic",
            "instagram_business_manage_insights"
        ]
    );
    assert!(instagram
        .quirks
        .contains(&tally_model::AuthQuirk::InstagramLongLived {
            graph_url: "https://graph.instagram.com".into()
        }));
}
