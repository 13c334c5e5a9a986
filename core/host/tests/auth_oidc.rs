//! The OAuth2 flows against a real authorization server nobody here wrote
//! (panva's `oidc-provider`, see `tests/oidc/`): authorization code with PKCE
//! through the loopback redirect, refresh with rotation, a revoked refresh
//! token, client credentials, client secrets in the form body, and a redirect
//! whose `state` is not the login's.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::auth_support::{engine, parse, providers};
use crate::oidc::{approve_in_browser, OidcServer, APP, POST_APP, SERVICE};
use chrono::Utc;
use std::path::Path;
use std::sync::Arc;
use tally_config::Config;
use tally_host::auth::{AuthError, OAuthFlow, PendingLogin, StoredToken, TokenProviders};
use tally_host::pull::SourceStatus;
use tally_model::AuthQuirk;
use wiremock::matchers::{header, method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

/// A config with one probe source logging in at `server` as `client`.
fn config(
    dir: &Path,
    server: &OidcServer,
    client: (&str, &str),
    kind: &str,
    quirks: Vec<AuthQuirk>,
) -> Config {
    let text = format!(
        r#"
[[sources]]
id = "probe-1"
connector = "probe"
base_url = "http://127.0.0.1:9/api"
[sources.auth]
kind = "{kind}"
client_id = "{}"
client_secret = "{}"
token_url = "{}"
{}
"#,
        client.0,
        client.1,
        server.token_url(),
        if kind == "oauth2" {
            format!("auth_url = \"{}\"", server.auth_url())
        } else {
            String::new()
        }
    );
    parse(&text, dir, quirks)
}

fn flow(tokens: &TokenProviders, config: &Config, quirks: Vec<AuthQuirk>) -> OAuthFlow {
    let description = tally_model::Connector::describe(&crate::auth_support::Probe { quirks });
    tokens.flow_for(&config.sources[0], &description).unwrap()
}

/// Logs in the way `tally auth login` does, with a test browser that follows
/// the redirect to the loopback listener.
async fn login(flow: &OAuthFlow) -> StoredToken {
    let pending = PendingLogin::start(flow, 0).await.unwrap();
    let url = pending.url().to_string();
    assert!(url.contains("code_challenge_method=S256"), "{url}");
    assert!(url.contains("state="), "{url}");
    let browser = tokio::spawn(async move {
        let redirect = approve_in_browser(&url).await;
        reqwest::get(&redirect).await.unwrap().text().await.unwrap()
    });
    let code = pending.receive().await.unwrap();
    let page = browser.await.unwrap();
    assert!(page.contains("Tally received the authorization"), "{page}");
    pending.exchange(flow, &code).await.unwrap()
}

#[tokio::test]
async fn authorization_code_with_pkce_logs_in_through_the_loopback_redirect() {
    let server = OidcServer::start(3600);
    let dir = tempfile::tempdir().unwrap();
    let config = config(dir.path(), &server, APP, "oauth2", vec![]);
    let tokens = providers(dir.path());
    let flow = flow(&tokens, &config, vec![]);
    let token = login(&flow).await;
    assert_eq!(token.credential, "probe-1");
    assert_eq!(token.kind, "oauth2");
    assert!(
        token.refresh_token.is_some(),
        "offline_access gives a refresh token"
    );
    assert!(token.expires_at.unwrap() > Utc::now() + chrono::Duration::minutes(50));
    assert!(
        token.scopes.contains(&"stats".to_string()),
        "{:?}",
        token.scopes
    );

    // Stored, the token is what a pull sends.
    tokens.store().save(&token).unwrap();
    let api = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/api/me"))
        .and(header(
            "authorization",
            format!("Bearer {}", token.access_token.expose()).as_str(),
        ))
        .respond_with(ResponseTemplate::new(200).set_body_json(serde_json::json!({"followers": 7})))
        .expect(1)
        .mount(&api)
        .await;
    let mut config = config;
    config.sources[0].base_url = Some(format!("{}/api", api.uri()));
    let engine = engine(dir.path(), vec![], tokens);
    let outcome = engine.pull_one(&config.sources[0]).await;
    assert_eq!(outcome.status, SourceStatus::Ok, "{:?}", outcome.status);
}

#[tokio::test]
async fn the_server_refuses_a_login_without_pkce_and_the_error_is_reported() {
    let server = OidcServer::start(3600);
    let dir = tempfile::tempdir().unwrap();
    let config = config(dir.path(), &server, APP, "oauth2", vec![]);
    let tokens = providers(dir.path());
    let mut settings = flow(&tokens, &config, vec![]).settings().clone();
    settings.grant = tally_host::auth::Grant::AuthorizationCode {
        auth_url: server.auth_url(),
        pkce: false,
    };
    let flow = OAuthFlow::new(
        settings,
        tally_host::auth::TokenHttp::new(std::time::Duration::from_secs(10)).unwrap(),
    );
    let pending = PendingLogin::start(&flow, 0).await.unwrap();
    assert!(!pending.url().as_str().contains("code_challenge"));
    let redirect = approve_in_browser(pending.url().as_str()).await;
    let err = pending
        .code_from_redirect(&redirect)
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("refused the authorization") && err.contains("invalid_request"),
        "{err}"
    );
    assert!(err.contains("tally auth login probe-1"), "{err}");
}

#[tokio::test]
async fn a_redirect_with_another_state_is_rejected_and_its_code_is_not_spent() {
    let server = OidcServer::start(3600);
    let dir = tempfile::tempdir().unwrap();
    let config = config(dir.path(), &server, APP, "oauth2", vec![]);
    let tokens = providers(dir.path());
    let flow = flow(&tokens, &config, vec![]);
    let pending = PendingLogin::start(&flow, 0).await.unwrap();
    let redirect = approve_in_browser(pending.url().as_str()).await;
    let mut forged = reqwest::Url::parse(&redirect).unwrap();
    let pairs: Vec<(String, String)> = forged
        .query_pairs()
        .map(|(k, v)| {
            if k == "state" {
                (k.into_owned(), "forged-state".into())
            } else {
                (k.into_owned(), v.into_owned())
            }
        })
        .collect();
    forged.query_pairs_mut().clear().extend_pairs(&pairs);

    // Pasted, and sent to the listener: refused both ways.
    let err = pending.code_from_redirect(forged.as_str()).unwrap_err();
    assert!(matches!(err, AuthError::Login(_)), "{err:?}");
    assert!(
        err.to_string().contains("`state` is not this login's"),
        "{err}"
    );
    let no_state = redirect.split("&state=").next().unwrap().to_string();
    assert!(pending.code_from_redirect(&no_state).is_err());
    let browser = tokio::spawn(async move {
        reqwest::get(forged.as_str())
            .await
            .unwrap()
            .text()
            .await
            .unwrap()
    });
    let err = pending.receive().await.unwrap_err().to_string();
    assert!(err.contains("`state` is not this login's"), "{err}");
    assert!(browser
        .await
        .unwrap()
        .contains("could not use this authorization"));

    // The genuine redirect still works: the forged ones exchanged nothing.
    let code = pending.code_from_redirect(&redirect).unwrap();
    let token = pending.exchange(&flow, &code).await.unwrap();
    assert!(token.refresh_token.is_some());
}

#[tokio::test]
async fn refresh_rotates_the_refresh_token_and_saves_it_before_use() {
    let server = OidcServer::start(3600);
    let dir = tempfile::tempdir().unwrap();
    let config = config(
        dir.path(),
        &server,
        APP,
        "oauth2",
        vec![AuthQuirk::RotatingRefreshToken],
    );
    let tokens = providers(dir.path());
    let description = tally_model::Connector::describe(&crate::auth_support::Probe {
        quirks: vec![AuthQuirk::RotatingRefreshToken],
    });
    let flow = tokens.flow_for(&config.sources[0], &description).unwrap();
    let mut token = login(&flow).await;
    let first_refresh = token.refresh_token.clone().unwrap();
    // Pretend the access token is about to expire.
    token.expires_at = Some(Utc::now() + chrono::Duration::seconds(5));
    tokens.store().save(&token).unwrap();

    let provider = tokens
        .provider_for(&config.sources[0], &description)
        .unwrap();
    let access = provider.token().await.unwrap();
    assert_ne!(access, token.access_token, "renewed before expiry");
    let stored = tokens.store().load("probe-1").unwrap().unwrap();
    assert_eq!(stored.access_token, access);
    let rotated = stored.refresh_token.clone().unwrap();
    assert_ne!(
        rotated, first_refresh,
        "the server rotated the refresh token"
    );

    // The spent refresh token is dead at the server; the stored one works.
    let err = flow.refresh(&first_refresh, None).await.unwrap_err();
    assert!(err.is_invalid_grant(), "{err}");
    // (Reusing a rotated token revokes the whole grant at oidc-provider, so the
    // stored one is now refused too, and the source asks for a new login.)
    let err = provider.renew(Some(&access)).await.unwrap_err();
    assert!(matches!(err, AuthError::LoginRequired { .. }), "{err:?}");
    assert!(
        err.to_string().contains("run `tally auth login probe-1`"),
        "{err}"
    );
}

#[tokio::test]
async fn a_refused_token_is_refreshed_once_and_the_request_retried() {
    let server = OidcServer::start(3600);
    let dir = tempfile::tempdir().unwrap();
    let mut config = config(dir.path(), &server, APP, "oauth2", vec![]);
    let tokens = providers(dir.path());
    let flow = flow(&tokens, &config, vec![]);
    let token = login(&flow).await;
    tokens.store().save(&token).unwrap();

    // The platform no longer takes the (unexpired) token: 401, refresh, retry.
    let api = MockServer::start().await;
    Mock::given(path("/api/me"))
        .and(header(
            "authorization",
            format!("Bearer {}", token.access_token.expose()).as_str(),
        ))
        .respond_with(
            ResponseTemplate::new(401)
                .set_body_json(serde_json::json!({"error": "The access token is invalid"})),
        )
        .expect(1)
        .mount(&api)
        .await;
    Mock::given(path("/api/me"))
        .respond_with(ResponseTemplate::new(200).set_body_json(serde_json::json!({"followers": 9})))
        .expect(1)
        .mount(&api)
        .await;
    config.sources[0].base_url = Some(format!("{}/api", api.uri()));
    let engine = engine(dir.path(), vec![], Arc::clone(&tokens));
    let outcome = engine.pull_one(&config.sources[0]).await;
    assert_eq!(outcome.status, SourceStatus::Ok, "{:?}", outcome.status);
    assert_eq!((outcome.counts.requests, outcome.counts.retries), (2, 1));
    let stored = tokens.store().load("probe-1").unwrap().unwrap();
    assert_ne!(stored.access_token, token.access_token);
}

#[tokio::test]
async fn a_revoked_refresh_token_fails_that_source_alone_with_a_login_hint() {
    let server = OidcServer::start(3600);
    let dir = tempfile::tempdir().unwrap();
    let config = config(dir.path(), &server, APP, "oauth2", vec![]);
    let tokens = providers(dir.path());
    let flow = flow(&tokens, &config, vec![]);
    let mut token = login(&flow).await;
    server
        .revoke(APP, token.refresh_token.as_ref().unwrap().expose())
        .await;
    token.expires_at = Some(Utc::now() - chrono::Duration::minutes(1));
    tokens.store().save(&token).unwrap();

    let api = MockServer::start().await;
    Mock::given(path("/api/me"))
        .respond_with(ResponseTemplate::new(200).set_body_json(serde_json::json!({"followers": 1})))
        .mount(&api)
        .await;
    let text = format!(
        r#"
[[sources]]
id = "probe-1"
connector = "probe"
base_url = "{api}/api"
[sources.auth]
kind = "oauth2"
client_id = "{}"
client_secret = "{}"
auth_url = "{}"
token_url = "{}"

[[sources]]
id = "probe-public"
connector = "probe"
base_url = "{api}/api"
[sources.auth]
kind = "bearer"
token = "static-token"
"#,
        APP.0,
        APP.1,
        server.auth_url(),
        server.token_url(),
        api = api.uri()
    );
    let config = parse(&text, dir.path(), vec![]);
    let engine = engine(dir.path(), vec![], tokens);
    let outcomes = engine.pull_all(config.sources.clone(), 2, |_| {}).await;
    let SourceStatus::Failed(reason) = &outcomes[0].status else {
        panic!("{:?}", outcomes[0].status)
    };
    assert!(
        reason.contains("run `tally auth login probe-1`"),
        "{reason}"
    );
    assert!(reason.contains("invalid_grant"), "{reason}");
    assert!(!reason.contains(token.refresh_token.as_ref().unwrap().expose()));
    assert_eq!(outcomes[1].status, SourceStatus::Ok);
}

#[tokio::test]
async fn client_credentials_tokens_are_fetched_stored_and_reused() {
    let server = OidcServer::start(3600);
    let dir = tempfile::tempdir().unwrap();
    let config = config(dir.path(), &server, SERVICE, "client_credentials", vec![]);
    let tokens = providers(dir.path());
    let description =
        tally_model::Connector::describe(&crate::auth_support::Probe { quirks: vec![] });
    let provider = tokens
        .provider_for(&config.sources[0], &description)
        .unwrap();
    let first = provider.token().await.unwrap();
    let stored = tokens.store().load("probe-1").unwrap().unwrap();
    assert_eq!(stored.kind, "client_credentials");
    assert_eq!(stored.access_token, first);
    assert!(stored.refresh_token.is_none());
    assert_eq!(
        provider.token().await.unwrap(),
        first,
        "a fresh token is reused"
    );
    // Refused by the platform: a new one is fetched.
    let second = provider.renew(Some(&first)).await.unwrap();
    assert_ne!(second, first);

    // A wrong secret is the endpoint's refusal, not a login request.
    let mut wrong = config.sources[0].clone();
    wrong.id = "probe-2".into();
    wrong.auth.client_secret = Some(tally_config::secret::Secret::new("wrong-secret"));
    let err = tokens
        .provider_for(&wrong, &description)
        .unwrap()
        .token()
        .await
        .unwrap_err();
    assert!(err.to_string().contains("invalid_client"), "{err}");
    assert!(!err.to_string().contains("wrong-secret"), "{err}");
}

#[tokio::test]
async fn clients_that_send_the_secret_in_the_form_body_log_in_and_refresh() {
    // LinkedIn, Meta and TikTok want the secret in the body (client_secret_post);
    // what goes over the wire is checked in auth_quirks.rs.
    let server = OidcServer::start(3600);
    let dir = tempfile::tempdir().unwrap();
    let quirks = vec![AuthQuirk::ClientSecretInBody];
    let config = config(dir.path(), &server, POST_APP, "oauth2", quirks.clone());
    let tokens = providers(dir.path());
    let flow = flow(&tokens, &config, quirks);
    let token = login(&flow).await;
    let refreshed = flow
        .refresh(token.refresh_token.as_ref().unwrap(), None)
        .await
        .unwrap();
    assert!(refreshed.refresh_token.is_some());
    assert_ne!(refreshed.access_token, token.access_token);
}
