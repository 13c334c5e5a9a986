//! `tally runs`: recent pulls with their status and, for failures, the reason,
//! so an agency sees which client's source is failing and why.

use crate::output::{Format, Rows};
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
    let mut rows = Rows::new(vec![
        "run",
        "source",
        "started (UTC)",
        "seconds",
        "status",
        "points",
        "new",
        "requests",
        "429s",
        "reason",
    ]);
    for r in runs {
        rows.push(vec![
            r.id.to_string(),
            r.source.clone(),
            r.started_at.format("%Y-%m-%d %H:%M:%S").to_string(),
            r.finished_at
                .map(|f| {
                    format!(
                        "{:.2}",
                        (f - r.started_at).num_milliseconds() as f64 / 1000.0
                    )
                })
                .unwrap_or_default(),
            r.status.as_str().to_string(),
            r.counts.points.to_string(),
            r.counts.inserted.to_string(),
            r.counts.requests.to_string(),
            r.counts.throttled.to_string(),
            r.error.clone().unwrap_or_default(),
        ]);
    }
    rows
}
