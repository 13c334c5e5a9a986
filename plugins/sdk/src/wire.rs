//! The JSON that crosses the boundary inside the byte buffers.
//!
//! Everything is UTF-8 JSON. Points and descriptions use `tally-model`'s own serde
//! encodings unchanged; the few shapes the model has no serde form for (the call
//! context, HTTP bodies, errors) are defined here, small enough to write by hand
//! in C. Decoders are lenient where it costs nothing (missing optional fields,
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

/// An HTTP request as the plugin describes it. Bodies travel as UTF-8 text in
/// `body`, or as base64 in `body_base64` when they are not valid UTF-8.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WireRequest {
    /// `"GET"` or `"POST"`.
    pub method: Method,
    /// Absolute URL.
    pub url: String,
    /// Extra headers as `[name, value]` pairs.
    #[serde(default)]
    pub headers: Vec<(String, String)>,
    /// UTF-8 body.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub body: Option<String>,
    /// Binary body, base64 (standard alphabet, padded).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub body_base64: Option<String>,
    /// Quota units the call costs (default 1).
    #[serde(default = "one")]
    pub cost: u32,
}

fn one() -> u32 {
    1
}

impl WireRequest {
    /// The wire form of a model request.
    pub fn from_request(request: &HttpRequest) -> WireRequest {
        let (body, body_base64) = match &request.body {
            None => (None, None),
            Some(bytes) => split_body(bytes),
        };
        WireRequest {
            method: request.method,
            url: request.url.clone(),
            headers: request.headers.clone(),
            body,
            body_base64,
            cost: request.cost,
        }
    }

    /// The model request, or what is wrong with the body encoding.
    pub fn into_request(self) -> Result<HttpRequest, String> {
        let body = join_body(self.body, self.body_base64)?;
        Ok(HttpRequest {
            method: self.method,
            url: self.url,
            headers: self.headers,
            body,
            cost: self.cost,
        })
    }
}

/// A final response as the host hands it to the plugin; the body is encoded as in
/// [`WireRequest`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WireResponse {
    /// HTTP status code.
    pub status: u16,
    /// Headers as `[name, value]` pairs, names lower-cased.
    #[serde(default)]
    pub headers: Vec<(String, String)>,
    /// UTF-8 body.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub body: Option<String>,
    /// Binary body, base64.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub body_base64: Option<String>,
}

impl WireResponse {
    /// The wire form of a model response.
    pub fn from_response(response: &HttpResponse) -> WireResponse {
        let (body, body_base64) = split_body(&response.body);
        WireResponse {
            status: response.status,
            headers: response.headers.clone(),
            body,
            body_base64,
        }
    }

    /// The model response, or what is wrong with the body encoding.
    pub fn into_response(self) -> Result<HttpResponse, String> {
        let body = join_body(self.body, self.body_base64)?.unwrap_or_default();
        Ok(HttpResponse {
            status: self.status,
            headers: self.headers,
            body,
        })
    }
}

/// Text bodies as text (JSON APIs: no escaping blow-up), anything else as base64.
fn split_body(bytes: &[u8]) -> (Option<String>, Option<String>) {
    match std::str::from_utf8(bytes) {
        Ok(text) => (Some(text.to_string()), None),
        Err(_) => (None, Some(base64_encode(bytes))),
    }
}

fn join_body(body: Option<String>, body_base64: Option<String>) -> Result<Option<Vec<u8>>, String> {
    match (body, body_base64) {
        (Some(_), Some(_)) => Err("both `body` and `body_base64` are set; send one".into()),
        (Some(text), None) => Ok(Some(text.into_bytes())),
        (None, Some(b64)) => base64_decode(&b64).map(Some),
        (None, None) => Ok(None),
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

const BASE64: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/// Standard, padded base64 (RFC 4648 §4).
pub fn base64_encode(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let b = [
            chunk[0],
            chunk.get(1).copied().unwrap_or(0),
            chunk.get(2).copied().unwrap_or(0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for (i, shift) in [18u32, 12, 6, 0].into_iter().enumerate() {
            if i <= chunk.len() {
                out.push(char::from(BASE64[((n >> shift) & 63) as usize]));
            } else {
                out.push('=');
            }
        }
    }
    out
}

/// Decodes standard base64; padding is optional, whitespace is not allowed.
pub fn base64_decode(text: &str) -> Result<Vec<u8>, String> {
    let trimmed = text.trim_end_matches('=');
    let mut out = Vec::with_capacity(trimmed.len() * 3 / 4);
    let mut acc: u32 = 0;
    let mut bits = 0;
    for (i, c) in trimmed.bytes().enumerate() {
        let v = match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            b'+' => 62,
            b'/' => 63,
            _ => {
                return Err(format!(
                    "`body_base64` has an invalid character at offset {i}"
                ))
            }
        };
        acc = (acc << 6) | u32::from(v);
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
            acc &= (1 << bits) - 1;
        }
    }
    if bits >= 6 {
        return Err("`body_base64` has a truncated final group".into());
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use tally_model::SchemaError;

    #[test]
    fn base64_round_trips_all_lengths() {
        assert_eq!(base64_encode(b"foobar"), "Zm9vYmFy");
        assert_eq!(base64_encode(b"fo"), "Zm8=");
        assert_eq!(base64_encode(b"f"), "Zg==");
        for len in 0..40usize {
            let bytes: Vec<u8> = (0..len).map(|i| (i * 37 + 200) as u8).collect();
            assert_eq!(base64_decode(&base64_encode(&bytes)).unwrap(), bytes);
        }
        assert!(base64_decode("Zm9v!").is_err());
    }

    #[test]
    fn text_bodies_stay_text_and_binary_goes_base64() {
        let r = HttpResponse {
            status: 200,
            headers: vec![("content-type".into(), "application/json".into())],
            body: br#"{"a":1}"#.to_vec(),
        };
        let wire = WireResponse::from_response(&r);
        assert_eq!(wire.body.as_deref(), Some(r#"{"a":1}"#));
        assert_eq!(wire.clone().into_response().unwrap(), r);
        let bin = HttpResponse {
            body: vec![0xff, 0x00, 0xfe],
            ..r
        };
        let wire = WireResponse::from_response(&bin);
        assert!(wire.body.is_none() && wire.body_base64.is_some());
        assert_eq!(wire.into_response().unwrap(), bin);
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
