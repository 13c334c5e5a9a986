//! `tally query`: read stored points as a table, CSV or JSON.

use crate::output::{number, Format, Rows};
use anyhow::Context;
use chrono::{DateTime, NaiveDate, Utc};
use std::path::Path;
use std::process::ExitCode;
use tally_model::PointTime;
use tally_store::{PointQuery, StoredPoint};

/// Arguments of `tally query`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Canonical metric, e.g. audience.followers.
    #[arg(long)]
    metric: Option<String>,
    /// Only these sources (repeatable).
    #[arg(long = "source", value_name = "ID")]
    sources: Vec<String>,
    /// Only this entity id (channel, post, video).
    #[arg(long)]
    entity: Option<String>,
    /// From this date or time (inclusive): 2026-06-01 or RFC 3339.
    #[arg(long, value_parser = parse_time)]
    from: Option<DateTime<Utc>>,
    /// Until this date or time (exclusive).
    #[arg(long, value_parser = parse_time)]
    to: Option<DateTime<Utc>>,
    /// Values as they were known at this time (before later restatements).
    #[arg(long, value_parser = parse_time)]
    as_of: Option<DateTime<Utc>>,
    /// At most this many rows.
    #[arg(long)]
    limit: Option<usize>,
    /// Output format.
    #[arg(long, value_enum, default_value_t)]
    format: Format,
}

/// A date (midnight UTC) or an RFC 3339 time.
pub fn parse_time(s: &str) -> Result<DateTime<Utc>, String> {
    if let Ok(t) = DateTime::parse_from_rfc3339(s) {
        return Ok(t.with_timezone(&Utc));
    }
    NaiveDate::parse_from_str(s, "%Y-%m-%d")
        .map(|d| d.and_hms_opt(0, 0, 0).unwrap_or_default().and_utc())
        .map_err(|_| {
            format!(
                "`{s}` is neither a date (2026-06-01) nor an RFC 3339 time (2026-06-01T12:00:00Z)"
            )
        })
}

/// Prints the matching points.
pub fn run(config: &Path, args: Args) -> anyhow::Result<ExitCode> {
    let (config, _) = crate::setup::load_config(config)?;
    let store = crate::setup::read_store(&config)?;
    let query = PointQuery {
        metric: args.metric,
        sources: args.sources,
        entity_id: args.entity,
        from: args.from,
        to: args.to,
        as_of: args.as_of,
        limit: args.limit,
        ..PointQuery::default()
    };
    let points = store
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .query(&query)
        .context("querying the store")?;
    print!("{}", rows(&points).render(args.format));
    Ok(ExitCode::SUCCESS)
}

/// One row per stored point.
pub fn rows(points: &[StoredPoint]) -> Rows {
    let mut rows = Rows::new(vec![
        "source",
        "platform",
        "entity",
        "entity_id",
        "name",
        "metric",
        "value",
        "unit",
        "kind",
        "time",
        "dimensions",
        "raw_name",
    ]);
    for sp in points {
        let p = &sp.point;
        let time = match p.time {
            PointTime::At(at) => at.to_rfc3339(),
            PointTime::Period { start, end } => {
                format!("{}/{}", start.to_rfc3339(), end.to_rfc3339())
            }
        };
        let dims = p
            .dimensions
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join(";");
        rows.push(vec![
            sp.source.clone(),
            p.platform.to_string(),
            p.entity.kind.as_str().to_string(),
            p.entity.id.to_string(),
            p.entity.name.as_deref().unwrap_or_default().to_string(),
            p.metric.to_string(),
            number(p.value),
            p.unit.to_string(),
            p.kind.as_str().to_string(),
            time,
            dims,
            p.raw_name.to_string(),
        ]);
    }
    rows
}
