//! Paging through one large feed: how much CPU and memory does `tally pull`
//! spend compared with the plainest possible client, a reqwest + serde_json loop?

use crate::child::{run_child, Measured};
use crate::postgres::{storage_toml, Database};
use std::net::{Ipv4Addr, SocketAddr};
use std::path::Path;
use tally_sandbox::{Limit, Sandbox, SandboxOptions};

/// Arguments of the throughput scenario.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Posts in the feed.
    #[arg(long, default_value_t = 10_000)]
    posts: u32,
    /// The Bluesky connector plugin (a cdylib built from plugins/examples/bluesky).
    #[arg(long, default_value = "target/release/libtally_bluesky.so")]
    plugin: std::path::PathBuf,
    /// Store into a throwaway PostgreSQL server on 127.0.0.1 instead of a SQLite file.
    #[arg(long)]
    postgres: bool,
}

/// Arguments of the plain loop, run as a child of the harness so it is measured alone.
#[derive(Debug, clap::Args)]
pub struct PlainArgs {
    /// getAuthorFeed URL without `cursor`.
    #[arg(long)]
    url: String,
}

/// Runs both clients against the same sandbox feed and prints the figures.
pub async fn run(tally: &Path, args: Args) -> anyhow::Result<()> {
    anyhow::ensure!(
        args.plugin.exists(),
        "{} does not exist; build it with `cargo build --release -p tally-bluesky`",
        args.plugin.display()
    );
    let sandbox = bulk_sandbox().await?;
    let actor = bulk_actor(args.posts);
    let base = sandbox.base_url("bluesky");
    let url = format!("{base}/app.bsky.feed.getAuthorFeed?actor={actor}&limit=100");

    let me = std::env::current_exe()?;
    let plain = run_child(&me, &["plain-loop", "--url", &url]).await?;
    let after_plain = sandbox.stats().requests;

    let plugin_arg = args.plugin.display().to_string();
    let feed = Feed {
        base: &base,
        actor: &actor,
        posts: args.posts,
        postgres: args.postgres,
    };
    let plugin = pull(tally, "bluesky", &["--plugin", &plugin_arg], &feed).await?;
    let (tallied, stored) = (plugin.measured, plugin.stored);
    let tally_requests = sandbox.stats().requests - after_plain;
    // The same feed through the Bluesky manifest built into `tally`
    // (connectors/manifest/builtin/bluesky.connector.toml).
    let manifest = pull(tally, "bluesky_manifest", &[], &feed).await?;
    let (manifest, manifest_stored) = (manifest.measured, manifest.stored);
    sandbox.shutdown().await;

    anyhow::ensure!(
        plain.success && tallied.success && manifest.success,
        "a client failed: plain {plain:?}, tally {tallied:?}, manifest {manifest:?}"
    );
    println!(
        "scenario          throughput (one Bluesky feed of {} posts, 100 a page, no rate limit) into {}",
        args.posts,
        match args.postgres {
            true => "PostgreSQL (throwaway server on 127.0.0.1)",
            false => "SQLite",
        }
    );
    println!("requests          plain {after_plain}, tally {tally_requests}");
    row("wall time", plain, tallied, |m| m.wall.as_secs_f64(), "s");
    row("cpu time", plain, tallied, |m| m.cpu.as_secs_f64(), "s");
    row(
        "peak rss",
        plain,
        tallied,
        |m| m.peak_rss_kib as f64 / 1024.0,
        "MiB",
    );
    if let Some(cpu) = plugin.server_cpu {
        println!(
            "server cpu        {:.3} s (PostgreSQL, all its processes, during tally pull)",
            cpu.as_secs_f64()
        );
    }
    let (bytes, points) = stored?;
    println!(
        "store size        {bytes} bytes for {points} points, {:.1} bytes a point",
        bytes as f64 / points.max(1) as f64
    );
    let (manifest_bytes, manifest_points) = manifest_stored?;
    println!(
        "manifest          the same pull with the Bluesky manifest instead of the plugin: {manifest_points} points, {manifest_bytes} bytes"
    );
    for (name, f, unit) in [
        (
            "wall time",
            (|m: Measured| m.wall.as_secs_f64()) as fn(Measured) -> f64,
            "s",
        ),
        ("cpu time", |m: Measured| m.cpu.as_secs_f64(), "s"),
        (
            "peak rss",
            |m: Measured| m.peak_rss_kib as f64 / 1024.0,
            "MiB",
        ),
    ] {
        let (p, m) = (f(tallied), f(manifest));
        println!(
            "{name:<17} plugin {p:.3} {unit}, manifest {m:.3} {unit}, manifest / plugin {:.2}",
            m / p
        );
    }
    Ok(())
}

/// A sandbox whose Bluesky API answers every request, for one large feed.
pub(crate) async fn bulk_sandbox() -> anyhow::Result<Sandbox> {
    let mut options = SandboxOptions::default();
    options.limits.bluesky = Limit::UNLIMITED;
    Ok(Sandbox::start(SocketAddr::from((Ipv4Addr::LOCALHOST, 0)), options).await?)
}

/// The sandbox account whose feed holds `posts` posts.
pub(crate) fn bulk_actor(posts: u32) -> String {
    format!("bulk-{posts}.test")
}

/// The feed every pull reads, and where they store it.
pub(crate) struct Feed<'a> {
    pub(crate) base: &'a str,
    pub(crate) actor: &'a str,
    pub(crate) posts: u32,
    pub(crate) postgres: bool,
}

/// What one `tally pull` cost, the store it left, and with `--postgres`
/// the server's CPU time during the pull.
pub(crate) struct Pulled {
    pub(crate) measured: Measured,
    stored: anyhow::Result<(u64, usize)>,
    server_cpu: Option<std::time::Duration>,
}

/// Runs `tally pull` of the feed with `connector` (and `extra` arguments) in
/// a fresh directory and a fresh store.
pub(crate) async fn pull(
    tally: &Path,
    connector: &str,
    extra: &[&str],
    feed: &Feed<'_>,
) -> anyhow::Result<Pulled> {
    let database = match feed.postgres {
        true => Some(tokio::task::spawn_blocking(Database::create).await?),
        false => None,
    };
    let dir = std::env::temp_dir().join(format!(
        "tally-bench-throughput-{connector}-{}",
        std::process::id()
    ));
    std::fs::create_dir_all(&dir)?;
    let config = dir.join("tally.toml");
    std::fs::write(
        &config,
        format!(
            "{}[[sources]]\nid = \"bulk\"\nconnector = \"{connector}\"\nbase_url = \"{}\"\nmax_pages = 100000\n[sources.settings]\nactor = \"{}\"\nmax_posts = {}\n[sources.rate_limit]\nrequests = 100000\nper = \"1s\"\n",
            storage_toml(database.as_ref()),
            feed.base,
            feed.actor,
            feed.posts
        ),
    )?;
    let config_arg = config.display().to_string();
    let mut child_args = vec!["--config", config_arg.as_str()];
    child_args.extend_from_slice(extra);
    child_args.push("pull");
    let server_cpu_before = database.as_ref().map(Database::server_cpu).transpose()?;
    let measured = run_child(tally, &child_args).await?;
    let server_cpu = match (&database, server_cpu_before) {
        (Some(db), Some(before)) => Some(db.server_cpu()?.saturating_sub(before)),
        _ => None,
    };
    let stored = match database {
        Some(db) => tokio::task::spawn_blocking(move || postgres_size(&db)).await?,
        None => store_size(&dir.join("tally.db")),
    };
    std::fs::remove_dir_all(&dir).ok();
    Ok(Pulled {
        measured,
        stored,
        server_cpu,
    })
}

/// The size of the PostgreSQL database `tally pull` filled (Tally's tables,
/// without the catalogue every database carries) and the points it holds.
fn postgres_size(db: &Database) -> anyhow::Result<(u64, usize)> {
    let bytes = db.size()?.tables;
    let points = tally_store::Store::connect(db.url(), None)?
        .query(&tally_store::PointQuery::default())?
        .len();
    Ok((bytes, points))
}

/// The size of the store `tally pull` left (its WAL included, if any) and the
/// points it holds, read after the size so the read cannot change it.
fn store_size(db: &Path) -> anyhow::Result<(u64, usize)> {
    let mut wal = db.as_os_str().to_owned();
    wal.push("-wal");
    let bytes = std::fs::metadata(db)?.len() + std::fs::metadata(&wal).map_or(0, |m| m.len());
    let points = tally_store::Store::open(db)?
        .query(&tally_store::PointQuery::default())?
        .len();
    Ok((bytes, points))
}

fn row(name: &str, plain: Measured, tally: Measured, f: impl Fn(Measured) -> f64, unit: &str) {
    let (p, t) = (f(plain), f(tally));
    println!(
        "{name:<17} plain {p:.3} {unit}, tally {t:.3} {unit}, ratio {:.2}",
        t / p
    );
}

/// The baseline: page through the feed with reqwest and serde_json, summing likes.
pub async fn plain_loop(args: PlainArgs) -> anyhow::Result<()> {
    let client = reqwest::Client::new();
    let mut cursor: Option<String> = None;
    let (mut posts, mut likes) = (0u64, 0u64);
    loop {
        let url = match &cursor {
            Some(c) => format!("{}&cursor={c}", args.url),
            None => args.url.clone(),
        };
        let body = client
            .get(&url)
            .send()
            .await?
            .error_for_status()?
            .bytes()
            .await?;
        let page: serde_json::Value = serde_json::from_slice(&body)?;
        for item in page["feed"]
            .as_array()
            .map(Vec::as_slice)
            .unwrap_or_default()
        {
            posts += 1;
            likes += item["post"]["likeCount"].as_u64().unwrap_or(0);
        }
        cursor = page["cursor"].as_str().map(str::to_string);
        if cursor.is_none() {
            break;
        }
    }
    println!("{posts} posts, {likes} likes");
    Ok(())
}
