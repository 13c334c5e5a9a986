//! `tally check`: validate the config, then (unless offline) ask each platform.

use std::path::Path;
use std::process::ExitCode;

/// Arguments of `tally check`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Only validate the file; make no requests.
    #[arg(long)]
    offline: bool,
}

/// Validates and reports per source; fails when anything is wrong.
pub async fn run(config_path: &Path, args: Args) -> anyhow::Result<ExitCode> {
    let (config, _) = crate::setup::load_config(config_path)?;
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
    if args.offline {
        return Ok(ExitCode::SUCCESS);
    }
    let runtime = crate::setup::runtime(config_path)?;
    let mut failed = 0;
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
