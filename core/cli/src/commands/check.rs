//! `tally check`: validate the config, then (unless offline) look up the
//! sources goals name in the store and ask each platform.

use std::path::Path;
use std::process::ExitCode;
use tally_goals::scope::UnknownSource;

/// Arguments of `tally check`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Only validate the file; make no requests.
    #[arg(long)]
    offline: bool,
}

/// Validates and reports per source; fails when anything is wrong.
pub async fn run(config_path: &Path, args: Args) -> anyhow::Result<ExitCode> {
    let (config, catalog) = crate::setup::load_config(config_path)?;
    println!(
        "{}: ok ({} sources, {} clients, {} goals, {} costs)",
        config_path.display(),
        config.sources.len(),
        config.clients.len(),
        config.goals.len(),
        config.costs.len()
    );
    for note in &config.deprecations {
        eprintln!("warning: {note}");
    }
    let today = chrono::Utc::now().date_naive();
    for source in &config.sources {
        let version = catalog
            .get(&source.connector)
            .and_then(|entry| entry.description.api_version.as_ref());
        if let Some(warning) = version.and_then(|v| v.warning(&source.settings, today)) {
            eprintln!("warning: source `{}`: {warning}", source.id);
        }
    }
    if args.offline {
        for unconfigured in config.unconfigured_goal_sources() {
            println!(
                "note: goal `{}`: source `{}` is not configured; fine if it is imported (`tally check` without --offline looks in the store){}",
                unconfigured.goal, unconfigured.source, unconfigured.hint
            );
        }
        return Ok(ExitCode::SUCCESS);
    }
    let runtime = crate::setup::runtime(config_path)?;
    let mut failed = 0;
    let imported = runtime
        .store
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .imported_sources()?;
    for goal in &runtime.config.goals {
        for unknown in UnknownSource::of_goal(goal, &runtime.config, &imported) {
            failed += 1;
            println!("{unknown}");
        }
    }
    for source in runtime.config.sources.iter().filter(|s| s.enabled) {
        match runtime.engine.check_one(source).await {
            Ok(found) => println!("{}: ok, {found}", source.id),
            Err(e) => {
                failed += 1;
                println!("{}: FAILED, {e}", source.id);
            }
        }
    }
    Ok(if failed > 0 {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    })
}
