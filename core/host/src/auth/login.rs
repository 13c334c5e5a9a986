//! `tally auth login`: the loopback half of the authorization code flow.
//!
//! The platform sends the browser back to `http://127.0.0.1:PORT/callback`
//! (RFC 8252's loopback redirect for native apps); a listener bound to the
//! loopback interface only answers that one request. On a headless server the
//! browser runs elsewhere and cannot reach the listener, so the user pastes the
//! address the browser ended on instead, and the same checks apply to it: the
//! `state` must be this login's (else the redirect is stale or forged and its code
//! is never exchanged), and an `error` from the platform is reported as such.

use super::error::AuthError;
use super::flow::{Authorization, OAuthFlow};
use super::token::StoredToken;
use std::time::Duration;
use tally_config::secret::Secret;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// Longest a stray connection may take to send its request line.
const READ_TIMEOUT: Duration = Duration::from_secs(10);
/// Largest request head read from the browser.
const MAX_HEAD: usize = 16 * 1024;

/// A login waiting for the browser to come back.
#[derive(Debug)]
pub struct PendingLogin {
    source_id: String,
    authorization: Authorization,
    listener: TcpListener,
}

impl PendingLogin {
    /// Listens on 127.0.0.1:`port` (0: a free port) and builds the authorization URL
    /// that redirects there.
    pub async fn start(flow: &OAuthFlow, port: u16) -> Result<PendingLogin, AuthError> {
        let listener = TcpListener::bind(("127.0.0.1", port)).await.map_err(|e| {
            AuthError::Login(format!(
                "cannot listen on 127.0.0.1:{port} for the redirect: {e}; pick another port with --port or [sources.auth] redirect_port"
            ))
        })?;
        let port = listener
            .local_addr()
            .map_err(|e| AuthError::Login(format!("the redirect listener has no address: {e}")))?
            .port();
        let authorization = flow.authorize(&format!("http://127.0.0.1:{port}/callback"))?;
        Ok(PendingLogin {
            source_id: flow.settings().source_id.clone(),
            authorization,
            listener,
        })
    }

    /// The URL to open in a browser.
    pub fn url(&self) -> &url::Url {
        &self.authorization.url
    }

    /// The redirect URI the platform must accept (register it with the app).
    pub fn redirect_uri(&self) -> &str {
        &self.authorization.redirect_uri
    }

    /// Waits for the browser at the redirect, answers it with a page saying what
    /// happened, and returns the authorization code once one checks out.
    pub async fn receive(&self) -> Result<Secret, AuthError> {
        loop {
            let (stream, _) = self
                .listener
                .accept()
                .await
                .map_err(|e| AuthError::Login(format!("the redirect listener failed: {e}")))?;
            let Some((target, mut stream)) = read_target(stream).await else {
                continue;
            };
            if !target.starts_with("/callback") {
                respond(
                    &mut stream,
                    "404 Not Found",
                    "Not the Tally login redirect.",
                )
                .await;
                continue;
            }
            let checked = self.code_from_redirect(&target);
            let page = match &checked {
                Ok(_) => "Tally received the authorization. You can close this tab.".to_string(),
                Err(e) => format!(
                    "Tally could not use this authorization: {}",
                    html_escape(&e.to_string())
                ),
            };
            respond(&mut stream, "200 OK", &page).await;
            return checked;
        }
    }

    /// The authorization code of a redirect (the address the browser ended on, as
    /// received or pasted), after checking its `state` and error parameters.
    pub fn code_from_redirect(&self, redirect: &str) -> Result<Secret, AuthError> {
        let parsed = url::Url::parse("http://127.0.0.1/")
            .and_then(|base| base.join(redirect.trim()))
            .map_err(|_| AuthError::Login("that is not the address of the redirect; paste the whole address from the browser's address bar".into()))?;
        let param = |name: &str| {
            parsed
                .query_pairs()
                .find(|(k, _)| k == name)
                .map(|(_, v)| v.into_owned())
        };
        if let Some(error) = param("error") {
            let description = param("error_description")
                .map(|d| format!(": {d}"))
                .unwrap_or_default();
            return Err(AuthError::Login(format!(
                "the platform refused the authorization ({error}{description}); run `tally auth login {}` again and approve access",
                self.source_id
            )));
        }
        let state_ok = param("state").is_some_and(|s| self.authorization.state_matches(&s));
        if !state_ok {
            return Err(AuthError::Login(format!(
                "the redirect's `state` is not this login's, so it comes from another login attempt or was forged; nothing was exchanged, run `tally auth login {}` again",
                self.source_id
            )));
        }
        param("code")
            .filter(|c| !c.is_empty())
            .map(Secret::new)
            .ok_or_else(|| {
                AuthError::Login(
                    "the redirect carries no `code`; paste the whole address the browser ended on"
                        .into(),
                )
            })
    }

    /// Exchanges the code for tokens (the PKCE verifier goes with it).
    pub async fn exchange(self, flow: &OAuthFlow, code: &Secret) -> Result<StoredToken, AuthError> {
        flow.exchange_code(self.authorization, code.expose()).await
    }
}

/// The request target of one HTTP request, or `None` for a connection that sent
/// no request line in time.
async fn read_target(mut stream: TcpStream) -> Option<(String, TcpStream)> {
    let mut head = Vec::new();
    let mut buf = [0u8; 2048];
    let read = tokio::time::timeout(READ_TIMEOUT, async {
        while !head.windows(4).any(|w| w == b"\r\n\r\n") && head.len() < MAX_HEAD {
            let n = stream.read(&mut buf).await.ok()?;
            if n == 0 {
                break;
            }
            head.extend_from_slice(&buf[..n]);
        }
        Some(())
    })
    .await;
    if !matches!(read, Ok(Some(()))) {
        return None;
    }
    let line = String::from_utf8_lossy(&head).lines().next()?.to_string();
    let mut parts = line.split_whitespace();
    let (method, target) = (parts.next()?, parts.next()?);
    (method == "GET").then(|| (target.to_string(), stream))
}

async fn respond(stream: &mut TcpStream, status: &str, message: &str) {
    let body = format!(
        "<!doctype html><html><head><meta charset=\"utf-8\"><title>Tally</title></head><body><p>{message}</p></body></html>"
    );
    let response = format!(
        "HTTP/1.1 {status}\r\ncontent-type: text/html; charset=utf-8\r\ncontent-length: {}\r\ncache-control: no-store\r\nconnection: close\r\n\r\n{body}",
        body.len()
    );
    // The browser going away early changes nothing: the code is already read.
    let _ = stream.write_all(response.as_bytes()).await;
    let _ = stream.shutdown().await;
}

fn html_escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}
