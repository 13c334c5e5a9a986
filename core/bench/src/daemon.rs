//! `tally run` with thousands of sources over a simulated day, compressed in
//! time: every source's `every` is divided by the compression factor, so a day
//! of six-hourly pulls happens in minutes. Reports how late pulls start
//! against their plan (drift), peak RSS and CPU per 1,000 pulls of the daemon
//! process, and 429s seen by the sandbox.

use crate::child::wait_measured;
use std::fmt::Write as _;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{Ipv4Addr, SocketAddr, TcpStream};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};
use tally_sandbox::{Sandbox, SandboxOptions};

/// Arguments of the daemon scenario.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Number of sources (a tenth YouTube channels sharing an API key per 100, the rest Mastodon accounts with their own tokens).
    #[arg(long, default_value_t = 10_000)]
    sources: usize,
    /// The real-world interval of every source, in hours.
    #[arg(long, default_value_t = 6)]
    every_hours: u64,
    /// Wall-clock seconds the simulated day lasts (86,400 / this is the compression factor).
    #[arg(long, default_value_t = 600)]
    day_seconds: u64,
    /// Global concurrent pulls (`[http] max_concurrency`).
    #[arg(long, default_value_t = 64)]
    concurrency: usize,
}

/// Runs the scenario and prints its figures.
pub async fn run(tally: &Path, args: Args) -> anyhow::Result<()> {
    anyhow::ensure!(args.day_seconds > 0, "--day-seconds must be at least 1");
    let sandbox = Sandbox::start(
        SocketAddr::from((Ipv4Addr::LOCALHOST, 0)),
        SandboxOptions::default(),
    )
    .await?;
    let dir = std::env::temp_dir().join(format!("tally-bench-daemon-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    let every_secs = (args.every_hours * 3600 * args.day_seconds / 86_400).max(1);
    std::fs::write(
        dir.join("tally.toml"),
        config_text(&sandbox, &args, every_secs),
    )?;
    let tally = tally.to_path_buf();
    let config = dir.join("tally.toml").display().to_string();
    let day = Duration::from_secs(args.day_seconds);
    // The child is driven and waited for off the runtime serving the sandbox.
    let (measured, metrics) = tokio::task::spawn_blocking(move || -> anyhow::Result<_> {
        let started = Instant::now();
        let mut child = Command::new(&tally)
            .args(["--config", &config, "run", "--listen", "127.0.0.1:0"])
            .env("TALLY_LOG", "warn")
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()?;
        let mut line = String::new();
        let stdout = child
            .stdout
            .take()
            .ok_or_else(|| anyhow::anyhow!("no stdout"))?;
        let mut stdout = BufReader::new(stdout);
        stdout.read_line(&mut line)?;
        // Keep reading, so the daemon's last lines find an open pipe.
        std::thread::spawn(move || std::io::copy(&mut stdout, &mut std::io::sink()));
        let addr: SocketAddr = line
            .split("http://")
            .nth(1)
            .and_then(|r| r.split('/').next())
            .and_then(|a| a.parse().ok())
            .ok_or_else(|| anyhow::anyhow!("tally run printed no address: {line:?}"))?;
        std::thread::sleep(day.saturating_sub(started.elapsed()));
        let metrics = scrape(addr)?;
        let peak_kib = tally_testkit::process::holdings(child.id())?.peak_rss_kib;
        let pid = libc::pid_t::try_from(child.id())?;
        // SAFETY: signalling our own child process.
        unsafe { libc::kill(pid, libc::SIGTERM) };
        let mut measured = wait_measured(&child, started)?;
        // wait4's ru_maxrss keeps the parent's RSS from before exec on Linux;
        // the child's own high-water mark is the figure that matters.
        measured.peak_rss_kib = peak_kib;
        Ok((measured, metrics))
    })
    .await??;
    let stats = sandbox.stats();
    sandbox.shutdown().await;
    std::fs::remove_dir_all(&dir).ok();

    let value = |name: &str| sum_of(&metrics, name);
    let pulls = value("tally_pulls_total");
    let planned_per_source = args.day_seconds as f64 / every_secs as f64;
    println!("scenario            daemon (tally run, time-compressed day)");
    println!(
        "sources             {} ({} YouTube, {} Mastodon)",
        args.sources,
        youtube_count(args.sources),
        args.sources - youtube_count(args.sources)
    );
    println!(
        "schedule            every {}h = every {every_secs}s compressed ({}x); one day = {} s",
        args.every_hours,
        86_400 / args.day_seconds,
        args.day_seconds
    );
    println!(
        "exit                {}",
        if measured.success {
            "ok (SIGTERM, graceful)"
        } else {
            "FAILED"
        }
    );
    println!(
        "pulls               {pulls:.0} (plan: {:.0})",
        planned_per_source * args.sources as f64
    );
    println!("requests            {}", stats.requests);
    println!(
        "429 responses       {} (sandbox) / {:.0} (tally)",
        stats.throttled,
        value("tally_throttled_total")
    );
    println!(
        "drift p50           {:.3} s",
        quantile(&metrics, "0.5").unwrap_or(f64::NAN)
    );
    println!(
        "drift p99           {:.3} s",
        quantile(&metrics, "0.99").unwrap_or(f64::NAN)
    );
    println!(
        "peak rss            {:.1} MiB",
        measured.peak_rss_kib as f64 / 1024.0
    );
    println!("cpu time            {:.2} s", measured.cpu.as_secs_f64());
    println!(
        "cpu per 1000 pulls  {:.2} s",
        measured.cpu.as_secs_f64() * 1000.0 / pulls.max(1.0)
    );
    Ok(())
}

fn youtube_count(sources: usize) -> usize {
    sources / 10
}

fn config_text(sandbox: &Sandbox, args: &Args, every_secs: u64) -> String {
    let mut text = format!(
        "[storage]\npath = \"tally.db\"\n\n[http]\nmax_concurrency = {}\n\n[schedule]\ncatch_up = \"skip\"\nmax_jitter = \"{every_secs}s\"\nboundary_captures = \"off\"\nper_platform_concurrency = {}\n\n",
        args.concurrency,
        args.concurrency
    );
    let youtube = sandbox.base_url("youtube");
    let mastodon = sandbox.base_url("mastodon");
    for i in 0..args.sources {
        let _ = if i < youtube_count(args.sources) {
            write!(
                text,
                "[[sources]]\nid = \"yt-{i:05}\"\nconnector = \"youtube\"\nevery = \"{every_secs}s\"\nbase_url = \"{youtube}\"\n[sources.settings]\nchannel_id = \"UCbench{i:05}\"\nmax_videos = 5\n[sources.auth]\nkind = \"api_key\"\napi_key = \"bench-key-{}\"\n\n",
                i / 100
            )
        } else {
            write!(
                text,
                "[[sources]]\nid = \"md-{i:05}\"\nconnector = \"mastodon\"\nevery = \"{every_secs}s\"\nbase_url = \"{mastodon}\"\n[sources.settings]\nacct = \"bench{i:05}@sandbox.example\"\nmax_statuses = 5\n[sources.auth]\nkind = \"bearer\"\ntoken = \"bench-token-{i:05}\"\n\n"
            )
        };
    }
    text
}

/// GETs `/metrics`.
pub(crate) fn scrape(addr: SocketAddr) -> anyhow::Result<String> {
    let mut stream = TcpStream::connect(addr)?;
    stream.set_read_timeout(Some(Duration::from_secs(30)))?;
    write!(
        stream,
        "GET /metrics HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n"
    )?;
    let mut response = String::new();
    stream.read_to_string(&mut response)?;
    Ok(response
        .split_once("\r\n\r\n")
        .map(|(_, body)| body.to_string())
        .unwrap_or_default())
}

/// The sum of every sample of the metric `name`.
pub(crate) fn sum_of(metrics: &str, name: &str) -> f64 {
    metrics
        .lines()
        .filter(|l| {
            l.strip_prefix(name)
                .is_some_and(|rest| rest.starts_with('{') || rest.starts_with(' '))
        })
        .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
        .sum()
}

/// A quantile of the drift summary.
fn quantile(metrics: &str, q: &str) -> Option<f64> {
    let prefix = format!("tally_schedule_drift_seconds{{quantile=\"{q}\"}} ");
    metrics
        .lines()
        .find_map(|l| l.strip_prefix(&prefix)?.parse().ok())
}
