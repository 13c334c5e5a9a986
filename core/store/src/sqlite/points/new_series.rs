//! A first pull's points: runs of brand-new series written with multi-row
//! statements.
//!
//! A first pull of 10,000 posts creates 40,000 series and as many samples.
//! Written a row per statement, SQLite spent about as much on each
//! statement's own work (binding, starting and finishing its program) as on
//! the B-trees. So where the lookups before found only new series, the next
//! [`RUN`] points, each of a series of its own, are tried as one `INSERT` of
//! their series with ids chosen here and, when every one of them was new, one
//! `INSERT` of their samples. When any of those series existed already, the
//! run is written point by point as before, so a re-pull and a mixed batch
//! behave exactly as they always did.

use super::{Attrs, CachedSeries, Key, Upsert, WriteStats};
use crate::StoreError;
use std::sync::LazyLock;
use tally_model::Point;

/// Points written by one multi-row pair of statements.
pub(super) const RUN: usize = 64;

/// The first id free in `series`: the run's series take it and the next ones.
/// The write transaction holds the database, so nobody else takes them.
pub(super) const NEXT_SERIES_ID: &str = "SELECT IFNULL(MAX(id), 0) + 1 FROM series";

/// `RUN` series rows with their ids; a row whose key exists is left out.
pub(super) static INSERT_SERIES_RUN: LazyLock<String> = LazyLock::new(|| {
    format!(
        "INSERT INTO series (id, source, metric, dimensions, entity_kind, entity_id,
            kind, platform, unit, entity_name, raw_name, key_hash)
         VALUES {} ON CONFLICT DO NOTHING",
        vec!["(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"; RUN].join(", ")
    )
});

/// `RUN` samples of new series, each with its series' attributes.
pub(super) static INSERT_SAMPLES_RUN: LazyLock<String> = LazyLock::new(|| {
    format!(
        "INSERT INTO samples (series_id, start_ms, end_ms, value, observed_ms) VALUES {}",
        vec!["(?, ?, ?, ?, ?)"; RUN].join(", ")
    )
});

impl Upsert<'_, '_> {
    /// Writes the first [`RUN`] points of `points` as one run of new series
    /// if the lookups before expect new series and each point is of a series
    /// of its own; returns whether it did. `false` leaves the points to
    /// [`Upsert::point`], which also covers a run where some series existed.
    pub(in crate::sqlite) fn new_series_run(
        &mut self,
        source: &str,
        points: &[(&Key<'_>, &Point)],
        observed_ms: i64,
        stats: &mut WriteStats,
    ) -> Result<bool, StoreError> {
        let Some(run) = points.get(..RUN) else {
            return Ok(false);
        };
        let distinct = run.windows(2).all(|w| !w[0].0.same_series(w[1].0));
        let follows_last = self.last.as_ref().is_some_and(|s| s.is(source, run[0].0));
        if !self.expect_new || !distinct || follows_last {
            return Ok(false);
        }
        let err = self.err;
        let first_id: i64 = self
            .next_series_id
            .query_row([], |row| row.get(0))
            .map_err(err)?;
        let statement = &mut self.insert_series_run;
        let mut at = 0;
        let mut bind = |value: &dyn rusqlite::ToSql| {
            at += 1;
            statement.raw_bind_parameter(at, value)
        };
        for (i, &(key, p)) in (0i64..).zip(run) {
            bind(&(first_id + i)).map_err(err)?;
            bind(&source).map_err(err)?;
            bind(&key.metric).map_err(err)?;
            bind(&key.dimensions).map_err(err)?;
            bind(&key.entity_kind).map_err(err)?;
            bind(&key.entity_id).map_err(err)?;
            bind(&p.kind.as_str()).map_err(err)?;
            bind(&p.platform.as_str()).map_err(err)?;
            bind(&p.unit.as_str()).map_err(err)?;
            bind(&p.entity.name.as_deref()).map_err(err)?;
            bind(&p.raw_name.as_str()).map_err(err)?;
            bind(&key.hash).map_err(err)?;
        }
        let created = statement.raw_execute().map_err(err)?;
        if created < RUN {
            // Some existed: which of the ids were taken is for the lookups to say.
            self.last = None;
            return Ok(false);
        }
        let statement = &mut self.insert_samples_run;
        let mut at = 0;
        let mut bind = |value: &dyn rusqlite::ToSql| {
            at += 1;
            statement.raw_bind_parameter(at, value)
        };
        for (i, &(key, p)) in (0i64..).zip(run) {
            bind(&(first_id + i)).map_err(err)?;
            bind(&key.start_ms).map_err(err)?;
            bind(&key.end_ms).map_err(err)?;
            bind(&p.value).map_err(err)?;
            bind(&observed_ms).map_err(err)?;
        }
        statement.raw_execute().map_err(err)?;
        stats.inserted += RUN as u64;
        let &(key, p) = &run[RUN - 1];
        self.last = Some(CachedSeries {
            source: source.to_string(),
            metric: key.metric.to_string(),
            dimensions: key.dimensions.clone(),
            entity_kind: key.entity_kind,
            entity_id: key.entity_id.to_string(),
            id: first_id + RUN as i64 - 1,
            attrs: Attrs::of(p),
        });
        Ok(true)
    }
}
