//! `tally auth` and secrets through the real binary: a login on a headless
//! machine against a real OAuth2 server (the pasted-redirect path), `auth
//! status`, and a pull at trace level with known secret values that must not
//! appear in any output or file afterwards.

#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "../../host/tests/oidc.rs"]
mod oidc;

use oidc::{approve_in_browser, OidcServer, APP};
use serde_json::{json, Value};
use std::io::{BufRead, BufReader, Write};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::Duration;
use tally_sandbox::{Sandbox, SandboxOptions};
use wiremock::matchers::{body_string_contains, header, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

const TOKEN_KEY: &str = "7f3a9c2e5b8d1f4a6c0e9b3d7a2f5c8e1b4d6a9c3f7e0b2d5a8c1e4f7b0a3d6c";

fn tally(dir: &Path, envs: &[(&str, &str)], args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_tally"))
        .current_dir(dir)
        .env_remove("TALLY_CONFIG")
        .env_remove("TALLY_LOG")
        .env_remove("TALLY_TOKEN_KEY")
        .envs(envs.iter().copied())
        .args(args)
        .stdin(Stdio::null())
        .output()
        .expect("tally runs")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// Every file under `dir`, recursively.
fn files(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            out.extend(files(&path));
        } else {
            out.push(path);
        }
    }
    out
}

fn contains(haystack: &[u8], needle: &str) -> bool {
    haystack
        .windows(needle.len())
        .any(|w| w == needle.as_bytes())
}

/// Known secret values, each used for one kind of credential.
const API_KEY: &str = "AIzaSECRET-api-key-0001";
const BEARER: &str = "SECRET-bearer-token-0002";
const CLIENT_SECRET: &str = "SECRET-client-secret-0003";
const SEED_REFRESH: &str = "SECRET-refresh-seed-0004";
const ACCESS_1: &str = "SECRET-access-first-0005";
const REFRESH_2: &str = "SECRET-refresh-rotated-0006";
const ACCESS_2: &str = "SECRET-access-second-0007";
const REFRESH_3: &str = "SECRET-refresh-rotated-0008";
const REFUSED_BEARER: &str = "SECRET-refused-bearer-0009";

/// A Mastodon look-alike that serves the account to requests with `token`.
async fn mastodon_for(token: &str, refuse: Option<&str>) -> MockServer {
    let server = MockServer::start().await;
    if let Some(refused) = refuse {
        Mock::given(header(
            "authorization",
            format!("Bearer {refused}").as_str(),
        ))
        .respond_with(
            ResponseTemplate::new(401)
                .set_body_json(json!({"error": "The access token is invalid"})),
        )
        .mount(&server)
        .await;
    }
    let account = include_str!("../../../connectors/mastodon/testdata/account.json");
    Mock::given(path("/api/v1/accounts/lookup"))
        .and(header("authorization", format!("Bearer {token}").as_str()))
        .respond_with(ResponseTemplate::new(200).set_body_raw(account, "application/json"))
        .mount(&server)
        .await;
    Mock::given(path("/api/v1/accounts/1/statuses"))
        .and(header("authorization", format!("Bearer {token}").as_str()))
        .respond_with(ResponseTemplate::new(200).set_body_raw("[]", "application/json"))
        .mount(&server)
        .await;
    server
}

#[tokio::test(flavor = "multi_thread")]
async fn a_pull_at_trace_level_leaks_no_secret_anywhere() {
    let sandbox = Sandbox::start(
        SocketAddr::from(([127, 0, 0, 1], 0)),
        SandboxOptions::default(),
    )
    .await
    .unwrap();
    // OAuth2: the configured refresh token gets ACCESS_1 (refused by the API),
    // whose 401 triggers a second refresh with the rotated REFRESH_2.
    let token_server = MockServer::start().await;
    for (given, access, rotated) in [
        (SEED_REFRESH, ACCESS_1, REFRESH_2),
        (REFRESH_2, ACCESS_2, REFRESH_3),
    ] {
        Mock::given(path("/oauth/token"))
            .and(body_string_contains(
                format!("refresh_token={given}").as_str(),
            ))
            .respond_with(ResponseTemplate::new(200).set_body_json(json!({
                "access_token": access, "token_type": "Bearer", "expires_in": 7200,
                "refresh_token": rotated, "scope": "read:accounts read:statuses"
            })))
            .expect(1)
            .mount(&token_server)
            .await;
    }
    let oauth_api = mastodon_for(ACCESS_2, Some(ACCESS_1)).await;
    let bearer_api = mastodon_for(BEARER, None).await;
    let refusing_api = mastodon_for("never", Some(REFUSED_BEARER)).await;

    let dir = tempfile::tempdir().unwrap();
    let secrets_dir = dir.path().join("secrets");
    std::fs::create_dir(&secrets_dir).unwrap();
    std::fs::write(
        secrets_dir.join("client_secret"),
        format!("{CLIENT_SECRET}\n"),
    )
    .unwrap();
    let data = dir.path().join("data");
    let config = format!(
        r#"
[storage]
path = "data/tally.db"

[http]
max_attempts = 2
backoff_base = "10ms"

[[sources]]
id = "yt-key"
connector = "youtube"
base_url = "{youtube}"
[sources.settings]
channel_id = "UChealthy"
[sources.auth]
kind = "api_key"
api_key = "${{TEST_YOUTUBE_KEY}}"

[[sources]]
id = "masto-bearer"
connector = "mastodon"
base_url = "{bearer}"
[sources.settings]
acct = "Gargron"
[sources.auth]
kind = "bearer"
token = "${{TEST_BEARER}}"

[[sources]]
id = "masto-refused"
connector = "mastodon"
base_url = "{refusing}"
[sources.settings]
acct = "Gargron"
[sources.auth]
kind = "bearer"
token = "{REFUSED_BEARER}"

[[sources]]
id = "masto-oauth"
connector = "mastodon"
base_url = "{oauth}"
[sources.settings]
acct = "Gargron"
[sources.auth]
kind = "oauth2"
client_id = "agency-app"
client_secret_file = "secrets/client_secret"
refresh_token = "${{TEST_REFRESH}}"
token_url = "{token_url}/oauth/token"
"#,
        youtube = sandbox.base_url("youtube"),
        bearer = bearer_api.uri(),
        refusing = refusing_api.uri(),
        oauth = oauth_api.uri(),
        token_url = token_server.uri(),
    );
    std::fs::write(dir.path().join("tally.toml"), config).unwrap();
    let envs = [
        ("TALLY_LOG", "trace"),
        ("TALLY_TOKEN_KEY", TOKEN_KEY),
        ("TEST_YOUTUBE_KEY", API_KEY),
        ("TEST_BEARER", BEARER),
        ("TEST_REFRESH", SEED_REFRESH),
    ];
    let run = |args: &'static [&'static str]| {
        let dir = dir.path().to_path_buf();
        tokio::task::spawn_blocking(move || tally(&dir, &envs, args))
    };
    let pull = run(&["-vv", "pull", "--format", "json"]).await.unwrap();
    let pull_err = text(&pull.stderr);
    let rows: Value = serde_json::from_slice(&pull.stdout)
        .unwrap_or_else(|e| panic!("{e}: {}\n{pull_err}", text(&pull.stdout)));
    let status = |id: &str| {
        rows.as_array()
            .unwrap()
            .iter()
            .find(|r| r["source"] == id)
            .map(|r| r["status"].as_str().unwrap().to_string())
            .unwrap()
    };
    assert_eq!(status("yt-key"), "ok", "{pull_err}");
    assert_eq!(status("masto-bearer"), "ok", "{pull_err}");
    assert_eq!(status("masto-oauth"), "ok", "{pull_err}");
    assert_eq!(status("masto-refused"), "failed", "{pull_err}");
    // The traces were really at trace level, with credentials in them redacted.
    assert!(pull_err.contains("request as sent"), "{pull_err}");
    assert!(pull_err.contains("key=[redacted]"), "{pull_err}");
    assert!(
        pull_err.contains("\"authorization\", \"[redacted]\""),
        "{pull_err}"
    );
    assert!(pull_err.contains("token renewed"), "{pull_err}");

    let check = run(&["-vv", "check"]).await.unwrap();
    let status_out = run(&["auth", "status", "--format", "json"]).await.unwrap();
    let statuses: Value = serde_json::from_slice(&status_out.stdout).unwrap();
    let oauth = statuses
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["source"] == "masto-oauth")
        .unwrap();
    assert_eq!(oauth["state"], "ok");
    assert_eq!(oauth["can_refresh"], true);
    let query = run(&["query", "--format", "json"]).await.unwrap();

    let secrets = [
        API_KEY,
        BEARER,
        CLIENT_SECRET,
        SEED_REFRESH,
        ACCESS_1,
        REFRESH_2,
        ACCESS_2,
        REFRESH_3,
        REFUSED_BEARER,
        TOKEN_KEY,
    ];
    let mut outputs: Vec<(String, Vec<u8>)> = Vec::new();
    for (name, out) in [
        ("pull", &pull),
        ("check", &check),
        ("auth status", &status_out),
        ("query", &query),
    ] {
        outputs.push((format!("{name} stdout"), out.stdout.clone()));
        outputs.push((format!("{name} stderr"), out.stderr.clone()));
    }
    let written = files(&data);
    assert!(
        written
            .iter()
            .any(|f| f.ends_with("tokens/masto-oauth.json")),
        "{written:?}"
    );
    assert!(
        written.iter().any(|f| f.ends_with("tally.db")),
        "{written:?}"
    );
    for file in written {
        outputs.push((file.display().to_string(), std::fs::read(&file).unwrap()));
    }
    for (name, bytes) in &outputs {
        for secret in secrets {
            assert!(!contains(bytes, secret), "{secret} leaked into {name}");
        }
    }
    // The rotated refresh token was saved (encrypted): the next run renews with it.
    let token_file = std::fs::read_to_string(data.join("tokens/masto-oauth.json")).unwrap();
    assert!(token_file.contains("xchacha20poly1305"), "{token_file}");
}

/// Runs `tally auth login SOURCE --no-browser`, plays the browser on another
/// machine, and pastes what `edit` makes of the address it ended on.
async fn login_pasting(dir: &Path, source: &str, edit: impl FnOnce(String) -> String) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_tally"))
        .current_dir(dir)
        .env_remove("TALLY_CONFIG")
        .env_remove("TALLY_TOKEN_KEY")
        .args(["auth", "login", source, "--no-browser"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    let reader = std::thread::spawn(move || {
        let mut seen = Vec::new();
        let mut sent = false;
        for line in BufReader::new(stdout).lines() {
            let line = line.unwrap();
            if !sent && line.trim_start().starts_with("http://") {
                tx.send(line.trim().to_string()).unwrap();
                sent = true;
            }
            seen.push(line);
        }
        seen.join("\n")
    });
    let url = tokio::task::spawn_blocking(move || rx.recv_timeout(Duration::from_secs(60)))
        .await
        .unwrap()
        .expect("tally auth login printed the authorization URL");
    let redirect = approve_in_browser(&url).await;
    let mut stdin = child.stdin.take().unwrap();
    writeln!(stdin, "{}", edit(redirect)).unwrap();
    let output = tokio::task::spawn_blocking(move || child.wait_with_output())
        .await
        .unwrap()
        .unwrap();
    let printed = reader.join().unwrap();
    Output {
        stdout: printed.into_bytes(),
        ..output
    }
}

fn oidc_config(dir: &Path, server: &OidcServer, api: &str) {
    std::fs::write(
        dir.join("tally.toml"),
        format!(
            r#"
[[sources]]
id = "masto-login"
connector = "mastodon"
base_url = "{api}"
[sources.settings]
acct = "Gargron"
[sources.auth]
kind = "oauth2"
client_id = "{}"
client_secret = "{}"
scopes = ["openid", "offline_access", "stats"]
auth_url = "{}"
token_url = "{}"
"#,
            APP.0,
            APP.1,
            server.auth_url(),
            server.token_url()
        ),
    )
    .unwrap();
}

#[tokio::test(flavor = "multi_thread")]
async fn a_headless_login_takes_the_pasted_redirect_and_the_pull_uses_its_token() {
    let server = OidcServer::start(3600);
    let dir = tempfile::tempdir().unwrap();
    oidc_config(dir.path(), &server, "http://127.0.0.1:9");
    let login = login_pasting(dir.path(), "masto-login", |redirect| redirect).await;
    let printed = text(&login.stdout);
    assert!(login.status.success(), "{printed}\n{}", text(&login.stderr));
    assert!(
        printed.contains("source `masto-login`: logged in"),
        "{printed}"
    );
    assert!(printed.contains("code_challenge_method=S256"), "{printed}");

    let file = dir.path().join("tokens/masto-login.json");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&file).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
    }
    let record: Value = serde_json::from_str(&std::fs::read_to_string(&file).unwrap()).unwrap();
    let access = record["access_token"].as_str().unwrap().to_string();
    let refresh = record["refresh_token"].as_str().unwrap().to_string();
    assert!(!printed.contains(&access) && !printed.contains(&refresh));

    let status = tally(dir.path(), &[], &["auth", "status"]);
    let table = text(&status.stdout);
    assert!(status.status.success(), "{table}{}", text(&status.stderr));
    assert!(
        table.contains("masto-login") && table.contains("oauth2") && table.contains("yes"),
        "{table}"
    );
    assert!(!table.contains(&access) && !table.contains(&refresh));

    // The pull sends exactly the stored token.
    let api = mastodon_for(&access, None).await;
    oidc_config(dir.path(), &server, &api.uri());
    let dir_path = dir.path().to_path_buf();
    let pull = tokio::task::spawn_blocking(move || tally(&dir_path, &[], &["pull"]))
        .await
        .unwrap();
    assert!(
        pull.status.success(),
        "{}{}",
        text(&pull.stdout),
        text(&pull.stderr)
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_pasted_redirect_of_another_login_is_refused() {
    let server = OidcServer::start(3600);
    let dir = tempfile::tempdir().unwrap();
    oidc_config(dir.path(), &server, "http://127.0.0.1:9");
    let login = login_pasting(dir.path(), "masto-login", |redirect| {
        let (head, rest) = redirect.split_once("state=").unwrap();
        let tail = rest.split_once('&').map(|(_, t)| t).unwrap_or("");
        format!("{head}state=from-another-login&{tail}")
    })
    .await;
    assert!(!login.status.success());
    let err = text(&login.stderr);
    assert!(err.contains("`state` is not this login's"), "{err}");
    assert!(err.contains("tally auth login masto-login"), "{err}");
    assert!(!dir.path().join("tokens/masto-login.json").exists());

    let status = tally(dir.path(), &[], &["auth", "status", "--format", "json"]);
    assert!(
        !status.status.success(),
        "a source that needs a login fails the status"
    );
    let statuses: Value = serde_json::from_slice(&status.stdout).unwrap();
    assert_eq!(statuses[0]["state"], "no token");
    assert_eq!(statuses[0]["hint"], "run `tally auth login masto-login`");
}

#[test]
fn login_explains_sources_without_a_login() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("tally.toml"),
        "[[sources]]\nid = \"public\"\nconnector = \"mastodon\"\n[sources.settings]\nacct = \"a\"\n",
    )
    .unwrap();
    let out = tally(dir.path(), &[], &["auth", "login", "public"]);
    assert!(!out.status.success());
    assert!(text(&out.stderr).contains("auth kind `none`, which has no login"));
    let out = tally(dir.path(), &[], &["auth", "login", "nope"]);
    assert!(text(&out.stderr).contains("no source `nope`"));
}

#[tokio::test(flavor = "multi_thread")]
async fn a_service_account_logs_in_to_ga4_and_is_refused_for_business_profile_with_why() {
    let sandbox = Sandbox::start(
        SocketAddr::from(([127, 0, 0, 1], 0)),
        SandboxOptions::default(),
    )
    .await
    .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let key = sandbox.service_account_key_file();
    std::fs::write(dir.path().join("ga4-key.json"), &key).unwrap();
    let source = |id: &str, connector: &str, settings: &str| {
        format!(
            "[[sources]]\nid = \"{id}\"\nconnector = \"{connector}\"\nbase_url = \"{}\"\n[sources.settings]\n{settings}\n[sources.auth]\nkind = \"service_account\"\nkey_file = \"ga4-key.json\"\n",
            sandbox.base_url(connector)
        )
    };
    std::fs::write(
        dir.path().join("tally.toml"),
        source("agency-ga4", "ga4", "property_id = \"123456789\""),
    )
    .unwrap();

    // No browser: the login signs a JWT and proves the key with a token.
    let login = tally(dir.path(), &[], &["auth", "login", "agency-ga4"]);
    assert!(login.status.success(), "{}", text(&login.stderr));
    assert_eq!(
        text(&login.stdout),
        "source `agency-ga4`: service-account key accepted; token stored in tokens\n"
    );
    let checked = tally(dir.path(), &[], &["check"]);
    assert!(checked.status.success(), "{}", text(&checked.stdout));
    assert_eq!(
        sandbox.token_grants().issued,
        1,
        "check used the stored token"
    );
    let status = tally(dir.path(), &[], &["auth", "status", "--format", "json"]);
    let statuses: Value = serde_json::from_slice(&status.stdout).unwrap();
    assert_eq!(statuses[0]["kind"], "service_account");
    assert_eq!(statuses[0]["state"], "ok");
    assert_eq!(statuses[0]["can_refresh"], true);

    // Business Profile data is a user's: `tally check` says so.
    std::fs::write(
        dir.path().join("tally.toml"),
        source(
            "bakery-gbp",
            "google_business_profile",
            "account_id = \"1234567890\"",
        ),
    )
    .unwrap();
    let refused = tally(dir.path(), &[], &["check", "--offline"]);
    assert!(!refused.status.success());
    assert_eq!(
        text(&refused.stderr),
        "error: tally.toml:8:8: sources[0].auth.kind: connector `google_business_profile` does not accept auth kind `service_account`; accepted kinds: `oauth2`, `bearer`: its data belongs to a user's account, which only that user's consent opens (a service account acts as itself); use kind = \"oauth2\" and `tally auth login`\n1 problem(s) in tally.toml; fix them and run `tally check --offline`\n"
    );
    let private_key: Value = serde_json::from_str(&key).unwrap();
    let pem_body = private_key["private_key"]
        .as_str()
        .unwrap()
        .lines()
        .nth(1)
        .unwrap();
    for out in [&login, &checked, &status, &refused] {
        assert!(!contains(&out.stdout, pem_body) && !contains(&out.stderr, pem_body));
    }
}
