//! The sandbox's OAuth2 token endpoint (`POST /mastodon/oauth/token`, the
//! Doorkeeper shape Mastodon uses), so the host's token refresh can be
//! exercised: with `token_ttl_secs` set, tokens issued here expire and the
//! platforms answer 401 until the client refreshes.
//!
//! Tokens the sandbox did not issue are accepted as before: a static bearer
//! token configured by hand keeps working.

use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::Response;
use chrono::Utc;
use serde_json::{json, Value};

use crate::data::{encode, BASE64URL};
use crate::hash::{pick, Hash};
use crate::limit::lock;
use crate::state::Shared;
use crate::web::{json, Params};

/// Tokens issued by the sandbox and when.
#[derive(Debug)]
pub(crate) struct Tokens {
    seed: u64,
    ttl: Option<Duration>,
    counter: AtomicU64,
    issued: Mutex<HashMap<String, Instant>>,
    refresh: Mutex<HashSet<String>>,
}

/// A freshly issued token pair.
#[derive(Debug, Clone)]
pub(crate) struct Issued {
    pub access_token: String,
    pub refresh_token: String,
}

impl Tokens {
    pub fn new(seed: u64, ttl_secs: Option<u64>) -> Tokens {
        Tokens {
            seed,
            ttl: ttl_secs.map(Duration::from_secs),
            counter: AtomicU64::new(0),
            issued: Mutex::new(HashMap::new()),
            refresh: Mutex::new(HashSet::new()),
        }
    }

    pub fn ttl(&self) -> Option<Duration> {
        self.ttl
    }

    pub fn issue(&self) -> Issued {
        let n = self.counter.fetch_add(1, Ordering::Relaxed);
        let access_token = token(Hash::new(self.seed).str("access").num(n).get());
        let refresh_token = token(Hash::new(self.seed).str("refresh").num(n).get());
        lock(&self.issued).insert(access_token.clone(), Instant::now());
        lock(&self.refresh).insert(refresh_token.clone());
        Issued {
            access_token,
            refresh_token,
        }
    }

    /// True only for a token this sandbox issued more than `ttl` ago.
    pub fn is_expired(&self, access_token: &str) -> bool {
        let Some(ttl) = self.ttl else {
            return false;
        };
        lock(&self.issued)
            .get(access_token)
            .is_some_and(|at| at.elapsed() >= ttl)
    }

    pub fn knows_refresh(&self, refresh_token: &str) -> bool {
        lock(&self.refresh).contains(refresh_token)
    }

    /// Uses up a refresh token (X rotates them: each works once).
    pub fn redeem_refresh(&self, refresh_token: &str) -> bool {
        lock(&self.refresh).remove(refresh_token)
    }
}

/// A 43-character URL-safe token, like Mastodon's.
fn token(h: u64) -> String {
    let mut s = String::with_capacity(43);
    for i in 0..3 {
        encode(pick(h, i), 10, BASE64URL, &mut s);
    }
    encode(pick(h, 3), 13, BASE64URL, &mut s);
    s
}

/// How a platform's token endpoint treats clients and refresh tokens.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Policy {
    /// Public (PKCE) clients identify with `client_id` alone.
    pub public_clients: bool,
    /// A refresh token works once; the answer carries its successor.
    pub rotate_refresh: bool,
}

/// Mastodon's Doorkeeper: confidential clients, reusable refresh tokens.
const DOORKEEPER: Policy = Policy {
    public_clients: false,
    rotate_refresh: false,
};

/// `POST /oauth/token` (grant types `client_credentials`, `refresh_token`,
/// `authorization_code`); form or JSON body; client credentials in the body
/// or as HTTP Basic.
pub(crate) async fn token_endpoint(
    State(shared): State<Arc<Shared>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    grant(&shared, &headers, &body, DOORKEEPER)
}

/// Answers a token request under `policy`.
pub(crate) fn grant(shared: &Shared, headers: &HeaderMap, body: &[u8], policy: Policy) -> Response {
    let form = parse_body(headers, body);
    let client_authenticated = (form.get("client_id").is_some()
        && (policy.public_clients || form.get("client_secret").is_some()))
        || headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.to_ascii_lowercase().starts_with("basic "));
    let tokens = &shared.tokens;
    let grant_ok = match form.get("grant_type") {
        None => return oauth_error(StatusCode::BAD_REQUEST, "invalid_request", INVALID_REQUEST),
        Some(_) if !client_authenticated => {
            return oauth_error(StatusCode::UNAUTHORIZED, "invalid_client", INVALID_CLIENT)
        }
        Some("client_credentials") => true,
        Some("refresh_token") => form.get("refresh_token").is_some_and(|rt| {
            if policy.rotate_refresh {
                tokens.redeem_refresh(rt)
            } else {
                tokens.knows_refresh(rt)
            }
        }),
        Some("authorization_code") => form.get("code").is_some(),
        Some(_) => {
            return oauth_error(
                StatusCode::BAD_REQUEST,
                "unsupported_grant_type",
                UNSUPPORTED_GRANT,
            )
        }
    };
    if !grant_ok {
        return oauth_error(StatusCode::BAD_REQUEST, "invalid_grant", INVALID_GRANT);
    }
    let issued = tokens.issue();
    let mut body = json!({
        "access_token": issued.access_token,
        "token_type": "Bearer",
        "scope": form.get("scope").unwrap_or("read"),
        "created_at": Utc::now().timestamp(),
        "refresh_token": issued.refresh_token,
    });
    if let (Some(ttl), Some(obj)) = (tokens.ttl(), body.as_object_mut()) {
        obj.insert("expires_in".into(), json!(ttl.as_secs()));
    }
    json(StatusCode::OK, body)
}

fn parse_body(headers: &HeaderMap, body: &[u8]) -> Params {
    let is_json = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.contains("json"));
    if !is_json {
        return Params::parse(body);
    }
    let map: HashMap<String, Value> = serde_json::from_slice(body).unwrap_or_default();
    Params::from_pairs(
        map.into_iter()
            .map(|(k, v)| match v {
                Value::String(s) => (k, s),
                other => (k, other.to_string()),
            })
            .collect(),
    )
}

const INVALID_REQUEST: &str = "The request is missing a required parameter, includes an unsupported parameter value, or is otherwise malformed.";
const INVALID_CLIENT: &str = "Client authentication failed due to unknown client, no client authentication included, or unsupported authentication method.";
const INVALID_GRANT: &str = "The provided authorization grant is invalid, expired, revoked, does not match the redirection URI used in the authorization request, or was issued to another client.";
const UNSUPPORTED_GRANT: &str =
    "The authorization grant type is not supported by the authorization server.";

fn oauth_error(status: StatusCode, error: &str, description: &str) -> Response {
    json(
        status,
        json!({ "error": error, "error_description": description }),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn issued_tokens_expire_after_ttl_only() {
        let t = Tokens::new(1, Some(0));
        let issued = t.issue();
        assert_eq!(issued.access_token.len(), 43);
        assert!(t.is_expired(&issued.access_token));
        assert!(!t.is_expired("hand-made-token"));
        assert!(t.knows_refresh(&issued.refresh_token));
        let t = Tokens::new(1, Some(3600));
        assert!(!t.is_expired(&t.issue().access_token));
        let t = Tokens::new(1, None);
        assert!(!t.is_expired(&t.issue().access_token));
    }
}
