//! The goals table, defined once: which columns it has and how each goal's
//! target, actual, expected, forecast, pace and status are written. `tally
//! goals` prints it, the Markdown and HTML reports lay it out, so a goal reads
//! the same on the terminal and in the client's report.

use crate::numbers::{num, pct, signed};
use serde_json::Value;
use tally_goals::Evaluation;

/// A column of the goals table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct GoalColumn {
    /// What a table's header says.
    pub title: &'static str,
    /// The key in JSON and the CSV header.
    pub key: &'static str,
    /// Whether it holds a number (right-aligned in HTML).
    pub numeric: bool,
}

const fn col(title: &'static str, key: &'static str, numeric: bool) -> GoalColumn {
    GoalColumn {
        title,
        key,
        numeric,
    }
}

/// The columns, in order.
pub const GOAL_COLUMNS: [GoalColumn; 12] = [
    col("goal", "id", false),
    col("client", "client", false),
    col("kind", "kind", false),
    col("metric", "metric", false),
    col("period", "period", false),
    col("target", "target", true),
    col("actual", "actual", true),
    col("expected by now", "expected", true),
    col("forecast", "forecast", true),
    col("pace", "pace", true),
    col("status", "status", false),
    col("data", "data", false),
];

/// One cell: the text people read and the typed value programs read.
#[derive(Debug, Clone, PartialEq)]
pub struct GoalCell {
    /// As written in a table: `1,060`, `≤ 60`, `91.6 %`, `–`.
    pub text: String,
    /// As data: a number, a string or `null`.
    pub value: Value,
}

fn cell(text: impl Into<String>, value: impl Into<Value>) -> GoalCell {
    GoalCell {
        text: text.into(),
        value: value.into(),
    }
}

/// A figure as data: a whole number as an integer, others as they are.
fn value(v: f64) -> Value {
    if v.fract() == 0.0 && v.abs() < 9.0e15 {
        Value::from(v as i64)
    } else {
        Value::from(v)
    }
}

fn figure(v: Option<f64>) -> GoalCell {
    cell(num(v), v.map_or(Value::Null, value))
}

/// The target of a goal as written in tables: `+100`, `≤ 20`, `≥ 3`, `20,000`.
pub fn target(e: &Evaluation) -> String {
    match e.bound {
        Some("at_most") => format!("≤ {}", num(Some(e.target))),
        Some(_) => format!("≥ {}", num(Some(e.target))),
        None if e.kind == "growth" => signed(Some(e.target)),
        None => num(Some(e.target)),
    }
}

/// The row of one goal, one cell per [`GOAL_COLUMNS`] entry.
pub fn goal_row(e: &Evaluation) -> Vec<GoalCell> {
    let data = if e.provisional {
        "provisional"
    } else {
        "final"
    };
    vec![
        cell(e.id.clone(), e.id.clone()),
        cell(e.client.clone(), e.client.clone()),
        cell(e.kind, e.kind),
        cell(e.metric.clone(), e.metric.clone()),
        cell(
            format!("{} – {}", e.start, e.end),
            format!("{}/{}", e.start, e.end),
        ),
        cell(target(e), value(e.target)),
        figure(e.actual),
        figure(e.expected),
        figure(e.forecast),
        cell(pct(e.pace), e.pace.map_or(Value::Null, Value::from)),
        cell(
            e.status.label(),
            serde_json::to_value(e.status).unwrap_or(Value::Null),
        ),
        cell(data, data),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_row_has_a_cell_per_column() {
        let day = |d: u32| chrono::NaiveDate::from_ymd_opt(2026, 6, d).unwrap_or_default();
        let e = Evaluation {
            id: "cpl".into(),
            client: "bakery".into(),
            kind: "ratio",
            metric: "cost.spend / conversions.leads".into(),
            scope: "all".into(),
            unit: "USD per lead".into(),
            start: day(1),
            end: day(30),
            elapsed_days: 9,
            span_days: 30,
            target: 60.0,
            bound: Some("at_most"),
            actual: Some(1060.0),
            expected: Some(60.0),
            forecast: None,
            forecast_method: String::new(),
            pace: Some(0.916),
            status: tally_goals::Status::AtRisk,
            provisional: false,
            notes: Vec::new(),
            chart: Default::default(),
        };
        let row = goal_row(&e);
        assert_eq!(row.len(), GOAL_COLUMNS.len());
        let texts: Vec<&str> = row.iter().map(|c| c.text.as_str()).collect();
        assert_eq!(
            texts,
            [
                "cpl",
                "bakery",
                "ratio",
                "cost.spend / conversions.leads",
                "2026-06-01 – 2026-06-30",
                "≤ 60",
                "1,060",
                "60",
                "–",
                "91.6 %",
                "at risk",
                "final"
            ]
        );
        assert_eq!(row[10].value, "at_risk");
        assert_eq!(row[8].value, Value::Null);
        assert!(row[5].value.is_i64() && row[6].value.is_i64(), "{row:?}");
    }
}
