//! `tally import FILE`: points no API gives, from CSV or JSON Lines, checked
//! like a connector's output and stored idempotently like a pull.

use crate::output::{Cell, Format, Rows};
use anyhow::Context as _;
use chrono::Utc;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use tally_host::import::{self, Format as FileFormat, ImportFailure};

/// File formats on the command line.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum InputFormat {
    /// Comma-separated values with a header row.
    Csv,
    /// One JSON point per line.
    Jsonl,
}

/// Arguments of `tally import`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The CSV or JSON Lines file.
    file: PathBuf,
    /// The client that sources new to Tally belong to.
    #[arg(long)]
    client: Option<String>,
    /// The file's format; default: from its extension (.csv, .jsonl, .ndjson).
    #[arg(long = "input-format", value_enum)]
    input_format: Option<InputFormat>,
    /// Output format of the summary.
    #[arg(long, value_enum, default_value_t)]
    format: Format,
}

/// Imports the file and prints what was stored per source.
pub fn run(config_path: &Path, args: Args) -> anyhow::Result<ExitCode> {
    let (config, _) = crate::setup::load_config(config_path)?;
    let store = crate::setup::open_store(&config)?;
    let mut store = store.lock().unwrap_or_else(|e| e.into_inner());
    let summary = import_file(
        &mut store,
        &config,
        &args.file,
        args.input_format,
        args.client.as_deref(),
    )?;
    print!("{}", summary.render(args.format));
    Ok(ExitCode::SUCCESS)
}

/// Imports `file` into `store`; shared with `tally demo`.
pub fn import_file(
    store: &mut tally_store::Store,
    config: &tally_config::Config,
    file: &Path,
    format: Option<InputFormat>,
    client: Option<&str>,
) -> anyhow::Result<Rows> {
    let label = file.display().to_string();
    let format = match format {
        Some(InputFormat::Csv) => FileFormat::Csv,
        Some(InputFormat::Jsonl) => FileFormat::JsonLines,
        None => FileFormat::of_path(file).with_context(|| {
            format!("cannot tell the format of {label} from its extension; name it .csv or .jsonl, or pass --input-format")
        })?,
    };
    let text = std::fs::read_to_string(file).with_context(|| format!("reading {label}"))?;
    let outcome = match import::import(store, config, &label, &text, format, client, Utc::now()) {
        Ok(o) => o,
        Err(ImportFailure::Invalid(errors)) => anyhow::bail!("{errors}"),
        Err(ImportFailure::Store(e)) => return Err(e.into()),
    };
    for (source, client) in &outcome.new_sources {
        eprintln!("new source `{source}` recorded for client `{client}`");
    }
    let mut rows = Rows::new(vec!["source", "points"]);
    for (source, count) in &outcome.per_source {
        rows.push(vec![Cell::text(source.clone()), Cell::count(*count)]);
    }
    eprintln!(
        "imported {label}: {} new, {} restated, {} unchanged",
        outcome.stats.inserted, outcome.stats.revised, outcome.stats.unchanged
    );
    Ok(rows)
}
