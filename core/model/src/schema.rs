//! The canonical metric registry.
//!
//! Platforms call the same thing by a dozen names (`fan_count`, `subscriberCount`,
//! `followers_count`); goals and reports only work if every connector maps them to
//! one name with one unit and one meaning. This table is that contract: the host
//! refuses points that do not fit it, so a report never adds followers to dollars.

use serde::{Deserialize, Serialize};
use std::fmt;

/// How a value relates to time: a level seen at an instant, or a total over a period.
///
/// Goals depend on it: growth is computed from gauges, totals from sums.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum MetricKind {
    /// A level observed at an instant (follower count, rating).
    Gauge,
    /// A total over a period `[start, end)` (impressions per day, spend per month).
    Sum,
}

impl MetricKind {
    /// The lowercase name used in config, the store and output.
    pub fn as_str(self) -> &'static str {
        match self {
            MetricKind::Gauge => "gauge",
            MetricKind::Sum => "sum",
        }
    }
}

/// Marketing funnel stage a metric counts towards, so reports can build a funnel from any mix of platforms.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum FunnelStage {
    /// People who could have seen the business.
    Awareness,
    /// People who engaged or looked closer.
    Consideration,
    /// People who acted: leads, sales, attendance.
    Conversion,
    /// Money spent to get there.
    Cost,
}

/// The family of units a canonical metric is measured in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum UnitClass {
    /// Plain counts of things.
    Count,
    /// Durations in seconds.
    Seconds,
    /// A star rating from 1 to 5.
    Rating,
    /// Money in an ISO 4217 currency.
    Currency,
    /// A share of a whole, from 0 to 100.
    Percent,
}

/// The unit of one point's value; currencies carry their ISO 4217 code so sums never mix them.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Unit {
    /// A count of things.
    Count,
    /// Seconds of time.
    Seconds,
    /// A star rating (1 to 5).
    Rating,
    /// Money in the given ISO 4217 currency (`USD`, `EUR`).
    Currency(String),
    /// A share of a whole in percent (0 to 100), such as a group's share of
    /// viewers: never added across groups or days.
    Percent,
}

impl Unit {
    /// The unit's name as stored and printed: `count`, `seconds`, `rating` or the currency code.
    pub fn as_str(&self) -> &str {
        match self {
            Unit::Count => "count",
            Unit::Seconds => "seconds",
            Unit::Rating => "rating",
            Unit::Currency(code) => code,
            Unit::Percent => "percent",
        }
    }

    /// Parses a unit name; anything that is not `count`, `seconds`, `rating` or
    /// `percent` must be a three-letter upper-case currency code.
    pub fn parse(s: &str) -> Result<Unit, SchemaError> {
        match s {
            "count" => Ok(Unit::Count),
            "seconds" => Ok(Unit::Seconds),
            "rating" => Ok(Unit::Rating),
            "percent" => Ok(Unit::Percent),
            code if code.len() == 3 && code.bytes().all(|b| b.is_ascii_uppercase()) => {
                Ok(Unit::Currency(code.to_string()))
            }
            other => Err(SchemaError::BadUnit {
                unit: other.to_string(),
            }),
        }
    }

    /// The family this unit belongs to.
    pub fn class(&self) -> UnitClass {
        match self {
            Unit::Count => UnitClass::Count,
            Unit::Seconds => UnitClass::Seconds,
            Unit::Rating => UnitClass::Rating,
            Unit::Currency(_) => UnitClass::Currency,
            Unit::Percent => UnitClass::Percent,
        }
    }
}

impl fmt::Display for Unit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Serialize for Unit {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for Unit {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        Unit::parse(&s).map_err(serde::de::Error::custom)
    }
}

/// One row of the canonical registry.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct MetricSpec {
    /// Canonical name, `family.measure`.
    pub name: &'static str,
    /// Unit family values must be in.
    pub unit: UnitClass,
    /// Kinds a point of this metric may have (per-item engagement is a gauge, per-period a sum).
    pub kinds: &'static [MetricKind],
    /// Funnel stage, when the metric belongs to one.
    pub stage: Option<FunnelStage>,
}

use FunnelStage::*;
use MetricKind::*;

const GAUGE: &[MetricKind] = &[Gauge];
const SUM: &[MetricKind] = &[Sum];
const EITHER: &[MetricKind] = &[Gauge, Sum];

const fn spec(
    name: &'static str,
    unit: UnitClass,
    kinds: &'static [MetricKind],
    stage: Option<FunnelStage>,
) -> MetricSpec {
    MetricSpec {
        name,
        unit,
        kinds,
        stage,
    }
}

/// Every canonical metric. Extend with care: each connector README maps to these names.
pub const CANONICAL_METRICS: &[MetricSpec] = &[
    spec(
        "audience.followers",
        UnitClass::Count,
        GAUGE,
        Some(Awareness),
    ),
    spec("audience.following", UnitClass::Count, GAUGE, None),
    spec("content.posts", UnitClass::Count, EITHER, None),
    spec("reach.impressions", UnitClass::Count, SUM, Some(Awareness)),
    spec("reach.reach", UnitClass::Count, EITHER, Some(Awareness)),
    spec("reach.views", UnitClass::Count, EITHER, Some(Awareness)),
    spec(
        "reach.profile_views",
        UnitClass::Count,
        SUM,
        Some(Awareness),
    ),
    spec(
        "engagement.likes",
        UnitClass::Count,
        EITHER,
        Some(Consideration),
    ),
    spec(
        "engagement.comments",
        UnitClass::Count,
        EITHER,
        Some(Consideration),
    ),
    spec(
        "engagement.shares",
        UnitClass::Count,
        EITHER,
        Some(Consideration),
    ),
    spec(
        "engagement.saves",
        UnitClass::Count,
        EITHER,
        Some(Consideration),
    ),
    spec(
        "engagement.reactions",
        UnitClass::Count,
        EITHER,
        Some(Consideration),
    ),
    // Every interaction with a post or an account (reactions, comments,
    // shares, saves, clicks) as the platform totals it: Meta's
    // `page_post_engagements` and `total_interactions`.
    spec(
        "engagement.interactions",
        UnitClass::Count,
        EITHER,
        Some(Consideration),
    ),
    // Accounts that interacted at least once in a period (Instagram's `accounts_engaged`).
    spec(
        "audience.engaged",
        UnitClass::Count,
        SUM,
        Some(Consideration),
    ),
    // New followers and lost followers in a period, where a platform counts
    // them (Meta's `page_daily_follows_unique`, `page_daily_unfollows_unique`,
    // YouTube Analytics' `subscribersGained`, `subscribersLost`).
    spec("audience.follows", UnitClass::Count, SUM, Some(Awareness)),
    spec("audience.unfollows", UnitClass::Count, SUM, None),
    spec(
        "engagement.watch_time",
        UnitClass::Seconds,
        SUM,
        Some(Consideration),
    ),
    spec(
        "reviews.count",
        UnitClass::Count,
        GAUGE,
        Some(Consideration),
    ),
    spec(
        "reviews.rating",
        UnitClass::Rating,
        GAUGE,
        Some(Consideration),
    ),
    spec("reviews.new", UnitClass::Count, SUM, Some(Consideration)),
    spec(
        "traffic.sessions",
        UnitClass::Count,
        SUM,
        Some(Consideration),
    ),
    spec("traffic.users", UnitClass::Count, SUM, Some(Consideration)),
    spec(
        "traffic.new_users",
        UnitClass::Count,
        SUM,
        Some(Consideration),
    ),
    spec(
        "traffic.clicks",
        UnitClass::Count,
        EITHER,
        Some(Consideration),
    ),
    spec("conversions.leads", UnitClass::Count, SUM, Some(Conversion)),
    spec("conversions.count", UnitClass::Count, SUM, Some(Conversion)),
    spec(
        "conversions.revenue",
        UnitClass::Currency,
        SUM,
        Some(Conversion),
    ),
    spec("cost.spend", UnitClass::Currency, SUM, Some(Cost)),
    spec(
        "events.attendees",
        UnitClass::Count,
        GAUGE,
        Some(Conversion),
    ),
    // What people did on a business listing (Google Business Profile): calls,
    // direction requests, bookings and message threads started from it.
    spec("actions.calls", UnitClass::Count, SUM, Some(Conversion)),
    spec(
        "actions.directions",
        UnitClass::Count,
        SUM,
        Some(Conversion),
    ),
    spec("actions.bookings", UnitClass::Count, SUM, Some(Conversion)),
    spec(
        "actions.conversations",
        UnitClass::Count,
        SUM,
        Some(Conversion),
    ),
    // Who watches, as a share of a channel's viewers per group: YouTube
    // Analytics' `viewerPercentage` by `age_group` and `gender` over a window.
    // A gauge in percent; the groups of one reading add up to about 100.
    spec(
        "audience.viewer_share",
        UnitClass::Percent,
        GAUGE,
        Some(Awareness),
    ),
    // Eventbrite: what an event offered and sold, beside who came
    // (`events.attendees`).
    spec("events.capacity", UnitClass::Count, GAUGE, None),
    spec(
        "events.tickets_sold",
        UnitClass::Count,
        GAUGE,
        Some(Conversion),
    ),
    // Survey answers (SurveyMonkey): a survey's running total is a gauge,
    // responses per day a sum; a `source` dimension carries the answer to
    // "How did you hear about us?", closing the loop back to the channels.
    spec(
        "surveys.responses",
        UnitClass::Count,
        EITHER,
        Some(Conversion),
    ),
    // Tally's own pipeline health, written by `tally run` per source and pull,
    // so goals and reports can track data freshness like any other metric.
    spec("pipeline.pulls", UnitClass::Count, SUM, None),
    spec("pipeline.failures", UnitClass::Count, SUM, None),
    spec("pipeline.requests", UnitClass::Count, SUM, None),
    spec("pipeline.retries", UnitClass::Count, SUM, None),
    spec("pipeline.throttled", UnitClass::Count, SUM, None),
    spec("pipeline.points", UnitClass::Count, SUM, None),
];

/// Looks a canonical metric up by name.
pub fn lookup(name: &str) -> Option<&'static MetricSpec> {
    CANONICAL_METRICS.iter().find(|m| m.name == name)
}

/// Why a point or a metric name does not fit the canonical schema.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum SchemaError {
    /// The metric is not in the registry.
    #[error("metric `{metric}` is not a canonical metric (see `tally connectors` or DESIGN's metric table){hint}")]
    UnknownMetric {
        /// The name that was emitted.
        metric: String,
        /// A suggestion of the nearest canonical name, prefixed for display.
        hint: String,
    },
    /// The unit does not belong to the metric's unit family.
    #[error("metric `{metric}` is measured in {expected:?} units, not `{unit}`")]
    WrongUnit {
        /// The metric.
        metric: String,
        /// The unit the point carried.
        unit: String,
        /// The family the registry expects.
        expected: UnitClass,
    },
    /// The kind (gauge/sum) is not allowed for the metric.
    #[error("metric `{metric}` cannot be a {kind}")]
    WrongKind {
        /// The metric.
        metric: String,
        /// The kind the point carried.
        kind: &'static str,
    },
    /// A gauge carries a period or a sum an instant.
    #[error("metric `{metric}`: a {kind} needs {needs}")]
    WrongTime {
        /// The metric.
        metric: String,
        /// The kind the point carried.
        kind: &'static str,
        /// What time it needs.
        needs: &'static str,
    },
    /// The period's end is not after its start.
    #[error("metric `{metric}`: period end {end} is not after its start {start}")]
    EmptyPeriod {
        /// The metric.
        metric: String,
        /// Period start, RFC 3339.
        start: String,
        /// Period end, RFC 3339.
        end: String,
    },
    /// The value is NaN or infinite, or negative where it cannot be.
    #[error("metric `{metric}`: value {value} is not a valid {unit} value")]
    BadValue {
        /// The metric.
        metric: String,
        /// The value as printed.
        value: String,
        /// The unit.
        unit: String,
    },
    /// A unit name that is neither a known unit nor an ISO 4217 code.
    #[error(
        "unit `{unit}` is not one of count, seconds, rating, percent or a 3-letter currency code"
    )]
    BadUnit {
        /// The unit name.
        unit: String,
    },
    /// A text field is longer than the store keeps (see [`MAX_ID_CHARS`], [`MAX_TEXT_CHARS`]).
    #[error("{field} `{start}` is {chars} characters long, more than the {max} Tally stores; shorten it")]
    TooLong {
        /// Which field: "entity id", "dimension `country` value".
        field: String,
        /// Its first characters, enough to find it.
        start: String,
        /// Its length in characters.
        chars: usize,
        /// The most the field may hold.
        max: usize,
    },
}

/// The longest id, platform, metric, raw name or dimension key a point may
/// carry. Every id a platform hands out fits many times over; the bound keeps
/// a malformed import (a whole document in an id column) out of the natural
/// key, its index and every table printed from it.
pub const MAX_ID_CHARS: usize = 512;

/// The longest entity name or dimension value a point may carry: room for a
/// title or a URL, not for a whole post.
pub const MAX_TEXT_CHARS: usize = 1024;

/// [`SchemaError::TooLong`] when `text` has more than `max` characters.
pub fn check_length(
    field: impl FnOnce() -> String,
    text: &str,
    max: usize,
) -> Result<(), SchemaError> {
    // Byte length bounds the character count from above, so most texts are
    // cleared without counting.
    if text.len() <= max {
        return Ok(());
    }
    let chars = text.chars().count();
    if chars <= max {
        return Ok(());
    }
    let mut start: String = text.chars().take(40).collect();
    start.push('…');
    Err(SchemaError::TooLong {
        field: field(),
        start,
        chars,
        max,
    })
}

/// Suggests the closest canonical metric name to a misspelt one, for error messages.
pub fn nearest_metric(name: &str) -> Option<&'static str> {
    CANONICAL_METRICS
        .iter()
        .map(|m| (edit_distance(name, m.name), m.name))
        .filter(|(d, _)| *d <= 4)
        .min_by_key(|(d, _)| *d)
        .map(|(_, n)| n)
}

/// Levenshtein distance, used to suggest names in error messages.
pub fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut cur = vec![i + 1; b.len() + 1];
        for (j, cb) in b.iter().enumerate() {
            let sub = prev[j] + usize::from(ca != *cb);
            cur[j + 1] = sub.min(prev[j + 1] + 1).min(cur[j] + 1);
        }
        prev = cur;
    }
    prev[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn registry_names_are_unique_and_dotted() {
        for (i, m) in CANONICAL_METRICS.iter().enumerate() {
            assert!(m.name.contains('.'), "{}", m.name);
            assert!(CANONICAL_METRICS[i + 1..].iter().all(|o| o.name != m.name));
        }
    }

    #[test]
    fn units_parse_and_reject() {
        assert_eq!(Unit::parse("USD").unwrap(), Unit::Currency("USD".into()));
        assert_eq!(Unit::parse("count").unwrap(), Unit::Count);
        assert!(Unit::parse("usd").is_err());
        assert!(Unit::parse("dollars").is_err());
    }

    #[test]
    fn misspelt_metric_gets_a_suggestion() {
        assert_eq!(
            nearest_metric("audience.follower"),
            Some("audience.followers")
        );
        assert_eq!(nearest_metric("zzz"), None);
    }
}
