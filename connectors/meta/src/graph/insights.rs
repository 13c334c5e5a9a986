//! The insights envelope Pages, Instagram and their posts share:
//! `{"data":[{"name","period","values":[{"value","end_time"}],"total_value":{"value","breakdowns":[…]}}]}`.
//!
//! A daily value's `end_time` is the end of the day it counts (midnight in
//! the page's reporting time zone, e.g. `07:00:00+0000`), so it becomes a
//! sum over the 24 hours before it. A value may be a number or an object of
//! numbers by key (reactions by type), which becomes one point per key with
//! that key as a dimension. A `total_value` with `breakdowns` gives one point
//! per result, its `dimension_keys` and `dimension_values` as dimensions.

use chrono::{DateTime, Duration, FixedOffset, Utc};
use serde::Deserialize;
use serde_json::Value;
use tally_model::{Entity, Point, PointTime};

/// `GET /{id}/insights`.
#[derive(Debug, Default, Deserialize)]
pub struct InsightsEnvelope {
    /// One entry per metric asked for (a metric without data may be left out).
    #[serde(default)]
    pub data: Vec<Insight>,
}

/// One metric of an insights answer.
#[derive(Debug, Deserialize)]
pub struct Insight {
    /// The metric's name (`page_media_view`).
    pub name: String,
    /// `day`, `week`, `days_28`, `lifetime`.
    #[serde(default)]
    pub period: Option<String>,
    /// Values by period end.
    #[serde(default)]
    pub values: Vec<InsightValue>,
    /// The total over the asked range (`metric_type=total_value`).
    #[serde(default)]
    pub total_value: Option<TotalValue>,
}

/// One value of a time series.
#[derive(Debug, Deserialize)]
pub struct InsightValue {
    /// A number, a numeric string, or an object of numbers by key.
    #[serde(default)]
    pub value: Value,
    /// End of the period counted (`2026-06-19T07:00:00+0000`); absent for lifetime values.
    #[serde(default)]
    pub end_time: Option<String>,
}

/// `total_value` of a `metric_type=total_value` answer.
#[derive(Debug, Deserialize)]
pub struct TotalValue {
    /// The total.
    #[serde(default)]
    pub value: Value,
    /// The total split by dimensions, when a `breakdown` was asked for.
    #[serde(default)]
    pub breakdowns: Vec<Breakdown>,
}

/// One breakdown of a total.
#[derive(Debug, Deserialize)]
pub struct Breakdown {
    /// Dimension names (`media_product_type`, `follow_type`).
    #[serde(default)]
    pub dimension_keys: Vec<String>,
    /// One value per combination of dimension values.
    #[serde(default)]
    pub results: Vec<BreakdownResult>,
}

/// One row of a breakdown.
#[derive(Debug, Deserialize)]
pub struct BreakdownResult {
    /// Values of the breakdown's dimension keys, in order.
    #[serde(default)]
    pub dimension_values: Vec<String>,
    /// The value for that combination.
    #[serde(default)]
    pub value: Value,
}

/// A number Meta sent as a number or a numeric string; `None` otherwise.
pub fn number(value: &Value) -> Option<f64> {
    match value {
        Value::Number(n) => n.as_f64(),
        Value::String(s) => s.trim().parse::<f64>().ok(),
        _ => None,
    }
    .filter(|n| n.is_finite() && *n >= 0.0)
}

/// Parses Graph's `2026-06-19T07:00:00+0000` (and RFC 3339).
pub fn graph_time(text: &str) -> Option<DateTime<Utc>> {
    DateTime::<FixedOffset>::parse_from_str(text, "%Y-%m-%dT%H:%M:%S%z")
        .or_else(|_| DateTime::parse_from_rfc3339(text))
        .ok()
        .map(|t| t.with_timezone(&Utc))
}

/// How one insights metric maps: its Graph name, the canonical metric, and
/// the dimension an object value's keys become (`reaction` for reactions by type).
#[derive(Debug, Clone, Copy)]
pub struct MetricMap {
    /// Graph metric name.
    pub raw: &'static str,
    /// Canonical metric.
    pub metric: &'static str,
    /// Dimension for the keys of an object value.
    pub key_dimension: Option<&'static str>,
}

impl MetricMap {
    /// A metric whose values are numbers.
    pub const fn plain(raw: &'static str, metric: &'static str) -> MetricMap {
        MetricMap {
            raw,
            metric,
            key_dimension: None,
        }
    }

    /// A metric whose values are objects of numbers, keyed by `dimension`.
    pub const fn keyed(
        raw: &'static str,
        metric: &'static str,
        dimension: &'static str,
    ) -> MetricMap {
        MetricMap {
            raw,
            metric,
            key_dimension: Some(dimension),
        }
    }
}

/// The Graph names of `maps`, for the `metric=` parameter (and for asserting
/// that no removed metric is ever asked for).
pub fn names(maps: &[MetricMap]) -> Vec<&'static str> {
    maps.iter().map(|m| m.raw).collect()
}

/// Points of one value: the number, or one per key of an object.
fn value_points(
    platform: &str,
    map: &MetricMap,
    entity: &Entity,
    value: &Value,
    time: PointTime,
) -> Vec<Point> {
    let point = |v: f64| Point::new(platform, map.metric, map.raw, entity.clone(), v, time);
    match (value, map.key_dimension) {
        (Value::Object(by_key), Some(dimension)) => by_key
            .iter()
            .filter_map(|(key, v)| Some(point(number(v)?).with_dimension(dimension, key)))
            .collect(),
        (value, _) => number(value).map(point).into_iter().collect(),
    }
}

impl InsightsEnvelope {
    /// Daily sums: every value of a `period=day` series of a mapped metric,
    /// over the 24 hours before its `end_time`.
    pub fn daily(&self, platform: &str, entity: &Entity, maps: &[MetricMap]) -> Vec<Point> {
        let mut out = Vec::new();
        for insight in self
            .data
            .iter()
            .filter(|i| i.period.as_deref() == Some("day"))
        {
            let Some(map) = maps.iter().find(|m| m.raw == insight.name) else {
                continue;
            };
            for value in &insight.values {
                let Some(end) = value.end_time.as_deref().and_then(graph_time) else {
                    continue;
                };
                let time = PointTime::Period {
                    start: end - Duration::days(1),
                    end,
                };
                out.extend(value_points(platform, map, entity, &value.value, time));
            }
        }
        out
    }

    /// Lifetime values of mapped metrics as gauges at `now` (post and media
    /// insights): the first value of each.
    pub fn lifetime(
        &self,
        platform: &str,
        entity: &Entity,
        maps: &[MetricMap],
        now: DateTime<Utc>,
    ) -> Vec<Point> {
        let mut out = Vec::new();
        for insight in &self.data {
            let Some(map) = maps.iter().find(|m| m.raw == insight.name) else {
                continue;
            };
            let value = insight
                .values
                .first()
                .map(|v| &v.value)
                .or(insight.total_value.as_ref().map(|t| &t.value));
            if let Some(value) = value {
                out.extend(value_points(
                    platform,
                    map,
                    entity,
                    value,
                    PointTime::At(now),
                ));
            }
        }
        out
    }

    /// Totals over `time` of mapped metrics (`metric_type=total_value`):
    /// the total without dimensions, and each breakdown result with Meta's
    /// dimension keys and values as dimensions. `time` is a period for sums,
    /// an instant for gauges (demographics).
    pub fn totals(
        &self,
        platform: &str,
        entity: &Entity,
        maps: &[MetricMap],
        time: PointTime,
    ) -> Vec<Point> {
        let mut out = Vec::new();
        for insight in &self.data {
            let Some(map) = maps.iter().find(|m| m.raw == insight.name) else {
                continue;
            };
            let Some(total) = &insight.total_value else {
                continue;
            };
            let point = |v: f64| Point::new(platform, map.metric, map.raw, entity.clone(), v, time);
            if total.breakdowns.is_empty() {
                out.extend(number(&total.value).map(point));
            }
            for breakdown in &total.breakdowns {
                for result in &breakdown.results {
                    let Some(value) = number(&result.value) else {
                        continue;
                    };
                    let dims = breakdown
                        .dimension_keys
                        .iter()
                        .zip(&result.dimension_values);
                    out.push(dims.fold(point(value), |p, (k, v)| p.with_dimension(k, v)));
                }
            }
        }
        out
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use chrono::TimeZone;
    use tally_model::EntityKind;

    const PAGE: [MetricMap; 2] = [
        MetricMap::plain("page_post_engagements", "engagement.interactions"),
        MetricMap::keyed(
            "post_reactions_by_type_total",
            "engagement.reactions",
            "reaction",
        ),
    ];

    fn entity() -> Entity {
        Entity::new(EntityKind::Account, "123", None)
    }

    #[test]
    fn a_daily_value_counts_the_day_before_its_end_time() {
        let envelope: InsightsEnvelope = serde_json::from_str(
            r#"{"data":[{"name":"page_post_engagements","period":"day","values":[{"value":42,"end_time":"2026-06-18T07:00:00+0000"},{"value":"37","end_time":"2026-06-19T07:00:00+0000"}]},
                        {"name":"page_unasked","period":"day","values":[{"value":1,"end_time":"2026-06-18T07:00:00+0000"}]}]}"#,
        )
        .unwrap();
        let points = envelope.daily("facebook", &entity(), &PAGE);
        assert_eq!(points.len(), 2);
        assert_eq!(points[1].value, 37.0);
        assert_eq!(
            points[0].time,
            PointTime::Period {
                start: Utc.with_ymd_and_hms(2026, 6, 17, 7, 0, 0).unwrap(),
                end: Utc.with_ymd_and_hms(2026, 6, 18, 7, 0, 0).unwrap(),
            }
        );
    }

    #[test]
    fn reactions_by_type_become_a_dimension() {
        let envelope: InsightsEnvelope = serde_json::from_str(
            r#"{"data":[{"name":"post_reactions_by_type_total","period":"lifetime","values":[{"value":{"like":10,"love":2}}]}]}"#,
        )
        .unwrap();
        let now = Utc.with_ymd_and_hms(2026, 6, 20, 0, 0, 0).unwrap();
        let points = envelope.lifetime("facebook", &entity(), &PAGE, now);
        let dims: Vec<_> = points
            .iter()
            .map(|p| (p.dimensions["reaction"].as_str(), p.value))
            .collect();
        assert_eq!(dims, [("like", 10.0), ("love", 2.0)]);
    }

    #[test]
    fn breakdowns_carry_their_dimensions() {
        let envelope: InsightsEnvelope = serde_json::from_str(
            r#"{"data":[{"name":"reach","period":"day","total_value":{"value":14516883,"breakdowns":[{"dimension_keys":["media_product_type","follow_type"],
               "results":[{"dimension_values":["POST","FOLLOWER"],"value":78567},{"dimension_values":["REEL","NON_FOLLOWER"],"value":23079}]}]}}]}"#,
        )
        .unwrap();
        let maps = [MetricMap::plain("reach", "reach.reach")];
        let day = PointTime::Period {
            start: Utc.with_ymd_and_hms(2026, 6, 19, 0, 0, 0).unwrap(),
            end: Utc.with_ymd_and_hms(2026, 6, 20, 0, 0, 0).unwrap(),
        };
        let points = envelope.totals("instagram", &entity(), &maps, day);
        assert_eq!(points.len(), 2);
        assert_eq!(points[0].dimensions["media_product_type"], "POST");
        assert_eq!(points[0].dimensions["follow_type"], "FOLLOWER");
        assert_eq!(points[1].value, 23079.0);
    }
}
