//! Turning `[sources.auth]` into the credential the host injects.

use crate::config::{AuthMethod, SourceConfig};
use crate::http::Credential;
use tally_model::{AuthKind, Description};

/// The credential a source's requests carry, or a message saying what is missing.
pub fn credential_for(
    source: &SourceConfig,
    description: &Description,
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
        other => Err(format!(
            "auth kind `{}` needs a token from `tally auth login {}` first",
            other.as_str(),
            source.id
        )),
    }
}
