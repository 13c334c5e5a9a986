//! `tally goals`: every goal with actual, expected by now, forecast, pace and
//! status, and the notes that say how each was computed.

use crate::output::{Cell, Column, Format, Rows};
use anyhow::Context as _;
use chrono::{DateTime, NaiveDate, Utc};
use std::path::Path;
use std::process::ExitCode;
use tally_config::Config;
use tally_goals::period::end_of_day;
use tally_goals::{evaluate_all, Context, Evaluation};
use tally_report::goals_table::{goal_row, GOAL_COLUMNS};

/// Arguments of `tally goals`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Only this client's goals.
    #[arg(long)]
    client: Option<String>,
    /// Evaluate as of this day (its end, in each client's time zone) or RFC 3339 time; default: now.
    #[arg(long, value_name = "DATE")]
    at: Option<String>,
    /// Use the values as they were known at this time, before later restatements
    /// (to reproduce a report sent then); default: the latest values.
    #[arg(long, value_parser = crate::commands::query::parse_time)]
    as_of: Option<DateTime<Utc>>,
    /// Output format; json carries every note and the chart data.
    #[arg(long, value_enum, default_value_t)]
    format: Format,
}

/// When to evaluate a client's goals.
#[derive(Debug, Clone, Copy)]
pub enum At {
    /// Now.
    Now,
    /// The end of this local day.
    Day(NaiveDate),
    /// This instant.
    Instant(DateTime<Utc>),
}

impl At {
    /// Parses `--at`.
    pub fn parse(text: Option<&str>) -> anyhow::Result<At> {
        let Some(text) = text else { return Ok(At::Now) };
        if let Ok(t) = DateTime::parse_from_rfc3339(text) {
            return Ok(At::Instant(t.with_timezone(&Utc)));
        }
        NaiveDate::parse_from_str(text, "%Y-%m-%d")
            .map(At::Day)
            .map_err(|_| anyhow::anyhow!("--at `{text}` is neither a date (2026-06-20) nor an RFC 3339 time (2026-06-20T12:00:00Z)"))
    }

    /// The instant for a client in time zone `tz`.
    pub fn instant(self, tz: chrono_tz::Tz) -> DateTime<Utc> {
        match self {
            At::Now => Utc::now(),
            At::Day(d) => end_of_day(d, tz),
            At::Instant(t) => t,
        }
    }
}

/// The clients a command covers: one named, or all.
pub fn clients<'a>(
    config: &'a Config,
    client: Option<&str>,
) -> anyhow::Result<Vec<&'a tally_config::ClientConfig>> {
    match client {
        Some(id) => {
            let c = config.client(id).with_context(|| {
                let known: Vec<&str> = config.clients.iter().map(|c| c.id.as_str()).collect();
                format!(
                    "client `{id}` is not configured (configured: {})",
                    known.join(", ")
                )
            })?;
            Ok(vec![c])
        }
        None => Ok(config.clients.iter().collect()),
    }
}

/// Evaluates and prints the goals.
pub fn run(config_path: &Path, args: Args) -> anyhow::Result<ExitCode> {
    let (config, _) = crate::setup::load_config(config_path)?;
    let at = At::parse(args.at.as_deref())?;
    let store = crate::setup::read_store(&config)?;
    let store = store.lock().unwrap_or_else(|e| e.into_inner());
    let mut ctx = Context::new(&config, &store).context("reading imported sources")?;
    ctx.as_of = args.as_of;
    let mut evaluations = Vec::new();
    let mut failed = false;
    for client in clients(&config, args.client.as_deref())? {
        for result in evaluate_all(&ctx, Some(&client.id), at.instant(client.timezone)) {
            match result {
                Ok(e) => evaluations.push(e),
                Err(e) => {
                    eprintln!("error: {e}");
                    failed = true;
                }
            }
        }
    }
    if config.goals.is_empty() {
        eprintln!(
            "no goals configured: add [[goals]] to {} (config.example.toml shows each kind)",
            config_path.display()
        );
    }
    match args.format {
        format if format.is_json() => {
            print!("{}", crate::output::json_items(&evaluations, format)?)
        }
        format => {
            print!("{}", rows(&evaluations).render(format));
            if format == Format::Table {
                print_notes(&evaluations);
            }
        }
    }
    Ok(if failed {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    })
}

/// One row per goal, as the report's goals table defines them.
pub fn rows(evaluations: &[Evaluation]) -> Rows {
    let mut rows = Rows::new(GOAL_COLUMNS.iter().map(|c| Column::from((c.title, c.key))));
    for e in evaluations {
        rows.push(
            goal_row(e)
                .into_iter()
                .map(|c| Cell::new(c.text, c.value))
                .collect(),
        );
    }
    rows
}

/// The notes under the table: how each goal was computed.
pub fn print_notes(evaluations: &[Evaluation]) {
    for e in evaluations {
        println!(
            "\n{} ({}; {} elapsed of {} days):",
            e.id, e.scope, e.elapsed_days, e.span_days
        );
        if !e.forecast_method.is_empty() {
            println!("  forecast: {}", e.forecast_method);
        }
        for n in &e.notes {
            println!("  - {n}");
        }
    }
}
