//! The malformed-JSON check: every successful body cut in half, pulled through
//! the real pull engine.
//!
//! Why cut bodies behind the host client rather than serve cut fixtures: the kit
//! cannot rewrite an integrator's mocks, but it can stand between the host
//! client and the connector, where the connector sees exactly what a truncated
//! response from the network looks like (the host never parses bodies). Why the
//! engine: the promise is not only "a `Decode` error" but that a user running
//! `tally pull` reads which source failed and which path returned the bad body,
//! and that the failed pull stored nothing. The engine is what turns a
//! connector's error into that report, so the check runs it.

use super::harness::{Harness, Set};
use async_trait::async_trait;
use std::sync::{Arc, Mutex};
use tally_config::SourceConfig;
use tally_host::catalog::{Catalog, Origin};
use tally_host::http::{HostHttp, MemoryLedger, SourceHttp};
use tally_host::pull::{Engine, SourceStatus};
use tally_model::error::url_path;
use tally_model::{
    Connector, ConnectorError, Description, Emitter, HttpClient, HttpError, HttpRequest,
    HttpResponse, SourceContext,
};
use tally_store::{PointQuery, RunState, Store};

/// The source id the engine pulls in this check.
const SOURCE_ID: &str = "conformance-malformed";

/// An [`HttpClient`] that halves every non-empty 2xx body, so no JSON document
/// survives, and remembers the paths it cut.
struct Truncating<'a> {
    inner: &'a dyn HttpClient,
    cut: &'a Mutex<Vec<String>>,
}

#[async_trait]
impl HttpClient for Truncating<'_> {
    async fn send(&self, request: HttpRequest) -> Result<HttpResponse, HttpError> {
        let path = url_path(&request.url);
        let mut response = self.inner.send(request).await?;
        if response.is_success() && !response.body.is_empty() {
            response.body.truncate(response.body.len() / 2);
            self.cut
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .push(path);
        }
        Ok(response)
    }
}

/// The connector under test as the engine sees it, except that its requests go
/// through the kit's host client (with the fixture credential, which the engine
/// could not build from config for every kind) behind [`Truncating`], and its
/// error is kept so the check can inspect its type as well as the engine's text.
struct TruncatedConnector {
    inner: Arc<dyn Connector>,
    http: SourceHttp,
    cut: Mutex<Vec<String>>,
    error: Mutex<Option<ConnectorError>>,
}

#[async_trait]
impl Connector for TruncatedConnector {
    fn describe(&self) -> Description {
        self.inner.describe()
    }

    async fn check(&self, ctx: &SourceContext<'_>) -> Result<String, ConnectorError> {
        let http = Truncating {
            inner: &self.http,
            cut: &self.cut,
        };
        self.inner.check(&with_http(ctx, &http)).await
    }

    async fn pull(
        &self,
        ctx: &SourceContext<'_>,
        out: &mut dyn Emitter,
    ) -> Result<(), ConnectorError> {
        let http = Truncating {
            inner: &self.http,
            cut: &self.cut,
        };
        let result = self.inner.pull(&with_http(ctx, &http), out).await;
        if let Err(e) = &result {
            *self.error.lock().unwrap_or_else(|e| e.into_inner()) = Some(e.clone());
        }
        result
    }
}

/// `ctx` with its HTTP client replaced.
fn with_http<'b>(ctx: &'b SourceContext<'_>, http: &'b dyn HttpClient) -> SourceContext<'b> {
    SourceContext {
        source_id: ctx.source_id,
        base_url: ctx.base_url,
        settings: ctx.settings,
        http,
        state: ctx.state,
        max_pages: ctx.max_pages,
        now: ctx.now,
        since: ctx.since,
        lookback_days: ctx.lookback_days,
    }
}

/// Runs the malformed-JSON check; see the module docs of `conformance`.
pub(super) async fn check(h: &Harness<'_>) -> Result<String, String> {
    let server = h.server(Set::Happy).await;
    let result = engine_pull(h, &h.fixtures.base_url(&server), h.http(&server)).await;
    server.reset().await;
    result
}

/// Pulls the source through a fresh engine and store and judges the outcome.
async fn engine_pull(h: &Harness<'_>, base_url: &str, http: SourceHttp) -> Result<String, String> {
    let connector = Arc::new(TruncatedConnector {
        inner: Arc::clone(&h.connector),
        http,
        cut: Mutex::new(Vec::new()),
        error: Mutex::new(None),
    });
    let mut catalog = Catalog::default();
    catalog
        .add(connector.clone(), Origin::BuiltIn)
        .map_err(|e| format!("the engine refused the connector: {e}"))?;
    let store =
        Store::open_in_memory().map_err(|e| format!("could not open an in-memory store: {e}"))?;
    let store = Arc::new(Mutex::new(store));
    let host = HostHttp::new(crate::http_settings(), Arc::new(MemoryLedger::default()))
        .map_err(|e| format!("could not build the host client: {e}"))?;
    let engine = Engine::new(host, Arc::clone(&store), Arc::new(catalog));
    let source: SourceConfig = serde_json::from_value(serde_json::json!({
        "id": SOURCE_ID,
        "connector": h.description.name,
        "base_url": base_url,
        "max_pages": 100,
        "settings": h.fixtures.settings(),
    }))
    .map_err(|e| format!("the fixtures do not make a valid [[sources]] entry: {e}"))?;

    let outcome = engine.pull_one(&source).await;

    let cut = connector
        .cut
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .clone();
    let error = connector
        .error
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .clone();
    let path = match error {
        Some(ConnectorError::Decode { path, .. }) if cut.contains(&path) => path,
        Some(ConnectorError::Decode { path, .. }) => {
            return Err(format!(
                "the Decode error names `{path}`, which is not a path whose body was cut ({cut:?})"
            ))
        }
        Some(other) => {
            return Err(format!(
                "a truncated body must give ConnectorError::Decode naming the path, got: {other:?}"
            ))
        }
        None => {
            return Err(format!(
                "the pull succeeded although every body was cut in half ({} bodies: {cut:?})",
                cut.len()
            ))
        }
    };
    let SourceStatus::Failed(reason) = &outcome.status else {
        return Err(format!(
            "the engine reported the source as `{}`, not failed",
            outcome.status.label()
        ));
    };
    if outcome.source != SOURCE_ID || !reason.contains(&path) {
        return Err(format!(
            "the engine's report must name source `{SOURCE_ID}` and path `{path}`; it said: {} {}: {reason}",
            outcome.status.label(),
            outcome.source
        ));
    }
    let store = store.lock().unwrap_or_else(|e| e.into_inner());
    let stored = store
        .query(&PointQuery {
            sources: vec![SOURCE_ID.to_string()],
            ..PointQuery::default()
        })
        .map_err(|e| format!("could not read the store back: {e}"))?;
    let state = store
        .load_state(SOURCE_ID)
        .map_err(|e| format!("could not read the state back: {e}"))?;
    if !stored.is_empty() || state.is_some() {
        return Err(format!(
            "the failed pull stored {} points and state {state:?}; it must store nothing",
            stored.len()
        ));
    }
    let run = store
        .recent_runs(Some(SOURCE_ID), 1)
        .map_err(|e| format!("could not read the run record: {e}"))?;
    match run.first() {
        Some(run) if run.status == RunState::Failed && run.error.as_deref() == Some(reason) => {}
        other => {
            return Err(format!(
                "the run record must say failed with the same reason, found {other:?}"
            ))
        }
    }
    Ok(format!(
        "{} {}: {reason}",
        outcome.status.label(),
        outcome.source
    ))
}
