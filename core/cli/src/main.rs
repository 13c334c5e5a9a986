//! `tally`: the binary at the edge. It parses the command line, wires the runtime
//! together and turns errors into messages and exit codes; everything else lives
//! in the library crates.

mod builtin;
mod commands;
mod output;
mod setup;

use clap::{Parser, Subcommand};
use std::path::PathBuf;
use std::process::ExitCode;

/// Social media metrics connectors, goals and reports.
#[derive(Debug, Parser)]
#[command(name = "tally", version, about)]
struct Cli {
    /// Config file.
    #[arg(
        long,
        global = true,
        env = "TALLY_CONFIG",
        default_value = "tally.toml"
    )]
    config: PathBuf,
    /// More logging (-v: per-request traces, -vv: everything).
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    verbose: u8,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Validate the config; without --offline also ask each source's platform.
    Check(commands::check::Args),
    /// Pull sources now and store their points.
    Pull(commands::pull::Args),
    /// List the connectors with their metrics, auth and default limits.
    Connectors(commands::connectors::Args),
    /// Read stored points.
    Query(commands::query::Args),
    /// Serve simulated platform APIs on loopback.
    Sandbox(commands::sandbox::Args),
    /// Run the whole pipeline against the sandbox in a fresh directory.
    Demo(commands::demo::Args),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    init_tracing(cli.verbose);
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            eprintln!("error: could not start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let result = runtime.block_on(async {
        match cli.command {
            Command::Check(args) => commands::check::run(&cli.config, args).await,
            Command::Pull(args) => commands::pull::run(&cli.config, args).await,
            Command::Connectors(args) => commands::connectors::run(args),
            Command::Query(args) => commands::query::run(&cli.config, args),
            Command::Sandbox(args) => commands::sandbox::run(args).await,
            Command::Demo(args) => commands::demo::run(args).await,
        }
    });
    match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn init_tracing(verbose: u8) {
    let default = match verbose {
        0 => "error",
        1 => "info,tally_runtime::http=debug",
        _ => "debug",
    };
    let filter = tracing_subscriber::EnvFilter::try_from_env("TALLY_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .init();
}
