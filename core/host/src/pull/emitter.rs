//! The engine's [`Emitter`]: validates points as they arrive and commits them
//! with the connector's state at checkpoints, so a long pull killed halfway
//! keeps every page before its last committed checkpoint and the next pull
//! resumes from that checkpoint's state.
//!
//! A commit costs a WAL write of every page it touched, so checkpoints are
//! committed at most once a second (or every [`COMMIT_POINTS`] points): the
//! first one at once, later ones with the next checkpoint due. A crash loses
//! at most the pages checkpointed within a second of the last commit, and the
//! next pull fetches them again from the committed state.
//!
//! Points are never held by the thousand: once [`COMMIT_POINTS`] wait in
//! memory they are written, with the last checkpoint's state if one is
//! pending and without a state otherwise (a connector that checkpoints only at
//! the end, or never). Writing a point early is safe because points are
//! upserted by their natural key: if the pull then fails, the next one starts
//! from the last committed state, fetches those points again and finds them
//! stored unchanged. So a pull of 10,000 posts holds about 2,000 points at a
//! time instead of all 40,000 (and a copy of them).

use chrono::{DateTime, Utc};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tally_model::{ConnectorError, Emitter, Point, PointBuffer, ValidPoints};
use tally_store::{Store, WriteStats};

/// How long checkpointed pages may wait in memory for one commit.
const COMMIT_EVERY: Duration = Duration::from_secs(1);

/// Points that make a write due however recent the last one and whether or
/// not the connector checkpointed them, which bounds the memory a pull holds.
const COMMIT_POINTS: usize = 2_000;

/// Buffers one pull's points and commits them at checkpoints and at the end.
pub(crate) struct CommitEmitter {
    buffer: PointBuffer,
    store: Arc<Mutex<Store>>,
    source: String,
    observed_at: DateTime<Utc>,
    /// Points of checkpoints not committed yet, and the last such checkpoint's state.
    deferred: ValidPoints,
    deferred_state: Option<serde_json::Value>,
    /// When a checkpoint was last committed; `None` before the first.
    last_commit: Option<Instant>,
    /// Points the connector emitted, committed or not.
    pub(crate) emitted: u64,
    /// What the commits so far wrote.
    pub(crate) stats: WriteStats,
}

impl CommitEmitter {
    /// An emitter for one pull of `source` by `connector`, observed at `observed_at`.
    pub(crate) fn new(
        store: Arc<Mutex<Store>>,
        source: &str,
        connector: &str,
        observed_at: DateTime<Utc>,
    ) -> CommitEmitter {
        CommitEmitter {
            buffer: PointBuffer::new(connector),
            store,
            source: source.to_string(),
            observed_at,
            deferred: ValidPoints::default(),
            deferred_state: None,
            last_commit: None,
            emitted: 0,
            stats: WriteStats::default(),
        }
    }

    /// Commits what is left after the pull succeeded: the points since the last
    /// committed checkpoint and the last state given, in one transaction.
    pub(crate) async fn finish(mut self) -> Result<WriteStats, ConnectorError> {
        // Both hold fewer than `COMMIT_POINTS`: appending copies little.
        let mut points = std::mem::take(&mut self.deferred);
        points.append(&mut self.buffer.points);
        let state = self.buffer.state.take();
        let store = Arc::clone(&self.store);
        let source = self.source.clone();
        let observed_at = self.observed_at;
        let written = tokio::task::spawn_blocking(move || {
            let mut store = store.lock().unwrap_or_else(|e| e.into_inner());
            store
                .write_valid_batch(&source, &points, observed_at, state.as_ref())
                .map_err(|e| e.to_string())
        })
        .await
        .map_err(|e| ConnectorError::Other(format!("store task failed: {e}")))?
        .map_err(ConnectorError::Other)?;
        add(&mut self.stats, written);
        Ok(self.stats)
    }

    /// Commits the checkpoints not committed yet, after the pull failed: the
    /// pages they cover stay stored and the next pull resumes after them.
    pub(crate) fn commit_checkpoints(&mut self) -> Result<(), ConnectorError> {
        if self.deferred_state.is_none() {
            return Ok(());
        }
        self.write_deferred()
    }

    /// Puts the buffered points behind the deferred ones: moved, not
    /// copied, when none are deferred (a pull without checkpoints, always).
    fn defer_buffered(&mut self) {
        if self.deferred.is_empty() {
            std::mem::swap(&mut self.deferred, &mut self.buffer.points);
        } else {
            self.deferred.append(&mut self.buffer.points);
        }
    }

    /// Writes the deferred points with the pending checkpoint's state, if
    /// any, then hands their emptied vector back to the buffer: a long pull
    /// fills the same `COMMIT_POINTS` slots again instead of growing a new
    /// vector (and copying it as it doubles) for every commit.
    fn write_deferred(&mut self) -> Result<(), ConnectorError> {
        let mut points = std::mem::take(&mut self.deferred);
        let state = self.deferred_state.take();
        let written = blocking(|| {
            let mut store = self.store.lock().unwrap_or_else(|e| e.into_inner());
            store.write_valid_batch(&self.source, &points, self.observed_at, state.as_ref())
        })
        .map_err(|e| {
            ConnectorError::Other(format!(
                "could not store the points of source `{}`: {e}",
                self.source
            ))
        })?;
        add(&mut self.stats, written);
        self.last_commit = Some(Instant::now());
        if self.buffer.points.is_empty() {
            points.clear();
            self.buffer.points = points;
        }
        Ok(())
    }
}

impl Emitter for CommitEmitter {
    fn emit(&mut self, point: Point) -> Result<(), ConnectorError> {
        self.buffer.emit(point)?;
        self.emitted += 1;
        if self.buffer.points.len() + self.deferred.len() >= COMMIT_POINTS {
            self.defer_buffered();
            self.write_deferred()?;
        }
        Ok(())
    }

    fn save_state(&mut self, state: serde_json::Value) {
        self.buffer.save_state(state);
    }

    fn checkpoint(&mut self, state: serde_json::Value) -> Result<(), ConnectorError> {
        self.defer_buffered();
        // The final commit saves this state again unless the connector gives a newer one.
        self.buffer.state = Some(state.clone());
        self.deferred_state = Some(state);
        let due = self
            .last_commit
            .is_none_or(|at| at.elapsed() >= COMMIT_EVERY)
            || self.deferred.len() >= COMMIT_POINTS;
        if due {
            self.commit_checkpoints()?;
        }
        Ok(())
    }

    fn warn(&mut self, message: &str) {
        tracing::warn!(source = %self.source, "{message}");
    }
}

fn add(total: &mut WriteStats, more: WriteStats) {
    total.inserted += more.inserted;
    total.revised += more.revised;
    total.unchanged += more.unchanged;
}

/// Runs a short store write from async code: off the scheduler on a
/// multi-threaded runtime, inline otherwise (tests on a current-thread runtime).
fn blocking<T>(f: impl FnOnce() -> T) -> T {
    match tokio::runtime::Handle::try_current() {
        Ok(h) if h.runtime_flavor() == tokio::runtime::RuntimeFlavor::MultiThread => {
            tokio::task::block_in_place(f)
        }
        _ => f(),
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use chrono::TimeZone;
    use tally_model::{Entity, EntityKind, PointTime};
    use tally_store::PointQuery;

    fn point(id: &str, at: DateTime<Utc>) -> Point {
        Point::new(
            "mastodon",
            "engagement.likes",
            "favourites_count",
            Entity::new(EntityKind::Post, id, None),
            3.0,
            PointTime::At(at),
        )
    }

    #[tokio::test]
    async fn a_checkpoint_commits_what_came_before_and_finish_the_rest() {
        let at = Utc.with_ymd_and_hms(2026, 3, 4, 12, 0, 0).unwrap();
        let store = Arc::new(Mutex::new(Store::open_in_memory().unwrap()));
        let stored = |store: &Arc<Mutex<Store>>| {
            let s = store.lock().unwrap();
            (
                s.query(&PointQuery::default()).unwrap().len(),
                s.load_state("src").unwrap(),
            )
        };
        let mut out = CommitEmitter::new(Arc::clone(&store), "src", "mastodon", at);
        out.emit(point("1", at)).unwrap();
        out.checkpoint(serde_json::json!({ "cursor": "1" }))
            .unwrap();
        assert_eq!(
            stored(&store),
            (1, Some(serde_json::json!({ "cursor": "1" })))
        );
        // A point after the checkpoint is not stored until the pull finishes...
        out.emit(point("2", at)).unwrap();
        assert_eq!(stored(&store).0, 1);
        // ...and then with the last state given.
        let stats = out.finish().await.unwrap();
        assert_eq!(stats.inserted, 2);
        assert_eq!(
            stored(&store),
            (2, Some(serde_json::json!({ "cursor": "1" })))
        );
    }

    #[tokio::test]
    async fn checkpoints_within_a_second_commit_together_and_a_failed_pull_keeps_them() {
        let at = Utc.with_ymd_and_hms(2026, 3, 4, 12, 0, 0).unwrap();
        let store = Arc::new(Mutex::new(Store::open_in_memory().unwrap()));
        let stored = |store: &Arc<Mutex<Store>>| {
            let s = store.lock().unwrap();
            (
                s.query(&PointQuery::default()).unwrap().len(),
                s.load_state("src").unwrap(),
            )
        };
        let mut out = CommitEmitter::new(Arc::clone(&store), "src", "mastodon", at);
        out.emit(point("1", at)).unwrap();
        out.checkpoint(serde_json::json!(1)).unwrap();
        out.emit(point("2", at)).unwrap();
        out.checkpoint(serde_json::json!(2)).unwrap();
        // The second checkpoint came within a second of the first commit.
        assert_eq!(stored(&store), (1, Some(serde_json::json!(1))));
        // The pull fails: what was checkpointed is committed, with its state.
        out.emit(point("3", at)).unwrap();
        out.commit_checkpoints().unwrap();
        assert_eq!(stored(&store), (2, Some(serde_json::json!(2))));
        assert_eq!(out.stats.inserted, 2);
    }

    #[tokio::test]
    async fn a_pull_that_never_checkpoints_is_written_as_it_goes() {
        let at = Utc.with_ymd_and_hms(2026, 3, 4, 12, 0, 0).unwrap();
        let store = Arc::new(Mutex::new(Store::open_in_memory().unwrap()));
        let stored = |store: &Arc<Mutex<Store>>| {
            let s = store.lock().unwrap();
            (
                s.query(&PointQuery::default()).unwrap().len(),
                s.load_state("src").unwrap(),
            )
        };
        let mut out = CommitEmitter::new(Arc::clone(&store), "src", "mastodon", at);
        for n in 0..COMMIT_POINTS * 2 + 10 {
            out.emit(point(&n.to_string(), at)).unwrap();
        }
        // Held in memory: never more than one write's worth; no state saved yet.
        assert_eq!(stored(&store), (COMMIT_POINTS * 2, None));
        out.save_state(serde_json::json!({ "cursor": "end" }));
        let stats = out.finish().await.unwrap();
        assert_eq!(stats.inserted as usize, COMMIT_POINTS * 2 + 10);
        assert_eq!(
            stored(&store),
            (
                COMMIT_POINTS * 2 + 10,
                Some(serde_json::json!({ "cursor": "end" }))
            )
        );
    }

    #[tokio::test]
    async fn points_written_before_a_failure_are_found_unchanged_by_the_next_pull() {
        let at = Utc.with_ymd_and_hms(2026, 3, 4, 12, 0, 0).unwrap();
        let store = Arc::new(Mutex::new(Store::open_in_memory().unwrap()));
        let mut failed = CommitEmitter::new(Arc::clone(&store), "src", "mastodon", at);
        for n in 0..COMMIT_POINTS {
            failed.emit(point(&n.to_string(), at)).unwrap();
        }
        failed.commit_checkpoints().unwrap();
        let mut again = CommitEmitter::new(Arc::clone(&store), "src", "mastodon", at);
        for n in 0..COMMIT_POINTS {
            again.emit(point(&n.to_string(), at)).unwrap();
        }
        let stats = again.finish().await.unwrap();
        assert_eq!((stats.inserted, stats.unchanged), (0, COMMIT_POINTS as u64));
        let s = store.lock().unwrap();
        assert_eq!(
            s.query(&PointQuery::default()).unwrap().len(),
            COMMIT_POINTS
        );
    }
}
