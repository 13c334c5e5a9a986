//! `tally plan`: what the scheduled pulls of the next hours will cost, before
//! they run: pulls and requests per source, quota units per budget, which
//! budgets run out and which pulls would be deferred past a reset.

use crate::output::{Format, Rows};
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
    let short = plan.budgets.iter().filter(|b| b.runs_out()).count();
    if short > 0 {
        eprintln!(
            "{short} quota budget(s) run out within the window; deferred pulls are skipped until the reset (lower `every`, or raise [sources.quota] if your plan allows)"
        );
    }
    Ok(ExitCode::SUCCESS)
}

fn print(plan: &Plan, format: Format) {
    let mut sources = Rows::new(vec![
        "source",
        "client",
        "connector",
        "every",
        "next (UTC)",
        "pulls",
        "requests/pull",
        "estimate",
        "requests",
        "quota units",
        "deferred",
        "until (UTC)",
    ]);
    let time = |t: Option<chrono::DateTime<chrono::Utc>>| {
        t.map(|t| t.format("%Y-%m-%d %H:%M:%S").to_string())
            .unwrap_or_default()
    };
    for s in &plan.sources {
        sources.push(vec![
            s.source.clone(),
            s.client.clone().unwrap_or_default(),
            s.connector.clone(),
            s.schedule.clone(),
            time(s.next),
            s.pulls.to_string(),
            s.per_pull.to_string(),
            s.basis.label().to_string(),
            s.requests.to_string(),
            s.units.to_string(),
            s.deferred.to_string(),
            time(s.deferred_until),
        ]);
    }
    let mut budgets = Rows::new(vec![
        "budget",
        "sources",
        "limit",
        "used",
        "remaining",
        "needed",
        "resets (UTC)",
        "verdict",
    ]);
    for b in &plan.budgets {
        budgets.push(vec![
            b.key.clone(),
            b.sources.join(" "),
            b.limit.to_string(),
            b.used.to_string(),
            b.remaining().to_string(),
            b.needed.to_string(),
            time(Some(b.resets_at)),
            if b.runs_out() {
                format!("runs out: {} pull(s) deferred", b.deferred)
            } else {
                "fits".to_string()
            },
        ]);
    }
    match format {
        Format::Json => println!(
            "{{\"sources\": {}, \"budgets\": {}}}",
            sources.render(format).trim_end(),
            budgets.render(format).trim_end()
        ),
        _ => {
            print!("{}", sources.render(format));
            println!();
            print!("{}", budgets.render(format));
        }
    }
}
