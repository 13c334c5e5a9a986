//! `tally-bench`: measures the real `tally` binary against the sandbox and prints
//! figures and ratios from one run. It is a harness, not a timed test: the
//! numbers go into BENCHMARKS.md together with the command that produced them.

mod child;
mod daemon;
mod goals;
mod hot_text;
mod plugin_overhead;
mod postgres;
mod rate_limit;
mod running;
mod soak;
mod throughput;

use clap::{Parser, Subcommand};
use std::path::PathBuf;

/// Benchmark scenarios.
#[derive(Debug, Parser)]
#[command(name = "tally-bench", about)]
struct Cli {
    /// The tally binary to measure.
    #[arg(long, default_value = "target/release/tally")]
    tally: PathBuf,
    #[command(subcommand)]
    scenario: Scenario,
}

#[derive(Debug, Subcommand)]
enum Scenario {
    /// Many sources sharing one credential against a sandbox enforcing the platform's limit.
    RateLimit(rate_limit::Args),
    /// One large feed: `tally pull` against a plain reqwest + serde_json loop.
    Throughput(throughput::Args),
    /// `tally run` with many sources over a time-compressed day: drift, RSS, CPU, 429s; several workers on PostgreSQL.
    Daemon(daemon::Args),
    /// The YouTube connector built in against the same connector loaded as a plugin.
    PluginOverhead(plugin_overhead::Args),
    /// A year of daily data for many sources: `tally goals` and a monthly HTML report.
    Goals(goals::Args),
    /// `tally run` doing thousands of pulls on a short `every`: RSS, open files and threads.
    Soak(soak::Args),
    /// Profiles a pull under callgrind and writes core/cli/link/hot-text.ld,
    /// the layout that keeps the code a pull runs together (needs valgrind).
    HotText(hot_text::Args),
    /// The plain loop itself (run by `throughput` as a child process).
    #[command(hide = true)]
    PlainLoop(throughput::PlainArgs),
    /// Runs a program and reports its own CPU and peak RSS (how every
    /// one-shot child of the harness is measured).
    #[command(hide = true)]
    Measure(child::MeasureArgs),
}

fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    // Measured before any runtime starts, so this process stays small.
    if let Scenario::Measure(args) = &cli.scenario {
        return child::measure_and_report(args);
    }
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?
        .block_on(run(cli))
}

async fn run(cli: Cli) -> anyhow::Result<()> {
    let tally = cli.tally;
    let needs_tally = || {
        anyhow::ensure!(
            tally.exists(),
            "{} does not exist; build it first with `cargo build --release -p tally-cli`",
            tally.display()
        );
        Ok(())
    };
    match cli.scenario {
        Scenario::PlainLoop(args) => throughput::plain_loop(args).await,
        Scenario::Measure(args) => child::measure_and_report(&args),
        Scenario::RateLimit(args) => {
            needs_tally()?;
            rate_limit::run(&tally, args).await
        }
        Scenario::Daemon(args) => {
            needs_tally()?;
            daemon::run(&tally, args).await
        }
        Scenario::PluginOverhead(args) => {
            needs_tally()?;
            plugin_overhead::run(&tally, args).await
        }
        Scenario::Goals(args) => {
            needs_tally()?;
            goals::run(&tally, args).await
        }
        Scenario::Soak(args) => {
            needs_tally()?;
            soak::run(&tally, args).await
        }
        Scenario::Throughput(args) => {
            needs_tally()?;
            throughput::run(&tally, args).await
        }
        Scenario::HotText(args) => {
            needs_tally()?;
            hot_text::run(&tally, args).await
        }
    }
}
