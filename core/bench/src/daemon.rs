//! `tally run` with thousands of sources over a simulated day, compressed in
//! time: every source's `every` is divided by the compression factor, so a day
//! of six-hourly pulls happens in minutes. Reports how late pulls start
//! against their plan (drift), peak RSS and CPU per 1,000 pulls of the daemon
//! process, and 429s seen by the sandbox. With `--postgres` the store is a
//! throwaway PostgreSQL database, and `--workers N` runs N daemons sharing the
//! schedule through it; then the server's CPU, the database's size and
//! whether every planned pull ran once (from `pull_slots` and `runs`) are
//! reported too.

use crate::child::Measured;
use crate::postgres::{storage_toml, Database};
use crate::running::{drift_quantile, failed_pulls, sum_of, Running};
use std::fmt::Write as _;
use std::net::{Ipv4Addr, SocketAddr};
use std::path::Path;
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
    /// `tally run --worker wK` processes sharing the schedule (more than one needs `--postgres`).
    #[arg(long, default_value_t = 1)]
    workers: usize,
    /// Store into a throwaway PostgreSQL server on 127.0.0.1 instead of a SQLite file.
    #[arg(long)]
    postgres: bool,
}

/// Runs the scenario and prints its figures.
pub async fn run(tally: &Path, args: Args) -> anyhow::Result<()> {
    anyhow::ensure!(args.day_seconds > 0, "--day-seconds must be at least 1");
    anyhow::ensure!(args.workers > 0, "--workers must be at least 1");
    anyhow::ensure!(
        args.workers == 1 || args.postgres,
        "--workers {} needs --postgres: workers share the schedule through a PostgreSQL store",
        args.workers
    );
    let database = match args.postgres {
        true => Some(tokio::task::spawn_blocking(Database::create).await?),
        false => None,
    };
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
        config_text(&sandbox, &args, every_secs, database.as_ref()),
    )?;
    let tally = tally.to_path_buf();
    let config = dir.join("tally.toml").display().to_string();
    let day = Duration::from_secs(args.day_seconds);
    let names: Vec<String> = (1..=args.workers).map(|k| format!("w{k}")).collect();
    let shared = args.postgres;
    let server_cpu_before = database.as_ref().map(Database::server_cpu).transpose()?;
    // The children are driven and waited for off the runtime serving the sandbox.
    let workers = tokio::task::spawn_blocking(move || -> anyhow::Result<Vec<Worker>> {
        let started = Instant::now();
        let running = names
            .into_iter()
            .map(|name| {
                let extra = match shared {
                    true => vec!["--worker", name.as_str()],
                    false => vec![],
                };
                Ok((name.clone(), Running::start(&tally, &config, &extra)?))
            })
            .collect::<anyhow::Result<Vec<_>>>()?;
        std::thread::sleep(day.saturating_sub(started.elapsed()));
        let metrics = running
            .iter()
            .map(|(_, r)| r.scrape())
            .collect::<anyhow::Result<Vec<_>>>()?;
        running
            .into_iter()
            .zip(metrics)
            .map(|((name, r), metrics)| {
                Ok(Worker {
                    name,
                    measured: r.stop()?,
                    metrics,
                })
            })
            .collect()
    })
    .await??;
    let server_cpu = match (&database, server_cpu_before) {
        (Some(db), Some(before)) => Some(db.server_cpu()?.saturating_sub(before)),
        _ => None,
    };
    let stats = sandbox.stats();
    sandbox.shutdown().await;
    std::fs::remove_dir_all(&dir).ok();

    let pulls: f64 = workers.iter().map(Worker::pulls).sum();
    let worst = |q: &str| {
        workers
            .iter()
            .filter_map(|w| drift_quantile(&w.metrics, q))
            .fold(f64::NAN, f64::max)
    };
    let planned_per_source = args.day_seconds as f64 / every_secs as f64;
    println!("scenario            daemon (tally run, time-compressed day)");
    println!(
        "store               {}",
        match args.postgres {
            true => "PostgreSQL (throwaway server on 127.0.0.1)",
            false => "SQLite file",
        }
    );
    println!("workers             {}", args.workers);
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
    let failed_exits: Vec<&str> = workers
        .iter()
        .filter(|w| !w.measured.success)
        .map(|w| w.name.as_str())
        .collect();
    println!(
        "exit                {}",
        match failed_exits.is_empty() {
            true => "ok (SIGTERM, graceful)".to_string(),
            false => format!("FAILED: {}", failed_exits.join(", ")),
        }
    );
    println!(
        "pulls               {pulls:.0} (plan: {:.0}), {:.0} not ok, {:.1} per second",
        planned_per_source * args.sources as f64,
        workers
            .iter()
            .map(|w| failed_pulls(&w.metrics))
            .sum::<f64>(),
        pulls / args.day_seconds as f64
    );
    println!("requests            {}", stats.requests);
    println!(
        "429 responses       {} (sandbox) / {:.0} (tally)",
        stats.throttled,
        workers
            .iter()
            .map(|w| sum_of(&w.metrics, "tally_throttled_total"))
            .sum::<f64>()
    );
    println!("drift p50           {:.3} s (worst worker)", worst("0.5"));
    println!("drift p99           {:.3} s (worst worker)", worst("0.99"));
    println!("worker  pulls  drift p50  drift p99  cpu s   cpu/1000 pulls  peak rss MiB");
    for w in &workers {
        let cpu = w.measured.cpu.as_secs_f64();
        println!(
            "{:<7} {:>5.0}  {:>9.3}  {:>9.3}  {:>6.2}  {:>14.2}  {:>12.1}",
            w.name,
            w.pulls(),
            drift_quantile(&w.metrics, "0.5").unwrap_or(f64::NAN),
            drift_quantile(&w.metrics, "0.99").unwrap_or(f64::NAN),
            cpu,
            cpu * 1000.0 / w.pulls().max(1.0),
            w.measured.peak_rss_kib as f64 / 1024.0
        );
    }
    if let (Some(db), Some(cpu)) = (&database, server_cpu) {
        println!(
            "server cpu          {:.2} s (PostgreSQL, all its processes), {:.2} s per 1000 pulls",
            cpu.as_secs_f64(),
            cpu.as_secs_f64() * 1000.0 / pulls.max(1.0)
        );
        let size = db.size()?;
        println!(
            "database size       {:.1} MiB (pg_database_size), Tally's tables {:.1} MiB",
            size.database as f64 / MIB,
            size.tables as f64 / MIB
        );
        print_slots(db)?;
    }
    Ok(())
}

const MIB: f64 = 1024.0 * 1024.0;

/// What one `tally run` did.
struct Worker {
    name: String,
    measured: Measured,
    metrics: String,
}

impl Worker {
    fn pulls(&self) -> f64 {
        sum_of(&self.metrics, "tally_pulls_total")
    }
}

/// Whether every planned pull ran once, from the database: each run is
/// matched to its source's latest planned slot at or before its start (a
/// second of slack), so two runs on one slot are a doubled pull.
fn print_slots(db: &Database) -> anyhow::Result<()> {
    let out = db.sql(
        "WITH r AS (
             SELECT r.source, (SELECT max(s.slot_at) FROM pull_slots s
                               WHERE s.source = r.source
                                 AND s.slot_at <= r.started_at + interval '1 second') AS slot
             FROM runs r)
         SELECT (SELECT count(*) FROM pull_slots),
                (SELECT count(*) FROM pull_slots WHERE done_at IS NULL),
                (SELECT COALESCE(sum(takeovers), 0) FROM pull_slots),
                (SELECT count(*) FROM runs),
                (SELECT count(*) FROM r WHERE slot IS NULL),
                (SELECT count(*) - count(DISTINCT (source, slot)) FROM r WHERE slot IS NOT NULL)",
    );
    let n: Vec<u64> = out
        .split('|')
        .map(str::parse)
        .collect::<Result<_, _>>()
        .map_err(|e| anyhow::anyhow!("psql printed {out:?} for the slot counts: {e}"))?;
    let [slots, open, takeovers, runs, unclaimed, doubled] = n[..] else {
        anyhow::bail!("psql printed {out:?} for the slot counts");
    };
    println!(
        "planned pulls       {slots} claimed, {open} unfinished at stop, {takeovers} taken over"
    );
    println!(
        "runs                {runs} in the database, {doubled} on a slot already run, {unclaimed} without a claimed slot: {}",
        match doubled == 0 && unclaimed == 0 {
            true => "every claimed pull ran once",
            false => "SOME PULLS RAN TWICE OR UNCLAIMED",
        }
    );
    Ok(())
}

fn youtube_count(sources: usize) -> usize {
    sources / 10
}

fn config_text(
    sandbox: &Sandbox,
    args: &Args,
    every_secs: u64,
    database: Option<&Database>,
) -> String {
    let mut text = storage_toml(database);
    let _ = write!(
        text,
        "[http]\nmax_concurrency = {}\n\n[schedule]\ncatch_up = \"skip\"\nmax_jitter = \"{every_secs}s\"\nboundary_captures = \"off\"\nper_platform_concurrency = {}\n\n",
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
