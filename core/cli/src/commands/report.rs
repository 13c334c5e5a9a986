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

impl Format {
    /// The format a file name's extension promises (`.md`, `.html`, `.json`).
    fn of_path(path: &Path) -> Option<Format> {
        let ext = path.extension()?.to_str()?.to_ascii_lowercase();
        match ext.as_str() {
            "md" | "markdown" => Some(Format::Md),
            "html" | "htm" => Some(Format::Html),
            "json" => Some(Format::Json),
            _ => None,
        }
    }

    /// The flag's value and the usual extension.
    fn name(self) -> &'static str {
        match self {
            Format::Md => "md",
            Format::Html => "html",
            Format::Json => "json",
        }
    }

    /// `--format` when given, else what `-o FILE`'s extension says, else
    /// Markdown; a flag that contradicts the extension is refused, so
    /// `report.html` never holds Markdown.
    fn choose(flag: Option<Format>, output: Option<&Path>) -> anyhow::Result<Format> {
        let named = output.and_then(|path| Format::of_path(path).map(|f| (path, f)));
        match (flag, named) {
            (Some(flag), Some((path, named))) if flag != named => anyhow::bail!(
                "--format {} does not match {}, whose extension says {}; nothing was written: drop --format to write {}, or name the file {}",
                flag.name(),
                path.display(),
                named.name(),
                named.name(),
                path.with_extension(flag.name()).display()
            ),
            (Some(flag), _) => Ok(flag),
            (None, Some((_, named))) => Ok(named),
            (None, None) => Ok(Format::Md),
        }
    }
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
    /// Output format; default: from the extension of `-o FILE` (.md, .html, .json), else md.
    #[arg(long, value_enum)]
    format: Option<Format>,
    /// Write to this file instead of standard output.
    #[arg(short = 'o', long = "output", value_name = "FILE")]
    output: Option<PathBuf>,
}

/// Builds, renders and writes the report.
pub fn run(config_path: &Path, args: Args) -> anyhow::Result<ExitCode> {
    let format = Format::choose(args.format, args.output.as_deref())?;
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
    let store = crate::setup::read_store(&config)?;
    let store = store.lock().unwrap_or_else(|e| e.into_inner());
    let ctx = Context::new(&config, &store).context("reading imported sources")?;
    let report = build(&ctx, &client, month, Utc::now())?;
    let format = match format {
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
