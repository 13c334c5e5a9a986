//! One credential's token flow, resolved from the connector's description (the
//! platform's endpoints, scopes, PKCE support and quirks) and the source's
//! `[sources.auth]` (client, secret, and overrides of endpoints and scopes, which
//! self-hosted platforms such as a Mastodon instance, and tests, need).

use super::error::AuthError;
use super::quirks::meta_page_setting;
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
}

impl OAuthSettings {
    /// The settings of an `oauth2` or `client_credentials` source.
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
        })
    }

    /// `oauth2` or `client_credentials`, as written in config and token files.
    pub fn kind(&self) -> &'static str {
        match self.grant {
            Grant::AuthorizationCode { .. } => AuthMethod::OAuth2.as_str(),
            Grant::ClientCredentials => AuthMethod::ClientCredentials.as_str(),
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
