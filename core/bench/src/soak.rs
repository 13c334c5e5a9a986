//! `tally run` pulling many sources on a short `every` until it has done
//! thousands of pulls: does the daemon hold on to memory, file descriptors or
//! threads as pulls pile up? Prints RSS, open files (`/proc/PID/fd`) and threads
//! (`/proc/PID/status`) after the first round of pulls and at the end, with the
//! highest readings in between.

use crate::running::{failed_pulls, sum_of, Running};
use std::fmt::Write as _;
use std::net::{Ipv4Addr, SocketAddr};
use std::path::Path;
use std::time::{Duration, Instant};
use tally_sandbox::{Limit, PlatformLimits, Sandbox, SandboxOptions};
use tally_testkit::process::{holdings, Holdings};

/// Arguments of the soak scenario.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Pulls to run before stopping (counted by the daemon's `tally_pulls_total`).
    #[arg(long, default_value_t = 5_000)]
    pulls: u64,
    /// Sources (a fifth YouTube channels, the rest Mastodon accounts).
    #[arg(long, default_value_t = 50)]
    sources: usize,
    /// Every source's `every`, in seconds.
    #[arg(long, default_value_t = 1)]
    every_secs: u64,
    /// Global concurrent pulls (`[http] max_concurrency`).
    #[arg(long, default_value_t = 16)]
    concurrency: usize,
}

/// Runs the scenario and prints its figures.
pub async fn run(tally: &Path, args: Args) -> anyhow::Result<()> {
    anyhow::ensure!(args.sources > 0, "--sources must be at least 1");
    // No rate limits: the subject is what the daemon holds, not pacing.
    let sandbox = Sandbox::start(
        SocketAddr::from((Ipv4Addr::LOCALHOST, 0)),
        SandboxOptions {
            limits: PlatformLimits {
                youtube: Limit::UNLIMITED,
                mastodon: Limit::UNLIMITED,
                bluesky: Limit::UNLIMITED,
                youtube_quota_per_day: 0,
                ..PlatformLimits::default()
            },
            ..SandboxOptions::default()
        },
    )
    .await?;
    let dir = std::env::temp_dir().join(format!("tally-bench-soak-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    std::fs::write(dir.join("tally.toml"), config_text(&sandbox, &args))?;
    let config = dir.join("tally.toml").display().to_string();
    let tally = tally.to_path_buf();
    let (pulls, sources, target) = (args.pulls, args.sources as f64, args.pulls as f64);
    let report = tokio::task::spawn_blocking(move || -> anyhow::Result<Report> {
        let started = Instant::now();
        let daemon = Running::start(&tally, &config, &[])?;
        let pulls_so_far =
            || -> anyhow::Result<f64> { Ok(sum_of(&daemon.scrape()?, "tally_pulls_total")) };
        // The first reading once every source has been pulled once: what the
        // daemon holds when it is warm, the base any growth is measured from.
        while pulls_so_far()? < sources {
            std::thread::sleep(Duration::from_millis(200));
        }
        let warm_at = started.elapsed();
        let start = holdings(daemon.pid())?;
        let mut most = start;
        while pulls_so_far()? < target {
            std::thread::sleep(Duration::from_secs(1));
            let now = holdings(daemon.pid())?;
            most.rss_kib = most.rss_kib.max(now.rss_kib);
            most.fds = most.fds.max(now.fds);
            most.threads = most.threads.max(now.threads);
        }
        let end = holdings(daemon.pid())?;
        let metrics = daemon.scrape()?;
        let measured = daemon.stop()?;
        Ok(Report {
            start,
            end,
            most,
            warm_at,
            wall: measured.wall,
            cpu: measured.cpu,
            graceful: measured.success,
            pulls: sum_of(&metrics, "tally_pulls_total"),
            failed: failed_pulls(&metrics),
        })
    })
    .await??;
    let stats = sandbox.stats();
    sandbox.shutdown().await;
    std::fs::remove_dir_all(&dir).ok();

    let r = report;
    let mib = |kib: u64| kib as f64 / 1024.0;
    println!("scenario            soak (tally run, short every)");
    println!(
        "sources             {} ({} YouTube, {} Mastodon), every {}s, concurrency {}",
        args.sources,
        youtube_count(args.sources),
        args.sources - youtube_count(args.sources),
        args.every_secs,
        args.concurrency
    );
    println!(
        "pulls               {:.0} (target {pulls}), {:.0} failed",
        r.pulls, r.failed
    );
    println!("requests            {}", stats.requests);
    println!(
        "wall                {:.1} s ({:.1} pulls/s after warm-up at {:.1} s)",
        r.wall.as_secs_f64(),
        (r.pulls - sources) / (r.wall - r.warm_at).as_secs_f64().max(1e-9),
        r.warm_at.as_secs_f64()
    );
    println!("cpu time            {:.1} s", r.cpu.as_secs_f64());
    println!(
        "rss                 {:.1} MiB warm -> {:.1} MiB end (highest {:.1}, peak {:.1})",
        mib(r.start.rss_kib),
        mib(r.end.rss_kib),
        mib(r.most.rss_kib),
        mib(r.end.peak_rss_kib)
    );
    println!(
        "open files          {} warm -> {} end (highest {})",
        r.start.fds, r.end.fds, r.most.fds
    );
    println!(
        "threads             {} warm -> {} end (highest {})",
        r.start.threads, r.end.threads, r.most.threads
    );
    println!(
        "exit                {}",
        if r.graceful {
            "ok (SIGTERM, graceful)"
        } else {
            "FAILED"
        }
    );
    Ok(())
}

/// What one soak run measured.
struct Report {
    start: Holdings,
    end: Holdings,
    most: Holdings,
    warm_at: Duration,
    wall: Duration,
    cpu: Duration,
    graceful: bool,
    pulls: f64,
    failed: f64,
}

fn youtube_count(sources: usize) -> usize {
    sources / 5
}

/// The sandbox enforces no limit here, so neither does the host: a source's
/// pulls are bounded by its `every`, not by Mastodon's 300 requests per 5 minutes.
const UNPACED: &str = "[sources.rate_limit]\nrequests = 1000\nper = \"1s\"\n";

fn config_text(sandbox: &Sandbox, args: &Args) -> String {
    let every = args.every_secs.max(1);
    let mut text = format!(
        "[storage]\npath = \"tally.db\"\n\n[http]\nmax_concurrency = {c}\n\n[schedule]\ncatch_up = \"skip\"\nmax_jitter = \"{every}s\"\nboundary_captures = \"off\"\nper_platform_concurrency = {c}\n\n",
        c = args.concurrency
    );
    let youtube = sandbox.base_url("youtube");
    let mastodon = sandbox.base_url("mastodon");
    for i in 0..args.sources {
        let _ = if i < youtube_count(args.sources) {
            write!(
                text,
                "[[sources]]\nid = \"yt-{i:04}\"\nconnector = \"youtube\"\nevery = \"{every}s\"\nbase_url = \"{youtube}\"\n[sources.settings]\nchannel_id = \"UCsoak{i:04}\"\nmax_videos = 5\n[sources.auth]\nkind = \"api_key\"\napi_key = \"soak-key-{i:04}\"\n{UNPACED}\n"
            )
        } else {
            write!(
                text,
                "[[sources]]\nid = \"md-{i:04}\"\nconnector = \"mastodon\"\nevery = \"{every}s\"\nbase_url = \"{mastodon}\"\n[sources.settings]\nacct = \"soak{i:04}@sandbox.example\"\nmax_statuses = 5\n{UNPACED}\n"
            )
        };
    }
    text
}
