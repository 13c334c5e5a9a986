//! `tally run`: the daemon loop that pulls each source on its schedule.
//!
//! One task owns the clock and the [`Timetable`]: it sleeps until the next
//! planned pull, hands due pulls to worker tasks, and listens for control
//! messages (reload, shutdown) that the binary sends on SIGHUP, SIGINT and
//! SIGTERM. Workers wait for a per-platform permit and then a global one, so
//! one slow platform cannot take every slot, and pull through the shared
//! [`Engine`], whose host client keeps per-credential pacing and quota budgets
//! across all sources. A source whose previous pull is still running skips a
//! regular run (a boundary capture or catch-up waits for it instead).
//!
//! Shutdown stops scheduling, closes the permit pools so queued pulls never
//! start, gives pulls in flight `[schedule] shutdown_grace` to finish, then
//! cancels the rest and records them as failed; checkpoints they committed stay.

pub mod monthly_reports;
pub mod schedule;
pub mod serve;
mod telemetry;
pub mod workers;

pub use telemetry::{Drift, Snapshot, SourceCounters, Telemetry};

use crate::schedule::{Fire, FireKind, ScheduleError, SourceSchedule, Timetable};
use chrono::Utc;
use std::collections::{HashMap, HashSet, VecDeque};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;
use tally_config::{Config, SourceConfig};
use tally_host::pull::{Engine, SourceStatus};
use tally_store::LastSuccess;
use tokio::sync::{mpsc, Semaphore};
use tokio::task::JoinSet;

/// How long the loop sleeps when nothing is scheduled.
const IDLE: Duration = Duration::from_secs(3600);

/// What the binary tells a running daemon.
#[derive(Debug)]
pub enum Control {
    /// Replace the config (already validated) without dropping pulls in flight.
    Reload(Box<Config>),
    /// Stop scheduling, let pulls in flight finish or cancel them, return.
    Shutdown,
}

/// How a daemon run ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct DaemonReport {
    /// Pulls started.
    pub pulls: u64,
    /// Pulls cancelled at the shutdown deadline.
    pub cancelled: usize,
}

/// Why the daemon could not start or apply a config.
#[derive(Debug, thiserror::Error)]
pub enum DaemonError {
    /// Some sources' schedules cannot be used.
    #[error("{}", .0.iter().map(ToString::to_string).collect::<Vec<_>>().join("\n"))]
    Schedules(Vec<ScheduleError>),
    /// The store could not be read.
    #[error("{0}")]
    Store(String),
}

/// The scheduler loop and its worker pool.
pub struct Daemon {
    engine: Engine,
    config: Config,
    telemetry: Arc<Telemetry>,
    sources: HashMap<String, Arc<SourceConfig>>,
    table: Timetable,
    global: Arc<Semaphore>,
    platforms: HashMap<String, Arc<Semaphore>>,
    running: HashSet<String>,
    waiting: HashMap<String, VecDeque<Fire>>,
    tasks: JoinSet<String>,
    report: DaemonReport,
    /// Set when this daemon is one of several workers on a shared store.
    coordination: Option<Arc<workers::Coordination>>,
    /// Planned pulls this worker claimed (and so started), with coordination.
    claimed: Arc<AtomicU64>,
}

impl Daemon {
    /// A daemon for `config`, pulling through `engine` and counting into
    /// `telemetry`. Reads each source's last success from the store to plan
    /// catch-up pulls.
    pub fn new(
        engine: Engine,
        config: Config,
        telemetry: Arc<Telemetry>,
    ) -> Result<Daemon, DaemonError> {
        let descriptions = engine.catalog().descriptions();
        telemetry.set_sources(&config, &descriptions, engine.tokens().map(Arc::as_ref));
        let last = {
            let store = engine.store().lock().unwrap_or_else(|e| e.into_inner());
            store
                .last_successes()
                .map_err(|e| DaemonError::Store(e.to_string()))?
        };
        telemetry.set_last_successes(&last);
        let table = timetable(&config, schedules(&config)?, &last, |_| true);
        let sources = index(&config);
        let global = Arc::new(Semaphore::new(config.http.max_concurrency.max(1)));
        Ok(Daemon {
            engine,
            config,
            telemetry,
            sources,
            table,
            global,
            platforms: HashMap::new(),
            running: HashSet::new(),
            waiting: HashMap::new(),
            tasks: JoinSet::new(),
            report: DaemonReport::default(),
            coordination: None,
            claimed: Arc::new(AtomicU64::new(0)),
        })
    }

    /// Makes this daemon one worker among several on the shared store: it
    /// runs only the planned pulls it claims, and takes over those a stopped
    /// worker left (see [`workers`]).
    pub fn with_coordination(mut self, coordination: workers::Coordination) -> Daemon {
        self.coordination = Some(Arc::new(coordination));
        self
    }

    /// Runs until [`Control::Shutdown`] (or the sender is dropped).
    pub async fn run(mut self, mut control: mpsc::Receiver<Control>) -> DaemonReport {
        tracing::info!(sources = self.table.sources(), "scheduler started");
        self.load_latest().await;
        let beat_every = self.coordination.as_ref().map_or(IDLE, |c| c.heartbeat());
        let mut beat = tokio::time::interval(beat_every);
        if let Some(c) = &self.coordination {
            c.join(self.engine.store()).await;
            tracing::info!(worker = %c.worker(), "sharing the schedule with the other workers of this database");
        }
        loop {
            let sleep = self
                .table
                .next_due()
                .map_or(IDLE, |at| (at - Utc::now()).to_std().unwrap_or_default());
            tokio::select! {
                () = tokio::time::sleep(sleep) => {
                    for (source, fire) in self.table.pop_due(Utc::now()) {
                        self.dispatch(source, fire);
                    }
                    for (source, count) in self.table.take_missed() {
                        tracing::warn!(source = %source, missed = count, "the scheduler fell behind; these planned pulls are skipped");
                        self.telemetry.skipped_late(&source, count);
                    }
                }
                Some(joined) = self.tasks.join_next(), if !self.tasks.is_empty() => {
                    match joined {
                        Ok(source) => self.finished(&source),
                        Err(e) => tracing::error!(error = %e, "a pull task failed"),
                    }
                }
                _ = beat.tick(), if self.coordination.is_some() => self.take_over().await,
                message = control.recv() => match message {
                    Some(Control::Reload(config)) => self.reload(*config),
                    Some(Control::Shutdown) | None => break,
                },
            }
        }
        self.shutdown().await
    }

    /// Starts a due pull, or defers or drops it while the source is busy.
    fn dispatch(&mut self, id: String, fire: Fire) {
        let Some(source) = self.sources.get(&id).cloned() else {
            return;
        };
        if self.running.contains(&id) {
            if fire.kind == FireKind::Regular {
                tracing::info!(source = %id, "the previous pull is still running; this planned pull is skipped");
                self.telemetry.skipped_busy(&id);
            } else {
                self.waiting.entry(id).or_default().push_back(fire);
            }
            return;
        }
        self.running.insert(id.clone());
        // With other workers, only the pulls this one claims count (in the task).
        if self.coordination.is_none() {
            self.report.pulls += 1;
        }
        let claimed = Arc::clone(&self.claimed);
        let platform = self.platform_permits(&source.connector);
        let global = Arc::clone(&self.global);
        let engine = self.engine.clone();
        let telemetry = Arc::clone(&self.telemetry);
        let coordination = self.coordination.clone();
        self.tasks.spawn(async move {
            if let Some(c) = &coordination {
                if !c.claim(&engine, &source, fire.at).await {
                    tracing::debug!(source = %id, "another worker runs this planned pull");
                    return id;
                }
                claimed.fetch_add(1, Ordering::Relaxed);
            }
            let _platform = match platform {
                Some(p) => match p.acquire_owned().await {
                    Ok(permit) => Some(permit),
                    Err(_) => return id,
                },
                None => None,
            };
            let Ok(_global) = global.acquire_owned().await else {
                return id;
            };
            let drift = (Utc::now() - fire.at).num_milliseconds().max(0) as f64 / 1000.0;
            telemetry.pull_started(drift);
            tracing::info!(source = %id, kind = fire.kind.label(), drift_ms = (drift * 1000.0) as u64, "pull starting");
            let outcome = engine.pull_at(&source, fire.kind.stamp()).await;
            let latest = if outcome.status == SourceStatus::Ok {
                let store = Arc::clone(engine.store());
                let source_id = id.clone();
                tokio::task::spawn_blocking(move || {
                    let store = store.lock().unwrap_or_else(|e| e.into_inner());
                    store.latest_values(&source_id).ok()
                })
                .await
                .ok()
                .flatten()
            } else {
                None
            };
            telemetry.pull_finished(&outcome, Utc::now(), latest);
            if let Some(c) = &coordination {
                c.finish(engine.store(), &id, fire.at).await;
            }
            id
        });
    }

    /// Refreshes this worker's leases and runs the planned pulls a stopped
    /// worker left unfinished.
    async fn take_over(&mut self) {
        let Some(c) = self.coordination.clone() else {
            return;
        };
        for (source, at) in c.beat(self.engine.store()).await {
            if self.sources.contains_key(&source) {
                tracing::info!(source = %source, planned = %at, "taking over a pull a stopped worker left");
                self.dispatch(
                    source,
                    Fire {
                        at,
                        kind: FireKind::CatchUp,
                    },
                );
            }
        }
    }

    /// A pull ended: start what waited for it.
    fn finished(&mut self, id: &str) {
        self.running.remove(id);
        let next = self.waiting.get_mut(id).and_then(VecDeque::pop_front);
        if self.waiting.get(id).is_some_and(VecDeque::is_empty) {
            self.waiting.remove(id);
        }
        if let Some(fire) = next {
            self.dispatch(id.to_string(), fire);
        }
    }

    /// The permit pool of the connector's platform, if platforms are limited.
    fn platform_permits(&mut self, connector: &str) -> Option<Arc<Semaphore>> {
        let limit = self.config.schedule.per_platform_concurrency;
        if limit == 0 {
            return None;
        }
        let platform = self
            .engine
            .catalog()
            .get(connector)
            .map_or_else(|| connector.to_string(), |e| e.description.platform.clone());
        Some(Arc::clone(
            self.platforms
                .entry(platform)
                .or_insert_with(|| Arc::new(Semaphore::new(limit))),
        ))
    }

    /// Applies a new config: new schedules (new sources catch up under the
    /// policy), new permits per platform; pulls in flight keep their config.
    fn reload(&mut self, config: Config) {
        let restart_only: Vec<&str> = [
            ("[storage]", self.config.storage != config.storage),
            ("[server]", self.config.server != config.server),
            ("[http]", self.config.http != config.http),
            ("[plugins]", self.config.plugins != config.plugins),
        ]
        .into_iter()
        .filter_map(|(name, changed)| changed.then_some(name))
        .collect();
        if !restart_only.is_empty() {
            tracing::warn!(
                sections = %restart_only.join(", "),
                "these sections changed and take effect only when tally run restarts"
            );
        }
        let known: HashSet<String> = self.sources.keys().cloned().collect();
        let last = {
            let store = self
                .engine
                .store()
                .lock()
                .unwrap_or_else(|e| e.into_inner());
            store.last_successes().unwrap_or_default()
        };
        // Only sources new to the config catch up: the others keep their plan.
        let table = match schedules(&config) {
            Ok(schedules) => timetable(&config, schedules, &last, |id| !known.contains(id)),
            Err(e) => {
                tracing::error!(errors = %e, "the new config was rejected; the old one keeps running");
                self.telemetry.reloaded(false);
                return;
            }
        };
        let sources = index(&config);
        let added = sources.keys().filter(|k| !known.contains(*k)).count();
        let removed = known.iter().filter(|k| !sources.contains_key(*k)).count();
        if config.schedule.per_platform_concurrency != self.config.schedule.per_platform_concurrency
        {
            // Pulls in flight keep the permits of the old pools.
            self.platforms.clear();
        }
        self.telemetry.set_sources(
            &config,
            &self.engine.catalog().descriptions(),
            self.engine.tokens().map(Arc::as_ref),
        );
        self.telemetry.set_last_successes(&last);
        self.sources = sources;
        self.table = table;
        self.config = config;
        self.telemetry.reloaded(true);
        tracing::info!(
            scheduled = self.table.sources(),
            added,
            removed,
            in_flight = self.running.len(),
            "configuration reloaded"
        );
    }

    /// Reads each source's newest stored values for `/metrics`.
    async fn load_latest(&self) {
        let store = Arc::clone(self.engine.store());
        let ids: Vec<String> = self.sources.keys().cloned().collect();
        let telemetry = Arc::clone(&self.telemetry);
        let loaded = tokio::task::spawn_blocking(move || {
            let store = store.lock().unwrap_or_else(|e| e.into_inner());
            for id in ids {
                if let Ok(latest) = store.latest_values(&id) {
                    telemetry.set_latest(&id, latest);
                }
            }
        })
        .await;
        if let Err(e) = loaded {
            tracing::warn!(error = %e, "could not read the latest stored values");
        }
    }

    /// Stops scheduling; waits up to the grace period; cancels what is left.
    async fn shutdown(mut self) -> DaemonReport {
        self.global.close();
        for pool in self.platforms.values() {
            pool.close();
        }
        let grace = self.config.schedule.shutdown_grace;
        tracing::info!(
            in_flight = self.running.len(),
            grace_secs = grace.as_secs_f64(),
            "shutting down: no new pulls; waiting for pulls in flight"
        );
        let drained = tokio::time::timeout(grace, async {
            while self.tasks.join_next().await.is_some() {}
        })
        .await;
        if drained.is_err() {
            self.tasks.abort_all();
            while self.tasks.join_next().await.is_some() {
                self.telemetry.pull_abandoned();
            }
            let reason = format!(
                "cancelled: tally run shut down and the pull did not finish within the {}s grace period; points up to its last checkpoint are kept and the next pull resumes from there",
                grace.as_secs()
            );
            let store = Arc::clone(self.engine.store());
            let cancelled = tokio::task::spawn_blocking(move || {
                let mut store = store.lock().unwrap_or_else(|e| e.into_inner());
                store.cancel_open_runs(&reason, Utc::now())
            })
            .await;
            self.report.cancelled = match cancelled {
                Ok(Ok(n)) => n,
                Ok(Err(e)) => {
                    tracing::error!(error = %e, "could not record the cancelled pulls");
                    0
                }
                Err(e) => {
                    tracing::error!(error = %e, "could not record the cancelled pulls");
                    0
                }
            };
            tracing::warn!(
                cancelled = self.report.cancelled,
                "pulls cancelled at the deadline"
            );
        }
        if let Some(c) = &self.coordination {
            c.leave(self.engine.store()).await;
            self.report.pulls += self.claimed.load(Ordering::Relaxed);
        }
        tracing::info!(pulls = self.report.pulls, "scheduler stopped");
        self.report
    }
}

/// Enabled sources by id.
fn index(config: &Config) -> HashMap<String, Arc<SourceConfig>> {
    config
        .sources
        .iter()
        .filter(|s| s.enabled)
        .map(|s| (s.id.clone(), Arc::new(s.clone())))
        .collect()
}

/// The schedules of the enabled sources that have `every`.
fn schedules(config: &Config) -> Result<Vec<SourceSchedule>, DaemonError> {
    let mut schedules = Vec::new();
    let mut errors = Vec::new();
    for source in config.sources.iter().filter(|s| s.enabled) {
        let tz = source
            .client
            .as_deref()
            .and_then(|c| config.client(c))
            .map_or(chrono_tz::UTC, |c| c.timezone);
        match SourceSchedule::new(source, tz, &config.schedule) {
            Ok(Some(s)) => schedules.push(s),
            Ok(None) => {}
            Err(e) => errors.push(e),
        }
    }
    if errors.is_empty() {
        Ok(schedules)
    } else {
        Err(DaemonError::Schedules(errors))
    }
}

/// A timetable from now on, with the catch-up pulls owed (under the config's
/// policy) by the sources `catches_up` selects.
fn timetable(
    config: &Config,
    schedules: Vec<SourceSchedule>,
    last: &HashMap<String, LastSuccess>,
    catches_up: impl Fn(&str) -> bool,
) -> Timetable {
    let now = Utc::now();
    let owed: Vec<(String, Fire)> = schedules
        .iter()
        .filter(|s| catches_up(s.source()))
        .flat_map(|s| {
            let last = last.get(s.source()).map(|l| l.started_at);
            s.catch_up(config.schedule.catch_up, last, now)
                .into_iter()
                .map(|f| (s.source().to_string(), f))
        })
        .collect();
    Timetable::new(schedules, now, owed)
}
