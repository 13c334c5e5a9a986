//! `tally run`: the scheduling daemon, with `/healthz` and `/metrics`, graceful
//! shutdown on SIGINT/SIGTERM and config reload on SIGHUP.
//!
//! The loop itself is `tally_daemon`; this file wires it to the
//! process: signals, the config file, the HTTP endpoint and the exit status.

use anyhow::Context;
use std::io::Write as _;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;
use tally_daemon::serve::{self, ServeState};
use tally_daemon::workers::Coordination;
use tally_daemon::{Control, Daemon, Telemetry};
use tally_host::pull::PullOptions;
use tokio::signal::unix::{signal, Signal, SignalKind};
use tokio::sync::{mpsc, oneshot, watch};

/// Arguments of `tally run`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Address for /healthz and /metrics, replacing `[server] listen` (port 0 picks a free one).
    #[arg(long, value_name = "ADDR")]
    listen: Option<SocketAddr>,
    /// This worker's name among several on a PostgreSQL store (default: host:pid).
    #[arg(long, value_name = "NAME")]
    worker: Option<String>,
    /// Seconds a worker's leases outlive its last heartbeat: how long the
    /// sources of a killed worker wait before another takes them over.
    #[arg(long, value_name = "SECONDS", default_value_t = 30, value_parser = clap::value_parser!(u64).range(1..))]
    lease_seconds: u64,
}

/// Runs the daemon until SIGINT or SIGTERM; exits 0 after a graceful stop.
pub async fn run(config_path: &Path, args: Args) -> anyhow::Result<ExitCode> {
    // Handlers first: a SIGHUP before they exist would kill the process.
    let signals = Signals {
        hangup: signal(SignalKind::hangup()).context("installing the SIGHUP handler")?,
        terminate: signal(SignalKind::terminate()).context("installing the SIGTERM handler")?,
        interrupt: signal(SignalKind::interrupt()).context("installing the SIGINT handler")?,
    };
    let runtime = crate::setup::runtime(config_path)?;
    let tokens = runtime.engine.tokens().cloned();
    let engine = runtime.engine.with_options(PullOptions {
        since: None,
        pipeline_metrics: true,
    });
    let telemetry = Arc::new(Telemetry::default());
    let listen = args.listen.unwrap_or(runtime.config.server.listen);
    let (stop_server, server_stopped) = oneshot::channel::<()>();
    let server = serve::start(
        listen,
        ServeState {
            telemetry: Arc::clone(&telemetry),
            store: Arc::clone(&runtime.store),
            tokens,
        },
        async {
            // A send or a dropped sender both mean stop.
            let _ = server_stopped.await;
        },
    )
    .await?;
    let (stop_reports, reports_stopped) = watch::channel(false);
    let reload_path = config_path.to_path_buf();
    let shared = runtime
        .store
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .is_shared();
    let coordination = shared.then(|| {
        let host = host_name();
        let worker = args
            .worker
            .unwrap_or_else(|| format!("{host}:{}", std::process::id()));
        Coordination::new(worker, host, Duration::from_secs(args.lease_seconds))
    });
    let reports = tokio::spawn(tally_daemon::monthly_reports::run(
        move || crate::setup::load_config(&reload_path).ok().map(|(c, _)| c),
        runtime.config.clone(),
        Arc::clone(&runtime.store),
        coordination.clone(),
        reports_stopped,
    ));
    let mut daemon = Daemon::new(engine, runtime.config, Arc::clone(&telemetry))?;
    if let Some(c) = coordination {
        daemon = daemon.with_coordination(c);
    }
    tracing::info!(addr = %server.addr, "serving /healthz and /metrics");
    println!(
        "tally run: serving http://{}/healthz and http://{}/metrics",
        server.addr, server.addr
    );
    std::io::stdout().flush().ok();

    let (control, commands) = mpsc::channel(8);
    let watcher = tokio::spawn(watch(
        signals,
        config_path.to_path_buf(),
        control,
        Arc::clone(&telemetry),
    ));
    let report = daemon.run(commands).await;
    watcher.abort();
    let _ = stop_reports.send(true);
    let _ = reports.await;
    let _ = stop_server.send(());
    if let Err(e) = server.task.await {
        tracing::warn!(error = %e, "the metrics endpoint did not stop cleanly");
    }
    // Whoever started the daemon may have closed its end of stdout by now.
    let _ = writeln!(
        std::io::stdout(),
        "tally run: stopped after {} pulls ({} cancelled at the deadline)",
        report.pulls,
        report.cancelled
    );
    Ok(ExitCode::SUCCESS)
}

/// This machine's name, for `tally workers` and the default worker id.
pub fn host_name() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .ok()
        .map(|h| h.trim().to_string())
        .filter(|h| !h.is_empty())
        .or_else(|| std::env::var("HOSTNAME").ok())
        .unwrap_or_else(|| "localhost".to_string())
}

/// The signals the daemon reacts to.
struct Signals {
    hangup: Signal,
    terminate: Signal,
    interrupt: Signal,
}

/// Turns signals into control messages: SIGHUP reloads a valid config (an
/// invalid one is logged with every error and ignored), SIGINT/SIGTERM stop.
async fn watch(
    mut signals: Signals,
    path: PathBuf,
    control: mpsc::Sender<Control>,
    telemetry: Arc<Telemetry>,
) {
    loop {
        let message = tokio::select! {
            _ = signals.hangup.recv() => match crate::setup::load_config(&path) {
                Ok((config, _)) => {
                    tracing::info!(config = %path.display(), "SIGHUP: reloading the configuration");
                    Control::Reload(Box::new(config))
                }
                Err(e) => {
                    telemetry.reloaded(false);
                    tracing::error!(
                        config = %path.display(),
                        "SIGHUP: the configuration was rejected and the old one keeps running:\n{e:#}"
                    );
                    continue;
                }
            },
            _ = signals.terminate.recv() => {
                tracing::info!("SIGTERM: shutting down");
                Control::Shutdown
            }
            _ = signals.interrupt.recv() => {
                tracing::info!("SIGINT: shutting down");
                Control::Shutdown
            }
        };
        let stop = matches!(message, Control::Shutdown);
        if control.send(message).await.is_err() || stop {
            return;
        }
    }
}
