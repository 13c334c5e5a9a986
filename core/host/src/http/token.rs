//! The seam between the host client and OAuth2: a source of access tokens that
//! can renew itself.
//!
//! The HTTP client only needs "a token good for this request" and "that one was
//! refused, give me another"; how tokens are stored, refreshed and shared between
//! sources is the `auth` module's job. Keeping the trait here means the client does
//! not depend on token files, encryption or the `oauth2` crate.

use async_trait::async_trait;
use tally_config::secret::Secret;
use tally_model::HttpError;

/// Where a source's OAuth2 access tokens come from.
#[async_trait]
pub trait TokenSource: Send + Sync + std::fmt::Debug {
    /// A stable, non-reversible name of the credential (not of the current token,
    /// which rotates), so pacing and quota keys survive refreshes.
    fn fingerprint(&self) -> String;

    /// A token that stays valid for a little while longer, renewed first if it
    /// is about to expire.
    async fn access_token(&self) -> Result<Secret, HttpError>;

    /// The platform answered 401 to `rejected`: a replacement, obtained once even
    /// when many requests were refused at the same time.
    async fn refresh_rejected(&self, rejected: &Secret) -> Result<Secret, HttpError>;
}
