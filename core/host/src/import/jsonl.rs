//! JSON Lines imports: one point per line in the metric schema, plus its
//! source, as `tally query --format json` and connectors describe points:
//!
//! ```json
//! {"source":"door","platform":"offline","entity":{"kind":"event","id":"open-day"},
//!  "metric":"events.attendees","value":120,"unit":"count","kind":"gauge",
//!  "time":{"at":"2026-06-05T18:00:00Z"},"dimensions":{},"raw_name":"door count"}
//! ```
//!
//! `unit`, `kind`, `dimensions` and `raw_name` may be left out; blank lines
//! are skipped.

use super::{Collected, ImportError, Row};
use serde::Deserialize;
use std::collections::BTreeMap;
use tally_model::{schema, Entity, MetricKind, Point, PointTime, Unit, UnitClass};

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Line {
    source: String,
    platform: String,
    entity: Entity,
    metric: String,
    value: f64,
    #[serde(default)]
    unit: Option<Unit>,
    #[serde(default)]
    kind: Option<MetricKind>,
    time: PointTime,
    #[serde(default)]
    dimensions: BTreeMap<String, String>,
    #[serde(default)]
    raw_name: Option<String>,
}

fn to_row(line: Line) -> Result<(String, Point), String> {
    super::row::check_source_id(&line.source)?;
    if line.platform.is_empty() {
        return Err("`platform` is empty".into());
    }
    let spec = schema::lookup(&line.metric);
    let unit = match (line.unit, spec.map(|s| s.unit)) {
        (Some(u), _) => u,
        (None, Some(UnitClass::Seconds)) => Unit::Seconds,
        (None, Some(UnitClass::Rating)) => Unit::Rating,
        (None, Some(UnitClass::Percent)) => Unit::Percent,
        (None, Some(UnitClass::Currency)) => {
            return Err(format!(
                "`{}` is money: give its currency in `unit`",
                line.metric
            ))
        }
        (None, _) => Unit::Count,
    };
    let kind = line.kind.unwrap_or(match line.time {
        PointTime::At(_) => MetricKind::Gauge,
        PointTime::Period { .. } => MetricKind::Sum,
    });
    let point = Point {
        raw_name: line.raw_name.unwrap_or_else(|| line.metric.clone()).into(),
        platform: line.platform.into(),
        entity: line.entity,
        metric: line.metric.into(),
        value: line.value,
        unit,
        kind,
        time: line.time,
        dimensions: line.dimensions,
    };
    point.validate().map_err(|e| e.to_string())?;
    Ok((line.source, point))
}

/// Parses JSON Lines text; every bad line is reported with its number.
pub fn parse(file: &str, text: &str) -> Result<Vec<Row>, Vec<ImportError>> {
    let mut collected = Collected::new(file);
    for (i, text) in text.lines().enumerate() {
        let line = i as u64 + 1;
        if text.trim().is_empty() {
            continue;
        }
        let result = serde_json::from_str::<Line>(text)
            .map_err(|e| format!("not a point in the metric schema: {e}"))
            .and_then(to_row);
        collected.push(line, result);
    }
    collected.finish()
}
