//! One `tally run` among several on a PostgreSQL store.
//!
//! Every worker plans the same timetable; before a planned pull it claims it
//! in the database ([`Store::claim_pull`]) with the lease of the source's
//! credential, so each planned pull runs once and a credential's sources are
//! pulled by one worker at a time (their pacing and quota are that worker's
//! to keep). Every few seconds the worker refreshes its leases and looks for
//! planned pulls a stopped worker left unfinished, which it then claims and
//! runs; the sources resume from their saved state, and the store's upsert
//! keeps anything pulled twice from being stored twice.

use chrono::{DateTime, TimeZone, Utc};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tally_config::SourceConfig;
use tally_host::http::pacer_key;
use tally_host::pull::{base_url_of, credential_for, Engine};
use tally_store::{PullClaim, Store, StoreError};

/// How a worker takes part: its id, its machine and how long its leases last.
#[derive(Debug, Clone)]
pub struct Coordination {
    worker: String,
    host: String,
    lease: Duration,
}

impl Coordination {
    /// A worker named `worker` on machine `host` whose leases expire `lease`
    /// after its last heartbeat: how long a killed worker's sources wait
    /// before another takes them.
    pub fn new(worker: impl Into<String>, host: impl Into<String>, lease: Duration) -> Self {
        Coordination {
            worker: worker.into(),
            host: host.into(),
            lease,
        }
    }

    /// The worker's id.
    pub fn worker(&self) -> &str {
        &self.worker
    }

    /// How often the worker refreshes its leases: several times per lease,
    /// so a busy machine is not mistaken for a dead one.
    pub fn heartbeat(&self) -> Duration {
        (self.lease / 4).max(Duration::from_millis(200))
    }

    fn ttl(&self) -> chrono::Duration {
        chrono::Duration::from_std(self.lease).unwrap_or(chrono::Duration::seconds(30))
    }

    /// Announces the worker.
    pub(crate) async fn join(&self, store: &Arc<Mutex<Store>>) {
        let (me, host) = (self.worker.clone(), self.host.clone());
        let joined = blocking(store, move |s| s.join_workers(&me, &host, Utc::now())).await;
        if let Some(Err(e)) = joined {
            tracing::error!(error = %e, "could not register this worker");
        }
    }

    /// Whether this worker runs the pull of `source` planned at `slot_at`.
    pub(crate) async fn claim(
        &self,
        engine: &Engine,
        source: &SourceConfig,
        slot_at: DateTime<Utc>,
    ) -> bool {
        let (key, label) = lease_key(engine, source);
        let (me, id, ttl) = (self.worker.clone(), source.id.clone(), self.ttl());
        let claimed = blocking(engine.store(), move |s| {
            let claim = PullClaim {
                worker: &me,
                source: &id,
                slot_at,
                lease_key: &key,
                lease_label: &label,
            };
            s.claim_pull(&claim, Utc::now(), ttl)
        })
        .await;
        match claimed {
            Some(Ok(mine)) => mine,
            Some(Err(e)) => {
                tracing::error!(source = %source.id, error = %e, "could not claim the planned pull; another worker may run it");
                false
            }
            None => false,
        }
    }

    /// Marks the claimed pull as done.
    pub(crate) async fn finish(
        &self,
        store: &Arc<Mutex<Store>>,
        source: &str,
        slot_at: DateTime<Utc>,
    ) {
        let (me, id) = (self.worker.clone(), source.to_string());
        let done = blocking(store, move |s| s.finish_pull(&me, &id, slot_at, Utc::now())).await;
        if let Some(Err(e)) = done {
            tracing::error!(source = %source, error = %e, "could not record the pull as done; another worker may run it again");
        }
    }

    /// Refreshes the leases and returns the planned pulls stopped workers left.
    pub(crate) async fn beat(&self, store: &Arc<Mutex<Store>>) -> Vec<(String, DateTime<Utc>)> {
        let (me, ttl) = (self.worker.clone(), self.ttl());
        let beat = blocking(store, move |s| {
            let now = Utc::now();
            s.worker_heartbeat(&me, now, ttl)?;
            s.orphaned_pulls(now, ttl)
        })
        .await;
        match beat {
            Some(Ok(orphans)) => orphans,
            Some(Err(e)) => {
                tracing::error!(error = %e, "could not refresh this worker's leases");
                Vec::new()
            }
            None => Vec::new(),
        }
    }

    /// Signs off so the leases pass to others at once.
    pub(crate) async fn leave(&self, store: &Arc<Mutex<Store>>) {
        let me = self.worker.clone();
        if let Some(Err(e)) = blocking(store, move |s| s.leave_workers(&me)).await {
            tracing::warn!(error = %e, "could not sign this worker off; its leases expire by themselves");
        }
    }
}

impl Coordination {
    /// Whether this worker writes `client`'s report of `month`: the one that
    /// claims it does, once.
    pub(crate) fn claim_report(
        &self,
        store: &mut Store,
        client: &str,
        month: (i32, u32),
        now: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        let (source, slot_at) = report_slot(client, month);
        let claim = PullClaim {
            worker: &self.worker,
            source: &source,
            slot_at,
            lease_key: &source,
            lease_label: &source,
        };
        store.claim_pull(&claim, now, self.ttl())
    }

    /// Marks `client`'s report of `month` as written.
    pub(crate) fn finish_report(
        &self,
        store: &mut Store,
        client: &str,
        month: (i32, u32),
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        let (source, slot_at) = report_slot(client, month);
        store.finish_pull(&self.worker, &source, slot_at, now)
    }
}

/// The slot of a monthly report: `report:<client>` at the month's first day (UTC).
fn report_slot(client: &str, (year, month): (i32, u32)) -> (String, DateTime<Utc>) {
    let start = Utc
        .with_ymd_and_hms(year, month, 1, 0, 0, 0)
        .single()
        .unwrap_or_default();
    (format!("report:{client}"), start)
}

/// The lease a source's pulls need: its pacing key (platform, API host and
/// credential fingerprint), and for display the API with the source that
/// first took the lease instead of the fingerprint.
/// A source whose credential cannot be resolved leases itself alone.
fn lease_key(engine: &Engine, source: &SourceConfig) -> (String, String) {
    let credential = engine.catalog().get(&source.connector).and_then(|entry| {
        let d = &entry.description;
        credential_for(source, d, engine.tokens().map(Arc::as_ref))
            .ok()
            .map(|c| pacer_key(&d.platform, &base_url_of(source, d), &c))
    });
    match credential {
        Some(key) => {
            // The fingerprint is not for display: a source using the
            // credential tells the credentials of one API apart instead.
            let api = key.split_once('#').map_or(key.as_str(), |(l, _)| l);
            let label = format!("{api} (as {})", source.id);
            (key, label)
        }
        None => (
            format!("source:{}", source.id),
            format!("source:{}", source.id),
        ),
    }
}

/// Runs `f` on the store off the async threads; `None` if the task died.
async fn blocking<T: Send + 'static>(
    store: &Arc<Mutex<Store>>,
    f: impl FnOnce(&mut Store) -> T + Send + 'static,
) -> Option<T> {
    let store = Arc::clone(store);
    tokio::task::spawn_blocking(move || {
        let mut store = store.lock().unwrap_or_else(|e| e.into_inner());
        f(&mut store)
    })
    .await
    .ok()
}
