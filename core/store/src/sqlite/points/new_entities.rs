//! A first pull's points: the samples of brand-new entities written with
//! multi-row statements.
//!
//! A first pull of 10,000 posts creates 10,000 entities and 40,000 samples.
//! Written a row per statement, SQLite spends about as much on each
//! statement's own work (binding, starting and finishing its program) as on
//! the B-tree. An entity created by this batch has no stored samples, so its
//! points are all new keys: they are gathered and written [`RUN`] to a
//! statement, the rest row by row when the batch ends. A key the batch
//! repeats is written through the single-row upsert, after what is gathered,
//! so the last value still wins and the earlier one becomes a revision.

use super::upsert::Upsert;
use super::WriteStats;
use crate::StoreError;
use std::sync::LazyLock;

/// Samples written by one multi-row statement.
const RUN: usize = 64;

/// `RUN` samples of new entities. `OR FAIL`, not the default `ABORT`: a
/// statement that may abort halfway keeps a copy of every page it changes
/// (a statement journal) to undo its own rows, and these rows cannot
/// conflict; if one ever did, the error still rolls the whole batch back.
/// Every row shares parameter 1, the pull's `observed_ms`, bound once per
/// run instead of once per row; row `r` takes the [`RUN_ROW_PARAMETERS`]
/// after it.
pub(super) static INSERT_RUN: LazyLock<String> = LazyLock::new(|| {
    let rows: Vec<String> = (0..RUN)
        .map(|r| {
            let first = 2 + r * RUN_ROW_PARAMETERS;
            let [a, b, c, d, e, f, g, h]: [usize; RUN_ROW_PARAMETERS] =
                std::array::from_fn(|column| first + column);
            format!("(?{a}, ?{b}, ?{c}, ?{d}, ?{e}, ?{f}, ?1, ?{g}, ?{h})")
        })
        .collect();
    format!(
        "INSERT OR FAIL INTO samples
            (entity_ref, dimensions_ref, metric_id, start_ms, end_ms, value, observed_ms,
             attrs, renamed)
         VALUES {}",
        rows.join(", ")
    )
});

/// The parameters of one row of [`INSERT_RUN`]: every column but `observed_ms`.
const RUN_ROW_PARAMETERS: usize = 8;

/// One sample, keyed by the interned ids of its entity, dimensions and
/// metric: waiting for its run when its entity is new.
#[derive(Clone, Copy, PartialEq)]
pub(super) struct Pending {
    pub(super) entity_ref: i64,
    pub(super) dimensions_ref: i64,
    pub(super) metric_id: i64,
    pub(super) start_ms: i64,
    pub(super) end_ms: i64,
    pub(super) value: f64,
    pub(super) attrs: i64,
    pub(super) renamed: Option<i64>,
}

impl Pending {
    fn same_key(&self, other: &Pending) -> bool {
        self.key() == other.key()
    }

    /// The sample's key, the primary key of `samples`.
    pub(super) fn key(&self) -> (i64, i64, i64, i64, i64) {
        (
            self.entity_ref,
            self.dimensions_ref,
            self.metric_id,
            self.start_ms,
            self.end_ms,
        )
    }
}

impl Upsert<'_, '_> {
    /// Gathers `sample`, of an entity this batch created, for a multi-row
    /// insert, and counts it inserted. Returns `false`, gathering nothing,
    /// when it repeats the key gathered before: that point takes the
    /// single-row upsert, once what is gathered is written.
    pub(super) fn gather(
        &mut self,
        sample: Pending,
        observed_ms: i64,
        stats: &mut WriteStats,
    ) -> Result<bool, StoreError> {
        if self.gathered.is_some_and(|last| last.same_key(&sample)) {
            self.flush(observed_ms)?;
            return Ok(false);
        }
        self.gathered = Some(sample);
        self.pending.push(sample);
        stats.inserted += 1;
        if self.pending.len() == RUN {
            self.write_run(observed_ms)?;
        }
        Ok(true)
    }

    /// Writes the `RUN` gathered samples with one statement.
    fn write_run(&mut self, observed_ms: i64) -> Result<(), StoreError> {
        let err = self.err;
        let statement = &mut self.insert_run;
        let mut at = 0;
        bind_next(statement, &mut at, observed_ms).map_err(err)?;
        for s in &self.pending {
            bind_next(statement, &mut at, s.entity_ref).map_err(err)?;
            bind_next(statement, &mut at, s.dimensions_ref).map_err(err)?;
            bind_next(statement, &mut at, s.metric_id).map_err(err)?;
            bind_next(statement, &mut at, s.start_ms).map_err(err)?;
            bind_next(statement, &mut at, s.end_ms).map_err(err)?;
            bind_next(statement, &mut at, s.value).map_err(err)?;
            bind_next(statement, &mut at, s.attrs).map_err(err)?;
            bind_next(statement, &mut at, s.renamed).map_err(err)?;
        }
        statement.raw_execute().map_err(err)?;
        self.pending.clear();
        Ok(())
    }

    /// Writes what is gathered row by row: the end of a batch, or a key the
    /// batch repeats, which must find the earlier value stored.
    pub(in crate::sqlite) fn flush(&mut self, observed_ms: i64) -> Result<(), StoreError> {
        if self.pending.is_empty() {
            return Ok(());
        }
        let err = self.err;
        let insert = &mut self.insert;
        for s in self.pending.drain(..) {
            execute_sample(insert, &s, observed_ms).map_err(err)?;
        }
        Ok(())
    }
}

/// Binds `value` to the parameter after `at`. Typed, not `&dyn ToSql`: each
/// bind then compiles to SQLite's own call, where going through the trait
/// object cost about 160 instructions (360,000 binds in a first pull of
/// 10,000 posts).
pub(super) fn bind_next<T: rusqlite::ToSql>(
    statement: &mut rusqlite::Statement<'_>,
    at: &mut usize,
    value: T,
) -> rusqlite::Result<()> {
    *at += 1;
    statement.raw_bind_parameter(*at, value)
}

/// Runs a one-sample statement (`INSERT` or `REPLACE` of the upsert, both
/// numbered in the samples table's column order) for `s`.
pub(super) fn execute_sample(
    statement: &mut rusqlite::Statement<'_>,
    s: &Pending,
    observed_ms: i64,
) -> rusqlite::Result<usize> {
    let mut at = 0;
    bind_next(statement, &mut at, s.entity_ref)?;
    bind_next(statement, &mut at, s.dimensions_ref)?;
    bind_next(statement, &mut at, s.metric_id)?;
    bind_next(statement, &mut at, s.start_ms)?;
    bind_next(statement, &mut at, s.end_ms)?;
    bind_next(statement, &mut at, s.value)?;
    bind_next(statement, &mut at, observed_ms)?;
    bind_next(statement, &mut at, s.attrs)?;
    bind_next(statement, &mut at, s.renamed)?;
    statement.raw_execute()
}
