//! One [`TokenProvider`] per credential for a whole run, so sources that share a
//! credential (`[sources.auth] credential = "..."`) share its single-flight
//! refresh, also when they are pulled concurrently.

use super::error::AuthError;
use super::flow::OAuthFlow;
use super::provider::{TokenProvider, DEFAULT_SKEW};
use super::settings::OAuthSettings;
use super::store::TokenStore;
use super::transport::TokenHttp;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tally_config::SourceConfig;
use tally_model::Description;

/// How long a token request may take.
const TOKEN_TIMEOUT: Duration = Duration::from_secs(30);

/// The token providers of a run, keyed by credential name (and a service
/// account's key id).
#[derive(Debug)]
pub struct TokenProviders {
    store: Arc<TokenStore>,
    http: TokenHttp,
    skew: chrono::Duration,
    providers: Mutex<HashMap<String, Arc<TokenProvider>>>,
}

impl TokenProviders {
    /// Providers over `store`, renewing tokens [`DEFAULT_SKEW`] before expiry.
    pub fn new(store: TokenStore) -> Result<TokenProviders, AuthError> {
        Ok(TokenProviders {
            store: Arc::new(store),
            http: TokenHttp::new(TOKEN_TIMEOUT)?,
            skew: DEFAULT_SKEW,
            providers: Mutex::new(HashMap::new()),
        })
    }

    /// The token store.
    pub fn store(&self) -> &TokenStore {
        &self.store
    }

    /// The flows of a source's credential, for `tally auth login`.
    pub fn flow_for(
        &self,
        source: &SourceConfig,
        description: &Description,
    ) -> Result<OAuthFlow, AuthError> {
        Ok(OAuthFlow::new(
            OAuthSettings::resolve(source, description)?,
            self.http.clone(),
        ))
    }

    /// The provider of a source's credential: created on first use and shared
    /// with every later source naming the same credential, which must then
    /// describe the same client and endpoints.
    pub fn provider_for(
        &self,
        source: &SourceConfig,
        description: &Description,
    ) -> Result<Arc<TokenProvider>, AuthError> {
        let settings = OAuthSettings::resolve(source, description)?;
        // A service account's key is part of the provider: a key file replaced
        // by a new key (a rotation, then a config reload) gets a provider of its
        // own, which goes on using the stored token until it is due.
        let slot = match &settings.signer {
            Some(signer) => format!("{}\n{}", settings.credential, signer.key_id()),
            None => settings.credential.clone(),
        };
        let mut providers = self.providers.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(existing) = providers.get(&slot) {
            let first = existing.settings();
            if !first.same_credential(&settings) {
                return Err(AuthError::Config(format!(
                    "sources `{}` and `{}` share credential `{}` but differ in grant, client_id, endpoints or page; give them different `credential` names in [sources.auth] or make them equal",
                    first.source_id, settings.source_id, settings.credential
                )));
            }
            return Ok(Arc::clone(existing));
        }
        let provider = Arc::new(TokenProvider::new(
            OAuthFlow::new(settings.clone(), self.http.clone()),
            Arc::clone(&self.store),
            self.skew,
        ));
        providers.insert(slot, Arc::clone(&provider));
        Ok(provider)
    }
}
