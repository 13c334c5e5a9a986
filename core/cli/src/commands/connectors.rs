//! `tally connectors`: what each connector produces, how it authenticates and how fast it may go.

use crate::output::{Format, Rows};
use std::process::ExitCode;

/// Arguments of `tally connectors`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Output format.
    #[arg(long, value_enum, default_value_t)]
    format: Format,
}

/// Prints every connector with its metrics, auth kinds, default limits and origin.
pub fn run(config: &std::path::Path, args: Args) -> anyhow::Result<ExitCode> {
    let catalog = crate::plugins::catalog(config)?;
    let mut rows = Rows::new(vec![
        "connector",
        "platform",
        "metrics",
        "auth",
        "rate limit",
        "quota",
        "settings",
        "from",
    ]);
    for entry in catalog.entries() {
        let d = &entry.description;
        let limit = format!(
            "{}/{}s burst {}",
            d.rate_limit.requests, d.rate_limit.per_seconds, d.rate_limit.burst
        );
        let quota = d.quota.as_ref().map_or("-".to_string(), |q| {
            format!("{} units/{:?} ({})", q.units, q.window, q.timezone).to_lowercase()
        });
        let settings = d
            .settings
            .iter()
            .map(|s| {
                if s.required {
                    s.name.clone()
                } else {
                    format!("[{}]", s.name)
                }
            })
            .collect::<Vec<_>>()
            .join(" ");
        rows.push(vec![
            d.name.clone(),
            d.platform.clone(),
            d.metrics.join(" "),
            d.auth
                .iter()
                .map(|a| a.name())
                .collect::<Vec<_>>()
                .join("|"),
            limit,
            quota,
            settings,
            entry.origin.to_string(),
        ]);
    }
    print!("{}", rows.render(args.format));
    Ok(ExitCode::SUCCESS)
}
