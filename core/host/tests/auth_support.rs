//! Shared pieces of the auth tests: a tiny OAuth2 connector, configs parsed the
//! way `tally` parses them, and the engine wired with a token store.

#![allow(dead_code)]

use async_trait::async_trait;
use std::path::Path;
use std::sync::{Arc, Mutex};
use tally_config::{self as config, Config, ParseContext};
use tally_host::auth::{TokenProviders, TokenStore};
use tally_host::catalog::{Catalog, Origin};
use tally_host::http::{HostHttp, HttpSettings, MemoryLedger};
use tally_host::pull::Engine;
use tally_model::{
    AuthKind, AuthQuirk, Connector, ConnectorError, Description, Emitter, Entity, EntityKind,
    HttpClientExt, HttpRequest, Point, PointTime, RateLimitSpec, SettingSpec, SourceContext,
};
use tally_store::Store;

/// A connector that reads `{"followers": N}` from `GET {base_url}/me`, with
/// OAuth2, client-credentials and service-account auth and the quirks given.
pub struct Probe {
    pub quirks: Vec<AuthQuirk>,
}

#[async_trait]
impl Connector for Probe {
    fn describe(&self) -> Description {
        Description {
            name: "probe".into(),
            platform: "probe".into(),
            summary: "test connector".into(),
            default_base_url: "https://probe.invalid".into(),
            metrics: vec!["audience.followers".into()],
            settings: vec![SettingSpec::optional("page_id", "a Meta page")],
            auth: vec![
                AuthKind::OAuth2 {
                    auth_url: "https://probe.invalid/auth".into(),
                    token_url: "https://probe.invalid/token".into(),
                    scopes: vec!["openid".into(), "offline_access".into(), "stats".into()],
                    pkce: true,
                    quirks: self.quirks.clone(),
                },
                AuthKind::ClientCredentials {
                    token_url: "https://probe.invalid/token".into(),
                    scopes: vec!["stats".into()],
                    quirks: self.quirks.clone(),
                },
                AuthKind::ApiKey {
                    query_param: Some("key".into()),
                    header: None,
                },
                AuthKind::Bearer,
                AuthKind::service_account(&["stats"]),
            ],
            rate_limit: RateLimitSpec {
                requests: 1000,
                per_seconds: 1,
                burst: 100,
            },
            usage_headers: None,
            api_version: None,
            throttle_errors: None,
            quota: None,
        }
    }

    async fn check(&self, ctx: &SourceContext<'_>) -> Result<String, ConnectorError> {
        ctx.http
            .get_json::<serde_json::Value>(HttpRequest::get(ctx.url("/me")))
            .await?;
        Ok("probe account".into())
    }

    async fn pull(
        &self,
        ctx: &SourceContext<'_>,
        out: &mut dyn Emitter,
    ) -> Result<(), ConnectorError> {
        let (me, _) = ctx
            .http
            .get_json::<serde_json::Value>(HttpRequest::get(ctx.url("/me")))
            .await?;
        let followers = me["followers"].as_f64().unwrap_or(0.0);
        out.emit(Point::new(
            "probe",
            "audience.followers",
            "followers",
            Entity::new(EntityKind::Account, "me", None),
            followers,
            PointTime::At(ctx.now),
        ))
    }
}

/// Parses a config the way `tally` does, against the probe connector.
pub fn parse(text: &str, dir: &Path, quirks: Vec<AuthQuirk>) -> Config {
    let descriptions = vec![Probe { quirks }.describe()];
    config::parse_with(
        text,
        "tally.toml",
        &descriptions,
        &ParseContext {
            base_dir: dir,
            env: &|_| None,
        },
    )
    .unwrap_or_else(|e| panic!("{e}"))
}

/// An engine over a fresh store in `dir` with the probe connector and `tokens`.
pub fn engine(dir: &Path, quirks: Vec<AuthQuirk>, tokens: Arc<TokenProviders>) -> Engine {
    let mut catalog = Catalog::default();
    catalog
        .add(Arc::new(Probe { quirks }), Origin::BuiltIn)
        .unwrap();
    let host = HostHttp::new(
        HttpSettings {
            max_attempts: 2,
            backoff_base: std::time::Duration::from_millis(10),
            ..HttpSettings::default()
        },
        Arc::new(MemoryLedger::default()),
    )
    .unwrap();
    let store = Store::open(&dir.join("tally.db")).unwrap();
    Engine::new(host, Arc::new(Mutex::new(store)), Arc::new(catalog)).with_tokens(tokens)
}

/// Token providers over a plain token store in `dir/tokens`.
pub fn providers(dir: &Path) -> Arc<TokenProviders> {
    Arc::new(TokenProviders::new(TokenStore::new(dir.join("tokens"), None)).unwrap())
}
