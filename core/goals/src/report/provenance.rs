//! Where a report's numbers come from: each source, how it is fed (a
//! connector or `tally import`), when it last ran, how many points it has in
//! the month, and whether any are still provisional.

use super::{Data, ReportError};
use crate::period::Period;
use crate::scope::Scope;
use crate::Context;
use chrono::{DateTime, Duration, Utc};
use serde::Serialize;

/// One source of the report.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Provenance {
    /// The source id.
    pub source: String,
    /// `connector youtube` or `import (file.csv)`.
    pub origin: String,
    /// When the last successful pull or import finished.
    pub last_run: Option<DateTime<Utc>>,
    /// Points with a time in the month.
    pub points: u64,
    /// Of the month's totals used, how many are provisional.
    pub provisional: usize,
    /// The source's settlement window in days.
    pub settle_days: u32,
    /// `final`, or `provisional until <date>` when values may still change.
    pub status: String,
}

/// The provenance of every source in `scope`.
pub(crate) fn provenance(
    ctx: &Context<'_>,
    scope: &Scope,
    data: &Data,
    period: &Period,
    at: DateTime<Utc>,
) -> Result<Vec<Provenance>, ReportError> {
    let summaries = ctx
        .store
        .source_summaries(&scope.sources, period.start, period.end)?;
    let mut out = Vec::new();
    for summary in summaries {
        let origin = match ctx.config.source(&summary.source) {
            Some(s) => format!("connector {}", s.connector),
            None => ctx
                .imported
                .iter()
                .find(|i| i.source == summary.source)
                .map_or_else(|| "unknown".to_string(), |i| format!("import ({})", i.file)),
        };
        let settle_days = ctx.settlement.days(&summary.source);
        let mut provisional = 0;
        let mut settles: Option<DateTime<Utc>> = None;
        for series in data
            .by_metric
            .values()
            .flatten()
            .filter(|s| s.source == summary.source)
        {
            for x in series
                .samples
                .iter()
                .filter(|x| x.provisional && x.start < period.end && x.end >= period.start)
            {
                provisional += 1;
                let until = x.end + Duration::days(i64::from(settle_days));
                settles = Some(settles.map_or(until, |s| s.max(until)));
            }
        }
        let status = match settles {
            Some(t) if t > at => format!(
                "provisional until {}",
                t.with_timezone(&period.tz).date_naive()
            ),
            _ => "final".to_string(),
        };
        out.push(Provenance {
            source: summary.source,
            origin,
            last_run: summary.last_run,
            points: summary.points,
            provisional,
            settle_days,
            status,
        });
    }
    Ok(out)
}
