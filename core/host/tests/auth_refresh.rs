//! Single-flight renewal: sources sharing one credential, pulled concurrently,
//! renew it exactly once, whether it is about to expire or the platform refuses
//! it with 401s from every source at the same moment.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::auth_support::{engine, parse, providers};
use chrono::Utc;
use serde_json::json;
use std::path::Path;
use std::time::Duration;
use tally_config::secret::Secret;
use tally_config::SourceConfig;
use tally_host::auth::{StoredToken, TokenProviders, RECORD_VERSION};
use tally_host::pull::SourceStatus;
use wiremock::matchers::{body_string_contains, header, method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

const SOURCES: usize = 6;

/// `SOURCES` probe sources sharing credential `shared` at `token_url`.
fn shared_sources(dir: &Path, api: &str, token_url: &str) -> Vec<SourceConfig> {
    let mut text = String::new();
    for i in 0..SOURCES {
        text.push_str(&format!(
            r#"
[[sources]]
id = "probe-{i}"
connector = "probe"
base_url = "{api}/api"
[sources.auth]
kind = "oauth2"
credential = "shared"
client_id = "agency-app"
client_secret = "agency-secret"
auth_url = "http://127.0.0.1:9/auth"
token_url = "{token_url}"
"#
        ));
    }
    parse(&text, dir, vec![]).sources
}

/// A stored token for `shared`, expiring at `expires_in_secs` from now.
fn store_token(tokens: &TokenProviders, token_url: &str, access: &str, expires_in_secs: i64) {
    tokens
        .store()
        .save(&StoredToken {
            version: RECORD_VERSION,
            credential: "shared".into(),
            kind: "oauth2".into(),
            client_id: "agency-app".into(),
            token_url: token_url.into(),
            access_token: Secret::new(access),
            token_type: "Bearer".into(),
            expires_at: Some(Utc::now() + chrono::Duration::seconds(expires_in_secs)),
            refresh_token: Some(Secret::new("rt-old")),
            refresh_expires_at: None,
            long_lived_expires_at: None,
            scopes: vec!["stats".into()],
            obtained_at: Utc::now(),
            seed: None,
        })
        .unwrap();
}

/// A token endpoint that renews `rt-old` slowly (so every source is waiting at
/// once) into `at-new` / `rt-new`.
async fn token_endpoint() -> MockServer {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/oauth/token"))
        .and(body_string_contains("grant_type=refresh_token"))
        .and(body_string_contains("refresh_token=rt-old"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(json!({
                    "access_token": "at-new",
                    "token_type": "Bearer",
                    "expires_in": 3600,
                    "refresh_token": "rt-new"
                }))
                .set_delay(Duration::from_millis(300)),
        )
        .mount(&server)
        .await;
    server
}

async fn api_accepting(token: &str) -> MockServer {
    let api = MockServer::start().await;
    Mock::given(path("/api/me"))
        .and(header("authorization", format!("Bearer {token}").as_str()))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"followers": 42})))
        .mount(&api)
        .await;
    Mock::given(path("/api/me"))
        .respond_with(ResponseTemplate::new(401).set_body_json(json!({"error": "invalid token"})))
        .mount(&api)
        .await;
    api
}

async fn assert_one_refresh(token_server: &MockServer, tokens: &TokenProviders) {
    let refreshes = token_server.received_requests().await.unwrap();
    assert_eq!(refreshes.len(), 1, "exactly one refresh request");
    let stored = tokens.store().load("shared").unwrap().unwrap();
    assert_eq!(stored.access_token.expose(), "at-new");
    assert_eq!(stored.refresh_token.unwrap().expose(), "rt-new");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_pulls_sharing_an_expiring_credential_refresh_it_once() {
    let dir = tempfile::tempdir().unwrap();
    let token_server = token_endpoint().await;
    let token_url = format!("{}/oauth/token", token_server.uri());
    let api = api_accepting("at-new").await;
    let tokens = providers(dir.path());
    // Expires within the renewal skew: renewed before use.
    store_token(&tokens, &token_url, "at-old", 30);
    let sources = shared_sources(dir.path(), &api.uri(), &token_url);
    let engine = engine(dir.path(), vec![], tokens.clone());
    let outcomes = engine.pull_all(sources, SOURCES, |_| {}).await;
    for o in &outcomes {
        assert_eq!(o.status, SourceStatus::Ok, "{}: {:?}", o.source, o.status);
        assert_eq!(
            o.counts.requests, 1,
            "{}: the old token was never sent",
            o.source
        );
    }
    assert_one_refresh(&token_server, &tokens).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn simultaneous_401s_on_a_shared_token_refresh_it_once() {
    let dir = tempfile::tempdir().unwrap();
    let token_server = token_endpoint().await;
    let token_url = format!("{}/oauth/token", token_server.uri());
    let api = api_accepting("at-new").await;
    let tokens = providers(dir.path());
    // Valid for an hour by its expiry, but the platform has revoked it.
    store_token(&tokens, &token_url, "at-revoked", 3600);
    let sources = shared_sources(dir.path(), &api.uri(), &token_url);
    let engine = engine(dir.path(), vec![], tokens.clone());
    let outcomes = engine.pull_all(sources, SOURCES, |_| {}).await;
    for o in &outcomes {
        assert_eq!(o.status, SourceStatus::Ok, "{}: {:?}", o.source, o.status);
        assert_eq!(
            (o.counts.requests, o.counts.retries),
            (2, 1),
            "{}",
            o.source
        );
    }
    assert_one_refresh(&token_server, &tokens).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_processes_sharing_a_tokens_directory_refresh_once_between_them() {
    // Two hosts with their own providers and engines on one tokens directory
    // stand for a daemon and a manual `tally pull`: nothing in memory is shared,
    // only the token file and its lock.
    let dir = tempfile::tempdir().unwrap();
    let token_server = token_endpoint().await;
    let token_url = format!("{}/oauth/token", token_server.uri());
    let api = api_accepting("at-new").await;
    let daemon_tokens = providers(dir.path());
    let manual_tokens = providers(dir.path());
    store_token(&daemon_tokens, &token_url, "at-old", 30);
    let sources = shared_sources(dir.path(), &api.uri(), &token_url);
    let daemon = engine(dir.path(), vec![], daemon_tokens.clone());
    let manual = engine(dir.path(), vec![], manual_tokens);
    let (a, b) = tokio::join!(
        daemon.pull_all(sources.clone(), SOURCES, |_| {}),
        manual.pull_all(sources, SOURCES, |_| {}),
    );
    for o in a.iter().chain(&b) {
        assert_eq!(o.status, SourceStatus::Ok, "{}: {:?}", o.source, o.status);
    }
    // One refresh with `rt-old`: the second host waited for the lock, re-read
    // the file and used the renewed token instead of spending `rt-old` again.
    assert_one_refresh(&token_server, &daemon_tokens).await;
}

#[tokio::test]
async fn sources_sharing_a_credential_must_describe_the_same_app() {
    let dir = tempfile::tempdir().unwrap();
    let text = r#"
[[sources]]
id = "a"
connector = "probe"
[sources.auth]
kind = "oauth2"
credential = "shared"
client_id = "app-1"

[[sources]]
id = "b"
connector = "probe"
[sources.auth]
kind = "oauth2"
credential = "shared"
client_id = "app-2"
"#;
    let sources = parse(text, dir.path(), vec![]).sources;
    let tokens = providers(dir.path());
    let description =
        tally_model::Connector::describe(&crate::auth_support::Probe { quirks: vec![] });
    tokens.provider_for(&sources[0], &description).unwrap();
    let err = tokens
        .provider_for(&sources[1], &description)
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("`a` and `b` share credential `shared`"),
        "{err}"
    );
}

#[tokio::test]
async fn a_source_never_logged_in_is_told_to_log_in_and_others_go_on() {
    let dir = tempfile::tempdir().unwrap();
    let api = api_accepting("static").await;
    let text = format!(
        r#"
[[sources]]
id = "needs-login"
connector = "probe"
base_url = "{api}/api"
[sources.auth]
kind = "oauth2"
client_id = "app"

[[sources]]
id = "static"
connector = "probe"
base_url = "{api}/api"
[sources.auth]
kind = "bearer"
token = "static"
"#,
        api = api.uri()
    );
    let sources = parse(&text, dir.path(), vec![]).sources;
    let engine = engine(dir.path(), vec![], providers(dir.path()));
    let outcomes = engine.pull_all(sources, 2, |_| {}).await;
    assert_eq!(
        outcomes[0].status,
        SourceStatus::Failed(
            "source `needs-login`: no OAuth2 token is stored for it yet; run `tally auth login needs-login`"
                .into()
        )
    );
    assert_eq!(outcomes[0].counts.requests, 0);
    assert_eq!(outcomes[1].status, SourceStatus::Ok);
}

#[tokio::test]
async fn a_refresh_token_from_the_config_seeds_the_store_and_a_new_one_takes_over() {
    let dir = tempfile::tempdir().unwrap();
    let token_server = MockServer::start().await;
    for (given, issued) in [("seed-1", "at-1"), ("seed-2", "at-2")] {
        Mock::given(body_string_contains(
            format!("refresh_token={given}").as_str(),
        ))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "access_token": issued, "token_type": "Bearer", "expires_in": 3600
        })))
        .expect(1)
        .mount(&token_server)
        .await;
    }
    let token_url = format!("{}/token", token_server.uri());
    let config = |seed: &str| {
        parse(
            &format!(
                r#"
[[sources]]
id = "seeded"
connector = "probe"
[sources.auth]
kind = "oauth2"
client_id = "app"
refresh_token = "{seed}"
token_url = "{token_url}"
"#
            ),
            dir.path(),
            vec![],
        )
        .sources
        .remove(0)
    };
    let description =
        tally_model::Connector::describe(&crate::auth_support::Probe { quirks: vec![] });
    let tokens = providers(dir.path());
    let provider = tokens
        .provider_for(&config("seed-1"), &description)
        .unwrap();
    assert_eq!(provider.token().await.unwrap().expose(), "at-1");
    assert_eq!(provider.token().await.unwrap().expose(), "at-1");
    // The store keeps the seed's refresh token (none was rotated in).
    let stored = tokens.store().load("seeded").unwrap().unwrap();
    assert_eq!(stored.refresh_token.unwrap().expose(), "seed-1");

    // A new refresh token written into the config wins over the stored tokens.
    let tokens = providers(dir.path());
    let provider = tokens
        .provider_for(&config("seed-2"), &description)
        .unwrap();
    assert_eq!(provider.token().await.unwrap().expose(), "at-2");
}
