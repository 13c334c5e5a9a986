//! The Graph error body and what each code means for the user.
//!
//! `{"error":{"message":"(#100) …","type":"OAuthException","code":100,"error_subcode":…,"fbtrace_id":"…"}}`
//! comes back on 400/403 for every Meta product. The codes that matter:
//!
//! - **190**: the token expired or was revoked → `tally auth login SOURCE`;
//! - **10, 200–299**: a permission is missing → which one, and log in again;
//! - **100**: an invalid parameter, usually a metric Meta removed → which metric;
//! - **4, 17, 32, 613, 80000–80008**: throttling, which the host waits out
//!   (see [`super::throttle_errors`]); what still reaches the connector says so.

use serde::Deserialize;
use tally_model::error::snippet;
use tally_model::{ConnectorError, HttpError};

/// The `error` object of a Graph error body.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct GraphError {
    /// Meta's message, starting with `(#code)`.
    #[serde(default)]
    pub message: String,
    /// Error code.
    pub code: i64,
    /// Finer code (463 expired token, 460 changed password, 1504018 timeout).
    #[serde(default)]
    pub error_subcode: Option<i64>,
    /// Meta's trace id, for a support request.
    #[serde(default)]
    pub fbtrace_id: Option<String>,
}

#[derive(Deserialize)]
struct Envelope {
    error: GraphError,
}

impl GraphError {
    /// The error in a body, if it is the Graph shape.
    pub fn parse(body: &[u8]) -> Option<GraphError> {
        serde_json::from_slice::<Envelope>(body)
            .ok()
            .map(|e| e.error)
    }

    /// Whether the code is a throttle code.
    pub fn is_throttle(&self) -> bool {
        super::THROTTLE_CODES
            .iter()
            .any(|(lo, hi)| (*lo..=*hi).contains(&self.code))
    }

    /// Whether the code is a missing permission (10, 200–299).
    pub fn is_permission(&self) -> bool {
        self.code == 10 || (200..=299).contains(&self.code)
    }

    /// `code 100, subcode 33` and the like, for messages.
    fn codes(&self) -> String {
        match self.error_subcode {
            Some(sub) => format!("code {}, subcode {sub}", self.code),
            None => format!("code {}", self.code),
        }
    }

    /// The message with the trace id Meta support asks for.
    fn said(&self) -> String {
        match &self.fbtrace_id {
            Some(trace) => format!("{} (fbtrace_id {trace})", self.message),
            None => self.message.clone(),
        }
    }
}

/// Maps a Graph error answer to an error that says what to do, for one
/// source and request: which permissions the request needs, which metrics it asked for.
#[derive(Debug, Clone, Copy)]
pub struct ErrorMapper<'a> {
    /// The source id, for `tally auth login SOURCE`.
    pub source_id: &'a str,
    /// The permissions the endpoint needs (`pages_read_engagement`).
    pub permissions: &'a [&'a str],
    /// The insights metrics the request asked for, if any.
    pub metrics: &'a [&'a str],
}

impl<'a> ErrorMapper<'a> {
    /// A mapper for requests that need `permissions`.
    pub fn new(source_id: &'a str, permissions: &'a [&'a str]) -> ErrorMapper<'a> {
        ErrorMapper {
            source_id,
            permissions,
            metrics: &[],
        }
    }

    /// The same mapper for a request asking for `metrics`.
    pub fn asking(self, metrics: &'a [&'a str]) -> ErrorMapper<'a> {
        ErrorMapper { metrics, ..self }
    }

    /// The error for a non-2xx answer at `path`.
    pub fn map(&self, path: &str, status: u16, body: &[u8]) -> ConnectorError {
        let Some(error) = GraphError::parse(body) else {
            return ConnectorError::status(path, status, body);
        };
        let source = self.source_id;
        let codes = error.codes();
        if error.code == 190 {
            let why = match error.error_subcode {
                Some(463) => "expired",
                Some(460) => "invalidated by a password change",
                Some(458) => "revoked: the app was removed",
                _ => "expired or revoked",
            };
            return ConnectorError::Http(HttpError::Unauthorized {
                path: path.to_string(),
                status,
                message: format!(
                    "Meta says the access token is {why} ({codes}: {}); run `tally auth login {source}`",
                    error.said()
                ),
            });
        }
        if error.is_permission() {
            let named: Vec<&str> = self
                .permissions
                .iter()
                .copied()
                .filter(|p| error.message.contains(p))
                .collect();
            let missing = if named.is_empty() {
                self.permissions
            } else {
                &named
            };
            return ConnectorError::Http(HttpError::Unauthorized {
                path: path.to_string(),
                status,
                message: format!(
                    "Meta refused a permission ({codes}: {}); the token needs {}: grant it to the app and run `tally auth login {source}`",
                    error.said(),
                    list(missing)
                ),
            });
        }
        if error.code == 100 && !self.metrics.is_empty() {
            let named: Vec<&str> = self
                .metrics
                .iter()
                .copied()
                .filter(|m| error.message.contains(m))
                .collect();
            if !named.is_empty() || error.message.to_ascii_lowercase().contains("metric") {
                let which = if named.is_empty() {
                    self.metrics
                } else {
                    &named
                };
                return ConnectorError::Other(format!(
                    "{path}: Meta does not accept the insights metric {} ({codes}: {}); Meta removes metrics between versions (see the connector's README for what was removed and its replacement): check `api_version`",
                    list(which),
                    error.said()
                ));
            }
        }
        if error.code == 803 || (error.code == 100 && error.error_subcode == Some(33)) {
            return ConnectorError::NotFound(format!(
                "{path}: the object does not exist or this token cannot see it ({codes}: {})",
                error.said()
            ));
        }
        if error.is_throttle() {
            return ConnectorError::Other(format!(
                "{path}: Meta is throttling this app or account ({codes}: {}); the source will be pulled again on its next run",
                error.said()
            ));
        }
        ConnectorError::Status {
            path: path.to_string(),
            status,
            body: snippet(format!("{codes}: {}", error.said()).as_bytes()),
        }
    }
}

/// `` `a`, `b` and `c` `` for messages.
fn list(items: &[&str]) -> String {
    let quoted: Vec<String> = items.iter().map(|i| format!("`{i}`")).collect();
    match quoted.split_last() {
        None => "more permissions".to_string(),
        Some((last, [])) => last.clone(),
        Some((last, rest)) => format!("{} and {last}", rest.join(", ")),
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    const PAGE_PERMISSIONS: [&str; 2] = ["pages_read_engagement", "read_insights"];

    fn mapper() -> ErrorMapper<'static> {
        ErrorMapper::new("bakery-facebook", &PAGE_PERMISSIONS)
    }

    #[test]
    fn an_expired_token_names_the_login_command() {
        let body = br#"{"error":{"message":"Error validating access token: Session has expired on Friday.","type":"OAuthException","code":190,"error_subcode":463,"fbtrace_id":"A1m6KK6"}}"#;
        assert_eq!(
            mapper().map("/v27.0/123", 400, body).to_string(),
            "/v27.0/123 refused the credential (400): Meta says the access token is expired (code 190, subcode 463: Error validating access token: Session has expired on Friday. (fbtrace_id A1m6KK6)); run `tally auth login bakery-facebook`"
        );
    }

    #[test]
    fn a_missing_permission_is_named() {
        let body = br#"{"error":{"message":"(#10) This endpoint requires the 'read_insights' permission.","type":"OAuthException","code":10}}"#;
        assert_eq!(
            mapper().map("/v27.0/123/insights", 403, body).to_string(),
            "/v27.0/123/insights refused the credential (403): Meta refused a permission (code 10: (#10) This endpoint requires the 'read_insights' permission.); the token needs `read_insights`: grant it to the app and run `tally auth login bakery-facebook`"
        );
        let unnamed = br#"{"error":{"message":"(#200) Permissions error","code":200}}"#;
        assert!(mapper()
            .map("/p", 403, unnamed)
            .to_string()
            .contains("the token needs `pages_read_engagement` and `read_insights`"));
    }

    #[test]
    fn a_removed_metric_is_named() {
        let body = br#"{"error":{"message":"(#100) The value must be a valid insights metric: page_impressions","type":"OAuthException","code":100}}"#;
        let asked = ["page_impressions", "page_media_view"];
        assert_eq!(
            mapper().asking(&asked).map("/v27.0/123/insights", 400, body).to_string(),
            "/v27.0/123/insights: Meta does not accept the insights metric `page_impressions` (code 100: (#100) The value must be a valid insights metric: page_impressions); Meta removes metrics between versions (see the connector's README for what was removed and its replacement): check `api_version`"
        );
    }

    #[test]
    fn other_errors_keep_the_code_and_trace() {
        let body =
            br#"{"error":{"message":"(#1) An unknown error occurred","code":1,"fbtrace_id":"X"}}"#;
        assert_eq!(
            mapper().map("/p", 500, body).to_string(),
            "/p answered HTTP 500: code 1: (#1) An unknown error occurred (fbtrace_id X)"
        );
        assert_eq!(
            mapper().map("/p", 502, b"<html>").to_string(),
            "/p answered HTTP 502: <html>"
        );
    }
}
