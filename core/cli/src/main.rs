//! `tally`: the binary at the edge. It parses the command line, wires the runtime
//! together and turns errors into messages and exit codes; everything else lives
//! in the library crates.

mod builtin;
mod commands;
mod names;
mod output;
mod plugins;
mod setup;
mod source_filter;

use clap::{Parser, Subcommand};
use std::io::IsTerminal as _;
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
    /// Log lines as human-readable text or one JSON object per line.
    #[arg(long, global = true, value_enum, default_value_t)]
    log_format: LogFormat,
    /// Load a connector plugin (shared library) in addition to `[plugins] dirs`; repeatable.
    #[arg(long = "plugin", global = true, value_name = "FILE")]
    plugins: Vec<PathBuf>,
    #[command(subcommand)]
    command: Command,
}

/// How log lines are written to stderr.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, clap::ValueEnum)]
enum LogFormat {
    /// Human-readable lines.
    #[default]
    Human,
    /// One JSON object per line, for log collectors.
    Json,
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
    /// Look at plugin files without pulling anything.
    #[command(subcommand)]
    Plugins(commands::plugins::Command),
    /// Evaluate goals: actual, expected by now, forecast and status.
    Goals(commands::goals::Args),
    /// Write a client's monthly report as Markdown, HTML with charts, or JSON.
    Report(commands::report::Args),
    /// Store points no API gives (door counts, offline sales, cost sheets) from CSV or JSON Lines.
    Import(commands::import::Args),
    /// Build links tagged with utm_* parameters for social posts.
    Utm(commands::utm::Args),
    /// Create a connector crate that builds and passes its tests and the conformance kit.
    NewConnector(commands::new_connector::Args),
    /// Log OAuth2 sources in and show what each source's credential holds.
    Auth(commands::auth::Args),
    /// Run the scheduler daemon: pull each source on its `every`, serve /healthz and /metrics.
    Run(commands::run::Args),
    /// Show what the scheduled pulls of the next hours will cost and which budgets run out.
    Plan(commands::plan::Args),
    /// List recent pulls with their status and reasons.
    Runs(commands::runs::Args),
    /// Copy a SQLite store into PostgreSQL (idempotent: run it again to resume).
    Migrate(commands::migrate::Args),
    /// List the live `tally run` workers of a PostgreSQL store and what each holds.
    Workers(commands::workers::Args),
}

/// Keeps glibc's malloc to one arena. glibc gives a thread that allocates
/// while another holds the lock an arena of its own, and each arena keeps the
/// memory it once touched: a pull's runtime threads held three partly used
/// arenas, 7.9 MiB for 5.7 MiB of live data. Tally's threads mostly wait on
/// the network and each has its own cache of small blocks, so one shared
/// arena costs no measurable time (BENCHMARKS.md).
#[cfg(all(target_os = "linux", target_env = "gnu"))]
fn one_malloc_arena() {
    // SAFETY: mallopt only sets a malloc parameter, before any thread starts.
    unsafe {
        libc::mallopt(libc::M_ARENA_MAX, 1);
    }
}

/// Other allocators keep their own policy.
#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
fn one_malloc_arena() {}

fn main() -> ExitCode {
    one_malloc_arena();
    exit_quietly_when_stdout_closes();
    let cli = Cli::parse();
    plugins::set_command_line_plugins(cli.plugins.clone());
    // The daemon logs each pull by default; one-off commands only errors.
    let daemon = matches!(cli.command, Command::Run(_));
    init_tracing(cli.verbose, cli.log_format, daemon);
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
            Command::Connectors(args) => commands::connectors::run(&cli.config, args),
            Command::Query(args) => commands::query::run(&cli.config, args),
            Command::Sandbox(args) => commands::sandbox::run(&cli.config, args).await,
            Command::Demo(args) => commands::demo::run(args).await,
            Command::Plugins(command) => commands::plugins::run(command),
            Command::Goals(args) => commands::goals::run(&cli.config, args),
            Command::Report(args) => commands::report::run(&cli.config, args),
            Command::Import(args) => commands::import::run(&cli.config, args),
            Command::Utm(args) => commands::utm::run(args),
            Command::NewConnector(args) => commands::new_connector::run(args),
            Command::Auth(args) => commands::auth::run(&cli.config, args).await,
            Command::Run(args) => commands::run::run(&cli.config, args).await,
            Command::Plan(args) => commands::plan::run(&cli.config, args),
            Command::Runs(args) => commands::runs::run(&cli.config, args),
            Command::Migrate(args) => commands::migrate::run(args),
            Command::Workers(args) => commands::workers::run(&cli.config, args),
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

/// `tally query | head -1`: once the reader has what it wanted it closes the
/// pipe, and the next `print!` panics with "failed printing to stdout: Broken
/// pipe". That is not a failure of the command, so the process ends there, with
/// status 0 and no message, in every command; any other panic is reported as
/// before.
fn exit_quietly_when_stdout_closes() {
    let report = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        if is_closed_stdout(info.payload()) {
            std::process::exit(0);
        }
        report(info);
    }));
}

/// Whether a panic payload is `print!`'s on a pipe closed by the reader.
fn is_closed_stdout(payload: &(dyn std::any::Any + Send)) -> bool {
    // EPIPE on Unix, ERROR_NO_DATA on Windows: the OS errors of a closed pipe.
    const CLOSED_PIPE: i32 = if cfg!(windows) { 232 } else { 32 };
    let message = payload
        .downcast_ref::<String>()
        .map(String::as_str)
        .or_else(|| payload.downcast_ref::<&str>().copied())
        .unwrap_or_default();
    message.starts_with("failed printing to stdout")
        && message.ends_with(&std::io::Error::from_raw_os_error(CLOSED_PIPE).to_string())
}

/// Whether to colour output on a stream: only a terminal, and never when
/// `NO_COLOR` is set to anything (<https://no-color.org>), so logs written to a
/// file or a pipe stay plain text.
pub fn colour(terminal: bool) -> bool {
    terminal && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
}

fn init_tracing(verbose: u8, format: LogFormat, daemon: bool) {
    let default = match verbose {
        0 if daemon => "info",
        0 => "error",
        1 => "info,tally_host::http=debug,tally_host::auth=debug",
        _ => "debug",
    };
    let filter = tracing_subscriber::EnvFilter::try_from_env("TALLY_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default));
    // The HTTP libraries' own debug logs print whole URLs (API keys sit in some
    // queries); Tally's request traces, which redact them, are the ones to read.
    let filter = ["reqwest=info", "hyper=info", "hyper_util=info", "h2=info"]
        .into_iter()
        .filter_map(|d| d.parse().ok())
        .fold(filter, |filter, directive| filter.add_directive(directive));
    let logs = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(colour(std::io::stderr().is_terminal()))
        .with_writer(std::io::stderr);
    match format {
        LogFormat::Human => logs.init(),
        LogFormat::Json => logs.json().init(),
    }
}
