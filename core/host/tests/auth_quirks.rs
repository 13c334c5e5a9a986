//! Platform quirks against local token endpoints that answer in each platform's
//! documented shapes (shared/platforms.md): Meta's long-lived and Page tokens,
//! TikTok's `client_key`, X's rotating refresh tokens, Google's offline access,
//! LinkedIn's secret in the body and its answers without `token_type`.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::auth_support::{parse, providers, Probe};
use chrono::Utc;
use serde_json::json;
use std::path::Path;
use tally_config::secret::Secret;
use tally_config::SourceConfig;
use tally_host::auth::{credential_status, AuthError, OAuthFlow, StoredToken, TokenProviders};
use tally_model::{AuthQuirk, Connector};
use wiremock::matchers::{body_string_contains, header, method, path, query_param};
use wiremock::{Mock, MockServer, Request, ResponseTemplate};

/// One probe source with `quirks`, its token endpoint at `token_url`.
fn source(dir: &Path, token_url: &str, quirks: &[AuthQuirk], extra: &str) -> SourceConfig {
    parse(
        &format!(
            r#"
[[sources]]
id = "client-page"
connector = "probe"
[sources.settings]
page_id = "1234567"
[sources.auth]
kind = "oauth2"
client_id = "app-id"
client_secret = "app-secret"
auth_url = "https://platform.invalid/authorize"
token_url = "{token_url}"
{extra}
"#
        ),
        dir,
        quirks.to_vec(),
    )
    .sources
    .remove(0)
}

fn flow(tokens: &TokenProviders, source: &SourceConfig, quirks: &[AuthQuirk]) -> OAuthFlow {
    let description = Probe {
        quirks: quirks.to_vec(),
    }
    .describe();
    tokens.flow_for(source, &description).unwrap()
}

/// Exchanges `code` as the end of a login would.
async fn exchange(flow: &OAuthFlow, code: &str) -> Result<StoredToken, AuthError> {
    let authorization = flow.authorize("http://127.0.0.1:8765/callback").unwrap();
    flow.exchange_code(authorization, code).await
}

fn no_basic_auth(request: &Request) -> bool {
    !request.headers.contains_key("authorization")
}

#[tokio::test]
async fn meta_logins_end_with_a_page_token_and_the_long_lived_expiry_tracked() {
    let graph = MockServer::start().await;
    // Code exchange: secret in the body, short-lived user token back.
    Mock::given(method("POST"))
        .and(path("/v21.0/oauth/access_token"))
        .and(body_string_contains("code=meta-code"))
        .and(body_string_contains("client_secret=app-secret"))
        .and(no_basic_auth)
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "access_token": "EAAshort", "token_type": "bearer", "expires_in": 5183
        })))
        .expect(1)
        .mount(&graph)
        .await;
    // fb_exchange_token: a 60-day user token.
    Mock::given(method("GET"))
        .and(path("/v21.0/oauth/access_token"))
        .and(query_param("grant_type", "fb_exchange_token"))
        .and(query_param("client_id", "app-id"))
        .and(query_param("client_secret", "app-secret"))
        .and(query_param("fb_exchange_token", "EAAshort"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "access_token": "EAAlong", "token_type": "bearer", "expires_in": 5_183_944
        })))
        .expect(1)
        .mount(&graph)
        .await;
    // The page's token, read with the long-lived user token.
    Mock::given(method("GET"))
        .and(path("/v21.0/1234567"))
        .and(query_param("fields", "access_token"))
        .and(header("authorization", "Bearer EAAlong"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "access_token": "EAApage", "id": "1234567"
        })))
        .expect(1)
        .mount(&graph)
        .await;
    let quirks = [
        AuthQuirk::ClientSecretInBody,
        AuthQuirk::MetaLongLivedExchange,
        AuthQuirk::MetaPageToken {
            page_setting: "page_id".into(),
        },
    ];
    let dir = tempfile::tempdir().unwrap();
    let token_url = format!("{}/v21.0/oauth/access_token", graph.uri());
    let source = source(dir.path(), &token_url, &quirks, "");
    let tokens = providers(dir.path());
    let token = exchange(&flow(&tokens, &source, &quirks), "meta-code")
        .await
        .unwrap();
    assert_eq!(token.access_token.expose(), "EAApage");
    assert_eq!(
        token.expires_at, None,
        "a Page token has no expiry of its own"
    );
    assert!(
        token.refresh_token.is_none(),
        "Meta issues no refresh tokens"
    );
    let long_lived = token.long_lived_expires_at.unwrap();
    assert!((long_lived - Utc::now()).num_days() == 59, "{long_lived}");

    tokens.store().save(&token).unwrap();
    let description = Probe {
        quirks: quirks.to_vec(),
    }
    .describe();
    let status = credential_status(&source, &description, tokens.store(), Utc::now());
    assert_eq!(status.long_lived_days_left, Some(59));
    assert!(!status.can_refresh);
    assert_eq!(status.state, "ok");
    // Two months later the user's authorization is over: log in again.
    let later = credential_status(
        &source,
        &description,
        tokens.store(),
        Utc::now() + chrono::Duration::days(61),
    );
    assert_eq!(later.long_lived_days_left, Some(-1));
    assert!(later.hint.unwrap().contains("tally auth login client-page"));
}

#[tokio::test]
async fn meta_without_a_page_uses_the_long_lived_user_token_until_it_expires() {
    let graph = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/v21.0/oauth/access_token"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(json!({"access_token": "EAAshort", "token_type": "bearer"})),
        )
        .mount(&graph)
        .await;
    Mock::given(method("GET"))
        .and(path("/v21.0/oauth/access_token"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "access_token": "EAAlong", "token_type": "bearer", "expires_in": "5183944"
        })))
        .mount(&graph)
        .await;
    let quirks = [
        AuthQuirk::ClientSecretInBody,
        AuthQuirk::MetaLongLivedExchange,
    ];
    let dir = tempfile::tempdir().unwrap();
    let token_url = format!("{}/v21.0/oauth/access_token", graph.uri());
    let source = source(dir.path(), &token_url, &quirks, "");
    let tokens = providers(dir.path());
    let mut token = exchange(&flow(&tokens, &source, &quirks), "c")
        .await
        .unwrap();
    assert_eq!(token.access_token.expose(), "EAAlong");
    assert_eq!(token.expires_at, token.long_lived_expires_at);
    assert!(token.expires_at.is_some());

    // Once it has expired, only a login helps; the message says which source.
    token.expires_at = Some(Utc::now() - chrono::Duration::hours(1));
    tokens.store().save(&token).unwrap();
    let description = Probe {
        quirks: quirks.to_vec(),
    }
    .describe();
    let err = tokens
        .provider_for(&source, &description)
        .unwrap()
        .token()
        .await
        .unwrap_err();
    let message = err.to_string();
    assert!(
        message.contains("expired") && message.contains("run `tally auth login client-page`"),
        "{message}"
    );
    assert!(!message.contains("EAAlong"));
}

#[tokio::test]
async fn meta_graph_errors_name_the_endpoint_and_hide_the_tokens() {
    let graph = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/v21.0/oauth/access_token"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(json!({"access_token": "EAAshort", "token_type": "bearer"})),
        )
        .mount(&graph)
        .await;
    Mock::given(method("GET"))
        .and(path("/v21.0/oauth/access_token"))
        .respond_with(ResponseTemplate::new(400).set_body_json(json!({
            "error": {"message": "Error validating access token EAAshort", "type": "OAuthException", "code": 190, "fbtrace_id": "A1"}
        })))
        .mount(&graph)
        .await;
    let quirks = [
        AuthQuirk::ClientSecretInBody,
        AuthQuirk::MetaLongLivedExchange,
    ];
    let dir = tempfile::tempdir().unwrap();
    let token_url = format!("{}/v21.0/oauth/access_token", graph.uri());
    let source = source(dir.path(), &token_url, &quirks, "");
    let tokens = providers(dir.path());
    let err = exchange(&flow(&tokens, &source, &quirks), "c")
        .await
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("/v21.0/oauth/access_token") && err.contains("Graph error 190"),
        "{err}"
    );
    assert!(
        !err.contains("EAAshort") && !err.contains("app-secret"),
        "{err}"
    );
}

#[tokio::test]
async fn tiktok_sends_its_client_key_and_keeps_the_refresh_lifetime() {
    let quirks = [
        AuthQuirk::ClientKeyParam,
        AuthQuirk::CommaSeparatedScopes,
        AuthQuirk::RotatingRefreshToken,
    ];
    let tiktok = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/v2/oauth/token/"))
        .and(body_string_contains("client_key=app-id"))
        .and(body_string_contains("client_secret=app-secret"))
        .and(body_string_contains("grant_type=refresh_token"))
        .and(body_string_contains("refresh_token=rft.old"))
        .and(no_basic_auth)
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "access_token": "act.new",
            "expires_in": 86400,
            "open_id": "723f24d7-e717-40f8-a2b6-cb8464cd23b4",
            "refresh_expires_in": 31_536_000,
            "refresh_token": "rft.new",
            "scope": "user.info.basic,user.info.stats,video.list",
            "token_type": "Bearer"
        })))
        .expect(1)
        .mount(&tiktok)
        .await;
    let dir = tempfile::tempdir().unwrap();
    let token_url = format!("{}/v2/oauth/token/", tiktok.uri());
    let source = source(
        dir.path(),
        &token_url,
        &quirks,
        r#"scopes = ["user.info.basic", "user.info.stats", "video.list"]"#,
    );
    let tokens = providers(dir.path());
    let flow = flow(&tokens, &source, &quirks);
    let url = flow
        .authorize("http://127.0.0.1:8765/callback")
        .unwrap()
        .url;
    let query = url.query().unwrap();
    assert!(
        query.contains("client_key=app-id") && !query.contains("client_id"),
        "{query}"
    );
    assert!(
        query.contains("scope=user.info.basic%2Cuser.info.stats%2Cvideo.list"),
        "{query}"
    );

    let token = flow.refresh(&Secret::new("rft.old"), None).await.unwrap();
    assert_eq!(token.access_token.expose(), "act.new");
    assert_eq!(token.refresh_token.unwrap().expose(), "rft.new");
    assert_eq!(
        token.scopes,
        ["user.info.basic", "user.info.stats", "video.list"]
    );
    let refresh_days = (token.refresh_expires_at.unwrap() - Utc::now()).num_days();
    assert_eq!(refresh_days, 364);
}

#[tokio::test]
async fn a_rotating_platform_never_reuses_a_spent_refresh_token() {
    let x = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/2/oauth2/token"))
        .and(header("authorization", "Basic YXBwLWlkOmFwcC1zZWNyZXQ="))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "token_type": "bearer", "expires_in": 7200, "access_token": "x-access",
            "scope": "tweet.read users.read offline.access"
        })))
        .mount(&x)
        .await;
    let dir = tempfile::tempdir().unwrap();
    let token_url = format!("{}/2/oauth2/token", x.uri());
    let tokens = providers(dir.path());

    // X rotates: an answer without a new refresh token leaves none.
    let rotating = [AuthQuirk::RotatingRefreshToken];
    let source_x = source(dir.path(), &token_url, &rotating, "");
    let token = flow(&tokens, &source_x, &rotating)
        .refresh(&Secret::new("x-refresh-1"), None)
        .await
        .unwrap();
    assert!(token.refresh_token.is_none());

    // Google does not: the same answer keeps the refresh token.
    let token = flow(&tokens, &source_x, &[])
        .refresh(&Secret::new("google-refresh"), None)
        .await
        .unwrap();
    assert_eq!(token.refresh_token.unwrap().expose(), "google-refresh");
}

#[tokio::test]
async fn linkedin_answers_without_token_type_and_takes_the_secret_in_the_body() {
    let linkedin = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/oauth/v2/accessToken"))
        .and(body_string_contains("grant_type=authorization_code"))
        .and(body_string_contains("client_id=app-id"))
        .and(body_string_contains("client_secret=app-secret"))
        .and(body_string_contains("code_verifier="))
        .and(body_string_contains(
            "redirect_uri=http%3A%2F%2F127.0.0.1%3A8765%2Fcallback",
        ))
        .and(no_basic_auth)
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "access_token": "AQVlinkedin",
            "expires_in": 5_184_000,
            "refresh_token": "AQXrefresh",
            "refresh_token_expires_in": 31_536_000,
            "scope": "r_organization_social,rw_organization_admin"
        })))
        .expect(1)
        .mount(&linkedin)
        .await;
    let quirks = [AuthQuirk::ClientSecretInBody];
    let dir = tempfile::tempdir().unwrap();
    let token_url = format!("{}/oauth/v2/accessToken", linkedin.uri());
    let source = source(dir.path(), &token_url, &quirks, "");
    let tokens = providers(dir.path());
    let token = exchange(&flow(&tokens, &source, &quirks), "li-code")
        .await
        .unwrap();
    assert_eq!(token.token_type, "bearer");
    assert_eq!((token.expires_at.unwrap() - Utc::now()).num_days(), 59);
    assert_eq!(
        (token.refresh_expires_at.unwrap() - Utc::now()).num_days(),
        364
    );
    assert_eq!(token.scopes.len(), 2);
}

#[tokio::test]
async fn the_default_sends_the_secret_by_basic_auth_only() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(header("authorization", "Basic YXBwLWlkOmFwcC1zZWNyZXQ="))
        .and(|r: &Request| !String::from_utf8_lossy(&r.body).contains("client_secret"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "access_token": "a", "token_type": "Bearer", "expires_in": 60
        })))
        .expect(1)
        .mount(&server)
        .await;
    let dir = tempfile::tempdir().unwrap();
    let source = source(dir.path(), &format!("{}/token", server.uri()), &[], "");
    let tokens = providers(dir.path());
    flow(&tokens, &source, &[])
        .refresh(&Secret::new("r"), None)
        .await
        .unwrap();
}

#[tokio::test]
async fn google_asks_for_offline_access_for_youtube() {
    let description = tally_youtube::Youtube.describe();
    let dir = tempfile::tempdir().unwrap();
    let source = tally_config::parse_with(
        r#"
[[sources]]
id = "bakery-youtube"
connector = "youtube"
[sources.settings]
channel_id = "UC_x5XG1OV2P6uZZ5FSM9Ttw"
[sources.auth]
kind = "oauth2"
client_id = "1234.apps.googleusercontent.com"
"#,
        "tally.toml",
        std::slice::from_ref(&description),
        &tally_config::ParseContext {
            base_dir: dir.path(),
            env: &|_| None,
        },
    )
    .unwrap()
    .sources
    .remove(0);
    let tokens = providers(dir.path());
    let flow = tokens.flow_for(&source, &description).unwrap();
    let url = flow
        .authorize("http://127.0.0.1:8765/callback")
        .unwrap()
        .url;
    assert_eq!(url.host_str(), Some("accounts.google.com"));
    let query = url.query().unwrap();
    for part in [
        "access_type=offline",
        "prompt=consent",
        "code_challenge_method=S256",
        "scope=https%3A%2F%2Fwww.googleapis.com%2Fauth%2Fyoutube.readonly",
    ] {
        assert!(query.contains(part), "{part} in {query}");
    }
}

#[tokio::test]
async fn instagram_logins_keep_a_long_lived_token_and_renew_it_before_it_runs_out() {
    let server = MockServer::start().await;
    // Code exchange on api.instagram.com: a short-lived token.
    Mock::given(method("POST"))
        .and(path("/oauth/access_token"))
        .and(body_string_contains("code=ig-code"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "access_token": "IGshort", "token_type": "bearer", "expires_in": 3600
        })))
        .expect(1)
        .mount(&server)
        .await;
    // ig_exchange_token on graph.instagram.com: 60 days.
    Mock::given(method("GET"))
        .and(path("/graph/access_token"))
        .and(query_param("grant_type", "ig_exchange_token"))
        .and(query_param("client_secret", "app-secret"))
        .and(query_param("access_token", "IGshort"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "access_token": "IGlong", "token_type": "bearer", "expires_in": 5_184_000
        })))
        .expect(1)
        .mount(&server)
        .await;
    // ig_refresh_token: another 60 days from the renewal.
    Mock::given(method("GET"))
        .and(path("/graph/refresh_access_token"))
        .and(query_param("grant_type", "ig_refresh_token"))
        .and(query_param("access_token", "IGlong"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "access_token": "IGrenewed", "token_type": "bearer", "expires_in": 5_184_000
        })))
        .expect(1)
        .mount(&server)
        .await;
    let quirks = [
        AuthQuirk::ClientSecretInBody,
        AuthQuirk::InstagramLongLived {
            graph_url: format!("{}/graph", server.uri()),
        },
    ];
    let dir = tempfile::tempdir().unwrap();
    let token_url = format!("{}/oauth/access_token", server.uri());
    let source = source(dir.path(), &token_url, &quirks, "");
    let tokens = providers(dir.path());
    let mut token = exchange(&flow(&tokens, &source, &quirks), "ig-code")
        .await
        .unwrap();
    assert_eq!(token.access_token.expose(), "IGlong");
    assert!(token.refresh_token.is_none());
    let lasts = token.long_lived_expires_at.unwrap();
    assert_eq!((lasts - Utc::now()).num_days(), 59);
    // Due for renewal ten days before it runs out.
    assert_eq!((lasts - token.expires_at.unwrap()).num_days(), 10);
    tokens.store().save(&token).unwrap();
    let description = Probe {
        quirks: quirks.to_vec(),
    }
    .describe();
    let status = credential_status(&source, &description, tokens.store(), Utc::now());
    assert_eq!(status.long_lived_days_left, Some(59));

    // Fifty-one days on, the renewal is due: the host renews it, no login.
    token.expires_at = Some(Utc::now() - chrono::Duration::hours(1));
    tokens.store().save(&token).unwrap();
    let provider = tokens.provider_for(&source, &description).unwrap();
    let renewed = provider.token().await.unwrap();
    assert_eq!(renewed.expose(), "IGrenewed");
    let stored = tokens.store().load("client-page").unwrap().unwrap();
    assert_eq!(stored.access_token.expose(), "IGrenewed");
    assert_eq!(
        (stored.long_lived_expires_at.unwrap() - Utc::now()).num_days(),
        59
    );
}
