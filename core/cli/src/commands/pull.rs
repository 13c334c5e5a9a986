//! `tally pull`: pull sources now, concurrently, and say what happened to each.

use crate::output::{Cell, Format, Rows};
use crate::source_filter::SourceFilter;
use indicatif::{ProgressBar, ProgressStyle};
use std::io::IsTerminal;
use std::path::Path;
use std::process::ExitCode;
use tally_host::pull::{PullOptions, SourceOutcome, SourceStatus};

/// Arguments of `tally pull`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Which sources; default: every enabled one (a client's disabled sources are left out).
    #[command(flatten)]
    filter: SourceFilter,
    /// Backfill: read history from this day on (00:00 UTC), past what the
    /// sources' saved state says was already read.
    #[arg(long, value_name = "YYYY-MM-DD")]
    since: Option<chrono::NaiveDate>,
    /// Output format of the summary.
    #[arg(long, value_enum, default_value_t)]
    format: Format,
}

/// Pulls, prints the summary, and fails when any source failed.
pub async fn run(config: &Path, args: Args) -> anyhow::Result<ExitCode> {
    let runtime = crate::setup::runtime(config)?;
    let known = || {
        let ids: Vec<&str> = runtime
            .config
            .sources
            .iter()
            .map(|s| s.id.as_str())
            .collect();
        ids.join(", ")
    };
    let mut sources = Vec::new();
    for id in args.filter.ids(&runtime.config, config)? {
        let source = runtime.config.source(&id).ok_or_else(|| {
            anyhow::anyhow!(
                "no source `{id}` in {}; the sources are: {}",
                config.display(),
                known()
            )
        })?;
        // A source named with --source is pulled even when disabled.
        if source.enabled || args.filter.sources.contains(&id) {
            sources.push(source.clone());
        }
    }
    if args.filter.is_empty() {
        sources = runtime
            .config
            .sources
            .iter()
            .filter(|s| s.enabled)
            .cloned()
            .collect();
    }
    let since = args
        .since
        .map(|d| d.and_time(chrono::NaiveTime::MIN).and_utc());
    let engine = runtime.engine.clone().with_options(PullOptions {
        since,
        pipeline_metrics: false,
    });
    let outcomes = pull_with_progress(&engine, sources, runtime.config.http.max_concurrency).await;
    print!("{}", summary(&outcomes).render(args.format));
    print_reasons(&outcomes);
    let failed = outcomes
        .iter()
        .filter(|o| matches!(o.status, SourceStatus::Failed(_)))
        .count();
    Ok(if failed > 0 {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    })
}

/// Runs the pulls, with a progress bar when stderr is a terminal and silence otherwise.
pub async fn pull_with_progress(
    engine: &tally_host::pull::Engine,
    sources: Vec<tally_config::SourceConfig>,
    concurrency: usize,
) -> Vec<SourceOutcome> {
    let bar = if std::io::stderr().is_terminal() {
        let bar = ProgressBar::new(sources.len() as u64);
        bar.set_style(
            ProgressStyle::with_template("{spinner} pulling [{bar:30}] {pos}/{len} sources {msg}")
                .unwrap_or_else(|_| ProgressStyle::default_bar())
                .progress_chars("=> "),
        );
        Some(bar)
    } else {
        None
    };
    let outcomes = engine
        .pull_all(sources, concurrency, |o| {
            if let Some(bar) = &bar {
                bar.set_message(o.source.clone());
                bar.inc(1);
            }
        })
        .await;
    if let Some(bar) = bar {
        bar.finish_and_clear();
    }
    outcomes
}

/// The summary table: one row per source.
pub fn summary(outcomes: &[SourceOutcome]) -> Rows {
    let mut rows = Rows::new([
        ("source", "source"),
        ("connector", "connector"),
        ("status", "status"),
        ("points", "points"),
        ("new", "inserted"),
        ("revised", "revised"),
        ("requests", "requests"),
        ("retries", "retries"),
        ("429s", "throttled"),
        ("seconds", "seconds"),
    ]);
    for o in outcomes {
        rows.push(vec![
            Cell::text(o.source.clone()),
            Cell::text(o.connector.clone()),
            Cell::text(o.status.label()),
            Cell::count(o.counts.points),
            Cell::count(o.counts.inserted),
            Cell::count(o.counts.revised),
            Cell::count(o.counts.requests),
            Cell::count(o.counts.retries),
            Cell::count(o.counts.throttled),
            Cell::seconds(o.duration.as_secs_f64()),
        ]);
    }
    rows
}

/// Prints why each failed or skipped source did not complete, on stderr.
pub fn print_reasons(outcomes: &[SourceOutcome]) {
    for o in outcomes {
        if let Some(reason) = o.status.reason() {
            eprintln!("{} {}: {reason}", o.status.label(), o.source);
        }
    }
}
