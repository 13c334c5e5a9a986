//! The JWT a service account signs to get an access token (RFC 7523, Google's
//! "Using OAuth 2.0 for Server to Server Applications").
//!
//! The key file's PKCS#8 PEM is decoded once, when the credential is set up, so
//! a key that cannot sign is reported before the first request. Each assertion
//! is `base64url(header).base64url(claims).base64url(RS256 signature)` with
//! the header `{"alg":"RS256","typ":"JWT","kid":private_key_id}` and the claims
//! `iss` (the account's email), `scope` (space-joined), `aud` (the token
//! endpoint), `iat` and `exp` an hour later, the longest Google accepts.

use super::error::AuthError;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use base64::Engine;
use chrono::{DateTime, Utc};
use ring::rand::SystemRandom;
use ring::signature::{RsaKeyPair, RSA_PKCS1_SHA256};
use serde_json::json;
use std::fmt;
use std::path::{Path, PathBuf};
use tally_config::secret::Secret;
use tally_config::ServiceAccountKey;

/// How long an assertion is valid: the most Google allows.
const ASSERTION_LIFETIME_SECS: i64 = 3600;

/// What Google Cloud offers instead of a key that cannot be used.
pub(crate) const GET_A_NEW_KEY: &str =
    "download a new JSON key in Google Cloud (IAM & Admin > Service accounts > Keys > Add key) and point `key_file` at it";

/// A service account's signing key. `Debug` shows the account and key id only.
pub struct ServiceAccountSigner {
    client_email: String,
    key_id: String,
    key_file: PathBuf,
    credential: String,
    key: RsaKeyPair,
    rng: SystemRandom,
}

impl fmt::Debug for ServiceAccountSigner {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ServiceAccountSigner")
            .field("client_email", &self.client_email)
            .field("key_id", &self.key_id)
            .field("key_file", &self.key_file)
            .finish_non_exhaustive()
    }
}

impl ServiceAccountSigner {
    /// The signer of `key`, for the credential named `credential`; refuses a
    /// `private_key` that is not a PKCS#8 RSA key in PEM.
    pub fn new(key: &ServiceAccountKey, credential: &str) -> Result<Self, AuthError> {
        let refused = |message: String| AuthError::ServiceAccount {
            credential: credential.to_string(),
            key_file: key.path.clone(),
            message,
        };
        let der = pkcs8_der(&key.private_key).map_err(refused)?;
        let pair = RsaKeyPair::from_pkcs8(&der).map_err(|e| {
            refused(format!(
                "`private_key` is not a PKCS#8 RSA key of 2048 to 8192 bits (rejected as {e}); {GET_A_NEW_KEY}"
            ))
        })?;
        Ok(ServiceAccountSigner {
            client_email: key.client_email.clone(),
            key_id: key.private_key_id.clone(),
            key_file: key.path.clone(),
            credential: credential.to_string(),
            key: pair,
            rng: SystemRandom::new(),
        })
    }

    /// The account's email: the assertion's `iss`, and the client named in
    /// token records.
    pub fn client_email(&self) -> &str {
        &self.client_email
    }

    /// Which of the account's keys signs (`private_key_id`, the JWT's `kid`).
    pub fn key_id(&self) -> &str {
        &self.key_id
    }

    /// The key file, named in messages about the credential.
    pub fn key_file(&self) -> &Path {
        &self.key_file
    }

    /// A signed assertion for `scopes` at the token endpoint `audience`,
    /// issued at `now`.
    pub fn assertion(
        &self,
        scopes: &[String],
        audience: &str,
        now: DateTime<Utc>,
    ) -> Result<Secret, AuthError> {
        let header = json!({"alg": "RS256", "typ": "JWT", "kid": self.key_id});
        let iat = now.timestamp();
        let claims = json!({
            "iss": self.client_email,
            "scope": scopes.join(" "),
            "aud": audience,
            "iat": iat,
            "exp": iat + ASSERTION_LIFETIME_SECS,
        });
        let signed = format!(
            "{}.{}",
            URL_SAFE_NO_PAD.encode(header.to_string()),
            URL_SAFE_NO_PAD.encode(claims.to_string())
        );
        let mut signature = vec![0; self.key.public().modulus_len()];
        self.key
            .sign(
                &RSA_PKCS1_SHA256,
                &self.rng,
                signed.as_bytes(),
                &mut signature,
            )
            .map_err(|_| AuthError::ServiceAccount {
                credential: self.credential.clone(),
                key_file: self.key_file.clone(),
                message: format!("the key could not sign the token request; {GET_A_NEW_KEY}"),
            })?;
        Ok(Secret::new(format!(
            "{signed}.{}",
            URL_SAFE_NO_PAD.encode(signature)
        )))
    }
}

/// The DER inside a `-----BEGIN PRIVATE KEY-----` PEM block. The error says
/// what the text is instead, never what it contains.
fn pkcs8_der(pem: &Secret) -> Result<Vec<u8>, String> {
    const BEGIN: &str = "-----BEGIN PRIVATE KEY-----";
    const END: &str = "-----END PRIVATE KEY-----";
    let text = pem.expose().trim();
    let body = text
        .strip_prefix(BEGIN)
        .and_then(|rest| rest.strip_suffix(END));
    let Some(body) = body else {
        return Err(if text.contains("-----BEGIN RSA PRIVATE KEY-----") {
            format!("`private_key` is a PKCS#1 RSA key (BEGIN RSA PRIVATE KEY), not PKCS#8; convert it with `openssl pkcs8 -topk8 -nocrypt` or {GET_A_NEW_KEY}")
        } else {
            format!("`private_key` is not a PEM private key (-----BEGIN PRIVATE KEY----- ... -----END PRIVATE KEY-----); {GET_A_NEW_KEY}")
        });
    };
    let base64: String = body.split_whitespace().collect();
    STANDARD.decode(base64).map_err(|_| {
        format!("`private_key` is not valid base64 between its PEM lines; {GET_A_NEW_KEY}")
    })
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use ring::signature::{UnparsedPublicKey, RSA_PKCS1_2048_8192_SHA256};

    /// The sandbox's test key (it signs nothing real).
    const TEST_KEY: &str =
        include_str!("../../../sandbox/src/google/testdata/TEST-ONLY-service-account.json");

    fn key(private_key: &str) -> ServiceAccountKey {
        let fixture: serde_json::Value = serde_json::from_str(TEST_KEY).unwrap();
        ServiceAccountKey {
            path: PathBuf::from("/etc/tally/ga4-key.json"),
            client_email: fixture["client_email"].as_str().unwrap().into(),
            private_key_id: fixture["private_key_id"].as_str().unwrap().into(),
            private_key: Secret::new(private_key),
            token_uri: "http://127.0.0.1:9/token".into(),
        }
    }

    fn fixture_pem() -> String {
        let fixture: serde_json::Value = serde_json::from_str(TEST_KEY).unwrap();
        fixture["private_key"].as_str().unwrap().to_string()
    }

    fn decode(part: &str) -> serde_json::Value {
        serde_json::from_slice(&URL_SAFE_NO_PAD.decode(part).unwrap()).unwrap()
    }

    #[test]
    fn the_assertion_carries_googles_header_and_claims_and_verifies() {
        let signer = ServiceAccountSigner::new(&key(&fixture_pem()), "ga").unwrap();
        let now = DateTime::from_timestamp(1_780_000_000, 0).unwrap();
        let scopes = vec!["https://www.googleapis.com/auth/analytics.readonly".to_string()];
        let jwt = signer
            .assertion(&scopes, "https://oauth2.googleapis.com/token", now)
            .unwrap();
        let parts: Vec<&str> = jwt.expose().split('.').collect();
        assert_eq!(parts.len(), 3);
        assert_eq!(
            decode(parts[0]),
            json!({"alg": "RS256", "typ": "JWT", "kid": "0f3c5e1d2b7a4c6e8f9d0a1b2c3d4e5f6a7b8c9d"})
        );
        assert_eq!(
            decode(parts[1]),
            json!({
                "iss": "tally-reports@tally-sandbox.iam.gserviceaccount.com",
                "scope": "https://www.googleapis.com/auth/analytics.readonly",
                "aud": "https://oauth2.googleapis.com/token",
                "iat": 1_780_000_000,
                "exp": 1_780_003_600,
            })
        );
        let public = signer.key.public().as_ref().to_vec();
        let signature = URL_SAFE_NO_PAD.decode(parts[2]).unwrap();
        let signed = format!("{}.{}", parts[0], parts[1]);
        UnparsedPublicKey::new(&RSA_PKCS1_2048_8192_SHA256, public)
            .verify(signed.as_bytes(), &signature)
            .unwrap();
        // A changed claim no longer verifies.
        let forged = format!("{}.{}x", parts[0], parts[1]);
        assert!(
            UnparsedPublicKey::new(&RSA_PKCS1_2048_8192_SHA256, signer.key.public().as_ref())
                .verify(forged.as_bytes(), &signature)
                .is_err()
        );
        let debug = format!("{signer:?}");
        assert!(!debug.contains("PRIVATE"), "{debug}");
    }

    /// The message for a `private_key`, which must never contain the key.
    fn refusal(private_key: &str) -> String {
        let e = ServiceAccountSigner::new(&key(private_key), "agency").unwrap_err();
        let msg = e.to_string();
        assert!(!msg.contains("MII"), "the key leaked: {msg}");
        msg
    }

    #[test]
    fn a_private_key_that_is_not_a_pkcs8_rsa_pem_is_named_with_the_credential_and_file() {
        assert_eq!(
            refusal("MIIEvQIBADANBgkqhkiG9w0BAQEFAASC"),
            "credential `agency` (service-account key file /etc/tally/ga4-key.json): `private_key` is not a PEM private key (-----BEGIN PRIVATE KEY----- ... -----END PRIVATE KEY-----); download a new JSON key in Google Cloud (IAM & Admin > Service accounts > Keys > Add key) and point `key_file` at it"
        );
        assert_eq!(
            refusal("-----BEGIN RSA PRIVATE KEY-----\nMIIEowIBAAKCAQEA\n-----END RSA PRIVATE KEY-----\n"),
            "credential `agency` (service-account key file /etc/tally/ga4-key.json): `private_key` is a PKCS#1 RSA key (BEGIN RSA PRIVATE KEY), not PKCS#8; convert it with `openssl pkcs8 -topk8 -nocrypt` or download a new JSON key in Google Cloud (IAM & Admin > Service accounts > Keys > Add key) and point `key_file` at it"
        );
        assert_eq!(
            refusal("-----BEGIN PRIVATE KEY-----\nMII%%%\n-----END PRIVATE KEY-----\n"),
            "credential `agency` (service-account key file /etc/tally/ga4-key.json): `private_key` is not valid base64 between its PEM lines; download a new JSON key in Google Cloud (IAM & Admin > Service accounts > Keys > Add key) and point `key_file` at it"
        );
        // Well-formed PEM and DER, but an elliptic-curve key (P-256, PKCS#8).
        let ec = "-----BEGIN PRIVATE KEY-----\nMIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQg1BtQ2gcbAIqb5Pg6\nK3EofGqOl16EOwYKZBfF+aUMiluhRANCAATi+tLAi4EV2Ed54wwvHdDbeEz5+7qa\nxPf9WXy6qcfA3VAopU47PEADL0ersjnOUA7wYdFfKKHjFMU1tn4aBVgV\n-----END PRIVATE KEY-----\n";
        assert_eq!(
            refusal(ec),
            "credential `agency` (service-account key file /etc/tally/ga4-key.json): `private_key` is not a PKCS#8 RSA key of 2048 to 8192 bits (rejected as WrongAlgorithm); download a new JSON key in Google Cloud (IAM & Admin > Service accounts > Keys > Add key) and point `key_file` at it"
        );
    }
}
