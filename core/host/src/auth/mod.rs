//! Credentials the host applies for connectors: OAuth2 logins, token storage,
//! refresh, and the platforms' departures from the standard.
//!
//! Connectors only declare an [`tally_model::AuthKind`] (with endpoints, scopes
//! and [`tally_model::AuthQuirk`]s); everything secret happens here, on the host
//! side, for built-in connectors and plugins alike (invariants 1 and 7):
//!
//! - `flow`: the grants, with the `oauth2` crate (PKCE S256, `state`, code
//!   exchange, refresh, client credentials), over `transport`'s HTTP client,
//!   and the JWT bearer grant of service accounts, whose assertion `jwt` signs;
//! - `quirks`: TikTok's `client_key`, Google's offline access, Meta's long-lived
//!   and Page tokens, X's rotating refresh tokens, secrets in the form body;
//! - `store`: one file per credential, mode 0600, written atomically, encrypted
//!   with `crypt` when a key is given;
//! - `provider` and `registry`: tokens read at use time and renewed before
//!   expiry or after a 401, single flight per credential across sources;
//! - `login` and `status`: the two halves of `tally auth`.

mod crypt;
mod error;
mod flow;
mod jwt;
mod login;
mod provider;
mod quirks;
mod registry;
mod reply;
mod settings;
mod status;
mod store;
mod token;
mod transport;

pub use crypt::{TokenKey, TOKEN_KEY_ENV};
pub use error::AuthError;
pub use flow::{Authorization, OAuthFlow};
pub use jwt::ServiceAccountSigner;
pub use login::PendingLogin;
pub use provider::{TokenProvider, DEFAULT_SKEW};
pub use registry::TokenProviders;
pub use settings::{Grant, OAuthSettings};
pub use status::{credential_status, CredentialStatus};
pub use store::{RenewalLock, TokenStore};
pub use token::{fingerprint, StoredToken, RECORD_VERSION};
pub use transport::TokenHttp;

use std::path::PathBuf;
use tally_config::Config;

/// Where a config's token files live: `[auth] tokens_dir`, else `tokens/` next
/// to the SQLite store.
pub fn tokens_dir(config: &Config) -> PathBuf {
    config.auth.tokens_dir.clone().unwrap_or_else(|| {
        config
            .storage
            .path
            .parent()
            .map_or_else(|| PathBuf::from("tokens"), |dir| dir.join("tokens"))
    })
}

/// The token store of a config, encrypted with the key from `env_key` (the value
/// of [`TOKEN_KEY_ENV`]) or `[auth] key_file`, if either is set.
pub fn token_store(config: &Config, env_key: Option<String>) -> Result<TokenStore, AuthError> {
    let key = TokenKey::from_sources(env_key, config.auth.key_file.as_deref())?;
    Ok(TokenStore::new(tokens_dir(config), key))
}
