//! Turning the text fields of one imported row into a validated [`Point`].
//!
//! CSV and JSON Lines differ only in how fields are written down; the
//! meaning of each field, the defaults taken from the metric registry, and
//! the validation (the same [`Point::validate`] a connector's output passes)
//! live here once.

use chrono::{DateTime, Days, NaiveDate, Utc};
use chrono_tz::Tz;
use std::collections::BTreeMap;
use tally_config::time::local_midnight;
use tally_model::{schema, Entity, EntityKind, MetricKind, Point, PointTime, Unit, UnitClass};

/// The fields of a row, as written.
#[derive(Debug, Clone, Default)]
pub struct Fields<'a> {
    /// Source id.
    pub source: &'a str,
    /// Platform name.
    pub platform: &'a str,
    /// `kind:id`, e.g. `event:open-day`.
    pub entity: &'a str,
    /// Display name of the entity, optional.
    pub entity_name: Option<&'a str>,
    /// Canonical metric.
    pub metric: &'a str,
    /// The number.
    pub value: &'a str,
    /// `count`, `seconds`, `rating` or a currency code; empty takes the registry's.
    pub unit: &'a str,
    /// `gauge` or `sum`; empty takes the registry's when the metric has one kind.
    pub kind: &'a str,
    /// Instant of a gauge (RFC 3339, or a date meaning local midnight), or
    /// the day a sum covers.
    pub at: &'a str,
    /// Start of a sum's period.
    pub period_start: &'a str,
    /// End (exclusive) of a sum's period.
    pub period_end: &'a str,
    /// The name the figure had where it came from; default: the metric.
    pub raw_name: Option<&'a str>,
    /// Breakdown columns with a value.
    pub dimensions: BTreeMap<String, String>,
}

/// A time: RFC 3339, or a date meaning local midnight in `tz`.
fn instant(field: &str, text: &str, tz: Tz) -> Result<(DateTime<Utc>, Option<NaiveDate>), String> {
    if let Ok(t) = DateTime::parse_from_rfc3339(text) {
        return Ok((t.with_timezone(&Utc), None));
    }
    NaiveDate::parse_from_str(text, "%Y-%m-%d")
        .map(|d| (local_midnight(d, tz), Some(d)))
        .map_err(|_| {
            format!("`{field}` is `{text}`, neither a date (2026-06-05) nor an RFC 3339 time (2026-06-05T18:00:00Z)")
        })
}

/// Checks a source id the way `[[sources]] id` is checked.
pub fn check_source_id(id: &str) -> Result<(), String> {
    tally_model::schema::check_length(|| "source".into(), id, tally_model::schema::MAX_ID_CHARS)
        .map_err(|e| e.to_string())?;
    if id.is_empty()
        || !id
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
    {
        return Err(format!(
            "source `{id}` must be non-empty and use only letters, digits, `-`, `_` and `.`"
        ));
    }
    Ok(())
}

/// Parses `kind:id`.
pub fn parse_entity(text: &str, name: Option<&str>) -> Result<Entity, String> {
    let (kind, id) = text.split_once(':').ok_or_else(|| {
        format!("entity `{text}` must be written kind:id, e.g. event:open-day or account:door")
    })?;
    let kind = EntityKind::parse(kind).ok_or_else(|| {
        format!("entity kind `{kind}` is not one of account, post, video, location, property, event, campaign")
    })?;
    if id.is_empty() {
        return Err(format!("entity `{text}` has no id after `:`"));
    }
    Ok(Entity::new(
        kind,
        id,
        name.filter(|n| !n.is_empty()).map(str::to_string),
    ))
}

/// Builds and validates the point a row describes; `tz` is the source's
/// client's time zone, for dates.
pub fn to_point(f: &Fields<'_>, tz: Tz) -> Result<(String, Point), String> {
    check_source_id(f.source)?;
    if f.platform.is_empty() {
        return Err(
            "`platform` is empty; write where the figure comes from (e.g. offline, survey, sheet)"
                .into(),
        );
    }
    let entity = parse_entity(f.entity, f.entity_name)?;
    let spec = schema::lookup(f.metric).ok_or_else(|| {
        let hint = schema::nearest_metric(f.metric)
            .map(|n| format!("; did you mean `{n}`?"))
            .unwrap_or_default();
        format!("`{}` is not a canonical metric{hint}", f.metric)
    })?;
    let value: f64 = f
        .value
        .trim()
        .parse()
        .map_err(|_| format!("value `{}` is not a number", f.value))?;
    let unit = match f.unit {
        "" => match spec.unit {
            UnitClass::Count => Unit::Count,
            UnitClass::Seconds => Unit::Seconds,
            UnitClass::Rating => Unit::Rating,
            UnitClass::Percent => Unit::Percent,
            UnitClass::Currency => {
                return Err(format!(
                    "`{}` is money: write its currency (USD, EUR, ...) in `unit`",
                    f.metric
                ))
            }
        },
        u => Unit::parse(u).map_err(|e| e.to_string())?,
    };
    let kind = match f.kind {
        "gauge" => MetricKind::Gauge,
        "sum" => MetricKind::Sum,
        "" if spec.kinds.len() == 1 => spec.kinds[0],
        "" => {
            return Err(format!(
                "`{}` can be a gauge or a sum; write which in `kind`",
                f.metric
            ))
        }
        other => return Err(format!("kind `{other}` is neither gauge nor sum")),
    };
    let time = match (f.at, f.period_start, f.period_end) {
        (at, "", "") if !at.is_empty() => {
            let (t, date) = instant("at", at, tz)?;
            match (kind, date) {
                (MetricKind::Sum, Some(d)) => PointTime::Period {
                    start: t,
                    end: local_midnight(d + Days::new(1), tz),
                },
                _ => PointTime::At(t),
            }
        }
        ("", start, end) if !start.is_empty() && !end.is_empty() => PointTime::Period {
            start: instant("period_start", start, tz)?.0,
            end: instant("period_end", end, tz)?.0,
        },
        ("", "", "") => return Err(
            "no time: write `at` (a gauge, or the day of a sum) or `period_start` and `period_end`"
                .into(),
        ),
        _ => {
            return Err(
                "write either `at` or both `period_start` and `period_end`, not a mix".into(),
            )
        }
    };
    let point = Point {
        platform: f.platform.into(),
        entity,
        metric: f.metric.into(),
        value,
        unit,
        kind,
        time,
        dimensions: f.dimensions.clone(),
        raw_name: f
            .raw_name
            .filter(|r| !r.is_empty())
            .unwrap_or(f.metric)
            .into(),
    };
    point.validate().map_err(|e| e.to_string())?;
    Ok((f.source.to_string(), point))
}
