//! Aggregation (part of primitive 7): instead of one point per record, the
//! records of a partition fold into one point per group, counted or summed.
//!
//! A group is what tells the folded points apart: their entity, time and
//! dimensions, the point's natural key. `group_by` names the parts of it that
//! come from the record; every other part must be the same for all records,
//! which is checked at load time, so a group never mixes records that a user
//! would expect apart. Folding is addition: a counted record weighs 1.

use crate::error::{ManifestError, Source};
use crate::spec::{RawPoint, Tpl};
use crate::template::{Names, Root, Template};
use std::collections::{BTreeMap, HashMap};
use std::ops::Range;
use tally_model::{EntityKind, Point, PointTime, SmolStr};

/// How the records of a group become its value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Aggregate {
    /// The number of records (that pass the point's `where`).
    Count,
    /// The sum of their `value`.
    Sum,
}

/// What of a point reads the record, for checking `group_by` at load time.
#[derive(Debug)]
pub struct Parts<'a> {
    /// Whether the entity (the point's own, or the stream's) reads the record.
    pub entity: bool,
    /// Whether the time reads the record, and where it is written.
    pub time: Option<Range<usize>>,
    /// Each dimension: its key and template as written.
    pub dimensions: Vec<(&'a str, &'a Tpl, &'a Template)>,
    /// Where the points table starts, for errors about it as a whole.
    pub span: Range<usize>,
}

/// An aggregation, compiled. Counting and summing both add up the
/// records' values (a counted record weighs 1), so what is left to know is
/// whether the group is known before any record is read.
#[derive(Debug, Clone, Copy)]
pub struct Folding {
    /// Whether no part of the group reads the record: then a partition is
    /// one group, and one without records still gives its count of 0.
    pub fixed: bool,
}

/// Whether a template reads the record (or the object it was exploded from).
pub fn reads_record(t: &Template) -> bool {
    t.uses(Root::Record) || t.uses(Root::Parent)
}

/// Reads `aggregate`, before the rest of a points table, since it decides
/// whether `value` may be left out (a count) or must be given (a sum).
pub fn kind(raw: &RawPoint, src: &Source<'_>) -> Result<Option<Aggregate>, ManifestError> {
    let Some(kind) = &raw.aggregate else {
        return Ok(None);
    };
    let aggregate = match kind.get_ref().as_str() {
        "count" => Aggregate::Count,
        "sum" => Aggregate::Sum,
        other => {
            return Err(src.at(
                kind.span(),
                format!("unknown aggregate `{other}`: count or sum"),
            ))
        }
    };
    match (aggregate, &raw.value) {
        (Aggregate::Count, Some(v)) => Err(src.at(
            v.span(),
            "`aggregate = \"count\"` counts records: leave out `value` (`where` picks the records that count)",
        )),
        (Aggregate::Sum, None) => Err(src.at(
            kind.span(),
            "`aggregate = \"sum\"` adds up a `value`: give one, such as `value = \"{{ record.amount }}\"`",
        )),
        _ => Ok(Some(aggregate)),
    }
}

/// Compiles the rest of an aggregation: `group_by` against what of the point
/// reads the record (`parts`), and a sum's `value` (compiled) against its type.
pub fn compile(
    raw: &RawPoint,
    aggregate: Option<Aggregate>,
    value: Option<&Template>,
    names: &Names,
    parts: &Parts<'_>,
    src: &Source<'_>,
) -> Result<Option<Folding>, ManifestError> {
    let Some(aggregate) = aggregate else {
        if let Some(g) = &raw.group_by {
            return Err(src.at(
                g.span(),
                "`group_by` goes with `aggregate = \"count\"` or `\"sum\"`",
            ));
        }
        return Ok(None);
    };
    let at = raw
        .aggregate
        .as_ref()
        .map_or(parts.span.clone(), |a| a.span());
    if raw.metric.is_none() {
        return Err(src.at(
            at,
            "`aggregate` folds into one metric: give the point a `metric` (not `fields` or `metric_from`)",
        ));
    }
    if let (Aggregate::Sum, Some(v), Some(written)) = (aggregate, value, &raw.value) {
        if !v.may_be_number(names) {
            return Err(src.at(
                written.span(),
                "wrong type: `aggregate = \"sum\"` adds numbers, but this `value` is always text, a boolean or a list; sum a number field (`{{ record.amount }}`) or count with `aggregate = \"count\"`",
            ));
        }
    }
    let group: Vec<&toml::Spanned<String>> = raw
        .group_by
        .as_ref()
        .map(|g| g.get_ref().iter().collect())
        .unwrap_or_default();
    let keys: Vec<&str> = parts.dimensions.iter().map(|(k, _, _)| *k).collect();
    for g in &group {
        let name = g.get_ref().as_str();
        if !matches!(name, "entity" | "time") && !keys.contains(&name) {
            return Err(src.at(
                g.span(),
                format!(
                    "`group_by` names `{name}`, which is not a part of this point: group by `entity`, `time` or one of its dimensions ({})",
                    if keys.is_empty() { "it has none".to_string() } else { keys.join(", ") }
                ),
            ));
        }
    }
    let grouped = |name: &str| group.iter().any(|g| g.get_ref() == name);
    let must_group = |what: &str| {
        format!(
            "{what} reads the record, so it differs between the records of one group: add it to `group_by`, or make it the same for every record"
        )
    };
    if parts.entity && !grouped("entity") {
        return Err(src.at(parts.span.clone(), must_group("the entity")));
    }
    if let Some(span) = &parts.time {
        if !grouped("time") {
            return Err(src.at(span.clone(), must_group("the time")));
        }
    }
    for (key, written, compiled) in &parts.dimensions {
        if reads_record(compiled) && !grouped(key) {
            return Err(src.at(written.span(), must_group(&format!("dimension `{key}`"))));
        }
    }
    let fixed = !parts.entity
        && parts.time.is_none()
        && parts
            .dimensions
            .iter()
            .all(|(_, _, compiled)| !reads_record(compiled));
    Ok(Some(Folding { fixed }))
}

/// A point's natural key within one source: what a group is.
type Key = (
    SmolStr,
    EntityKind,
    SmolStr,
    PointTime,
    BTreeMap<String, String>,
);

/// The groups of one partition and their running values, in the order each
/// group was first seen.
#[derive(Debug, Default)]
pub struct Fold {
    points: Vec<Point>,
    index: HashMap<Key, usize>,
}

impl Fold {
    /// Adds a record's point to its group (the group starts with it).
    pub fn add(&mut self, point: Point) {
        let key = (
            point.metric.clone(),
            point.entity.kind,
            point.entity.id.clone(),
            point.time,
            point.dimensions.clone(),
        );
        match self.index.get(&key) {
            Some(&i) => self.points[i].value += point.value,
            None => {
                self.index.insert(key, self.points.len());
                self.points.push(point);
            }
        }
    }

    /// Adds every group of `other` (a finished partition) to these.
    pub fn merge(&mut self, other: Fold) {
        for point in other.points {
            self.add(point);
        }
    }

    /// The groups' points, leaving the fold empty.
    pub fn take(&mut self) -> Vec<Point> {
        self.index.clear();
        std::mem::take(&mut self.points)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use chrono::TimeZone;
    use tally_model::Entity;

    fn point(event: &str, status: &str, value: f64) -> Point {
        let now = chrono::Utc.with_ymd_and_hms(2026, 6, 1, 12, 0, 0).unwrap();
        let mut p = Point::new(
            "eventbrite",
            "events.attendees",
            "checked_in",
            Entity::new(EntityKind::Event, event, None),
            value,
            PointTime::At(now),
        );
        p.dimensions.insert("status".into(), status.into());
        p
    }

    #[test]
    fn points_with_one_natural_key_add_up_in_first_seen_order() {
        let mut page = Fold::default();
        page.add(point("e1", "checked_in", 0.0));
        page.add(point("e1", "checked_in", 1.0));
        page.add(point("e2", "checked_in", 1.0));
        let mut partition = Fold::default();
        partition.add(point("e1", "attending", 1.0));
        partition.merge(page);
        partition.add(point("e1", "checked_in", 1.0));
        let got: Vec<(String, String, f64)> = partition
            .take()
            .into_iter()
            .map(|p| {
                (
                    p.entity.id.to_string(),
                    p.dimensions["status"].clone(),
                    p.value,
                )
            })
            .collect();
        assert_eq!(
            got,
            vec![
                ("e1".into(), "attending".into(), 1.0),
                ("e1".into(), "checked_in".into(), 2.0),
                ("e2".into(), "checked_in".into(), 1.0),
            ]
        );
        assert!(partition.take().is_empty());
    }
}
