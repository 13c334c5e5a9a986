//! `tally report`: one client's monthly report as Markdown, a self-contained
//! HTML page with charts, or JSON.

use anyhow::Context as _;
use chrono::Utc;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use tally_goals::report::{build, parse_month};
use tally_goals::Context;
use tally_report::Format as ReportFormat;

/// Report formats on the command line.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum, Default)]
pub enum Format {
    /// Markdown tables.
    #[default]
    Md,
    /// One HTML file with SVG charts.
    Html,
    /// The report model as JSON.
    Json,
}

/// Arguments of `tally report`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The client (required when the config has more than one).
    #[arg(long)]
    client: Option<String>,
    /// The month, YYYY-MM, in the client's time zone; default: the current month.
    #[arg(long)]
    month: Option<String>,
    /// Output format.
    #[arg(long, value_enum, default_value_t)]
    format: Format,
    /// Write to this file instead of standard output.
    #[arg(short = 'o', long = "output", value_name = "FILE")]
    output: Option<PathBuf>,
}

/// Builds, renders and writes the report.
pub fn run(config_path: &Path, args: Args) -> anyhow::Result<ExitCode> {
    let (config, _) = crate::setup::load_config(config_path)?;
    let client = match (&args.client, config.clients.as_slice()) {
        (Some(c), _) => c.clone(),
        (None, [only]) => only.id.clone(),
        (None, []) => anyhow::bail!(
            "no [[clients]] in {}; a report is per client",
            config_path.display()
        ),
        (None, many) => {
            let ids: Vec<&str> = many.iter().map(|c| c.id.as_str()).collect();
            anyhow::bail!(
                "the config has {} clients; pass --client with one of: {}",
                many.len(),
                ids.join(", ")
            )
        }
    };
    let month = args.month.as_deref().map(parse_month).transpose()?;
    let store = crate::setup::open_store(&config)?;
    let store = store.lock().unwrap_or_else(|e| e.into_inner());
    let ctx = Context::new(&config, &store).context("reading imported sources")?;
    let report = build(&ctx, &client, month, Utc::now())?;
    let format = match args.format {
        Format::Md => ReportFormat::Markdown,
        Format::Html => ReportFormat::Html,
        Format::Json => ReportFormat::Json,
    };
    let text = tally_report::render(&report, format)?;
    write_report(args.output.as_deref(), &text)?;
    for err in &report.goal_errors {
        eprintln!("error: {err}");
    }
    Ok(if report.goal_errors.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

/// Writes to `path` (creating its directory) or standard output.
pub fn write_report(path: Option<&Path>, text: &str) -> anyhow::Result<()> {
    match path {
        None => print!("{text}"),
        Some(path) => {
            if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
                std::fs::create_dir_all(dir)
                    .with_context(|| format!("creating {}", dir.display()))?;
            }
            std::fs::write(path, text).with_context(|| format!("writing {}", path.display()))?;
            eprintln!("wrote {}", path.display());
        }
    }
    Ok(())
}
