//! What the daemon counts while it runs, for `/metrics`: pulls by outcome,
//! requests, retries and 429s per source, when each source last succeeded,
//! how late pulls start compared to their plan, and the latest stored values.
//!
//! Counters live in memory and restart at zero with the process (Prometheus
//! handles counter resets); last-success times are seeded from the store so a
//! restart does not make every source look stale.

use crate::schedule::Budget;
use chrono::{DateTime, Utc};
use std::collections::{BTreeMap, HashMap, VecDeque};
use std::sync::Mutex;
use tally_config::{AuthMethod, Config, SourceConfig};
use tally_host::auth::TokenProviders;
use tally_host::pull::{SourceOutcome, SourceStatus};
use tally_model::Description;
use tally_store::{LastSuccess, LatestValue, RunCounts};

/// How many recent pulls the drift quantiles are computed over.
const DRIFT_WINDOW: usize = 100_000;

/// Counters of one source.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SourceCounters {
    /// Its client, for labels.
    pub client: Option<String>,
    /// Its connector, for labels.
    pub connector: String,
    /// Pulls that stored their points.
    pub ok: u64,
    /// Pulls that failed.
    pub failed: u64,
    /// Pulls skipped: quota spent, throttled for long, or a planned run that
    /// could not start (the previous pull still running, a loop that fell behind).
    pub skipped: u64,
    /// Points and requests, summed over its pulls.
    pub counts: RunCounts,
    /// When its last successful pull finished.
    pub last_success: Option<DateTime<Utc>>,
    /// Newest stored account-level values.
    pub latest: Vec<LatestValue>,
}

/// Scheduling drift: how long after its planned time each pull started.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Drift {
    /// Recent drifts in seconds, oldest first (at most 100,000).
    pub recent: VecDeque<f64>,
    /// Sum of all drifts since start.
    pub sum: f64,
    /// Pulls since start.
    pub count: u64,
}

impl Drift {
    /// The `q` quantile (0..=1) of the recent drifts, nearest rank.
    pub fn quantile(&self, q: f64) -> Option<f64> {
        if self.recent.is_empty() {
            return None;
        }
        let mut sorted: Vec<f64> = self.recent.iter().copied().collect();
        sorted.sort_by(f64::total_cmp);
        let rank = ((q * sorted.len() as f64).ceil() as usize).clamp(1, sorted.len());
        Some(sorted[rank - 1])
    }
}

/// A consistent copy of everything counted, for one scrape.
#[derive(Debug, Clone, Default)]
pub struct Snapshot {
    /// Per source, by id.
    pub sources: BTreeMap<String, SourceCounters>,
    /// Start delays.
    pub drift: Drift,
    /// Pulls running now.
    pub in_flight: u64,
    /// Planned pulls dropped because the source's previous pull was still running.
    pub skipped_busy: u64,
    /// Planned pulls passed over because the scheduler fell behind.
    pub skipped_late: u64,
    /// Config reloads applied and rejected.
    pub reloads: (u64, u64),
    /// Quota budgets of the configured sources, by key.
    pub budgets: BTreeMap<String, Budget>,
    /// OAuth2 sources with their connector, whose token expiry is reported.
    pub oauth: Vec<(SourceConfig, Description)>,
}

/// The daemon's live counters, shared with the HTTP endpoint.
#[derive(Debug, Default)]
pub struct Telemetry {
    inner: Mutex<Snapshot>,
}

impl Telemetry {
    /// Registers the configured sources (labels, budgets); counters of sources
    /// still configured are kept, removed ones are dropped.
    pub fn set_sources(
        &self,
        config: &Config,
        descriptions: &[Description],
        tokens: Option<&TokenProviders>,
    ) {
        let mut inner = self.lock();
        let mut sources = BTreeMap::new();
        let mut budgets = BTreeMap::new();
        let mut oauth = Vec::new();
        for source in config.sources.iter().filter(|s| s.enabled) {
            let mut counters = inner.sources.remove(&source.id).unwrap_or_default();
            counters.client = source.client.clone();
            counters.connector = source.connector.clone();
            sources.insert(source.id.clone(), counters);
            let description = descriptions.iter().find(|d| d.name == source.connector);
            if let Some(d) = description.filter(|_| {
                matches!(
                    source.auth.kind,
                    AuthMethod::OAuth2 | AuthMethod::ClientCredentials | AuthMethod::ServiceAccount
                )
            }) {
                oauth.push((source.clone(), d.clone()));
            }
            let budget = description.and_then(|d| Budget::of(source, d, tokens).ok().flatten());
            if let Some(b) = budget {
                budgets.insert(b.key.clone(), b);
            }
        }
        inner.sources = sources;
        inner.budgets = budgets;
        inner.oauth = oauth;
    }

    /// Seeds last-success times from the store.
    pub fn set_last_successes(&self, last: &HashMap<String, LastSuccess>) {
        let mut inner = self.lock();
        for (id, counters) in inner.sources.iter_mut() {
            if let Some(l) = last.get(id) {
                counters.last_success = Some(l.finished_at);
            }
        }
    }

    /// A pull started `drift_secs` after its planned time.
    pub fn pull_started(&self, drift_secs: f64) {
        let mut inner = self.lock();
        inner.in_flight += 1;
        let drift = &mut inner.drift;
        if drift.recent.len() == DRIFT_WINDOW {
            drift.recent.pop_front();
        }
        drift.recent.push_back(drift_secs);
        drift.sum += drift_secs;
        drift.count += 1;
    }

    /// A pull ended; `latest` is the source's newest stored values, if re-read.
    pub fn pull_finished(
        &self,
        outcome: &SourceOutcome,
        finished_at: DateTime<Utc>,
        latest: Option<Vec<LatestValue>>,
    ) {
        let mut inner = self.lock();
        inner.in_flight = inner.in_flight.saturating_sub(1);
        let Some(c) = inner.sources.get_mut(&outcome.source) else {
            return;
        };
        match outcome.status {
            SourceStatus::Ok => {
                c.ok += 1;
                c.last_success = Some(finished_at);
            }
            SourceStatus::Failed(_) => c.failed += 1,
            SourceStatus::Skipped(_) => c.skipped += 1,
        }
        c.counts += outcome.counts;
        if let Some(latest) = latest {
            c.latest = latest;
        }
    }

    /// A pull that never started (shutdown came first) is no longer in flight.
    pub fn pull_abandoned(&self) {
        let mut inner = self.lock();
        inner.in_flight = inner.in_flight.saturating_sub(1);
    }

    /// Stores a source's newest values (at start, before its first pull).
    pub fn set_latest(&self, source: &str, latest: Vec<LatestValue>) {
        if let Some(c) = self.lock().sources.get_mut(source) {
            c.latest = latest;
        }
    }

    /// A planned pull of `source` was dropped because its previous one was
    /// still running (waiting on a shared rate limit, a slow platform).
    pub fn skipped_busy(&self, source: &str) {
        let mut inner = self.lock();
        inner.skipped_busy += 1;
        if let Some(c) = inner.sources.get_mut(source) {
            c.skipped += 1;
        }
    }

    /// `count` planned pulls of `source` were passed over because the
    /// scheduler fell behind (a suspended machine): one late pull ran instead.
    pub fn skipped_late(&self, source: &str, count: u64) {
        let mut inner = self.lock();
        inner.skipped_late += count;
        if let Some(c) = inner.sources.get_mut(source) {
            c.skipped += count;
        }
    }

    /// A config reload was applied (`true`) or rejected.
    pub fn reloaded(&self, applied: bool) {
        let mut inner = self.lock();
        if applied {
            inner.reloads.0 += 1;
        } else {
            inner.reloads.1 += 1;
        }
    }

    /// A copy of everything, for rendering.
    pub fn snapshot(&self) -> Snapshot {
        self.lock().clone()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Snapshot> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn drift_quantiles_use_the_nearest_rank() {
        let t = Telemetry::default();
        for i in 1..=100 {
            t.pull_started(f64::from(i));
        }
        let s = t.snapshot();
        assert_eq!(s.drift.quantile(0.5), Some(50.0));
        assert_eq!(s.drift.quantile(0.99), Some(99.0));
        assert_eq!(s.drift.count, 100);
        assert_eq!(s.in_flight, 100);
        assert_eq!(Drift::default().quantile(0.5), None);
    }
}
