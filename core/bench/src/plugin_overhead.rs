//! The same connector built in and loaded as a plugin, pulling the same sandbox
//! data: what does crossing the C ABI cost?
//!
//! Measured two ways: through the pull engine into a SQLite store, as `tally
//! pull` runs sources, and the connector alone into a memory buffer, where the
//! boundary is all there is to see. The sandbox runs as a separate `tally
//! sandbox` process so that this process's CPU time is the client's alone. The
//! paths alternate round by round (which goes first alternating too), so drift
//! in the machine's load hits both alike; one unmeasured pass over every channel
//! with each path puts one-time costs (the rate limiter's clock calibration,
//! lazy statics, connection set-up) on neither.

use std::net::{Ipv4Addr, SocketAddr, TcpListener};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tally_config::secret::Secret;
use tally_config::SourceConfig;
use tally_host::catalog::{Catalog, Origin};
use tally_host::http::{
    Credential, HostHttp, HttpSettings, MemoryLedger, SourceHttp, SourceHttpSpec,
};
use tally_host::pull::{Engine, SourceStatus};
use tally_model::{Connector, PointBuffer, RateLimitSpec, SourceContext};
use tally_store::Store;

/// Arguments of the plugin-overhead scenario.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The YouTube connector built as a plugin (`cargo build --release -p tally-youtube-plugin`).
    #[arg(long, default_value = "target/release/libtally_youtube_plugin.so")]
    plugin: PathBuf,
    /// Channels pulled per round.
    #[arg(long, default_value_t = 200)]
    channels: usize,
    /// Rounds per path.
    #[arg(long, default_value_t = 3)]
    rounds: usize,
}

/// Wall and CPU time of one path, summed over its rounds.
#[derive(Debug, Default, Clone, Copy)]
struct Cost {
    wall: Duration,
    cpu: Duration,
    points: usize,
}

/// Runs the scenario and prints its figures.
pub async fn run(tally: &Path, args: Args) -> anyhow::Result<()> {
    anyhow::ensure!(
        args.plugin.exists(),
        "{} does not exist; build it with `cargo build --release -p tally-youtube-plugin`",
        args.plugin.display()
    );
    let plugin = tally_host::plugin::load_plugin(&args.plugin, None)?
        .pop()
        .ok_or_else(|| anyhow::anyhow!("{} holds no connector", args.plugin.display()))?;
    let built_in: Arc<dyn Connector> = Arc::new(tally_youtube::Youtube);
    let port = free_port()?;
    let sandbox = SandboxProcess::start(tally, port)?;
    let base_url = format!("http://127.0.0.1:{port}/youtube/v3");
    sandbox.wait_ready(&base_url).await?;

    let direct_http = Arc::new(source_http(built_in.as_ref(), &base_url)?);
    let plugin_http = Arc::new(source_http(plugin.as_ref(), &base_url)?);
    let built_in = (built_in, direct_http);
    let plugin = (plugin, plugin_http);
    for channel in 0..args.channels {
        pull_one(&built_in, &base_url, channel).await?;
        pull_one(&plugin, &base_url, channel).await?;
    }
    let (mut direct, mut via_plugin) = (Cost::default(), Cost::default());
    for round in 0..args.rounds {
        // Alternate which path goes first so neither always follows the other.
        let order = if round % 2 == 0 {
            [(&built_in, &mut direct), (&plugin, &mut via_plugin)]
        } else {
            [(&plugin, &mut via_plugin), (&built_in, &mut direct)]
        };
        for (path, total) in order {
            for channel in 0..args.channels {
                add(total, pull_one(path, &base_url, channel).await?);
            }
        }
    }
    anyhow::ensure!(
        direct.points == via_plugin.points,
        "the two paths emitted different point counts"
    );

    // The same pulls as `tally pull` makes them: the engine, 8 sources at once,
    // every point validated and stored in a SQLite file, one fresh store per round.
    let dir = std::env::temp_dir().join(format!("tally-bench-plugin-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    let catalogs = [
        catalog_of(Arc::clone(&built_in.0), Origin::BuiltIn)?,
        catalog_of(Arc::clone(&plugin.0), Origin::Plugin(args.plugin.clone()))?,
    ];
    let (mut pulled_direct, mut pulled_plugin) = (Cost::default(), Cost::default());
    for round in 0..args.rounds {
        let order = if round % 2 == 0 { [0, 1] } else { [1, 0] };
        for which in order {
            let store = dir.join(format!("round-{round}-{which}.db"));
            let cost = engine_round(&catalogs[which], &base_url, args.channels, &store).await?;
            add(
                if which == 0 {
                    &mut pulled_direct
                } else {
                    &mut pulled_plugin
                },
                cost,
            );
        }
    }
    std::fs::remove_dir_all(&dir).ok();

    println!(
        "scenario      plugin overhead (YouTube connector, {} channels x {} rounds per path)",
        args.channels, args.rounds
    );
    println!("points        {} per path", direct.points);
    report("connector", direct, via_plugin);
    report("tally pull", pulled_direct, pulled_plugin);
    Ok(())
}

/// Prints one pair of figures with their ratios.
fn report(what: &str, direct: Cost, via_plugin: Cost) {
    println!(
        "{what:<13} wall: built-in {:.3} s, plugin {:.3} s, ratio {:.3}; cpu: built-in {:.3} s, plugin {:.3} s, ratio {:.3}",
        direct.wall.as_secs_f64(),
        via_plugin.wall.as_secs_f64(),
        via_plugin.wall.as_secs_f64() / direct.wall.as_secs_f64(),
        direct.cpu.as_secs_f64(),
        via_plugin.cpu.as_secs_f64(),
        via_plugin.cpu.as_secs_f64() / direct.cpu.as_secs_f64()
    );
}

/// A catalog holding only `connector` (built in or the plugin, both named `youtube`).
fn catalog_of(connector: Arc<dyn Connector>, origin: Origin) -> anyhow::Result<Arc<Catalog>> {
    let mut catalog = Catalog::default();
    catalog.add(connector, origin)?;
    Ok(Arc::new(catalog))
}

/// Pulls every channel through the pull engine into a new SQLite store at `store`.
async fn engine_round(
    catalog: &Arc<Catalog>,
    base_url: &str,
    channels: usize,
    store: &Path,
) -> anyhow::Result<Cost> {
    let host = HostHttp::new(HttpSettings::default(), Arc::new(MemoryLedger::default()))?;
    let store = Arc::new(Mutex::new(Store::open(store)?));
    let engine = Engine::new(host, store, Arc::clone(catalog));
    let sources: Vec<SourceConfig> = (0..channels)
        .map(|channel| {
            serde_json::from_value(serde_json::json!({
                "id": format!("yt-{channel:05}"),
                "connector": "youtube",
                "base_url": base_url,
                "settings": { "channel_id": format!("UCbench{channel:05}") },
                "auth": { "kind": "api_key", "api_key": "bench-key" },
                "rate_limit": { "requests": 1_000_000, "per_seconds": 1 },
            }))
        })
        .collect::<Result<_, _>>()?;
    let cpu_before = process_cpu();
    let started = Instant::now();
    let outcomes = engine.pull_all(sources, 8, |_| {}).await;
    let cost = Cost {
        wall: started.elapsed(),
        cpu: process_cpu() - cpu_before,
        points: outcomes.iter().map(|o| o.counts.inserted as usize).sum(),
    };
    if let Some(failed) = outcomes.iter().find(|o| o.status != SourceStatus::Ok) {
        anyhow::bail!("source {} did not pull: {:?}", failed.source, failed.status);
    }
    Ok(cost)
}

fn add(total: &mut Cost, round: Cost) {
    total.wall += round.wall;
    total.cpu += round.cpu;
    total.points += round.points;
}

/// The host client for one path's source, unpaced (the sandbox has no limit either).
fn source_http(connector: &dyn Connector, base_url: &str) -> anyhow::Result<SourceHttp> {
    let host = HostHttp::new(HttpSettings::default(), Arc::new(MemoryLedger::default()))?;
    Ok(host.for_source(SourceHttpSpec {
        source_id: "bench".into(),
        platform: connector.describe().platform,
        base_url: base_url.to_string(),
        credential: Credential::ApiKey {
            key: Secret::new("bench-key"),
            query_param: Some("key".into()),
            header: None,
        },
        rate_limit: RateLimitSpec {
            requests: 1_000_000,
            per_seconds: 1,
            burst: 1_000_000,
        },
        rate_limit_is_ceiling: false,
        usage_headers: None,
        throttle_errors: None,
        quota: None,
        timeout: None,
    }))
}

/// One path: a connector and the host client its source uses.
type PullPath = (Arc<dyn Connector>, Arc<SourceHttp>);

/// Pulls one channel through a connector and its host client, measuring it
/// alone. The pull runs in a task on the runtime's workers, as the pull engine
/// runs every source, so a plugin pays what it pays in `tally pull` (its call
/// moves off the worker with `block_in_place`).
async fn pull_one(
    (connector, http): &PullPath,
    base_url: &str,
    channel: usize,
) -> anyhow::Result<Cost> {
    let (connector, http, base_url) = (
        Arc::clone(connector),
        Arc::clone(http),
        base_url.to_string(),
    );
    let cpu_before = process_cpu();
    let started = Instant::now();
    let points = tokio::spawn(async move {
        let settings = serde_json::json!({ "channel_id": format!("UCbench{channel:05}") });
        let ctx = SourceContext {
            source_id: "bench",
            base_url: &base_url,
            settings: &settings,
            http: http.as_ref(),
            state: None,
            max_pages: 100,
            now: chrono::Utc::now(),
            since: None,
            lookback_days: None,
        };
        let mut buffer = PointBuffer::new("youtube");
        connector
            .pull(&ctx, &mut buffer)
            .await
            .map(|()| buffer.points.len())
    })
    .await??;
    Ok(Cost {
        wall: started.elapsed(),
        cpu: process_cpu() - cpu_before,
        points,
    })
}

/// CPU time (user + system) this process has used so far.
fn process_cpu() -> Duration {
    // SAFETY: `usage` is a plain C struct that getrusage fills in; zeroed is valid.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: the pointer is to a live local.
    unsafe { libc::getrusage(libc::RUSAGE_SELF, &mut usage) };
    let tv = |t: libc::timeval| {
        Duration::from_secs(t.tv_sec as u64) + Duration::from_micros(t.tv_usec as u64)
    };
    tv(usage.ru_utime) + tv(usage.ru_stime)
}

fn free_port() -> std::io::Result<u16> {
    Ok(
        TcpListener::bind(SocketAddr::from((Ipv4Addr::LOCALHOST, 0)))?
            .local_addr()?
            .port(),
    )
}

/// `tally sandbox` in its own process, stopped when dropped.
struct SandboxProcess {
    child: Child,
}

impl SandboxProcess {
    fn start(tally: &Path, port: u16) -> anyhow::Result<SandboxProcess> {
        let child = Command::new(tally)
            .args([
                "sandbox",
                "--port",
                &port.to_string(),
                "--youtube-limit",
                "1000000/1",
                "--youtube-quota",
                "0",
            ])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()?;
        Ok(SandboxProcess { child })
    }

    async fn wait_ready(&self, base_url: &str) -> anyhow::Result<()> {
        let client = reqwest::Client::new();
        for _ in 0..100 {
            if client
                .get(format!("{base_url}/channels?part=id&id=UCready&key=k"))
                .send()
                .await
                .is_ok()
            {
                return Ok(());
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        anyhow::bail!("the sandbox did not come up on {base_url}")
    }
}

impl Drop for SandboxProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
