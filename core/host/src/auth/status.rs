//! `tally auth status`: what each source's credential is and how long it lasts,
//! from config and token files only (no requests), and never a token.

use super::error::AuthError;
use super::settings::OAuthSettings;
use super::store::TokenStore;
use chrono::{DateTime, Utc};
use serde::Serialize;
use tally_config::{AuthMethod, SourceConfig};
use tally_model::Description;

/// One source's credential, as `tally auth status` shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CredentialStatus {
    /// Source id.
    pub source: String,
    /// Auth kind (`api_key`, `oauth2`, ...).
    pub kind: String,
    /// Token file name for OAuth2 kinds.
    pub credential: Option<String>,
    /// `ok`, `expired`, `no token`, `static`, `none`, or what is wrong.
    pub state: String,
    /// Scopes granted (or configured, before a login).
    pub scopes: Vec<String>,
    /// When the access token expires, if it does.
    pub expires_at: Option<DateTime<Utc>>,
    /// Whether the host can get a new token without a login.
    pub can_refresh: bool,
    /// When the refresh token expires, where the platform says.
    pub refresh_expires_at: Option<DateTime<Utc>>,
    /// Whole days until a long-lived, non-refreshable token (Meta) expires.
    pub long_lived_days_left: Option<i64>,
    /// What to do, if anything.
    pub hint: Option<String>,
}

/// The status of `source`'s credential at `now`.
pub fn credential_status(
    source: &SourceConfig,
    description: &Description,
    store: &TokenStore,
    now: DateTime<Utc>,
) -> CredentialStatus {
    let kind = source.auth.kind;
    let mut status = CredentialStatus {
        source: source.id.clone(),
        kind: kind.as_str().to_string(),
        credential: None,
        state: match kind {
            AuthMethod::None => "none",
            _ => "static",
        }
        .to_string(),
        scopes: Vec::new(),
        expires_at: None,
        can_refresh: false,
        refresh_expires_at: None,
        long_lived_days_left: None,
        hint: None,
    };
    if !matches!(
        kind,
        AuthMethod::OAuth2 | AuthMethod::ClientCredentials | AuthMethod::ServiceAccount
    ) {
        return status;
    }
    if let Err(e) = oauth_status(&mut status, source, description, store, now) {
        status.state = "error".into();
        status.hint = Some(e.to_string());
    }
    status
}

fn oauth_status(
    status: &mut CredentialStatus,
    source: &SourceConfig,
    description: &Description,
    store: &TokenStore,
    now: DateTime<Utc>,
) -> Result<(), AuthError> {
    let settings = OAuthSettings::resolve(source, description)?;
    // These grants get a new token on their own, with no user and no refresh token.
    let client_credentials = matches!(
        source.auth.kind,
        AuthMethod::ClientCredentials | AuthMethod::ServiceAccount
    );
    status.credential = Some(settings.credential.clone());
    status.scopes = settings.scopes.clone();
    status.can_refresh = client_credentials || settings.refresh_token.is_some();
    let login = format!("run `tally auth login {}`", source.id);
    let record = store
        .load(&settings.credential)?
        .filter(|t| t.client_id == settings.client_id && t.token_url == settings.token_url);
    let Some(token) = record else {
        status.state = "no token".into();
        status.hint = if status.can_refresh {
            Some("a token is fetched at the next pull".into())
        } else {
            Some(login)
        };
        return Ok(());
    };
    status.scopes = token.scopes.clone();
    status.expires_at = token.expires_at;
    status.can_refresh = client_credentials || token.refresh_token.is_some();
    status.refresh_expires_at = token.refresh_expires_at;
    status.long_lived_days_left = token.long_lived_expires_at.map(|at| (at - now).num_days());
    let expired = !token.is_fresh(now, chrono::Duration::zero());
    status.state = if expired { "expired" } else { "ok" }.into();
    let long_lived_over = token.long_lived_expires_at.is_some_and(|at| at <= now);
    if (expired && !status.can_refresh) || long_lived_over {
        status.hint = Some(login);
    } else if expired {
        status.hint = Some("renewed at the next pull".into());
    }
    Ok(())
}
