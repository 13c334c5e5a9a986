//! `tally sandbox`: simulated platform APIs for trying connectors without accounts.

use std::net::{Ipv4Addr, SocketAddr};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use tally_sandbox::{FaultOptions, Limit, Sandbox, SandboxOptions, SIMULATED};

/// Simulated platforms whose connector is not built in, with the crate that
/// builds its plugin.
const PLUGIN_CONNECTORS: [(&str, &str); 1] = [("bluesky", "tally-bluesky")];

/// Whether this `tally` can use a plugin connector the sandbox simulates.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Plugin {
    /// Built in, or loaded already (`--plugin`, the config's `[plugins]`).
    Loaded,
    /// Not loaded, but this file (next to `tally`, or in `./plugins`) loads.
    Found(PathBuf),
    /// Nowhere to be found.
    Missing,
}

/// The file name cargo gives a crate's plugin on this platform (`libtally_bluesky.so`).
fn library_file(krate: &str) -> String {
    format!(
        "{}{}{}",
        std::env::consts::DLL_PREFIX,
        krate.replace('-', "_"),
        std::env::consts::DLL_SUFFIX
    )
}

/// Where each plugin connector stands, by connector name.
fn available_plugins(config_path: &Path) -> Vec<(&'static str, &'static str, Plugin)> {
    let catalog = crate::plugins::catalog(config_path).ok();
    let exe_dir = std::env::current_exe()
        .ok()
        .and_then(|exe| exe.parent().map(Path::to_path_buf));
    let dirs: Vec<PathBuf> = exe_dir
        .into_iter()
        .chain(std::path::absolute("plugins").ok())
        .collect();
    PLUGIN_CONNECTORS
        .iter()
        .map(|&(name, krate)| {
            if catalog.as_ref().is_some_and(|c| c.get(name).is_some()) {
                return (name, krate, Plugin::Loaded);
            }
            let file = library_file(krate);
            // Only a file that loads and holds the connector is offered.
            let found = dirs.iter().map(|d| d.join(&file)).find(|path| {
                tally_host::plugin::open_plugin(path, None)
                    .is_ok_and(|p| p.connectors.iter().any(|c| c.describe().name == name))
            });
            (name, krate, found.map_or(Plugin::Missing, Plugin::Found))
        })
        .collect()
}

/// The sandbox's `[[sources]]` blocks, preceded by the `[plugins]` table that
/// loads a plugin connector found on disk; a block whose connector cannot be
/// found is printed commented out, with how to get it, so that everything
/// printed works as pasted.
fn blocks(sandbox: &Sandbox, plugins: &[(&str, &str, Plugin)]) -> String {
    let mut out = String::new();
    let files: Vec<String> = plugins
        .iter()
        .filter_map(|(_, _, p)| match p {
            Plugin::Found(path) => {
                Some(toml::Value::String(path.display().to_string()).to_string())
            }
            _ => None,
        })
        .collect();
    if !files.is_empty() {
        out += "# Some connectors below are plugins; this table loads them. If tally.toml has a\n\
                # [plugins] table already, add these files to its `files` instead.\n";
        out += &format!("[plugins]\nfiles = [{}]\n\n", files.join(", "));
    }
    let mut sources = Vec::new();
    for name in SIMULATED {
        let Some(block) = sandbox.source_toml(name) else {
            continue;
        };
        match plugins.iter().find(|(n, _, _)| *n == name) {
            Some((_, krate, Plugin::Missing)) => {
                let file = library_file(krate);
                let mut text = format!(
                    "# The `{name}` connector is a plugin this tally cannot find: build it with\n\
                     # `cargo build --release -p {krate}`, load it with\n\
                     # `[plugins] files = [\"target/release/{file}\"]` (or `--plugin FILE`) and\n\
                     # uncomment this block; or copy it into ./plugins and run `tally sandbox` again.\n"
                );
                for line in block.lines() {
                    text += "# ";
                    text += line;
                    text.push('\n');
                }
                sources.push(text);
            }
            _ => sources.push(block),
        }
    }
    out + &sources.join("\n")
}

/// Arguments of `tally sandbox`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Port on 127.0.0.1 (0 picks a free one).
    #[arg(long, default_value_t = 8080)]
    port: u16,
    /// Seed of the simulated data.
    #[arg(long, default_value_t = 42)]
    seed: u64,
    /// Fraction of requests answered with a 500 HTML page.
    #[arg(long, default_value_t = 0.0)]
    error_rate: f64,
    /// Delay added to every response, in milliseconds.
    #[arg(long, default_value_t = 0)]
    latency_ms: u64,
    /// Answer every Nth request with a 429 (0: never).
    #[arg(long, default_value_t = 0)]
    burst_429_every: u32,
    /// Fraction of 200 responses with a truncated body.
    #[arg(long, default_value_t = 0.0)]
    malformed_rate: f64,
    /// Bearer tokens issued by the sandbox expire after this many seconds.
    #[arg(long)]
    token_ttl_secs: Option<u64>,
    /// YouTube rate limit, REQUESTS/SECONDS.
    #[arg(long, value_parser = parse_limit)]
    youtube_limit: Option<Limit>,
    /// YouTube units per day.
    #[arg(long)]
    youtube_quota: Option<u64>,
    /// Mastodon rate limit, REQUESTS/SECONDS.
    #[arg(long, value_parser = parse_limit)]
    mastodon_limit: Option<Limit>,
    /// Bluesky rate limit, REQUESTS/SECONDS.
    #[arg(long, value_parser = parse_limit)]
    bluesky_limit: Option<Limit>,
}

fn parse_limit(s: &str) -> Result<Limit, String> {
    let (requests, per) = s
        .split_once('/')
        .ok_or_else(|| format!("`{s}` is not REQUESTS/SECONDS, e.g. 50/1"))?;
    let requests = requests
        .trim()
        .parse()
        .map_err(|_| format!("`{requests}` is not a whole number"))?;
    let per_seconds = per
        .trim()
        .parse()
        .map_err(|_| format!("`{per}` is not a whole number of seconds"))?;
    if requests == 0 || per_seconds == 0 {
        return Err("a limit needs at least 1 request per 1 second".into());
    }
    Ok(Limit::new(requests, per_seconds))
}

impl Args {
    /// The sandbox options these arguments describe.
    pub fn options(&self) -> SandboxOptions {
        let mut options = SandboxOptions {
            seed: self.seed,
            faults: FaultOptions {
                error_rate: self.error_rate,
                latency_ms: self.latency_ms,
                burst_429_every: self.burst_429_every,
                malformed_rate: self.malformed_rate,
                token_ttl_secs: self.token_ttl_secs,
            },
            ..SandboxOptions::default()
        };
        if let Some(l) = self.youtube_limit {
            options.limits.youtube = l;
        }
        if let Some(q) = self.youtube_quota {
            options.limits.youtube_quota_per_day = q;
        }
        if let Some(l) = self.mastodon_limit {
            options.limits.mastodon = l;
        }
        if let Some(l) = self.bluesky_limit {
            options.limits.bluesky = l;
        }
        options
    }
}

/// Serves until Ctrl-C, after printing ready-to-use `[[sources]]` blocks
/// that work as pasted into the config at `config_path`.
pub async fn run(config_path: &Path, args: Args) -> anyhow::Result<ExitCode> {
    let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, args.port));
    let sandbox = Sandbox::start(addr, args.options())
        .await
        .map_err(|e| anyhow::anyhow!("could not listen on {addr}: {e}; pick another --port"))?;
    println!("# Tally sandbox listening on http://{}", sandbox.addr());
    println!("# Paste these blocks into tally.toml; Ctrl-C stops the sandbox.\n");
    println!("{}", blocks(&sandbox, &available_plugins(config_path)));
    tokio::signal::ctrl_c().await?;
    let stats = sandbox.stats();
    sandbox.shutdown().await;
    eprintln!(
        "sandbox served {} requests ({} throttled)",
        stats.requests, stats.throttled
    );
    Ok(ExitCode::SUCCESS)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_plugin_connector_that_cannot_be_found_is_printed_commented_out() {
        let sandbox = Sandbox::start(
            SocketAddr::from((Ipv4Addr::LOCALHOST, 0)),
            SandboxOptions::default(),
        )
        .await
        .expect("sandbox starts");
        let text = blocks(&sandbox, &[("bluesky", "tally-bluesky", Plugin::Missing)]);
        let parsed: toml::Table = toml::from_str(&text).expect("valid TOML");
        let sources = parsed["sources"].as_array().expect("sources");
        let connectors: Vec<_> = sources.iter().map(|s| s["connector"].as_str()).collect();
        // Every block but the missing plugin's, the built-in manifests included.
        assert_eq!(
            connectors,
            [
                Some("youtube"),
                Some("mastodon"),
                Some("ga4"),
                Some("google_business_profile"),
                Some("youtube_analytics"),
                Some("yelp"),
                Some("eventbrite"),
                Some("surveymonkey"),
                Some("x")
            ]
        );
        assert!(!parsed.contains_key("plugins"));
        assert!(
            text.contains("# `cargo build --release -p tally-bluesky`, load it with\n")
                && text.contains("\n# connector = \"bluesky\"\n"),
            "{text}"
        );
        sandbox.shutdown().await;
    }
}
