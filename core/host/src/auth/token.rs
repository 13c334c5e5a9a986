//! One stored credential: the tokens a source uses and what is known about them.
//!
//! The record keeps, beside the tokens, the facts `tally auth status` reports
//! (scopes, expiry, whether a refresh token exists, the long-lived expiry of a
//! Meta token) and the facts that tie it to the configuration that obtained it
//! (client id, token endpoint, a fingerprint of a configured refresh token), so a
//! changed config is noticed instead of sending a token to the wrong place.

use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize, Serializer};
use sha2::{Digest, Sha256};
use tally_config::secret::Secret;

/// Version of the record layout, written into every token file.
pub const RECORD_VERSION: u32 = 1;

/// A credential as the token store keeps it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoredToken {
    /// Layout version ([`RECORD_VERSION`]).
    pub version: u32,
    /// The credential's name (the source id, or `[sources.auth] credential`).
    pub credential: String,
    /// `oauth2`, `client_credentials` or `service_account`.
    pub kind: String,
    /// The client the token was issued to.
    pub client_id: String,
    /// The endpoint that issued it.
    pub token_url: String,
    /// The token sent with requests.
    #[serde(serialize_with = "expose")]
    pub access_token: Secret,
    /// As the server wrote it (`Bearer`).
    pub token_type: String,
    /// When the access token stops working; `None` if the server gave no lifetime.
    pub expires_at: Option<DateTime<Utc>>,
    /// The refresh token, if the platform issued one.
    #[serde(serialize_with = "expose_opt")]
    pub refresh_token: Option<Secret>,
    /// When the refresh token stops working, where the platform says (TikTok, LinkedIn).
    #[serde(default)]
    pub refresh_expires_at: Option<DateTime<Utc>>,
    /// When a long-lived, non-refreshable token (Meta's user token) expires:
    /// the day a new login is needed.
    #[serde(default)]
    pub long_lived_expires_at: Option<DateTime<Utc>>,
    /// Scopes granted, as the server reported them (or as requested).
    #[serde(default)]
    pub scopes: Vec<String>,
    /// When this record was written.
    pub obtained_at: DateTime<Utc>,
    /// Fingerprint of the configured `refresh_token` this record descends from,
    /// so a new one written into the config takes over from stored tokens.
    #[serde(default)]
    pub seed: Option<String>,
}

impl StoredToken {
    /// Whether the access token is still good `skew` from `now`. A token
    /// without a known lifetime counts as good until the platform refuses it.
    pub fn is_fresh(&self, now: DateTime<Utc>, skew: Duration) -> bool {
        self.expires_at.is_none_or(|at| at - skew > now)
    }
}

/// A short, non-reversible name of a secret, for records and pacing keys.
pub fn fingerprint(secret: &Secret) -> String {
    Sha256::digest(secret.expose().as_bytes())
        .iter()
        .take(6)
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// Writes a secret into a token file: the one place a token is serialized.
fn expose<S: Serializer>(secret: &Secret, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(secret.expose())
}

fn expose_opt<S: Serializer>(secret: &Option<Secret>, s: S) -> Result<S::Ok, S::Error> {
    match secret {
        Some(secret) => s.serialize_some(secret.expose()),
        None => s.serialize_none(),
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
pub(crate) mod tests {
    use super::*;

    /// A record for tests.
    pub(crate) fn sample(credential: &str) -> StoredToken {
        StoredToken {
            version: RECORD_VERSION,
            credential: credential.into(),
            kind: "oauth2".into(),
            client_id: "app".into(),
            token_url: "http://127.0.0.1:1/token".into(),
            access_token: Secret::new("access-1"),
            token_type: "Bearer".into(),
            expires_at: Some(Utc::now() + Duration::hours(1)),
            refresh_token: Some(Secret::new("refresh-1")),
            refresh_expires_at: None,
            long_lived_expires_at: None,
            scopes: vec!["read".into()],
            obtained_at: Utc::now(),
            seed: None,
        }
    }

    #[test]
    fn freshness_honours_the_skew_and_unknown_lifetimes() {
        let now = Utc::now();
        let mut t = sample("a");
        t.expires_at = Some(now + Duration::seconds(30));
        assert!(t.is_fresh(now, Duration::seconds(10)));
        assert!(!t.is_fresh(now, Duration::seconds(60)));
        t.expires_at = None;
        assert!(t.is_fresh(now, Duration::seconds(60)));
    }

    #[test]
    fn the_record_round_trips_and_debug_hides_the_tokens() {
        let t = sample("a");
        let json = serde_json::to_string(&t).unwrap();
        assert!(json.contains("access-1") && json.contains("refresh-1"));
        assert_eq!(serde_json::from_str::<StoredToken>(&json).unwrap(), t);
        let debug = format!("{t:?}");
        assert!(
            !debug.contains("access-1") && !debug.contains("refresh-1"),
            "{debug}"
        );
        assert_eq!(fingerprint(&Secret::new("x")).len(), 12);
    }
}
