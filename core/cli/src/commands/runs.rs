//! `tally runs`: recent pulls with their status and, for failures, the reason,
//! so an agency sees which client's source is failing and why.

use crate::output::{Cell, Format, Rows};
use crate::source_filter::SourceFilter;
use std::path::Path;
use std::process::ExitCode;
use tally_store::RunRecord;

/// Arguments of `tally runs`.
#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(flatten)]
    filter: SourceFilter,
    /// How many runs to show, newest first.
    #[arg(long, default_value_t = 20)]
    limit: usize,
    /// Output format.
    #[arg(long, value_enum, default_value_t)]
    format: Format,
}

/// Prints the recent runs.
pub fn run(config: &Path, args: Args) -> anyhow::Result<ExitCode> {
    let (cfg, _) = crate::setup::load_config(config)?;
    let ids = args.filter.ids(&cfg, config)?;
    let store = crate::setup::read_store(&cfg)?;
    let store = store.lock().unwrap_or_else(|e| e.into_inner());
    let mut runs: Vec<RunRecord> = if ids.is_empty() {
        store.recent_runs(None, args.limit)?
    } else {
        let mut all = Vec::new();
        for id in &ids {
            all.extend(store.recent_runs(Some(id), args.limit)?);
        }
        all
    };
    runs.sort_by(|a, b| b.started_at.cmp(&a.started_at).then(b.id.cmp(&a.id)));
    runs.truncate(args.limit);
    print!("{}", table(&runs).render(args.format));
    Ok(ExitCode::SUCCESS)
}

fn table(runs: &[RunRecord]) -> Rows {
    let mut rows = Rows::new([
        ("run", "id"),
        ("source", "source"),
        ("started (UTC)", "started_at"),
        ("finished (UTC)", "finished_at"),
        ("seconds", "seconds"),
        ("status", "status"),
        ("points", "points"),
        ("new", "inserted"),
        ("revised", "revised"),
        ("requests", "requests"),
        ("retries", "retries"),
        ("429s", "throttled"),
        ("reason", "reason"),
        ("worker", "worker"),
    ]);
    for r in runs {
        let seconds = r
            .finished_at
            .map(|f| (f - r.started_at).num_milliseconds() as f64 / 1000.0);
        rows.push(vec![
            Cell::new(r.id.to_string(), r.id.into()),
            Cell::text(r.source.clone()),
            Cell::time(r.started_at),
            Cell::opt_time(r.finished_at),
            seconds.map_or_else(|| Cell::opt_text(None::<String>), Cell::seconds),
            Cell::text(r.status.as_str()),
            Cell::count(r.counts.points),
            Cell::count(r.counts.inserted),
            Cell::count(r.counts.revised),
            Cell::count(r.counts.requests),
            Cell::count(r.counts.retries),
            Cell::count(r.counts.throttled),
            Cell::opt_text(r.error.clone()),
            Cell::opt_text(r.worker.clone()),
        ]);
    }
    rows
}
