//! The JSON that crosses the boundary inside the byte buffers.
//!
//! Everything but the bulk data is UTF-8 JSON: descriptions use `tally-model`'s
//! own serde encoding unchanged; the shapes the model has no serde form for (the
//! call context, HTTP request and response heads, errors) are defined here, small
//! enough to write by hand in C. The bulk travels without JSON: HTTP bodies as
//! raw bytes beside their heads, points as a [`crate::points`] batch. Decoders are lenient where it costs nothing (missing optional fields,
//! unknown error kinds) and strict where a guess would be wrong.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use tally_model::{ConnectorError, HttpError, HttpRequest, HttpResponse, Method};

/// What the host passes to `check` and `pull`: the source being pulled.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WireContext {
    /// The configured source id, for messages.
    pub source_id: String,
    /// API root without a trailing slash: the source's `base_url` or the connector's default.
    pub base_url: String,
    /// `[sources.settings]` as a JSON object.
    #[serde(default)]
    pub settings: serde_json::Value,
    /// Page cap for any one listing.
    #[serde(default = "default_max_pages")]
    pub max_pages: u32,
    /// The pull's reference time (RFC 3339); every gauge of one pull carries it.
    pub now: DateTime<Utc>,
    /// Backfill start (`tally pull --since`), when given.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub since: Option<DateTime<Utc>>,
    /// The source's restatement window override, when configured.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lookback_days: Option<u32>,
}

fn default_max_pages() -> u32 {
    100
}

/// The head of an HTTP request as the plugin describes it. The body is not in
/// here: it crosses beside the head as raw bytes, so a JSON body is never escaped
/// into a JSON string and back.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WireRequestHead {
    /// `"GET"` or `"POST"`.
    pub method: Method,
    /// Absolute URL.
    pub url: String,
    /// Extra headers as `[name, value]` pairs.
    #[serde(default)]
    pub headers: Vec<(String, String)>,
    /// Quota units the call costs (default 1).
    #[serde(default = "one")]
    pub cost: u32,
    /// The stated budget the call spends (`HttpRequest::charged_to`), if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub budget: Option<String>,
}

fn one() -> u32 {
    1
}

impl WireRequestHead {
    /// The head of a model request (its body goes separately).
    pub fn of(request: &HttpRequest) -> WireRequestHead {
        WireRequestHead {
            method: request.method,
            url: request.url.clone(),
            headers: request.headers.clone(),
            cost: request.cost,
            budget: request.budget.clone(),
        }
    }

    /// The model request with `body` (an empty body is no body).
    pub fn with_body(self, body: &[u8]) -> HttpRequest {
        HttpRequest {
            method: self.method,
            url: self.url,
            headers: self.headers,
            body: (!body.is_empty()).then(|| body.to_vec()),
            cost: self.cost,
            budget: self.budget,
        }
    }
}

/// The head of a final response as the host hands it to the plugin; the body
/// crosses beside it as raw bytes, as in [`WireRequestHead`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WireResponseHead {
    /// HTTP status code.
    pub status: u16,
    /// Headers as `[name, value]` pairs, names lower-cased.
    #[serde(default)]
    pub headers: Vec<(String, String)>,
}

impl WireResponseHead {
    /// Splits a model response into its head and its body, which cross separately.
    pub fn split(response: HttpResponse) -> (WireResponseHead, Vec<u8>) {
        let head = WireResponseHead {
            status: response.status,
            headers: response.headers,
        };
        (head, response.body)
    }

    /// The model response with `body`.
    pub fn with_body(self, body: Vec<u8>) -> HttpResponse {
        HttpResponse {
            status: self.status,
            headers: self.headers,
            body,
        }
    }
}

/// Every error that crosses the boundary, in either direction.
///
/// Only `message` is required: `{"message":"what went wrong"}` is a valid error
/// (kind `other`). The other fields let typed errors survive the trip, so the host
/// still tells a spent quota (skip the source) from a broken connector (fail it).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WireError {
    /// `http`, `status`, `decode`, `settings`, `not_found`, `schema`,
    /// `pagination`, `panic` or `other`; anything unknown reads as `other`.
    #[serde(default = "other_kind")]
    pub kind: String,
    /// The full human-readable message.
    pub message: String,
    /// For `http`: the host's `HttpError` in `tally-model`'s serde form.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub http: Option<HttpError>,
    /// URL path, for `status`, `decode` and `pagination`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
    /// HTTP status, for `status`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<u16>,
    /// Start of a response body, for `status` and `decode`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub body: Option<String>,
    /// The inner detail without the prefix `message` adds (decoder message,
    /// settings problem, what was not found, why pagination stopped).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
    /// Connector name, for `schema`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub connector: Option<String>,
}

fn other_kind() -> String {
    "other".into()
}

impl WireError {
    /// An untyped error.
    pub fn other(message: impl Into<String>) -> WireError {
        WireError::new("other", message.into())
    }

    /// A panic caught at the boundary; `message` is the panic's payload.
    pub fn panic(message: impl Into<String>) -> WireError {
        WireError::new("panic", message.into())
    }

    fn new(kind: &str, message: String) -> WireError {
        WireError {
            kind: kind.into(),
            message,
            http: None,
            path: None,
            status: None,
            body: None,
            detail: None,
            connector: None,
        }
    }

    /// The wire form of an HTTP error.
    pub fn from_http(error: &HttpError) -> WireError {
        WireError {
            http: Some(error.clone()),
            ..WireError::new("http", error.to_string())
        }
    }

    /// The wire form of a connector error; `into_connector` gives it back unchanged
    /// (schema errors come back as `Other` with the same message).
    pub fn from_connector(error: &ConnectorError) -> WireError {
        let base = WireError::new("other", error.to_string());
        match error {
            ConnectorError::Http(e) => WireError::from_http(e),
            ConnectorError::Status { path, status, body } => WireError {
                kind: "status".into(),
                path: Some(path.clone()),
                status: Some(*status),
                body: Some(body.clone()),
                ..base
            },
            ConnectorError::Decode {
                path,
                message,
                body,
            } => WireError {
                kind: "decode".into(),
                path: Some(path.clone()),
                detail: Some(message.clone()),
                body: Some(body.clone()),
                ..base
            },
            ConnectorError::Settings(detail) => WireError {
                kind: "settings".into(),
                detail: Some(detail.clone()),
                ..base
            },
            ConnectorError::NotFound(detail) => WireError {
                kind: "not_found".into(),
                detail: Some(detail.clone()),
                ..base
            },
            ConnectorError::Schema { connector, .. } => WireError {
                kind: "schema".into(),
                connector: Some(connector.clone()),
                ..base
            },
            ConnectorError::Pagination { path, message } => WireError {
                kind: "pagination".into(),
                path: Some(path.clone()),
                detail: Some(message.clone()),
                ..base
            },
            ConnectorError::Other(_) => base,
        }
    }

    /// The connector error this wire error stands for. Kinds whose fields are
    /// missing fall back to `Other` with the message, so nothing is lost.
    pub fn into_connector(self) -> ConnectorError {
        let WireError {
            kind,
            message,
            http,
            path,
            status,
            body,
            detail,
            ..
        } = self;
        match (kind.as_str(), http, path, status, body, detail) {
            ("http", Some(http), ..) => ConnectorError::Http(http),
            ("status", _, Some(path), Some(status), body, _) => ConnectorError::Status {
                path,
                status,
                body: body.unwrap_or_default(),
            },
            ("decode", _, Some(path), _, body, Some(detail)) => ConnectorError::Decode {
                path,
                message: detail,
                body: body.unwrap_or_default(),
            },
            ("settings", .., Some(detail)) => ConnectorError::Settings(detail),
            ("not_found", .., Some(detail)) => ConnectorError::NotFound(detail),
            ("pagination", _, Some(path), _, _, Some(detail)) => ConnectorError::Pagination {
                path,
                message: detail,
            },
            _ => ConnectorError::Other(message),
        }
    }

    /// The HTTP error this wire error stands for (an `Other` unless it is `http`).
    pub fn into_http(self) -> HttpError {
        match self.http {
            Some(http) => http,
            None => HttpError::Other(self.message),
        }
    }
}

/// Serializes a value to JSON bytes. The types that cross the boundary always
/// serialize; should one ever fail, the failure itself is sent as an error object.
pub fn to_json<T: Serialize>(value: &T) -> Vec<u8> {
    serde_json::to_vec(value).unwrap_or_else(|e| {
        let fallback = WireError::other(format!("could not encode a value as JSON: {e}"));
        serde_json::to_vec(&fallback)
            .unwrap_or_else(|_| b"{\"message\":\"encoding failed\"}".to_vec())
    })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use tally_model::SchemaError;

    #[test]
    fn heads_carry_everything_but_the_body() {
        let request = HttpRequest {
            method: Method::Post,
            url: "http://127.0.0.1:1/x".into(),
            headers: vec![("accept".into(), "application/json".into())],
            body: Some(b"{\"a\":1}".to_vec()),
            cost: 3,
            budget: Some("properties/77".into()),
        };
        let head: WireRequestHead =
            serde_json::from_slice(&to_json(&WireRequestHead::of(&request))).unwrap();
        assert_eq!(head.clone().with_body(b"{\"a\":1}"), request);
        assert_eq!(head.with_body(b"").body, None);
        let response = HttpResponse {
            status: 200,
            headers: vec![("content-type".into(), "application/json".into())],
            body: vec![0xff, 0x00, 0xfe],
        };
        let (head, body) = WireResponseHead::split(response.clone());
        let head: WireResponseHead = serde_json::from_slice(&to_json(&head)).unwrap();
        assert_eq!(head.with_body(body), response);
    }

    #[test]
    fn connector_errors_survive_the_trip() {
        let errors = vec![
            ConnectorError::Http(HttpError::QuotaExhausted {
                key: "youtube#ab12".into(),
                used: 10,
                limit: 10,
                resets_at: "2026-06-02T07:00:00+00:00".into(),
            }),
            ConnectorError::Status {
                path: "/x".into(),
                status: 404,
                body: "nope".into(),
            },
            ConnectorError::Decode {
                path: "/x".into(),
                message: "expected value at line 1 column 1".into(),
                body: "<html>".into(),
            },
            ConnectorError::Settings("actor is missing".into()),
            ConnectorError::NotFound("no such actor".into()),
            ConnectorError::Pagination {
                path: "/feed".into(),
                message: "loop".into(),
            },
            ConnectorError::Other("boom".into()),
        ];
        for e in errors {
            let json = to_json(&WireError::from_connector(&e));
            let back: WireError = serde_json::from_slice(&json).unwrap();
            assert_eq!(back.into_connector(), e);
        }
        let schema = ConnectorError::Schema {
            connector: "c".into(),
            error: SchemaError::BadUnit { unit: "x".into() },
        };
        let back = WireError::from_connector(&schema).into_connector();
        assert_eq!(back.to_string(), schema.to_string());
    }

    #[test]
    fn a_bare_message_is_a_valid_error() {
        let e: WireError = serde_json::from_str(r#"{"message":"it broke"}"#).unwrap();
        assert_eq!(e.kind, "other");
        assert_eq!(e.into_connector(), ConnectorError::Other("it broke".into()));
    }
}
