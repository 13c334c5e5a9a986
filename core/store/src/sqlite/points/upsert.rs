//! The idempotent upsert of one point into the entity layout (see migration
//! 10): find or create the point's entity once per entity, resolve its
//! dimensions, metric, attributes and entity name to small interned ids,
//! then insert the sample, or keep the stored value as a revision when it
//! changed.

use super::new_entities::{bind_next, execute_sample, Pending, INSERT_RUN};
use super::{Key, WriteStats};
use crate::sqlite::corrupt;
use crate::StoreError;
use foldhash::fast::FixedState;
use rusqlite::{params, OptionalExtension};
use std::collections::HashMap;
use tally_model::Point;

/// Finds an entity by its natural key (its source and kind as their
/// `source_kinds` row), through the entity index.
pub(in crate::sqlite) const FIND_ENTITY: &str = "SELECT id, entity_name FROM entities
     WHERE source_kind = ?1 AND entity_id = ?2";
const INSERT_ENTITY: &str = "INSERT INTO entities (source_kind, entity_id, entity_name)
     VALUES (?1, ?2, ?3)
     ON CONFLICT DO NOTHING";
const FIND_SOURCE_KIND: &str = "SELECT id FROM source_kinds WHERE source = ?1 AND entity_kind = ?2";
const INSERT_SOURCE_KIND: &str = "INSERT INTO source_kinds (source, entity_kind) VALUES (?1, ?2)";
const FIND_DIMENSIONS: &str = "SELECT id FROM dimension_sets WHERE dimensions = ?1";
const INSERT_DIMENSIONS: &str = "INSERT INTO dimension_sets (dimensions) VALUES (?1)";
const FIND_METRIC: &str = "SELECT id FROM metrics WHERE name = ?1 AND entity_kind = ?2";
const INSERT_METRIC: &str = "INSERT INTO metrics (name, entity_kind) VALUES (?1, ?2)";
const FIND_ATTRS: &str = "SELECT id FROM point_attrs
     WHERE raw_name = ?1 AND unit = ?2 AND kind = ?3 AND platform = ?4";
const INSERT_ATTRS: &str =
    "INSERT INTO point_attrs (raw_name, unit, kind, platform) VALUES (?1, ?2, ?3, ?4)";
const UNIT_OF_ATTRS: &str = "SELECT unit FROM point_attrs WHERE id = ?1";
const FIND_NAME: &str = "SELECT id FROM entity_names WHERE name IS ?1";
const INSERT_NAME: &str = "INSERT INTO entity_names (name) VALUES (?1)";
/// Finds a sample by its key.
pub(in crate::sqlite) const FIND: &str = "SELECT value, attrs FROM samples
     WHERE entity_ref = ?1 AND dimensions_ref = ?2 AND metric_id = ?3
       AND start_ms = ?4 AND end_ms = ?5";
/// Inserts a sample unless its key is stored already (then changes nothing).
const INSERT: &str = "INSERT INTO samples
        (entity_ref, dimensions_ref, metric_id, start_ms, end_ms, value, observed_ms, attrs,
         renamed)
     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)
     ON CONFLICT DO NOTHING";
const ARCHIVE: &str = "INSERT INTO point_revisions
        (entity_ref, dimensions_ref, metric_id, start_ms, end_ms, value, attrs, renamed,
         observed_ms, superseded_ms)
     SELECT entity_ref, dimensions_ref, metric_id, start_ms, end_ms, value, attrs, renamed,
            observed_ms, ?6
     FROM samples
     WHERE entity_ref = ?1 AND dimensions_ref = ?2 AND metric_id = ?3
       AND start_ms = ?4 AND end_ms = ?5";
const REPLACE: &str = "UPDATE samples SET value = ?6, observed_ms = ?7, attrs = ?8, renamed = ?9
     WHERE entity_ref = ?1 AND dimensions_ref = ?2 AND metric_id = ?3
       AND start_ms = ?4 AND end_ms = ?5";

/// The entity a batch met last, so the points of one entity (adjacent in a
/// batch in upsert order) look it up once. Refilled in place: a first pull
/// meets a new entity every few points, and fresh strings for each were
/// tens of thousands of allocations.
#[derive(Default)]
struct CachedEntity {
    source: String,
    entity_kind: &'static str,
    entity_id: String,
    id: i64,
    /// The entity name the entity was created with, if `named`.
    entity_name: String,
    named: bool,
}

/// Replaces `text` with `with`, keeping its allocation.
fn refill(text: &mut String, with: &str) {
    text.clear();
    text.push_str(with);
}

impl CachedEntity {
    /// The entity name it was created with.
    fn name(&self) -> Option<&str> {
        self.named.then_some(self.entity_name.as_str())
    }

    fn is(&self, source: &str, key: &Key<'_>) -> bool {
        self.entity_id == key.entity_id
            && self.entity_kind == key.entity_kind
            && self.source == source
    }
}

/// A `point_attrs` row as the batch has met it.
struct CachedAttrs {
    id: i64,
    kind: String,
    platform: String,
    unit: String,
    raw_name: String,
}

impl CachedAttrs {
    /// Whether `p` carries exactly these attributes, without copying its text.
    fn fit(&self, p: &Point) -> bool {
        self.raw_name == p.raw_name.as_str()
            && self.unit == p.unit.as_str()
            && self.kind == p.kind.as_str()
            && self.platform == p.platform.as_str()
    }
}

/// The statements of an idempotent upsert, prepared once per transaction,
/// and the interned ids met so far.
pub(in crate::sqlite) struct Upsert<'t, 'e> {
    find_entity: rusqlite::CachedStatement<'t>,
    insert_entity: rusqlite::CachedStatement<'t>,
    find_source_kind: rusqlite::CachedStatement<'t>,
    insert_source_kind: rusqlite::CachedStatement<'t>,
    find_dimensions: rusqlite::CachedStatement<'t>,
    insert_dimensions: rusqlite::CachedStatement<'t>,
    find_metric: rusqlite::CachedStatement<'t>,
    insert_metric: rusqlite::CachedStatement<'t>,
    find_attrs: rusqlite::CachedStatement<'t>,
    insert_attrs: rusqlite::CachedStatement<'t>,
    unit_of_attrs: rusqlite::CachedStatement<'t>,
    find_name: rusqlite::CachedStatement<'t>,
    insert_name: rusqlite::CachedStatement<'t>,
    find: rusqlite::CachedStatement<'t>,
    pub(super) insert: rusqlite::CachedStatement<'t>,
    archive: rusqlite::CachedStatement<'t>,
    replace: rusqlite::CachedStatement<'t>,
    pub(super) insert_run: rusqlite::CachedStatement<'t>,
    /// Samples of new entities waiting for a multi-row insert.
    pub(super) pending: Vec<Pending>,
    /// The sample gathered last, to tell a key the batch repeats.
    pub(super) gathered: Option<Pending>,
    /// Whether the last entity looked up was created by this batch.
    fresh: bool,
    /// Whether points come in the batch's upsert order, every repeat of a key
    /// next to it, which lets the samples of new entities be gathered.
    sorted: bool,
    /// The transaction's connection, for the ids of new rows.
    conn: &'t rusqlite::Connection,
    /// The entity met last.
    entity: Option<CachedEntity>,
    /// Dimension sets met in this batch, by their canonical text, and the
    /// last one met: a point of the same breakdown as the one before needs
    /// no lookup.
    dimension_sets: HashMap<String, i64, FixedState>,
    last_dimensions: Option<(String, i64)>,
    /// Whether the last entity looked up had to be created.
    expect_new: bool,
    /// Metric ids met in this batch, by name and entity kind: a batch has a
    /// few dozen at most.
    metrics: Vec<(String, &'static str, i64)>,
    /// `source_kinds` ids met in this batch, by source and entity kind: a
    /// batch has one source and a few kinds.
    source_kinds: Vec<(String, &'static str, i64)>,
    /// Attribute rows met in this batch: about one per metric.
    attrs: Vec<CachedAttrs>,
    /// The store's file, for messages.
    path: &'e str,
    pub(super) err: &'e dyn Fn(rusqlite::Error) -> StoreError,
}

impl<'t, 'e> Upsert<'t, 'e> {
    /// Prepares the statements inside `tx`; `err` wraps SQLite failures.
    /// `sorted`: the points will come in the batch's upsert order (each
    /// subject's points together, every repeat of a key right after it).
    pub(in crate::sqlite) fn prepare(
        tx: &'t rusqlite::Transaction<'_>,
        path: &'e str,
        err: &'e dyn Fn(rusqlite::Error) -> StoreError,
        sorted: bool,
    ) -> Result<Upsert<'t, 'e>, StoreError> {
        Ok(Upsert {
            find_entity: tx.prepare_cached(FIND_ENTITY).map_err(err)?,
            insert_entity: tx.prepare_cached(INSERT_ENTITY).map_err(err)?,
            find_source_kind: tx.prepare_cached(FIND_SOURCE_KIND).map_err(err)?,
            insert_source_kind: tx.prepare_cached(INSERT_SOURCE_KIND).map_err(err)?,
            find_dimensions: tx.prepare_cached(FIND_DIMENSIONS).map_err(err)?,
            insert_dimensions: tx.prepare_cached(INSERT_DIMENSIONS).map_err(err)?,
            find_metric: tx.prepare_cached(FIND_METRIC).map_err(err)?,
            insert_metric: tx.prepare_cached(INSERT_METRIC).map_err(err)?,
            find_attrs: tx.prepare_cached(FIND_ATTRS).map_err(err)?,
            insert_attrs: tx.prepare_cached(INSERT_ATTRS).map_err(err)?,
            unit_of_attrs: tx.prepare_cached(UNIT_OF_ATTRS).map_err(err)?,
            find_name: tx.prepare_cached(FIND_NAME).map_err(err)?,
            insert_name: tx.prepare_cached(INSERT_NAME).map_err(err)?,
            find: tx.prepare_cached(FIND).map_err(err)?,
            insert: tx.prepare_cached(INSERT).map_err(err)?,
            archive: tx.prepare_cached(ARCHIVE).map_err(err)?,
            replace: tx.prepare_cached(REPLACE).map_err(err)?,
            insert_run: tx.prepare_cached(&INSERT_RUN).map_err(err)?,
            pending: Vec::new(),
            gathered: None,
            fresh: false,
            sorted,
            conn: tx,
            entity: None,
            dimension_sets: HashMap::default(),
            last_dimensions: None,
            expect_new: false,
            metrics: Vec::new(),
            source_kinds: Vec::new(),
            attrs: Vec::new(),
            path,
            err,
        })
    }

    /// The entity of `key` in `source`, created with `p`'s entity name the
    /// first time it is seen.
    fn entity(&mut self, source: &str, key: &Key<'_>, p: &Point) -> Result<i64, StoreError> {
        if let Some(e) = self.entity.as_ref().filter(|e| e.is(source, key)) {
            return Ok(e.id);
        }
        // A first pull creates nearly every entity, a later one nearly none:
        // try first whatever the previous lookup of this batch needed, so
        // either way most entities cost one probe of the entity index.
        let source_kind = self.source_kind(source, key.entity_kind)?;
        let mut created = None;
        if self.expect_new {
            created = self.insert_entity(source_kind, key, p)?;
        }
        let (id, stored_name, created) = match created {
            Some(id) => (id, None, true),
            None => match self.find_entity(source_kind, key)? {
                Some((id, name)) => {
                    self.expect_new = false;
                    (id, Some(name), false)
                }
                None => {
                    self.expect_new = true;
                    let id = self.insert_entity(source_kind, key, p)?.ok_or_else(|| {
                        corrupt(
                            self.path,
                            "entity",
                            format!(
                                "entity `{}` `{}` of `{source}` neither found nor created",
                                key.entity_kind, key.entity_id
                            ),
                        )
                    })?;
                    (id, None, true)
                }
            },
        };
        let name = match &stored_name {
            Some(stored) => stored.as_deref(),
            None => p.entity.name.as_deref(),
        };
        let last = self.entity.get_or_insert_with(CachedEntity::default);
        refill(&mut last.source, source);
        last.entity_kind = key.entity_kind;
        refill(&mut last.entity_id, key.entity_id);
        last.id = id;
        refill(&mut last.entity_name, name.unwrap_or_default());
        last.named = name.is_some();
        self.fresh = created;
        Ok(id)
    }

    /// The stored entity of `key` among `source_kind`'s and its entity name,
    /// if any.
    fn find_entity(
        &mut self,
        source_kind: i64,
        key: &Key<'_>,
    ) -> Result<Option<(i64, Option<String>)>, StoreError> {
        self.find_entity
            .query_row(params![source_kind, key.entity_id], |row| {
                Ok((row.get(0)?, row.get(1)?))
            })
            .optional()
            .map_err(self.err)
    }

    /// Creates the entity of `key` among `source_kind`'s with `p`'s entity
    /// name and returns its id, unless it exists (then `None`).
    fn insert_entity(
        &mut self,
        source_kind: i64,
        key: &Key<'_>,
        p: &Point,
    ) -> Result<Option<i64>, StoreError> {
        let name = p.entity.name.as_deref();
        let statement = &mut self.insert_entity;
        let mut at = 0;
        let inserted = bind_next(statement, &mut at, source_kind)
            .and_then(|()| bind_next(statement, &mut at, key.entity_id))
            .and_then(|()| bind_next(statement, &mut at, name))
            .and_then(|()| statement.raw_execute())
            .map_err(self.err)?;
        // `RETURNING id` would build a temporary B-tree on every execution.
        Ok((inserted == 1).then(|| self.conn.last_insert_rowid()))
    }

    /// The id of `key`'s dimension set, interned the first time any batch
    /// writes it.
    fn dimensions_ref(&mut self, key: &Key<'_>) -> Result<i64, StoreError> {
        let text: &str = key.dimensions;
        if let Some((_, id)) = self.last_dimensions.as_ref().filter(|(d, _)| d == text) {
            return Ok(*id);
        }
        let id = match self.dimension_sets.get(text) {
            Some(id) => *id,
            None => {
                let id = find_or_insert(
                    &mut self.find_dimensions,
                    &mut self.insert_dimensions,
                    self.conn,
                    params![text],
                )
                .map_err(self.err)?;
                self.dimension_sets.insert(text.to_string(), id);
                id
            }
        };
        match &mut self.last_dimensions {
            Some((last, last_id)) => {
                refill(last, text);
                *last_id = id;
            }
            None => self.last_dimensions = Some((text.to_string(), id)),
        }
        Ok(id)
    }

    /// The id of `key`'s metric for its kind of entity, interned the first
    /// time any batch writes it.
    fn metric_id(&mut self, key: &Key<'_>) -> Result<i64, StoreError> {
        KindedIds {
            met: &mut self.metrics,
            find: &mut self.find_metric,
            insert: &mut self.insert_metric,
        }
        .id(self.conn, key.metric, key.entity_kind)
        .map_err(self.err)
    }

    /// The id of the `source_kinds` row of `source`'s entities of `kind`,
    /// interned the first time any batch writes one.
    fn source_kind(&mut self, source: &str, kind: &'static str) -> Result<i64, StoreError> {
        KindedIds {
            met: &mut self.source_kinds,
            find: &mut self.find_source_kind,
            insert: &mut self.insert_source_kind,
        }
        .id(self.conn, source, kind)
        .map_err(self.err)
    }

    /// The `point_attrs` row holding `p`'s kind, platform, unit and raw name,
    /// created if needed.
    fn attrs_id(&mut self, p: &Point) -> Result<i64, StoreError> {
        if let Some(a) = self.attrs.iter().find(|a| a.fit(p)) {
            return Ok(a.id);
        }
        let args = params![
            p.raw_name.as_str(),
            p.unit.as_str(),
            p.kind.as_str(),
            p.platform.as_str()
        ];
        let id = find_or_insert(
            &mut self.find_attrs,
            &mut self.insert_attrs,
            self.conn,
            args,
        )
        .map_err(self.err)?;
        self.attrs.push(CachedAttrs {
            id,
            kind: p.kind.as_str().to_string(),
            platform: p.platform.to_string(),
            unit: p.unit.as_str().to_string(),
            raw_name: p.raw_name.to_string(),
        });
        Ok(id)
    }

    /// The unit of a stored `point_attrs` row.
    fn unit_of(&mut self, attrs: i64) -> Result<String, StoreError> {
        if let Some(a) = self.attrs.iter().find(|a| a.id == attrs) {
            return Ok(a.unit.clone());
        }
        self.unit_of_attrs
            .query_row(params![attrs], |row| row.get(0))
            .map_err(self.err)
    }

    /// `None` when `p` carries its entity's name, else the `entity_names`
    /// row of its own name, created if needed.
    fn renamed(&mut self, p: &Point) -> Result<Option<i64>, StoreError> {
        let name = p.entity.name.as_deref();
        if self.entity.as_ref().is_some_and(|e| e.name() == name) {
            return Ok(None);
        }
        find_or_insert(
            &mut self.find_name,
            &mut self.insert_name,
            self.conn,
            params![name],
        )
        .map(Some)
        .map_err(self.err)
    }

    /// Upserts one (already validated) point of `source` by its natural key:
    /// an identical value writes nothing, a new key is inserted, a changed
    /// value replaces the stored one, which is kept as a revision.
    pub(in crate::sqlite) fn point(
        &mut self,
        source: &str,
        key: &Key<'_>,
        p: &Point,
        observed_ms: i64,
        stats: &mut WriteStats,
    ) -> Result<(), StoreError> {
        let err = self.err;
        let entity_ref = self.entity(source, key, p)?;
        let dimensions_ref = self.dimensions_ref(key)?;
        let metric_id = self.metric_id(key)?;
        let attrs = self.attrs_id(p)?;
        let renamed = self.renamed(p)?;
        let sample = Pending {
            entity_ref,
            dimensions_ref,
            metric_id,
            start_ms: key.start_ms,
            end_ms: key.end_ms,
            value: p.value,
            attrs,
            renamed,
        };
        if self.fresh && self.sorted && self.gather(sample, observed_ms, stats)? {
            return Ok(());
        }
        // A stored key found below may be one gathered and not written yet.
        self.flush(observed_ms)?;
        // Most keys of a pull are new (gauges carry the pull's hour), so try the
        // insert first and look the key up only when it is already stored.
        let inserted = execute_sample(&mut self.insert, &sample, observed_ms).map_err(err)?;
        if inserted == 1 {
            stats.inserted += 1;
            return Ok(());
        }
        let (value, stored_attrs): (f64, i64) = self
            .find
            .query_row(
                params![
                    entity_ref,
                    dimensions_ref,
                    metric_id,
                    key.start_ms,
                    key.end_ms
                ],
                |row| Ok((row.get(0)?, row.get(1)?)),
            )
            .map_err(err)?;
        let same_unit = stored_attrs == attrs || self.unit_of(stored_attrs)? == p.unit.as_str();
        if value == p.value && same_unit {
            stats.unchanged += 1;
            return Ok(());
        }
        self.archive
            .execute(params![
                entity_ref,
                dimensions_ref,
                metric_id,
                key.start_ms,
                key.end_ms,
                observed_ms
            ])
            .map_err(err)?;
        execute_sample(&mut self.replace, &sample, observed_ms).map_err(err)?;
        stats.revised += 1;
        Ok(())
    }
}

/// The id of the row `find` returns for `args`, inserted by `insert` with
/// the same `args` when there is none: how each interned table (metrics,
/// dimension sets, source kinds, attributes, names) gains a row.
fn find_or_insert(
    find: &mut rusqlite::CachedStatement<'_>,
    insert: &mut rusqlite::CachedStatement<'_>,
    conn: &rusqlite::Connection,
    args: &[&dyn rusqlite::ToSql],
) -> rusqlite::Result<i64> {
    match find.query_row(args, |row| row.get(0)).optional()? {
        Some(id) => Ok(id),
        None => {
            insert.execute(args)?;
            Ok(conn.last_insert_rowid())
        }
    }
}

/// A table interning (text, entity kind) pairs (metrics, source kinds) and
/// the pairs a batch has met: a batch meets a few dozen at most, so a scan
/// finds them without a query.
struct KindedIds<'a, 't> {
    met: &'a mut Vec<(String, &'static str, i64)>,
    find: &'a mut rusqlite::CachedStatement<'t>,
    insert: &'a mut rusqlite::CachedStatement<'t>,
}

impl KindedIds<'_, '_> {
    /// The id of (`text`, `kind`), interned the first time any batch writes it.
    fn id(
        self,
        conn: &rusqlite::Connection,
        text: &str,
        kind: &'static str,
    ) -> rusqlite::Result<i64> {
        if let Some((_, _, id)) = self.met.iter().find(|(t, k, _)| t == text && *k == kind) {
            return Ok(*id);
        }
        let id = find_or_insert(self.find, self.insert, conn, params![text, kind])?;
        self.met.push((text.to_string(), kind, id));
        Ok(id)
    }
}
