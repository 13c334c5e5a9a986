//! Top posts by engagement, and top segments (country, age, gender) where a
//! connector collects breakdowns.

use super::roi::ENGAGEMENT;
use super::Data;
use crate::activity::activity;
use crate::period::Period;
use crate::series::Series;
use chrono::{DateTime, Utc};
use serde::Serialize;
use std::collections::BTreeMap;
use tally_model::{EntityKind, PointTime};

/// One post or video and what it earned in the month.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TopPost {
    /// The source.
    pub source: String,
    /// The platform.
    pub platform: String,
    /// `post` or `video`.
    pub kind: String,
    /// The platform's id.
    pub id: String,
    /// Its name (first words, or title).
    pub name: Option<String>,
    /// Likes + comments + shares + saves + reactions in the month.
    pub engagement: f64,
    /// Each engagement metric.
    pub breakdown: Vec<(String, f64)>,
    /// Views in the month, where known.
    pub views: Option<f64>,
}

/// One breakdown value and its share.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Segment {
    /// The metric broken down.
    pub metric: String,
    /// The dimension (`country`).
    pub dimension: String,
    /// Its value (`US`).
    pub value: String,
    /// The metric's amount for that value.
    pub amount: f64,
    /// The share of all values of the dimension.
    pub share: f64,
}

/// The `limit` items with the most engagement in `period`.
pub(crate) fn top_posts(
    data: &Data,
    period: &Period,
    at: DateTime<Utc>,
    limit: usize,
) -> Vec<TopPost> {
    type Key = (String, EntityKind, String);
    let mut items: BTreeMap<Key, TopPost> = BTreeMap::new();
    let metrics = ENGAGEMENT.iter().copied().chain(["reach.views"]);
    for metric in metrics {
        let Some(series) = data.items.get(metric) else {
            continue;
        };
        for s in series
            .iter()
            .filter(|s| matches!(s.entity.kind, EntityKind::Post | EntityKind::Video))
        {
            let Some(v) = activity(std::slice::from_ref(s), period, at).actual else {
                continue;
            };
            let key = (s.source.clone(), s.entity.kind, s.entity.id.to_string());
            let item = items.entry(key).or_insert_with(|| new_item(s));
            if metric == "reach.views" {
                item.views = Some(item.views.unwrap_or(0.0) + v);
            } else {
                item.engagement += v;
                item.breakdown.push((metric.to_string(), v));
            }
        }
    }
    let mut list: Vec<TopPost> = items.into_values().filter(|p| p.engagement > 0.0).collect();
    list.sort_by(|a, b| b.engagement.total_cmp(&a.engagement).then(a.id.cmp(&b.id)));
    list.truncate(limit);
    list
}

fn new_item(s: &Series) -> TopPost {
    TopPost {
        source: s.source.clone(),
        platform: s.platform.clone(),
        kind: s.entity.kind.as_str().to_string(),
        id: s.entity.id.to_string(),
        name: s.entity.name.as_ref().map(ToString::to_string),
        engagement: 0.0,
        breakdown: Vec::new(),
        views: None,
    }
}

/// For each metric and dimension with breakdowns in `period`, the `limit`
/// largest values: totals of sums, latest readings of gauges.
pub(crate) fn segments(
    data: &Data,
    period: &Period,
    at: DateTime<Utc>,
    limit: usize,
) -> Vec<Segment> {
    // (metric, dimension, value) -> amount; gauges keep the latest reading per series.
    let mut sums: BTreeMap<(String, String, String), f64> = BTreeMap::new();
    // (metric, dimension, value, source, entity) -> latest (time, value).
    type SeriesKey = (String, String, String, String, String);
    let mut latest: BTreeMap<SeriesKey, (DateTime<Utc>, f64)> = BTreeMap::new();
    // A point broken down by several dimensions at once (GA4's source, medium
    // and campaign of one session) counts in the segment of each of them.
    let single = data
        .breakdowns
        .iter()
        .filter(|sp| addable(&sp.point))
        .flat_map(|sp| sp.point.dimensions.iter().map(move |dim| (sp, dim)));
    for (sp, (dim, value)) in single {
        let p = &sp.point;
        match p.time {
            PointTime::Period { start, .. } => {
                if start >= period.start && start < period.end && start < at {
                    *sums
                        .entry((p.metric.to_string(), dim.clone(), value.clone()))
                        .or_insert(0.0) += p.value;
                }
            }
            PointTime::At(t) => {
                if t >= period.start && t < period.end && t <= at {
                    let key = (
                        p.metric.to_string(),
                        dim.clone(),
                        value.clone(),
                        sp.source.clone(),
                        p.entity.id.to_string(),
                    );
                    let e = latest.entry(key).or_insert((t, p.value));
                    if t >= e.0 {
                        *e = (t, p.value);
                    }
                }
            }
        }
    }
    for ((metric, dim, value, _, _), (_, v)) in latest {
        *sums.entry((metric, dim, value)).or_insert(0.0) += v;
    }
    let mut groups: BTreeMap<(String, String), Vec<(String, f64)>> = BTreeMap::new();
    for ((metric, dim, value), amount) in sums {
        groups
            .entry((metric, dim))
            .or_default()
            .push((value, amount));
    }
    let mut out = Vec::new();
    for ((metric, dim), mut values) in groups {
        let total: f64 = values.iter().map(|v| v.1).sum();
        values.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
        for (value, amount) in values.into_iter().take(limit) {
            out.push(Segment {
                metric: metric.clone(),
                dimension: dim.clone(),
                value,
                amount,
                share: if total > 0.0 { amount / total } else { 0.0 },
            });
        }
    }
    out
}

/// Whether a point's values can be added across breakdown values (counts
/// and durations can; ratings and money of mixed currencies cannot).
fn addable(p: &tally_model::Point) -> bool {
    matches!(
        p.unit,
        tally_model::Unit::Count | tally_model::Unit::Seconds
    )
}
