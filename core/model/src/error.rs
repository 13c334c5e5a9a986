//! The error a connector returns; the host attaches the source id when reporting it.

use crate::http::HttpError;
use crate::schema::SchemaError;

/// Why a connector's check or pull failed.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ConnectorError {
    /// The host could not get a response (network, timeout, throttling, quota, credential).
    #[error(transparent)]
    Http(#[from] HttpError),
    /// A non-success status the connector cannot work with.
    #[error("{path} answered HTTP {status}: {body}")]
    Status {
        /// URL path.
        path: String,
        /// Status code.
        status: u16,
        /// Start of the body, for the platform's own message.
        body: String,
    },
    /// The body was not the JSON the platform documents.
    #[error("{path} returned a body that is not the documented JSON ({message}); it starts with: {body}")]
    Decode {
        /// URL path.
        path: String,
        /// Decoder message (line, column, missing field).
        message: String,
        /// Start of the body.
        body: String,
    },
    /// The source's `[sources.settings]` do not fit the connector.
    #[error("invalid settings: {0}")]
    Settings(String),
    /// The platform says the account does not exist or is not visible.
    #[error("not found: {0}")]
    NotFound(String),
    /// An emitted point does not fit the canonical schema.
    #[error("connector `{connector}` emitted an invalid point: {error}")]
    Schema {
        /// Connector name.
        connector: String,
        /// What was wrong.
        error: SchemaError,
    },
    /// Pagination went wrong (a repeated cursor, too many pages).
    #[error("pagination of {path} stopped: {message}")]
    Pagination {
        /// URL path.
        path: String,
        /// What happened.
        message: String,
    },
    /// Anything else, with a message that says what to do.
    #[error("{0}")]
    Other(String),
}

impl ConnectorError {
    /// [`ConnectorError::Status`] for a non-2xx answer at `path`, quoting the
    /// start of `body`: the error mapper for platforms without an error shape.
    pub fn status(path: &str, status: u16, body: &[u8]) -> ConnectorError {
        ConnectorError::Status {
            path: path.to_string(),
            status,
            body: snippet(body),
        }
    }

    /// [`ConnectorError::Decode`] for a body from `path` that is not the
    /// documented JSON (`message` says how), quoting the start of `body`.
    pub fn decode(path: &str, message: impl Into<String>, body: &[u8]) -> ConnectorError {
        ConnectorError::Decode {
            path: path.to_string(),
            message: message.into(),
            body: snippet(body),
        }
    }
}

/// The path of a URL without scheme, host or query, safe to print (queries carry keys).
pub fn url_path(url: &str) -> String {
    let after_scheme = url.split_once("://").map_or(url, |(_, rest)| rest);
    let path_start = after_scheme.find('/').map_or(after_scheme.len(), |i| i);
    let path = &after_scheme[path_start..];
    let path = path.split(['?', '#']).next().unwrap_or("");
    if path.is_empty() {
        "/".to_string()
    } else {
        path.to_string()
    }
}

/// The first 120 characters of a body, on one line, for error messages.
pub fn snippet(body: &[u8]) -> String {
    let text = String::from_utf8_lossy(body);
    let one_line: String = text.split_whitespace().collect::<Vec<_>>().join(" ");
    if one_line.is_empty() {
        return "(empty body)".to_string();
    }
    let mut out: String = one_line.chars().take(120).collect();
    if one_line.chars().count() > 120 {
        out.push('…');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn url_path_drops_host_and_query() {
        assert_eq!(
            url_path("http://127.0.0.1:9/youtube/v3/channels?key=SECRET"),
            "/youtube/v3/channels"
        );
        assert_eq!(url_path("https://example.org"), "/");
    }

    #[test]
    fn snippet_is_short_and_single_line() {
        let body = format!("<html>\n<body>{}</body></html>", "x".repeat(500));
        let s = snippet(body.as_bytes());
        assert!(s.starts_with("<html> <body>") && s.chars().count() == 121);
    }
}
