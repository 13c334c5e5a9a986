//! `[sources.auth] kind = "service_account"`: the key file is read at load,
//! relative to the config, and every way it can be wrong is named with the
//! credential, the file and what to do, never with the key.

use std::path::Path;
use tally_config::{AuthMethod, ConfigErrors, ParseContext};
use tally_model::{AuthKind, Description, RateLimitSpec};

/// Never printed: the tests check no message or `Debug` carries it.
const PRIVATE_KEY: &str =
    "-----BEGIN PRIVATE KEY-----\nMIIEvQ-private-key-body\n-----END PRIVATE KEY-----\n";

fn describe(name: &str, auth: Vec<AuthKind>) -> Description {
    Description {
        name: name.into(),
        platform: "google".into(),
        summary: "a Google API".into(),
        default_base_url: "https://analyticsdata.googleapis.com/v1beta".into(),
        metrics: vec!["traffic.sessions".into()],
        settings: vec![],
        auth,
        rate_limit: RateLimitSpec {
            requests: 10,
            per_seconds: 1,
            burst: 1,
        },
        usage_headers: None,
        api_version: None,
        throttle_errors: None,
        quota: None,
    }
}

fn connectors() -> Vec<Description> {
    vec![
        describe(
            "analytics",
            vec![
                AuthKind::oauth2("https://a.invalid/auth", "https://a.invalid/token", &["s"]),
                AuthKind::service_account(&["https://www.googleapis.com/auth/analytics.readonly"]),
            ],
        ),
        describe(
            "profile",
            vec![
                AuthKind::oauth2("https://a.invalid/auth", "https://a.invalid/token", &["s"]),
                AuthKind::Bearer,
            ],
        ),
    ]
}

fn source(connector: &str, auth: &str) -> String {
    format!(
        "[[sources]]\nid = \"ga\"\nconnector = \"{connector}\"\n[sources.auth]\nkind = \"service_account\"\n{auth}\n"
    )
}

fn parse_in(text: &str, dir: &Path) -> Result<tally_config::Config, ConfigErrors> {
    tally_config::parse_with(
        text,
        "tally.toml",
        &connectors(),
        &ParseContext {
            base_dir: dir,
            env: &|_| None,
        },
    )
}

/// The message of a config that must fail, checked for the key.
fn fail_in(text: &str, dir: &Path) -> String {
    let msg = parse_in(text, dir)
        .expect_err("config should be refused")
        .to_string();
    assert!(!msg.contains("MIIEvQ"), "the key leaked: {msg}");
    msg
}

fn key_json(kind: &str) -> String {
    serde_json::json!({
        "type": kind,
        "project_id": "agency",
        "private_key_id": "kid-1",
        "private_key": PRIVATE_KEY,
        "client_email": "reports@agency.iam.gserviceaccount.com",
        "client_id": "1",
        "token_uri": "https://oauth2.googleapis.com/token",
    })
    .to_string()
}

#[test]
fn the_key_file_is_read_relative_to_the_config_and_never_printed() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("ga4-key.json"), key_json("service_account")).unwrap();
    let c = parse_in(
        &source("analytics", "key_file = \"ga4-key.json\""),
        dir.path(),
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let auth = &c.sources[0].auth;
    assert_eq!(auth.kind, AuthMethod::ServiceAccount);
    assert_eq!(
        auth.key_file.as_deref(),
        Some(dir.path().join("ga4-key.json").as_path())
    );
    let key = auth.service_account.as_ref().unwrap();
    assert_eq!(key.client_email, "reports@agency.iam.gserviceaccount.com");
    assert_eq!(key.private_key_id, "kid-1");
    assert_eq!(key.token_uri, "https://oauth2.googleapis.com/token");
    assert_eq!(key.private_key.expose(), PRIVATE_KEY);
    let debug = format!("{c:?}");
    assert!(!debug.contains("MIIEvQ"), "{debug}");
}

#[test]
fn a_missing_key_file_names_the_credential_the_file_and_where_to_get_one() {
    let dir = tempfile::tempdir().unwrap();
    let msg = fail_in(
        &source(
            "analytics",
            "key_file = \"ga4-key.json\"\ncredential = \"agency\"",
        ),
        dir.path(),
    );
    let file = dir.path().join("ga4-key.json");
    assert_eq!(
        msg,
        format!(
            "tally.toml:6:12: sources[0].auth.key_file: cannot read the service-account key file {} of credential `agency`: No such file or directory (os error 2); download a JSON key in Google Cloud (IAM & Admin > Service accounts > Keys > Add key) and fix the path (relative paths start at the config file's directory)",
            file.display()
        )
    );
}

#[test]
fn a_key_file_that_is_not_json_says_where_it_stops_being_json() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("ga4-key.json"),
        format!(
            "{{\n  \"private_key\": \"{}\",\n  oops",
            PRIVATE_KEY.replace('\n', "\\n")
        ),
    )
    .unwrap();
    let msg = fail_in(
        &source("analytics", "key_file = \"ga4-key.json\""),
        dir.path(),
    );
    assert_eq!(
        msg,
        format!(
            "tally.toml:6:12: sources[0].auth.key_file: the service-account key file {} of credential `ga` is not JSON (line 3, column 3); download a JSON key in Google Cloud (IAM & Admin > Service accounts > Keys > Add key) and point `key_file` at it",
            dir.path().join("ga4-key.json").display()
        )
    );
}

#[test]
fn a_key_file_of_another_type_is_refused_with_what_it_is() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("ga4-key.json");
    std::fs::write(&file, key_json("authorized_user")).unwrap();
    let msg = fail_in(
        &source("analytics", "key_file = \"ga4-key.json\""),
        dir.path(),
    );
    assert_eq!(
        msg,
        format!(
            "tally.toml:6:12: sources[0].auth.key_file: the service-account key file {} of credential `ga` holds a user's credential (`type` is \"authorized_user\"), not a service account's; use kind = \"oauth2\" and `tally auth login` for a user, or download a JSON key in Google Cloud (IAM & Admin > Service accounts > Keys > Add key)",
            file.display()
        )
    );
    std::fs::write(&file, key_json("external_account")).unwrap();
    let msg = fail_in(
        &source("analytics", "key_file = \"ga4-key.json\""),
        dir.path(),
    );
    assert_eq!(
        msg,
        format!(
            "tally.toml:6:12: sources[0].auth.key_file: the service-account key file {} of credential `ga` is not a service-account key (`type` must be \"service_account\"); download a JSON key in Google Cloud (IAM & Admin > Service accounts > Keys > Add key)",
            file.display()
        )
    );
}

#[test]
fn a_key_file_without_its_email_is_incomplete() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("ga4-key.json");
    let mut key: serde_json::Value = serde_json::from_str(&key_json("service_account")).unwrap();
    key.as_object_mut().unwrap().remove("client_email");
    std::fs::write(&file, key.to_string()).unwrap();
    let msg = fail_in(
        &source("analytics", "key_file = \"ga4-key.json\""),
        dir.path(),
    );
    assert!(
        msg.ends_with(&format!(
            "the service-account key file {} of credential `ga` has no `client_email`; it is not a complete service-account key: download a JSON key in Google Cloud (IAM & Admin > Service accounts > Keys > Add key)",
            file.display()
        )),
        "{msg}"
    );
}

#[test]
fn a_service_account_needs_its_key_file_and_takes_no_client_secret() {
    let dir = tempfile::tempdir().unwrap();
    let msg = fail_in(&source("analytics", "client_secret = \"s\""), dir.path());
    assert!(
        msg.contains("`client_secret` is not used with kind = \"service_account\"; remove it or change `kind`"),
        "{msg}"
    );
    assert!(
        msg.contains("kind = \"service_account\" needs `key_file`; add it to [sources.auth]"),
        "{msg}"
    );
}

#[test]
fn a_connector_needing_a_users_consent_says_why_it_refuses_a_service_account() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("ga4-key.json"), key_json("service_account")).unwrap();
    let msg = fail_in(
        &source("profile", "key_file = \"ga4-key.json\""),
        dir.path(),
    );
    assert_eq!(
        msg,
        "tally.toml:5:8: sources[0].auth.kind: connector `profile` does not accept auth kind `service_account`; accepted kinds: `oauth2`, `bearer`: its data belongs to a user's account, which only that user's consent opens (a service account acts as itself); use kind = \"oauth2\" and `tally auth login`"
    );
}
