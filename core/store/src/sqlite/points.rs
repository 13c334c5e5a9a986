//! Writing points idempotently, keeping restated values as revisions, and
//! reading them back as they are now or as they were known at some instant.
//!
//! Platforms restate analytics for weeks after the fact, and goals and reports
//! must be reproducible ("what did the March report say?"), so a changed value
//! never silently overwrites: the old one moves to `point_revisions` with the
//! interval during which it was the known value.

mod new_entities;
mod upsert;

pub(super) use upsert::Upsert;

use super::{corrupt, from_ms, sql_err, to_ms, SqliteStore, StoreError};
use crate::decode;
use chrono::{DateTime, Utc};
use foldhash::fast::FixedState;
use rusqlite::types::Value as SqlValue;
use rusqlite::{params, Row, TransactionBehavior};
use std::cmp::Ordering;
use std::collections::{BTreeMap, HashMap};
use tally_model::{Entity, EntityKind, MetricKind, Point, PointTime, SmolStr};

/// What one [`SqliteStore::write_batch`] did, so runs can report new vs restated data.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct WriteStats {
    /// Points whose natural key was not stored before.
    pub inserted: u64,
    /// Points whose key was stored with a different value; the old one became a revision.
    pub revised: u64,
    /// Points already stored with the same value; nothing was written for them.
    pub unchanged: u64,
}

/// A point as stored: which source produced it and when its value was first pulled.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredPoint {
    /// The configured source id.
    pub source: String,
    /// The point itself.
    pub point: Point,
    /// When this value was first observed (pulled).
    pub observed_at: DateTime<Utc>,
}

/// Filters for [`SqliteStore::query`]. The default returns every current point.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct PointQuery {
    /// Only this canonical metric.
    pub metric: Option<String>,
    /// Only these sources; empty means all.
    pub sources: Vec<String>,
    /// Only this entity id.
    pub entity_id: Option<String>,
    /// Only this entity kind.
    pub entity_kind: Option<EntityKind>,
    /// Points whose time (`at` of a gauge, `start` of a sum) is at or after this.
    pub from: Option<DateTime<Utc>>,
    /// Points whose time is before this.
    pub to: Option<DateTime<Utc>>,
    /// The values as they were known at this instant instead of the latest ones;
    /// points first observed after it are absent.
    pub as_of: Option<DateTime<Utc>>,
    /// At most this many points (the earliest ones).
    pub limit: Option<usize>,
}

/// A point's natural key columns, in the form they are stored.
pub(super) struct Key<'a> {
    metric: &'a str,
    /// Canonical JSON, from the batch's [`Breakdowns`].
    dimensions: &'a str,
    entity_kind: &'static str,
    entity_id: &'a str,
    start_ms: i64,
    end_ms: i64,
}

impl<'a> Key<'a> {
    /// The key of `p`, whose dimensions' canonical text is `dimensions`.
    pub(super) fn of(p: &'a Point, dimensions: &'a str) -> Key<'a> {
        let (start_ms, end_ms) = match p.time {
            PointTime::At(at) => (to_ms(at), to_ms(at)),
            PointTime::Period { start, end } => (to_ms(start), to_ms(end)),
        };
        Key {
            metric: &p.metric,
            dimensions,
            entity_kind: p.entity.kind.as_str(),
            entity_id: &p.entity.id,
            start_ms,
            end_ms,
        }
    }

    /// The point's subject, its entity and breakdown: the entity's place in
    /// the entity index within one source, then the dimensions.
    fn subject(&self) -> (&str, &str, &str) {
        (self.entity_kind, self.entity_id, self.dimensions)
    }

    /// The order of one subject's samples, the key of `samples` after the
    /// entity and dimensions.
    fn sample_order(&self, other: &Key<'_>) -> Ordering {
        (self.metric, self.start_ms, self.end_ms).cmp(&(other.metric, other.start_ms, other.end_ms))
    }
}

/// The order in which a batch's points are upserted: subjects (entity and
/// dimensions) in the order of the entity index, each subject's points
/// together by metric and time. The upsert then finds each entity once,
/// fills index pages front to back
/// (a batch written newest first left them half empty: a 26% larger file)
/// and appends each subject's samples; a key the batch repeats comes right
/// after its first value, in the order given, so the last one is kept.
///
/// Only the subjects are sorted by their text, not every point: a feed lists
/// a subject's points together and its subjects in id order or in reverse,
/// which the sort takes in one pass, where sorting every point by the
/// index's text columns cost 6% of a pull.
fn upsert_order(keys: &[Key<'_>]) -> Vec<usize> {
    // Each point's subject, numbered as the subjects first appear; a point of
    // the same subject as the one before needs no lookup. Sized for two
    // points a subject (a feed's posts with and without a breakdown): a
    // table that has to grow rehashes every subject, and a larger one is
    // mapped fresh from the kernel for every batch.
    let mut numbers: HashMap<(&str, &str, &str), usize, FixedState> =
        HashMap::with_capacity_and_hasher(keys.len() / 2, FixedState::default());
    let mut first_points: Vec<usize> = Vec::new();
    let mut subject_of: Vec<usize> = Vec::with_capacity(keys.len());
    for (i, key) in keys.iter().enumerate() {
        let number = match i.checked_sub(1) {
            Some(before) if keys[before].subject() == key.subject() => subject_of[before],
            _ => *numbers.entry(key.subject()).or_insert_with(|| {
                first_points.push(i);
                first_points.len() - 1
            }),
        };
        subject_of.push(number);
    }
    first_points.sort_by(|&a, &b| keys[a].subject().cmp(&keys[b].subject()));
    // Where each subject's points start in the order, by the subject's place.
    let mut starts = vec![0; first_points.len() + 1];
    let mut place_of = vec![0; first_points.len()];
    for (place, &first) in first_points.iter().enumerate() {
        place_of[subject_of[first]] = place;
    }
    for &number in &subject_of {
        starts[place_of[number] + 1] += 1;
    }
    for place in 1..starts.len() {
        starts[place] += starts[place - 1];
    }
    // Placed in the order given, so a repeated key keeps its order.
    let mut order = vec![0; keys.len()];
    let mut next = starts.clone();
    for (i, &number) in subject_of.iter().enumerate() {
        let place = place_of[number];
        order[next[place]] = i;
        next[place] += 1;
    }
    for run in starts.windows(2) {
        order[run[0]..run[1]].sort_by(|&a, &b| keys[a].sample_order(&keys[b]));
    }
    order
}

/// The canonical text of a batch's breakdowns, made once for each distinct
/// one: a feed's quote counts all carry `type=quote`, and a string for each
/// point was 10,000 allocations in a first pull of 10,000 posts.
pub(super) struct Breakdowns {
    /// Each distinct breakdown's canonical JSON, in the order first met.
    texts: Vec<String>,
    /// Each point's place in `texts`; `None` without dimensions (`{}`).
    of_point: Vec<Option<usize>>,
}

impl Breakdowns {
    /// The breakdowns of `points`, in order.
    pub(super) fn of<'p>(points: impl ExactSizeIterator<Item = &'p Point>) -> Breakdowns {
        let mut texts = Vec::new();
        let mut of_point = Vec::with_capacity(points.len());
        let mut places: HashMap<&BTreeMap<String, String>, usize, FixedState> = HashMap::default();
        for p in points {
            let place = (!p.dimensions.is_empty()).then(|| {
                *places.entry(&p.dimensions).or_insert_with(|| {
                    texts.push(canonical_dimensions(&p.dimensions));
                    texts.len() - 1
                })
            });
            of_point.push(place);
        }
        Breakdowns { texts, of_point }
    }

    /// The canonical text of the `i`th point's dimensions.
    pub(super) fn text(&self, i: usize) -> &str {
        self.of_point[i].map_or("{}", |place| &self.texts[place])
    }
}

/// Dimensions as canonical JSON: a `BTreeMap` serializes its keys in order, so
/// the same breakdown always gives the same text and the same key.
pub(crate) fn canonical_dimensions(d: &BTreeMap<String, String>) -> String {
    if d.is_empty() {
        return "{}".to_string();
    }
    let text: usize = d.iter().map(|(k, v)| k.len() + v.len() + 6).sum();
    let mut out = String::with_capacity(text + 2);
    out.push('{');
    for (i, (k, v)) in d.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        push_json_string(&mut out, k);
        out.push(':');
        push_json_string(&mut out, v);
    }
    out.push('}');
    out
}

/// Appends `text` as a JSON string, escaped as serde_json escapes it (the
/// stored key must not change), without the copies a `Value` would make.
fn push_json_string(out: &mut String, text: &str) {
    // serde_json escapes quotes, backslashes and control characters, and
    // nothing else: a text without them is written as it is.
    if text.bytes().all(|b| b >= 0x20 && b != b'"' && b != b'\\') {
        out.push('"');
        out.push_str(text);
        out.push('"');
        return;
    }
    // Serializing a `&str` cannot fail.
    out.push_str(&serde_json::to_string(text).unwrap_or_default());
}

const SAVE_STATE: &str = "INSERT INTO source_state (source, state, updated_ms) VALUES (?1, ?2, ?3)
     ON CONFLICT (source) DO UPDATE SET state = excluded.state, updated_ms = excluded.updated_ms";

/// The columns every point read selects, in the order [`SqliteStore::read_point`] expects.
const POINT_COLUMNS: &str =
    "p.source AS source, p.entity_kind AS entity_kind, p.entity_id AS entity_id,
     p.metric AS metric, p.dimensions AS dimensions, p.start_ms AS start_ms, p.end_ms AS end_ms,
     p.kind AS kind, p.platform AS platform";

impl SqliteStore {
    /// Stores one pull's points and the source's new incremental state in one
    /// transaction: either all of it is committed or none of it, so a crash or
    /// an invalid point never leaves points saved without the state that
    /// produced them (or the reverse).
    ///
    /// Each point is upserted by its natural key (source, entity, metric,
    /// dimensions, time): an identical value writes nothing, a new key is
    /// inserted, a changed value is replaced and the old one kept as a revision.
    pub fn write_batch(
        &mut self,
        source: &str,
        points: &[Point],
        observed_at: DateTime<Utc>,
        state: Option<&serde_json::Value>,
    ) -> Result<WriteStats, StoreError> {
        crate::error::check_points(&self.path, points.iter().map(|p| (source, p)))?;
        self.write_checked(source, points, observed_at, state)
    }

    /// Writes points that passed [`Point::validate`]: [`crate::Store`]'s
    /// `write_valid_batch`, and `write_batch` once it has checked them.
    pub(crate) fn write_checked(
        &mut self,
        source: &str,
        points: &[Point],
        observed_at: DateTime<Utc>,
        state: Option<&serde_json::Value>,
    ) -> Result<WriteStats, StoreError> {
        let state_text = match state {
            Some(s) => Some(serde_json::to_string(s).map_err(|e| StoreError::Encode {
                path: self.path.clone(),
                what: "the source's state",
                detail: e.to_string(),
            })?),
            None => None,
        };
        let observed_ms = to_ms(observed_at);
        let breakdowns = Breakdowns::of(points.iter());
        let keys: Vec<Key<'_>> = points
            .iter()
            .enumerate()
            .map(|(i, p)| Key::of(p, breakdowns.text(i)))
            .collect();
        let order = upsert_order(&keys);
        let path = self.path.as_str();
        let err = sql_err(path, "writing a batch of points");
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(&err)?;
        let mut stats = WriteStats::default();
        {
            let mut upsert = Upsert::prepare(&tx, path, &err, true)?;
            for &i in &order {
                upsert.point(source, &keys[i], &points[i], observed_ms, &mut stats)?;
            }
            upsert.flush(observed_ms)?;
            if let Some(text) = &state_text {
                tx.prepare_cached(SAVE_STATE)
                    .map_err(&err)?
                    .execute(params![source, text, observed_ms])
                    .map_err(&err)?;
            }
        }
        tx.commit().map_err(&err)?;
        Ok(stats)
    }

    /// Points matching `q`, ordered by time, then source, entity and metric.
    ///
    /// Without `as_of` each key's latest value; with `as_of = T` the value that
    /// was known at `T` (a revision if it was restated later), and keys first
    /// observed after `T` are left out, so a report can be reproduced.
    pub fn query(&self, q: &PointQuery) -> Result<Vec<StoredPoint>, StoreError> {
        let mut args: Vec<SqlValue> = Vec::new();
        let mut arg = |v: SqlValue| {
            args.push(v);
            format!("?{}", args.len())
        };
        let mut filters: Vec<String> = Vec::new();
        if let Some(metric) = &q.metric {
            filters.push(format!(
                "p.metric = {}",
                arg(SqlValue::Text(metric.clone()))
            ));
        }
        if !q.sources.is_empty() {
            let list: Vec<String> = q
                .sources
                .iter()
                .map(|s| arg(SqlValue::Text(s.clone())))
                .collect();
            filters.push(format!("p.source IN ({})", list.join(", ")));
        }
        if let Some(id) = &q.entity_id {
            filters.push(format!("p.entity_id = {}", arg(SqlValue::Text(id.clone()))));
        }
        if let Some(kind) = q.entity_kind {
            filters.push(format!(
                "p.entity_kind = {}",
                arg(SqlValue::Text(kind.as_str().to_string()))
            ));
        }
        if let Some(from) = q.from {
            filters.push(format!(
                "p.start_ms >= {}",
                arg(SqlValue::Integer(to_ms(from)))
            ));
        }
        if let Some(to) = q.to {
            filters.push(format!(
                "p.start_ms < {}",
                arg(SqlValue::Integer(to_ms(to)))
            ));
        }
        let mut where_clause = String::from("1");
        for f in &filters {
            where_clause.push_str(" AND ");
            where_clause.push_str(f);
        }
        let mut sql = match q.as_of {
            None => format!(
                "SELECT {POINT_COLUMNS}, p.value AS value, p.unit AS unit, p.entity_name AS entity_name,
                        p.raw_name AS raw_name, p.observed_ms AS observed_ms
                 FROM points p WHERE {where_clause}"
            ),
            Some(as_of) => {
                let t = arg(SqlValue::Integer(to_ms(as_of)));
                format!(
                    "SELECT {POINT_COLUMNS}, p.value AS value, p.unit AS unit, p.entity_name AS entity_name,
                            p.raw_name AS raw_name, p.observed_ms AS observed_ms
                     FROM points p WHERE {where_clause} AND p.observed_ms <= {t}
                     UNION ALL
                     SELECT {POINT_COLUMNS}, r.value AS value, r.unit AS unit, r.entity_name AS entity_name,
                            r.raw_name AS raw_name, r.observed_ms AS observed_ms
                     FROM revisions r JOIN points p ON p.entity_ref = r.entity_ref
                       AND p.dimensions_ref = r.dimensions_ref AND p.metric_id = r.metric_id AND p.start_ms = r.start_ms AND p.end_ms = r.end_ms
                     WHERE {where_clause} AND r.observed_ms <= {t} AND {t} < r.superseded_ms"
                )
            }
        };
        sql.push_str(
            " ORDER BY start_ms, source, entity_kind, entity_id, metric, dimensions, end_ms",
        );
        if let Some(limit) = q.limit {
            let limit = i64::try_from(limit).unwrap_or(i64::MAX);
            sql.push_str(&format!(" LIMIT {}", arg(SqlValue::Integer(limit))));
        }
        let err = sql_err(&self.path, "querying points");
        let mut stmt = self.conn.prepare_cached(&sql).map_err(&err)?;
        let mut rows = stmt
            .query(rusqlite::params_from_iter(args.iter()))
            .map_err(&err)?;
        let mut out = Vec::new();
        while let Some(row) = rows.next().map_err(&err)? {
            out.push(self.read_point(row)?);
        }
        Ok(out)
    }

    /// For each (entity, metric, dimensions) of `source`, the point with the
    /// latest time: what `tally demo` and `tally query` print as "now".
    pub fn latest_per_metric(&self, source: &str) -> Result<Vec<StoredPoint>, StoreError> {
        let sql = format!(
            "SELECT * FROM (
                SELECT {POINT_COLUMNS}, p.value AS value, p.unit AS unit, p.entity_name AS entity_name,
                       p.raw_name AS raw_name, p.observed_ms AS observed_ms,
                       ROW_NUMBER() OVER (
                           PARTITION BY p.entity_kind, p.entity_id, p.metric, p.dimensions
                           ORDER BY p.start_ms DESC, p.end_ms DESC) AS rank
                FROM points p WHERE p.source = ?1)
             WHERE rank = 1
             ORDER BY metric, entity_kind, entity_id, dimensions"
        );
        let err = sql_err(&self.path, "reading the latest points");
        let mut stmt = self.conn.prepare_cached(&sql).map_err(&err)?;
        let mut rows = stmt.query(params![source]).map_err(&err)?;
        let mut out = Vec::new();
        while let Some(row) = rows.next().map_err(&err)? {
            out.push(self.read_point(row)?);
        }
        Ok(out)
    }

    /// Turns a row selected with [`POINT_COLUMNS`] and the value columns back into a point.
    fn read_point(&self, row: &Row<'_>) -> Result<StoredPoint, StoreError> {
        let path = self.path.as_str();
        let err = sql_err(path, "reading a point");
        let get_text = |name: &str| row.get::<_, String>(name).map_err(&err);
        let get_smol = |name: &str| get_text(name).map(SmolStr::from);
        let entity_kind = decode::entity_kind(path, &get_text("entity_kind")?)?;
        let kind = decode::metric_kind(path, &get_text("kind")?)?;
        let unit = decode::unit(path, &get_text("unit")?)?;
        let dimensions = decode::dimensions(path, &get_text("dimensions")?)?;
        let time_of = |name: &str| -> Result<DateTime<Utc>, StoreError> {
            let ms: i64 = row.get(name).map_err(&err)?;
            from_ms(ms).ok_or_else(|| corrupt(path, "time", format!("{ms} ms is out of range")))
        };
        let start = time_of("start_ms")?;
        let time = match kind {
            MetricKind::Gauge => PointTime::At(start),
            MetricKind::Sum => PointTime::Period {
                start,
                end: time_of("end_ms")?,
            },
        };
        let point = Point {
            platform: get_smol("platform")?,
            entity: Entity {
                kind: entity_kind,
                id: get_smol("entity_id")?,
                name: row
                    .get::<_, Option<String>>("entity_name")
                    .map_err(&err)?
                    .map(SmolStr::from),
            },
            metric: get_smol("metric")?,
            value: row.get("value").map_err(&err)?,
            unit,
            kind,
            time,
            dimensions,
            raw_name: get_smol("raw_name")?,
        };
        Ok(StoredPoint {
            source: get_text("source")?,
            point,
            observed_at: time_of("observed_ms")?,
        })
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn canonical_dimensions_are_ordered_and_escaped() {
        let mut d = BTreeMap::new();
        d.insert("z".to_string(), "1".to_string());
        d.insert("a\"".to_string(), "x".to_string());
        assert_eq!(canonical_dimensions(&d), r#"{"a\"":"x","z":"1"}"#);
        assert_eq!(canonical_dimensions(&BTreeMap::new()), "{}");
        let parsed: BTreeMap<String, String> =
            serde_json::from_str(&canonical_dimensions(&d)).unwrap();
        assert_eq!(parsed, d);
    }

    #[test]
    fn dimension_text_is_written_as_serde_json_writes_it() {
        // Stored keys were written by serde_json: the same text must give
        // the same key.
        for text in [
            "FR",
            "a/b",
            "café ☕",
            "tab\there",
            "quote\"",
            "back\\slash",
            "\u{7f}",
            "\u{1}",
            "",
        ] {
            let mut out = String::new();
            push_json_string(&mut out, text);
            assert_eq!(out, serde_json::to_string(text).unwrap(), "{text:?}");
        }
    }

    fn likes(post: &str, value: f64) -> Point {
        let at = DateTime::from_timestamp(1_772_625_600, 0).unwrap();
        Point::new(
            "mastodon",
            "engagement.likes",
            "favourites_count",
            Entity::new(EntityKind::Post, post, None),
            value,
            PointTime::At(at),
        )
    }

    /// Every stored (post, value), in post order.
    fn stored_likes(store: &SqliteStore) -> Vec<(String, f64)> {
        let mut likes: Vec<(String, f64)> = store
            .query(&PointQuery::default())
            .unwrap()
            .into_iter()
            .map(|s| (s.point.entity.id.to_string(), s.point.value))
            .collect();
        likes.sort_by(|a, b| a.0.cmp(&b.0));
        likes
    }

    #[test]
    fn pages_of_older_and_then_newer_posts_keep_every_point() {
        // A first pull's later pages hold older posts, a later pull's new
        // posts are newer: each gets its own entity, and pulling them all
        // again finds every key.
        let mut store = SqliteStore::open_in_memory().unwrap();
        let observed = DateTime::from_timestamp(1_772_629_200, 0).unwrap();
        let page = |from: u32, to: u32| -> Vec<Point> {
            (from..to)
                .rev()
                .map(|n| likes(&format!("p{n:04}"), f64::from(n)))
                .collect()
        };
        for batch in [page(100, 200), page(0, 100), page(200, 250)] {
            let stats = store.write_batch("src", &batch, observed, None).unwrap();
            assert_eq!(stats.inserted, batch.len() as u64);
        }
        let expected: Vec<(String, f64)> = (0..250)
            .map(|n| (format!("p{n:04}"), f64::from(n)))
            .collect();
        assert_eq!(stored_likes(&store), expected);
        let entities: i64 = store
            .conn
            .query_row("SELECT COUNT(*) FROM entities", [], |r| r.get(0))
            .unwrap();
        assert_eq!(entities, 250);
        let stats = store
            .write_batch("src", &page(0, 250), observed, None)
            .unwrap();
        assert_eq!((stats.inserted, stats.unchanged), (0, 250));
    }

    #[test]
    fn new_posts_between_stored_ones_are_written_beside_them() {
        let mut store = SqliteStore::open_in_memory().unwrap();
        let observed = DateTime::from_timestamp(1_772_629_200, 0).unwrap();
        store
            .write_batch("src", &[likes("a", 1.0), likes("z", 2.0)], observed, None)
            .unwrap();
        let batch = [
            likes("zz", 5.0),
            likes("m", 4.0),
            likes("a", 1.0),
            likes("zy", 6.0),
        ];
        let stats = store.write_batch("src", &batch, observed, None).unwrap();
        assert_eq!((stats.inserted, stats.unchanged), (3, 1));
        assert_eq!(
            stored_likes(&store),
            [
                ("a".to_string(), 1.0),
                ("m".to_string(), 4.0),
                ("z".to_string(), 2.0),
                ("zy".to_string(), 6.0),
                ("zz".to_string(), 5.0),
            ]
        );
    }

    #[test]
    fn a_key_repeated_in_one_batch_keeps_its_last_value() {
        // The batch is upserted in key order; repeats of a key must still
        // apply in the order they were emitted.
        let mut store = SqliteStore::open_in_memory().unwrap();
        let batch = [likes("b", 1.0), likes("a", 5.0), likes("b", 2.0)];
        let observed = DateTime::from_timestamp(1_772_629_200, 0).unwrap();
        let stats = store.write_batch("src", &batch, observed, None).unwrap();
        let expected = WriteStats {
            inserted: 2,
            revised: 1,
            unchanged: 0,
        };
        assert_eq!(stats, expected);
        let values: Vec<(String, f64)> = store
            .query(&PointQuery::default())
            .unwrap()
            .into_iter()
            .map(|s| (s.point.entity.id.to_string(), s.point.value))
            .collect();
        assert_eq!(values, [("a".to_string(), 5.0), ("b".to_string(), 2.0)]);
    }

    #[test]
    fn a_newest_first_batch_creates_its_entities_in_index_order() {
        // Feeds list posts newest first; created in that order, a pull's
        // entities would fill the index back to front and leave its pages
        // half empty.
        let mut store = SqliteStore::open_in_memory().unwrap();
        let batch = [
            likes("c", 1.0),
            likes("b", 1.0),
            likes("a", 1.0),
            likes("c", 2.0),
        ];
        let observed = DateTime::from_timestamp(1_772_629_200, 0).unwrap();
        store.write_batch("src", &batch, observed, None).unwrap();
        let ids: Vec<String> = store
            .conn
            .prepare("SELECT entity_id FROM entities ORDER BY id")
            .unwrap()
            .query_map([], |r| r.get(0))
            .unwrap()
            .map(|r| r.unwrap())
            .collect();
        assert_eq!(ids, ["a", "b", "c"]);
    }

    #[test]
    fn each_point_keeps_its_own_breakdown_and_each_breakdown_is_stored_once() {
        let mut store = SqliteStore::open_in_memory().unwrap();
        let batch = vec![
            likes("a", 1.0).with_dimension("type", "quote"),
            likes("a", 2.0),
            likes("b", 3.0).with_dimension("type", "quote"),
            likes("b", 4.0).with_dimension("type", "reply"),
            likes("c", 5.0)
                .with_dimension("type", "quote")
                .with_dimension("lang", "en"),
        ];
        let observed = DateTime::from_timestamp(1_772_629_200, 0).unwrap();
        let stats = store.write_batch("src", &batch, observed, None).unwrap();
        assert_eq!(stats.inserted, 5);
        let mut stored: Vec<(String, BTreeMap<String, String>, f64)> = store
            .query(&PointQuery::default())
            .unwrap()
            .into_iter()
            .map(|s| {
                (
                    s.point.entity.id.to_string(),
                    s.point.dimensions,
                    s.point.value,
                )
            })
            .collect();
        stored.sort_by(|x, y| x.2.total_cmp(&y.2));
        let written: Vec<(String, BTreeMap<String, String>, f64)> = batch
            .iter()
            .map(|p| (p.entity.id.to_string(), p.dimensions.clone(), p.value))
            .collect();
        assert_eq!(stored, written);
        let sets: i64 = store
            .conn
            .query_row("SELECT COUNT(*) FROM dimension_sets", [], |r| r.get(0))
            .unwrap();
        assert_eq!(sets, 4, "{{}}, quote, reply, and quote in English");
    }

    #[test]
    fn a_key_repeated_right_after_a_full_run_of_new_entities_is_revised() {
        // The 64th sample of new entities writes the run; the same key next
        // must find it stored and keep it as a revision, not be lost.
        let mut store = SqliteStore::open_in_memory().unwrap();
        let mut batch: Vec<Point> = (0..100).map(|i| likes(&format!("p{i:03}"), 1.0)).collect();
        let keys: Vec<Key<'_>> = batch.iter().map(|p| Key::of(p, "{}")).collect();
        let order = upsert_order(&keys);
        let boundary = batch[order[63]].entity.id.to_string();
        drop(keys);
        batch.push(likes(&boundary, 2.0));
        let observed = DateTime::from_timestamp(1_772_629_200, 0).unwrap();
        let stats = store.write_batch("src", &batch, observed, None).unwrap();
        let expected = WriteStats {
            inserted: 100,
            revised: 1,
            unchanged: 0,
        };
        assert_eq!(stats, expected);
        let q = PointQuery {
            entity_id: Some(boundary),
            ..PointQuery::default()
        };
        let values: Vec<f64> = store
            .query(&q)
            .unwrap()
            .iter()
            .map(|s| s.point.value)
            .collect();
        assert_eq!(values, [2.0]);
        assert_eq!(store.query(&PointQuery::default()).unwrap().len(), 100);
    }

    #[test]
    fn the_lookup_is_planned_once_whatever_the_dimensions() {
        // SQLite re-plans a statement whose bound value the planner compared
        // with a partial index's literal; that doubled the cost of a pull.
        let mut store = SqliteStore::open_in_memory().unwrap();
        let batch: Vec<Point> = (0..10)
            .map(|i| {
                let p = likes(&i.to_string(), 1.0);
                if i % 2 == 0 {
                    p.with_dimension("country", "FR")
                } else {
                    p
                }
            })
            .collect();
        let observed = DateTime::from_timestamp(1_772_629_200, 0).unwrap();
        store.write_batch("src", &batch, observed, None).unwrap();
        store.write_batch("src", &batch, observed, None).unwrap();
        for lookup in [upsert::FIND_ENTITY, upsert::FIND] {
            let find = store.conn.prepare_cached(lookup).unwrap();
            assert_eq!(
                find.get_status(rusqlite::StatementStatus::RePrepare),
                0,
                "{lookup} was re-prepared"
            );
        }
    }
}
