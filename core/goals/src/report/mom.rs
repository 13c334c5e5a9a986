//! Month over month: each metric on each platform this month against the
//! month before, as a total (sums), a net change (gauges) and, for account
//! levels such as followers, the level at each month's end. Tally's own
//! `pipeline.*` health metrics are left out of a client's report.

use super::Data;
use crate::activity::{activity, level};
use crate::period::Period;
use crate::series::Series;
use chrono::{DateTime, Duration, Utc};
use serde::Serialize;
use std::collections::BTreeMap;
use tally_model::MetricKind;

/// One metric on one platform, this month against the previous one.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Change {
    /// The platform.
    pub platform: String,
    /// The canonical metric.
    pub metric: String,
    /// Its unit.
    pub unit: String,
    /// `total` (sums), `net change` (gauges) or `level` (a gauge at the month's end).
    pub measure: &'static str,
    /// This month.
    pub this_month: Option<f64>,
    /// The previous month.
    pub last_month: Option<f64>,
    /// This month − the previous one.
    pub change: Option<f64>,
    /// The change as a share of the previous month.
    pub change_pct: Option<f64>,
}

fn row(
    platform: &str,
    metric: &str,
    unit: String,
    measure: &'static str,
    this: Option<f64>,
    last: Option<f64>,
) -> Change {
    let change = match (this, last) {
        (Some(a), Some(b)) => Some(a - b),
        _ => None,
    };
    Change {
        platform: platform.to_string(),
        metric: metric.to_string(),
        unit,
        measure,
        this_month: this,
        last_month: last,
        change,
        change_pct: change
            .zip(last)
            .and_then(|(c, b)| (b != 0.0).then(|| c / b.abs())),
    }
}

/// The changes of `period` against `previous`, by platform then metric.
pub(crate) fn changes(
    data: &Data,
    period: &Period,
    previous: &Period,
    at: DateTime<Utc>,
) -> Vec<Change> {
    let mut by_platform: BTreeMap<(String, String), Vec<Series>> = BTreeMap::new();
    // Tally's own pipeline health (`pipeline.*`) is for the agency, not the client's report.
    for (metric, series) in data
        .by_metric
        .iter()
        .filter(|(m, _)| !m.starts_with("pipeline."))
    {
        for s in series {
            by_platform
                .entry((s.platform.clone(), metric.clone()))
                .or_default()
                .push(s.clone());
        }
    }
    let previous_at = previous.end - Duration::milliseconds(1);
    let mut out = Vec::new();
    for ((platform, metric), series) in by_platform {
        let unit = series
            .first()
            .map(|s| s.unit.to_string())
            .unwrap_or_default();
        let gauge = series.iter().all(|s| s.kind == MetricKind::Gauge);
        let this = activity(&series, period, at).actual;
        let last = activity(&series, previous, previous_at).actual;
        let measure = if gauge { "net change" } else { "total" };
        out.push(row(&platform, &metric, unit.clone(), measure, this, last));
        let accounts: Vec<Series> = series
            .iter()
            .filter(|s| s.kind == MetricKind::Gauge && !s.is_item())
            .cloned()
            .collect();
        if !accounts.is_empty() {
            let end = period.date(period.days() - 1);
            let this_level = level(&accounts, at, end, period.tz).actual;
            let prev_end = previous.date(previous.days() - 1);
            let last_level = level(&accounts, previous_at, prev_end, previous.tz).actual;
            out.push(row(
                &platform, &metric, unit, "level", this_level, last_level,
            ));
        }
    }
    out
}
