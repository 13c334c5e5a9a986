//! The HTTP boundary between a connector and the host.
//!
//! Connectors describe requests; the host sends them. That single funnel is where
//! rate limits, quota budgets, auth headers, retries, timeouts and tracing live,
//! so no connector can forget one. The types are plain data (no reqwest types) so
//! they cross the plugin ABI unchanged.

use async_trait::async_trait;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

/// HTTP method; metrics APIs only need reads and the odd POST query (GA4 `runReport`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum Method {
    /// GET.
    Get,
    /// POST.
    Post,
}

/// A request as a connector describes it. The host adds auth, User-Agent and limits.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HttpRequest {
    /// GET or POST.
    pub method: Method,
    /// Absolute URL, normally built from the source's `base_url`.
    pub url: String,
    /// Extra headers (`Accept`, content type).
    #[serde(default)]
    pub headers: Vec<(String, String)>,
    /// Request body for POST.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub body: Option<Vec<u8>>,
    /// Quota units this call costs where the platform counts them (YouTube: 1 per list call).
    #[serde(default = "one")]
    pub cost: u32,
    /// The stated budget this call spends (see [`crate::quota`]): the host
    /// refuses it unsent while a bucket of that budget cannot pay for it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub budget: Option<String>,
}

fn one() -> u32 {
    1
}

impl HttpRequest {
    /// A GET of `url` costing one quota unit.
    pub fn get(url: impl Into<String>) -> HttpRequest {
        HttpRequest {
            method: Method::Get,
            url: url.into(),
            headers: Vec::new(),
            body: None,
            cost: 1,
            budget: None,
        }
    }

    /// A POST of a JSON body.
    pub fn post_json(url: impl Into<String>, body: &serde_json::Value) -> HttpRequest {
        HttpRequest {
            method: Method::Post,
            url: url.into(),
            headers: vec![("content-type".into(), "application/json".into())],
            body: Some(body.to_string().into_bytes()),
            cost: 1,
            budget: None,
        }
    }

    /// Sets the quota cost.
    pub fn with_cost(mut self, cost: u32) -> HttpRequest {
        self.cost = cost;
        self
    }

    /// Charges the call to a budget the platform states in its answers
    /// (GA4: the property), which the connector reports with
    /// [`crate::SourceContext::report_quota`].
    pub fn charged_to(mut self, budget: &str) -> HttpRequest {
        self.budget = Some(budget.to_string());
        self
    }

    /// Adds a header.
    pub fn with_header(mut self, name: &str, value: &str) -> HttpRequest {
        self.headers.push((name.to_string(), value.to_string()));
        self
    }
}

/// A final response after the host's retries: any status the host did not retry away.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HttpResponse {
    /// HTTP status code.
    pub status: u16,
    /// Response headers, names lower-cased.
    #[serde(default)]
    pub headers: Vec<(String, String)>,
    /// The (decompressed) body.
    #[serde(default)]
    pub body: Vec<u8>,
}

impl HttpResponse {
    /// First value of a header, by case-insensitive name.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// Whether the status is 2xx.
    pub fn is_success(&self) -> bool {
        (200..300).contains(&self.status)
    }
}

/// Why the host could not produce a usable response. Messages never contain secrets.
#[derive(Debug, Clone, PartialEq, thiserror::Error, Serialize, Deserialize)]
pub enum HttpError {
    /// Connection refused, DNS, TLS: the request never got a status.
    #[error("could not reach {path}: {message}")]
    Connect {
        /// URL path (no query, no secrets).
        path: String,
        /// What failed.
        message: String,
    },
    /// No complete response within the timeout, after all attempts.
    #[error("{path} did not answer within {timeout_secs}s (after {attempts} attempts)")]
    Timeout {
        /// URL path.
        path: String,
        /// The total-time limit.
        timeout_secs: u64,
        /// Attempts made.
        attempts: u32,
    },
    /// The server kept refusing (429/5xx) until the attempts ran out.
    #[error("{path} answered {status} on all {attempts} attempts; the platform is throttling or failing, try again later")]
    RetriesExhausted {
        /// URL path.
        path: String,
        /// Last status.
        status: u16,
        /// Attempts made.
        attempts: u32,
    },
    /// The platform asked for a pause longer than the host is willing to wait in one pull.
    #[error("{path} is throttled for {wait_secs}s more; the source will be pulled again on its next run")]
    Throttled {
        /// URL path.
        path: String,
        /// Seconds the platform asked to wait.
        wait_secs: u64,
    },
    /// The credential was refused (401/403 not about quota).
    #[error("{path} refused the credential ({status}): {message}")]
    Unauthorized {
        /// URL path.
        path: String,
        /// 401 or 403.
        status: u16,
        /// The platform's message, or what to do.
        message: String,
    },
    /// The quota budget for this credential is spent; nothing was sent.
    #[error(
        "quota budget of {limit} units for {key} is spent ({used} used); it resets at {resets_at}"
    )]
    QuotaExhausted {
        /// Which budget (platform and credential fingerprint, never the secret).
        key: String,
        /// Units used in the current window.
        used: u64,
        /// Units allowed per window.
        limit: u64,
        /// RFC 3339 time the window resets.
        resets_at: String,
    },
    /// A budget the platform stated cannot pay for this request before its
    /// reset; nothing was sent.
    #[error("{budget}: {bucket} has {remaining} left, less than the {cost} one request costs, as the platform last stated; nothing is sent until it resets at {resets_at}")]
    QuotaStated {
        /// The budget as the connector named it (GA4: `properties/123`).
        budget: String,
        /// The bucket that cannot pay (`tokensPerHour`).
        bucket: String,
        /// What the platform said is left.
        remaining: u64,
        /// What one request costs.
        cost: u64,
        /// RFC 3339 time the bucket fills again.
        resets_at: String,
    },
    /// The URL is not valid.
    #[error("invalid URL `{url}`: {message}")]
    BadUrl {
        /// The URL with secrets removed.
        url: String,
        /// Parser message.
        message: String,
    },
    /// Anything else the host reports (a plugin callback that failed, a closed runtime).
    #[error("{0}")]
    Other(String),
}

/// The host's HTTP client as a connector sees it.
///
/// Implemented by the runtime (reqwest + limiter + retries) and, inside a plugin,
/// by the SDK's bridge to the host callback. Connectors hold a `&dyn HttpClient`.
#[async_trait]
pub trait HttpClient: Send + Sync {
    /// Sends one request through the host's limits and retries and returns the final response.
    async fn send(&self, request: HttpRequest) -> Result<HttpResponse, HttpError>;

    /// Records a bucket of a budget as the platform stated it in an answer
    /// (see [`crate::quota`]), so the host refuses requests charged to that
    /// budget while it cannot pay for them. A client that keeps no budgets
    /// (a test double) has nothing to record it in: the default ignores it.
    /// Clients wrapping another must pass it on.
    fn report_quota(&self, stated: &crate::StatedQuota) -> Result<(), HttpError> {
        let _ = stated;
        Ok(())
    }
}

/// Conveniences every connector would otherwise rewrite.
#[async_trait]
pub trait HttpClientExt: HttpClient {
    /// GETs (or POSTs) `request`, requires a 2xx, and decodes the JSON body into `T`.
    ///
    /// Errors name the URL path and, for a bad body, what was wrong with it (an HTML
    /// error page, truncated JSON, a missing field). A non-2xx becomes
    /// [`crate::ConnectorError::Status`] with the start of the body; use
    /// [`HttpClientExt::get_json_with`] to read the platform's own error shape.
    async fn get_json<T: DeserializeOwned>(
        &self,
        request: HttpRequest,
    ) -> Result<(T, HttpResponse), crate::ConnectorError> {
        self.get_json_with(request, crate::ConnectorError::status)
            .await
    }

    /// As [`HttpClientExt::get_json`], with a non-2xx answer turned into an
    /// error by `on_error(path, status, body)`: the platform's error mapper,
    /// which reads its error body (Google's `reason`, Mastodon's `error`) and
    /// says what to do.
    async fn get_json_with<T, F>(
        &self,
        request: HttpRequest,
        on_error: F,
    ) -> Result<(T, HttpResponse), crate::ConnectorError>
    where
        T: DeserializeOwned,
        F: Fn(&str, u16, &[u8]) -> crate::ConnectorError + Send,
    {
        let path = crate::error::url_path(&request.url);
        let response = self.send(request).await?;
        if !response.is_success() {
            return Err(on_error(&path, response.status, &response.body));
        }
        let value = decode_json(&path, &response.body)?;
        Ok((value, response))
    }
}

impl<C: HttpClient + ?Sized> HttpClientExt for C {}

/// Decodes a JSON body, turning failures into a [`crate::ConnectorError::Decode`] that
/// names the URL path, the field that did not fit (`` at `statuses[3].id` ``: serde's own
/// message says what it expected but not where) and shows the start of the body.
pub fn decode_json<T: DeserializeOwned>(
    path: &str,
    body: &[u8],
) -> Result<T, crate::ConnectorError> {
    // Tracking the path of every field costs more than the decoding itself:
    // decode plainly, and only a body that fails is decoded again to say where.
    // JSON is UTF-8 as a whole: checked once here, the decoder does not check
    // each string again (2% of a 10,000-post pull).
    let plain = match std::str::from_utf8(body) {
        Ok(text) => serde_json::from_str(text),
        Err(_) => serde_json::from_slice(body),
    };
    if let Ok(value) = plain {
        return Ok(value);
    }
    let mut de = serde_json::Deserializer::from_slice(body);
    let decoded = serde_path_to_error::deserialize(&mut de).map_err(|e| {
        let field = e.path().to_string();
        let inner = e.into_inner();
        if field == "." {
            inner.to_string()
        } else {
            format!("at `{field}`: {inner}")
        }
    });
    decoded
        .and_then(|value| de.end().map(|()| value).map_err(|e| e.to_string()))
        .map_err(|message| crate::ConnectorError::decode(path, message, body))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ConnectorError;

    #[derive(Debug, serde::Deserialize)]
    struct Channel {
        #[allow(dead_code)] // read only by serde, to be checked
        statistics: Vec<Statistics>,
    }

    #[derive(Debug, serde::Deserialize)]
    struct Statistics {
        #[serde(rename = "subscriberCount")]
        #[allow(dead_code)]
        subscribers: u64,
    }

    fn message(body: &str) -> String {
        match decode_json::<Channel>("/youtube/v3/channels", body.as_bytes()) {
            Err(ConnectorError::Decode { message, .. }) => message,
            other => panic!("expected a decode error, got {other:?}"),
        }
    }

    #[test]
    fn a_decode_error_names_the_field_that_did_not_fit() {
        assert_eq!(
            message(r#"{"statistics":[{"subscriberCount":1},{"subscriberCount":"many"}]}"#),
            "at `statistics[1].subscriberCount`: invalid type: string \"many\", expected u64 at line 1 column 62"
        );
        assert_eq!(
            message(r#"{"statistics":[{}]}"#),
            "at `statistics[0]`: missing field `subscriberCount` at line 1 column 17"
        );
        assert_eq!(
            message("{}"),
            "missing field `statistics` at line 1 column 2"
        );
        assert_eq!(
            message(r#"{"statistics":[]} x"#),
            "trailing characters at line 1 column 19"
        );
        assert_eq!(
            message(r#"{"statistics":[{"subscriberCount":"#),
            "at `statistics[0].subscriberCount`: EOF while parsing a value at line 1 column 34"
        );
    }
}
