//! `tally sandbox`: simulated platform APIs for trying connectors without accounts.

use std::net::{Ipv4Addr, SocketAddr};
use std::process::ExitCode;
use tally_sandbox::{FaultOptions, Limit, Sandbox, SandboxOptions};

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
    Ok(Limit {
        requests,
        per_seconds,
    })
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

/// Serves until Ctrl-C, after printing ready-to-use `[[sources]]` blocks.
pub async fn run(args: Args) -> anyhow::Result<ExitCode> {
    let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, args.port));
    let sandbox = Sandbox::start(addr, args.options())
        .await
        .map_err(|e| anyhow::anyhow!("could not listen on {addr}: {e}; pick another --port"))?;
    println!("# Tally sandbox listening on http://{}", sandbox.addr());
    println!("# Paste these sources into tally.toml; Ctrl-C stops the sandbox.\n");
    println!("{}", sandbox.sources_toml());
    tokio::signal::ctrl_c().await?;
    let stats = sandbox.stats();
    sandbox.shutdown().await;
    eprintln!(
        "sandbox served {} requests ({} throttled)",
        stats.requests, stats.throttled
    );
    Ok(ExitCode::SUCCESS)
}
