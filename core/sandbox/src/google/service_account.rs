//! Google's token endpoint for service accounts (`POST /google/oauth2/token`,
//! the JWT bearer grant of RFC 7523 as `oauth2.googleapis.com/token` answers
//! it), so a host's signing is checked for real and not only its form.
//!
//! The sandbox knows one service account, the test key in `testdata/` (it
//! signs nothing real), and derives its public key from it as Google keeps the
//! public half of a key it issued. An assertion is accepted only if its RS256
//! signature verifies with that key, `iss` is the account, `aud` is this
//! endpoint's own URL, `exp` is in the future and at most an hour after `iat`,
//! and `scope` is present. The answer is Google's: `access_token`,
//! `expires_in`, `token_type` (the token works on the GA4 routes, and expires
//! with [`crate::FaultOptions::token_ttl_secs`] like the sandbox's other
//! tokens), or a 400 with `invalid_grant` and Google's description.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use base64::Engine;
use chrono::Utc;
use ring::signature::{RsaKeyPair, UnparsedPublicKey, RSA_PKCS1_2048_8192_SHA256};
use serde_json::{json, Value};

use crate::state::Shared;
use crate::web::{host, json, Params};

/// Where the token endpoint is mounted.
pub(crate) const TOKEN_PATH: &str = "/google/oauth2/token";

/// The service account the sandbox knows, as Google Cloud hands out its key.
pub(crate) const KEY_FILE: &str = include_str!("testdata/TEST-ONLY-service-account.json");

/// The same account with a key the sandbox does not know (a deleted one).
pub(crate) const DELETED_KEY_FILE: &str =
    include_str!("testdata/TEST-ONLY-service-account-deleted-key.json");

/// The `grant_type` of the JWT bearer grant.
const JWT_BEARER: &str = "urn:ietf:params:oauth:grant-type:jwt-bearer";

/// The longest an assertion may live, as Google enforces it.
const MAX_LIFETIME_SECS: i64 = 3600;

/// Seconds Google reports for a token's life.
const EXPIRES_IN_SECS: u64 = 3599;

/// The known account and what its endpoint answered.
#[derive(Debug)]
pub(crate) struct ServiceAccounts {
    /// `client_email`, `private_key_id` and the public key (`RSAPublicKey` DER)
    /// of the known account; `None` if the fixture could not be read, which
    /// then refuses every assertion.
    known: Option<(String, String, Vec<u8>)>,
    issued: AtomicU64,
    refused: AtomicU64,
}

impl Default for ServiceAccounts {
    fn default() -> Self {
        ServiceAccounts {
            known: known_account(),
            issued: AtomicU64::new(0),
            refused: AtomicU64::new(0),
        }
    }
}

/// What the service-account token endpoint answered since the sandbox started.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct TokenGrants {
    /// Assertions that verified and got a token.
    pub issued: u64,
    /// Requests answered with an OAuth2 error.
    pub refused: u64,
}

impl ServiceAccounts {
    pub fn grants(&self) -> TokenGrants {
        TokenGrants {
            issued: self.issued.load(Ordering::Relaxed),
            refused: self.refused.load(Ordering::Relaxed),
        }
    }
}

/// The fixture's account and the public half of its key.
fn known_account() -> Option<(String, String, Vec<u8>)> {
    let file: Value = serde_json::from_str(KEY_FILE).ok()?;
    let pair = key_pair(&file)?;
    Some((
        file["client_email"].as_str()?.to_string(),
        file["private_key_id"].as_str()?.to_string(),
        pair.public().as_ref().to_vec(),
    ))
}

/// The key pair in a fixture key file's `private_key` (a PKCS#8 PEM).
fn key_pair(file: &Value) -> Option<RsaKeyPair> {
    let body: String = file["private_key"]
        .as_str()?
        .lines()
        .filter(|line| !line.starts_with("-----"))
        .collect();
    RsaKeyPair::from_pkcs8(&STANDARD.decode(body).ok()?).ok()
}

/// The fixture key file with `token_uri` set to `token_uri`, or with the
/// deleted key when `deleted`.
pub(crate) fn key_file(token_uri: &str, deleted: bool) -> String {
    let text = if deleted { DELETED_KEY_FILE } else { KEY_FILE };
    let mut file: Value = serde_json::from_str(text).unwrap_or_default();
    file["token_uri"] = Value::String(token_uri.to_string());
    serde_json::to_string_pretty(&file).unwrap_or_default()
}

/// `POST /google/oauth2/token` with `grant_type` and `assertion` form-encoded.
pub(crate) async fn token_endpoint(
    State(shared): State<Arc<Shared>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let audience = format!(
        "http://{}{TOKEN_PATH}",
        host(&headers, &shared.addr.to_string())
    );
    let accounts = &shared.service_accounts;
    match verify(accounts, &Params::parse(&body), &audience) {
        Ok(()) => {
            accounts.issued.fetch_add(1, Ordering::Relaxed);
            let issued = shared.tokens.issue();
            let expires_in = shared
                .tokens
                .ttl()
                .map_or(EXPIRES_IN_SECS, |ttl| ttl.as_secs());
            json(
                StatusCode::OK,
                json!({
                    "access_token": issued.access_token,
                    "expires_in": expires_in,
                    "token_type": "Bearer",
                }),
            )
        }
        Err((error, description)) => {
            accounts.refused.fetch_add(1, Ordering::Relaxed);
            json(
                StatusCode::BAD_REQUEST,
                json!({ "error": error, "error_description": description }),
            )
        }
    }
}

/// An OAuth2 error code and Google's description of it.
type Refused = (&'static str, &'static str);

const BAD_SIGNATURE: Refused = ("invalid_grant", "Invalid JWT Signature.");
const BAD_TIMES: Refused = (
    "invalid_grant",
    "Invalid JWT: Token must be a short-lived token (60 minutes) and in a reasonable timeframe. Check your iat and exp values in the JWT claim.",
);

/// Checks the request the way Google does, first failure first.
fn verify(accounts: &ServiceAccounts, form: &Params, audience: &str) -> Result<(), Refused> {
    match form.get("grant_type") {
        Some(JWT_BEARER) => {}
        Some(_) => return Err(("unsupported_grant_type", "Invalid grant_type: ")),
        None => return Err(("invalid_request", "Missing required parameter: grant_type")),
    }
    let assertion = form
        .get("assertion")
        .ok_or(("invalid_request", "Missing required parameter: assertion"))?;
    let mut parts = assertion.split('.');
    let (Some(header), Some(claims), Some(signature), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err((
            "invalid_grant",
            "Invalid JWT: not three base64url segments.",
        ));
    };
    let header = decode_json(header).ok_or(BAD_SIGNATURE)?;
    let claims = decode_json(claims).ok_or(("invalid_grant", "Invalid JWT claims."))?;
    let signature = URL_SAFE_NO_PAD
        .decode(signature)
        .map_err(|_| BAD_SIGNATURE)?;
    let (email, key_id, public_key) = accounts.known.as_ref().ok_or(BAD_SIGNATURE)?;
    if claims["iss"].as_str() != Some(email.as_str()) {
        return Err(("invalid_grant", "Invalid grant: account not found"));
    }
    if header["alg"] != "RS256" || header["kid"].as_str() != Some(key_id.as_str()) {
        return Err(BAD_SIGNATURE);
    }
    let signed = &assertion[..assertion.rfind('.').unwrap_or(0)];
    UnparsedPublicKey::new(&RSA_PKCS1_2048_8192_SHA256, public_key)
        .verify(signed.as_bytes(), &signature)
        .map_err(|_| BAD_SIGNATURE)?;
    if claims["aud"].as_str() != Some(audience) {
        return Err(("invalid_grant", "Invalid JWT: Failed audience check."));
    }
    let (Some(iat), Some(exp)) = (claims["iat"].as_i64(), claims["exp"].as_i64()) else {
        return Err(BAD_TIMES);
    };
    let now = Utc::now().timestamp();
    if exp <= now || exp - iat > MAX_LIFETIME_SECS || iat > now + 60 {
        return Err(BAD_TIMES);
    }
    if claims["scope"].as_str().is_none_or(|s| s.trim().is_empty()) {
        return Err((
            "invalid_scope",
            "Invalid OAuth scope or ID token audience provided.",
        ));
    }
    Ok(())
}

fn decode_json(segment: &str) -> Option<Value> {
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(segment).ok()?).ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use ring::rand::SystemRandom;

    /// An assertion signed with the fixture key (or the deleted one).
    fn sign(header: Value, claims: Value, deleted: bool) -> String {
        let file: Value = serde_json::from_str(if deleted { DELETED_KEY_FILE } else { KEY_FILE })
            .unwrap_or_default();
        let Some(pair) = key_pair(&file) else {
            panic!("the fixture is a PKCS#8 RSA key")
        };
        let signed = format!(
            "{}.{}",
            URL_SAFE_NO_PAD.encode(header.to_string()),
            URL_SAFE_NO_PAD.encode(claims.to_string())
        );
        let mut signature = vec![0; pair.public().modulus_len()];
        let signing = pair.sign(
            &ring::signature::RSA_PKCS1_SHA256,
            &SystemRandom::new(),
            signed.as_bytes(),
            &mut signature,
        );
        assert!(signing.is_ok());
        format!("{signed}.{}", URL_SAFE_NO_PAD.encode(signature))
    }

    const AUD: &str = "http://127.0.0.1:1/google/oauth2/token";

    fn header() -> Value {
        json!({"alg": "RS256", "typ": "JWT", "kid": "0f3c5e1d2b7a4c6e8f9d0a1b2c3d4e5f6a7b8c9d"})
    }

    fn claims(iat: i64, exp: i64) -> Value {
        json!({
            "iss": "tally-reports@tally-sandbox.iam.gserviceaccount.com",
            "scope": "https://www.googleapis.com/auth/analytics.readonly",
            "aud": AUD, "iat": iat, "exp": exp,
        })
    }

    fn check(assertion: &str) -> Result<(), Refused> {
        let form = Params::from_pairs(vec![
            ("grant_type".into(), JWT_BEARER.into()),
            ("assertion".into(), assertion.into()),
        ]);
        verify(&ServiceAccounts::default(), &form, AUD)
    }

    #[test]
    fn only_a_well_signed_short_lived_assertion_for_this_endpoint_passes() {
        let now = Utc::now().timestamp();
        assert_eq!(
            check(&sign(header(), claims(now, now + 3600), false)),
            Ok(())
        );
        // The deleted key does not verify.
        assert_eq!(
            check(&sign(header(), claims(now, now + 3600), true)),
            Err(BAD_SIGNATURE)
        );
        // A claim changed after signing does not verify either.
        let good = sign(header(), claims(now, now + 3600), false);
        let mut parts: Vec<String> = good.split('.').map(String::from).collect();
        let mut forged = claims(now, now + 3600);
        forged["scope"] = json!("https://www.googleapis.com/auth/cloud-platform");
        parts[1] = URL_SAFE_NO_PAD.encode(forged.to_string());
        assert_eq!(check(&parts.join(".")), Err(BAD_SIGNATURE));
        // Expired, or asking for more than an hour.
        assert_eq!(
            check(&sign(header(), claims(now - 7200, now - 3600), false)),
            Err(BAD_TIMES)
        );
        assert_eq!(
            check(&sign(header(), claims(now, now + 7200), false)),
            Err(BAD_TIMES)
        );
        let mut elsewhere = claims(now, now + 3600);
        elsewhere["aud"] = json!("https://oauth2.googleapis.com/token");
        assert_eq!(
            check(&sign(header(), elsewhere, false)),
            Err(("invalid_grant", "Invalid JWT: Failed audience check."))
        );
        let mut stranger = claims(now, now + 3600);
        stranger["iss"] = json!("someone@else.iam.gserviceaccount.com");
        assert_eq!(
            check(&sign(header(), stranger, false)).map_err(|e| e.1),
            Err("Invalid grant: account not found")
        );
        let mut no_scope = claims(now, now + 3600);
        no_scope["scope"] = json!("");
        assert_eq!(
            check(&sign(header(), no_scope, false)).map_err(|e| e.0),
            Err("invalid_scope")
        );
    }
}
