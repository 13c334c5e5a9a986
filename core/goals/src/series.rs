//! Stored points grouped into series (one source, entity and metric each),
//! with money converted and provisional values marked.
//!
//! Goals and reports count totals, not breakdowns: a point with dimensions
//! (followers by country) is a slice of a total that is stored beside it, so
//! only points without dimensions are grouped here; segments read the
//! breakdowns. And where a source reports a metric for the whole account as
//! well as per post or video (YouTube views), only the account's series is
//! kept, so nothing is counted twice.

use crate::roi::money::{Money, UnitError};
use chrono::{DateTime, Duration, Utc};
use std::collections::{BTreeMap, HashMap, HashSet};
use tally_config::Config;
use tally_model::{Entity, EntityKind, MetricKind, PointTime, SmolStr, Unit};
use tally_store::{StoredPoint, TotalRow};

/// One value of a series: an instant (`start == end`, a gauge) or a period (a sum).
#[derive(Debug, Clone, PartialEq)]
pub struct Sample {
    /// The instant of a gauge, the start of a sum.
    pub start: DateTime<Utc>,
    /// Equal to `start` for a gauge; the exclusive end of a sum.
    pub end: DateTime<Utc>,
    /// The value, money already in the client's currency.
    pub value: f64,
    /// Whether the source may still restate it.
    pub provisional: bool,
}

/// The values of one metric of one entity of one source, oldest first.
#[derive(Debug, Clone, PartialEq)]
pub struct Series {
    /// The source id (`[[costs]]` for configured costs).
    pub source: String,
    /// The platform.
    pub platform: String,
    /// What is measured.
    pub entity: Entity,
    /// The canonical metric.
    pub metric: String,
    /// Gauge or sum.
    pub kind: MetricKind,
    /// The unit after conversion.
    pub unit: Unit,
    /// The values, ordered by start.
    pub samples: Vec<Sample>,
}

impl Series {
    /// Whether the entity is one item among many (a post, a video, an event)
    /// rather than the whole account.
    pub fn is_item(&self) -> bool {
        matches!(
            self.entity.kind,
            EntityKind::Post | EntityKind::Video | EntityKind::Event
        )
    }

    /// A short name for notes: the source, plus the item when it is one.
    pub fn label(&self) -> String {
        if self.is_item() {
            format!(
                "{} {} {}",
                self.source,
                self.entity.kind.as_str(),
                self.entity.id
            )
        } else {
            self.source.clone()
        }
    }
}

/// How long each source's numbers may still be restated.
#[derive(Debug, Clone, Default)]
pub struct Settlement {
    days: HashMap<String, u32>,
}

impl Settlement {
    /// The windows of the configured sources (`settle_days`); imported and
    /// unknown sources are final.
    pub fn from_config(config: &Config) -> Settlement {
        Settlement {
            days: config
                .sources
                .iter()
                .filter(|s| s.settle_days > 0)
                .map(|s| (s.id.clone(), s.settle_days))
                .collect(),
        }
    }

    /// The window of `source`, in days.
    pub fn days(&self, source: &str) -> u32 {
        self.days.get(source).copied().unwrap_or(0)
    }

    /// Whether a value of `source` that holds until `end` may still change at `at`.
    pub fn provisional(&self, source: &str, end: DateTime<Utc>, at: DateTime<Utc>) -> bool {
        let days = self.days(source);
        days > 0 && at < end + Duration::days(i64::from(days))
    }
}

/// `what`, prefixed by `context` when there is one, for error messages.
pub fn within(context: &str, what: &str) -> String {
    if context.is_empty() {
        what.to_string()
    } else {
        format!("{context}: {what}")
    }
}

/// Groups rows into series, money converted, items dropped where the
/// account-level series of the same source and metric exists.
pub fn build(
    rows: Vec<TotalRow>,
    money: &mut Money,
    settlement: &Settlement,
    at: DateTime<Utc>,
    context: &str,
) -> Result<Vec<Series>, UnitError> {
    Ok(totals(build_all(rows, money, settlement, at, context)?))
}

/// The series that add up to totals: items (posts, videos) are left out where
/// the same source reports the metric for the whole account.
pub fn totals(series: Vec<Series>) -> Vec<Series> {
    let with_account: HashSet<(String, String)> = series
        .iter()
        .filter(|s| !s.is_item())
        .map(|s| (s.source.clone(), s.metric.clone()))
        .collect();
    series
        .into_iter()
        .filter(|s| !s.is_item() || !with_account.contains(&(s.source.clone(), s.metric.clone())))
        .collect()
}

/// A stored point without dimensions as a row to add up (breakdowns are
/// `None`: they are not totals).
pub fn row_of(sp: StoredPoint) -> Option<TotalRow> {
    let p = sp.point;
    if !p.dimensions.is_empty() {
        return None;
    }
    let (start, end) = match p.time {
        PointTime::At(t) => (t, t),
        PointTime::Period { start, end } => (start, end),
    };
    Some(TotalRow {
        source: sp.source,
        platform: p.platform.into(),
        entity: p.entity,
        metric: p.metric.into(),
        kind: p.kind,
        unit: p.unit,
        value: p.value,
        start,
        end,
    })
}

/// Groups rows into series with money converted, items kept beside their
/// account's totals, as top posts need them.
pub fn build_all(
    rows: Vec<TotalRow>,
    money: &mut Money,
    settlement: &Settlement,
    at: DateTime<Utc>,
    context: &str,
) -> Result<Vec<Series>, UnitError> {
    type Key = (String, EntityKind, SmolStr, String, &'static str);
    let mut grouped: BTreeMap<Key, Series> = BTreeMap::new();
    for r in rows {
        let q = money.convert(r.value, &r.unit, &within(context, &r.metric))?;
        let key = (
            r.source.clone(),
            r.entity.kind,
            r.entity.id.clone(),
            r.metric.clone(),
            r.kind.as_str(),
        );
        let provisional = settlement.provisional(&r.source, r.end, at);
        let series = grouped.entry(key).or_insert_with(|| Series {
            source: r.source,
            platform: r.platform,
            entity: r.entity.clone(),
            metric: r.metric,
            kind: r.kind,
            unit: q.unit.clone(),
            samples: Vec::new(),
        });
        if r.entity.name.is_some() {
            series.entity.name = r.entity.name;
        }
        series.samples.push(Sample {
            start: r.start,
            end: r.end,
            value: q.value,
            provisional,
        });
    }
    let mut out: Vec<Series> = grouped.into_values().collect();
    for s in &mut out {
        s.samples.sort_by_key(|x| (x.start, x.end));
    }
    Ok(out)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use chrono::TimeZone;
    use tally_model::Point;

    fn stored(source: &str, kind: EntityKind, id: &str, value: f64) -> StoredPoint {
        let t = Utc.with_ymd_and_hms(2026, 6, 1, 0, 0, 0).unwrap();
        StoredPoint {
            source: source.into(),
            point: Point::new(
                "youtube",
                "reach.views",
                "viewCount",
                Entity::new(kind, id, None),
                value,
                PointTime::At(t),
            ),
            observed_at: t,
        }
    }

    #[test]
    fn breakdowns_and_items_beside_an_account_total_are_left_out() {
        let mut by_country = stored("yt", EntityKind::Account, "UC1", 5.0);
        by_country
            .point
            .dimensions
            .insert("country".into(), "US".into());
        let points = vec![
            stored("yt", EntityKind::Account, "UC1", 100.0),
            stored("yt", EntityKind::Video, "v1", 40.0),
            by_country,
            stored("other", EntityKind::Video, "v2", 7.0),
        ];
        let mut money = Money::for_client(&tally_config::ClientConfig {
            id: "c".into(),
            name: "c".into(),
            timezone: chrono_tz::Tz::UTC,
            currency: None,
            value_per_lead: None,
            value_per_conversion: None,
            rates: BTreeMap::new(),
        });
        let at = Utc.with_ymd_and_hms(2026, 6, 2, 0, 0, 0).unwrap();
        let rows = points.into_iter().filter_map(row_of).collect();
        let series = build(rows, &mut money, &Settlement::default(), at, "test").unwrap();
        let labels: Vec<String> = series.iter().map(Series::label).collect();
        assert_eq!(labels, ["other video v2", "yt"]);
    }
}
