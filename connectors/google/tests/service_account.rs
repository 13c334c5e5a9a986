//! GA4 through a service account, as an agency runs it: the host signs a JWT
//! with the key file, the sandbox's Google token endpoint verifies the
//! signature, and the token it issues opens the GA4 routes. A token is minted
//! once and reused until it is about to expire; a key Google no longer knows
//! fails the pull once, with what to do, and stores nothing.

use chrono::Utc;
use std::path::Path;
use std::sync::{Arc, Mutex};
use tally_config::{ParseContext, SourceConfig};
use tally_google::{Ga4, GoogleBusinessProfile, YoutubeAnalytics};
use tally_host::auth::{TokenProviders, TokenStore};
use tally_host::catalog::{Catalog, Origin};
use tally_host::http::{HostHttp, HttpSettings, MemoryLedger};
use tally_host::pull::{Engine, SourceStatus};
use tally_model::Connector;
use tally_sandbox::{Sandbox, SandboxOptions, TokenGrants, SAMPLE_SERVICE_ACCOUNT};
use tally_store::{PointQuery, Store};

/// The GA4 source of an agency's client, signing in as the service account.
fn source(dir: &Path, sandbox: &Sandbox, id: &str) -> SourceConfig {
    let text = format!(
        r#"
[[sources]]
id = "{id}"
connector = "ga4"
base_url = "{}"
[sources.settings]
property_id = "123456789"
[sources.auth]
kind = "service_account"
key_file = "ga4-key.json"
"#,
        sandbox.base_url("ga4")
    );
    let descriptions = [Ga4.describe()];
    let config = tally_config::parse_with(
        &text,
        "tally.toml",
        &descriptions,
        &ParseContext {
            base_dir: dir,
            env: &|_| None,
        },
    )
    .unwrap_or_else(|e| panic!("{e}"));
    config.sources.into_iter().next().unwrap()
}

/// An engine with the GA4 connector over a store and a token store in `dir`.
fn engine(dir: &Path) -> (Engine, Arc<TokenProviders>) {
    let mut catalog = Catalog::default();
    catalog.add(Arc::new(Ga4), Origin::BuiltIn).unwrap();
    let host = HostHttp::new(HttpSettings::default(), Arc::new(MemoryLedger::default())).unwrap();
    let store = Store::open(&dir.join("tally.db")).unwrap();
    let tokens = Arc::new(TokenProviders::new(TokenStore::new(dir.join("tokens"), None)).unwrap());
    let engine = Engine::new(host, Arc::new(Mutex::new(store)), Arc::new(catalog))
        .with_tokens(Arc::clone(&tokens));
    (engine, tokens)
}

async fn sandbox() -> Sandbox {
    Sandbox::start("127.0.0.1:0".parse().unwrap(), SandboxOptions::default())
        .await
        .unwrap()
}

fn points_of(engine: &Engine, source: &str) -> usize {
    let store = engine.store().lock().unwrap();
    store
        .query(&PointQuery {
            sources: vec![source.into()],
            ..PointQuery::default()
        })
        .unwrap()
        .len()
}

#[tokio::test]
async fn a_ga4_pull_mints_one_signed_token_reuses_it_and_mints_again_after_expiry() {
    let sb = sandbox().await;
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("ga4-key.json"),
        sb.service_account_key_file(),
    )
    .unwrap();
    let ga4 = source(dir.path(), &sb, "client-ga4");
    let (engine, tokens) = engine(dir.path());

    let first = engine.pull_one(&ga4).await;
    assert_eq!(first.status, SourceStatus::Ok);
    assert!(
        points_of(&engine, "client-ga4") > 100,
        "a month of GA4 days"
    );
    assert_eq!(
        sb.token_grants(),
        TokenGrants {
            issued: 1,
            refused: 0
        },
        "one JWT, verified"
    );
    let stored = tokens.store().load("client-ga4").unwrap().unwrap();
    assert_eq!(stored.kind, "service_account");
    assert_eq!(stored.client_id, SAMPLE_SERVICE_ACCOUNT);
    assert_eq!(stored.token_url, sb.google_token_url());
    assert!(
        stored.refresh_token.is_none(),
        "no refresh token in this flow"
    );
    let lifetime = stored.expires_at.unwrap() - Utc::now();
    assert!(lifetime.num_seconds() > 3500, "{lifetime}");

    // Within the hour: the same token, no new JWT.
    let second = engine.pull_one(&ga4).await;
    assert_eq!(second.status, SourceStatus::Ok);
    assert_eq!(sb.token_grants().issued, 1);

    // The hour is up: a new JWT is signed and traded, and the pull goes on.
    let mut expired = stored.clone();
    expired.expires_at = Some(Utc::now() - chrono::Duration::seconds(1));
    tokens.store().save(&expired).unwrap();
    let third = engine.pull_one(&ga4).await;
    assert_eq!(third.status, SourceStatus::Ok);
    assert_eq!(
        sb.token_grants(),
        TokenGrants {
            issued: 2,
            refused: 0
        }
    );
    let renewed = tokens.store().load("client-ga4").unwrap().unwrap();
    assert_ne!(renewed.access_token, stored.access_token);
}

#[tokio::test]
async fn a_deleted_key_fails_the_pull_once_with_what_to_do_and_changes_nothing() {
    let sb = sandbox().await;
    let dir = tempfile::tempdir().unwrap();
    let key_file = dir.path().join("ga4-key.json");
    std::fs::write(&key_file, sb.service_account_key_file()).unwrap();
    let (engine, _) = engine(dir.path());
    let ga4 = source(dir.path(), &sb, "client-ga4");
    assert_eq!(engine.pull_one(&ga4).await.status, SourceStatus::Ok);
    let points = points_of(&engine, "client-ga4");
    let state = engine
        .store()
        .lock()
        .unwrap()
        .load_state("client-ga4")
        .unwrap();

    // The key is deleted in Google Cloud and the token has run out; the next
    // `tally pull` reads the config (and the key file) afresh.
    std::fs::write(&key_file, sb.deleted_service_account_key_file()).unwrap();
    drop(engine);
    let (engine, tokens) = self::engine(dir.path());
    let ga4 = source(dir.path(), &sb, "client-ga4");
    let mut stored = tokens.store().load("client-ga4").unwrap().unwrap();
    stored.expires_at = Some(Utc::now() - chrono::Duration::seconds(1));
    tokens.store().save(&stored).unwrap();
    let ga4_requests = sb.stats().per_platform["ga4"].requests;

    let failed = engine.pull_one(&ga4).await;
    assert_eq!(
        failed.status,
        SourceStatus::Failed(format!(
            "credential `client-ga4` (service-account key file {}): token endpoint /google/oauth2/token refused the assertion signed for {SAMPLE_SERVICE_ACCOUNT}: invalid_grant: Invalid JWT Signature.; the key was deleted or disabled, the account removed, or this machine's clock is off; download a new JSON key in Google Cloud (IAM & Admin > Service accounts > Keys > Add key) and point `key_file` at it, then check it with `tally auth login client-ga4`",
            key_file.display()
        ))
    );
    assert_eq!(
        sb.token_grants(),
        TokenGrants {
            issued: 1,
            refused: 1
        },
        "one refused JWT, no retries"
    );
    assert_eq!(
        sb.stats().per_platform["ga4"].requests,
        ga4_requests,
        "no GA4 request went out without a token"
    );
    assert_eq!(points_of(&engine, "client-ga4"), points);
    assert_eq!(
        engine
            .store()
            .lock()
            .unwrap()
            .load_state("client-ga4")
            .unwrap(),
        state
    );

    // A new client's first pull with that key stores nothing at all.
    let fresh = source(dir.path(), &sb, "new-client-ga4");
    assert!(matches!(
        engine.pull_one(&fresh).await.status,
        SourceStatus::Failed(_)
    ));
    assert_eq!(points_of(&engine, "new-client-ga4"), 0);
    assert_eq!(
        engine
            .store()
            .lock()
            .unwrap()
            .load_state("new-client-ga4")
            .unwrap(),
        None
    );
}

#[test]
fn only_ga4_takes_a_service_account() {
    let kinds = |c: &dyn Connector| -> Vec<&'static str> {
        c.describe().auth.iter().map(|a| a.name()).collect()
    };
    assert_eq!(kinds(&Ga4), ["oauth2", "bearer", "service_account"]);
    assert_eq!(kinds(&GoogleBusinessProfile), ["oauth2", "bearer"]);
    assert_eq!(kinds(&YoutubeAnalytics), ["oauth2", "bearer"]);
}
