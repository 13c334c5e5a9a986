//! One credential's token flow, resolved from the connector's description (the
//! platform's endpoints, scopes, PKCE support and quirks) and the source's
//! `[sources.auth]` (client, secret, and overrides of endpoints and scopes, which
//! self-hosted platforms such as a Mastodon instance, and tests, need).

use super::error::AuthError;
use super::jwt::ServiceAccountSigner;
use super::quirks::meta_page_setting;
use std::sync::Arc;
use tally_config::secret::Secret;
use tally_config::{AuthMethod, SourceConfig};
use tally_model::{AuthKind, AuthQuirk, Description};

/// Which OAuth2 grant obtains the credential's tokens.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Grant {
    /// Authorization code: a user logs in with `tally auth login`.
    AuthorizationCode {
        /// The authorization endpoint.
        auth_url: String,
        /// Whether to send a PKCE challenge.
        pkce: bool,
    },
    /// Client credentials: the app gets tokens on its own.
    ClientCredentials,
    /// JWT bearer (RFC 7523): a service account signs an assertion with its
    /// key and trades it for a token, with no user and no refresh token.
    ServiceAccount,
}

/// Everything the token flows need about one credential.
#[derive(Debug, Clone)]
pub struct OAuthSettings {
    /// The source the credential was configured on (named in "run `tally auth
    /// login`" messages).
    pub source_id: String,
    /// The token file's name: `[sources.auth] credential`, or the source id.
    pub credential: String,
    /// The grant.
    pub grant: Grant,
    /// The token endpoint.
    pub token_url: String,
    /// The app's client id.
    pub client_id: String,
    /// The app's client secret, if it has one (public clients rely on PKCE).
    pub client_secret: Option<Secret>,
    /// Scopes to ask for.
    pub scopes: Vec<String>,
    /// The platform's quirks.
    pub quirks: Vec<AuthQuirk>,
    /// A refresh token from the config, used when no token is stored.
    pub refresh_token: Option<Secret>,
    /// Loopback port for the login redirect (0 or `None`: a free one).
    pub redirect_port: Option<u16>,
    /// The Meta page whose Page token the source uses.
    pub page_id: Option<String>,
    /// The service account's signing key ([`Grant::ServiceAccount`]).
    pub signer: Option<Arc<ServiceAccountSigner>>,
}

impl OAuthSettings {
    /// The settings of an `oauth2`, `client_credentials` or `service_account` source.
    pub fn resolve(
        source: &SourceConfig,
        description: &Description,
    ) -> Result<OAuthSettings, AuthError> {
        let auth = &source.auth;
        // A connector may declare two logins of one kind (Instagram: Facebook
        // Login and Instagram Login); a source picks the second by its token URL.
        let of_kind = || {
            description
                .auth
                .iter()
                .filter(|kind| AuthMethod::of(kind) == auth.kind)
        };
        let by_token_url = auth.token_url.as_deref().and_then(|url| {
            of_kind().find(|kind| {
                matches!(kind, AuthKind::OAuth2 { token_url, .. } | AuthKind::ClientCredentials { token_url, .. } if token_url == url)
            })
        });
        let declared = by_token_url.or_else(|| of_kind().next()).ok_or_else(|| {
            AuthError::Config(format!(
                "source `{}`: connector `{}` does not accept auth kind `{}`",
                source.id,
                description.name,
                auth.kind.as_str()
            ))
        })?;
        let (grant, token_url, scopes, quirks) = match declared {
            AuthKind::OAuth2 {
                auth_url,
                token_url,
                scopes,
                pkce,
                quirks,
            } => (
                Grant::AuthorizationCode {
                    auth_url: auth.auth_url.clone().unwrap_or_else(|| auth_url.clone()),
                    pkce: *pkce,
                },
                token_url,
                scopes,
                quirks,
            ),
            AuthKind::ClientCredentials {
                token_url,
                scopes,
                quirks,
            } => (Grant::ClientCredentials, token_url, scopes, quirks),
            AuthKind::ServiceAccount { scopes } => {
                return service_account(source, scopes);
            }
            other => {
                return Err(AuthError::Config(format!(
                    "source `{}`: auth kind `{}` has no token flow",
                    source.id,
                    other.name()
                )))
            }
        };
        let client_id = auth.client_id.clone().ok_or_else(|| {
            AuthError::Config(format!(
                "source `{}`: kind = \"{}\" needs `client_id` in [sources.auth]",
                source.id,
                auth.kind.as_str()
            ))
        })?;
        let page_id = match meta_page_setting(quirks) {
            None => None,
            Some(key) => Some(page_id_setting(source, key)?),
        };
        Ok(OAuthSettings {
            source_id: source.id.clone(),
            credential: auth.credential.clone().unwrap_or_else(|| source.id.clone()),
            grant,
            token_url: auth.token_url.clone().unwrap_or_else(|| token_url.clone()),
            client_id,
            client_secret: auth.client_secret.clone(),
            scopes: auth.scopes.clone().unwrap_or_else(|| scopes.clone()),
            quirks: quirks.clone(),
            refresh_token: auth.refresh_token.clone(),
            redirect_port: auth.redirect_port,
            page_id,
            signer: None,
        })
    }

    /// `oauth2`, `client_credentials` or `service_account`, as written in config and token files.
    pub fn kind(&self) -> &'static str {
        match self.grant {
            Grant::AuthorizationCode { .. } => AuthMethod::OAuth2.as_str(),
            Grant::ClientCredentials => AuthMethod::ClientCredentials.as_str(),
            Grant::ServiceAccount => AuthMethod::ServiceAccount.as_str(),
        }
    }

    /// Whether two sources' settings can share one token file: same grant, client
    /// and endpoints.
    pub fn same_credential(&self, other: &OAuthSettings) -> bool {
        self.grant == other.grant
            && self.token_url == other.token_url
            && self.client_id == other.client_id
            && self.page_id == other.page_id
    }
}

/// A service account's settings: its email is the client, its key file's
/// `token_uri` the endpoint, and its key is decoded here, so a key that cannot
/// sign stops the source before any request.
fn service_account(source: &SourceConfig, declared: &[String]) -> Result<OAuthSettings, AuthError> {
    let auth = &source.auth;
    let credential = auth.credential.clone().unwrap_or_else(|| source.id.clone());
    let key = auth.service_account.as_ref().ok_or_else(|| {
        AuthError::Config(format!(
            "source `{}`: kind = \"service_account\" needs `key_file` in [sources.auth]",
            source.id
        ))
    })?;
    let signer = ServiceAccountSigner::new(key, &credential)?;
    Ok(OAuthSettings {
        source_id: source.id.clone(),
        credential,
        grant: Grant::ServiceAccount,
        token_url: key.token_uri.clone(),
        client_id: key.client_email.clone(),
        client_secret: None,
        scopes: auth.scopes.clone().unwrap_or_else(|| declared.to_vec()),
        quirks: Vec::new(),
        refresh_token: None,
        redirect_port: None,
        page_id: None,
        signer: Some(Arc::new(signer)),
    })
}

fn page_id_setting(source: &SourceConfig, key: &str) -> Result<String, AuthError> {
    match source.settings.get(key) {
        Some(serde_json::Value::String(id)) if !id.is_empty() => Ok(id.clone()),
        Some(serde_json::Value::Number(n)) => Ok(n.to_string()),
        _ => Err(AuthError::Config(format!(
            "source `{}`: the Page token needs the page id in [sources.settings] {key}",
            source.id
        ))),
    }
}
