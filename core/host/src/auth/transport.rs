//! HTTP for token endpoints: the `oauth2` crate's requests sent with reqwest,
//! after the platform's request quirks are applied.
//!
//! Token traffic is the host's own (invariant 1: connectors never see it), so it
//! gets its own small client: no redirects (a token request that is redirected
//! could carry a client secret or a code to another host), a timeout, and a trace
//! line per request with the path and status only, never a body or a query.

use super::error::AuthError;
use super::quirks;
use crate::error_chain::error_chain;
use crate::http::redact_url;
use std::future::Future;
use std::pin::Pin;
use std::time::{Duration, Instant};
use tally_config::secret::Secret;
use tally_model::error::url_path;
use tally_model::AuthQuirk;

/// Why a token request got no response.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct TransportError(String);

/// The client token requests go through.
#[derive(Debug, Clone)]
pub struct TokenHttp {
    client: reqwest::Client,
}

impl TokenHttp {
    /// A client whose requests give up after `timeout`.
    pub fn new(timeout: Duration) -> Result<TokenHttp, AuthError> {
        let client = reqwest::Client::builder()
            .user_agent(concat!(
                "Tally/",
                env!("CARGO_PKG_VERSION"),
                " (+metrics connector)"
            ))
            .redirect(reqwest::redirect::Policy::none())
            .timeout(timeout)
            .build()
            .map_err(|e| {
                AuthError::Config(format!("could not build the token HTTP client: {e}"))
            })?;
        Ok(TokenHttp { client })
    }

    /// An `oauth2` crate HTTP client that applies `quirks` to each request.
    pub(crate) fn for_quirks(&self, quirks: &[AuthQuirk]) -> QuirkedHttp {
        QuirkedHttp {
            http: self.clone(),
            quirks: quirks.to_vec(),
        }
    }

    /// Sends one request and returns the whole response.
    async fn execute(
        &self,
        request: oauth2::HttpRequest,
    ) -> Result<oauth2::HttpResponse, TransportError> {
        let url = request.uri().to_string();
        let method = request.method().clone();
        let request: reqwest::Request = request
            .try_into()
            .map_err(|e: reqwest::Error| TransportError(e.without_url().to_string()))?;
        let started = Instant::now();
        let result = self.client.execute(request).await;
        let latency_ms = started.elapsed().as_millis() as u64;
        let response = result.map_err(|e| {
            let e = e.without_url();
            tracing::debug!(%method, url = %redact_url(&url), error = %e, latency_ms, "token request failed");
            TransportError(error_chain(&e))
        })?;
        tracing::debug!(%method, url = %redact_url(&url), status = response.status().as_u16(), latency_ms, "token request");
        let mut builder = oauth2::http::Response::builder().status(response.status());
        for (name, value) in response.headers() {
            builder = builder.header(name, value);
        }
        let body = response
            .bytes()
            .await
            .map_err(|e| TransportError(error_chain(&e.without_url())))?;
        builder
            .body(body.to_vec())
            .map_err(|e| TransportError(e.to_string()))
    }

    /// GETs a JSON document (Meta's token exchange and page lookups), with an
    /// optional bearer token; returns the status and the parsed body.
    pub(crate) async fn get_json(
        &self,
        url: &url::Url,
        bearer: Option<&Secret>,
    ) -> Result<(u16, serde_json::Value), AuthError> {
        let path = url_path(url.as_str());
        let mut request = oauth2::http::Request::builder()
            .method(oauth2::http::Method::GET)
            .uri(url.as_str())
            .header("accept", "application/json");
        if let Some(token) = bearer {
            request = request.header("authorization", format!("Bearer {}", token.expose()));
        }
        let request = request.body(Vec::new()).map_err(|e| AuthError::Endpoint {
            path: path.clone(),
            message: e.to_string(),
        })?;
        let response = self
            .execute(request)
            .await
            .map_err(|e| AuthError::Endpoint {
                path: path.clone(),
                message: format!("no answer: {e}"),
            })?;
        let status = response.status().as_u16();
        let body = serde_json::from_slice(response.body()).map_err(|_| AuthError::Endpoint {
            path,
            message: format!("answered {status} with a body that is not JSON"),
        })?;
        Ok((status, body))
    }
}

impl TokenHttp {
    /// POSTs `form` form-encoded (a grant the `oauth2` crate has no request
    /// for: the JWT bearer grant); returns the status and the raw body.
    pub(crate) async fn post_form(
        &self,
        url: &str,
        form: &[(&str, &str)],
    ) -> Result<(u16, Vec<u8>), AuthError> {
        let path = url_path(url);
        let body = url::form_urlencoded::Serializer::new(String::new())
            .extend_pairs(form)
            .finish();
        let request = oauth2::http::Request::builder()
            .method(oauth2::http::Method::POST)
            .uri(url)
            .header("content-type", "application/x-www-form-urlencoded")
            .header("accept", "application/json")
            .body(body.into_bytes())
            .map_err(|e| AuthError::Endpoint {
                path: path.clone(),
                message: e.to_string(),
            })?;
        let response = self
            .execute(request)
            .await
            .map_err(|e| AuthError::Endpoint {
                path,
                message: format!("no answer: {e}"),
            })?;
        Ok((response.status().as_u16(), response.into_body()))
    }
}

/// The `oauth2` crate's view of [`TokenHttp`]: each request rewritten for the
/// platform's quirks, then sent.
#[derive(Debug)]
pub(crate) struct QuirkedHttp {
    http: TokenHttp,
    quirks: Vec<AuthQuirk>,
}

impl<'c> oauth2::AsyncHttpClient<'c> for QuirkedHttp {
    type Error = TransportError;
    type Future =
        Pin<Box<dyn Future<Output = Result<oauth2::HttpResponse, TransportError>> + Send + 'c>>;

    fn call(&'c self, request: oauth2::HttpRequest) -> Self::Future {
        Box::pin(
            self.http
                .execute(quirks::rewrite_token_request(request, &self.quirks)),
        )
    }
}
