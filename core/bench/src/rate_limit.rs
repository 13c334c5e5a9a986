//! Many sources sharing one credential, pulled against a sandbox that enforces
//! the platform's limit: does Tally reach the theoretical floor without a 429?
//!
//! The sandbox's bucket can differ from what the sources declare (a platform
//! rarely grants the burst its documentation implies), and it can state its
//! limit in usage headers or keep quiet. It records when each request reached
//! its limiter, so the report shows how evenly the requests really arrived,
//! not only how they were sent.

use crate::child::run_child;
use std::fmt::Write as _;
use std::net::{Ipv4Addr, SocketAddr};
use std::path::Path;
use std::time::Duration;
use tally_sandbox::{Limit, Sandbox, SandboxOptions};

/// Arguments of the rate-limit scenario.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Number of sources, all on one credential, one request each.
    #[arg(long, default_value_t = 500)]
    sources: usize,
    /// The rate the sandbox enforces, in requests per second.
    #[arg(long, default_value_t = 50)]
    rate: u32,
    /// The sandbox bucket's capacity: how many requests may arrive back to back.
    #[arg(long, default_value_t = 10)]
    burst: u32,
    /// Declare the sandbox's exact limit in `[sources.rate_limit]`; without it the
    /// sources keep the connector's documented default (Mastodon: 300 per 300 s,
    /// burst 30) and Tally has only the usage headers to learn the real one from.
    #[arg(long)]
    declare: bool,
    /// The sandbox sends no usage headers, so only the declared limit paces.
    #[arg(long)]
    no_usage_headers: bool,
    /// How early a request may arrive before its token and still pass; 0 is an
    /// exact bucket, as a platform enforces it.
    #[arg(long, default_value_t = 0)]
    tolerance_ms: u64,
    /// Concurrent source pulls.
    #[arg(long, default_value_t = 32)]
    concurrency: usize,
}

/// Runs the scenario and prints its figures.
pub async fn run(tally: &Path, args: Args) -> anyhow::Result<()> {
    anyhow::ensure!(
        args.rate > 0 && args.burst > 0,
        "--rate and --burst must be at least 1"
    );
    let mut options = SandboxOptions::default();
    options.limits.mastodon = Limit {
        burst: args.burst,
        ..Limit::new(args.rate, 1)
    };
    options.limits.jitter_tolerance = Duration::from_millis(args.tolerance_ms);
    options.limits.usage_headers = !args.no_usage_headers;
    options.record_arrivals = true;
    let sandbox = Sandbox::start(SocketAddr::from((Ipv4Addr::LOCALHOST, 0)), options).await?;
    let dir = std::env::temp_dir().join(format!("tally-bench-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    let config = dir.join("tally.toml");
    std::fs::write(&config, config_text(&sandbox.base_url("mastodon"), &args))?;

    let config_arg = config.display().to_string();
    let measured = run_child(tally, &["--config", &config_arg, "pull"]).await?;
    let stats = sandbox.stats();
    let arrivals = sandbox.arrivals("mastodon");
    sandbox.shutdown().await;
    std::fs::remove_dir_all(&dir).ok();

    let rate = f64::from(args.rate);
    let served = stats.requests - stats.throttled;
    let floor = served.saturating_sub(u64::from(args.burst)) as f64 / rate;
    let gaps = Gaps::of(&arrivals, args.burst as usize);
    let tightest = tightest_arrival(&arrivals, rate, f64::from(args.burst));
    println!("scenario            rate-limit (mastodon, one shared bearer token)");
    println!("sources             {} (one request each)", args.sources);
    println!(
        "sandbox bucket      {} req/s, burst {}, tolerance {} ms, usage headers {}",
        args.rate,
        args.burst,
        args.tolerance_ms,
        if args.no_usage_headers { "off" } else { "on" }
    );
    if args.declare {
        println!(
            "declared            requests = {}, per = \"1s\", burst = {}",
            args.rate, args.burst
        );
    } else {
        println!("declared            connector default (300 per 300 s, burst 30)");
    }
    println!(
        "pull exit           {}",
        if measured.success { "ok" } else { "FAILED" }
    );
    println!("requests            {}", stats.requests);
    println!("429 responses       {}", stats.throttled);
    println!("wall time           {:.2} s", measured.wall.as_secs_f64());
    println!("theoretical minimum {floor:.2} s ((served - burst) / rate)");
    println!(
        "ratio               {:.3}",
        measured.wall.as_secs_f64() / floor
    );
    println!(
        "arrival gaps        min {:.2} ms, p1 {:.2} ms, p50 {:.2} ms, p99 {:.2} ms, max {:.2} ms (after the first {})",
        gaps.min, gaps.p1, gaps.p50, gaps.p99, gaps.max, args.burst
    );
    println!(
        "tightest arrival    {:+.2} ms from its token (negative: early, refused by an exact bucket)",
        tightest * 1000.0
    );
    println!("cpu time            {:.2} s", measured.cpu.as_secs_f64());
    println!(
        "peak rss            {:.1} MiB",
        measured.peak_rss_kib as f64 / 1024.0
    );
    Ok(())
}

/// Gaps between consecutive arrivals once the first burst is spent, in ms.
#[derive(Debug, Default)]
struct Gaps {
    min: f64,
    p1: f64,
    p50: f64,
    p99: f64,
    max: f64,
}

impl Gaps {
    fn of(arrivals: &[Duration], skip: usize) -> Gaps {
        let mut gaps: Vec<f64> = arrivals
            .windows(2)
            .skip(skip)
            .map(|w| (w[1] - w[0]).as_secs_f64() * 1000.0)
            .collect();
        if gaps.is_empty() {
            return Gaps::default();
        }
        gaps.sort_by(f64::total_cmp);
        let at = |q: f64| gaps[((gaps.len() - 1) as f64 * q).round() as usize];
        Gaps {
            min: at(0.0),
            p1: at(0.01),
            p50: at(0.5),
            p99: at(0.99),
            max: at(1.0),
        }
    }
}

/// Replays the arrivals through an exact bucket of `rate` per second holding
/// `burst`, and returns the tightest one, in seconds: how long before it
/// arrived its token was due (negative: how early it came, which an exact
/// bucket refuses). A refused request takes no token, as in the sandbox.
fn tightest_arrival(arrivals: &[Duration], rate: f64, burst: f64) -> f64 {
    let mut tokens = burst;
    let Some(mut last) = arrivals.first().copied() else {
        return 0.0;
    };
    let mut tightest = f64::INFINITY;
    for &at in arrivals {
        tokens = (tokens + (at - last).as_secs_f64() * rate).min(burst);
        last = at;
        tightest = tightest.min((tokens - 1.0) / rate);
        if tokens >= 1.0 {
            tokens -= 1.0;
        }
    }
    tightest
}

fn config_text(base_url: &str, args: &Args) -> String {
    let mut text = format!(
        "[storage]\npath = \"tally.db\"\n\n[http]\nmax_concurrency = {}\n\n",
        args.concurrency
    );
    let declared = if args.declare {
        format!(
            "[sources.rate_limit]\nrequests = {}\nper = \"1s\"\nburst = {}\n",
            args.rate, args.burst
        )
    } else {
        String::new()
    };
    for i in 0..args.sources {
        let _ = write!(
            text,
            r#"[[sources]]
id = "account-{i:05}"
connector = "mastodon"
base_url = "{base_url}"
[sources.settings]
acct = "bench{i:05}@sandbox.example"
max_statuses = 0
[sources.auth]
kind = "bearer"
token = "one-shared-token"
{declared}
"#
        );
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(v: &[u64]) -> Vec<Duration> {
        v.iter().map(|&m| Duration::from_millis(m)).collect()
    }

    fn close(a: f64, b: f64) -> bool {
        (a - b).abs() < 1e-9
    }

    #[test]
    fn arrivals_on_their_tokens_have_no_slack() {
        // 10 per second, burst 2: two at once, then one every 100 ms.
        let t = tightest_arrival(&ms(&[0, 0, 100, 200, 300]), 10.0, 2.0);
        assert!(close(t, 0.0), "{t}");
        let t = tightest_arrival(&ms(&[0, 10, 105, 210, 315]), 10.0, 2.0);
        assert!(close(t, 0.005), "{t}");
    }

    #[test]
    fn an_arrival_ahead_of_its_token_is_negative() {
        let t = tightest_arrival(&ms(&[0, 0, 100, 180]), 10.0, 2.0);
        assert!(close(t, -0.020), "{t}");
    }
}
