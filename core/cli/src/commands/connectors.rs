//! `tally connectors`: what each connector produces, how it authenticates and how fast it may go.

use crate::output::{Cell, Format, Rows};
use serde_json::json;
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
    let mut rows = Rows::new([
        ("connector", "connector"),
        ("platform", "platform"),
        ("metrics", "metrics"),
        ("auth", "auth"),
        ("rate limit", "rate_limit"),
        ("quota", "quota"),
        ("settings", "settings"),
        ("from", "from"),
    ]);
    for entry in catalog.entries() {
        let d = &entry.description;
        let limit = format!(
            "{}/{}s burst {}",
            d.rate_limit.requests, d.rate_limit.per_seconds, d.rate_limit.burst
        );
        let quota = d.quota.as_ref().map_or_else(
            || Cell::new("-", serde_json::Value::Null),
            |q| {
                let window = format!("{:?}", q.window).to_lowercase();
                Cell::new(
                    format!("{} units/{window} ({})", q.units, q.timezone).to_lowercase(),
                    json!({ "units": q.units, "window": window, "timezone": q.timezone.to_string() }),
                )
            },
        );
        let settings = Cell::new(
            d.settings
                .iter()
                .map(|s| {
                    if s.required {
                        s.name.clone()
                    } else {
                        format!("[{}]", s.name)
                    }
                })
                .collect::<Vec<_>>()
                .join(" "),
            d.settings
                .iter()
                .map(|s| json!({ "name": s.name, "required": s.required }))
                .collect(),
        );
        let auth: Vec<String> = d.auth.iter().map(|a| a.name().to_string()).collect();
        rows.push(vec![
            Cell::text(d.name.clone()),
            Cell::text(d.platform.clone()),
            Cell::list(&d.metrics),
            Cell::new(auth.join("|"), auth.clone().into()),
            Cell::new(
                limit,
                json!({
                    "requests": d.rate_limit.requests,
                    "per_seconds": d.rate_limit.per_seconds,
                    "burst": d.rate_limit.burst,
                }),
            ),
            quota,
            settings,
            Cell::text(entry.origin.to_string()),
        ]);
    }
    print!("{}", rows.render(args.format));
    Ok(ExitCode::SUCCESS)
}
