//! Access tokens at the moment of use, renewed once for everyone who needs it.
//!
//! A [`TokenProvider`] serves one credential to every source that shares it. It
//! reads the token file at each use (so a login or a refresh by another process
//! is picked up), renews the token `skew` before it expires, and renews it when
//! the platform refuses it. Renewal is single flight: callers queue on one lock,
//! and each re-reads the store once it holds the lock, so only the first does the
//! refresh and the rest use its result. The same holds across processes: the
//! renewal also takes the token store's file lock for the credential, so a
//! daemon and a manual pull sharing a tokens directory refresh once between them. That matters beyond saving requests: a
//! platform that rotates refresh tokens (X) invalidates the old one on first use,
//! so a second concurrent refresh with it would fail, and may revoke the grant.
//! The renewed token is saved before it is handed out, so a rotated refresh token
//! is never lost.

use super::error::AuthError;
use super::flow::OAuthFlow;
use super::settings::{Grant, OAuthSettings};
use super::store::{RenewalLock, TokenStore};
use super::token::{fingerprint, StoredToken};
use crate::http::TokenSource;
use async_trait::async_trait;
use chrono::{Duration, Utc};
use sha2::{Digest, Sha256};
use std::sync::Arc;
use tally_config::secret::Secret;
use tally_model::HttpError;

/// How long before its expiry a token is renewed.
pub const DEFAULT_SKEW: Duration = Duration::seconds(60);

/// The access tokens of one credential.
#[derive(Debug)]
pub struct TokenProvider {
    flow: OAuthFlow,
    store: Arc<TokenStore>,
    flight: tokio::sync::Mutex<()>,
    skew: Duration,
}

impl TokenProvider {
    /// A provider renewing `skew` before expiry.
    pub fn new(flow: OAuthFlow, store: Arc<TokenStore>, skew: Duration) -> TokenProvider {
        TokenProvider {
            flow,
            store,
            flight: tokio::sync::Mutex::new(()),
            skew,
        }
    }

    /// The credential's settings.
    pub fn settings(&self) -> &OAuthSettings {
        self.flow.settings()
    }

    /// A token valid for at least the skew.
    pub async fn token(&self) -> Result<Secret, AuthError> {
        if let Some(current) = self.current()? {
            if current.is_fresh(Utc::now(), self.skew) {
                return Ok(current.access_token);
            }
        }
        self.renew(None).await
    }

    /// Renews the token, once for all concurrent callers. `rejected` is the token
    /// the platform refused, if that is why; a stored token that differs from it
    /// was renewed meanwhile and is returned as it is.
    pub async fn renew(&self, rejected: Option<&Secret>) -> Result<Secret, AuthError> {
        let _flight = self.flight.lock().await;
        let _across_processes = self.lock_renewal().await?;
        let current = self.current()?;
        if let Some(token) = &current {
            let replaced = rejected.is_none_or(|r| *r != token.access_token);
            if replaced && token.is_fresh(Utc::now(), self.skew) {
                return Ok(token.access_token.clone());
            }
        }
        let renewed = self.obtain(current, rejected.is_some()).await?;
        self.store.save(&renewed)?;
        tracing::info!(
            source = %self.settings().source_id,
            credential = %self.settings().credential,
            expires_at = ?renewed.expires_at,
            "token renewed"
        );
        Ok(renewed.access_token)
    }

    /// Waits on a blocking thread for the store's renewal lock of this credential,
    /// which another process may hold while it refreshes.
    async fn lock_renewal(&self) -> Result<RenewalLock, AuthError> {
        let store = Arc::clone(&self.store);
        let credential = self.settings().credential.clone();
        tokio::task::spawn_blocking(move || store.lock_renewal(&credential))
            .await
            .map_err(|e| AuthError::Config(format!("waiting for the token lock failed: {e}")))?
    }

    /// The stored record, if it belongs to the configured client and endpoint and
    /// is not older than a refresh token newly written into the config.
    fn current(&self) -> Result<Option<StoredToken>, AuthError> {
        let settings = self.settings();
        let Some(token) = self.store.load(&settings.credential)? else {
            return Ok(None);
        };
        let same_app =
            token.client_id == settings.client_id && token.token_url == settings.token_url;
        let seed = settings.refresh_token.as_ref().map(fingerprint);
        let superseded = seed.is_some() && token.seed != seed;
        Ok((same_app && !superseded).then_some(token))
    }

    /// A new token by whatever grant the credential has.
    async fn obtain(
        &self,
        current: Option<StoredToken>,
        refused: bool,
    ) -> Result<StoredToken, AuthError> {
        let settings = self.settings();
        match settings.grant {
            Grant::ClientCredentials => return self.flow.client_credentials().await,
            Grant::ServiceAccount => return self.flow.service_account().await,
            Grant::AuthorizationCode { .. } => {}
        }
        let login = |reason: String| AuthError::LoginRequired {
            source_id: settings.source_id.clone(),
            reason,
        };
        let (refresh_token, seed) = match &current {
            Some(token) => (token.refresh_token.clone(), token.seed.clone()),
            None => (
                settings.refresh_token.clone(),
                settings.refresh_token.as_ref().map(fingerprint),
            ),
        };
        // Instagram Login renews a long-lived token that has not run out yet.
        let still_valid = current
            .as_ref()
            .filter(|t| t.long_lived_expires_at.is_some_and(|at| at > Utc::now()));
        if let Some(token) = still_valid.filter(|_| !refused) {
            if let Some(renewed) = self.flow.instagram_renew(token).await {
                return renewed;
            }
        }
        let Some(refresh_token) = refresh_token else {
            return Err(login(match (&current, refused) {
                (None, _) => "no OAuth2 token is stored for it yet".to_string(),
                (Some(_), true) => {
                    "the platform refused its token and there is no refresh token to renew it"
                        .to_string()
                }
                (Some(token), false) => format!(
                    "its token expired at {} and the platform issues no refresh token",
                    token
                        .expires_at
                        .or(token.long_lived_expires_at)
                        .map_or_else(|| "an unknown time".to_string(), |t| t.to_rfc3339())
                ),
            }));
        };
        self.flow
            .refresh(&refresh_token, seed)
            .await
            .map_err(|e| match e {
                e if e.is_invalid_grant() => login(format!(
                    "{e}; the refresh token was revoked, expired or already used"
                )),
                e => e,
            })
    }

    fn credential_fingerprint(&self) -> String {
        let settings = self.settings();
        let name = format!(
            "{}\n{}\n{}",
            settings.credential, settings.client_id, settings.token_url
        );
        Sha256::digest(name.as_bytes())
            .iter()
            .take(6)
            .map(|b| format!("{b:02x}"))
            .collect()
    }
}

#[async_trait]
impl TokenSource for TokenProvider {
    fn fingerprint(&self) -> String {
        self.credential_fingerprint()
    }

    async fn access_token(&self) -> Result<Secret, HttpError> {
        self.token()
            .await
            .map_err(|e| HttpError::Other(e.to_string()))
    }

    async fn refresh_rejected(&self, rejected: &Secret) -> Result<Secret, HttpError> {
        self.renew(Some(rejected))
            .await
            .map_err(|e| HttpError::Other(e.to_string()))
    }
}
