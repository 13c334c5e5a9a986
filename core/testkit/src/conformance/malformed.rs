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
use tally_model::error::{snippet, url_path};
use tally_model::{
    Connector, ConnectorError, Description, Emitter, HttpClient, HttpError, HttpRequest,
    HttpResponse, SourceContext,
};
use tally_store::{PointQuery, RunState, Store};

/// The source id the engine pulls in this check.
const SOURCE_ID: &str = "conformance-malformed";

/// An [`HttpClient`] that rewrites every non-empty 2xx body with `rewrite`
/// (halved, so no JSON document survives; or an HTML page) and remembers the
/// paths it rewrote, in order, and how the last body it served starts.
struct Rewriting<'a> {
    inner: &'a dyn HttpClient,
    cut: &'a Mutex<Vec<String>>,
    last_body: &'a Mutex<String>,
    rewrite: fn(&mut Vec<u8>),
}

/// Cuts a body to half its length.
fn halve(body: &mut Vec<u8>) {
    body.truncate(body.len() / 2);
}

/// The page a proxy or a login wall serves with status 200.
const HTML_PAGE: &str = "<html><body><h1>We're sorry, but something went wrong</h1></body></html>";

/// Replaces a body with [`HTML_PAGE`].
fn html(body: &mut Vec<u8>) {
    *body = HTML_PAGE.as_bytes().to_vec();
}

#[async_trait]
impl HttpClient for Rewriting<'_> {
    async fn send(&self, request: HttpRequest) -> Result<HttpResponse, HttpError> {
        let path = url_path(&request.url);
        let mut response = self.inner.send(request).await?;
        if response.is_success() && !response.body.is_empty() {
            (self.rewrite)(&mut response.body);
            *self.last_body.lock().unwrap_or_else(|e| e.into_inner()) = snippet(&response.body);
            self.cut
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .push(path);
        }
        Ok(response)
    }

    fn report_quota(&self, stated: &tally_model::StatedQuota) -> Result<(), HttpError> {
        self.inner.report_quota(stated)
    }
}

/// Runs the HTML-with-200 check: every 2xx body is an HTML page; the pull must
/// fail with [`ConnectorError::Decode`] naming the path of the page it read
/// (the last one served) and quoting the page, without the credential.
pub(super) async fn html_200(h: &Harness<'_>) -> Result<String, String> {
    let server = h.server(Set::Happy).await;
    let http = h.http(&server);
    let cut = Mutex::new(Vec::new());
    let last_body = Mutex::new(String::new());
    let client = Rewriting {
        inner: &http,
        cut: &cut,
        last_body: &last_body,
        rewrite: html,
    };
    let result = h.pull_with(&client, &server, None).await;
    server.reset().await;
    let cut = cut.into_inner().unwrap_or_else(|e| e.into_inner());
    let last = cut.last().cloned().unwrap_or_default();
    match &result {
        Err(e @ ConnectorError::Decode { path, body, .. }) => {
            if *path != last || !body.starts_with("<html>") {
                return Err(format!(
                    "the Decode error must name `{last}`, the path that served the HTML page, and quote it; it names `{path}` and shows: {body}"
                ));
            }
            h.no_secret_in(&e.to_string())?;
            Ok(format!("{e}"))
        }
        Err(other) => Err(format!(
            "an HTML page served with 200 must give ConnectorError::Decode naming `{last}`, got: {other:?}"
        )),
        Ok(_) => Err(format!(
            "the pull succeeded although every 2xx body was an HTML page ({} bodies: {cut:?})",
            cut.len()
        )),
    }
}

/// The connector under test as the engine sees it, except that its requests go
/// through the kit's host client (with the fixture credential, which the engine
/// could not build from config for every kind) behind a [`Rewriting`] client that halves bodies, and its
/// error is kept so the check can inspect its type as well as the engine's text.
struct TruncatedConnector {
    inner: Arc<dyn Connector>,
    http: SourceHttp,
    cut: Mutex<Vec<String>>,
    last_body: Mutex<String>,
    error: Mutex<Option<ConnectorError>>,
}

#[async_trait]
impl Connector for TruncatedConnector {
    fn describe(&self) -> Description {
        self.inner.describe()
    }

    async fn check(&self, ctx: &SourceContext<'_>) -> Result<String, ConnectorError> {
        let http = Rewriting {
            inner: &self.http,
            cut: &self.cut,
            last_body: &self.last_body,
            rewrite: halve,
        };
        self.inner.check(&with_http(ctx, &http)).await
    }

    async fn pull(
        &self,
        ctx: &SourceContext<'_>,
        out: &mut dyn Emitter,
    ) -> Result<(), ConnectorError> {
        let http = Rewriting {
            inner: &self.http,
            cut: &self.cut,
            last_body: &self.last_body,
            rewrite: halve,
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
        last_body: Mutex::new(String::new()),
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
    let last_body = connector
        .last_body
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .clone();
    let error = connector
        .error
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .clone();
    let path = match error {
        Some(ConnectorError::Decode { path, body, .. })
            if cut.last() == Some(&path) && body == last_body =>
        {
            path
        }
        Some(ConnectorError::Decode { path, body, .. }) => {
            return Err(format!(
                "the Decode error must name `{}`, the path whose cut body it failed on ({cut:?}), and quote that body ({last_body}); it names `{path}` and quotes: {body}",
                cut.last().map_or("", String::as_str)
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
    h.no_secret_in(reason)?;
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
