//! A real OAuth2 / OpenID server for tests: panva's `oidc-provider` from npm,
//! started from `server.mjs` beside this file on a free loopback port, plus a
//! minimal browser that logs in through its development login and consent pages.
//!
//! `.ci/run` installs the server with `npm ci`; when node or the package is
//! missing the tests fail and say how to install them (they never skip).

#![allow(dead_code)]

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::time::Duration;

/// Client of `server.mjs`: authorization code + PKCE, secret by HTTP Basic.
pub const APP: (&str, &str) = ("tally-app", "tally-app-secret-0123456789abcdef");
/// Client of `server.mjs`: authorization code + PKCE, secret in the form body.
pub const POST_APP: (&str, &str) = ("tally-post", "tally-post-secret-0123456789abcdef");
/// Client of `server.mjs`: client credentials.
pub const SERVICE: (&str, &str) = ("tally-service", "tally-service-secret-0123456789abcdef");

/// A running `oidc-provider`; stopped when dropped.
pub struct OidcServer {
    child: Child,
    stdin: Option<ChildStdin>,
    /// `http://127.0.0.1:PORT`.
    pub issuer: String,
}

fn server_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .ancestors()
        .map(|dir| dir.join("core/host/tests/oidc"))
        .find(|dir| dir.join("server.mjs").exists())
        .expect("core/host/tests/oidc/server.mjs in the workspace")
}

impl OidcServer {
    /// Starts the server with access tokens living `access_ttl_secs`.
    pub fn start(access_ttl_secs: u64) -> OidcServer {
        let dir = server_dir();
        let node = Command::new("node").arg("--version").output();
        assert!(
            node.is_ok_and(|o| o.status.success()),
            "node is not installed: the OAuth2 tests run a real OAuth2 server on Node.js 20+; install node and npm, then run `npm ci --prefix core/host/tests/oidc` (bash .ci/run does both)"
        );
        assert!(
            dir.join("node_modules/oidc-provider/package.json").exists(),
            "oidc-provider is not installed in {}: run `npm ci --prefix core/host/tests/oidc` (bash .ci/run does)",
            dir.display()
        );
        let mut child = Command::new("node")
            .arg("server.mjs")
            .current_dir(&dir)
            .env("OIDC_ACCESS_TTL", access_ttl_secs.to_string())
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("node server.mjs starts");
        let stdout = child.stdout.take().expect("piped stdout");
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            // The first line is the issuer; the rest (oidc-provider's notices) is
            // drained, since a closed pipe would kill the server on its next log.
            let mut lines = BufReader::new(stdout).lines();
            let first = lines.next().and_then(Result::ok).unwrap_or_default();
            let _ = tx.send(first);
            lines.for_each(drop);
        });
        let line = rx
            .recv_timeout(Duration::from_secs(60))
            .expect("oidc-provider printed its issuer within 60 s");
        let issuer = serde_json::from_str::<serde_json::Value>(&line)
            .ok()
            .and_then(|v| v["issuer"].as_str().map(str::to_string))
            .unwrap_or_else(|| panic!("server.mjs printed `{line}` instead of its issuer"));
        let stdin = child.stdin.take();
        OidcServer {
            child,
            stdin,
            issuer,
        }
    }

    /// The authorization endpoint.
    pub fn auth_url(&self) -> String {
        format!("{}/auth", self.issuer)
    }

    /// The token endpoint.
    pub fn token_url(&self) -> String {
        format!("{}/token", self.issuer)
    }

    /// Revokes a refresh token the way an account owner's "remove access" does.
    pub async fn revoke(&self, client: (&str, &str), token: &str) {
        let response = reqwest::Client::new()
            .post(format!("{}/token/revocation", self.issuer))
            .basic_auth(client.0, Some(client.1))
            .form(&[("token", token), ("token_type_hint", "refresh_token")])
            .send()
            .await
            .unwrap();
        assert!(
            response.status().is_success(),
            "revocation: {}",
            response.status()
        );
    }
}

impl Drop for OidcServer {
    fn drop(&mut self) {
        drop(self.stdin.take());
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Plays the user's browser: opens `url`, signs in on the development login
/// page, approves the consent page, and returns the address the server sends
/// the browser back to (the loopback redirect), without visiting it.
pub async fn approve_in_browser(url: &str) -> String {
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let mut cookies: BTreeMap<String, String> = BTreeMap::new();
    let mut current = reqwest::Url::parse(url).unwrap();
    let mut form: Option<Vec<(String, String)>> = None;
    for _ in 0..20 {
        let request = match form.take() {
            Some(fields) => client.post(current.clone()).form(&fields),
            None => client.get(current.clone()),
        };
        let cookie_header: Vec<String> = cookies.iter().map(|(k, v)| format!("{k}={v}")).collect();
        let response = request
            .header("cookie", cookie_header.join("; "))
            .send()
            .await
            .unwrap();
        for set in response.headers().get_all("set-cookie") {
            let pair = set.to_str().unwrap().split(';').next().unwrap();
            if let Some((name, value)) = pair.split_once('=') {
                cookies.insert(name.trim().to_string(), value.to_string());
            }
        }
        if response.status().is_redirection() {
            let location = response.headers()["location"].to_str().unwrap();
            let next = current.join(location).unwrap();
            if next.path() == "/callback" {
                return next.to_string();
            }
            current = next;
            continue;
        }
        let status = response.status();
        let page = response.text().await.unwrap();
        assert!(
            status.is_success(),
            "the authorization server answered {status}: {page}"
        );
        let action =
            between(&page, "action=\"", "\"").unwrap_or_else(|| panic!("no form on {page}"));
        let prompt = between(&page, "name=\"prompt\" value=\"", "\"").unwrap();
        current = current.join(&action).unwrap();
        form = Some(vec![
            ("prompt".into(), prompt),
            ("login".into(), "agency-user".into()),
            ("password".into(), "any".into()),
        ]);
    }
    panic!("the authorization did not come back to /callback within 20 steps");
}

fn between(text: &str, start: &str, end: &str) -> Option<String> {
    let from = text.find(start)? + start.len();
    let len = text[from..].find(end)?;
    Some(text[from..from + len].to_string())
}
