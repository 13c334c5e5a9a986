//! `tally query`: read stored points as a table, CSV, JSON or JSON Lines.
//!
//! JSON and JSON Lines carry each point in the metric schema plus its source,
//! exactly the lines `tally import` reads, so points can move between stores.

use crate::output::{json_number, rfc3339, Cell, Format, Rows};
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
    if args.format.is_json() {
        let lines: Vec<serde_json::Value> = points.iter().map(point_json).collect();
        print!("{}", crate::output::json_items(&lines, args.format)?);
    } else {
        print!("{}", rows(&points).render(args.format));
    }
    Ok(ExitCode::SUCCESS)
}

/// A stored point as JSON: its source, then the point in the metric schema
/// (entity as an object, the time as `{"at"}` or `{"period"}` in RFC 3339,
/// dimensions as an object), as `tally import` reads it.
pub fn point_json(sp: &StoredPoint) -> serde_json::Value {
    let p = &sp.point;
    let time = match p.time {
        PointTime::At(at) => serde_json::json!({ "at": rfc3339(at) }),
        PointTime::Period { start, end } => {
            serde_json::json!({ "period": { "start": rfc3339(start), "end": rfc3339(end) } })
        }
    };
    serde_json::json!({
        "source": sp.source,
        "platform": p.platform.as_str(),
        "entity": p.entity,
        "metric": p.metric.as_str(),
        "value": json_number(p.value),
        "unit": p.unit.as_str(),
        "kind": p.kind.as_str(),
        "time": time,
        "dimensions": p.dimensions,
        "raw_name": p.raw_name.as_str(),
    })
}

/// One row per stored point (the table and CSV).
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
            PointTime::At(at) => rfc3339(at),
            PointTime::Period { start, end } => format!("{}/{}", rfc3339(start), rfc3339(end)),
        };
        rows.push(vec![
            Cell::text(sp.source.clone()),
            Cell::text(p.platform.as_str()),
            Cell::text(p.entity.kind.as_str()),
            Cell::text(p.entity.id.as_str()),
            Cell::opt_text(p.entity.name.as_deref()),
            Cell::text(p.metric.as_str()),
            Cell::number(p.value),
            Cell::text(p.unit.as_str()),
            Cell::text(p.kind.as_str()),
            Cell::text(time),
            Cell::dimensions(&p.dimensions),
            Cell::text(p.raw_name.as_str()),
        ]);
    }
    rows
}
