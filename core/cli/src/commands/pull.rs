//! `tally pull`: pull sources now, concurrently, and say what happened to each.

use crate::output::{Cell, Format, Rows};
use crate::source_filter::SourceFilter;
use indicatif::{ProgressBar, ProgressStyle};
use std::io::IsTerminal;
use std::path::Path;
use std::process::ExitCode;
use std::time::Duration;
use tally_host::http::HttpProgress;
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

/// Runs the pulls, with a progress line when stderr is a terminal (sources
/// done of all, requests sent, the rate limit pulls wait on) and nothing
/// extra otherwise, so logs and pipes stay clean.
pub async fn pull_with_progress(
    engine: &tally_host::pull::Engine,
    sources: Vec<tally_config::SourceConfig>,
    concurrency: usize,
) -> Vec<SourceOutcome> {
    if !std::io::stderr().is_terminal() {
        return engine.pull_all(sources, concurrency, |_| {}).await;
    }
    let bar = ProgressBar::new(sources.len() as u64);
    bar.set_style(
        ProgressStyle::with_template("{spinner} [{bar:30}] {pos}/{len} sources  {msg}")
            .unwrap_or_else(|_| ProgressStyle::default_bar())
            .progress_chars("=> "),
    );
    bar.enable_steady_tick(Duration::from_millis(200));
    let host = std::sync::Arc::clone(engine.host());
    let ticker = {
        let bar = bar.clone();
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(Duration::from_millis(250));
            loop {
                tick.tick().await;
                bar.set_message(progress_message(&host.progress()));
            }
        })
    };
    let outcomes = engine.pull_all(sources, concurrency, |_| bar.inc(1)).await;
    ticker.abort();
    bar.finish_and_clear();
    outcomes
}

/// `12 requests · waiting on mastodon@mastodon.social:443 (3)`.
fn progress_message(progress: &HttpProgress) -> String {
    let mut msg = format!(
        "{} request{}",
        progress.requests,
        if progress.requests == 1 { "" } else { "s" }
    );
    if let Some((limit, waiters)) = progress.waiting.first() {
        msg += &format!(" · waiting on the rate limit of {limit} ({waiters})");
        if progress.waiting.len() > 1 {
            msg += &format!(" and {} more", progress.waiting.len() - 1);
        }
    }
    msg
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
