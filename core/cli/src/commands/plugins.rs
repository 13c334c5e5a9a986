//! `tally plugins inspect FILE`: what a plugin file holds, without pulling anything.

use std::path::PathBuf;
use std::process::ExitCode;
use tally_host::plugin::{file_sha256, open_plugin};

/// Subcommands of `tally plugins`.
#[derive(Debug, clap::Subcommand)]
pub enum Command {
    /// Print a plugin's connectors, metrics, settings, auth, limits, ABI and SDK versions.
    Inspect(InspectArgs),
}

/// Arguments of `tally plugins inspect`.
#[derive(Debug, clap::Args)]
pub struct InspectArgs {
    /// The shared library.
    file: PathBuf,
    /// Print the descriptions as JSON instead of text.
    #[arg(long)]
    json: bool,
}

/// Loads the file (checking its ABI version first) and describes it.
pub fn run(command: Command) -> anyhow::Result<ExitCode> {
    let Command::Inspect(args) = command;
    let plugin = open_plugin(&args.file, None)?;
    let sha256 = file_sha256(&plugin.path)?;
    let descriptions: Vec<_> = plugin.connectors.iter().map(|c| c.describe()).collect();
    if args.json {
        let out = serde_json::json!({
            "file": plugin.path,
            "sha256": sha256,
            "abi_version": tally_plugin_sdk::ABI_VERSION,
            "sdk_version": plugin.sdk_version,
            "connectors": descriptions,
        });
        println!("{}", serde_json::to_string_pretty(&out)?);
        return Ok(ExitCode::SUCCESS);
    }
    println!("file         {}", plugin.path.display());
    println!("sha256       {sha256}");
    println!("abi version  {}", tally_plugin_sdk::ABI_VERSION);
    println!("sdk version  {}", plugin.sdk_version);
    for d in &descriptions {
        println!("\nconnector    {} (platform {})", d.name, d.platform);
        println!("summary      {}", d.summary);
        println!("base url     {}", d.default_base_url);
        println!("metrics      {}", d.metrics.join(", "));
        println!(
            "auth         {}",
            d.auth
                .iter()
                .map(|a| a.name())
                .collect::<Vec<_>>()
                .join(", ")
        );
        println!(
            "rate limit   {} requests / {} s, burst {}",
            d.rate_limit.requests, d.rate_limit.per_seconds, d.rate_limit.burst
        );
        if let Some(h) = &d.usage_headers {
            println!(
                "headers      {}, {}, {} ({:?})",
                h.limit, h.remaining, h.reset, h.reset_encoding
            );
        }
        if let Some(q) = &d.quota {
            println!(
                "quota        {} units per {:?} ({})",
                q.units, q.window, q.timezone
            );
        }
        for s in &d.settings {
            let required = if s.required { "required" } else { "optional" };
            println!("setting      {} ({required}): {}", s.name, s.description);
        }
    }
    Ok(ExitCode::SUCCESS)
}
