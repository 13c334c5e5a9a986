//! Google service-account key files (`[sources.auth] kind = "service_account"`,
//! `key_file = "ga4-key.json"`), read when the config is loaded.
//!
//! Reading the file here, like the other `*_file` secrets, puts a missing or
//! mangled key under `tally check --offline` with the line and column of
//! `key_file`, before any pull. Only the JSON shape is checked here; whether
//! `private_key` is a usable RSA key is the host's question, as it is the one
//! that signs with it. The key is a [`Secret`]: the messages below name the
//! file and the field, never a value read from the file.

use crate::secret::Secret;
use crate::values::check_http_url;
use serde_json::{Map, Value};
use std::path::{Path, PathBuf};

/// Where Google Cloud offers the key, for messages telling the user to get one.
const WHERE_TO_GET_ONE: &str =
    "download a JSON key in Google Cloud (IAM & Admin > Service accounts > Keys > Add key)";

/// What the host needs of a service-account key file to mint tokens.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServiceAccountKey {
    /// The file it was read from, named in every message about the key.
    pub path: PathBuf,
    /// The service account's address: the JWT's `iss`.
    pub client_email: String,
    /// Which of the account's keys this is: the JWT header's `kid`.
    pub private_key_id: String,
    /// The RSA private key as a PKCS#8 PEM. Redacted in `Debug`.
    pub private_key: Secret,
    /// Where the signed JWT is traded for an access token, and its `aud`.
    pub token_uri: String,
}

impl ServiceAccountKey {
    /// Reads and checks the key file at `path`; `credential` names it in messages.
    pub fn read(path: &Path, credential: &str) -> Result<ServiceAccountKey, String> {
        let text = std::fs::read_to_string(path).map_err(|e| {
            format!(
                "cannot read the service-account key file {} of credential `{credential}`: {e}; {WHERE_TO_GET_ONE} and fix the path (relative paths start at the config file's directory)",
                path.display()
            )
        })?;
        let this = || {
            format!(
                "the service-account key file {} of credential `{credential}`",
                path.display()
            )
        };
        // Only the position of a syntax error is shown: the file holds the key.
        let document: Value = serde_json::from_str(&text).map_err(|e| {
            format!(
                "{} is not JSON (line {}, column {}); {WHERE_TO_GET_ONE} and point `key_file` at it",
                this(),
                e.line(),
                e.column()
            )
        })?;
        let Value::Object(fields) = document else {
            return Err(format!(
                "{} is not a JSON object; {WHERE_TO_GET_ONE} and point `key_file` at it",
                this()
            ));
        };
        match fields.get("type").and_then(Value::as_str) {
            Some("service_account") => {}
            Some("authorized_user") => {
                return Err(format!(
                    "{} holds a user's credential (`type` is \"authorized_user\"), not a service account's; use kind = \"oauth2\" and `tally auth login` for a user, or {WHERE_TO_GET_ONE}",
                    this()
                ))
            }
            _ => {
                return Err(format!(
                    "{} is not a service-account key (`type` must be \"service_account\"); {WHERE_TO_GET_ONE}",
                    this()
                ))
            }
        }
        let field = |name: &str| -> Result<String, String> {
            text_field(&fields, name).ok_or_else(|| {
                format!(
                    "{} has no `{name}`; it is not a complete service-account key: {WHERE_TO_GET_ONE}",
                    this()
                )
            })
        };
        let key = ServiceAccountKey {
            path: path.to_path_buf(),
            client_email: field("client_email")?,
            private_key_id: field("private_key_id")?,
            private_key: Secret::new(field("private_key")?),
            token_uri: field("token_uri")?,
        };
        check_http_url(&key.token_uri).map_err(|e| {
            format!(
                "{}: `token_uri` is not usable ({e}); Google's is \"https://oauth2.googleapis.com/token\"",
                this()
            )
        })?;
        Ok(key)
    }
}

fn text_field(fields: &Map<String, Value>, name: &str) -> Option<String> {
    fields
        .get(name)
        .and_then(Value::as_str)
        .filter(|s| !s.trim().is_empty())
        .map(str::to_string)
}
