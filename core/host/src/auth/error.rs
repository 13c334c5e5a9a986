//! What can go wrong with credentials, worded for the person who has to fix it.
//!
//! Every message names the source, the token file or the endpoint's URL path and
//! what to do; none carries a token, a secret or a full URL with its query.

use std::path::PathBuf;

/// An auth failure. Messages never contain secrets.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AuthError {
    /// Only a new authorization by the user can fix this source's credential.
    #[error("source `{source_id}`: {reason}; run `tally auth login {source_id}`")]
    LoginRequired {
        /// The source to log in.
        source_id: String,
        /// Why no usable token exists.
        reason: String,
    },
    /// The token endpoint answered with an OAuth2 error.
    #[error("token endpoint {path} refused the request: {code}{description}")]
    Refused {
        /// URL path of the endpoint.
        path: String,
        /// The OAuth2 `error` code (`invalid_grant`, `invalid_client`).
        code: String,
        /// `: ` and the server's `error_description`, or nothing.
        description: String,
    },
    /// The endpoint could not be reached or answered something unusable.
    #[error("token endpoint {path}: {message}")]
    Endpoint {
        /// URL path of the endpoint.
        path: String,
        /// What went wrong.
        message: String,
    },
    /// A token file could not be read or written.
    #[error("token file {}: {message}", path.display())]
    Store {
        /// The file (or the tokens directory).
        path: PathBuf,
        /// What went wrong and what to do.
        message: String,
    },
    /// A service account's key cannot sign, or the platform refused what it signed.
    #[error("credential `{credential}` (service-account key file {}): {message}", key_file.display())]
    ServiceAccount {
        /// The credential's name (the source id, or `[sources.auth] credential`).
        credential: String,
        /// The key file, never its content.
        key_file: PathBuf,
        /// What is wrong and what to do.
        message: String,
    },
    /// The configuration cannot describe a token flow.
    #[error("{0}")]
    Config(String),
    /// `tally auth login` could not complete.
    #[error("login failed: {0}")]
    Login(String),
}

impl AuthError {
    /// Whether the endpoint said the grant (refresh token, code) is dead:
    /// revoked, expired, already used.
    pub fn is_invalid_grant(&self) -> bool {
        matches!(self, AuthError::Refused { code, .. } if code == "invalid_grant")
    }
}
