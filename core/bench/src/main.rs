//! `tally-bench`: measures the real `tally` binary against the sandbox and prints
//! figures and ratios from one run. It is a harness, not a timed test: the
//! numbers go into BENCHMARKS.md together with the command that produced them.

mod child;
mod rate_limit;

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
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    anyhow::ensure!(
        cli.tally.exists(),
        "{} does not exist; build it first with `cargo build --release -p tally-cli`",
        cli.tally.display()
    );
    match cli.scenario {
        Scenario::RateLimit(args) => rate_limit::run(&cli.tally, args).await,
    }
}
