//! `tally plan`: what the scheduled pulls of the next hours will cost, before
//! they run: pulls and requests per source, quota units per budget, which
//! budgets run out and which pulls would be deferred past a reset.

use crate::output::{Cell, Format, RowObject, Rows};
use std::path::Path;
use std::process::ExitCode;
use std::time::Duration;
use tally_config::Schedule;
use tally_daemon::schedule::{plan, Plan, PlanInput};

/// Arguments of `tally plan`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// How far ahead to plan ("24h", "7d", "90m").
    #[arg(long, default_value = "24h", value_parser = window)]
    window: Duration,
    /// Only sources of this client.
    #[arg(long, value_name = "ID")]
    client: Option<String>,
    /// Output format.
    #[arg(long, value_enum, default_value_t)]
    format: Format,
}

fn window(s: &str) -> Result<Duration, String> {
    match Schedule::parse(s)? {
        Schedule::Every(d) => Ok(d),
        Schedule::Cron(_) => Err("write a duration such as \"24h\" or \"7d\"".into()),
    }
}

/// Prints the plan, and on stderr what cannot be planned and which budgets run out.
pub fn run(config_path: &Path, args: Args) -> anyhow::Result<ExitCode> {
    let (mut config, catalog) = crate::setup::load_config(config_path)?;
    if let Some(client) = &args.client {
        let ids = crate::setup::client_sources(&config, client, config_path)?;
        config.sources.retain(|s| ids.contains(&s.id));
    }
    let store = crate::setup::read_store(&config)?;
    let tokens = crate::setup::token_providers(&config).ok();
    let store = store.lock().unwrap_or_else(|e| e.into_inner());
    let history = store.last_successes()?;
    let used = |key: &str, start| store.quota_used(key, start).unwrap_or(0);
    let plan = plan(&PlanInput {
        config: &config,
        descriptions: &catalog.descriptions(),
        now: chrono::Utc::now(),
        horizon: args.window,
        history: &history,
        quota_used: &used,
        tokens: tokens.as_deref(),
    });
    print(&plan, args.format);
    for s in plan.sources.iter().filter(|s| s.problem.is_some()) {
        eprintln!("{}: {}", s.source, s.problem.as_deref().unwrap_or_default());
    }
    for l in plan.limits.iter().filter(|l| l.overloaded()) {
        eprintln!(
            "rate limit {} ({}): the planned pulls need {} requests, the limit sends {} in the window; about {} pull(s) will be skipped while earlier ones wait (a longer `every`, or fewer sources on one credential)",
            l.limit,
            l.sources.join(", "),
            l.needed,
            l.capacity,
            l.skipped
        );
    }
    let short = plan.budgets.iter().filter(|b| b.runs_out()).count();
    if short > 0 {
        eprintln!(
            "{short} quota budget(s) run out within the window; deferred pulls are skipped until the reset (lower `every`, or raise [sources.quota] if your plan allows)"
        );
    }
    Ok(ExitCode::SUCCESS)
}

fn print(plan: &Plan, format: Format) {
    let mut sources = Rows::new([
        ("source", "source"),
        ("client", "client"),
        ("connector", "connector"),
        ("every", "every"),
        ("next (UTC)", "next"),
        ("pulls", "pulls"),
        ("skipped", "skipped"),
        ("requests/pull", "requests_per_pull"),
        ("estimate", "estimate"),
        ("requests", "requests"),
        ("quota units", "quota_units"),
        ("deferred", "deferred"),
        ("until (UTC)", "deferred_until"),
    ]);
    for s in &plan.sources {
        sources.push(vec![
            Cell::text(s.source.clone()),
            Cell::opt_text(s.client.clone()),
            Cell::text(s.connector.clone()),
            Cell::text(s.schedule.clone()),
            Cell::opt_time(s.next),
            Cell::count(s.pulls as u64),
            Cell::count(s.skipped as u64),
            Cell::count(s.per_pull),
            Cell::text(s.basis.label()),
            Cell::count(s.requests),
            Cell::count(s.units),
            Cell::count(s.deferred as u64),
            Cell::opt_time(s.deferred_until),
        ]);
    }
    let mut budgets = Rows::new([
        ("budget", "budget"),
        ("sources", "sources"),
        ("limit", "limit"),
        ("used", "used"),
        ("remaining", "remaining"),
        ("needed", "needed"),
        ("resets (UTC)", "resets_at"),
        ("verdict", "verdict"),
    ]);
    for b in &plan.budgets {
        budgets.push(vec![
            Cell::text(b.key.clone()),
            Cell::list(&b.sources),
            Cell::count(b.limit),
            Cell::count(b.used),
            Cell::count(b.remaining()),
            Cell::count(b.needed),
            Cell::time(b.resets_at),
            Cell::text(if b.runs_out() {
                format!("runs out: {} pull(s) deferred", b.deferred)
            } else {
                "fits".to_string()
            }),
        ]);
    }
    if format.is_json() {
        /// The plan as one document, each row's keys in column order.
        #[derive(serde::Serialize)]
        struct Plan<'a> {
            sources: Vec<RowObject<'a>>,
            budgets: Vec<RowObject<'a>>,
        }
        let plan = Plan {
            sources: sources.objects(),
            budgets: budgets.objects(),
        };
        let text = if format == Format::Jsonl {
            serde_json::to_string(&plan)
        } else {
            serde_json::to_string_pretty(&plan)
        };
        println!("{}", text.unwrap_or_default());
    } else {
        print!("{}", sources.render(format));
        println!();
        print!("{}", budgets.render(format));
    }
}
