//! Many sources sharing one credential, pulled against a sandbox that enforces
//! the platform's limit: does Tally reach the theoretical floor without a 429?

use crate::child::run_child;
use std::fmt::Write as _;
use std::net::{Ipv4Addr, SocketAddr};
use std::path::Path;
use tally_sandbox::{Limit, Sandbox, SandboxOptions};

/// Arguments of the rate-limit scenario.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Number of sources, all on one credential.
    #[arg(long, default_value_t = 200)]
    sources: usize,
    /// The limit the sandbox enforces and the sources declare, in requests per second.
    #[arg(long, default_value_t = 50)]
    rate: u32,
    /// Concurrent source pulls.
    #[arg(long, default_value_t = 32)]
    concurrency: usize,
}

/// Runs the scenario and prints its figures.
pub async fn run(tally: &Path, args: Args) -> anyhow::Result<()> {
    let mut options = SandboxOptions::default();
    options.limits.mastodon = Limit {
        requests: args.rate,
        per_seconds: 1,
    };
    let sandbox = Sandbox::start(SocketAddr::from((Ipv4Addr::LOCALHOST, 0)), options).await?;
    let dir = std::env::temp_dir().join(format!("tally-bench-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    let config = dir.join("tally.toml");
    std::fs::write(&config, config_text(&sandbox.base_url("mastodon"), &args))?;

    let config_arg = config.display().to_string();
    let measured = run_child(tally, &["--config", &config_arg, "pull"]).await?;
    let stats = sandbox.stats();
    sandbox.shutdown().await;
    std::fs::remove_dir_all(&dir).ok();

    let requests = stats.requests;
    let floor = requests as f64 / f64::from(args.rate);
    println!("scenario            rate-limit (mastodon, one shared bearer token)");
    println!("sources             {}", args.sources);
    println!(
        "sandbox limit       {} req/s (token bucket, burst {})",
        args.rate, args.rate
    );
    println!(
        "pull exit           {}",
        if measured.success { "ok" } else { "FAILED" }
    );
    println!("requests            {requests}");
    println!("429 responses       {}", stats.throttled);
    println!("wall time           {:.2} s", measured.wall.as_secs_f64());
    println!("theoretical minimum {floor:.2} s (requests / rate)");
    println!(
        "ratio               {:.3}",
        measured.wall.as_secs_f64() / floor
    );
    println!("cpu time            {:.2} s", measured.cpu.as_secs_f64());
    println!(
        "peak rss            {:.1} MiB",
        measured.peak_rss_kib as f64 / 1024.0
    );
    Ok(())
}

fn config_text(base_url: &str, args: &Args) -> String {
    let mut text = format!(
        "[storage]\npath = \"tally.db\"\n\n[http]\nmax_concurrency = {}\n\n",
        args.concurrency
    );
    for i in 0..args.sources {
        let _ = write!(
            text,
            r#"[[sources]]
id = "account-{i:05}"
connector = "mastodon"
base_url = "{base_url}"
[sources.settings]
acct = "bench{i:05}@sandbox.example"
[sources.auth]
kind = "bearer"
token = "one-shared-token"
[sources.rate_limit]
requests = {rate}
per_seconds = 1

"#,
            rate = args.rate
        );
    }
    text
}
