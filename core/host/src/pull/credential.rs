//! Turning `[sources.auth]` into the credential the host injects.

use crate::auth::TokenProviders;
use crate::http::Credential;
use tally_config::{AuthMethod, SourceConfig};
use tally_model::{AuthKind, Description};

/// The credential a source's requests carry, or a message saying what is missing.
/// OAuth2 kinds and service accounts get their tokens from `tokens` at each request.
pub fn credential_for(
    source: &SourceConfig,
    description: &Description,
    tokens: Option<&TokenProviders>,
) -> Result<Credential, String> {
    let auth = &source.auth;
    match auth.kind {
        AuthMethod::None => Ok(Credential::None),
        AuthMethod::ApiKey => {
            let key = auth.api_key.clone().ok_or_else(|| {
                "auth kind `api_key` needs `api_key` (or `api_key_file`) in [sources.auth]"
                    .to_string()
            })?;
            let (query_param, header) = description
                .auth
                .iter()
                .find_map(|a| match a {
                    AuthKind::ApiKey {
                        query_param,
                        header,
                    } => Some((query_param.clone(), header.clone())),
                    _ => None,
                })
                .ok_or_else(|| {
                    format!("connector `{}` does not take an API key", description.name)
                })?;
            Ok(Credential::ApiKey {
                key,
                query_param,
                header,
            })
        }
        AuthMethod::Bearer => auth.token.clone().map(Credential::Bearer).ok_or_else(|| {
            "auth kind `bearer` needs `token` (or `token_file`) in [sources.auth]".to_string()
        }),
        AuthMethod::OAuth2 | AuthMethod::ClientCredentials | AuthMethod::ServiceAccount => {
            let tokens = tokens.ok_or_else(|| {
                format!(
                    "auth kind `{}` needs the token store, which this command does not open",
                    auth.kind.as_str()
                )
            })?;
            let provider = tokens
                .provider_for(source, description)
                .map_err(|e| e.to_string())?;
            Ok(Credential::OAuth2(provider))
        }
    }
}
