//! CSV imports: a header row naming the columns, one point per row.
//!
//! Required columns: `source`, `platform`, `entity`, `metric`, `value`, and a
//! time (`at`, or `period_start` and `period_end`). Optional: `unit`, `kind`,
//! `entity_name`, `raw_name`. Every other column is a dimension (`country`,
//! `campaign`); an empty cell leaves it out of that row.

use super::row::{to_point, Fields};
use super::{Collected, ImportError, Row};
use chrono_tz::Tz;
use std::collections::BTreeMap;

const REQUIRED: &[&str] = &["source", "platform", "entity", "metric", "value"];
const KNOWN: &[&str] = &[
    "source",
    "platform",
    "entity",
    "entity_name",
    "metric",
    "value",
    "unit",
    "kind",
    "at",
    "period_start",
    "period_end",
    "raw_name",
];

/// Parses CSV text; every bad row is reported with its line number.
pub fn parse(
    file: &str,
    text: &str,
    tz_of: &dyn Fn(&str) -> Tz,
) -> Result<Vec<Row>, Vec<ImportError>> {
    let mut reader = csv::ReaderBuilder::new()
        .trim(csv::Trim::All)
        .flexible(false)
        .from_reader(text.as_bytes());
    let header_err = |message: String| {
        vec![ImportError::Row {
            file: file.to_string(),
            line: 1,
            message,
        }]
    };
    let headers: Vec<String> = reader
        .headers()
        .map_err(|e| header_err(format!("cannot read the header row: {e}")))?
        .iter()
        .map(str::to_string)
        .collect();
    let missing: Vec<&str> = REQUIRED
        .iter()
        .copied()
        .filter(|r| !headers.iter().any(|h| h == r))
        .collect();
    if !missing.is_empty() {
        return Err(header_err(format!(
            "the header lacks {}; it needs source, platform, entity, metric, value and at (or period_start and period_end), then any dimension columns",
            missing.join(", ")
        )));
    }
    let has = |name: &str| headers.iter().any(|h| h == name);
    let has_time = has("at") || (has("period_start") && has("period_end"));
    if !has_time {
        return Err(header_err(
            "the header needs an `at` column or `period_start` and `period_end` columns".into(),
        ));
    }
    let column = |name: &str| headers.iter().position(|h| h == name);
    let dimension_columns: Vec<(usize, &String)> = headers
        .iter()
        .enumerate()
        .filter(|(_, h)| !KNOWN.contains(&h.as_str()))
        .collect();
    let mut collected = Collected::new(file);
    for record in reader.records() {
        let record = match record {
            Ok(r) => r,
            Err(e) => {
                collected.refuse(e.position().map_or(0, |p| p.line()), format!("{e}"));
                continue;
            }
        };
        let line = record.position().map_or(0, |p| p.line());
        let get = |name: &str| column(name).and_then(|i| record.get(i)).unwrap_or("");
        let fields = Fields {
            source: get("source"),
            platform: get("platform"),
            entity: get("entity"),
            entity_name: column("entity_name").and_then(|i| record.get(i)),
            metric: get("metric"),
            value: get("value"),
            unit: get("unit"),
            kind: get("kind"),
            at: get("at"),
            period_start: get("period_start"),
            period_end: get("period_end"),
            raw_name: column("raw_name").and_then(|i| record.get(i)),
            dimensions: dimension_columns
                .iter()
                .filter_map(|(i, h)| {
                    record
                        .get(*i)
                        .filter(|v| !v.is_empty())
                        .map(|v| ((*h).clone(), v.to_string()))
                })
                .collect::<BTreeMap<_, _>>(),
        };
        collected.push(line, to_point(&fields, tz_of(fields.source)));
    }
    collected.finish()
}
