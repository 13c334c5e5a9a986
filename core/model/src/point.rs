//! One observation in the canonical schema.

use crate::schema::{self, MetricKind, SchemaError, Unit, UnitClass};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use smol_str::SmolStr;
use std::collections::BTreeMap;

/// What kind of thing a point is about; reports group and rank by it (top posts, per location).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum EntityKind {
    /// A profile, channel, page or organisation.
    Account,
    /// A post, status, tweet or pin.
    Post,
    /// A video.
    Video,
    /// A physical business location (reviews).
    Location,
    /// An analytics property or site.
    Property,
    /// An event people attend.
    Event,
    /// An ad campaign.
    Campaign,
}

impl EntityKind {
    /// The lowercase name used in the store and output.
    pub fn as_str(self) -> &'static str {
        match self {
            EntityKind::Account => "account",
            EntityKind::Post => "post",
            EntityKind::Video => "video",
            EntityKind::Location => "location",
            EntityKind::Property => "property",
            EntityKind::Event => "event",
            EntityKind::Campaign => "campaign",
        }
    }

    /// Parses the lowercase name.
    pub fn parse(s: &str) -> Option<EntityKind> {
        Some(match s {
            "account" => EntityKind::Account,
            "post" => EntityKind::Post,
            "video" => EntityKind::Video,
            "location" => EntityKind::Location,
            "property" => EntityKind::Property,
            "event" => EntityKind::Event,
            "campaign" => EntityKind::Campaign,
            _ => return None,
        })
    }
}

/// The thing a point measures, identified by the platform's own id.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Entity {
    /// Kind of thing.
    pub kind: EntityKind,
    /// The platform's id (channel id, status id); stable across pulls, part of the natural key.
    pub id: SmolStr,
    /// A human name for reports (channel title, first words of a post).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<SmolStr>,
}

impl Entity {
    /// An entity with a display name. A connector makes one per account or post
    /// and clones it into each of that thing's points, which costs no allocation.
    pub fn new(kind: EntityKind, id: impl Into<SmolStr>, name: Option<String>) -> Entity {
        Entity {
            kind,
            id: id.into(),
            name: name.map(SmolStr::from),
        }
    }
}

/// A value as a platform sends it, as a point's value: `None` when it is no
/// measurement (absent, or a negative count from a broken counter, which the
/// schema would refuse anyway).
pub trait Measured {
    /// The value, or `None` when there is none to store.
    fn measured(self) -> Option<f64>;
}

impl Measured for u64 {
    fn measured(self) -> Option<f64> {
        Some(self as f64)
    }
}

impl Measured for i64 {
    fn measured(self) -> Option<f64> {
        (self >= 0).then_some(self as f64)
    }
}

impl Measured for f64 {
    fn measured(self) -> Option<f64> {
        Some(self)
    }
}

impl<T: Measured> Measured for Option<T> {
    fn measured(self) -> Option<f64> {
        self.and_then(Measured::measured)
    }
}

/// A text as an entity's display name: on one line (runs of whitespace become
/// one space), cut to `max_chars` characters with `…` when longer; `None` when
/// there is no text. Post captions and status texts name posts in reports.
pub fn short_name(text: &str, max_chars: usize) -> Option<String> {
    let line = text.split_whitespace().collect::<Vec<_>>().join(" ");
    if line.is_empty() {
        return None;
    }
    if line.chars().count() <= max_chars {
        return Some(line);
    }
    let cut: String = line.chars().take(max_chars).collect();
    Some(format!("{}…", cut.trim_end()))
}

/// When a value holds: at an instant (gauges) or over `[start, end)` (sums).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum PointTime {
    /// The instant a level was observed.
    At(DateTime<Utc>),
    /// A half-open period a total covers.
    Period {
        /// Inclusive start.
        start: DateTime<Utc>,
        /// Exclusive end.
        end: DateTime<Utc>,
    },
}

/// One normalized observation, as a connector emits it. The host adds the source id.
///
/// The text fields are [`SmolStr`]: platform, metric and raw names are short and
/// stored inline, and an entity's id and name are shared by all of its points,
/// so a pull of thousands of points makes few allocations and a clone makes none.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Point {
    /// Platform name (`youtube`); the connector's platform.
    pub platform: SmolStr,
    /// What is measured.
    pub entity: Entity,
    /// Canonical metric name (see [`crate::CANONICAL_METRICS`]).
    pub metric: SmolStr,
    /// The value.
    pub value: f64,
    /// Unit of the value.
    pub unit: Unit,
    /// Gauge or sum.
    pub kind: MetricKind,
    /// When it holds.
    pub time: PointTime,
    /// Ordered breakdown (country, age, campaign, ...); part of the natural key.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub dimensions: BTreeMap<String, String>,
    /// The platform's own field name (`subscriberCount`), kept for provenance.
    pub raw_name: SmolStr,
}

impl Point {
    /// One gauge at `now` per `(metric, raw name, value)` of one entity, in
    /// order; a value that is no measurement (see [`Measured`]: a count the
    /// platform hides or does not send) gives no point, because absent is not zero.
    pub fn gauges<'a, V: Measured>(
        platform: &str,
        entity: &Entity,
        now: DateTime<Utc>,
        values: impl IntoIterator<Item = (&'a str, &'a str, V)>,
    ) -> Vec<Point> {
        values
            .into_iter()
            .filter_map(|(metric, raw, value)| {
                let value = value.measured()?;
                Some(Point::new(
                    platform,
                    metric,
                    raw,
                    entity.clone(),
                    value,
                    PointTime::At(now),
                ))
            })
            .collect()
    }

    /// A point whose unit comes from the registry and whose kind follows its time
    /// (an instant makes a gauge, a period a sum). Validation happens in the host.
    pub fn new(
        platform: &str,
        metric: &str,
        raw_name: &str,
        entity: Entity,
        value: f64,
        time: PointTime,
    ) -> Point {
        let unit = match schema::lookup(metric).map(|m| m.unit) {
            Some(UnitClass::Seconds) => Unit::Seconds,
            Some(UnitClass::Rating) => Unit::Rating,
            Some(UnitClass::Percent) => Unit::Percent,
            _ => Unit::Count,
        };
        let kind = match time {
            PointTime::At(_) => MetricKind::Gauge,
            PointTime::Period { .. } => MetricKind::Sum,
        };
        Point {
            platform: SmolStr::new(platform),
            entity,
            metric: SmolStr::new(metric),
            value,
            unit,
            kind,
            time,
            dimensions: BTreeMap::new(),
            raw_name: SmolStr::new(raw_name),
        }
    }

    /// Sets the unit (needed for currencies).
    pub fn with_unit(mut self, unit: Unit) -> Point {
        self.unit = unit;
        self
    }

    /// Adds one dimension.
    pub fn with_dimension(mut self, key: &str, value: &str) -> Point {
        self.dimensions.insert(key.to_string(), value.to_string());
        self
    }

    /// Checks the point against the canonical registry: known metric, unit of the
    /// right family, allowed kind, a time that fits the kind, a finite value.
    pub fn validate(&self) -> Result<(), SchemaError> {
        self.check_lengths()?;
        let metric = || self.metric.to_string();
        let spec = schema::lookup(&self.metric).ok_or_else(|| SchemaError::UnknownMetric {
            metric: metric(),
            hint: schema::nearest_metric(&self.metric)
                .map(|n| format!("; did you mean `{n}`?"))
                .unwrap_or_default(),
        })?;
        if self.unit.class() != spec.unit {
            return Err(SchemaError::WrongUnit {
                metric: metric(),
                unit: self.unit.to_string(),
                expected: spec.unit,
            });
        }
        if !spec.kinds.contains(&self.kind) {
            return Err(SchemaError::WrongKind {
                metric: metric(),
                kind: self.kind.as_str(),
            });
        }
        match (self.kind, self.time) {
            (MetricKind::Gauge, PointTime::Period { .. }) => {
                return Err(SchemaError::WrongTime {
                    metric: metric(),
                    kind: "gauge",
                    needs: "an instant (`at`)",
                })
            }
            (MetricKind::Sum, PointTime::At(_)) => {
                return Err(SchemaError::WrongTime {
                    metric: metric(),
                    kind: "sum",
                    needs: "a period (`start`, `end`)",
                })
            }
            (_, PointTime::Period { start, end }) if end <= start => {
                return Err(SchemaError::EmptyPeriod {
                    metric: metric(),
                    start: start.to_rfc3339(),
                    end: end.to_rfc3339(),
                })
            }
            _ => {}
        }
        if !self.value.is_finite() || self.value < 0.0 {
            return Err(SchemaError::BadValue {
                metric: metric(),
                value: self.value.to_string(),
                unit: self.unit.to_string(),
            });
        }
        let bounded = match self.unit {
            Unit::Rating => !(0.0..=5.0).contains(&self.value),
            Unit::Percent => !(0.0..=100.0).contains(&self.value),
            _ => false,
        };
        if bounded {
            return Err(SchemaError::BadValue {
                metric: metric(),
                value: self.value.to_string(),
                unit: self.unit.to_string(),
            });
        }
        Ok(())
    }

    /// Every text field within the bounds the store keeps.
    fn check_lengths(&self) -> Result<(), SchemaError> {
        use schema::{check_length, MAX_ID_CHARS, MAX_TEXT_CHARS};
        check_length(|| "platform".into(), &self.platform, MAX_ID_CHARS)?;
        check_length(|| "metric".into(), &self.metric, MAX_ID_CHARS)?;
        check_length(|| "raw name".into(), &self.raw_name, MAX_ID_CHARS)?;
        check_length(|| "entity id".into(), &self.entity.id, MAX_ID_CHARS)?;
        if let Some(name) = &self.entity.name {
            check_length(|| "entity name".into(), name, MAX_TEXT_CHARS)?;
        }
        for (key, value) in &self.dimensions {
            check_length(|| "dimension name".into(), key, MAX_ID_CHARS)?;
            check_length(|| format!("dimension `{key}` value"), value, MAX_TEXT_CHARS)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn at() -> PointTime {
        PointTime::At(Utc.with_ymd_and_hms(2026, 6, 1, 0, 0, 0).unwrap())
    }

    fn account() -> Entity {
        Entity::new(EntityKind::Account, "UC1", None)
    }

    #[test]
    fn a_registry_gauge_validates() {
        let p = Point::new(
            "youtube",
            "audience.followers",
            "subscriberCount",
            account(),
            10.0,
            at(),
        );
        assert_eq!(p.validate(), Ok(()));
    }

    #[test]
    fn unknown_metric_names_the_metric_and_suggests() {
        let p = Point::new("youtube", "audience.follower", "x", account(), 1.0, at());
        let e = p.validate().unwrap_err().to_string();
        assert!(
            e.contains("audience.follower") && e.contains("did you mean `audience.followers`"),
            "{e}"
        );
    }

    #[test]
    fn wrong_unit_wrong_kind_and_nan_are_refused() {
        let p = Point::new("y", "cost.spend", "spend", account(), 1.0, at());
        assert!(matches!(p.validate(), Err(SchemaError::WrongUnit { .. })));
        let p = Point::new("y", "reach.impressions", "i", account(), 1.0, at());
        assert!(matches!(p.validate(), Err(SchemaError::WrongKind { .. })));
        let p = Point::new("y", "audience.followers", "f", account(), f64::NAN, at());
        assert!(matches!(p.validate(), Err(SchemaError::BadValue { .. })));
    }

    #[test]
    fn a_viewer_share_is_in_percent_and_stays_within_0_and_100() {
        let share = |value| {
            Point::new(
                "youtube",
                "audience.viewer_share",
                "viewerPercentage",
                account(),
                value,
                at(),
            )
            .with_dimension("age_group", "25-34")
            .with_dimension("gender", "female")
        };
        assert_eq!(share(12.5).unit, Unit::Percent);
        assert_eq!(share(12.5).validate(), Ok(()));
        assert_eq!(share(100.0).validate(), Ok(()));
        assert_eq!(
            share(100.5).validate().map_err(|e| e.to_string()),
            Err("metric `audience.viewer_share`: value 100.5 is not a valid percent value".into())
        );
        assert_eq!(Unit::parse("percent"), Ok(Unit::Percent));
        assert_eq!(Unit::Percent.to_string(), "percent");
    }

    #[test]
    fn ids_names_and_dimension_values_have_a_bounded_length() {
        let long = "é".repeat(crate::schema::MAX_ID_CHARS + 1);
        let entity = Entity::new(EntityKind::Post, long.as_str(), None);
        let p = Point::new("y", "audience.followers", "f", entity, 1.0, at());
        assert_eq!(
            p.validate().map_err(|e| e.to_string()),
            Err(format!(
                "entity id `{}…` is 513 characters long, more than the 512 Tally stores; shorten it",
                "é".repeat(40)
            ))
        );
        // Exactly at the bound (in characters, not bytes) is fine.
        let at_bound = "é".repeat(crate::schema::MAX_ID_CHARS);
        let entity = Entity::new(EntityKind::Post, at_bound.as_str(), Some(at_bound.clone()));
        let p = Point::new("y", "audience.followers", "f", entity, 1.0, at())
            .with_dimension("country", &at_bound);
        assert_eq!(p.validate(), Ok(()));
        let p = p.with_dimension("campaign", &"x".repeat(crate::schema::MAX_TEXT_CHARS + 1));
        assert!(matches!(
            p.validate(),
            Err(SchemaError::TooLong { field, max: 1024, .. }) if field == "dimension `campaign` value"
        ));
    }

    #[test]
    fn short_names_are_one_line_and_cut() {
        let long = format!("{}\n{}", "a".repeat(50), "b".repeat(50));
        let name = short_name(&long, 60).unwrap();
        assert_eq!(name, format!("{} {}…", "a".repeat(50), "b".repeat(9)));
        assert_eq!(
            short_name("  two\t words ", 60).as_deref(),
            Some("two words")
        );
        assert_eq!(
            short_name(&format!("{} b", "a".repeat(59)), 60).unwrap(),
            format!("{}…", "a".repeat(59))
        );
        assert_eq!(short_name(" \n ", 60), None);
    }
}
