//! One year of daily data for many sources, generated straight into a store,
//! then the real `tally goals` (100 goals) and one monthly HTML report as
//! child processes: is `tally goals` under a second on the embedded store?

use crate::child::run_child;
use chrono::{DateTime, Duration, NaiveDate, TimeZone, Utc};
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::time::Instant;
use tally_model::{Entity, EntityKind, Point, PointTime, Unit};
use tally_store::Store;

/// Arguments of the goals scenario.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Sources, spread evenly over the clients.
    #[arg(long, default_value_t = 1000)]
    sources: usize,
    /// Days of daily data per source, ending on 2026-05-31.
    #[arg(long, default_value_t = 365)]
    days: i64,
    /// Clients (one goal each, kinds in turn, until `goals` are configured).
    #[arg(long, default_value_t = 100)]
    clients: usize,
    /// Goals configured.
    #[arg(long, default_value_t = 100)]
    goals: usize,
    /// Directory for the store, config and report; kept afterwards so runs can be repeated.
    #[arg(long, default_value = "target/bench-goals")]
    dir: PathBuf,
    /// Reuse the store in `dir` if it exists instead of generating it again.
    #[arg(long)]
    reuse: bool,
}

/// The day after the last day of data.
fn end_day() -> NaiveDate {
    NaiveDate::from_ymd_opt(2026, 6, 1).unwrap_or_default()
}

const DAILY_SUMS: &[&str] = &[
    "reach.impressions",
    "reach.reach",
    "reach.views",
    "reach.profile_views",
    "engagement.likes",
    "engagement.comments",
    "engagement.shares",
    "engagement.saves",
    "engagement.reactions",
    "traffic.sessions",
    "traffic.users",
    "traffic.new_users",
    "traffic.clicks",
    "conversions.leads",
    "conversions.count",
];

/// A small deterministic hash for varied but repeatable values.
fn wobble(a: usize, b: i64) -> f64 {
    let mut x = (a as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15)
        ^ (b as u64).wrapping_mul(0xC2B2_AE3D_27D4_EB4F);
    x ^= x >> 29;
    (x % 1000) as f64 / 1000.0
}

/// One source's points for one day: 27 of them.
fn day_points(source: usize, day: i64, start: DateTime<Utc>) -> Vec<Point> {
    let account = Entity::new(
        EntityKind::Account,
        format!("acct-{source}"),
        Some(format!("Account {source}")),
    );
    let noon = start + Duration::hours(12);
    let period = PointTime::Period {
        start,
        end: start + Duration::days(1),
    };
    let w = wobble(source, day);
    let mut out = Vec::with_capacity(27);
    let gauge = |metric: &str, value: f64| {
        Point::new(
            "bench",
            metric,
            metric,
            account.clone(),
            value,
            PointTime::At(noon),
        )
    };
    out.push(gauge(
        "audience.followers",
        (1000.0 + source as f64 + day as f64 * (2.0 + w)).round(),
    ));
    out.push(gauge("audience.following", 200.0 + (day / 30) as f64));
    out.push(gauge("content.posts", 10.0 + day as f64));
    out.push(gauge("reviews.count", 20.0 + (day / 7) as f64));
    out.push(gauge("reviews.rating", 4.0 + w));
    for (i, metric) in DAILY_SUMS.iter().enumerate() {
        let scale = [
            5000.0, 3000.0, 800.0, 60.0, 120.0, 15.0, 8.0, 5.0, 40.0, 300.0, 250.0, 90.0, 70.0,
            2.0, 1.0,
        ][i];
        out.push(Point::new(
            "bench",
            metric,
            metric,
            account.clone(),
            (scale * (0.5 + w)).round(),
            period,
        ));
    }
    for (metric, value) in [
        ("conversions.revenue", 80.0 * (0.5 + w)),
        ("cost.spend", 20.0 + 10.0 * w),
    ] {
        out.push(
            Point::new(
                "bench",
                metric,
                metric,
                account.clone(),
                (value * 100.0_f64).round() / 100.0,
                period,
            )
            .with_unit(Unit::Currency("USD".into())),
        );
    }
    for (country, share) in [("US", 0.5), ("CA", 0.3), ("GB", 0.2)] {
        out.push(
            Point::new(
                "bench",
                "reach.impressions",
                "impressions",
                account.clone(),
                (5000.0 * (0.5 + w) * share).round(),
                period,
            )
            .with_dimension("country", country),
        );
    }
    let post = Entity::new(
        EntityKind::Post,
        format!("p-{source}-{day}"),
        Some(format!("Post {day}")),
    );
    for (metric, value) in [
        ("engagement.likes", 50.0 * (0.2 + w)),
        ("engagement.comments", 6.0 * w),
    ] {
        out.push(Point::new(
            "bench",
            metric,
            metric,
            post.clone(),
            value.round(),
            PointTime::At(noon),
        ));
    }
    out
}

fn source_id(i: usize) -> String {
    format!("src-{i:04}")
}

fn client_of(i: usize, args: &Args) -> usize {
    i % args.clients
}

/// Generates the store: one transaction per source.
fn generate(path: &Path, args: &Args) -> anyhow::Result<u64> {
    let mut store = Store::open(path)?;
    let first = end_day() - Duration::days(args.days);
    let observed = Utc::now();
    let mut total = 0;
    for s in 0..args.sources {
        let mut points = Vec::with_capacity(args.days as usize * 27);
        for d in 0..args.days {
            let day = first + Duration::days(d);
            let start = Utc.from_utc_datetime(&day.and_hms_opt(0, 0, 0).unwrap_or_default());
            points.extend(day_points(s, d, start));
        }
        total += points.len() as u64;
        store.write_batch(&source_id(s), &points, observed, None)?;
        if s % 100 == 99 {
            eprintln!("  {} sources, {total} points", s + 1);
        }
    }
    Ok(total)
}

fn config_text(args: &Args) -> String {
    let mut text = String::from("[storage]\npath = \"tally.db\"\n\n");
    for c in 0..args.clients {
        let _ = write!(
            text,
            "[[clients]]\nid = \"client-{c:03}\"\nname = \"Client {c}\"\ntimezone = \"America/Chicago\"\ncurrency = \"USD\"\nvalue_per_lead = 40\n\n[[costs]]\nclient = \"client-{c:03}\"\nname = \"retainer\"\namount = 1500\ncurrency = \"USD\"\nperiod = \"month\"\n\n"
        );
    }
    for s in 0..args.sources {
        let _ = write!(
            text,
            "[[sources]]\nid = \"{}\"\nconnector = \"mastodon\"\nclient = \"client-{:03}\"\n[sources.settings]\nacct = \"bench{s}@sandbox.example\"\n\n",
            source_id(s),
            client_of(s, args)
        );
    }
    for g in 0..args.goals {
        let client = format!("client-{:03}", g % args.clients);
        let body = match g % 5 {
            0 => "metric = \"audience.followers\"\nkind = \"growth\"\ntarget = 600\nperiod = \"month\"",
            1 => "metric = \"conversions.leads\"\nkind = \"total\"\ntarget = 600\nperiod = \"month\"",
            2 => "kind = \"ratio\"\nnumerator = \"cost.spend\"\ndenominator = \"conversions.leads\"\nat_most = 20\nperiod = \"month\"",
            3 => "metric = \"audience.followers\"\nkind = \"level\"\ntarget = 30000\nby = 2026-12-31",
            _ => "metric = \"reach.impressions\"\nkind = \"total\"\ntarget = 4000000\nperiod = \"quarter\"",
        };
        let _ = write!(
            text,
            "[[goals]]\nid = \"goal-{g:03}\"\nclient = \"{client}\"\n{body}\n\n"
        );
    }
    text
}

/// Runs the scenario and prints its figures.
pub async fn run(tally: &Path, args: Args) -> anyhow::Result<()> {
    std::fs::create_dir_all(&args.dir)?;
    let db = args.dir.join("tally.db");
    let config = args.dir.join("tally.toml");
    std::fs::write(&config, config_text(&args))?;
    let mut generated = None;
    if !(args.reuse && db.exists()) {
        for suffix in ["", "-wal", "-shm"] {
            let _ = std::fs::remove_file(args.dir.join(format!("tally.db{suffix}")));
        }
        eprintln!(
            "generating {} sources × {} days into {}",
            args.sources,
            args.days,
            db.display()
        );
        let started = Instant::now();
        let points = generate(&db, &args)?;
        generated = Some((points, started.elapsed()));
    }
    let size = std::fs::metadata(&db)?.len();
    let config_arg = config.display().to_string();
    let at = (end_day() - Duration::days(12)).to_string();
    let goals = run_child(tally, &["--config", &config_arg, "goals", "--at", &at]).await?;
    let report_path = args.dir.join("report.html").display().to_string();
    let report = run_child(
        tally,
        &[
            "--config",
            &config_arg,
            "report",
            "--client",
            "client-000",
            "--month",
            "2026-05",
            "--format",
            "html",
            "-o",
            &report_path,
        ],
    )
    .await?;

    println!("scenario            goals (embedded SQLite store)");
    println!(
        "sources             {} ({} clients)",
        args.sources, args.clients
    );
    if let Some((points, took)) = generated {
        println!(
            "points              {points} ({} days, 27 per source and day)",
            args.days
        );
        println!("generation          {:.1} s", took.as_secs_f64());
    }
    println!(
        "store size          {:.2} GiB",
        size as f64 / (1u64 << 30) as f64
    );
    for (name, m) in [("tally goals", &goals), ("tally report", &report)] {
        println!(
            "{name:<20}{} wall {:.3} s, cpu {:.3} s, peak rss {:.1} MiB",
            if m.success { "" } else { "FAILED " },
            m.wall.as_secs_f64(),
            m.cpu.as_secs_f64(),
            m.peak_rss_kib as f64 / 1024.0
        );
    }
    println!("goals evaluated     {} (at {at})", args.goals);
    Ok(())
}
