//! The daemon's HTTP endpoint: `/healthz` for liveness checks and `/metrics`
//! in the Prometheus text format. It binds 127.0.0.1 unless `[server] listen`
//! or `tally run --listen` says otherwise, since the metrics name sources and
//! clients.

mod metrics;

pub use metrics::{render, QuotaState, TokenExpiry};

use crate::Telemetry;
use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::IntoResponse;
use axum::routing::get;
use axum::Router;
use chrono::Utc;
use std::future::Future;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use tally_config::SourceConfig;
use tally_host::auth::{credential_status, TokenProviders, TokenStore};
use tally_store::Store;
use tokio::net::TcpListener;
use tokio::task::JoinHandle;

/// What the endpoint reads: the daemon's counters and the store (quota ledger).
#[derive(Clone)]
pub struct ServeState {
    /// The daemon's counters.
    pub telemetry: Arc<Telemetry>,
    /// The store, for quota budgets' remaining units.
    pub store: Arc<Mutex<Store>>,
    /// The OAuth2 token store, for token expiry.
    pub tokens: Option<Arc<TokenProviders>>,
}

/// Why the endpoint could not start.
#[derive(Debug, thiserror::Error)]
#[error("cannot listen on {addr} for /healthz and /metrics: {source}; choose another address with `[server] listen` or `tally run --listen`")]
pub struct ServeError {
    /// The address asked for.
    pub addr: SocketAddr,
    /// The socket error.
    #[source]
    pub source: std::io::Error,
}

/// A bound endpoint, serving until its shutdown future completes.
pub struct Server {
    /// The address it listens on (with the real port when asked for port 0).
    pub addr: SocketAddr,
    /// The serving task.
    pub task: JoinHandle<()>,
}

/// Binds `addr` and serves in the background until `shutdown` completes.
pub async fn start(
    addr: SocketAddr,
    state: ServeState,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<Server, ServeError> {
    let listener = TcpListener::bind(addr)
        .await
        .map_err(|source| ServeError { addr, source })?;
    let bound = listener
        .local_addr()
        .map_err(|source| ServeError { addr, source })?;
    let app = Router::new()
        .route("/healthz", get(healthz))
        .route("/metrics", get(metrics_handler))
        .with_state(state);
    let task = tokio::spawn(async move {
        if let Err(e) = axum::serve(listener, app)
            .with_graceful_shutdown(shutdown)
            .await
        {
            tracing::error!(error = %e, "the metrics endpoint stopped");
        }
    });
    Ok(Server { addr: bound, task })
}

async fn healthz() -> &'static str {
    "ok\n"
}

async fn metrics_handler(State(state): State<ServeState>) -> impl IntoResponse {
    let snapshot = state.telemetry.snapshot();
    let budgets: Vec<_> = snapshot.budgets.values().cloned().collect();
    let oauth = snapshot.oauth.clone();
    let store = Arc::clone(&state.store);
    let tokens = state.tokens.clone();
    let read = tokio::task::spawn_blocking(move || {
        let now = Utc::now();
        let expiries = tokens
            .map(|t| token_expiries(&oauth, t.store(), now))
            .unwrap_or_default();
        let store = store.lock().unwrap_or_else(|e| e.into_inner());
        let quotas = budgets
            .iter()
            .filter_map(|b| {
                let (start, reset) = b.window_at(now);
                let used = store.quota_used(&b.key, start).ok()?;
                Some(QuotaState {
                    key: b.key.clone(),
                    limit: b.limit,
                    remaining: b.limit.saturating_sub(used),
                    resets_at: reset,
                })
            })
            .collect::<Vec<_>>();
        (quotas, expiries)
    })
    .await;
    match read {
        Ok((quotas, expiries)) => (
            StatusCode::OK,
            [(
                header::CONTENT_TYPE,
                "text/plain; version=0.0.4; charset=utf-8",
            )],
            render(&snapshot, &quotas, &expiries, Utc::now()),
        ),
        Err(e) => (
            StatusCode::INTERNAL_SERVER_ERROR,
            [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
            format!("could not read the quota ledger: {e}\n"),
        ),
    }
}

/// Days until each OAuth2 credential needs a new login: the refresh token's
/// expiry, or the access token's when it cannot be refreshed. Credentials
/// without an expiry are left out.
fn token_expiries(
    oauth: &[(SourceConfig, tally_model::Description)],
    store: &TokenStore,
    now: chrono::DateTime<Utc>,
) -> Vec<TokenExpiry> {
    oauth
        .iter()
        .filter_map(|(source, description)| {
            let status = credential_status(source, description, store, now);
            let until = if status.can_refresh {
                status.refresh_expires_at
            } else {
                status.expires_at
            }?;
            Some(TokenExpiry {
                source: source.id.clone(),
                credential: status.credential.unwrap_or_default(),
                days: (until - now).num_seconds() as f64 / 86_400.0,
            })
        })
        .collect()
}
