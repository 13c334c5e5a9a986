//! What every check needs: fresh mock servers loaded with a fixture set, pulls
//! through a fresh real host client, and the bookkeeping to compare pulls
//! (records, natural keys) and to end a server without its drop panicking.

use super::Fixtures;
use crate::{conforms, host_for, Credential, Source};
use std::collections::BTreeSet;
use std::sync::Arc;
use tally_host::http::SourceHttp;
use tally_model::{
    Connector, ConnectorError, Description, HttpClient, Point, PointBuffer, PointTime,
};
use wiremock::MockServer;

/// Which of the integrator's fixture sets a server serves.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Set {
    /// [`Fixtures::mount_happy`].
    Happy,
    /// [`Fixtures::mount_empty`].
    Empty,
    /// Nothing: the check mounts its own answers.
    Bare,
}

/// One connector under test with its fixtures.
pub(super) struct Harness<'a> {
    /// The connector.
    pub connector: Arc<dyn Connector>,
    /// Its description, read once.
    pub description: Description,
    /// How to serve its fixtures.
    pub fixtures: &'a dyn Fixtures,
}

/// A pull's result with the host's request counters.
pub(super) struct Pulled {
    /// The points and state, or the connector's error.
    pub result: Result<PointBuffer, ConnectorError>,
    /// Requests the host sent, retries included.
    pub requests: u64,
    /// Requests that were retries.
    pub retries: u64,
    /// 429 answers the host received.
    pub throttled: u64,
}

impl Harness<'_> {
    /// A fresh mock server serving `set`.
    pub async fn server(&self, set: Set) -> MockServer {
        let server = MockServer::start().await;
        match set {
            Set::Happy => self.fixtures.mount_happy(&server).await,
            Set::Empty => self.fixtures.mount_empty(&server).await,
            Set::Bare => {}
        }
        server
    }

    /// The source the checks pull: the fixture settings at the fixture base URL.
    pub fn source(&self, server: &MockServer, state: Option<serde_json::Value>) -> Source {
        let mut source = Source::new(self.fixtures.base_url(server), self.fixtures.settings());
        source.state = state;
        source
    }

    /// A fresh real host client (own pacer, empty quota ledger) for `server`.
    pub fn http(&self, server: &MockServer) -> SourceHttp {
        host_for(
            &self.fixtures.base_url(server),
            &self.description,
            self.fixtures.credential(),
        )
    }

    /// One pull on `server` from `state` through a fresh host client.
    pub async fn pull(&self, server: &MockServer, state: Option<serde_json::Value>) -> Pulled {
        let http = self.http(server);
        let counts = http.counts();
        let result = self.pull_with(&http, server, state).await;
        let (requests, retries, throttled) = counts.snapshot();
        Pulled {
            result,
            requests,
            retries,
            throttled,
        }
    }

    /// One pull on `server` from `state` through `http`.
    pub async fn pull_with(
        &self,
        http: &dyn HttpClient,
        server: &MockServer,
        state: Option<serde_json::Value>,
    ) -> Result<PointBuffer, ConnectorError> {
        let source = self.source(server, state);
        let mut buffer = PointBuffer::new(&self.description.name);
        self.connector
            .pull(&source.context(http), &mut buffer)
            .await?;
        Ok(buffer)
    }

    /// The first point that does not conform, if any.
    pub fn conforming(&self, points: &[Point]) -> Result<(), String> {
        let now = crate::now();
        points
            .iter()
            .try_for_each(|point| conforms(&self.description, now, point))
    }

    /// An error if `text` (an error message the user would read) holds the
    /// fixture credential's secret.
    pub fn no_secret_in(&self, text: &str) -> Result<(), String> {
        let secret = match self.fixtures.credential() {
            Credential::ApiKey { key, .. } | Credential::Bearer(key) => key,
            Credential::None | Credential::OAuth2(_) => return Ok(()),
        };
        if text.contains(secret.expose()) {
            return Err(format!(
                "an error shows the source's credential in clear (invariant 7): {}",
                text.replace(secret.expose(), "[the secret]")
            ));
        }
        Ok(())
    }

    /// Whether a request the server received carries the fixture credential
    /// where the host puts it (always true for none and OAuth2, whose token the
    /// kit does not know).
    pub fn carries_credential(&self, request: &wiremock::Request) -> bool {
        let header = |name: &str| {
            request
                .headers
                .get(name)
                .and_then(|v| v.to_str().ok())
                .map(str::to_string)
        };
        match self.fixtures.credential() {
            Credential::None | Credential::OAuth2(_) => true,
            Credential::Bearer(token) => {
                header("authorization") == Some(format!("Bearer {}", token.expose()))
            }
            Credential::ApiKey {
                key,
                query_param,
                header: name,
            } => {
                let in_query = query_param.is_none_or(|param| {
                    request
                        .url
                        .query_pairs()
                        .any(|(k, v)| k == param.as_str() && v == key.expose())
                });
                let in_header =
                    name.is_none_or(|name| header(&name).as_deref() == Some(key.expose()));
                in_query && in_header
            }
        }
    }

    /// The records among `points`, per the fixtures.
    pub fn records(&self, points: &[Point]) -> BTreeSet<String> {
        self.fixtures.records(points)
    }
}

/// A point's natural key within one source (entity kind and id, metric,
/// dimensions, time), written out so keys sort and print.
pub(super) fn natural_key(point: &Point) -> String {
    let time = match point.time {
        PointTime::At(at) => format!("at {}", at.to_rfc3339()),
        PointTime::Period { start, end } => {
            format!("[{}, {})", start.to_rfc3339(), end.to_rfc3339())
        }
    };
    format!(
        "{}:{} {} {:?} {time}",
        point.entity.kind.as_str(),
        point.entity.id,
        point.metric,
        point.dimensions
    )
}

/// Up to five items of a set, for messages.
pub(super) fn sample<'a>(items: impl IntoIterator<Item = &'a String>) -> String {
    let items: Vec<&String> = items.into_iter().collect();
    let shown: Vec<&str> = items.iter().take(5).map(|s| s.as_str()).collect();
    let more = items.len().saturating_sub(shown.len());
    if more > 0 {
        format!("{} and {more} more", shown.join(", "))
    } else {
        shown.join(", ")
    }
}

/// Checks the server's `expect(..)` counts, turning wiremock's panic into the
/// check's failure message, and shuts the server down.
pub(super) async fn verified(server: MockServer) -> Result<(), String> {
    match tokio::spawn(async move { server.verify().await }).await {
        Ok(()) => Ok(()),
        Err(e) if e.is_panic() => {
            let payload = e.into_panic();
            let message = payload
                .downcast_ref::<String>()
                .cloned()
                .or_else(|| payload.downcast_ref::<&str>().map(|s| s.to_string()))
                .unwrap_or_else(|| "the mock server's expectations failed".to_string());
            Err(format!(
                "the fixtures' request expectations were not met: {message}"
            ))
        }
        Err(e) => Err(format!("could not verify the mock server: {e}")),
    }
}

/// Shuts a server down without verifying it, for checks that stop early by design.
pub(super) async fn discard(server: MockServer) {
    server.reset().await;
}
