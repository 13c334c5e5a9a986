//! The pull engine.

use super::credential::credential_for;
use super::emitter::CommitEmitter;
use super::pipeline::pipeline_points;
use crate::auth::TokenProviders;
use crate::catalog::{Catalog, Entry};
use crate::http::{HostHttp, SourceHttp, SourceHttpSpec};
use chrono::{DateTime, Utc};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tally_config::SourceConfig;
use tally_model::{ConnectorError, Description, HttpError, RateLimitSpec, SourceContext};
use tally_store::{RunCounts, RunOutcome, RunStatus, Store, HEARTBEAT};
use tokio::sync::Semaphore;
use tokio::task::JoinSet;

/// The time gauges of a pull are stamped with: the start of the pull's hour.
///
/// A gauge (a follower count) is a sample of a level, and its time is part of its
/// natural key. Stamping samples into hourly slots is what makes a re-pull or a
/// retry within the hour idempotent (same value: nothing written; changed value:
/// the slot is revised and the earlier value kept as a revision), while pulls in
/// different hours build the series that growth goals are computed from. The
/// exact observation time is stored beside each point.
pub fn sample_slot(at: DateTime<Utc>) -> DateTime<Utc> {
    let secs = at.timestamp();
    DateTime::from_timestamp(secs - secs.rem_euclid(3600), 0).unwrap_or(at)
}

/// How a source's pull ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SourceStatus {
    /// Points stored.
    Ok,
    /// Nothing stored; the reason says why and what to do.
    Failed(String),
    /// Not attempted or stopped early for a reason that is not a fault (quota spent).
    Skipped(String),
}

impl SourceStatus {
    /// `ok`, `failed` or `skipped`.
    pub fn label(&self) -> &'static str {
        match self {
            SourceStatus::Ok => "ok",
            SourceStatus::Failed(_) => "failed",
            SourceStatus::Skipped(_) => "skipped",
        }
    }

    /// The reason, for failed and skipped pulls.
    pub fn reason(&self) -> Option<&str> {
        match self {
            SourceStatus::Ok => None,
            SourceStatus::Failed(r) | SourceStatus::Skipped(r) => Some(r),
        }
    }
}

/// What one source's pull did, for the summary table and the run record.
#[derive(Debug, Clone)]
pub struct SourceOutcome {
    /// Source id.
    pub source: String,
    /// Connector name.
    pub connector: String,
    /// How it ended.
    pub status: SourceStatus,
    /// What it fetched and stored.
    pub counts: RunCounts,
    /// Wall time of the pull.
    pub duration: Duration,
}

/// Settings that apply to every pull of an [`Engine`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PullOptions {
    /// Backfill from this instant (`tally pull --since`), passed to connectors.
    pub since: Option<DateTime<Utc>>,
    /// Also store `pipeline.*` points describing each pull (`tally run` does).
    pub pipeline_metrics: bool,
}

/// The API root a source's requests go to: its `base_url`, else its
/// connector's documented one, without a trailing slash.
pub fn base_url_of(source: &SourceConfig, description: &Description) -> String {
    source
        .base_url
        .clone()
        .unwrap_or_else(|| description.default_base_url.clone())
        .trim_end_matches('/')
        .to_string()
}

/// The request rate a source is paced at: its `[sources.rate_limit]`, else
/// its connector's documented one.
pub fn rate_limit_of(source: &SourceConfig, description: &Description) -> RateLimitSpec {
    source
        .rate_limit
        .as_ref()
        .map_or(description.rate_limit, |o| o.apply(description.rate_limit))
}

/// Runs pulls of configured sources against one store through one host client.
#[derive(Clone)]
pub struct Engine {
    host: Arc<HostHttp>,
    store: Arc<Mutex<Store>>,
    catalog: Arc<Catalog>,
    options: PullOptions,
    tokens: Option<Arc<TokenProviders>>,
}

impl Engine {
    /// An engine over a host client, a store and the connectors of this run.
    pub fn new(host: Arc<HostHttp>, store: Arc<Mutex<Store>>, catalog: Arc<Catalog>) -> Engine {
        Engine {
            host,
            store,
            catalog,
            options: PullOptions::default(),
            tokens: None,
        }
    }

    /// This engine with the OAuth2 token providers its `oauth2` and
    /// `client_credentials` sources get their tokens from; without them such
    /// sources fail with a message saying so.
    pub fn with_tokens(mut self, tokens: Arc<TokenProviders>) -> Engine {
        self.tokens = Some(tokens);
        self
    }

    /// This engine with other pull options.
    pub fn with_options(mut self, options: PullOptions) -> Engine {
        self.options = options;
        self
    }

    /// The connectors this engine pulls with.
    pub fn catalog(&self) -> &Arc<Catalog> {
        &self.catalog
    }

    /// The host client its pulls send through (for progress: requests sent,
    /// rate limits waited on).
    pub fn host(&self) -> &Arc<HostHttp> {
        &self.host
    }

    /// The store it writes.
    pub fn store(&self) -> &Arc<Mutex<Store>> {
        &self.store
    }

    /// The OAuth2 token providers, when this engine has them.
    pub fn tokens(&self) -> Option<&Arc<TokenProviders>> {
        self.tokens.as_ref()
    }

    /// Pulls `sources` with at most `concurrency` at once; `on_done` is called as each
    /// finishes (for a progress display). One source's failure never stops another.
    pub async fn pull_all(
        &self,
        sources: Vec<SourceConfig>,
        concurrency: usize,
        on_done: impl Fn(&SourceOutcome),
    ) -> Vec<SourceOutcome> {
        let permits = Arc::new(Semaphore::new(concurrency.max(1)));
        let mut tasks = JoinSet::new();
        let order: Vec<String> = sources.iter().map(|s| s.id.clone()).collect();
        for source in sources {
            let engine = self.clone();
            let permits = Arc::clone(&permits);
            tasks.spawn(async move {
                let _permit = permits.acquire_owned().await;
                engine.pull_one(&source).await
            });
        }
        let mut outcomes = Vec::with_capacity(order.len());
        while let Some(joined) = tasks.join_next().await {
            match joined {
                Ok(outcome) => {
                    on_done(&outcome);
                    outcomes.push(outcome);
                }
                Err(e) => tracing::error!(error = %e, "a pull task panicked"),
            }
        }
        outcomes.sort_by_key(|o| order.iter().position(|id| *id == o.source));
        outcomes
    }

    /// Pulls one source and stores its points; never panics, always records the run.
    pub async fn pull_one(&self, source: &SourceConfig) -> SourceOutcome {
        self.pull_at(source, None).await
    }

    /// [`Engine::pull_one`], with gauges stamped at `stamp` instead of the
    /// pull's hour slot (a boundary capture stamps the period boundary itself).
    pub async fn pull_at(
        &self,
        source: &SourceConfig,
        stamp: Option<DateTime<Utc>>,
    ) -> SourceOutcome {
        let started = Instant::now();
        let now = Utc::now();
        let run_id = self.with_store(|s| s.start_run(&source.id, now)).ok();
        let mut outcome = SourceOutcome {
            source: source.id.clone(),
            connector: source.connector.clone(),
            status: SourceStatus::Ok,
            counts: RunCounts::default(),
            duration: Duration::ZERO,
        };
        let result = {
            let pull = self.pull_and_store(source, now, stamp, &mut outcome);
            tokio::pin!(pull);
            // The run's heartbeat tells `tally runs` in another process that
            // this pull is still going (waiting on a limiter counts).
            let mut beat = tokio::time::interval(HEARTBEAT);
            beat.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            beat.tick().await;
            loop {
                tokio::select! {
                    result = &mut pull => break result,
                    _ = beat.tick() => {
                        if let Some(id) = run_id {
                            if let Err(e) = self.with_store(|s| s.beat(id, Utc::now())) {
                                tracing::warn!(source = %source.id, error = %e, "could not refresh the run's heartbeat");
                            }
                        }
                    }
                }
            }
        };
        outcome.status = match result {
            Ok(()) => SourceStatus::Ok,
            Err(ConnectorError::Http(e @ HttpError::QuotaExhausted { .. })) => {
                SourceStatus::Skipped(e.to_string())
            }
            Err(ConnectorError::Http(e @ HttpError::Throttled { .. })) => {
                SourceStatus::Skipped(e.to_string())
            }
            Err(ConnectorError::Http(e @ HttpError::QuotaStated { .. })) => {
                SourceStatus::Skipped(e.to_string())
            }
            Err(e) => SourceStatus::Failed(e.to_string()),
        };
        outcome.duration = started.elapsed();
        match &outcome.status {
            SourceStatus::Ok => {
                tracing::info!(source = %source.id, points = outcome.counts.points, "pull finished")
            }
            status => {
                tracing::warn!(source = %source.id, status = status.label(), reason = status.reason().unwrap_or(""), "pull did not complete")
            }
        }
        let finished_at = Utc::now();
        if self.options.pipeline_metrics {
            let points = pipeline_points(&outcome, now, finished_at);
            if let Err(e) = self.with_store(|s| s.write_batch(&source.id, &points, now, None)) {
                tracing::error!(source = %source.id, error = %e, "could not store pipeline metrics");
            }
        }
        if let Some(id) = run_id {
            let record = RunOutcome {
                finished_at,
                status: match outcome.status {
                    SourceStatus::Ok => RunStatus::Ok,
                    SourceStatus::Failed(_) => RunStatus::Failed,
                    SourceStatus::Skipped(_) => RunStatus::Skipped,
                },
                error: outcome.status.reason().map(str::to_string),
                counts: outcome.counts,
            };
            if let Err(e) = self.with_store(|s| s.finish_run(id, &record)) {
                tracing::error!(source = %source.id, error = %e, "could not record the run");
            }
        }
        outcome
    }

    /// Asks the platform whether the source's settings and credential work, with
    /// one cheap call through the same host client a pull uses.
    pub async fn check_one(&self, source: &SourceConfig) -> Result<String, ConnectorError> {
        let (entry, http, base_url) = self.prepare(source)?;
        let ctx = SourceContext {
            source_id: &source.id,
            base_url: &base_url,
            settings: &source.settings,
            http: &http,
            state: None,
            max_pages: source.max_pages,
            now: Utc::now(),
            since: None,
            lookback_days: source.lookback_days,
        };
        entry.connector.check(&ctx).await
    }

    /// The connector, a host client set up for the source, and its API root.
    fn prepare(
        &self,
        source: &SourceConfig,
    ) -> Result<(Entry, SourceHttp, String), ConnectorError> {
        let entry = self
            .catalog
            .get(&source.connector)
            .cloned()
            .ok_or_else(|| {
                ConnectorError::Other(format!(
                    "connector `{}` is not available in this build or any loaded plugin",
                    source.connector
                ))
            })?;
        let description = &entry.description;
        let credential = credential_for(source, description, self.tokens.as_deref())
            .map_err(ConnectorError::Other)?;
        let base_url = base_url_of(source, description);
        let rate_limit = rate_limit_of(source, description);
        let mut quota = description.quota.clone();
        if let (Some(q), Some(o)) = (quota.as_mut(), source.quota.as_ref()) {
            q.units = o.units;
        }
        let http = self.host.for_source(SourceHttpSpec {
            source_id: source.id.clone(),
            platform: description.platform.clone(),
            base_url: base_url.clone(),
            credential,
            rate_limit,
            rate_limit_is_ceiling: source.rate_limit.is_some(),
            usage_headers: description.usage_headers.clone(),
            throttle_errors: description.throttle_errors.clone(),
            quota,
            timeout: source.timeout,
        });
        Ok((entry, http, base_url))
    }

    async fn pull_and_store(
        &self,
        source: &SourceConfig,
        now: DateTime<Utc>,
        stamp: Option<DateTime<Utc>>,
        outcome: &mut SourceOutcome,
    ) -> Result<(), ConnectorError> {
        let (entry, http, base_url) = self.prepare(source)?;
        let description = &entry.description;
        let counts = http.counts();
        let state = self
            .with_store(|s| s.load_state(&source.id))
            .map_err(ConnectorError::Other)?;
        let ctx = SourceContext {
            source_id: &source.id,
            base_url: &base_url,
            settings: &source.settings,
            http: &http,
            state: state.as_ref(),
            max_pages: source.max_pages,
            now: stamp.unwrap_or_else(|| sample_slot(now)),
            since: self.options.since,
            lookback_days: source.lookback_days,
        };
        let mut emitter =
            CommitEmitter::new(Arc::clone(&self.store), &source.id, &description.name, now);
        let pulled = entry.connector.pull(&ctx, &mut emitter).await;
        // Checkpoints stay committed even when the pull fails.
        let kept = match pulled {
            Err(_) => emitter.commit_checkpoints(),
            Ok(()) => Ok(()),
        };
        let c = &mut outcome.counts;
        (c.requests, c.retries, c.throttled) = counts.snapshot();
        c.points = emitter.emitted;
        (c.inserted, c.revised) = (emitter.stats.inserted, emitter.stats.revised);
        pulled?;
        kept?;
        let stats = emitter.finish().await?;
        outcome.counts.inserted = stats.inserted;
        outcome.counts.revised = stats.revised;
        Ok(())
    }

    fn with_store<T, E: std::fmt::Display>(
        &self,
        f: impl FnOnce(&mut Store) -> Result<T, E>,
    ) -> Result<T, String> {
        let mut store = self.store.lock().unwrap_or_else(|e| e.into_inner());
        f(&mut store).map_err(|e| e.to_string())
    }
}
