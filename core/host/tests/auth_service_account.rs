//! Service-account credentials in the host: one provider per key, so a key
//! file replaced by a new key takes over without a restart while the stored
//! token stays in use; and a key that cannot sign stops the source before any
//! request, naming the credential and the key file.

use crate::auth_support::{engine, parse, providers, Probe};
use serde_json::Value;
use std::path::Path;
use std::sync::Arc;
use tally_config::SourceConfig;
use tally_host::pull::SourceStatus;
use tally_model::Connector;
use tally_sandbox::{Sandbox, SandboxOptions};

/// A probe source signing in with the key file `key.json` in `dir`.
fn source(dir: &Path, api: &str) -> SourceConfig {
    let text = format!(
        "[[sources]]\nid = \"agency\"\nconnector = \"probe\"\nbase_url = \"{api}\"\n[sources.auth]\nkind = \"service_account\"\nkey_file = \"key.json\"\n"
    );
    parse(&text, dir, vec![]).sources.remove(0)
}

/// The sandbox's key file with `field` set to `value`.
fn key_file(sandbox: &Sandbox, field: &str, value: &str) -> String {
    let mut key: Value = serde_json::from_str(&sandbox.service_account_key_file()).unwrap();
    key[field] = Value::String(value.into());
    key.to_string()
}

async fn sandbox() -> Sandbox {
    Sandbox::start("127.0.0.1:0".parse().unwrap(), SandboxOptions::default())
        .await
        .unwrap()
}

#[tokio::test]
async fn a_new_key_gets_its_own_provider_and_the_stored_token_stays_in_use() {
    let sb = sandbox().await;
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("key.json"), sb.service_account_key_file()).unwrap();
    let tokens = providers(dir.path());
    let description = Probe { quirks: vec![] }.describe();
    let first = tokens
        .provider_for(&source(dir.path(), "http://127.0.0.1:9"), &description)
        .unwrap();
    let token = first.token().await.unwrap();
    assert_eq!(sb.token_grants().issued, 1);
    let again = tokens
        .provider_for(&source(dir.path(), "http://127.0.0.1:9"), &description)
        .unwrap();
    assert!(
        Arc::ptr_eq(&first, &again),
        "the same key, the same provider"
    );

    // The key is rotated and the config reloaded.
    std::fs::write(
        dir.path().join("key.json"),
        key_file(&sb, "private_key_id", "kid-2"),
    )
    .unwrap();
    let rotated = tokens
        .provider_for(&source(dir.path(), "http://127.0.0.1:9"), &description)
        .unwrap();
    assert!(!Arc::ptr_eq(&first, &rotated));
    let signer = rotated.settings().signer.as_ref().unwrap();
    assert_eq!(signer.key_id(), "kid-2");
    assert_eq!(
        rotated.token().await.unwrap(),
        token,
        "the stored token, until due"
    );
    assert_eq!(sb.token_grants().issued, 1);
}

#[tokio::test]
async fn a_key_that_cannot_sign_fails_the_source_before_any_request() {
    let sb = sandbox().await;
    let dir = tempfile::tempdir().unwrap();
    let pkcs1 =
        "-----BEGIN RSA PRIVATE KEY-----\nMIIEowIBAAKCAQEAsecret\n-----END RSA PRIVATE KEY-----\n";
    std::fs::write(
        dir.path().join("key.json"),
        key_file(&sb, "private_key", pkcs1),
    )
    .unwrap();
    let tokens = providers(dir.path());
    let engine = engine(dir.path(), vec![], tokens);
    let before = sb.stats().requests;
    let outcome = engine
        .pull_one(&source(dir.path(), &sb.base_url("probe")))
        .await;
    assert_eq!(
        outcome.status,
        SourceStatus::Failed(format!(
            "credential `agency` (service-account key file {}): `private_key` is a PKCS#1 RSA key (BEGIN RSA PRIVATE KEY), not PKCS#8; convert it with `openssl pkcs8 -topk8 -nocrypt` or download a new JSON key in Google Cloud (IAM & Admin > Service accounts > Keys > Add key) and point `key_file` at it",
            dir.path().join("key.json").display()
        ))
    );
    assert_eq!(sb.stats().requests, before, "no request went out");
    assert_eq!(sb.token_grants().issued + sb.token_grants().refused, 0);
}
