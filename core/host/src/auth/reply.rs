//! Token endpoint answers as platforms actually write them.
//!
//! The `oauth2` crate's standard response requires `token_type` and a numeric
//! `expires_in`; LinkedIn omits the first, some Meta versions send the second as
//! a string, and TikTok and LinkedIn add refresh-token lifetimes under two
//! different names. This response type accepts all of them and keeps the rest of
//! the crate's machinery (PKCE, state, error parsing) unchanged.

use oauth2::basic::BasicTokenType;
use oauth2::{AccessToken, RefreshToken, Scope, TokenResponse};
use serde::{Deserialize, Deserializer, Serialize};
use std::time::Duration;

/// A successful token response (RFC 6749 §5.1, leniently read).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct TokenReply {
    access_token: AccessToken,
    #[serde(default = "bearer")]
    token_type: BasicTokenType,
    #[serde(default, deserialize_with = "seconds")]
    expires_in: Option<u64>,
    #[serde(default)]
    refresh_token: Option<RefreshToken>,
    #[serde(default, rename = "scope", deserialize_with = "scope_list")]
    scopes: Option<Vec<Scope>>,
    /// TikTok's refresh-token lifetime.
    #[serde(default, deserialize_with = "seconds")]
    refresh_expires_in: Option<u64>,
    /// LinkedIn's refresh-token lifetime.
    #[serde(default, deserialize_with = "seconds")]
    refresh_token_expires_in: Option<u64>,
}

fn bearer() -> BasicTokenType {
    BasicTokenType::Bearer
}

impl TokenReply {
    /// How long the refresh token lasts, where the platform says.
    pub fn refresh_expires_in(&self) -> Option<Duration> {
        self.refresh_expires_in
            .or(self.refresh_token_expires_in)
            .map(Duration::from_secs)
    }
}

impl TokenResponse for TokenReply {
    type TokenType = BasicTokenType;

    fn access_token(&self) -> &AccessToken {
        &self.access_token
    }

    fn token_type(&self) -> &BasicTokenType {
        &self.token_type
    }

    fn expires_in(&self) -> Option<Duration> {
        self.expires_in.map(Duration::from_secs)
    }

    fn refresh_token(&self) -> Option<&RefreshToken> {
        self.refresh_token.as_ref()
    }

    fn scopes(&self) -> Option<&Vec<Scope>> {
        self.scopes.as_ref()
    }
}

/// A number of seconds written as a number or as a numeric string.
fn seconds<'de, D: Deserializer<'de>>(d: D) -> Result<Option<u64>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Seconds {
        Number(u64),
        Text(String),
    }
    Ok(match Option::<Seconds>::deserialize(d)? {
        None => None,
        Some(Seconds::Number(n)) => Some(n),
        Some(Seconds::Text(t)) => t.trim().parse().ok(),
    })
}

/// Scopes separated by spaces (RFC 6749) or commas (TikTok, Meta).
fn scope_list<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Vec<Scope>>, D::Error> {
    Ok(Option::<String>::deserialize(d)?.map(|s| {
        s.split([' ', ','])
            .filter(|p| !p.is_empty())
            .map(|p| Scope::new(p.to_string()))
            .collect()
    }))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn linkedin_answers_without_token_type() {
        let r: TokenReply = serde_json::from_str(
            r#"{"access_token":"AQV","expires_in":5184000,"refresh_token":"AQX","refresh_token_expires_in":31536000,"scope":"r_organization_social,rw_organization_admin"}"#,
        )
        .unwrap();
        assert_eq!(r.token_type(), &BasicTokenType::Bearer);
        assert_eq!(r.expires_in(), Some(Duration::from_secs(5_184_000)));
        assert_eq!(
            r.refresh_expires_in(),
            Some(Duration::from_secs(31_536_000))
        );
        assert_eq!(r.scopes().unwrap().len(), 2);
    }

    #[test]
    fn tiktok_and_meta_shapes_read() {
        let r: TokenReply = serde_json::from_str(
            r#"{"access_token":"act.1","expires_in":86400,"open_id":"o","refresh_expires_in":31536000,"refresh_token":"rft.1","scope":"user.info.basic,video.list","token_type":"Bearer"}"#,
        )
        .unwrap();
        assert_eq!(r.refresh_token().unwrap().secret(), "rft.1");
        assert_eq!(
            r.refresh_expires_in(),
            Some(Duration::from_secs(31_536_000))
        );
        let r: TokenReply = serde_json::from_str(
            r#"{"access_token":"EAAB","token_type":"bearer","expires_in":"5183944"}"#,
        )
        .unwrap();
        assert_eq!(r.expires_in(), Some(Duration::from_secs(5_183_944)));
        assert!(r.refresh_token().is_none());
        assert!(serde_json::from_str::<TokenReply>(r#"{"token_type":"bearer"}"#).is_err());
    }
}
