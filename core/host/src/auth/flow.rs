//! The OAuth2 grants, with the `oauth2` crate: the authorization URL (PKCE S256
//! challenge and a random `state`), the code exchange with the PKCE verifier,
//! refresh, and client credentials. Each turns the endpoint's answer into a
//! [`StoredToken`] ready for the store, with the platform's quirks applied
//! (Meta's long-lived exchange and Page token happen right after the code
//! exchange, so what is stored is what requests use). The JWT bearer grant of
//! service accounts, which the `oauth2` crate has no request for, is a form
//! POST of its own.

use super::error::AuthError;
use super::jwt::{ServiceAccountSigner, GET_A_NEW_KEY};
use super::quirks::{self, scrub};
use super::reply::TokenReply;
use super::settings::{Grant, OAuthSettings};
use super::token::{fingerprint, StoredToken, RECORD_VERSION};
use super::transport::{TokenHttp, TransportError};
use chrono::{DateTime, Utc};
use oauth2::basic::{
    BasicErrorResponse, BasicRevocationErrorResponse, BasicTokenIntrospectionResponse,
};
use oauth2::{
    AuthUrl, AuthorizationCode, ClientId, ClientSecret, CsrfToken, EndpointNotSet, EndpointSet,
    PkceCodeChallenge, PkceCodeVerifier, RedirectUrl, RefreshToken, RequestTokenError, Scope,
    StandardRevocableToken, TokenResponse, TokenUrl,
};
use tally_config::secret::Secret;
use tally_model::error::{snippet, url_path};
use tally_model::AuthQuirk;

/// The `grant_type` of a JWT bearer request (RFC 7523 §2.1).
const JWT_BEARER: &str = "urn:ietf:params:oauth:grant-type:jwt-bearer";

type TokenClient = oauth2::Client<
    BasicErrorResponse,
    TokenReply,
    BasicTokenIntrospectionResponse,
    StandardRevocableToken,
    BasicRevocationErrorResponse,
    EndpointNotSet,
    EndpointNotSet,
    EndpointNotSet,
    EndpointNotSet,
    EndpointSet,
>;

/// An authorization URL and the secrets that go with it until the redirect
/// comes back: the `state` to compare and the PKCE verifier to send.
pub struct Authorization {
    /// The URL to open in a browser.
    pub url: url::Url,
    /// Where the platform sends the browser back.
    pub redirect_uri: String,
    state: CsrfToken,
    verifier: Option<PkceCodeVerifier>,
}

impl std::fmt::Debug for Authorization {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Authorization")
            .field("redirect_uri", &self.redirect_uri)
            .finish_non_exhaustive()
    }
}

impl Authorization {
    /// Whether `state` is the one this authorization sent.
    pub fn state_matches(&self, state: &str) -> bool {
        let expected = self.state.secret().as_bytes();
        let given = state.as_bytes();
        // Constant time: the comparison must not tell an attacker how close they are.
        expected.len() == given.len()
            && expected
                .iter()
                .zip(given)
                .fold(0u8, |acc, (a, b)| acc | (a ^ b))
                == 0
    }
}

/// One credential's token flows.
#[derive(Debug, Clone)]
pub struct OAuthFlow {
    settings: OAuthSettings,
    http: TokenHttp,
}

impl OAuthFlow {
    /// The flows of a credential, sending through `http`.
    pub fn new(settings: OAuthSettings, http: TokenHttp) -> OAuthFlow {
        OAuthFlow { settings, http }
    }

    /// The credential's settings.
    pub fn settings(&self) -> &OAuthSettings {
        &self.settings
    }

    fn client(&self) -> Result<TokenClient, AuthError> {
        let token_url = TokenUrl::new(self.settings.token_url.clone()).map_err(|e| {
            AuthError::Config(format!(
                "source `{}`: the token URL is not a URL ({e}); fix [sources.auth] token_url",
                self.settings.source_id
            ))
        })?;
        let mut client = oauth2::Client::new(ClientId::new(self.settings.client_id.clone()))
            .set_token_uri(token_url)
            .set_auth_type(quirks::auth_type(&self.settings.quirks));
        if let Some(secret) = &self.settings.client_secret {
            client = client.set_client_secret(ClientSecret::new(secret.expose().to_string()));
        }
        Ok(client)
    }

    fn path(&self) -> String {
        url_path(&self.settings.token_url)
    }

    /// The authorization URL for a login that redirects to `redirect_uri`.
    pub fn authorize(&self, redirect_uri: &str) -> Result<Authorization, AuthError> {
        let Grant::AuthorizationCode { auth_url, pkce } = &self.settings.grant else {
            return Err(AuthError::Login(format!(
                "source `{}` uses {}, which need no login: its tokens are fetched when it is pulled",
                self.settings.source_id,
                match self.settings.grant {
                    Grant::ServiceAccount => "a service account",
                    _ => "client credentials",
                }
            )));
        };
        let auth_url = AuthUrl::new(auth_url.clone()).map_err(|e| {
            AuthError::Config(format!(
                "source `{}`: the authorization URL is not a URL ({e}); fix [sources.auth] auth_url",
                self.settings.source_id
            ))
        })?;
        let redirect = RedirectUrl::new(redirect_uri.to_string())
            .map_err(|e| AuthError::Login(format!("bad redirect URI: {e}")))?;
        let client = self
            .client()?
            .set_auth_uri(auth_url)
            .set_redirect_uri(redirect);
        let mut request = client
            .authorize_url(CsrfToken::new_random)
            .add_scopes(self.settings.scopes.iter().cloned().map(Scope::new));
        let mut verifier = None;
        if *pkce {
            let (challenge, pkce_verifier) = PkceCodeChallenge::new_random_sha256();
            request = request.set_pkce_challenge(challenge);
            verifier = Some(pkce_verifier);
        }
        let (url, state) = request.url();
        Ok(Authorization {
            url: quirks::adjust_authorize_url(&url, &self.settings.quirks),
            redirect_uri: redirect_uri.to_string(),
            state,
            verifier,
        })
    }

    /// Exchanges the code of a finished login (its `state` already checked) for
    /// tokens, then applies Meta's long-lived exchange and Page token.
    pub async fn exchange_code(
        &self,
        authorization: Authorization,
        code: &str,
    ) -> Result<StoredToken, AuthError> {
        let redirect = RedirectUrl::new(authorization.redirect_uri.clone())
            .map_err(|e| AuthError::Login(format!("bad redirect URI: {e}")))?;
        let client = self.client()?.set_redirect_uri(redirect);
        let mut request = client.exchange_code(AuthorizationCode::new(code.to_string()));
        if let Some(verifier) = authorization.verifier {
            request = request.set_pkce_verifier(verifier);
        }
        let http = self.http.for_quirks(&self.settings.quirks);
        let code_secret = Secret::new(code);
        let reply = request
            .request_async(&http)
            .await
            .map_err(|e| self.request_error(e, &[&code_secret]))?;
        let token = self.record(&reply, None, Utc::now());
        self.meta_tokens(token).await
    }

    /// A new access token from `refresh_token`. A rotated refresh token in the
    /// answer replaces it; otherwise it is kept, except where the platform rotates
    /// (then a spent one is not kept).
    pub async fn refresh(
        &self,
        refresh_token: &Secret,
        seed: Option<String>,
    ) -> Result<StoredToken, AuthError> {
        let rt = RefreshToken::new(refresh_token.expose().to_string());
        let http = self.http.for_quirks(&self.settings.quirks);
        let reply = self
            .client()?
            .exchange_refresh_token(&rt)
            .request_async(&http)
            .await
            .map_err(|e| self.request_error(e, &[refresh_token]))?;
        let kept = quirks::keeps_unrotated_refresh_token(&self.settings.quirks)
            .then(|| refresh_token.clone());
        let mut token = self.record(&reply, kept, Utc::now());
        token.seed = seed;
        Ok(token)
    }

    /// A token for the app itself (client credentials grant).
    pub async fn client_credentials(&self) -> Result<StoredToken, AuthError> {
        let http = self.http.for_quirks(&self.settings.quirks);
        let client = self.client()?;
        let reply = client
            .exchange_client_credentials()
            .add_scopes(self.settings.scopes.iter().cloned().map(Scope::new))
            .request_async(&http)
            .await
            .map_err(|e| self.request_error(e, &[]))?;
        Ok(self.record(&reply, None, Utc::now()))
    }

    /// A token for a service account: an assertion signed with its key now,
    /// traded at the token endpoint (RFC 7523).
    pub async fn service_account(&self) -> Result<StoredToken, AuthError> {
        let settings = &self.settings;
        let signer = settings.signer.as_ref().ok_or_else(|| {
            AuthError::Config(format!(
                "source `{}`: no service-account key was loaded for it",
                settings.source_id
            ))
        })?;
        let now = Utc::now();
        let assertion = signer.assertion(&settings.scopes, &settings.token_url, now)?;
        let form = [
            ("grant_type", JWT_BEARER),
            ("assertion", assertion.expose()),
        ];
        let (status, body) = self.http.post_form(&settings.token_url, &form).await?;
        if !(200..300).contains(&status) {
            return Err(self.assertion_refused(signer, status, &body, &assertion));
        }
        let reply: TokenReply = serde_json::from_slice(&body).map_err(|e| AuthError::Endpoint {
            path: self.path(),
            message: format!(
                "answered {status} with a body that is not an OAuth2 token response ({e})"
            ),
        })?;
        Ok(self.record(&reply, None, now))
    }

    /// The token endpoint's refusal of `assertion`, naming the credential, its
    /// key file, what may be wrong and `tally auth login`, which tries the key
    /// again. Neither the assertion nor the key appears in it.
    fn assertion_refused(
        &self,
        signer: &ServiceAccountSigner,
        status: u16,
        body: &[u8],
        assertion: &Secret,
    ) -> AuthError {
        let path = self.path();
        let Ok(refusal) = serde_json::from_slice::<BasicErrorResponse>(body) else {
            let shown = if body.trim_ascii_start().starts_with(b"{") {
                String::new()
            } else {
                format!(": {}", scrub(&snippet(body), &[assertion]))
            };
            return AuthError::Endpoint {
                path,
                message: format!("answered {status} without an OAuth2 error{shown}"),
            };
        };
        let code = refusal.error().as_ref().to_string();
        let description = refusal
            .error_description()
            .map(|d| format!(": {}", scrub(d, &[assertion])))
            .unwrap_or_default();
        let what_to_do = if code == "invalid_grant" {
            format!("the key was deleted or disabled, the account removed, or this machine's clock is off; {GET_A_NEW_KEY}")
        } else {
            "check the scopes in [sources.auth] and the account in Google Cloud".to_string()
        };
        AuthError::ServiceAccount {
            credential: self.settings.credential.clone(),
            key_file: signer.key_file().to_path_buf(),
            message: format!(
                "token endpoint {path} refused the assertion signed for {}: {code}{description}; {what_to_do}, then check it with `tally auth login {}`",
                signer.client_email(),
                self.settings.source_id
            ),
        }
    }

    /// The record for an answer; `kept` is the refresh token to keep when the
    /// answer has none.
    fn record(&self, reply: &TokenReply, kept: Option<Secret>, now: DateTime<Utc>) -> StoredToken {
        let after = |d: std::time::Duration| chrono::Duration::from_std(d).ok().map(|d| now + d);
        let scopes = reply.scopes().map_or_else(
            || self.settings.scopes.clone(),
            |s| s.iter().map(|s| s.to_string()).collect(),
        );
        StoredToken {
            version: RECORD_VERSION,
            credential: self.settings.credential.clone(),
            kind: self.settings.kind().to_string(),
            client_id: self.settings.client_id.clone(),
            token_url: self.settings.token_url.clone(),
            access_token: Secret::new(reply.access_token().secret().clone()),
            token_type: reply.token_type().as_ref().to_string(),
            expires_at: reply.expires_in().and_then(after),
            refresh_token: reply
                .refresh_token()
                .map(|rt| Secret::new(rt.secret().clone()))
                .or(kept),
            refresh_expires_at: reply.refresh_expires_in().and_then(after),
            long_lived_expires_at: None,
            scopes,
            obtained_at: now,
            seed: self.settings.refresh_token.as_ref().map(fingerprint),
        }
    }

    /// Meta: swap the short-lived user token for a long-lived one, then (with a
    /// page configured) for that page's token. Other platforms: unchanged.
    async fn meta_tokens(&self, mut token: StoredToken) -> Result<StoredToken, AuthError> {
        let quirks = &self.settings.quirks;
        if let Some(graph) = quirks::instagram_graph(quirks) {
            let secret = self.settings.client_secret.as_ref().ok_or_else(|| {
                AuthError::Config(format!(
                    "source `{}`: Instagram's long-lived token exchange needs `client_secret` in [sources.auth]",
                    self.settings.source_id
                ))
            })?;
            let long =
                quirks::instagram_long_lived(&self.http, graph, Some(secret), &token.access_token)
                    .await?;
            return Ok(instagram_token(token, long));
        }
        if !quirks.contains(&AuthQuirk::MetaLongLivedExchange) {
            return Ok(token);
        }
        let secret = self.settings.client_secret.as_ref().ok_or_else(|| {
            AuthError::Config(format!(
                "source `{}`: Meta's long-lived token exchange needs `client_secret` in [sources.auth]",
                self.settings.source_id
            ))
        })?;
        let long = quirks::meta_long_lived(
            &self.http,
            &self.settings.token_url,
            &self.settings.client_id,
            secret,
            &token.access_token,
        )
        .await?;
        let now = Utc::now();
        let expires_at = long
            .expires_in
            .and_then(|s| chrono::Duration::try_seconds(s as i64))
            .map(|d| now + d);
        token.long_lived_expires_at = expires_at;
        token.refresh_token = None;
        token.obtained_at = now;
        match &self.settings.page_id {
            Some(page_id) => {
                token.access_token = quirks::meta_page_token(
                    &self.http,
                    &self.settings.token_url,
                    page_id,
                    &long.token,
                )
                .await?;
                // A Page token from a long-lived user token has no expiry of its own;
                // it stops with the user's authorization, tracked above.
                token.expires_at = None;
            }
            None => {
                token.access_token = long.token;
                token.expires_at = expires_at;
            }
        }
        Ok(token)
    }

    /// Instagram Login: renews a long-lived token that is still valid with
    /// `grant_type=ig_refresh_token` (another 60 days). `None` for other platforms.
    pub(crate) async fn instagram_renew(
        &self,
        current: &StoredToken,
    ) -> Option<Result<StoredToken, AuthError>> {
        let graph = quirks::instagram_graph(&self.settings.quirks)?;
        let renewed =
            quirks::instagram_long_lived(&self.http, graph, None, &current.access_token).await;
        Some(renewed.map(|long| instagram_token(current.clone(), long)))
    }

    fn request_error(
        &self,
        error: RequestTokenError<TransportError, BasicErrorResponse>,
        sent: &[&Secret],
    ) -> AuthError {
        let mut secrets: Vec<&Secret> = sent.to_vec();
        secrets.extend(self.settings.client_secret.as_ref());
        let path = self.path();
        match error {
            RequestTokenError::ServerResponse(response) => AuthError::Refused {
                path,
                code: response.error().as_ref().to_string(),
                description: response
                    .error_description()
                    .map(|d| format!(": {}", scrub(d, &secrets)))
                    .unwrap_or_default(),
            },
            RequestTokenError::Request(e) => AuthError::Endpoint {
                path,
                message: format!("no answer: {e}"),
            },
            RequestTokenError::Parse(e, body) => {
                // A JSON answer may hold a token next to the field that failed, so
                // only a page that is not JSON (a proxy's error page) is quoted.
                let shown = if body.trim_ascii_start().starts_with(b"{") {
                    String::new()
                } else {
                    format!(": {}", scrub(&snippet(&body), &secrets))
                };
                AuthError::Endpoint {
                    path,
                    message: format!(
                        "the answer is not an OAuth2 token response (at `{}`){shown}",
                        e.path()
                    ),
                }
            }
            RequestTokenError::Other(message) => AuthError::Endpoint { path, message },
        }
    }
}

/// `token` carrying Instagram's long-lived `long`: it lasts until
/// `long_lived_expires_at` and is due for renewal
/// [`quirks::INSTAGRAM_RENEW_DAYS`] before (its `expires_at`).
fn instagram_token(mut token: StoredToken, long: quirks::MetaToken) -> StoredToken {
    let now = Utc::now();
    let lasts_until = long
        .expires_in
        .and_then(|s| chrono::Duration::try_seconds(s as i64))
        .map(|d| now + d);
    token.access_token = long.token;
    token.long_lived_expires_at = lasts_until;
    token.expires_at =
        lasts_until.map(|at| at - chrono::Duration::days(quirks::INSTAGRAM_RENEW_DAYS));
    token.refresh_token = None;
    token.obtained_at = now;
    token
}
